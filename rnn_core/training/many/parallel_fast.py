"""The fast form of parallel.py's Elman, LSTM and GRU (sources' form) passes: in place,
allocating nothing per step. Equal to the plain loops over the cells' steps in parallel.py
(elman_forward, elman_backward, lstm_forward, lstm_backward, and the GRU's loops over
gru.STEPS["sources"]): to rounding for the Elman RNN, bit for bit for the LSTM and the GRU
(tests/test_stacked.py); parallel.forward(..., fast=True) takes this branch.
Measured gain at one BLAS thread, forward and BPTT of K = 32 runs at N = 32: 1.8x the
plain loops' speed for the Elman RNN, 1.5x for the LSTM (benchmarks/README.md); for the
GRU at K = 16, N = 16, H = 10 (notebook 05) about 1.1x on BPTT and no gain on the forward
pass, where numpy's exp is slow on the gates' strided slices (hence _sigmoid's buffer).

  - the Elman step is one matmul, z_t [W_h, W_x, b]^T with z_t = [h_{t-1}, x_t, 1] a row
    of one array Z, which then also gives all three weight gradients in one matmul;
  - the LSTM's and the GRU's gates are computed into the input projection's array;
  - the backward passes multiply and multiply by W_h in place, into workspace buffers
    (fresh (K, N, H) temporaries per operation cost page faults).
Shapes as in parallel.py: (K, T, N, .).
"""
import numpy as np

from ...cells import fast, gru, sequence
from . import parallel



def _apply(act, a, out):
    """out[...] = act.f(a) (tanh, relu and linear without a temporary)."""
    if act.name == "tanh":
        np.tanh(a, out=out)
    elif act.name == "relu":
        np.maximum(a, 0, out=out)
    else:
        out[...] = a if act.name == "linear" else act.f(a)


def elman_forward(x, F, act, ws):
    """parallel.elman_forward in place, one matmul per step: the step's inputs sit in
    one row z_t = [h_{t-1}, x_t, 1] of Z (K, T + 1, N, H + D + 1), so that
    a_t = z_t [W_h, W_x, b]^T (the sum xw_t + h_{t-1} W_h^T of recurrence in one product),
    then h_t = f(a_t) goes into the next row. Returns Z; Z[..., :H] is hs (K, T + 1, N, H)
    with hs[:, 0] = 0, and the weight gradients are one product with Z's rows. Z's constant
    parts (h_0 = 0, the column of ones) are written when its workspace buffer is made."""
    K1, T, N, D = x.shape
    K, H = F["W_h"].shape[0], F["W_h"].shape[-1]
    shape, dtype = (K, T + 1, N, H + D + 1), np.result_type(x, F["W_h"])
    fresh = ws is None or ("Z", shape, np.dtype(dtype).char) not in ws
    Z = parallel.buffer(ws, "Z", shape, dtype)
    if fresh:                                         # its constant parts, once per buffer
        Z[:, 0, :, :H] = 0
        Z[:, :T, :, -1] = 1
    Z[:, :T, :, H:H + D] = x
    Wc = np.concatenate([parallel.transposed(F["W_h"]), parallel.transposed(F["W_x"]), F["b"][:, None, :]], axis=1)  # (K, C, H)
    m = parallel.buffer(ws, "a", (K, N, H), Z.dtype)
    for t in range(T):
        np.matmul(Z[:, t], Wc, out=m)                 # a_t, in a contiguous buffer
        _apply(act, m, Z[:, t + 1, :, :H])            # h_t, straight into the next row
    return Z


def _elman_carry(dh, hs, W_h, act, truncate, keep_g, ws):
    """parallel.elman_backward's carry in place. Returns (das (K, T, N, H) = dL/da_t,
    g_all (K, T, N, H) = the total dL/dh_t of every step, or None unless keep_g)."""
    K, T1, N, H = hs.shape
    T = T1 - 1
    das = fast.df_from_out(act, hs[:, 1:], parallel.buffer(ws, "da", (K, T, N, H), hs.dtype))
    g_all = parallel.buffer(ws, "g", (K, T, N, H), hs.dtype) if keep_g else None
    carry = parallel.buffer(ws, "carry", (K, N, H), hs.dtype)
    carry[...] = 0
    for t in range(T - 1, -1, -1):
        g = dh.get(t)
        if g is not None:
            carry += g
        if keep_g:
            g_all[:, t] = carry
        da = das[:, t]
        np.multiply(carry, da, out=da)                 # dL/da_t = dL/dh_t * f'(a_t)
        if t:
            np.matmul(da, W_h, out=carry)              # dL/dh_{t-1}
            if sequence.cut(t, truncate):
                carry[...] = 0
    return das, g_all


