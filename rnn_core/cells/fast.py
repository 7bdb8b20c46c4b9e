"""The fast form of the cells' sequence loops: the same equations, written in place.

Measured gain (benchmarks/README.md, "The cells' fast form"): forward + full BPTT at
N = 32, T = 100, D = 32, H = 128 takes 0.60 (Elman), 0.80 (LSTM) and 0.75 (cuDNN GRU) of the
plain loop's CPU time at one BLAS thread; at N * H = 16 it is slower (1.08 to 1.43), so
wanted() sends passes below MIN_SIZE to the plain loops.

Each function here equals a plain loop over the cell's step functions, which stays whole in
the cell: elman_forward / elman_backward equal elman's loops over recurrence and carry,
lstm_forward / lstm_backward lstm's over recurrence, carry_factors and carry, and
gru_cudnn_forward / gru_cudnn_backward gru's over recurrence_cudnn, carry_factors_cudnn and
carry_cudnn. A cell reaches them through one visible branch, `if fast.wanted(cell, N, H):`
beside its plain loop, and tests/test_cells_fast.py runs both and compares them. Nothing
here is a new equation: each line names the plain line it computes. Why it is faster: every
result goes into a preallocated buffer (out=), a pass takes its arrays from one allocation,
and each gate is a contiguous (N, H) block of its own, gate-major (G, T, N, H).
"""
import numpy as np

from ..nn.activations import sigmoid
from . import sequence

# Below this many elements per gate and step (N * H) a numpy call costs its fixed overhead
# whatever the layout, and the plain loops, which make fewer calls per step, are faster.
MIN_SIZE = {"rnn": 1024, "lstm": 1024, "gru": 1024}
ENABLED = True          # tests set it False to run the plain loops at every size


def wanted(cell, N, H):
    """True where a sequence pass of `cell` ('rnn', 'lstm', 'gru') over N rows and H units
    runs the fast form here instead of the plain loop."""
    return ENABLED and cell in MIN_SIZE and N * H >= MIN_SIZE[cell]


# ----------------------------------------------------------------------------------------
# Elman RNN (elman.recurrence, elman.carry)
# ----------------------------------------------------------------------------------------

def elman_forward(x, h0, params, act):
    """elman.forward's loop, in place: returns hs (T+1, N, H), hs[0] = h0, hs[t+1] = h_t,
    and the backward's workspace for dL/da_t ((T, N, H), or (0, N, H): allocate then)."""
    W_h = params["W_h"]
    N, T, _ = x.shape
    H = W_h.shape[0]
    big = 2 * T * N * H * x.itemsize >= sequence.HUGE_BYTES   # one buffer for both: huge pages
    hs, das = sequence.buffers(x.dtype, (T + 1, N, H), (T if big else 0, N, H))
    hs[0] = h0
    sequence.project(x, params["W_x"], params["b"], out=hs[1:])   # hs[t+1] holds xw_t until step t
    W_hT, hw = W_h.T, np.empty((N, H), x.dtype)
    with np.errstate(over="ignore", invalid="ignore"):        # elman.forward checks after
        for t in range(T):                                    # recurrence, in place:
            np.matmul(hs[t], W_hT, out=hw)                    # a_t = xw_t + h_{t-1} W_h^T,
            hs[t + 1] += hw
            if act.name == "tanh":                            # h_t = f(a_t)
                np.tanh(hs[t + 1], out=hs[t + 1])
            else:
                hs[t + 1] = act.f(hs[t + 1])
    return hs, das


def df_from_out(act, h, out):
    """out[...] = act.df_from_out(h): f'(a) from h = f(a), in place (the same operations for
    tanh, 1 - h * h, so the same bits)."""
    if act.name == "tanh":
        np.multiply(h, h, out=out)
        np.subtract(1, out, out=out)
    else:
        out[...] = act.df_from_out(h)
    return out


