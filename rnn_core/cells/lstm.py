"""LSTM with a forget gate: gates read the concatenation [h_{t-1}; x_t].

    f_t = sigmoid(W_f [h_{t-1}; x_t] + b_f)      forget gate
    i_t = sigmoid(W_i [h_{t-1}; x_t] + b_i)      input gate
    o_t = sigmoid(W_o [h_{t-1}; x_t] + b_o)      output gate
    C~_t = tanh(W_C [h_{t-1}; x_t] + b_C)        candidate
    C_t = f_t * C_{t-1} + i_t * C~_t,   h_t = o_t * tanh(C_t)

Shapes (batch-first, as everywhere in rnn_core): x (N, T, D), h (N, T, H), one step's
x_t (N, D); every W_[.] is (H, H + D), with columns [:H] acting on h_{t-1} and [H:] on
x_t; every b_[.] is (H,). The state is a dict {"h": (N, H), "c": (N, H)}.

The direct path dC_t/dC_{t-1} = diag(f_t) is the constant error carousel: while f_t stays
near 1 the cell carries its gradient across many steps without the repeated factor
diag(f'(a)) W_h that makes an Elman RNN's gradient vanish. Hochreiter & Schmidhuber's 1997
cell had no forget gate (f_t = 1 always); Gers et al. added it in 2000.

Inside, the four gates are stacked in the order (f, i, o, C) into one (4H, H + D) matrix,
so a step costs one (4H, H) matmul and all input projections are one matmul before the
loop. Same interface as elman.py (cells/__init__.py lists the cells).
"""
import functools

import numpy as np

from .. import init
from ..validate import check_array, check_params, check_sequence, check_int, check_state

STATE_KEYS = ("h", "c")
GATES = ("f", "i", "o", "C")   # stacking order: the three sigmoid gates, then the tanh candidate


def param_shapes(D, H):
    """The parameter dict's keys and shapes."""
    HD = None if D is None or H is None else H + D
    return {f"{p}_{g}": (H, HD) if p == "W" else (H,) for g in GATES for p in "Wb"}


def init_params(D, H, seed=0, forget_bias=1.0, dtype=np.float64):
    """Parameters for input size D and hidden size H.

    Each W_[.]: an orthogonal h-part and an N(0, 1/D) x-part. b_f = forget_bias, other
    biases 0. A positive forget bias opens the forget gate (f ~ sigmoid(1) = 0.73) at the
    start of training, so the carousel keeps the cell and its gradient from the first step
    instead of having to learn to remember.
    """
    D = check_int("D", D, low=1)
    H = check_int("H", H, low=1)
    if not np.isfinite(forget_bias):
        raise ValueError(f"forget_bias: expected a finite number, received {forget_bias}")
    params = {}
    for j, g in enumerate(GATES):
        params["W_" + g] = np.concatenate([init.orthogonal(H, seed + 2 * j, dtype),
                                           init.gaussian((H, D), 1 / np.sqrt(D), seed + 2 * j + 1, dtype)],
                                          axis=1)
        params["b_" + g] = np.full(H, forget_bias if g == "f" else 0.0, dtype)
    return params


def _check(params):
    """Validate the parameter dict; returns (D, H, dtype) read off W_f."""
    W = params.get("W_f") if isinstance(params, dict) else None
    ok = isinstance(W, np.ndarray) and W.ndim == 2 and 0 < W.shape[0] < W.shape[1]
    H, D = (W.shape[0], W.shape[1] - W.shape[0]) if ok else (None, None)
    dtype = check_params("params", params, param_shapes(D, H))
    if not ok:
        raise ValueError(f"params['W_f']: expected shape (H, H + D) with H, D >= 1, received {W.shape}")
    return D, H, dtype


def _stack(params, H):
    """The four gates as one matrix: returns W_h-part (4H, H), W_x-part (4H, D), b (4H,)."""
    W = np.concatenate([params["W_" + g] for g in GATES])   # (4H, H + D)
    b = np.concatenate([params["b_" + g] for g in GATES])
    return W[:, :H], W[:, H:], b


