"""Pascanu, Mikolov & Bengio (2013)'s norm-preserving regulariser Omega for the Elman RNN.

    Omega = sum_t ( ||dL/dh_t · dh_t/dh_{t-1}|| / ||dL/dh_t|| - 1 )^2,
    dh_t/dh_{t-1} = diag(f'(a_t)) W_h,   a_t = W_h h_{t-1} + W_x x_t + b,

with dL/dh_t a row vector: the TOTAL gradient of the loss at the state h_t (from the
readout at step t plus everything backpropagated from later steps). The sum runs over
every step t = 1..T of the forward pass, the first one included (h_0 -> h_1). Per batch
item, then averaged over the batch N, like the losses. A term whose ||dL/dh_t|| is exactly
0 carries no direction and is skipped.

Inputs are what elman.forward takes and returns, never its cache: x (N, T, D), state0
{"h": (N, H)} or None (zeros), the states h (N, T, H) that forward returned for them,
params W_h (H, H), W_x (H, D), b (H,), and the cell's options (activation). Since
f'(a_t) is a function of h_t, these determine everything Omega needs. g = dL/dh (N, T, H).

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

Unchecked versions for train.fit and multirun.fit_many, which check at their own edge:
time_major_state_gradients(dh, h_tm, W_h, act, truncate) and time_major_omega(g_tm, x_tm,
h0, h_tm, params, act, mode), with time-major (T, N, .) states and inputs and dh a dict
{t: (N, H)} (cells.sequence.steps). Both also take K stacked runs: arrays (T, K, N, .), h0
(K, N, H), params stacked (K, ...); time_major_omega then returns one value per run, an
array (K,), and gradients stacked like the params. The Jacobian's action g diag(f'(a_t)) W_h
is BPTT's carry, elman.carry.
"""
import numpy as np

from ..nn import activations
from ..cells import sequence, elman
from ..validate import (as_float_array, check_array, check_batch_first, check_choice, check_options,
                        check_params, check_sequence, check_state0)

MODES = ("immediate", "direct", "full")

carry = elman.carry      # BPTT's carry, one home


def _activation(opts):
    """The Activation named by elman's options (checked against elman.OPTIONS)."""
    return activations.ACTIVATIONS[check_options("elman", opts, elman.OPTIONS,
                                                 elman.CHOICES)["activation"]]


def _check_states(h, params):
    """h (N, T, H) states and elman's params for them; returns the dtype."""
    as_float_array("h", h)
    if h.ndim != 3:
        raise ValueError(f"h: expected the (N, T, H) states elman.forward returned, received "
                         f"shape {h.shape}")
    H = h.shape[2]
    return check_params("params", params, {"W_h": (H, H), "W_x": (H, None), "b": (H,)},
                        h.dtype)


def state_gradients(dh, h, params, truncate=None, **opts):
    """Total dL/dh_t at every step from the per-step loss gradients dh.

    dh: an (N, T, H) array, a dict {t: (N, H)} or None (elman.backward's forms); h (N, T, H)
    the states elman.forward returned. g_t = dh_t + g_{t+1} diag(f'(a_{t+1})) W_h, cut at
    the windows of truncate=k exactly as elman.backward cuts them. Returns g (N, T, H).
    """
    act = _activation(opts)
    dtype = _check_states(h, params)
    N, T, H = h.shape
    steps = sequence.check_upstream("dh", dh, N, T, H, dtype)
    g = time_major_state_gradients(steps, h.transpose(1, 0, 2), params["W_h"], act,
                                   sequence.check_truncate(truncate))
    return sequence.batch_first(g)


def time_major_state_gradients(dh, h_tm, W_h, act, truncate):
    """state_gradients without checks: dh {t: (N, H)}, h_tm (T, N, H) -> g (T, N, H).

    Stacked runs: h_tm (T, K, N, H), W_h (K, H, H), dh {t: (K, N, H)}."""
    T = h_tm.shape[0]
    fp = act.df_from_out(h_tm)                                # f'(a_t) (T, N, H)
    g = np.empty_like(h_tm)
    later = np.zeros(h_tm.shape[1:], h_tm.dtype)              # g_{t+1} diag(f'(a_{t+1})) W_h
    for t in range(T - 1, -1, -1):
        d = dh.get(t)
        g[t] = later if d is None else later + d
        later = carry(g[t], fp[t], W_h)[1]
        if sequence.cut(t, truncate):
            later = np.zeros_like(later)
    return g