def elman_backward(dh, hs, W_h, act, ws, dh_t, truncate):
    """elman.backward's loop, in place. dh {t: (N, H)}; hs (T, N, H) = h_1 .. h_T; ws the
    forward's workspace; dh_t (N, H) dL/dh_T, overwritten. Returns (das (T, N, H), dL/dh_0)."""
    T, N, H = hs.shape
    das = ws if len(ws) else np.empty((T, N, H), hs.dtype)  # dL/da_t
    df_from_out(act, hs, out=das)        # f'(a_t) for every step, then dL/da_t in place
    for t in range(T - 1, -1, -1):           # carry, in place; dh_t = dL/dh_t:
        g = dh.get(t)
        if g is not None:
            dh_t += g
        das[t] *= dh_t                       # dL/da_t = dL/dh_t * f'(a_t)
        np.matmul(das[t], W_h, out=dh_t)     # dL/dh_{t-1} = dL/da_t W_h
        if sequence.cut(t, truncate):
            dh_t[...] = 0.0
    return das, dh_t


# ----------------------------------------------------------------------------------------
# What the gated cells' fast loops share
# ----------------------------------------------------------------------------------------

# ----------------------------------------------------------------------------------------
# GRU, cuDNN's form (gru.recurrence_cudnn, gru.carry_factors_cudnn, gru.carry_cudnn)
# ----------------------------------------------------------------------------------------

def gru_cudnn_forward(x, state0, params):
    """gru.forward's loop in cuDNN's form, in place: returns (h (N, T, H), state_T, cache), gate order r, z, n."""
    W_i, W_h, b_i, b_h = (np.stack([params[p + g] for g in "rzn"]) for p in ("W_i", "W_h", "b_i", "b_h"))
    hs, g, m, x_rows = _gru_cudnn_loop(x, state0["h"], W_i, W_h, b_i, b_h)
    cache = {"fast": True, "form": "cudnn", "x": x, "x_rows": x_rows, "hs": hs, "g": g, "m": m,
             "W_i": W_i, "W_h": W_h}
    return sequence.batch_first(hs[1:]), {"h": hs[-1].copy()}, cache


def gru_cudnn_backward(dh, cache, dstate_T, truncate):
    """gru.backward of a gru_cudnn_forward cache: returns (dx, dstate0, grads)."""
    hs = cache["hs"]
    dh_T = np.zeros(hs.shape[1:], hs.dtype) if dstate_T is None else dstate_T["h"]
    dx, dh_0, stacked = _gru_cudnn_loop_back(dh, cache["x_rows"], hs, cache["g"], cache["m"],
                                             cache["W_i"], cache["W_h"], dh_T, truncate)
    grads = {}
    for j, g in enumerate("rzn"):
        for key, grad in zip(("W_i", "W_h", "b_i", "b_h"), stacked):
            grads[key + g] = grad[j]
    return dx, {"h": dh_0}, grads


def _gru_cudnn_loop(x, h0, W_i, W_h, b_i, b_h):
    """The GRU (cuDNN's form) over a sequence; gate order r, z, n.

    x (N, T, D), h0 (N, H); W_i (3, H, D), W_h (3, H, H), b_i, b_h (3, H). Returns
    hs (T + 1, N, H) (hs[0] = h0, hs[t + 1] = h_t) and the gate-major arrays the backward
    reads: g (3, T, N, H) = r_t, z_t, n_t and m (T, N, H) = W_hn h_{t-1} + b_hn.
    """
    N, T, _ = x.shape
    H = W_h.shape[1]
    g, m, hs, hw, tmp = sequence.buffers(x.dtype, (3, T, N, H), (T, N, H), (T + 1, N, H), (3, N, H), (N, H))
    # g[:, t] holds x_t W_i^T + b_i until step t, with b_hr and b_hz added there once (they
    # add to the same pre-activations); b_hn stays inside r_t * (W_hn h_{t-1} + b_hn)
    x_rows = sequence.x_rows(x)
    sequence.project(x, W_i, b_i + np.stack([b_h[0], b_h[1], np.zeros_like(b_h[2])]), out=g)
    W_hT = np.ascontiguousarray(W_h.transpose(0, 2, 1))
    r, z, n = g
    hs[0] = h0
    with np.errstate(over="ignore"):
        for t in range(T):
            np.matmul(hs[t], W_hT, out=hw)            # W_h h_{t-1}, gate by gate
            np.add(hw[2], b_h[2], out=m[t])           # m_t = W_hn h_{t-1} + b_hn
            r[t] += hw[0]
            sigmoid(r[t], r[t], silence=False)  # r_t = sigmoid(xw_r + W_hr h_{t-1} + b_hr)
            z[t] += hw[1]
            sigmoid(z[t], z[t], silence=False)  # z_t = sigmoid(xw_z + W_hz h_{t-1} + b_hz)
            np.multiply(r[t], m[t], out=tmp)
            n[t] += tmp
            np.tanh(n[t], out=n[t])                   # n_t = tanh(xw_n + r_t * m_t)
            np.subtract(1.0, z[t], out=tmp)
            tmp *= n[t]
            np.multiply(z[t], hs[t], out=hs[t + 1])
            hs[t + 1] += tmp                          # h_t = (1 - z_t) * n_t + z_t * h_{t-1}
    return hs, g, m, x_rows


