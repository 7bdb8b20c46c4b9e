"""K models of one cell as one stacked computation: their parameters and sequence passes.

Parameters of K runs are stacked along a leading axis, the gates of each run in one matrix
as the cells stack them internally: W_h (K, G, H), W_x (K, G, D), b (K, G) (and the cuDNN
GRU's b_h (K, G)), plus the affine readout W_y (K, O, H), b_y (K, O). _fuse and _unfuse
convert between a cell's params dicts and this layout. Inside a pass arrays are
(K, T, N, .): run-major, time-major within a run, so that hs[:, t] is one contiguous
(N, H) block per run and the weight gradients are one matmul over each run's T*N rows.
stacked_loss.py adds the readout, the losses and the gradients; multirun.fit_many trains.

The GRU's recurrence is the cell's own step functions (gru.STEPS[form]), which accept
stacked weights under np.matmul broadcasting. The Elman RNN and the LSTM are written out
here beside elman._step/_step_back and lstm._step/_step_back, in forms that allocate
nothing per step (tests/test_stacked.py: equal to rounding, the LSTM bit for bit):
  - the Elman step is one matmul, z_t [W_h, W_x, b]^T with z_t = [h_{t-1}, x_t, 1] a row
    of one array Z, which then also gives all three weight gradients in one matmul;
  - the LSTM's gates are computed in place in the input projection's array;
  - tanh is np.tanh in place, as in the cells (full relative precision at every
    magnitude; with numpy 2.4 it costs about what one exp does, so no cheaper form is
    worth its loss of precision on small values);
  - the backward passes multiply and multiply by W_h in place.
(A fresh (K, N, H) temporary per operation costs page faults that at K = 32 took as long
as the product itself.)
"""
import numpy as np

from ...nn import activations
from ...cells import sequence, elman, gru, lstm

CELLS = {"rnn": elman, "lstm": lstm, "gru": gru}      # the cells fit_many trains


# ----------------------------------------------------------------------------------------
# Parameters: a cell's dicts <-> the stacked gate layout (K, G, .)
# ----------------------------------------------------------------------------------------

def _fuse(mod, opts, p):
    """Stacked cell params {key: (K, ...)} -> {"W_h" (K, G, H), "W_x" (K, G, D), "b" (K, G)
    [, "b_h" (K, G)]}: the gates stacked as the cell stacks them internally."""
    if mod is elman:
        return {"W_h": p["W_h"].copy(), "W_x": p["W_x"].copy(), "b": p["b"].copy()}
    if mod is gru and opts["form"] == "cudnn":
        return {k: np.concatenate([p[f"{pre}{g}"] for g in "rzn"], axis=-1 if pre[0] == "b" else -2)
                for k, pre in (("W_h", "W_h"), ("W_x", "W_i"), ("b", "b_i"), ("b_h", "b_h"))}
    gates = lstm.GATES if mod is lstm else gru.GATES["sources"]
    H = p["b_" + gates[0]].shape[-1]
    W = np.concatenate([p["W_" + g] for g in gates], axis=-2)       # (K, G, H + D)
    return {"W_h": np.ascontiguousarray(W[..., :H]), "W_x": np.ascontiguousarray(W[..., H:]),
            "b": np.concatenate([p["b_" + g] for g in gates], axis=-1)}


def _unfuse(mod, opts, f, r):
    """Row r of the stacked gate layout -> the cell's own params dict (new arrays)."""
    keys = mod.param_shapes(1, 1, **({"form": opts["form"]} if mod is gru else {}))
    if mod is elman:
        out = {k: f[k][r].copy() for k in ("W_h", "W_x", "b")}
    else:
        H = f["W_h"].shape[-1]
        blk = lambda j: slice(j * H, (j + 1) * H)                      # noqa: E731
        out = {}
        if mod is gru and opts["form"] == "cudnn":
            for j, g in enumerate("rzn"):
                out[f"W_i{g}"], out[f"W_h{g}"] = f["W_x"][r, blk(j)].copy(), f["W_h"][r, blk(j)].copy()
                out[f"b_i{g}"], out[f"b_h{g}"] = f["b"][r, blk(j)].copy(), f["b_h"][r, blk(j)].copy()
        else:
            gates = lstm.GATES if mod is lstm else gru.GATES["sources"]
            for j, g in enumerate(gates):
                out["W_" + g] = np.concatenate([f["W_h"][r, blk(j)], f["W_x"][r, blk(j)]], axis=1)
                out["b_" + g] = f["b"][r, blk(j)].copy()
    return {k: out[k] for k in keys}


