"""The fast sequence loops: the cells' equations written in place, one gate at a time.

A cell module states its equations once, readably, in its private step functions (elman._step,
lstm._step, gru.STEPS[form]); the sequence passes that the cells run for a whole sequence
come from here, and tests show that they equal the step functions looped over the steps
(tests/test_cells_inplace.py). Nothing here is a new equation: each line below names the
plain line it computes. They serve the larger sizes only (wanted(N, H)); below, the cells
loop over their step functions directly.

Why a second form. At W1 (N = 32, H = 128) a numpy call on a contiguous (N, H) array costs
about 2.3 us, but the same call on the (N, H) slice of a gate inside an (N, 3H) or (N, 4H)
row (what slicing a stacked matmul result gives) costs about 8 us: numpy leaves its fast
contiguous path. So these loops keep every gate in its own contiguous block, gate-major,
(G, T, N, H): gate g at step t is the contiguous (N, H) array a[g, t], and gate g over all
steps is the contiguous (T*N, H) rows that its weight gradient's one matmul reads. The
recurrent matmul gives one contiguous (N, H) block per gate (np.matmul of h (N, H) against
the stacked transposed weights (G, H, H)), every result goes into a preallocated buffer
(out=), no call allocates inside the loop, and the backward's scratch is kept from one call
to the next (scratch).
"""
import threading

import numpy as np

from . import sequence

# Below this many elements per gate and step (N * H), a numpy call costs its fixed overhead
# whatever the layout, and the cells' stacked loops, which make fewer calls per step, are
# faster (W1-small, N * H = 16); from it on (W1, N * H = 4096) these loops are.
MIN_SIZE = 1024


def wanted(N, H):
    """True where a sequence pass of N rows and H units runs the loops here."""
    return N * H >= MIN_SIZE


_SCRATCH = threading.local()


def scratch(dtype, *shapes):
    """A backward pass's scratch arrays (sequence.buffers), kept from one call to the next.

    A fresh workspace of this size is returned to the system when freed and costs page
    faults when the next call touches it again (measured at W1: 10 to 15 % of a call).
    One set per thread, replaced when the shapes change. Only scratch comes from here:
    nothing returned or kept in a cache shares its memory.
    """
    key = (np.dtype(dtype).str,) + shapes
    if getattr(_SCRATCH, "key", None) != key:
        _SCRATCH.key, _SCRATCH.arrays = key, sequence.buffers(dtype, *shapes)
    return _SCRATCH.arrays


def sigmoid_into(a):
    """a[...] = 1 / (1 + e^-a) in place (sequence.sigmoid_raw's operations, so its bits)."""
    np.negative(a, out=a)
    np.exp(a, out=a)
    a += 1.0
    np.divide(1.0, a, out=a)
    return a


def project(x_rows, W_x, b, out):
    """out[g] = x_t W_x[g]^T + b[g] for every gate g and step t, one matmul per gate over all
    T*N rows: x_rows (T*N, D) = sequence.x_rows(x), W_x (G, H, D), b (G, H), out (G, T, N, H).
    (A contiguous (T*N, H) result per gate: about 2 ms less at W1 than sequence.project's matmul
    per batch item into strided rows.)"""
    for g in range(len(W_x)):
        rows = sequence.rows(out[g])
        np.matmul(x_rows, W_x[g].T, out=rows)
        rows += b[g]
    return out


def backproject(da, W_x):
    """dx (N, T, D) = sum over gates g of da[g]_t W_x[g]: da (G, T, N, H) or G arrays
    (T, N, H), W_x (G, H, D)."""
    dx = sequence.backproject(da[0], W_x[0])
    for g in range(1, len(W_x)):
        dx += sequence.backproject(da[g], W_x[g])
    return dx


# ----------------------------------------------------------------------------------------
# GRU, cuDNN's form (gru._step_cudnn, gru._local_cudnn, gru._back_cudnn)
# ----------------------------------------------------------------------------------------

def gru_cudnn_forward(x, h0, W_i, W_h, b_i, b_h):
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
    project(x_rows, W_i, b_i + np.stack([b_h[0], b_h[1], np.zeros_like(b_h[2])]), out=g)
    W_hT = np.ascontiguousarray(W_h.transpose(0, 2, 1))
    r, z, n = g
    hs[0] = h0
    with np.errstate(over="ignore"):
        for t in range(T):
            np.matmul(hs[t], W_hT, out=hw)            # W_h h_{t-1}, gate by gate
            np.add(hw[2], b_h[2], out=m[t])           # m_t = W_hn h_{t-1} + b_hn
            r[t] += hw[0]
            sigmoid_into(r[t])                        # r_t = sigmoid(xw_r + W_hr h_{t-1} + b_hr)
            z[t] += hw[1]
            sigmoid_into(z[t])                        # z_t = sigmoid(xw_z + W_hz h_{t-1} + b_hz)
            np.multiply(r[t], m[t], out=tmp)
            n[t] += tmp
            np.tanh(n[t], out=n[t])                   # n_t = tanh(xw_n + r_t * m_t)
            np.subtract(1.0, z[t], out=tmp)
            tmp *= n[t]
            np.multiply(z[t], hs[t], out=hs[t + 1])
            hs[t + 1] += tmp                          # h_t = (1 - z_t) * n_t + z_t * h_{t-1}
    return hs, g, m, x_rows