def omega(g, x, state0, h, params, mode="immediate", **opts):
    """Omega and its gradient with g = dL/dh (N, T, H) held constant.

    x, state0: what elman.forward read (state0 None: zeros); h (N, T, H): the states it
    returned; params and opts (activation): the cell's. Returns (value, grads {"W_h",
    "W_x", "b"}).
    """
    check_choice("mode", mode, MODES)
    act = _activation(opts)
    dtype = _check_states(h, params)
    check_sequence("x", x, params["W_x"].shape[1], dtype)
    check_batch_first("x", x, h.shape[0], "h")
    check_array("h", h, x.shape[:2] + (h.shape[2],), dtype)
    h0 = check_state0("state0", state0, ("h",), x, h.shape[2], dtype)["h"]
    check_array("g", g, h.shape, dtype)
    return time_major_omega(g.transpose(1, 0, 2), x.transpose(1, 0, 2), h0,
                            h.transpose(1, 0, 2), params, act, mode)


def _rows(a):
    """Time-major (T, [K,] N, I) -> rows ([K,] T*N, I): one row per (step, batch item), per run."""
    a = np.moveaxis(a, 0, -3)
    return a.reshape(a.shape[:-3] + (-1, a.shape[-1]))


def _outer(a, b):
    """sum over steps and batch items of a_row^T b_row: (T, [K,] N, I), (T, [K,] N, J) -> ([K,] I, J)."""
    return np.swapaxes(_rows(a), -1, -2) @ _rows(b)


def time_major_omega(g, x, h0, hs, params, act, mode):
    """omega without checks: g, x and hs time-major (T, N, .), h0 (N, H).

    Stacked runs: (T, K, N, .), h0 (K, N, H), params (K, ...): the value is then an
    array (K,), one per run, and the gradients are stacked like the params."""
    T, N, H = hs.shape[0], hs.shape[-2], hs.shape[-1]
    W_h = params["W_h"]
    # r_t is unchanged by rescaling g_t, so divide by max|g_t|: no underflow for tiny g
    scale = np.abs(g).max(axis=-1, keepdims=True)             # (T, N, 1)
    valid = scale > 0
    gh = np.divide(g, scale, out=np.zeros_like(g), where=valid)
    fp = act.df_from_out(hs)                                  # f'(a_t)
    u, v = carry(gh, fp, W_h)                                 # v = g_t diag(f'(a_t)) W_h, rows
    nv = np.linalg.norm(v, axis=-1, keepdims=True)
    ng = np.linalg.norm(gh, axis=-1, keepdims=True)           # >= 1 where valid
    r = np.divide(nv, ng, out=np.zeros_like(nv), where=valid)
    terms = ((r - 1.0) ** 2) * valid
    if hs.ndim == 3:
        value = float(terms.sum()) / N
    else:                                                     # one value per run
        value = _rows(terms)[..., 0].sum(axis=-1) / N

    # backward, g fixed; at ||v|| = 0 the norm has no gradient and 0 is used
    dr = 2.0 * (r - 1.0) * valid / N
    denom = nv * ng
    dv = np.divide(dr * v, denom, out=np.zeros_like(v), where=denom > 0)
    grads = {"W_h": _outer(u, dv),                            # explicit W_h in the Jacobian
             "W_x": np.zeros_like(params["W_x"]), "b": np.zeros_like(params["b"])}
    if mode == "direct":
        return value, grads
    da = (dv @ np.swapaxes(W_h, -1, -2)) * gh * act.d2f_from_out(hs)   # through f'(a_t)
    if mode == "full":                                        # and through every h_{t-1}
        dh_prev = np.zeros(hs.shape[1:], hs.dtype)
        for t in range(T - 1, -1, -1):
            da[t] += dh_prev * fp[t]
            dh_prev = da[t] @ W_h
    h_prev = np.concatenate([h0[None], hs[:-1]])              # h_{t-1} for every step
    grads["W_h"] += _outer(da, h_prev)
    grads["W_x"] += _outer(da, x)
    grads["b"] += _rows(da).sum(axis=-2)
    return value, grads
