"""Elman RNN: a_t = W_h h_{t-1} + W_x x_t + b,  h_t = f(a_t).

Shapes (batch-first, as everywhere in rnn_core): x (N, T, D), h (N, T, H), one step's
x_t (N, D) and h_t (N, H); params W_h (H, H), W_x (H, D), b (H,). Code computes
h @ W_h.T because rows are batch items. The state is a dict {"h": (N, H)}.
OPTIONS: activation, one of activations.ACTIVATIONS (sigmoid, tanh, relu, linear).

The equations live in two private functions, which gradflow calls directly:
    _step(xw_t, h_prev, W_h, f) -> h_t
        xw_t = x_t W_x^T + b (..., N, H), h_prev (..., N, H), f the activation function;
        W_h (H, H) or stacked (..., H, H), broadcasting under np.matmul against h_prev.
    _step_back(dh_t, dfa_t, W_h) -> (da_t, dh_prev)
        dh_t = dL/dh_t and dfa_t = f'(a_t) (..., N, H); da_t = dL/da_t = dL/dxw_t.
Unchecked sequence versions for internal callers (layers, train, costs, regularizer):
    _forward(x, state0, params, opts) -> (h, state_T, cache)
        state0 a checked state dict (not None), opts = _options(opts), the full checked options dict.
    _backward(dh, cache, dstate_T, truncate) -> (dx, dstate0, grads)
        dh a dict {t: (N, H)} with 0 <= t < T (sequence.steps), dstate_T a dict or None.
The sequence cache is {"x", "h0" (N, H), "hs" (T, N, H) time-major, "h_prev" (T, N, H),
"params", "act", "das"}; h0, hs and h_prev are views of one (T+1, N, H) array; "das" (T, N, H)
is the backward's workspace for dL/da_t, taken from the same allocation when the two make
one buffer over 4 MiB (sequence.HUGE_BYTES: it gets huge pages instead of a page fault per
4 KiB), else empty (0, N, H) and the backward allocates its own; each backward overwrites
it and returns nothing that shares its memory.
"""
import numpy as np

from ..nn import activations, init, matrices
from ..validate import (check_array, check_int, check_options, check_params, check_sequence,
                        check_state, check_state0)
from . import sequence

STATE_KEYS = ("h",)
OPTIONS = {"activation": "tanh"}
CHOICES = {"activation": tuple(activations.ACTIVATIONS)}


def _options(opts):
    """opts checked against OPTIONS -> the full options dict (what the unchecked functions take)."""
    return check_options("elman", opts, OPTIONS, CHOICES)


def param_shapes(D, H, **opts):
    """The parameter dict's keys and shapes."""
    _options(opts)
    return {"W_h": (H, H), "W_x": (H, D), "b": (H,)}


def init_params(D, H, seed=0, dtype=np.float64, W_h="orthogonal", rho=1.0, x_std=None, **opts):
    """Parameters for input size D and hidden size H.

    W_h = matrices.family(W_h, H, rho, seed): a kind of matrices.KINDS ('orthogonal',
    'gaussian', 'nonnormal', 'symmetric', 'identity') at spectral radius rho;
    W_x ~ N(0, 1/D) (or x_std^2); b = 0.
    """
    _options(opts)
    D = check_int("D", D, low=1)
    H = check_int("H", H, low=1)
    x_std = 1.0 / np.sqrt(D) if x_std is None else x_std
    return {"W_h": matrices.family(W_h, H, rho, seed).astype(dtype),
            "W_x": init.gaussian((H, D), x_std, seed + 1, dtype),
            "b": np.zeros(H, dtype)}


def zero_state(N, H, dtype=np.float64, **opts):
    """The zero state {"h": (N, H)}."""
    _options(opts)
    return sequence.zero_state(STATE_KEYS, check_int("N", N, low=1), check_int("H", H, low=1), dtype)


# ----------------------------------------------------------------------------------------
# The equations, once
# ----------------------------------------------------------------------------------------

def _step(xw_t, h_prev, W_h, f):
    """a_t = xw_t + W_h h_{t-1},  h_t = f(a_t).  Any leading axes; returns h_t (..., N, H)."""
    return f(xw_t + h_prev @ W_h.swapaxes(-1, -2))