def _gru_cudnn_loop_back(dh, x_rows, hs, g, m, W_i, W_h, carry, truncate):
    """BPTT of _gru_cudnn_loop. dh {t: (N, H)}; x_rows (T*N, D); carry (N, H): dL/dh_T.
    Returns dx (N, T, D), dh_0 (N, H), and the stacked gradients (dW_i (3, H, D),
    dW_h (3, H, H), db_i, db_h (3, H)) in gate order r, z, n.

    The local factors of gru.carry_factors_cudnn, a block of steps at a time (sequence.blocks):
        K_r = m_t r_t (1 - r_t),  K_z = (h_{t-1} - n_t) z_t (1 - z_t),  K_n = (1 - z_t)(1 - n_t^2)
    and then per step (gru.carry_cudnn):
        da_xn = dh_t K_n,  da_r = da_xn K_r,  da_z = dh_t K_z,  da_hn = r_t da_xn
        dh_{t-1} = dh_t z_t + [da_r, da_z, da_hn] W_h
    """
    T, N, H = m.shape
    r, z, n = g
    h_prev = hs[:-1]
    # da[0] = da_xn, da[1:3] = da_r, da_z (both sides), da[3] = da_hn: the input side is
    # da[[1, 2, 0]] and the recurrent side da[1:4], one batch of three for the matmul
    blocks = sequence.blocks(T, 3 * N * H * hs.itemsize)
    L = blocks[0][1] - blocks[0][0]                   # the longest block (the first)
    da, K, hw, d, tmp, hx = sequence.buffers(hs.dtype, (4, T, N, H), (3, L, N, H), (3, N, H), (N, H),
                                             (N, H), (T * N, H + x_rows.shape[1]), keep=True)
    carry = carry.copy()
    for t0, t1 in blocks:
        b = slice(t0, t1)
        K_r, K_z, K_n = K[:, :t1 - t0]                # this block's factors, step t at t - t0
        np.subtract(1.0, r[b], out=K_r)
        K_r *= r[b]
        K_r *= m[b]                                   # K_r = m r (1 - r)
        np.subtract(1.0, z[b], out=K_z)
        K_z *= z[b]
        np.subtract(h_prev[b], n[b], out=K_n)         # K_n, as scratch
        K_z *= K_n                                    # K_z = (h_prev - n) z (1 - z)
        np.multiply(n[b], n[b], out=K_n)
        np.subtract(1.0, K_n, out=K_n)
        np.subtract(1.0, z[b], out=da[3, b])
        K_n *= da[3, b]                               # K_n = (1 - z) (1 - n^2)
        for t in range(t1 - 1, t0 - 1, -1):
            up = dh.get(t)
            if up is None:
                d[...] = carry
            else:
                np.add(carry, up, out=d)
            np.multiply(d, K_n[t - t0], out=da[0, t])          # da_xn
            np.multiply(da[0, t], K_r[t - t0], out=da[1, t])   # da_r
            np.multiply(d, K_z[t - t0], out=da[2, t])          # da_z
            np.multiply(da[0, t], r[t], out=da[3, t])     # da_hn
            np.matmul(da[1:, t], W_h, out=hw)
            np.multiply(d, z[t], out=carry)
            carry += hw[0]
            carry += hw[1]
            carry += hw[2]                            # dh_{t-1}
            if sequence.cut(t, truncate):
                carry[...] = 0.0
    da_x = (da[1], da[2], da[0])                      # views, in gate order r, z, n
    db_r, db_z, db_xn, db_hn = (sequence.rows(d).sum(axis=0) for d in (da[1], da[2], da[0], da[3]))
    # r and z: one matmul each against the [h_{t-1}, x_t] rows gives both weights' gradients
    np.concatenate([sequence.rows(h_prev), x_rows], axis=1, out=hx)
    dW_r, dW_z = (sequence.rows(d).T @ hx for d in (da[1], da[2]))
    grads = (np.stack([dW_r[:, H:], dW_z[:, H:], sequence.rows(da[0]).T @ x_rows]),
             np.stack([dW_r[:, :H], dW_z[:, :H], sequence.rows(da[3]).T @ sequence.rows(h_prev)]),
             np.stack([db_r, db_z, db_xn]), np.stack([db_r, db_z, db_hn]))   # r, z: both sides
    return sequence.backproject(da_x, W_i), carry, grads


