"""K models of one cell as one stacked computation: their parameters and sequence passes.

Parameters of K runs are stacked along a leading axis, the gates of each run in one matrix
as the cells stack them internally: W_h (K, G, H), W_x (K, G, D), b (K, G) (and the cuDNN
GRU's b_h (K, G)), plus the affine readout W_y (K, O, H), b_y (K, O). fuse and unfuse
convert between a cell's params dicts and this layout. Inside a pass arrays are
(K, T, N, .): run-major, time-major within a run, so that hs[:, t] is one contiguous
(N, H) block per run and the weight gradients are one matmul over each run's T*N rows.
Every cell's recurrence is its own step functions, which accept stacked weights under
np.matmul broadcasting: the Elman RNN's recurrence and carry, the LSTM's, the GRU's
gru.STEPS[form]. The Elman RNN, the LSTM and the GRU in the sources' form also have a fast
form, parallel_fast (in place, allocating nothing per step), one visible branch in forward
(fast=True), tested equal.
parallel_loss.py adds the readout, the losses and the gradients; multirun.fit_many trains.
"""
import numpy as np

from ...nn import activations
from ...cells import sequence, elman, gru, lstm
from . import parallel_fast

CELLS = {"rnn": elman, "lstm": lstm, "gru": gru}      # the cells fit_many trains


# ----------------------------------------------------------------------------------------
# Parameters: a cell's dicts <-> the stacked gate layout (K, G, .)
# ----------------------------------------------------------------------------------------

def fuse(mod, opts, p):
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


def unfuse(mod, opts, f, r):
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


def stack(trees):
    """K dicts of arrays with one structure -> one dict of stacked (K, ...) arrays."""
    return {k: np.stack([t[k] for t in trees]) for k in trees[0]}


# ----------------------------------------------------------------------------------------
# Workspace and layout helpers
# ----------------------------------------------------------------------------------------

def transposed(a):
    return np.swapaxes(a, -1, -2)


def rows(a):
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


def matmul(ws, name, a, b):
    """a @ b into a workspace buffer (np.matmul's own result shape and dtype)."""
    shape = np.broadcast_shapes(a.shape[:-2], b.shape[:-2]) + (a.shape[-2], b.shape[-1])
    return np.matmul(a, b, out=buffer(ws, name, shape, np.result_type(a, b)))


def project(x, W_x, b, ws=None):
    """x (K or 1, T, N, D) -> x_t W_x^T + b for every run and step, (K, T, N, G): one matmul."""
    K1, T, N, D = x.shape
    K, G = W_x.shape[0], W_x.shape[1]
    xw = buffer(ws, "xw", (K, T, N, G), np.result_type(x, W_x))
    np.matmul(x.reshape(K1, T * N, D), np.ascontiguousarray(transposed(W_x)), out=xw.reshape(K, T * N, G))
    xw += b[:, None, None, :]
    return xw


# ----------------------------------------------------------------------------------------
# Stacked sequence passes
# ----------------------------------------------------------------------------------------

# The plain passes: loops over the cells' own steps (stacked weights broadcast in matmul)
recurrence, carry = elman.recurrence, elman.carry
lstm_recurrence, lstm_carry = lstm.recurrence, lstm.carry
lstm_local = lstm.carry_factors               # the LSTM carry's factors A, B of all steps


def elman_forward(x, F, act, ws):
    """The Elman RNN of all runs: h_t = recurrence(xw_t, h_{t-1}, W_h, f) per step.
    Returns hs (K, T + 1, N, H) with hs[:, 0] = h_0 = 0."""
    xw = project(x, F["W_x"], F["b"], ws)                     # (K, T, N, H)
    K, T, N, H = xw.shape
    hs = buffer(ws, "hs", (K, T + 1, N, H), xw.dtype)
    hs[:, 0] = 0
    for t in range(T):
        hs[:, t + 1] = recurrence(xw[:, t], hs[:, t], F["W_h"], act.f)
    return hs


def elman_backward(dh, hs, W_h, act, truncate, keep_g, ws):
    """BPTT of all runs: (da_t, dh_{t-1}) = carry(dL/dh_t, f'(a_t), W_h) per step. Returns
    (das (K, T, N, H) = dL/da_t, g_all (K, T, N, H) = the total dL/dh_t, or None)."""
    K, T1, N, H = hs.shape
    T = T1 - 1
    dfa = act.df_from_out(hs[:, 1:])                          # f'(a_t) from h_t
    das = buffer(ws, "da", (K, T, N, H), hs.dtype)
    g_all = buffer(ws, "g", (K, T, N, H), hs.dtype) if keep_g else None
    g_t = np.zeros((K, N, H), hs.dtype)                       # dL/dh_t, carried back
    for t in range(T - 1, -1, -1):
        if t in dh:
            g_t = g_t + dh[t]
        if keep_g:
            g_all[:, t] = g_t
        das[:, t], g_t = carry(g_t, dfa[:, t], W_h)
        if sequence.cut(t, truncate):
            g_t = np.zeros_like(g_t)
    return das, g_all