def _cell(z, c_prev, c, tc, h):
    """One step's gates, in place. On entry z (N, 4H) holds the pre-activations; on return
    it holds z = [f, i, o, C~], and C_t, tanh(C_t) and h_t are written into c, tc, h (N, H).

    All four gates take one exp: tanh(a) = 2 sigmoid(2a) - 1, and sigmoid = 1 / (1 + e^-a).
    float64 np.tanh has no SIMD path on most CPUs and costs twice an exp; this form has
    an absolute error of about 1e-16 (e^-a = inf is the exact limit).
    """
    H = c_prev.shape[1]
    z *= _gate_scale(H, z.dtype)                                # -a for the gates, -2a for C~
    with np.errstate(over="ignore"):
        np.exp(z, out=z)
        z += 1.0
        np.reciprocal(z, out=z)                                 # sigmoid(a), sigmoid(2a)
        g = z[:, 3 * H:]
        g *= 2.0
        g -= 1.0                                                # tanh(a) for the candidate
        np.multiply(z[:, :H], c_prev, out=c)                    # C_t = f C_{t-1} + i C~
        c += z[:, H:2 * H] * g
        np.multiply(c, -2.0, out=tc)                            # tanh(C_t), through one exp
        np.exp(tc, out=tc)
    tc += 1.0
    np.divide(2.0, tc, out=tc)
    tc -= 1.0
    np.multiply(z[:, 2 * H:3 * H], tc, out=h)                   # h_t = o tanh(C_t)


@functools.lru_cache(maxsize=None)
def _gate_scale(H, dtype):
    """[-1 (3H), -2 (H)]: the factor that turns a (N, 4H) into the exponents of _cell."""
    return np.concatenate([np.full(3 * H, -1.0), np.full(H, -2.0)]).astype(dtype)


def _cell_back(dh, dc, z, c_prev, tc):
    """Backward of _cell: dL/dh_t and dL/dC_t (N, H) -> (dL/da (N, 4H), dL/dC_{t-1})."""
    H = dh.shape[1]
    f, i, o, g = np.split(z, 4, axis=1)
    dc = dc + dh * o * (1 - tc * tc)
    dz = np.concatenate([dc * c_prev, dc * g, dh * tc, dc * i], axis=1)      # d[f, i, o, C~]
    s = z[:, :3 * H]
    da = dz * np.concatenate([s * (1 - s), 1 - g * g], axis=1)               # sigmoid', tanh'
    return da, dc * f                                                         # the carousel: diag(f_t)


def step_forward(x_t, state, params):
    """One step. x_t (N, D), state {"h", "c": (N, H)} -> (state {"h": h_t, "c": C_t}, cache)."""
    D, H, dtype = _check(params)
    check_array("x_t", x_t, (None, D), dtype)
    h_prev, c_prev = check_state("state", state, _shapes(x_t.shape[0], H), dtype)
    W_h, W_x, b = _stack(params, H)
    z = x_t @ W_x.T + h_prev @ W_h.T + b
    c, tc, h = (np.empty_like(c_prev) for _ in range(3))
    _cell(z, c_prev, c, tc, h)
    return {"h": h, "c": c}, (x_t, h_prev, c_prev, z, tc, W_h, W_x)


def step_backward(dstate, cache):
    """Backward of one step. dstate {"h", "c": (N, H)} -> (dx_t, {"h", "c": dL/d(state_prev)}, grads)."""
    x_t, h_prev, c_prev, z, tc, W_h, W_x = cache
    dh, dc = check_state("dstate", dstate, _shapes(*h_prev.shape), h_prev.dtype)
    da, dc_prev = _cell_back(dh, dc, z, c_prev, tc)
    return da @ W_x, {"h": da @ W_h, "c": dc_prev}, _grads(da, np.concatenate([h_prev, x_t], axis=1))


def forward(x, state0, params):
    """Run the LSTM over a sequence. x (N, T, D), state0 {"h", "c": (N, H)}.

    Returns h (N, T, H), the final state {"h", "c": (N, H)} and the cache for backward.
    The input projection of all four gates for all steps is one matmul (time-major, so
    each step reads a contiguous block); the loop keeps only h @ W_h.T with the stacked
    (4H, H) matrix, and _cell writes the gates and states in place, into the cache's arrays.
    """
    D, H, dtype = _check(params)
    N, T, _ = check_sequence("x", x, D, dtype)
    h, c = check_state("state0", state0, _shapes(N, H), dtype)
    W_h, W_x, b = _stack(params, H)
    xw = (x.transpose(1, 0, 2).reshape(T * N, D) @ W_x.T + b).reshape(T, N, 4 * H)
    zs = np.empty((T, N, 4 * H), dtype)
    cs, tcs, hs = (np.empty((T, N, H), dtype) for _ in range(3))
    W_hT = W_h.T
    for t in range(T):
        np.matmul(h, W_hT, out=zs[t])
        zs[t] += xw[t]
        _cell(zs[t], c, cs[t], tcs[t], hs[t])
        h, c = hs[t], cs[t]
    cache = {"x": x, "h0": state0["h"], "c0": state0["c"], "zs": zs, "cs": cs, "tcs": tcs,
             "hs": hs, "W_h": W_h, "W_x": W_x}
    return hs.transpose(1, 0, 2), {"h": hs[-1].copy(), "c": cs[-1].copy()}, cache


