"""Elman RNN: a_t = W_h h_{t-1} + W_x x_t + b,  h_t = f(a_t).

Shapes (batch-first, as everywhere in rnn_core): x (N, T, D), h (N, T, H), one step's
x_t (N, D) and h_t (N, H); params W_h (H, H), W_x (H, D), b (H,). Code computes
h @ W_h.T because rows are batch items. The state is a dict {"h": (N, H)}.
OPTIONS: activation, one of activations.ACTIVATIONS (sigmoid, tanh, relu, linear).

The equations live in two public functions, which never check their arguments:
    recurrence(xw_t, h_prev, W_h, f) -> h_t
        xw_t = W_x x_t + b (..., N, H), h_prev (..., N, H), f the activation function;
        W_h (H, H) or stacked (..., H, H), broadcasting under np.matmul against h_prev.
    carry(dh_t, dfa_t, W_h) -> (da_t, dh_prev)
        dh_t = dL/dh_t and dfa_t = f'(a_t) (..., N, H); da_t = dL/da_t = dL/dxw_t.
The sequence forward and backward are loops over them. forward, backward, step_forward and
step_backward check their arguments unless called with check=False (for internal callers
that already did: then state0 is a state dict, not None, and dh is in any of its forms).
Beside the plain loops, one branch runs cells/fast.py's form of the same loops where it is
measured faster (fast.elman_forward, tested equal to the plain loop).
The sequence cache is {"x", "h0" (N, H), "hs" (T, N, H) time-major, "h_prev" (T, N, H),
"params", "act", "ws"}; h0, hs and h_prev are views of one (T+1, N, H) array; "ws" is the
fast backward's workspace (None after the plain loop).
"""
import numpy as np

from ..nn import activations, init, matrices
from ..validate import (check_array, check_int, check_options, check_params, check_sequence,
                        check_state, check_state0)
from . import fast, sequence

STATE_KEYS = ("h",)
OPTIONS = {"activation": "tanh"}
CHOICES = {"activation": tuple(activations.ACTIVATIONS)}


def options(opts):
    """opts checked against OPTIONS -> the full options dict (what check=False calls take)."""
    return check_options("elman", opts, OPTIONS, CHOICES)




def param_shapes(D, H, **opts):
    """The parameter dict's keys and shapes."""
    options(opts)
    return {"W_h": (H, H), "W_x": (H, D), "b": (H,)}


def init_params(D, H, seed=0, dtype=np.float64, W_h="orthogonal", rho=1.0, x_std=None, **opts):
    """Parameters for input size D and hidden size H.

    W_h = matrices.family(W_h, H, rho, seed): a kind of matrices.KINDS ('orthogonal',
    'gaussian', 'nonnormal', 'symmetric', 'identity') at spectral radius rho;
    W_x ~ N(0, 1/D) (or x_std^2); b = 0.
    """
    options(opts)
    D = check_int("D", D, low=1)
    H = check_int("H", H, low=1)
    x_std = 1.0 / np.sqrt(D) if x_std is None else x_std
    return {"W_h": matrices.family(W_h, H, rho, seed).astype(dtype),
            "W_x": init.gaussian((H, D), x_std, seed + 1, dtype),
            "b": np.zeros(H, dtype)}


def zero_state(N, H, dtype=np.float64, **opts):
    """The zero state {"h": (N, H)}."""
    options(opts)
    return sequence.zero_state(STATE_KEYS, check_int("N", N, low=1), check_int("H", H, low=1), dtype)


# ----------------------------------------------------------------------------------------
# The equations, once
# ----------------------------------------------------------------------------------------

def recurrence(xw_t, h_prev, W_h, f):
    """The Elman step:  a_t = W_h h_{t-1} + W_x x_t + b,  h_t = f(a_t).

    xw_t = W_x x_t + b, computed for all steps before the loop. Any leading axes; returns
    h_t (..., N, H). Unchecked.
    """
    return f(xw_t + h_prev @ W_h.swapaxes(-1, -2))


def carry(dh_t, dfa_t, W_h):
    """BPTT's carry through one step:  dL/da_t = dL/dh_t * f'(a_t),  dL/dh_{t-1} = W_h^T dL/da_t.

    dfa_t = f'(a_t). Any leading axes; returns (da_t, dh_prev), both (..., N, H). Unchecked.
    """
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


def step_forward(x_t, state, params, check=True, **opts):
    """One step. x_t (N, D), state {"h": (N, H)} or None (zeros) -> (state {"h": h_t}, cache).

    check=False: nothing is checked, state is a state dict. The cache holds f'(a_t).
    """
    if not check:
        return _step_forward(x_t, state, params, {**OPTIONS, **opts})
    opts = options(opts)
    D, H, dtype = _check(params)
    check_array("x_t", x_t, (None, D), dtype)
    if state is None:
        state = sequence.zero_state(STATE_KEYS, x_t.shape[0], H, dtype)
    check_state("state", state, {"h": (x_t.shape[0], H)}, dtype)
    return _step_forward(x_t, state, params, opts)


def _step_forward(x_t, state, params, opts):
    """step_forward's body, unchecked (opts the full options dict)."""
    act = activations.ACTIVATIONS[opts["activation"]]
    h = recurrence(x_t @ params["W_x"].T + params["b"], state["h"], params["W_h"], act.f)
    return {"h": h}, (x_t, state["h"].copy(), act.df_from_out(h), params)


def step_backward(dstate, cache, check=True):
    """Backward of one step. dstate {"h": dL/dh_t (N, H)} -> (dx_t, {"h": dh_prev}, grads)."""
    if check:
        h_prev = cache[1]
        check_state("dstate", dstate, {"h": h_prev.shape}, h_prev.dtype)
    return _step_backward(dstate, cache)