def _stack(trees):
    """K dicts of arrays with one structure -> one dict of stacked (K, ...) arrays."""
    return {k: np.stack([t[k] for t in trees]) for k in trees[0]}


# ----------------------------------------------------------------------------------------
# Workspace and layout helpers
# ----------------------------------------------------------------------------------------

def _T(a):
    return np.swapaxes(a, -1, -2)


def _rows(a):
    """(K, T, N, I) -> (K, T*N, I): one row per (step, batch item), per run (a view if it can)."""
    return a.reshape(a.shape[0], -1, a.shape[-1])


def buffer(ws, name, shape, dtype):
    """An uninitialised array from the workspace ws (a dict kept by the caller across
    steps; None: a fresh array). Reusing the arrays of the passes saves the page faults
    that fresh arrays above glibc's mmap threshold cost on first touch."""
    if ws is None:
        return np.empty(shape, dtype)
    key = (name, shape, np.dtype(dtype).char)
    if key not in ws:
        ws[key] = np.empty(shape, dtype)
    return ws[key]


def _matmul(ws, name, a, b):
    """a @ b into a workspace buffer (np.matmul's own result shape and dtype)."""
    shape = np.broadcast_shapes(a.shape[:-2], b.shape[:-2]) + (a.shape[-2], b.shape[-1])
    return np.matmul(a, b, out=buffer(ws, name, shape, np.result_type(a, b)))


def _project(x, W_x, b, ws=None):
    """x (K or 1, T, N, D) -> x_t W_x^T + b for every run and step, (K, T, N, G): one matmul."""
    K1, T, N, D = x.shape
    K, G = W_x.shape[0], W_x.shape[1]
    xw = buffer(ws, "xw", (K, T, N, G), np.result_type(x, W_x))
    np.matmul(x.reshape(K1, T * N, D), np.ascontiguousarray(_T(W_x)), out=xw.reshape(K, T * N, G))
    xw += b[:, None, None, :]
    return xw


# ----------------------------------------------------------------------------------------
# Stacked sequence passes
# ----------------------------------------------------------------------------------------

def _apply(act, a, out):
    """out[...] = act.f(a) (tanh, relu and linear without a temporary)."""
    if act.name == "tanh":
        np.tanh(a, out=out)
    elif act.name == "relu":
        np.maximum(a, 0, out=out)
    else:
        out[...] = a if act.name == "linear" else act.f(a)


def _elman_forward(x, F, act, ws):
    """elman._step for all runs and steps, one matmul per step: the step's inputs sit in
    one row z_t = [h_{t-1}, x_t, 1] of Z (K, T + 1, N, H + D + 1), so that
    a_t = z_t [W_h, W_x, b]^T (the sum xw_t + h_{t-1} W_h^T of elman._step in one product),
    then h_t = f(a_t) goes into the next row. Returns Z; Z[..., :H] is hs (K, T + 1, N, H)
    with hs[:, 0] = 0, and the weight gradients are one product with Z's rows. Z's constant
    parts (h_0 = 0, the column of ones) are written when its workspace buffer is made."""
    K1, T, N, D = x.shape
    K, H = F["W_h"].shape[0], F["W_h"].shape[-1]
    shape, dtype = (K, T + 1, N, H + D + 1), np.result_type(x, F["W_h"])
    fresh = ws is None or ("Z", shape, np.dtype(dtype).char) not in ws
    Z = buffer(ws, "Z", shape, dtype)
    if fresh:                                         # its constant parts, once per buffer
        Z[:, 0, :, :H] = 0
        Z[:, :T, :, -1] = 1
    Z[:, :T, :, H:H + D] = x
    Wc = np.concatenate([_T(F["W_h"]), _T(F["W_x"]), F["b"][:, None, :]], axis=1)  # (K, C, H)
    m = buffer(ws, "a", (K, N, H), Z.dtype)
    for t in range(T):
        np.matmul(Z[:, t], Wc, out=m)                 # a_t, in a contiguous buffer
        _apply(act, m, Z[:, t + 1, :, :H])            # h_t, straight into the next row
    return Z


def _elman_backward(dh, hs, W_h, act, truncate, keep_g, ws):
    """elman._step_back for all runs, in place. Returns (das (K, T, N, H) = dL/da_t,
    g_all (K, T, N, H) = the total dL/dh_t of every step, or None unless keep_g)."""
    K, T1, N, H = hs.shape
    T = T1 - 1
    das = elman._df_from_out(act, hs[:, 1:], buffer(ws, "da", (K, T, N, H), hs.dtype))
    g_all = buffer(ws, "g", (K, T, N, H), hs.dtype) if keep_g else None
    carry = buffer(ws, "carry", (K, N, H), hs.dtype)
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


