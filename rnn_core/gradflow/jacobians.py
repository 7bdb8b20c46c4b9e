"""One-step Jacobians of any cell, all their products, and gradient norms against the lag.

Shapes: x (N, T, D); a state is a dict of (N, H) arrays, flattened here in STATE_KEYS order
into a state vector of size S (S = H for rnn and gru, S = 2H for lstm: [h; c]). State
indices k = 0..T, state_0 = state0 and state_t the state after x[:, t-1]. A loss at the
last step T gives lags l = T - k, and every per-lag array is indexed by the lag. Long
products are carried in log space (gradflow.logspace).
"""
from dataclasses import dataclass

import numpy as np

from .. import cells
from ..nn import matrices
from ..validate import as_float_array, check_array, check_int, check_options, check_sequence
from . import traces
from .logspace import LOG10_FLOOR, accumulate, carry_back, frozen, log10_norms, product_norms, renorm

carry = cells.elman.carry

@dataclass(frozen=True, eq=False)
class GradientNorms:
    """log10 ||dL/dstate_k|| for a loss at the last step, per sequence and lag.

    lags (T+1,) = 0..T, k (T+1,) = T - lags; log10_norm (N, T+1) of the whole state
    gradient (h for rnn and gru, [h; C] for lstm); log10_norm_h (N, T+1) of its h block,
    dL/dh_k; log10_norm_c (N, T+1) of its C block for the LSTM (None otherwise): dL/dC_k,
    the gradient that reaches C_k through C_{k+1} (the carousel), LOG10_FLOOR at k = T.
    """
    cell: str
    lags: np.ndarray
    k: np.ndarray
    log10_norm: np.ndarray
    log10_norm_h: np.ndarray
    log10_norm_c: np.ndarray = None

    def __repr__(self):
        return f"GradientNorms(cell={self.cell!r}, N={self.log10_norm.shape[0]}, T={self.lags[-1]})"

# ----------------------------------------------------------------------------------------
# One-step Jacobians and their products
# ----------------------------------------------------------------------------------------

def _step_jacobians(cell, x_t, state, params, opts):
    """(J (N, S, S) = d state_t / d state_{t-1}, Jx (N, S, D) = d state_t / d x_t) at one step."""
    _, _, jacobians = _trajectory(cell, x_t[:, None], state, params, opts)
    return jacobians(1)


def jacobian_step(cell, x_t, state, params, **opts):
    """One-step Jacobian d state_t / d state_{t-1}, (N, S, S), for cell 'rnn', 'lstm' or 'gru'.

    x_t (N, D), state a dict of (N, H) arrays; opts go to the cell (activation, form).
    The state vector is the cell's STATE_KEYS concatenated: [h] or [h; c] (LSTM, S = 2H).
    """
    return _step_jacobians(cell, x_t, state, params, opts)[0]


def _checked(cell, x, state0, params, opts):
    """Validate once at the edge (one step_forward checks params, state and options):
    returns (module, opts with defaults, (N, T, D))."""
    module = cells.get(cell)
    N, T, D = check_sequence("x", x)
    module.step_forward(x[:, 0], state0, params, **opts)       # validates every argument
    return module, check_options(cell, opts, module.OPTIONS, module.CHOICES), (N, T, D)


def _run(cell, x, state0, params, opts):
    """The forward pass once: (module, opts, W_h, W_x, trace) after the checks."""
    module, opts, _ = _checked(cell, x, state0, params, opts)
    W_h, W_x, b, b_h = traces.weights(cell, params, opts)
    if state0 is None:                             # zeros, as in every cell
        state0 = {k: np.zeros((x.shape[0], W_h.shape[1]), x.dtype) for k in module.STATE_KEYS}
    start = tuple(state0[k] for k in module.STATE_KEYS)
    return module, opts, W_h, W_x, traces.run(cell, traces.inputs(x, W_x, b), start, W_h, b_h, opts)


