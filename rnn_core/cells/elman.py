"""Elman RNN: a_t = W_h h_{t-1} + W_x x_t + b,  h_t = f(a_t).

Shapes (batch-first, as everywhere in rnn_core): x (N, T, D), h (N, T, H), one step's
x_t (N, D) and h_t (N, H); params W_h (H, H), W_x (H, D), b (H,). Code computes
h @ W_h.T because rows are batch items. The state is a dict {"h": (N, H)}.

The module interface, shared with lstm.py and gru.py so that layers.py can compose any
cell: STATE_KEYS, param_shapes, init_params, step_forward, step_backward, forward,
backward.
"""
import numpy as np

from .. import activations, init, matrices
from ..validate import check_array, check_params, check_sequence, check_int, check_state

STATE_KEYS = ("h",)


def param_shapes(D, H):
    """The parameter dict's keys and shapes."""
    return {"W_h": (H, H), "W_x": (H, D), "b": (H,)}


def init_params(D, H, seed=0, W_h="orthogonal", rho=1.0, x_std=None, dtype=np.float64):
    """Parameters for input size D and hidden size H.

    W_h = matrices.family(W_h, H, rho, seed): a kind of matrices.KINDS ('orthogonal',
    'gaussian', 'nonnormal', 'symmetric', 'identity') at spectral radius rho;
    W_x ~ N(0, 1/D) (or x_std^2); b = 0.
    """
    D = check_int("D", D, low=1)
    H = check_int("H", H, low=1)
    x_std = 1.0 / np.sqrt(D) if x_std is None else x_std
    return {"W_h": matrices.family(W_h, H, rho, seed).astype(dtype),
            "W_x": init.gaussian((H, D), x_std, seed + 1, dtype),
            "b": np.zeros(H, dtype)}


def _check(params):
    """Validate the parameter dict; returns (D, H, dtype) read off W_x."""
    W_x = params.get("W_x") if isinstance(params, dict) else None
    H, D = W_x.shape if isinstance(W_x, np.ndarray) and W_x.ndim == 2 else (None, None)
    dtype = check_params("params", params, param_shapes(D, H))
    return D, H, dtype


def step_forward(x_t, state, params, activation="tanh"):
    """One step. x_t (N, D), state {"h": (N, H)} -> (state {"h": h_t (N, H)}, cache)."""
    D, H, dtype = _check(params)
    act = activations.get(activation)
    check_array("x_t", x_t, (None, D), dtype)
    h_prev = check_state("state", state, {"h": (x_t.shape[0], H)}, dtype)[0]
    h = act.f(x_t @ params["W_x"].T + h_prev @ params["W_h"].T + params["b"])
    return {"h": h}, (x_t, h_prev, h, params, act)


def step_backward(dstate, cache):
    """Backward of one step. dstate {"h": dL/dh_t (N, H)} -> (dx_t, {"h": dh_prev}, grads)."""
    x_t, h_prev, h, params, act = cache
    dh = check_state("dstate", dstate, {"h": h.shape}, h.dtype)[0]
    da = dh * act.df_from_out(h)                       # (N, H)
    grads = {"W_h": da.T @ h_prev, "W_x": da.T @ x_t, "b": da.sum(axis=0)}
    return da @ params["W_x"], {"h": da @ params["W_h"]}, grads


def forward(x, state0, params, activation="tanh"):
    """Run the RNN over a sequence. x (N, T, D), state0 {"h": (N, H)}.

    Returns h (N, T, H), the final state {"h": (N, H)} and the cache for backward.
    The input projection for all steps is one matmul; only h @ W_h.T stays in the loop.
    """
    D, H, dtype = _check(params)
    act = activations.get(activation)
    N, T, _ = check_sequence("x", x, D, dtype)
    h_prev = check_state("state0", state0, {"h": (N, H)}, dtype)[0]
    W_hT = params["W_h"].T
    xw = (x.reshape(N * T, D) @ params["W_x"].T + params["b"]).reshape(N, T, H)
    hs = np.empty((T, N, H), dtype)                     # time-major inside the loop
    hs[:] = xw.transpose(1, 0, 2)                       # holds a_t until f turns it into h_t
    with np.errstate(over="ignore", invalid="ignore"):   # checked once, after the loop
        for t in range(T):
            a = hs[t]
            a += h_prev @ W_hT                          # in place: no temporaries per step
            h_prev = hs[t] = act.f(a)
    if not np.isfinite(hs[-1]).all():
        t = int(np.argmin(np.isfinite(hs).all(axis=(1, 2))))
        raise FloatingPointError(
            f"h: expected finite hidden states, received inf/NaN from step t = {t} on: the "
            f"{act.name} RNN grew beyond {dtype.__name__ if hasattr(dtype, '__name__') else dtype} "
            f"range over T = {T} steps (spectral radius of W_h "
            f"{np.max(np.abs(np.linalg.eigvals(params['W_h']))):.3g}). Shorten T, shrink W_h, "
            f"or use rnn_core.gradflow, which works in log space")
    h = hs.transpose(1, 0, 2)                           # (N, T, H), a view
    cache = {"x": x, "h0": state0["h"], "hs": hs, "params": params, "act": act}
    return h, {"h": hs[-1].copy()}, cache


def backward(dh, cache, dstate_T=None, truncate=None):
    """BPTT. dh (N, T, H) holds dL/dh_t from the losses (zeros where a step has none).

    dstate_T: optional {"h": (N, H)}, a gradient arriving at the final state from later
    chunks. truncate=k: gradients do not cross the boundaries of windows [0,k), [k,2k), ...
    (the gradient of truncated BPTT with window k; k >= T is full BPTT).
    Returns dx (N, T, D), dstate0 {"h": (N, H)} and grads keyed like params.
    """
    x, hs, params, act = cache["x"], cache["hs"], cache["params"], cache["act"]
    T, N, H = hs.shape
    D = x.shape[2]
    check_array("dh", dh, (N, T, H), hs.dtype)
    k = T if truncate is None else check_int("truncate", truncate, low=1)
    carry = np.zeros((N, H), hs.dtype)
    if dstate_T is not None:
        carry = check_state("dstate_T", dstate_T, {"h": (N, H)}, hs.dtype)[0]
    das = act.df_from_out(hs)                           # (T, N, H) f'(a_t), all steps at once,
    W_h = params["W_h"]                                 # turned into dL/da_t in place below
    for t in range(T - 1, -1, -1):
        da = das[t]
        da *= dh[:, t] + carry
        carry = da @ W_h if (t % k != 0 or t == 0) else np.zeros_like(carry)
    h_prev = np.concatenate([cache["h0"][None], hs[:-1]])  # (T, N, H)
    da2 = das.reshape(T * N, H)
    grads = {"W_h": da2.T @ h_prev.reshape(T * N, H),
             "W_x": da2.T @ x.transpose(1, 0, 2).reshape(T * N, D),
             "b": da2.sum(axis=0)}
    dx = (da2 @ params["W_x"]).reshape(T, N, D).transpose(1, 0, 2)
    return np.ascontiguousarray(dx), {"h": carry}, grads