def _sigmoid(a):
    """a[...] = sequence.sigmoid_raw(a) = 1 / (1 + e^-a) in place, the same operations."""
    np.negative(a, out=a)
    np.exp(a, out=a)
    a += 1
    np.divide(1, a, out=a)


def _lstm_forward(x, F, ws):
    """lstm._step for all runs and steps, in place and the same operations (equal bit for
    bit): z_t = xw_t +
    h_{t-1} W_h^T in the projection's array, then [f, i, o] = sigmoid, C~ = tanh there too,
    C_t = f C_{t-1} + i C~, h_t = o tanh C_t. Returns (hs, cs (K, T + 1, N, H), gates
    (K, T, N, 4H) holding [f, i, o, C~] of every step, tcs (K, T, N, H) = tanh C_t)."""
    W_h = F["W_h"]
    H = W_h.shape[-1]
    gates = _project(x, F["W_x"], F["b"], ws)
    K, T, N, _ = gates.shape
    hs, cs = (buffer(ws, n, (K, T + 1, N, H), gates.dtype) for n in ("hs", "cs"))
    tcs = buffer(ws, "tcs", (K, T, N, H), gates.dtype)
    m, ig = buffer(ws, "hW", (K, N, 4 * H), gates.dtype), buffer(ws, "ig", (K, N, H), gates.dtype)
    hs[:, 0], cs[:, 0] = 0, 0
    W_hT = _T(W_h)
    for t in range(T):
        z = gates[:, t]
        if t:                                  # h_0 = 0: z_0 = xw_0 exactly
            np.matmul(hs[:, t], W_hT, out=m)
            z += m
        _sigmoid(z[..., :3 * H])
        np.tanh(z[..., 3 * H:], out=z[..., 3 * H:])
        f, i, o, g = (z[..., j * H:(j + 1) * H] for j in range(4))
        np.multiply(f, cs[:, t], out=cs[:, t + 1])
        np.multiply(i, g, out=ig)
        cs[:, t + 1] += ig
        tcs[:, t] = cs[:, t + 1]
        np.tanh(tcs[:, t], out=tcs[:, t])
        np.multiply(o, tcs[:, t], out=hs[:, t + 1])
    return hs, cs, gates, tcs