# ----------------------------------------------------------------------------------------
# LSTM (lstm.recurrence, lstm.carry_factors, lstm.carry)
# ----------------------------------------------------------------------------------------

def lstm_forward(x, state0, params, gates):
    """lstm.forward's loop, in place: returns (h (N, T, H), state_T, cache); gates = lstm.GATES."""
    H = params["b_f"].shape[0]
    W = np.stack([params["W_" + g] for g in gates])      # (4, H, H + D)
    W_h, W_x = np.ascontiguousarray(W[:, :, :H]), np.ascontiguousarray(W[:, :, H:])
    b = np.stack([params["b_" + g] for g in gates])
    hs, cs, g, tcs, x_rows = _lstm_loop(x, state0["h"], state0["c"], W_x, W_h, b)
    cache = {"fast": True, "x": x, "x_rows": x_rows, "hs": hs, "cs": cs, "g": g, "tcs": tcs,
             "W_h": W_h, "W_x": W_x, "gates": gates}
    return sequence.batch_first(hs[1:]), {"h": hs[-1].copy(), "c": cs[-1].copy()}, cache


def lstm_backward(dh, cache, dstate_T, truncate):
    """lstm.backward of an lstm_forward cache: returns (dx, dstate0, grads)."""
    tcs = cache["tcs"]
    if dstate_T is None:
        dh_T, dc_T = np.zeros(tcs.shape[1:], tcs.dtype), np.zeros(tcs.shape[1:], tcs.dtype)
    else:
        dh_T, dc_T = dstate_T["h"], dstate_T["c"]
    dx, dh_0, dc_0, (dW, db) = _lstm_loop_back(dh, cache["x_rows"], cache["hs"], cache["cs"],
                                               cache["g"], tcs, cache["W_x"], cache["W_h"],
                                               dh_T, dc_T, truncate)
    grads = {}
    for j, g in enumerate(cache["gates"]):
        grads["W_" + g], grads["b_" + g] = dW[j], db[j]   # (H, H + D): [h_{t-1}; x_t]
    return dx, {"h": dh_0, "c": dc_0}, grads


def _lstm_loop(x, h0, c0, W_x, W_h, b):
    """The LSTM over a sequence; gate order f, i, o, C~ (lstm.GATES).

    x (N, T, D), h0, c0 (N, H); W_x (4, H, D), W_h (4, H, H), b (4, H). Returns hs, cs
    (T + 1, N, H) (row 0 the initial state, row t + 1 step t), the gate-major gates
    g (4, T, N, H) = f_t, i_t, o_t, C~_t, and tcs (T, N, H) = tanh C_t.
    """
    N, T, _ = x.shape
    H = W_h.shape[1]
    g, tcs, hs, cs, hw, tmp = sequence.buffers(x.dtype, (4, T, N, H), (T, N, H), (T + 1, N, H),
                                           (T + 1, N, H), (4, N, H), (N, H))
    x_rows = sequence.x_rows(x)
    sequence.project(x, W_x, b, out=g)                    # g[:, t] holds x_t W_x^T + b until step t
    W_hT = np.ascontiguousarray(W_h.transpose(0, 2, 1))
    f, i, o, gc = g
    hs[0], cs[0] = h0, c0
    with np.errstate(over="ignore"):
        for t in range(T):
            np.matmul(hs[t], W_hT, out=hw)            # z = xw_t + h_{t-1} W_h^T, gate by gate
            for j in range(4):
                g[j, t] += hw[j]
            sigmoid(f[t], f[t], silence=False)  # f_t = sigmoid(z_f)
            sigmoid(i[t], i[t], silence=False)  # i_t = sigmoid(z_i)
            sigmoid(o[t], o[t], silence=False)  # o_t = sigmoid(z_o)
            np.tanh(gc[t], out=gc[t])                 # C~_t = tanh(z_C)
            np.multiply(f[t], cs[t], out=cs[t + 1])
            np.multiply(i[t], gc[t], out=tmp)
            cs[t + 1] += tmp                          # C_t = f_t * C_{t-1} + i_t * C~_t
            np.tanh(cs[t + 1], out=tcs[t])
            np.multiply(o[t], tcs[t], out=hs[t + 1])  # h_t = o_t * tanh(C_t)
    return hs, cs, g, tcs, x_rows