def _step_back(dh_t, dfa_t, W_h):
    """dL/da_t = dL/dh_t * f'(a_t),  dL/dh_{t-1} = dL/da_t W_h.  Returns (da_t, dh_prev)."""
    da = dh_t * dfa_t
    return da, da @ W_h


# ----------------------------------------------------------------------------------------
# One step
# ----------------------------------------------------------------------------------------

def _check(params):
    """Validate the parameter dict; returns (D, H, dtype) read off W_x."""
    W_x = params.get("W_x") if isinstance(params, dict) else None
    H, D = W_x.shape if isinstance(W_x, np.ndarray) and W_x.ndim == 2 else (None, None)
    dtype = check_params("params", params, {"W_h": (H, H), "W_x": (H, D), "b": (H,)})
    return D, H, dtype


def step_forward(x_t, state, params, **opts):
    """One step. x_t (N, D), state {"h": (N, H)} or None (zeros) -> (state {"h": h_t}, cache)."""
    opts = _options(opts)
    D, H, dtype = _check(params)
    check_array("x_t", x_t, (None, D), dtype)
    if state is None:
        state = sequence.zero_state(STATE_KEYS, x_t.shape[0], H, dtype)
    check_state("state", state, {"h": (x_t.shape[0], H)}, dtype)
    return _step_forward(x_t, state, params, opts)


def _step_forward(x_t, state, params, opts):
    """step_forward without checks. The cache holds f'(a_t), not the returned h_t."""
    act = activations.ACTIVATIONS[opts["activation"]]
    h = _step(x_t @ params["W_x"].T + params["b"], state["h"], params["W_h"], act.f)
    return {"h": h}, (x_t, state["h"].copy(), act.df_from_out(h), params)


def step_backward(dstate, cache):
    """Backward of one step. dstate {"h": dL/dh_t (N, H)} -> (dx_t, {"h": dh_prev}, grads)."""
    h_prev = cache[1]
    check_state("dstate", dstate, {"h": h_prev.shape}, h_prev.dtype)
    return _step_backward(dstate, cache)


def _step_backward(dstate, cache):
    """step_backward without checks."""
    x_t, h_prev, dfa, params = cache
    da, dh_prev = _step_back(dstate["h"], dfa, params["W_h"])
    grads = {"W_h": da.T @ h_prev, "W_x": da.T @ x_t, "b": da.sum(axis=0)}
    return da @ params["W_x"], {"h": dh_prev}, grads


# ----------------------------------------------------------------------------------------
# A sequence
# ----------------------------------------------------------------------------------------

def forward(x, state0, params, **opts):
    """Run the RNN over a sequence. x (N, T, D), state0 {"h": (N, H)} or None (zeros).

    Returns h (N, T, H), the final state {"h": (N, H)} and the cache for backward; h and
    the state are new arrays, so editing them cannot change what backward computes.
    """
    opts = _options(opts)
    D, H, dtype = _check(params)
    check_sequence("x", x, D, dtype)
    state0 = check_state0("state0", state0, STATE_KEYS, x, H, dtype)
    return _forward(x, state0, params, opts)


def _forward(x, state0, params, opts):
    """forward without checks: the input projection is one matmul, the loop is _step in place
    (tests/test_cells_inplace.py: equal to _step looped)."""
    act = activations.ACTIVATIONS[opts["activation"]]
    W_h = params["W_h"]
    N, T, _ = x.shape
    H = W_h.shape[0]
    # time-major hs[0] = h_0, hs[t+1] = h_t; das: the backward's workspace for dL/da_t, in the
    # same buffer when that makes it one allocation over 4 MiB (W1), which gets huge pages
    # instead of a fault per 4 KiB; small passes (truncated BPTT's windows) hold no workspace
    big = 2 * T * N * H * x.itemsize >= sequence.HUGE_BYTES
    hs, das = sequence.buffers(x.dtype, (T + 1, N, H), (T if big else 0, N, H))
    hs[0] = state0["h"]
    sequence.project(x, params["W_x"], params["b"], out=hs[1:])   # hs[t+1] holds xw_t until step t
    W_hT, hw = W_h.T, np.empty((N, H), x.dtype)
    with np.errstate(over="ignore", invalid="ignore"):        # checked once, after the loop
        for t in range(T):                                    # _step in place: hs[t+1] holds xw_t,
            np.matmul(hs[t], W_hT, out=hw)                    # then a_t = xw_t + h_{t-1} W_h^T,
            hs[t + 1] += hw
            if act.name == "tanh":                            # then h_t = f(a_t)
                np.tanh(hs[t + 1], out=hs[t + 1])
            else:
                hs[t + 1] = act.f(hs[t + 1])
    if not np.isfinite(hs[-1]).all():
        _overflow(hs[1:], W_h, act)
    cache = {"x": x, "h0": hs[0], "hs": hs[1:], "h_prev": hs[:-1], "params": params, "act": act,
             "das": das}
    return sequence.batch_first(hs[1:]), {"h": hs[-1].copy()}, cache