def backward(dh, cache, dstate_T=None, truncate=None):
    """BPTT. dh (N, T, H) holds dL/dh_t from the losses (zeros where a step has none).

    dstate_T: optional {"h", "c": (N, H)}, gradients arriving at the final state.
    truncate=k: gradients do not cross the boundaries of windows [0,k), [k,2k), ... (both
    the h and the C carry are cut); k >= T is full BPTT.
    Returns dx (N, T, D), dstate0 {"h", "c": (N, H)} and grads keyed like params.
    The step is _cell_back's, split in two: the factors that do not depend on the carries
    are computed for all steps at once, so the loop keeps 8 small operations per step.
    """
    x, hs, cs, zs, tcs, W_h = (cache[key] for key in ("x", "hs", "cs", "zs", "tcs", "W_h"))
    T, N, H = hs.shape
    D = x.shape[2]
    check_array("dh", dh, (N, T, H), hs.dtype)
    k = T if truncate is None else check_int("truncate", truncate, low=1)
    if dstate_T is None:
        carry_h, carry_c = np.zeros((N, H), hs.dtype), np.zeros((N, H), hs.dtype)
    else:
        ch, cc = check_state("dstate_T", dstate_T, _shapes(N, H), hs.dtype)
        carry_h, carry_c = ch.copy(), cc.copy()
    c_prev = np.concatenate([cache["c0"][None], cs[:-1]])   # (T, N, H)
    f, i, o, g = (zs[..., j * H:(j + 1) * H] for j in range(4))
    # Everything that does not depend on the carries, for all steps at once:
    # dct = dht * A + carry_c; da = [dct, dct, dht, dct] * B
    A = 1.0 - tcs * tcs
    A *= o
    das = np.empty_like(zs)
    Bf, Bi, Bo, Bg = (das[..., j * H:(j + 1) * H] for j in range(4))
    for B, s, other in ((Bf, f, c_prev), (Bi, i, g), (Bo, o, tcs)):
        np.subtract(1.0, s, out=B)
        B *= s                                                 # sigmoid'(a) = s (1 - s)
        B *= other                                             # times C_{t-1}, C~, tanh(C_t)
    np.multiply(g, g, out=Bg)
    np.subtract(1.0, Bg, out=Bg)                               # tanh'(a) = 1 - C~^2
    Bg *= i
    dh_tm = dh.transpose(1, 0, 2)
    dht = np.empty((N, H), hs.dtype)
    dct = np.empty((N, H), hs.dtype)
    for t in range(T - 1, -1, -1):
        np.add(dh_tm[t], carry_h, out=dht)
        np.multiply(A[t], dht, out=dct)
        dct += carry_c
        da3 = das[t].reshape(N, 4, H)
        da3[:, :2] *= dct[:, None]
        da3[:, 2] *= dht
        da3[:, 3] *= dct
        np.matmul(das[t], W_h, out=carry_h)
        np.multiply(dct, f[t], out=carry_c)                     # the carousel: diag(f_t)
        if t % k == 0 and t > 0:                             # window boundary: cut both carries
            carry_h[...] = 0.0
            carry_c[...] = 0.0
    h_prev = np.concatenate([cache["h0"][None], hs[:-1]])    # (T, N, H)
    hx = np.concatenate([h_prev, x.transpose(1, 0, 2)], axis=2).reshape(T * N, H + D)  # [h_{t-1}; x_t]
    da2 = das.reshape(T * N, 4 * H)
    dx = (da2 @ cache["W_x"]).reshape(T, N, D).transpose(1, 0, 2)
    return np.ascontiguousarray(dx), {"h": carry_h, "c": carry_c}, _grads(da2, hx)


def _grads(da, hx):
    """All weight gradients in one matmul. da (M, 4H), hx = [h_{t-1}; x_t] (M, H + D) -> grads."""
    grads = {}
    for g, dW, db in zip(GATES, np.split(da.T @ hx, 4), np.split(da.sum(axis=0), 4)):
        grads["W_" + g], grads["b_" + g] = dW, db          # (H, H + D), (H,)
    return grads


def _shapes(N, H):
    """Shapes of the state dict {"h", "c"}."""
    return {"h": (N, H), "c": (N, H)}