def _trajectory(cell, x, state0, params, opts, run=None):
    """Run the forward pass once; returns (S, H, jacobians) with jacobians(k) -> (J_k, Jx_k).

    J_k = d state_k / d state_{k-1} (N, S, S) and Jx_k = d state_k / d x_{k-1} (N, S, D),
    for k = 1..T. Every cell: its own step back (traces.back; the Elman RNN's is elman's
    carry, diag(f'(a_k)) W_h) on the unit covectors e_s of the state, for a chunk of steps
    in one call, computed when the backward sweep (k = T, T-1, ...) first needs them: row s
    of J_k is e_s^T J_k. The Elman RNN's forward is the sweep's overflow-safe one (a ReLU or
    linear RNN whose state outgrows float64 still has exact Jacobians).
    """
    module, opts, W_h, W_x, trace = run or _run(cell, x, state0, params, opts)
    N, T, D = x.shape
    keys = module.STATE_KEYS
    H = W_h.shape[1]
    S = H * len(keys)
    chunk = max(1, 2 ** 21 // (N * S * (S + D + 8 * H)))              # bounded memory per call
    eye = np.eye(S, dtype=x.dtype)
    held = {}

    def jacobians(k):
        start = (k - 1) // chunk * chunk
        if held.get("start") != start:
            L = min(chunk, T - start)
            seeds = tuple(np.broadcast_to(eye[:, None, i * H:(i + 1) * H], (L, S, N, H))
                          for i in range(len(keys)))                  # (L, S, N, H): e_s per row
            dxw, prev = traces.back(cell, trace, (slice(start, start + L), None), seeds, W_h, opts)
            J = np.concatenate(prev, axis=-1).transpose(0, 2, 1, 3)  # (L, N, S, S)
            Jx = (dxw @ W_x).transpose(0, 2, 1, 3)                   # (L, N, S, D)
            held.update(start=start, J=J, Jx=Jx)
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
            steps[T - k], alive[T - k] = renorm(Pk.reshape(N, S * S))
        P[:, k - 1] = Pk
    if not renormalize:
        return P
    scale = accumulate(np.full(N, 0.5 * np.log10(S)), steps, alive)[::-1].T   # (N, T+1) by k
    return P, np.ascontiguousarray(scale)


def transient_growth(W_h, L):
    """log10 ||W_h^l||_2 for l = 0..L, (L+1,): the linear RNN's Jacobian products.

    The power is renormalised at each step (so rho = 4 and L = 5000 are fine) and its norm
    taken by SVD (logspace.product_norms). ||W^l||^(1/l) -> rho, but a non-normal W_h can
    grow for many steps first.
    """
    W_h = matrices.check_square("W_h", W_h).astype(np.float64)
    L = check_int("L", L, low=0)
    return product_norms(lambda P, j: P @ W_h, np.eye(W_h.shape[0])[None], L)[:, 0]


def start_vector(H, seed, dtype=np.float64):
    """The seeded unit vector u (H,) used as dL/dh_T when none is given."""
    u = np.random.default_rng([int(seed), 3]).standard_normal(H)
    return (u / np.linalg.norm(u)).astype(dtype)


def _check_u(u, N, H, dtype, seed):
    if u is None:
        return np.broadcast_to(start_vector(H, seed, dtype), (N, H))
    as_float_array("u", u)
    if u.shape not in ((H,), (N, H)):
        raise ValueError(f"u: expected shape ({H},) or ({N}, {H}), received {u.shape}")
    check_array("u", u, u.shape)
    if not np.all(np.any(u != 0, axis=-1)):
        raise ValueError("u: expected a non-zero dL/dh_T for every sequence, received a zero vector")
    return np.broadcast_to(u.astype(dtype), (N, H))


JACOBIAN_MAX_S = 16   # gradient_norms: whole Jacobians up to this state size, covectors above


def gradient_norms(cell, x, state0, params, u=None, *, seed=0, **opts):
    """log10 ||dL/dstate_k|| for every k, for a loss at the last step with dL/dh_T = u.

    x (N, T, D); u (H,) or (N, H), default a seeded random unit vector (seed), with
    dL/dC_T = 0 for the LSTM. Log space: the covector is carried back by the one carrier
    (logspace.carry_back: renormalised as it goes, log10 of the norms summed), so T = 5000
    neither under- nor overflows; exact zeros are LOG10_FLOOR. The Elman RNN steps with
    diag(f'(a_k)) W_h; a gated cell with a small state (S <= JACOBIAN_MAX_S) with its
    one-step Jacobians, built in chunks of steps from the cell's own step back by
    _trajectory (S covectors per step in one call: fast for small S); a larger one with
    the cell's step back on the covector itself, step by step. Returns a GradientNorms indexed by lag
    l = T - k, with the norms of the h block and, for the LSTM, of the C block.
    """
    N, T, _ = x.shape
    run = _run(cell, x, state0, params, opts)
    module, opts, W_h, _, trace = run
    H = W_h.shape[1]
    S = H * len(module.STATE_KEYS)
    if cell == "rnn":                              # v diag(f'(a_k)) W_h: no (H, H) per step
        dfa = trace["dfa"]

        def step(v, j, out):
            out[...] = carry(v, dfa[T - 1 - j], W_h)[1]
    elif S <= JACOBIAN_MAX_S:
        jacobians = _trajectory(cell, x, state0, params, opts, run)[2]

        def step(v, j, out):                       # v^T J_k for k = T - j
            np.matmul(v[:, None, :], jacobians(T - j)[0], out=out[:, None, :])
    else:
        step = traces.covector_step(cell, trace, W_h, opts, T, H, (N,))
    v = np.zeros((N, S), x.dtype)
    v[:, :H] = _check_u(u, N, H, x.dtype, seed)
    log0 = log10_norms(v)
    v /= 10.0 ** log0[:, None]

    blocks = [slice(i * H, (i + 1) * H) for i in range(S // H)]
    back, parts = carry_back(step, v, T, blocks=blocks, keep=True)
    logs = [np.where(a <= LOG10_FLOOR, LOG10_FLOOR, np.maximum(a + log0, LOG10_FLOOR)).T.copy()
            for a in [back] + parts]
    lags = np.arange(T + 1)
    return GradientNorms(cell, frozen(lags), frozen(T - lags), frozen(logs[0]),
                         frozen(logs[1]), frozen(logs[2]) if len(logs) > 2 else None)


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
        seen = log10_norms((M @ Jx).reshape(N, -1))
        out[:, k - 1] = np.where(dead | (seen <= LOG10_FLOOR), LOG10_FLOOR, scale + seen)
        M = M @ J
        step, alive = renorm(M.reshape(N, H * S))
        scale, dead = scale + step, dead | ~alive
    return np.maximum(out, LOG10_FLOOR)
