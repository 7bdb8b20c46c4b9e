"""One-step Jacobians of any cell, all their products, and gradient norms against the lag.

Shapes: x (N, T, D); a state is a dict of (N, H) arrays, flattened here in STATE_KEYS order
into a state vector of size S (S = H for rnn and gru, S = 2H for lstm: [h; c]). State
indices k = 0..T, state_0 = state0 and state_t the state after x[:, t-1]. A loss at the
last step T gives lags l = T - k, and every per-lag array is indexed by the lag. Long
products are carried in log space (gradflow.logspace).
"""
from dataclasses import dataclass

import numpy as np

from .. import activations
from .. import cells
from ..validate import as_float_array, check_array, check_sequence
from .batched import _forward, _project
from .logspace import (LOG10_FLOOR, _accumulate, _carry_back, _frozen, _log10_norms, _renorm,
                       _safe_log10)

@dataclass(frozen=True, eq=False)
class GradientNorms:
    """log10 ||dL/dstate_k|| for a loss at the last step, per sequence and lag.

    lags (T+1,) = 0..T, k (T+1,) = T - lags; log10_norm (N, T+1) of the whole state
    gradient (h for rnn and gru, [h; c] for lstm); log10_norm_h (N, T+1) of its h block.
    """
    cell: str
    lags: np.ndarray
    k: np.ndarray
    log10_norm: np.ndarray
    log10_norm_h: np.ndarray

    def __repr__(self):
        return f"GradientNorms(cell={self.cell!r}, N={self.log10_norm.shape[0]}, T={self.lags[-1]})"

def _flat(state, keys):
    return np.concatenate([state[k] for k in keys], axis=1)     # (N, S)


def _unflat(v, keys):
    H = v.shape[1] // len(keys)
    return {k: v[:, i * H:(i + 1) * H] for i, k in enumerate(keys)}

# ----------------------------------------------------------------------------------------
# One-step Jacobians and their products
# ----------------------------------------------------------------------------------------

def _step_jacobians(cell, x_t, state, params, opts):
    """(J (N, S, S) = d state_t / d state_{t-1}, Jx (N, S, D) = d state_t / d x_t) at one step.

    Elman: analytic, J = diag(f'(a_t)) W_h and Jx = diag(f'(a_t)) W_x. Gated cells: built
    from the cell's own step_backward by _vjp_jacobians.
    """
    module = cells.get(cell)
    if cell != "rnn":
        return _vjp_jacobians(module, x_t, state, params, opts)
    h = module.step_forward(x_t, state, params, **opts)[0]["h"]     # validates every argument
    df = activations.get(opts.get("activation", "tanh")).df_from_out(h)   # (N, H) f'(a_t)
    return df[:, :, None] * params["W_h"], df[:, :, None] * params["W_x"]


def _vjp_jacobians(module, x_t, state, params, opts):
    """(J (N, S, S), Jx (N, S, D)) of any cell from one step_forward and one step_backward.

    The batch is repeated S times and item (n, s) receives the unit covector e_s, so its
    gradients dstate_prev and dx_t are row s of J and Jx for sequence n.
    """
    keys = module.STATE_KEYS
    N, D = x_t.shape
    S = len(keys) * state[keys[0]].shape[1]
    rep = {k: np.repeat(state[k], S, axis=0) for k in keys}          # (N*S, H) each
    _, cache = module.step_forward(np.repeat(x_t, S, axis=0), rep, params, **opts)
    seeds = np.tile(np.eye(S, dtype=x_t.dtype), (N, 1))              # (N*S, S): e_s per item
    dx, dprev, _ = module.step_backward(_unflat(seeds, keys), cache)
    return _flat(dprev, keys).reshape(N, S, S), dx.reshape(N, S, D)


def jacobian_step(cell, x_t, state, params, **opts):
    """One-step Jacobian d state_t / d state_{t-1}, (N, S, S), for cell 'rnn', 'lstm' or 'gru'.

    x_t (N, D), state a dict of (N, H) arrays; opts go to the cell (activation, form).
    The state vector is the cell's STATE_KEYS concatenated: [h] or [h; c] (LSTM, S = 2H).
    """
    return _step_jacobians(cell, x_t, state, params, opts)[0]


