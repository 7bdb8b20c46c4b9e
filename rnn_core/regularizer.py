"""Pascanu, Mikolov & Bengio (2013)'s norm-preserving regulariser Omega for the Elman RNN.

    Omega = sum_t ( ||dL/dh_t · dh_t/dh_{t-1}|| / ||dL/dh_t|| - 1 )^2,
    dh_t/dh_{t-1} = diag(f'(a_t)) W_h,   a_t = W_h h_{t-1} + W_x x_t + b,

with dL/dh_t a row vector: the TOTAL gradient of the loss at the state h_t (from the
readout at step t plus everything backpropagated from later steps). The sum runs over
every step t = 1..T of the forward pass, the first one included (h_0 -> h_1). Per batch
item, then averaged over the batch N, like the losses. A term whose ||dL/dh_t|| is exactly
0 carries no direction and is skipped.

Shapes: the cache of elman.forward (x (N, T, D), states (N, T, H)); g = dL/dh (N, T, H);
params W_h (H, H), W_x (H, D), b (H,). Returns (value, grads keyed like the params).

Which derivative. The paper treats dL/dh_t as a constant and differentiates each term
with the "immediate" partial derivative, which holds the previous state fixed. In the
paper's own parametrisation the state is the pre-activation, so that rule leaves only the
explicit W_h of the Jacobian. In ours the state is h = f(a), and holding h_{t-1} fixed still
lets f'(a_t) move with W_h, W_x and b. `mode` chooses:
  "immediate" (default): g and h_{t-1}, x_t held fixed; Omega reaches W_h (explicitly and
               through f'(a_t)), W_x and b (through f'(a_t)). The paper's rule, for h states.
  "direct":    g and f'(a_t) held fixed; only the explicit W_h. The paper's rule in its own
               pre-activation parametrisation, and what one-matrix implementations compute.
  "full":      only g held fixed; also differentiates f'(a_t) through every earlier
               state (a second backward pass through time).
The finite-difference tests freeze exactly the same quantities.
"""
import numpy as np

from .validate import check_array, check_choice, check_int

MODES = ("immediate", "direct", "full")

def _unpack(cache):
    """(x (N,T,D), h_prev (T,N,H), hs (T,N,H), params, act) from an elman.forward cache."""
    if not isinstance(cache, dict) or not {"x", "h0", "hs", "params", "act"} <= set(cache):
        raise ValueError("cache: expected the cache returned by elman.forward (the regulariser "
                         "is defined for the Elman RNN only)")
    hs = cache["hs"]
    h_prev = np.concatenate([cache["h0"][None], hs[:-1]])    # h_{t-1} for every step
    return cache["x"], h_prev, hs, cache["params"], cache["act"]


def state_gradients(dh, cache, truncate=None):
    """Total dL/dh_t at every step from the per-step loss gradients dh (N, T, H).

    g_t = dh_t + g_{t+1} diag(f'(a_{t+1})) W_h, cut at the windows of truncate=k exactly as
    elman.backward cuts them. Returns g (N, T, H).
    """
    _, _, hs, params, act = _unpack(cache)
    T, N, H = hs.shape
    check_array("dh", dh, (N, T, H), hs.dtype)
    k = T if truncate is None else check_int("truncate", truncate, low=1)
    fp = act.df_from_out(hs)                                  # (T, N, H)
    g = np.empty_like(hs)
    carry = np.zeros((N, H), hs.dtype)
    for t in range(T - 1, -1, -1):
        g[t] = dh[:, t] + carry
        carry = (g[t] * fp[t]) @ params["W_h"] if t % k != 0 else np.zeros_like(carry)
    return np.ascontiguousarray(g.transpose(1, 0, 2))


def omega(g, cache, mode="immediate"):
    """Omega and its gradient with g = dL/dh (N, T, H) held constant.

    cache: from elman.forward. Returns (value, grads {"W_h", "W_x", "b"}).
    """
    check_choice("mode", mode, MODES)
    x, h_prev, hs, params, act = _unpack(cache)
    T, N, H = hs.shape
    check_array("g", g, (N, T, H), hs.dtype)
    W_h = params["W_h"]
    # r_t is unchanged by rescaling g_t, so divide by max|g_t|: no underflow for tiny g
    g = g.transpose(1, 0, 2)                                  # (T, N, H)
    scale = np.abs(g).max(axis=-1, keepdims=True)             # (T, N, 1)
    valid = scale > 0
    gh = np.divide(g, scale, out=np.zeros_like(g), where=valid)
    fp = act.df_from_out(hs)                                  # f'(a_t)
    u = gh * fp
    v = u @ W_h                                               # g_t diag(f'(a_t)) W_h, rows
    nv = np.linalg.norm(v, axis=-1, keepdims=True)
    ng = np.linalg.norm(gh, axis=-1, keepdims=True)           # >= 1 where valid
    r = np.divide(nv, ng, out=np.zeros_like(nv), where=valid)
    value = float((((r - 1.0) ** 2) * valid).sum()) / N

    # backward, g fixed; at ||v|| = 0 the norm has no gradient and 0 is used
    dr = 2.0 * (r - 1.0) * valid / N
    denom = nv * ng
    dv = np.divide(dr * v, denom, out=np.zeros_like(v), where=denom > 0)
    grads = {"W_h": u.reshape(-1, H).T @ dv.reshape(-1, H),  # explicit W_h in the Jacobian
             "W_x": np.zeros_like(params["W_x"]), "b": np.zeros_like(params["b"])}
    if mode == "direct":
        return value, grads
    da = (dv @ W_h.T) * gh * act.d2f_from_out(hs)       # through f'(a_t), (T, N, H)
    if mode == "full":                                        # and through every h_{t-1}
        carry = np.zeros((N, H), hs.dtype)
        for t in range(T - 1, -1, -1):
            da[t] += carry * fp[t]
            carry = da[t] @ W_h
    da2 = da.reshape(T * N, H)
    D = x.shape[2]
    grads["W_h"] += da2.T @ h_prev.reshape(T * N, H)
    grads["W_x"] += da2.T @ x.transpose(1, 0, 2).reshape(T * N, D)
    grads["b"] += da2.sum(axis=0)
    return value, grads