def _sigmoid(a, buf):
    """a[...] = sequence.loop_sigmoid(a) = 1 / (1 + e^-a) in place, the same operations,
    through buf, a contiguous array of a's shape: a is a strided slice of the gates, and
    numpy's exp runs several times faster on a contiguous array than on such a slice."""
    np.negative(a, out=buf)
    np.exp(buf, out=buf)
    buf += 1
    np.divide(1, buf, out=a)


def lstm_forward(x, F, ws):
    """parallel.lstm_forward in place and the same operations (equal bit for
    bit): z_t = xw_t +
    h_{t-1} W_h^T in the projection's array, then [f, i, o] = sigmoid, C~ = tanh there too,
    C_t = f C_{t-1} + i C~, h_t = o tanh C_t. Returns (hs, cs (K, T + 1, N, H), gates
    (K, T, N, 4H) holding [f, i, o, C~] of every step, tcs (K, T, N, H) = tanh C_t)."""
    W_h = F["W_h"]
    H = W_h.shape[-1]
    gates = parallel.project(x, F["W_x"], F["b"], ws)
    K, T, N, _ = gates.shape
    hs, cs = (parallel.buffer(ws, n, (K, T + 1, N, H), gates.dtype) for n in ("hs", "cs"))
    tcs = parallel.buffer(ws, "tcs", (K, T, N, H), gates.dtype)
    m, ig = parallel.buffer(ws, "hW", (K, N, 4 * H), gates.dtype), parallel.buffer(ws, "ig", (K, N, H), gates.dtype)
    sb = parallel.buffer(ws, "sig", (K, N, 3 * H), gates.dtype)
    hs[:, 0], cs[:, 0] = 0, 0
    W_hT = parallel.transposed(W_h)
    for t in range(T):
        z = gates[:, t]
        if t:                                  # h_0 = 0: z_0 = xw_0 exactly
            np.matmul(hs[:, t], W_hT, out=m)
            z += m
        _sigmoid(z[..., :3 * H], sb)
        np.tanh(z[..., 3 * H:], out=z[..., 3 * H:])
        f, i, o, g = (z[..., j * H:(j + 1) * H] for j in range(4))
        np.multiply(f, cs[:, t], out=cs[:, t + 1])
        np.multiply(i, g, out=ig)
        cs[:, t + 1] += ig
        tcs[:, t] = cs[:, t + 1]
        np.tanh(tcs[:, t], out=tcs[:, t])
        np.multiply(o, tcs[:, t], out=hs[:, t + 1])
    return hs, cs, gates, tcs


def lstm_backward(dh, cache, W_h, truncate, ws):
    """parallel.lstm_backward in place and the same operations, with lstm_local's
    factors for a block of steps at once written where dL/dz_t then replaces them.
    Returns dzs (K, T, N, 4H) = dL/d[z_f, z_i, z_o, z_C] of every step."""
    ss, gs, tcs, cs = cache["ss"], cache["gs"], cache["tcs"], cache["cs"]
    K, T, N, H = gs.shape
    dzs = parallel.buffer(ws, "da", (K, T, N, 4 * H), gs.dtype)
    ch, cc, dc = (parallel.buffer(ws, n, (K, N, H), gs.dtype) for n in ("ch", "cc", "dc"))
    ch[...], cc[...] = 0, 0
    for t0, t1 in sequence.blocks(T, K * N * 4 * H * gs.itemsize):       # the last block first
        A, _ = parallel.lstm_local(ss[:, t0:t1], gs[:, t0:t1], tcs[:, t0:t1], cs[:, t0:t1],
                           out=dzs[:, t0:t1])
        for t in range(t1 - 1, t0 - 1, -1):
            g = dh.get(t)
            if g is not None:
                ch += g                                      # dL/dh_t
            np.multiply(ch, A[:, t - t0], out=dc)
            dc += cc                                         # dC = dc_t + dh_t A
            dz = dzs[:, t]                                   # B, then B * [dC, dC, dh_t, dC]
            for j, v in enumerate((dc, dc, ch, dc)):
                dz[..., j * H:(j + 1) * H] *= v
            if t:
                np.matmul(dz, W_h, out=ch)                   # dL/dh_{t-1}
                np.multiply(dc, ss[:, t, :, :H], out=cc)     # dL/dC_{t-1} = dC f_t
                if sequence.cut(t, truncate):
                    ch[...], cc[...] = 0, 0
    return dzs


def elman_backward(dh, cache, W_h, truncate, keep_g, ws):
    """parallel.backward for the Elman RNN after elman_forward: (grads {"W_h", "W_x", "b"},
    g_all or None); the weight gradients are one product with Z's rows."""
    x, hs, Z = cache["x"], cache["hs"], cache["Z"]
    K, T1, N, H = hs.shape
    T = T1 - 1
    das, g_all = _elman_carry(dh, hs, W_h, cache["act"], truncate, keep_g, ws)
    z_rows = Z.reshape(K, T1 * N, Z.shape[-1])[:, :T * N]        # [h_{t-1}, x_t, 1] rows
    G = parallel.matmul(ws, "gZ", parallel.transposed(parallel.rows(das)), z_rows)  # (K, H, H + D + 1)
    D = x.shape[-1]
    return {"W_h": G[..., :H], "W_x": G[..., H:H + D], "b": G[..., -1]}, g_all