def _elman_dfs(x, state0, params, opts):
    """f'(a_t) for t = 1..T of an Elman RNN, (T, N, H), from the overflow-safe _forward."""
    N, T, D = check_sequence("x", x)
    cells.get("rnn").step_forward(x[:, 0], state0, params, **opts)   # validates every argument
    check_sequence("x", x, D, params["W_x"].dtype)
    act = activations.get(opts.get("activation", "tanh"))
    H = params["W_h"].shape[0]
    hs = _forward(params["W_h"], np.ones(1), _project(x, params["W_x"], params["b"]), act,
                  state0["h"])
    return act.df_from_out(hs[:, 0])


def _trajectory(cell, x, state0, params, opts):
    """Run the forward pass once; returns (S, H, jacobians) with jacobians(k) -> (J_k, Jx_k).

    J_k = d state_k / d state_{k-1} (N, S, S) and Jx_k = d state_k / d x_{k-1} (N, S, D),
    for k = 1..T. Elman: analytic from f'(a_k), with the overflow-safe forward of the
    sweep (a ReLU or linear RNN whose state outgrows float64 still has exact Jacobians).
    Gated cells: _vjp_jacobians on many steps at once, in chunks of steps that are
    computed when the backward sweep (k = T, T-1, ...) first needs them.
    """
    module = cells.get(cell)
    N, T, D = check_sequence("x", x)
    if cell == "rnn":
        dfs = _elman_dfs(x, state0, params, opts)                   # (T, N, H)
        W_h, W_x = params["W_h"], params["W_x"]
        H = W_h.shape[0]
        return H, H, lambda k: (dfs[k - 1][:, :, None] * W_h, dfs[k - 1][:, :, None] * W_x)
    keys = module.STATE_KEYS
    if keys == ("h",):                             # the states are the outputs: one forward call
        h = module.forward(x, state0, params, **opts)[0]              # (N, T, H)
        prev = {"h": np.concatenate([state0["h"][:, None], h[:, :-1]], axis=1)}
    else:
        states = [state0]
        for t in range(T - 1):
            states.append(module.step_forward(x[:, t], states[-1], params, **opts)[0])
        prev = {k: np.stack([st[k] for st in states], axis=1) for k in keys}  # (N, T, H)
    H = prev["h"].shape[2]
    S = H * len(keys)
    chunk = max(1, 2 ** 21 // (N * S * (S + D + 8 * H)))              # bounded memory per call
    held = {}

    def jacobians(k):
        start = (k - 1) // chunk * chunk
        if held.get("start") != start:
            L = min(chunk, T - start)
            xs = x[:, start:start + L].transpose(1, 0, 2).reshape(L * N, D)
            st = {key: prev[key][:, start:start + L].transpose(1, 0, 2).reshape(L * N, H)
                  for key in keys}
            J, Jx = _vjp_jacobians(module, xs, st, params, opts)
            held.update(start=start, J=J.reshape(L, N, S, S), Jx=Jx.reshape(L, N, S, D))
        return held["J"][k - 1 - start], held["Jx"][k - 1 - start]

    return S, H, jacobians


def jacobian_products(cell, x, state0, params, *, renormalize=False, **opts):
    """All products P[:, k] = d state_T / d state_k for k = 0..T, in one backward sweep.

    x (N, T, D) -> P (N, T+1, S, S) with P[:, T] = I and P[:, k-1] = P[:, k] @ J_k.
    The raw products under- or overflow for long sequences: with renormalize=True each
    P[:, k] is scaled to unit Frobenius norm and (P, log10_scale (N, T+1)) is returned,
    the true product being P * 10**log10_scale (LOG10_FLOOR where it is exactly zero).
    """
    S, _, jacobians = _trajectory(cell, x, state0, params, opts)
    N, T, _ = x.shape
    P = np.empty((N, T + 1, S, S), x.dtype)
    P[:, T] = np.eye(S, dtype=x.dtype) / (np.sqrt(S) if renormalize else 1.0)
    steps, alive = np.zeros((T, N)), np.ones((T, N), bool)
    for k in range(T, 0, -1):
        Pk = P[:, k] @ jacobians(k)[0]             # (N, S, S), a new contiguous array
        if renormalize:
            steps[T - k], alive[T - k] = _renorm(Pk.reshape(N, S * S))
        P[:, k - 1] = Pk
    if not renormalize:
        return P
    scale = _accumulate(np.full(N, 0.5 * np.log10(S)), steps, alive)[::-1].T   # (N, T+1) by k
    return P, np.ascontiguousarray(scale)


def _start_vector(H, seed, dtype=np.float64):
    """The seeded unit vector u (H,) used as dL/dh_T when none is given."""
    u = np.random.default_rng([int(seed), 3]).standard_normal(H)
    return (u / np.linalg.norm(u)).astype(dtype)


def _check_u(u, N, H, dtype, seed):
    if u is None:
        return np.broadcast_to(_start_vector(H, seed, dtype), (N, H))
    as_float_array("u", u)
    if u.shape not in ((H,), (N, H)):
        raise ValueError(f"u: expected shape ({H},) or ({N}, {H}), received {u.shape}")
    check_array("u", u, u.shape)
    if not np.all(np.any(u != 0, axis=-1)):
        raise ValueError("u: expected a non-zero dL/dh_T for every sequence, received a zero vector")
    return np.broadcast_to(u.astype(dtype), (N, H))


def gradient_norms(cell, x, state0, params, u=None, *, seed=0, **opts):
    """log10 ||dL/dstate_k|| for every k, for a loss at the last step with dL/dh_T = u.

    x (N, T, D); u (H,) or (N, H), default a seeded random unit vector (seed), with
    dL/dc_T = 0 for the LSTM. Log space: the covector is renormalised after every step
    back and log10 of the norms is summed, so T = 5000 neither under- nor overflows; exact
    zeros are LOG10_FLOOR. Returns a GradientNorms indexed by lag l = T - k.
    """
    module = cells.get(cell)
    N, T, _ = check_sequence("x", x)
    lags = np.arange(T + 1)
    if cell == "rnn":                              # the sweep's own backward pass
        dfs = _elman_dfs(x, state0, params, opts)
        u = _check_u(u, N, params["W_h"].shape[0], x.dtype, seed)
        log0 = _safe_log10(np.linalg.norm(u, axis=1))
        W_h = params["W_h"]
        back, _ = _carry_back(lambda v, j: (v * dfs[T - 1 - j]) @ W_h,
                              u / np.linalg.norm(u, axis=1)[:, None], T)
        logs = np.where(back <= LOG10_FLOOR, LOG10_FLOOR, np.maximum(back + log0, LOG10_FLOOR)).T
        return GradientNorms(cell, _frozen(lags), _frozen(T - lags), _frozen(logs.copy()),
                             _frozen(logs.copy()))
    S, H, jacobians = _trajectory(cell, x, state0, params, opts)
    v = np.zeros((N, S), x.dtype)
    v[:, :H] = _check_u(u, N, H, x.dtype, seed)
    log0 = _log10_norms(v)
    v /= 10.0 ** log0[:, None]
    back, h_log = _carry_back(lambda v, j: np.matmul(v[:, None, :], jacobians(T - j)[0])[:, 0],
                              v, T, H)
    total = np.where(back <= LOG10_FLOOR, LOG10_FLOOR, np.maximum(back + log0, LOG10_FLOOR))
    h_only = np.where((total <= LOG10_FLOOR) | (h_log <= LOG10_FLOOR), LOG10_FLOOR, total + h_log)
    return GradientNorms(cell, _frozen(lags), _frozen(T - lags), _frozen(total.T.copy()),
                         _frozen(np.maximum(h_only, LOG10_FLOOR).T.copy()))


def connectivity(cell, x, state0, params, **opts):
    """log10 ||dh_T / dx_t||_F for every input step t, (N, T): how much h_T can still see x_t.

    The Frobenius norm of the (H, D) block (sum over units of h_T and input features) is
    used: it costs no SVD per step and lies within sqrt(min(H, D)) of the spectral norm.
    One backward sweep carries M = dh_T/dstate_k (N, H, S), renormalised at each step, so
    the result is in log10 (it underflows otherwise); exact zeros are LOG10_FLOOR.
    """
    S, H, jacobians = _trajectory(cell, x, state0, params, opts)
    N, T, _ = x.shape
    M = np.zeros((N, H, S), x.dtype)
    M[:, :, :H] = np.eye(H, dtype=x.dtype)
    scale = np.zeros(N)                            # log10 of what has been divided out of M
    dead = np.zeros(N, bool)
    out = np.empty((N, T))
    for k in range(T, 0, -1):
        J, Jx = jacobians(k)
        seen = _log10_norms((M @ Jx).reshape(N, -1))
        out[:, k - 1] = np.where(dead | (seen <= LOG10_FLOOR), LOG10_FLOOR, scale + seen)
        M = M @ J
        step, alive = _renorm(M.reshape(N, H * S))
        scale, dead = scale + step, dead | ~alive
    return np.maximum(out, LOG10_FLOOR)