def _lstm_backward(dh, cache, W_h, truncate, ws):
    """lstm._step_back for all runs, in place and the same operations, with lstm._local's
    factors for a block of steps at once written where dL/dz_t then replaces them.
    Returns dzs (K, T, N, 4H) = dL/d[z_f, z_i, z_o, z_C] of every step."""
    ss, gs, tcs, cs = cache["ss"], cache["gs"], cache["tcs"], cache["cs"]
    K, T, N, H = gs.shape
    dzs = buffer(ws, "da", (K, T, N, 4 * H), gs.dtype)
    ch, cc, dc = (buffer(ws, n, (K, N, H), gs.dtype) for n in ("ch", "cc", "dc"))
    ch[...], cc[...] = 0, 0
    for t0, t1 in sequence.blocks(T, K * N * 4 * H * gs.itemsize):       # the last block first
        A, _ = lstm._local(ss[:, t0:t1], gs[:, t0:t1], tcs[:, t0:t1], cs[:, t0:t1],
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


def _forward(mod, opts, x, F, ws=None):
    """All runs' forward pass. x (K or 1, T, N, D) -> (h (K, T, N, H), cache).
    ws: a workspace dict (see buffer); h and the cache are then valid until the next call."""
    W_h = F["W_h"]
    H = W_h.shape[-1]
    with np.errstate(over="ignore", invalid="ignore"):        # divergence is found per run later
        if mod is elman:
            act = activations.ACTIVATIONS[opts["activation"]]
            Z = _elman_forward(x, F, act, ws)
            hs = Z[..., :H]
            return hs[:, 1:], {"x": x, "hs": hs, "Z": Z, "act": act}
        if mod is lstm:
            hs, cs, gates, tcs = _lstm_forward(x, F, ws)
            return hs[:, 1:], {"x": x, "hs": hs, "cs": cs, "ss": gates[..., :3 * H],
                               "gs": gates[..., 3 * H:], "tcs": tcs}
        gates = _project(x, F["W_x"], F["b"], ws)             # xw_t until step t reads it
        K, T, N, _ = gates.shape
        hs = buffer(ws, "hs", (K, T + 1, N, H), gates.dtype)  # hs[:, 0] = h_0 = 0, hs[:, t+1] = h_t
        hs[:, 0] = 0
        sig = sequence.sigmoid_raw                                 # inside np.errstate already
        step = gru.STEPS[opts["form"]][0]
        b_h = F["b_h"][:, None, :] if "b_h" in F else None
        ss, ns = gates[..., :2 * H], gates[..., 2 * H:]
        ms = buffer(ws, "ms", (K, T, N, H), gates.dtype)
        for t in range(T):
            hs[:, t + 1], (ss[:, t], ns[:, t], ms[:, t]) = step(gates[:, t], hs[:, t], W_h, b_h, sig)
        return hs[:, 1:], {"x": x, "hs": hs, "ss": ss, "ns": ns, "ms": ms}


def _weight_grads(ws, da, h_prev, x):
    """{"W_h": da^T h_prev, "W_x": da^T x, "b": sum da} per run, from (K, T*N, .) rows."""
    return {"W_h": _matmul(ws, "gW_h", _T(da), h_prev), "W_x": _matmul(ws, "gW_x", _T(da), x),
            "b": np.sum(da, axis=1, out=buffer(ws, "gb", (da.shape[0], da.shape[2]), da.dtype))}


def _backward(mod, opts, dh, cache, F, truncate, keep_g=False, ws=None):
    """All runs' BPTT. dh {t: (K, N, H)} -> (grads like F, g) where g (K, T, N, H) holds the
    total dL/dh_t of every step (keep_g, Elman only: what Omega holds constant) or None.
    With a workspace the gradients are its buffers, valid until the next call."""
    x, hs, W_h = cache["x"], cache["hs"], F["W_h"]
    K, T1, N, H = hs.shape
    T = T1 - 1
    with np.errstate(over="ignore", invalid="ignore"):
        if mod is elman:
            das, g_all = _elman_backward(dh, hs, W_h, cache["act"], truncate, keep_g, ws)
            Z = cache["Z"]
            z_rows = Z.reshape(K, T1 * N, Z.shape[-1])[:, :T * N]   # [h_{t-1}, x_t, 1] rows
            G = _matmul(ws, "gZ", _T(_rows(das)), z_rows)             # (K, H, H + D + 1)
            D = x.shape[-1]
            return {"W_h": G[..., :H], "W_x": G[..., H:H + D], "b": G[..., -1]}, g_all
        h_prev = _rows(hs[:, :-1])                             # h_{t-1} rows, a view
        x_rows = _rows(x)
        zero = np.zeros((K, N, H), hs.dtype)
        if mod is lstm:
            dzs = _lstm_backward(dh, cache, W_h, truncate, ws)
            return _weight_grads(ws, _rows(dzs), h_prev, x_rows), None
        form = opts["form"]
        _, local, back = gru.STEPS[form]
        ss, ns, ms = cache["ss"], cache["ns"], cache["ms"]
        das_x = buffer(ws, "da", (K, T, N, 3 * H), hs.dtype)
        das_h = das_x if form == "sources" else buffer(ws, "da_h", (K, T, N, 3 * H), hs.dtype)
        carry = zero
        for t0, t1 in sequence.blocks(T, K * N * 3 * H * hs.itemsize):     # the last block first
            K_x, K_h, P = local(hs[:, t0:t1], (ss[:, t0:t1], ns[:, t0:t1], ms[:, t0:t1]))
            for t in range(t1 - 1, t0 - 1, -1):
                g = dh.get(t)
                j = t - t0
                das_x[:, t], das_h[:, t], carry = back(carry if g is None else carry + g,
                                                       (K_x[:, j], K_h[:, j], P[:, j]), W_h)
                if sequence.cut(t, truncate):
                    carry = zero
        da_x, da_h = _rows(das_x), _rows(das_h)
        grads = {"W_x": _matmul(ws, "gW_x", _T(da_x), x_rows), "b": da_x.sum(axis=1)}
        if form == "sources":     # the candidate's recurrent input is r * h_{t-1}, not h_{t-1}
            grads["W_h"] = np.concatenate([_T(da_h[..., :2 * H]) @ h_prev,
                                           _T(da_h[..., 2 * H:]) @ _rows(ms)], axis=-2)
        else:
            grads["W_h"], grads["b_h"] = _matmul(ws, "gW_h", _T(da_h), h_prev), da_h.sum(axis=1)
        return {k: grads[k] for k in F if k in grads}, None