def gru_forward(x, F, ws):
    """parallel.forward's GRU loop over gru.recurrence_sources in place and by the same
    operations (equal bit for bit): [u, r] = sigmoid(xw + h_{t-1} W_ur^T) and the candidate
    n = tanh(xw_c + (r h_{t-1}) W_c^T) in the projection's array, h_t = (1 - u) h_{t-1} + u n.
    Returns (hs (K, T + 1, N, H), gates (K, T, N, 3H) holding [u, r, n] of every step,
    ms (K, T, N, H) = r_t * h_{t-1})."""
    W_h = F["W_h"]
    H = W_h.shape[-1]
    gates = parallel.project(x, F["W_x"], F["b"], ws)
    K, T, N, _ = gates.shape
    hs = parallel.buffer(ws, "hs", (K, T + 1, N, H), gates.dtype)
    ms = parallel.buffer(ws, "ms", (K, T, N, H), gates.dtype)
    m2 = parallel.buffer(ws, "hW", (K, N, 2 * H), gates.dtype)
    m1, tmp = (parallel.buffer(ws, n, (K, N, H), gates.dtype) for n in ("mW", "ig"))
    hs[:, 0] = 0
    W_urT, W_cT = parallel.transposed(W_h[..., :2 * H, :]), parallel.transposed(W_h[..., 2 * H:, :])
    for t in range(T):
        z, h_prev = gates[:, t], hs[:, t]
        np.matmul(h_prev, W_urT, out=m2)
        np.add(z[..., :2 * H], m2, out=m2)
        _sigmoid(m2, m2)                                       # contiguous (see _sigmoid)
        z[..., :2 * H] = m2
        u, r, n = m2[..., :H], m2[..., H:], z[..., 2 * H:]
        np.multiply(r, h_prev, out=ms[:, t])                   # reset before the matrix
        np.matmul(ms[:, t], W_cT, out=m1)
        np.add(n, m1, out=m1)
        np.tanh(m1, out=m1)
        n[...] = m1
        n = m1
        np.subtract(1, u, out=tmp)
        tmp *= h_prev
        np.multiply(u, n, out=hs[:, t + 1])
        hs[:, t + 1] += tmp                                    # (1 - u) h_{t-1} + u n
    return hs, gates, ms


def gru_backward(dh, hs, caches, W_h, truncate, das, ws):
    """parallel.backward's GRU loop over gru.carry_sources in place and by the same
    operations, with gru.carry_factors_sources for a block of steps at once. Writes dL/da_t
    of every step into das (K, T, N, 3H)."""
    ss, ns, ms = caches
    K, T, N, H = ns.shape
    _, local, _ = gru.STEPS["sources"]
    g_t, g_new, dm, a, b = (parallel.buffer(ws, n, (K, N, H), hs.dtype)
                            for n in ("ch", "cc", "dc", "ca", "cb"))
    c = parallel.buffer(ws, "hc", (K, N, H), hs.dtype)
    g_t[...] = 0
    W_ur, W_c = W_h[..., :2 * H, :], W_h[..., 2 * H:, :]
    for t0, t1 in sequence.blocks(T, K * N * 3 * H * hs.itemsize):       # the last block first
        Kf, _, P = local(hs[:, t0:t1], (ss[:, t0:t1], ns[:, t0:t1], ms[:, t0:t1]))
        for t in range(t1 - 1, t0 - 1, -1):
            g = dh.get(t)
            if g is not None:
                g_t += g                                       # dL/dh_t
            k, p, da = Kf[:, t - t0], P[:, t - t0], das[:, t]
            np.multiply(g_t, k[..., 2 * H:], out=a)
            np.matmul(a, W_c, out=dm)                          # dL/d(r_t * h_{t-1})
            np.multiply(k[..., :H], g_t, out=da[..., :H])      # K * [dh_t, dm, dh_t]
            np.multiply(k[..., H:2 * H], dm, out=da[..., H:2 * H])
            np.multiply(k[..., 2 * H:], g_t, out=da[..., 2 * H:])
            np.multiply(g_t, p[..., :H], out=g_new)            # dL/dh_{t-1}
            np.multiply(dm, p[..., H:], out=b)
            g_new += b
            np.matmul(da[..., :2 * H], W_ur, out=c)
            g_new += c
            g_t, g_new = g_new, g_t
            if sequence.cut(t, truncate):
                g_t[...] = 0