def lstm_forward(x, F, ws):
    """The LSTM of all runs: lstm_recurrence per step. Returns (hs, cs (K, T + 1, N, H),
    gates (K, T, N, 4H) holding [f, i, o, C~] of every step, tcs (K, T, N, H) = tanh C_t)."""
    xw = project(x, F["W_x"], F["b"], ws)                     # (K, T, N, 4H)
    K, T, N, G = xw.shape
    H = G // 4
    hs, cs = (buffer(ws, n, (K, T + 1, N, H), xw.dtype) for n in ("hs", "cs"))
    gates, tcs = buffer(ws, "gates", (K, T, N, G), xw.dtype), buffer(ws, "tcs", (K, T, N, H), xw.dtype)
    hs[:, 0], cs[:, 0] = 0, 0
    for t in range(T):
        hs[:, t + 1], cs[:, t + 1], (s, g, tcs[:, t]) = lstm_recurrence(xw[:, t], hs[:, t],
                                                                        cs[:, t], F["W_h"])
        gates[:, t, :, :3 * H], gates[:, t, :, 3 * H:] = s, g
    return hs, cs, gates, tcs


def lstm_backward(dh, cache, W_h, truncate, ws):
    """BPTT of all runs: lstm_carry per step, with lstm_local's factors of all steps.
    Returns dzs (K, T, N, 4H) = dL/d[z_f, z_i, z_o, z_C] of every step."""
    ss, gs, tcs, cs = cache["ss"], cache["gs"], cache["tcs"], cache["cs"]
    K, T, N, H = gs.shape
    A, B = lstm_local(ss, gs, tcs, cs[:, :-1])
    dzs = buffer(ws, "da", (K, T, N, 4 * H), gs.dtype)
    ch, cc = np.zeros((K, N, H), gs.dtype), np.zeros((K, N, H), gs.dtype)
    for t in range(T - 1, -1, -1):
        if t in dh:
            ch = ch + dh[t]
        dzs[:, t], ch, cc = lstm_carry(ch, cc, A[:, t], B[:, t], ss[:, t, :, :H], W_h)
        if sequence.cut(t, truncate):
            ch, cc = np.zeros_like(ch), np.zeros_like(cc)
    return dzs


def gru_backward(dh, hs, caches, W_h, truncate, form, das_x, das_h):
    """BPTT of all runs: gru.STEPS[form]'s carry per step, with its carry factors for a
    block of steps at once. Writes dL/da_t of every step into das_x (the x-side) and das_h
    (the h-side; the same array in the sources' form)."""
    ss, ns, ms = caches
    K, T, N, H = ns.shape
    _, local, back = gru.STEPS[form]
    zero = np.zeros((K, N, H), hs.dtype)
    g_t = zero                                     # dL/dh_t, carried back
    for t0, t1 in sequence.blocks(T, K * N * 3 * H * hs.itemsize):     # the last block first
        K_x, K_h, P = local(hs[:, t0:t1], (ss[:, t0:t1], ns[:, t0:t1], ms[:, t0:t1]))
        for t in range(t1 - 1, t0 - 1, -1):
            g = dh.get(t)
            j = t - t0
            das_x[:, t], das_h[:, t], g_t = back(g_t if g is None else g_t + g,
                                                 (K_x[:, j], K_h[:, j], P[:, j]), W_h)
            if sequence.cut(t, truncate):
                g_t = zero