def _step_backward(dstate, cache):
    """step_backward's body, unchecked."""
    x_t, h_prev, dfa, params = cache
    da, dh_prev = carry(dstate["h"], dfa, params["W_h"])
    grads = {"W_h": da.T @ h_prev, "W_x": da.T @ x_t, "b": da.sum(axis=0)}
    return da @ params["W_x"], {"h": dh_prev}, grads


# ----------------------------------------------------------------------------------------
# A sequence
# ----------------------------------------------------------------------------------------

def forward(x, state0, params, check=True, **opts):
    """Run the RNN over a sequence. x (N, T, D), state0 {"h": (N, H)} or None (zeros).

    Returns h (N, T, H), the final state {"h": (N, H)} and the cache for backward; h and
    the state are new arrays, so editing them cannot change what backward computes.
    check=False: nothing is checked, state0 is a state dict.
    """
    if not check:
        return _forward(x, state0, params, {**OPTIONS, **opts})
    opts = options(opts)
    D, H, dtype = _check(params)
    check_sequence("x", x, D, dtype)
    state0 = check_state0("state0", state0, STATE_KEYS, x, H, dtype)
    return _forward(x, state0, params, opts)


def _forward(x, state0, params, opts):
    """forward's body, unchecked: the input projection is one matmul, then a loop over recurrence."""
    act = activations.ACTIVATIONS[opts["activation"]]
    W_h = params["W_h"]
    N, T, _ = x.shape
    if fast.wanted("rnn", N, W_h.shape[0]):
        hs, ws = fast.elman_forward(x, state0["h"], params, act)
    else:
        xw = sequence.project(x, params["W_x"], params["b"])  # (T, N, H): W_x x_t + b
        hs = np.empty((T + 1, N, W_h.shape[0]), x.dtype)      # hs[0] = h_0, hs[t+1] = h_t
        hs[0] = state0["h"]
        ws = None
        with np.errstate(over="ignore", invalid="ignore"):    # checked once, after the loop
            for t in range(T):
                hs[t + 1] = recurrence(xw[t], hs[t], W_h, act.f)
    if not np.isfinite(hs[-1]).all():
        _overflow(hs[1:], W_h, act)
    cache = {"x": x, "h0": hs[0], "hs": hs[1:], "h_prev": hs[:-1], "params": params, "act": act,
             "ws": ws}
    return sequence.batch_first(hs[1:]), {"h": hs[-1].copy()}, cache


def _overflow(hs, W_h, act):
    """Raise the error that names the first step whose state left the float range."""
    t = int(np.argmin(np.isfinite(hs).all(axis=(1, 2))))
    raise FloatingPointError(
        f"h: expected finite hidden states, received inf/NaN from step t = {t} on: the "
        f"{act.name} RNN grew beyond {hs.dtype} range over T = {len(hs)} steps (spectral "
        f"radius of W_h {np.max(np.abs(np.linalg.eigvals(W_h))):.3g}). Shorten T, shrink "
        f"W_h, or use rnn_core.gradflow, which works in log space")


def backward(dh, cache, dstate_T=None, truncate=None, check=True):
    """BPTT. dh: dL/dh_t as an (N, T, H) array, a dict {t: (N, H)} or None (see sequence).

    dstate_T: optional {"h": (N, H)}, a gradient arriving at the final state from later
    chunks. truncate=k: gradients do not cross the boundaries of windows [0,k), [k,2k), ...
    Returns dx (N, T, D), dstate0 {"h": (N, H)} and grads keyed like params.
    check=False: nothing is checked.
    """
    T, N, H = cache["hs"].shape
    if not check:
        return _backward(sequence.steps(dh, T), cache, dstate_T, truncate)
    dtype = cache["hs"].dtype
    dh = sequence.check_upstream("dh", dh, N, T, H, dtype)
    if dstate_T is not None:
        check_state("dstate_T", dstate_T, {"h": (N, H)}, dtype)
    return _backward(dh, cache, dstate_T, sequence.check_truncate(truncate))


def _backward(dh, cache, dstate_T, truncate):
    """backward's body, unchecked (dh a dict {t: (N, H)}, 0 <= t < T): f'(a_t) for every
    step from h_t, then a loop over carry; the weight gradients are 3 matmuls after it."""
    x, hs, params, act = cache["x"], cache["hs"], cache["params"], cache["act"]
    T, N, H = hs.shape
    W_h = params["W_h"]
    dh_t = np.zeros((N, H), hs.dtype) if dstate_T is None else dstate_T["h"].copy()
    if cache["ws"] is not None:
        das, dh_t = fast.elman_backward(dh, hs, W_h, act, cache["ws"], dh_t, truncate)
    else:
        dfa = act.df_from_out(hs)                              # f'(a_t) for every step
        das = np.empty((T, N, H), hs.dtype)                    # dL/da_t
        for t in range(T - 1, -1, -1):                         # dh_t: dL/dh_t, then dL/dh_{t-1}
            g = dh.get(t)
            das[t], dh_t = carry(dh_t if g is None else dh_t + g, dfa[t], W_h)
            if sequence.cut(t, truncate):
                dh_t = np.zeros_like(dh_t)
    da = sequence.rows(das)                                     # (T*N, H)
    grads = {"W_h": da.T @ sequence.rows(cache["h_prev"]),      # h_{t-1} for every t, a view
             "W_x": da.T @ sequence.x_rows(x),
             "b": da.sum(axis=0)}
    return sequence.backproject(das, params["W_x"]), {"h": dh_t}, grads