def _df_from_out(act, h, out):
    """out[...] = act.df_from_out(h): f'(a) from h = f(a), for all steps at once.

    tanh, the common case, writes 1 - h * h in place (the same operations, so the same bits):
    at W1 the two temporaries of (T, N, H) would cost a page fault per 4 KiB each.
    """
    if act.name == "tanh":
        np.multiply(h, h, out=out)
        np.subtract(1, out, out=out)
    else:
        out[...] = act.df_from_out(h)
    return out


def _overflow(hs, W_h, act):
    """Raise the error that names the first step whose state left the float range."""
    t = int(np.argmin(np.isfinite(hs).all(axis=(1, 2))))
    raise FloatingPointError(
        f"h: expected finite hidden states, received inf/NaN from step t = {t} on: the "
        f"{act.name} RNN grew beyond {hs.dtype} range over T = {len(hs)} steps (spectral "
        f"radius of W_h {np.max(np.abs(np.linalg.eigvals(W_h))):.3g}). Shorten T, shrink "
        f"W_h, or use rnn_core.gradflow, which works in log space")


def backward(dh, cache, dstate_T=None, truncate=None):
    """BPTT. dh: dL/dh_t as an (N, T, H) array, a dict {t: (N, H)} or None (see sequence).

    dstate_T: optional {"h": (N, H)}, a gradient arriving at the final state from later
    chunks. truncate=k: gradients do not cross the boundaries of windows [0,k), [k,2k), ...
    Returns dx (N, T, D), dstate0 {"h": (N, H)} and grads keyed like params.
    """
    T, N, H = cache["hs"].shape
    dtype = cache["hs"].dtype
    dh = sequence.check_upstream("dh", dh, N, T, H, dtype)
    if dstate_T is not None:
        check_state("dstate_T", dstate_T, {"h": (N, H)}, dtype)
    return _backward(dh, cache, dstate_T, sequence.check_truncate(truncate))


def _backward(dh, cache, dstate_T, truncate):
    """backward without checks: f'(a_t) for all steps into the workspace, then the loop is
    _step_back in place (tested equal to it); weight gradients are 3 matmuls."""
    x, hs, params, act = cache["x"], cache["hs"], cache["params"], cache["act"]
    T, N, H = hs.shape
    W_h = params["W_h"]
    das = cache["das"] if len(cache["das"]) else np.empty((T, N, H), hs.dtype)   # dL/da_t
    carry = np.zeros((N, H), hs.dtype) if dstate_T is None else dstate_T["h"].copy()
    _df_from_out(act, hs, out=das)           # f'(a_t) for every step, then dL/da_t in place
    for t in range(T - 1, -1, -1):           # _step_back in place, carry = dL/dh_t:
        g = dh.get(t)
        if g is not None:
            carry += g
        das[t] *= carry                      # dL/da_t = dL/dh_t * f'(a_t)
        np.matmul(das[t], W_h, out=carry)    # dL/dh_{t-1} = dL/da_t W_h
        if sequence.cut(t, truncate):
            carry[...] = 0.0
    da = sequence.rows(das)                                        # (T*N, H)
    grads = {"W_h": da.T @ sequence.rows(cache["h_prev"]),         # h_{t-1} for every t, a view
             "W_x": da.T @ sequence.x_rows(x),
             "b": da.sum(axis=0)}
    return sequence.backproject(das, params["W_x"]), {"h": carry}, grads