def forward(mod, opts, x, F, ws=None, fast=True):
    """All runs' forward pass. x (K or 1, T, N, D) -> (h (K, T, N, H), cache).
    ws: a workspace dict (see buffer); h and the cache are then valid until the next call.
    fast: the Elman RNN's, the LSTM's and the sources' GRU's in-place passes
    (parallel_fast), tested equal to the plain loops over their steps here."""
    W_h = F["W_h"]
    H = W_h.shape[-1]
    with np.errstate(over="ignore", invalid="ignore"):        # divergence is found per run later
        if mod is elman:
            act = activations.ACTIVATIONS[opts["activation"]]
            if fast:
                Z = parallel_fast.elman_forward(x, F, act, ws)
                hs = Z[..., :H]
            else:
                hs, Z = elman_forward(x, F, act, ws), None
            return hs[:, 1:], {"x": x, "hs": hs, "Z": Z, "act": act}
        if mod is lstm:
            hs, cs, gates, tcs = (parallel_fast.lstm_forward if fast else lstm_forward)(x, F, ws)
            return hs[:, 1:], {"x": x, "hs": hs, "cs": cs, "ss": gates[..., :3 * H],
                               "gs": gates[..., 3 * H:], "tcs": tcs, "fast": fast}
        if fast and opts["form"] == "sources":
            hs, gates, ms = parallel_fast.gru_forward(x, F, ws)
            return hs[:, 1:], {"x": x, "hs": hs, "ss": gates[..., :2 * H], "ns": gates[..., 2 * H:],
                               "ms": ms, "fast": True}
        gates = project(x, F["W_x"], F["b"], ws)              # xw_t until step t reads it
        K, T, N, _ = gates.shape
        hs = buffer(ws, "hs", (K, T + 1, N, H), gates.dtype)  # hs[:, 0] = h_0 = 0, hs[:, t+1] = h_t
        hs[:, 0] = 0
        sig = sequence.loop_sigmoid                                 # inside np.errstate already
        step = gru.STEPS[opts["form"]][0]
        b_h = F["b_h"][:, None, :] if "b_h" in F else None
        ss, ns = gates[..., :2 * H], gates[..., 2 * H:]
        ms = buffer(ws, "ms", (K, T, N, H), gates.dtype)
        for t in range(T):
            hs[:, t + 1], (ss[:, t], ns[:, t], ms[:, t]) = step(gates[:, t], hs[:, t], W_h, b_h, sig)
        return hs[:, 1:], {"x": x, "hs": hs, "ss": ss, "ns": ns, "ms": ms, "fast": False}


def weight_grads(ws, da, h_prev, x):
    """{"W_h": da^T h_prev, "W_x": da^T x, "b": sum da} per run, from (K, T*N, .) rows."""
    return {"W_h": matmul(ws, "gW_h", transposed(da), h_prev), "W_x": matmul(ws, "gW_x", transposed(da), x),
            "b": np.sum(da, axis=1, out=buffer(ws, "gb", (da.shape[0], da.shape[2]), da.dtype))}


def backward(mod, opts, dh, cache, F, truncate, keep_g=False, ws=None):
    """All runs' BPTT. dh {t: (K, N, H)} -> (grads like F, g) where g (K, T, N, H) holds the
    total dL/dh_t of every step (keep_g, Elman only: what Omega holds constant) or None.
    With a workspace the gradients are its buffers, valid until the next call."""
    x, hs, W_h = cache["x"], cache["hs"], F["W_h"]
    K, T1, N, H = hs.shape
    T = T1 - 1
    with np.errstate(over="ignore", invalid="ignore"):
        if mod is elman and cache["Z"] is not None:
            return parallel_fast.elman_backward(dh, cache, W_h, truncate, keep_g, ws)
        h_prev = rows(hs[:, :-1])                             # h_{t-1} rows, a view
        x_rows = rows(x)
        if mod is elman:
            das, g_all = elman_backward(dh, hs, W_h, cache["act"], truncate, keep_g, ws)
            return weight_grads(ws, rows(das), h_prev, x_rows), g_all
        if mod is lstm:
            back = parallel_fast.lstm_backward if cache["fast"] else lstm_backward
            return weight_grads(ws, rows(back(dh, cache, W_h, truncate, ws)), h_prev, x_rows), None
        form = opts["form"]
        ss, ns, ms = cache["ss"], cache["ns"], cache["ms"]
        das_x = buffer(ws, "da", (K, T, N, 3 * H), hs.dtype)
        das_h = das_x if form == "sources" else buffer(ws, "da_h", (K, T, N, 3 * H), hs.dtype)
        if cache["fast"]:                              # the sources' form only
            parallel_fast.gru_backward(dh, hs, (ss, ns, ms), W_h, truncate, das_x, ws)
        else:
            gru_backward(dh, hs, (ss, ns, ms), W_h, truncate, form, das_x, das_h)
        da_x, da_h = rows(das_x), rows(das_h)
        grads = {"W_x": matmul(ws, "gW_x", transposed(da_x), x_rows), "b": da_x.sum(axis=1)}
        if form == "sources":     # the candidate's recurrent input is r * h_{t-1}, not h_{t-1}
            grads["W_h"] = np.concatenate([transposed(da_h[..., :2 * H]) @ h_prev,
                                           transposed(da_h[..., 2 * H:]) @ rows(ms)], axis=-2)
        else:
            grads["W_h"], grads["b_h"] = matmul(ws, "gW_h", transposed(da_h), h_prev), da_h.sum(axis=1)
        return {k: grads[k] for k in F if k in grads}, None