def _lstm_loop_back(dh, x_rows, hs, cs, g, tcs, W_x, W_h, carry_h, carry_c, truncate):
    """BPTT of _lstm_loop. dh {t: (N, H)}; x_rows (T*N, D); carry_h, carry_c: dL/dh_T, dL/dC_T.
    Returns dx (N, T, D), dh_0, dC_0 (N, H) and the stacked gradients (dW (4, H, H + D) of
    the weights acting on [h_{t-1}; x_t], as lstm's W_[.], and db (4, H)) in gate order f, i, o, C~.

    The local factors of lstm.carry_factors, a block of steps at a time (sequence.blocks), written
    where dL/dz then replaces them:
        A = o_t (1 - tanh^2 C_t);  B = [C_{t-1} f'(z_f), C~_t i'(z_i), tanh C_t o'(z_o), i_t (1 - C~_t^2)]
    and then per step (lstm.carry):
        dC = dc_t + dh_t A,  dz = B * [dC, dC, dh_t, dC],  dh_{t-1} = dz W_h,  dC_{t-1} = dC f_t
    """
    T, N, H = tcs.shape
    f, i, o, gc = g
    c_prev = cs[:-1]
    blocks = sequence.blocks(T, 4 * N * H * hs.itemsize)
    L = blocks[0][1] - blocks[0][0]                   # the longest block (the first)
    dz, A_, hw, d, dc, hx = sequence.buffers(hs.dtype, (4, T, N, H), (L, N, H), (4, N, H), (N, H),
                                             (N, H), (T * N, H + x_rows.shape[1]), keep=True)
    carry_h, carry_c = carry_h.copy(), carry_c.copy()
    for t0, t1 in blocks:
        b = slice(t0, t1)
        A = A_[:t1 - t0]                              # this block's A, step t at t - t0
        np.multiply(tcs[b], tcs[b], out=A)
        np.subtract(1.0, A, out=A)
        A *= o[b]                                     # A = o (1 - tanh^2 C)
        for j, factor in enumerate((c_prev, gc, tcs)):
            np.subtract(1.0, g[j, b], out=dz[j, b])
            dz[j, b] *= g[j, b]
            dz[j, b] *= factor[b]                     # B_f, B_i, B_o: s (1 - s) times its factor
        np.multiply(gc[b], gc[b], out=dz[3, b])
        np.subtract(1.0, dz[3, b], out=dz[3, b])
        dz[3, b] *= i[b]                              # B_C = i (1 - C~^2)
        for t in range(t1 - 1, t0 - 1, -1):
            up = dh.get(t)
            if up is None:
                d[...] = carry_h
            else:
                np.add(carry_h, up, out=d)            # dh_t
            np.multiply(d, A[t - t0], out=dc)
            dc += carry_c                             # dC = dc_t + dh_t A
            dz[0, t] *= dc
            dz[1, t] *= dc
            dz[2, t] *= d
            dz[3, t] *= dc                            # dz = B * [dC, dC, dh_t, dC]
            np.multiply(dc, f[t], out=carry_c)        # dC_{t-1} = dC f_t
            np.matmul(dz[:, t], W_h, out=hw)
            np.add(hw[0], hw[1], out=carry_h)
            carry_h += hw[2]
            carry_h += hw[3]                          # dh_{t-1} = dz W_h
            if sequence.cut(t, truncate):
                carry_h[...] = 0.0
                carry_c[...] = 0.0
    np.concatenate([sequence.rows(hs[:-1]), x_rows], axis=1, out=hx)   # [h_{t-1}, x_t] rows
    grads = (np.stack([sequence.rows(d).T @ hx for d in dz]),          # one matmul per gate for both
             np.stack([sequence.rows(d).sum(axis=0) for d in dz]))
    return sequence.backproject(dz, W_x), carry_h, carry_c, grads