def gru_cudnn_backward(dh, x_rows, hs, g, m, W_i, W_h, carry, truncate):
    """BPTT of gru_cudnn_forward. dh {t: (N, H)}; x_rows (T*N, D); carry (N, H): dL/dh_T.
    Returns dx (N, T, D), dh_0 (N, H), and the stacked gradients (dW_i (3, H, D),
    dW_h (3, H, H), db_i, db_h (3, H)) in gate order r, z, n.

    The local factors of gru._local_cudnn, a block of steps at a time (sequence.blocks):
        K_r = m_t r_t (1 - r_t),  K_z = (h_{t-1} - n_t) z_t (1 - z_t),  K_n = (1 - z_t)(1 - n_t^2)
    and then per step (gru._back_cudnn):
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
    da, K, hw, d, tmp, hx = scratch(hs.dtype, (4, T, N, H), (3, L, N, H), (3, N, H), (N, H), (N, H),
                                    (T * N, H + x_rows.shape[1]))
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
    return backproject(da_x, W_i), carry, grads


# ----------------------------------------------------------------------------------------
# LSTM (lstm._step, lstm._local, lstm._step_back)
# ----------------------------------------------------------------------------------------

def lstm_forward(x, h0, c0, W_x, W_h, b):
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
    project(x_rows, W_x, b, out=g)                    # g[:, t] holds x_t W_x^T + b until step t
    W_hT = np.ascontiguousarray(W_h.transpose(0, 2, 1))
    f, i, o, gc = g
    hs[0], cs[0] = h0, c0
    with np.errstate(over="ignore"):
        for t in range(T):
            np.matmul(hs[t], W_hT, out=hw)            # z = xw_t + h_{t-1} W_h^T, gate by gate
            for j in range(4):
                g[j, t] += hw[j]
            sigmoid_into(f[t])                        # f_t = sigmoid(z_f)
            sigmoid_into(i[t])                        # i_t = sigmoid(z_i)
            sigmoid_into(o[t])                        # o_t = sigmoid(z_o)
            np.tanh(gc[t], out=gc[t])                 # C~_t = tanh(z_C)
            np.multiply(f[t], cs[t], out=cs[t + 1])
            np.multiply(i[t], gc[t], out=tmp)
            cs[t + 1] += tmp                          # C_t = f_t * C_{t-1} + i_t * C~_t
            np.tanh(cs[t + 1], out=tcs[t])
            np.multiply(o[t], tcs[t], out=hs[t + 1])  # h_t = o_t * tanh(C_t)
    return hs, cs, g, tcs, x_rows


def lstm_backward(dh, x_rows, hs, cs, g, tcs, W_x, W_h, carry_h, carry_c, truncate):
    """BPTT of lstm_forward. dh {t: (N, H)}; x_rows (T*N, D); carry_h, carry_c: dL/dh_T, dL/dC_T.
    Returns dx (N, T, D), dh_0, dC_0 (N, H) and the stacked gradients (dW (4, H, H + D) of
    the weights acting on [h_{t-1}; x_t], as lstm's W_[.], and db (4, H)) in gate order f, i, o, C~.

    The local factors of lstm._local, a block of steps at a time (sequence.blocks), written
    where dL/dz then replaces them:
        A = o_t (1 - tanh^2 C_t);  B = [C_{t-1} f'(z_f), C~_t i'(z_i), tanh C_t o'(z_o), i_t (1 - C~_t^2)]
    and then per step (lstm._step_back):
        dC = dc_t + dh_t A,  dz = B * [dC, dC, dh_t, dC],  dh_{t-1} = dz W_h,  dC_{t-1} = dC f_t
    """
    T, N, H = tcs.shape
    f, i, o, gc = g
    c_prev = cs[:-1]
    blocks = sequence.blocks(T, 4 * N * H * hs.itemsize)
    L = blocks[0][1] - blocks[0][0]                   # the longest block (the first)
    dz, A_, hw, d, dc, hx = scratch(hs.dtype, (4, T, N, H), (L, N, H), (4, N, H), (N, H), (N, H),
                                    (T * N, H + x_rows.shape[1]))
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
    return backproject(dz, W_x), carry_h, carry_c, grads
