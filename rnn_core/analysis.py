"""How gradients flow backwards through time: Jacobians, their products, log-space norms,
the sweep over the spectral radius, and the bounds they are compared with.

Shapes: x (N, T, D); a state is a dict of (N, H) arrays, flattened here in STATE_KEYS order
into a state vector of size S (S = H for rnn and gru, S = 2H for lstm: [h; c]). State
indices k = 0..T, state_0 = state0 and state_t the state after x[:, t-1]. A loss at the
last step T gives lags l = T - k, and every per-lag array is indexed by the lag.

Norms of long Jacobian products under- or overflow float64 well before T = 1000, so every
function here that follows a gradient over many steps renormalises the vector (or matrix)
as it goes (every step; every 16 steps in the sweep's fast path, with a check that falls
back to every step) and adds up log10 of the norms it divides out. Results are log10
values, finite for any T and any finite rho, with no floating-point warning.
An exactly zero gradient (rho = 0, every ReLU unit off) has log10 = -inf. It is reported
as the finite LOG10_FLOOR = -1e6 instead (anything smaller is clipped to it, which takes a
factor below 1e-200 per step over 5000 steps), so no result is NaN or -inf; plots should
clip (np.maximum(y, -1000)) or mask (y <= LOG10_FLOOR). decay_rate reports RATE_FLOOR there.
"""
import functools
import math
import threading
from dataclasses import dataclass, field

import numpy as np

from . import activations, matrices
from .sequence import get_cell
from .validate import (as_float_array, check_array, check_choice, check_int, check_positive,
                       check_sequence)

LOG10_FLOOR = -1.0e6          # log10 of an exactly zero norm (and the lower clip of every result)
RATE_FLOOR = LOG10_FLOOR * math.log(10.0)   # decay_rate of a gradient that reaches exactly zero
_LN10 = math.log(10.0)


# ----------------------------------------------------------------------------------------
# Results
# ----------------------------------------------------------------------------------------

def _frozen(a):
    a = np.asarray(a)
    a.setflags(write=False)
    return a


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


@dataclass(frozen=True, eq=False)
class Sweep:
    """Gradient norm against lag for an Elman RNN, one row per spectral radius rho of W_h.

    rhos (R,); sigma_max (R,) and eigenvalues (R, H) complex (sorted by modulus) of each W_h;
    lags (T+1,) = 0..T; log10_norm (R, T+1): log10 ||dL/dh_{T-l}|| for dL/dh_T = u, a fixed
    seeded unit vector, averaged (as a log) over the N sequences, LOG10_FLOOR where the
    gradient is exactly zero for any sequence; log10_sv_bound (R, T+1) = l log10(gamma
    sigma_max), the Pascanu et al. bound the curves must stay under; rate (R,): decay_rate
    over rate_window, the top Lyapunov exponent (natural log per step; < 0 vanishing;
    RATE_FLOOR for a row that reaches exactly zero). The arrays are read-only.
    Where rate > 0 the forward dynamics are chaotic and amplify rounding: a row then agrees
    with a per-rho recomputation (gradient_norms on sweep_setup) in rate, not digit by digit.
    """
    rhos: np.ndarray
    sigma_max: np.ndarray
    eigenvalues: np.ndarray
    lags: np.ndarray
    log10_norm: np.ndarray
    log10_sv_bound: np.ndarray
    rate: np.ndarray
    rate_window: tuple
    gamma: float
    activation: str
    family: str
    input_scale: float
    T: int
    H: int
    N: int
    D: int
    bias: float
    seed: int
    dtype: str = field(default="float64")

    @property
    def threshold(self):
        """1/gamma: sigma_max below it guarantees vanishing, above it explosion is possible."""
        return 1.0 / self.gamma

    def __repr__(self):
        return (f"Sweep({self.activation}, {self.family}, R={self.rhos.size}, "
                f"rho {self.rhos.min():g}..{self.rhos.max():g}, H={self.H}, T={self.T}, "
                f"N={self.N}, input_scale={self.input_scale:g})")


# ----------------------------------------------------------------------------------------
# Log-space helpers
# ----------------------------------------------------------------------------------------

def _matmul(a, b, out=None):
    """a (M, K) @ b (K, N), in blocks of rows with rows * K * N < 2^18 so that OpenBLAS runs
    each on one thread. For these sizes its threads gain little, and on a busy machine they
    can make a product 10x slower (measured while writing benchmarks/bench_sweep.py)."""
    rows = max(1, (1 << 18) // (a.shape[1] * b.shape[1]))
    if a.shape[0] <= rows:
        return np.matmul(a, b, out=out)
    if out is None:
        out = np.empty((a.shape[0], b.shape[1]), np.result_type(a, b))
    for i in range(0, a.shape[0], rows):
        np.matmul(a[i:i + rows], b, out=out[i:i + rows])
    return out


def _project(x, W_x, b):
    """The input projection of every step: x (N, T, D) -> x_t W_x^T + b, time-major (T, N, H)."""
    N, T, D = x.shape
    xw = _matmul(x.transpose(1, 0, 2).reshape(T * N, D), W_x.T)
    xw += b
    return xw.reshape(T, N, W_x.shape[0])


def _safe_log10(x):
    """log10 of non-negative x, LOG10_FLOOR where x == 0 (no warning)."""
    x = np.asarray(x, np.float64)
    out = np.full(x.shape, LOG10_FLOOR)
    np.log10(x, out=out, where=x > 0)
    return np.maximum(out, LOG10_FLOOR)


def _log10_norms(a):
    """log10 of the 2-norm of each row of a (M, K), computed without under- or overflow."""
    m = np.max(np.abs(a), axis=1)
    alive = m > 0
    m = np.where(alive, m, 1.0)
    s = np.einsum("ij,ij->i", a / m[:, None], a / m[:, None])
    return np.where(alive, np.log10(m) + 0.5 * np.log10(np.where(alive, s, 1.0)), LOG10_FLOOR)


def _renorm(v):
    """Scale each row of v (M, S) to unit 2-norm in place, without under- or overflow.

    Returns (log10 of the old norms (M,), alive (M,) bool); a zero row stays zero, is not
    alive and gets log 0 (the caller floors it).
    """
    m = np.max(np.abs(v), axis=1)
    alive = m > 0
    m = np.where(alive, m, 1.0)
    v /= m[:, None]                               # largest entry now 1: squares cannot underflow
    n = np.where(alive, np.sqrt(np.einsum("ij,ij->i", v, v)), 1.0)
    v /= n[:, None]
    return np.log10(m) + np.log10(n), alive


def _safe_range(dtype):
    """Squared norms inside this range leave room for a few more steps in `dtype`."""
    info = np.finfo(dtype)
    return float(info.tiny) ** 0.9, float(info.max) ** 0.9


def _carry_back(step, v, T, H=None):
    """Carry unit covectors v (M, S) back T steps, v <- step(v, j) for j = 0..T-1.

    After each step v is divided by its norm. Fast path: the squared norms are kept and
    logged in one pass at the end. If one of them left _safe_range without the vector being
    exactly zero (digits may have been lost) the pass is redone with the careful _renorm.
    step may use its own buffers but must not modify its argument. Returns log10 ||v||
    after l = 0..T steps, (T+1, M) (0 at l = 0, LOG10_FLOOR once exactly zero), and log10
    of the norm of the first H entries of the unit vector (T+1, M) (all S if H is None).
    """
    v0 = v.copy()
    M, S = v.shape
    H = S if H is None else H
    sq = np.ones((T, M), v.dtype)                  # squared norm after each step
    hq = np.ones((T + 1, M), v.dtype)              # squared norm of the h block, unit vector
    n = np.empty(M, v.dtype)
    lo, hi = _safe_range(v.dtype)
    fast = True
    h_block = H < S                                # else the h block is the whole vector
    with np.errstate(all="ignore"):                # anything odd is caught by the checks
        np.einsum("ij,ij->i", v[:, :H], v[:, :H], out=hq[0])
        for j in range(T):
            v = step(v, j)
            np.einsum("ij,ij->i", v, v, out=sq[j])
            if not sq[j].all() and np.any(v[sq[j] == 0] != 0):
                fast = False                       # a norm underflowed: not an exact zero
                break
            np.sqrt(sq[j], out=n)
            np.maximum(n, np.sqrt(lo), out=n)      # an exact zero stays zero
            v /= n[:, None]
            if h_block:
                np.einsum("ij,ij->i", v[:, :H], v[:, :H], out=hq[j + 1])
    zero = sq == 0                                 # exact zeros: such a row stays zero
    dead = np.concatenate([np.zeros((1, M), bool), np.logical_or.accumulate(zero, axis=0)])
    fast = (fast and np.all(zero | ((sq > lo) & (sq < hi))) and np.all(dead | (hq > lo))
            and np.all(np.isfinite(hq)))
    if fast:
        steps, alive = 0.5 * np.log10(np.where(zero, 1.0, sq).astype(np.float64)), ~zero
        h_log = np.where(dead, LOG10_FLOOR,
                         0.5 * np.log10(np.where(dead, 1.0, hq).astype(np.float64)))
    else:                                          # extreme rho: step by step
        v = v0
        steps, alive = np.zeros((T, M)), np.ones((T, M), bool)
        h_log = np.zeros((T + 1, M))
        h_log[0] = _log10_norms(v[:, :H])
        for j in range(T):
            v = np.array(step(v, j))
            steps[j], alive[j] = _renorm(v)
            h_log[j + 1] = _log10_norms(v[:, :H])
    return _accumulate(np.zeros(M), steps, alive), h_log


def _accumulate(log0, steps, alive):
    """Running log10 norms from per-step factors: log0 (M,), steps and alive (L, M) -> (L+1, M)."""
    out = np.concatenate([log0[None], log0[None] + np.cumsum(steps, axis=0)])
    dead = np.concatenate([np.zeros((1,) + log0.shape, bool),
                           np.logical_or.accumulate(~alive, axis=0)])
    out[dead] = LOG10_FLOOR
    return np.maximum(out, LOG10_FLOOR)


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
    module = get_cell(cell)
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
    get_cell("rnn").step_forward(x[:, 0], state0, params, **opts)   # validates every argument
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
    module = get_cell(cell)
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
    module = get_cell(cell)
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


# ----------------------------------------------------------------------------------------
# The sweep over rho (Elman RNN)
# ----------------------------------------------------------------------------------------

def _check_setup(H, T, N, D, input_scale, bias, family, seed, dtype):
    H = check_int("H", H, low=1)
    T = check_int("T", T, low=1)
    N = check_int("N", N, low=1)
    D = H if D is None else check_int("D", D, low=1)
    input_scale = check_positive("input_scale", input_scale, allow_zero=True)
    if isinstance(bias, bool) or not isinstance(bias, (int, float, np.integer, np.floating)) \
            or not np.isfinite(bias):
        raise ValueError(f"bias: expected a finite real number, received {bias!r}")
    check_choice("family", family, matrices.KINDS)
    seed = check_int("seed", seed, low=0)
    if np.dtype(dtype) not in (np.float32, np.float64):
        raise TypeError(f"dtype: expected float32 or float64, received {np.dtype(dtype)}")
    return H, T, N, D, input_scale, float(bias), seed, np.dtype(dtype)


def _inputs(H, T, N, D, input_scale, bias, seed, dtype):
    """x (N, T, D) = input_scale * N(0, 1), W_x ~ N(0, 1/D), b = bias (H,), u (H,): seeded."""
    W_x = np.random.default_rng([seed, 1]).standard_normal((H, D)) / np.sqrt(D)
    x = input_scale * np.random.default_rng([seed, 2]).standard_normal((N, T, D))
    return (x.astype(dtype), W_x.astype(dtype), np.full(H, bias, dtype),
            _start_vector(H, seed, dtype))


@functools.lru_cache(maxsize=16)
def _sweep_inputs(H, T, N, D, input_scale, bias, seed, dtype):
    """(xw (T, N, H) = x W_x^T + b, u (H,)) of _inputs, cached (read-only) like matrices._base:
    the explorer redraws with the same network many times."""
    x, W_x, b, u = _inputs(H, T, N, D, input_scale, bias, seed, dtype)
    return _frozen(_project(x, W_x, b)), _frozen(u)


def sweep_setup(rho, H=64, T=200, family="orthogonal", input_scale=1.0, N=1, D=None,
                bias=0.0, seed=0, dtype=np.float64):
    """The Elman RNN of one row of `sweep`: returns (x, state0, params, u).

    x (N, T, D) = input_scale * N(0, 1), params {"W_h": matrices.family(family, H, rho, seed),
    "W_x": N(0, 1/D), "b": bias}, state0 zeros, u the unit dL/dh_T. D defaults to H. So
    gradient_norms("rnn", x, state0, params, u, activation=...) reproduces a sweep row.
    """
    H, T, N, D, input_scale, bias, seed, dtype = _check_setup(H, T, N, D, input_scale, bias,
                                                              family, seed, dtype)
    x, W_x, b, u = _inputs(H, T, N, D, input_scale, bias, seed, dtype)
    W_h = matrices.family(family, H, rho, seed).astype(dtype)
    return x, {"h": np.zeros((N, H), dtype)}, {"W_h": W_h, "W_x": W_x, "b": b}, u


def _forward(B, rhos, xw, act, h0=None):
    """Elman forward for every rho at once: h_t = f(rho h_{t-1} B^T + xw_t), W_h = rho B.

    B (H, H), rhos (R,), xw (T, N, H) = x W_x^T + b, h0 (N, H) or zeros -> h (T, R, N, H).
    One (R*N, H) @ (H, H) matmul per step for all rows, written into the output buffer,
    then f in place. tanh and sigmoid go through one exp, which numpy evaluates ~3 times
    faster than tanh: tanh(a) = 2 / (1 + exp(-2a)) - 1 and sigmoid(a) = 1 / (1 + exp(-a)),
    with the -2 and -1 folded into the constants (exp = inf is the exact limit -1 or 0).
    They match np.tanh and activations.sigmoid to a few 1e-16 absolute, not bit for bit,
    and the matmul rounds differently from rho * B row by row: rows agree with per-rho
    computations to rounding, which the forward dynamics amplify where they are chaotic
    (exactly where gradients explode).
    ReLU and linear states can outgrow float64 (rho = 4, T = 5000): such a row is divided
    by a power of 2 (exact), and so are its later inputs, so the stored h_t is the state
    times 2^-e. Only f'(a_t) is read from it, and for ReLU and linear f' ignores the scale.
    """
    T, N, H = xw.shape
    R = rhos.size
    hs = np.empty((T, R, N, H), xw.dtype)
    r = rhos.astype(xw.dtype)[:, None, None]
    kind = act.name
    c, xz = {"tanh": (-2.0 * r, -2.0 * xw), "sigmoid": (-r, -xw)}.get(kind, (r, xw))
    c = np.ascontiguousarray(np.broadcast_to(c, (R, N, H)))  # a full array: ufuncs run faster
    h = np.zeros((R * N, H), xw.dtype)
    if h0 is not None:
        h.reshape(R, N, H)[...] = h0
    BT = B.T
    grows = kind in ("relu", "linear")
    big = 2.0 ** (np.finfo(xw.dtype).maxexp // 2)  # rescale a row once its state passes this
    shrink = None                                  # (R, N, 1): 2^-e per row, once one is rescaled
    with np.errstate(over="ignore"):               # exp(z) = inf: the limits -1 and 0 are exact
        for t in range(T):
            z = hs[t]                              # (R, N, H), becomes h_t in place
            _matmul(h, BT, out=z.reshape(R * N, H))
            z *= c
            z += xz[t] if shrink is None else xz[t] * shrink
            if kind == "tanh":                     # z = -2 a_t
                np.exp(z, out=z)
                z += 1.0
                np.divide(2.0, z, out=z)
                z -= 1.0
            elif kind == "sigmoid":                # z = -a_t
                np.exp(z, out=z)
                z += 1.0
                np.divide(1.0, z, out=z)
            elif kind == "relu":
                np.maximum(z, 0.0, out=z)
            elif kind != "linear":
                z[...] = act.f(z)
            if grows:
                m = np.max(np.abs(z), axis=2, keepdims=True)
                if (m > big).any():
                    k = np.exp2(-np.where(m > big, np.floor(np.log2(np.maximum(m, 1.0))), 0.0))
                    z *= k.astype(z.dtype)         # a power of 2: exact
                    shrink = k if shrink is None else shrink * k
            h = z.reshape(R * N, H)
    return hs


_LOG2E = 1.0 / np.log(2.0)
# The fast forward of tanh and sigmoid (_saturating_states) runs when every rho is 0 or in
# [lo, hi] (the sweep is made for [0, 4]); elsewhere the plain _forward does. tanh's fast path
# adds rho B (1 + h) and takes rho B 1 off again, an absolute rounding error of about 1e-16 rho
# in a_t, so it stops at 16, where _forward stays exact for h = 0 at any rho. f' comes out
# scaled by (kappa rho)^2: the sweep's backward runs with that scaled f' when every nonzero rho
# is at least _SCALED_LO (so 16 steps scale by no less than 1e-50), else with the true f'.
_FAST_RHO = {"tanh": (1e-100, 16.0), "sigmoid": (1e-100, 16.0)}
_SCALED_LO = 1e-2


def _fast(act, rhos, lo=None):
    if act.name not in _FAST_RHO:
        return False
    low, hi = _FAST_RHO[act.name]
    low = low if lo is None else max(low, lo)
    return bool(np.all((rhos == 0) | ((rhos >= low) & (rhos <= hi))))


_scratch = threading.local()
_SCRATCH_MAX = 64 << 20                           # bytes of scratch kept between calls, per thread


def _workspace(shape, dtype):
    """A scratch array for the sweep, reused by the next call of this thread (up to
    _SCRATCH_MAX bytes). A fresh 4 MiB array costs a page fault per 4 KiB on first touch,
    about 0.3 ms of a 10 ms sweep. Never returned to a caller: the sweep only reads its
    log norms out of it."""
    dtype = np.dtype(dtype)
    size = math.prod(shape)
    if size * dtype.itemsize > _SCRATCH_MAX:
        return np.empty(shape, dtype)
    buf = getattr(_scratch, "buf", None)
    if buf is None or buf.dtype != dtype or buf.size < size:
        buf = _scratch.buf = np.empty(size, dtype)
    return buf[:size].reshape(shape)


def _saturating_states(B, rhos, xw, act, h0=None, out=None):
    """The sweep's forward for tanh or sigmoid rows, W_h = rho B: (d, kappa).

    Five numpy calls per step besides copying x_t's projection in: one matmul, one exp2,
    one add, one divide, one copy. With k = 2, c = 1 for tanh (tanh(a) = 2 / (1 +
    exp(-2a)) - 1), k = 1, c = 0 for sigmoid, and kappa = k log2(e), the state is carried
    pre-scaled as s = -kappa rho (c + h). Then z = -kappa a_t = s @ B^T + kappa rho c B 1 -
    kappa xw_t is one matmul of the rows [s, kappa rho, e_n] (R*N, H + 1 + N) with [B^T;
    c B 1; -kappa xw_t] (e_n picks the row's sequence n), E = 1 + 2^z = 1 + exp(-k a_t),
    and c + h = k / E, so the next s = -q / E with q = k kappa rho. 2^z = inf is the exact
    limit (h = -1 or 0, f' = 0). The s of every step are kept (in place of z), and in
    blocks that stay in cache, without a division, turned into
        d = s (s + q) = -(kappa rho)^2 f'(a_t)      (tanh: 1 - h^2, sigmoid: h (1 - h)).
    Returns d (T, R*N, H), written into out if given, and kappa. Equal to _forward and
    df_from_out up to rounding (a few 1e-16 per step, relative to rho for tanh), which
    chaotic rows amplify.
    """
    T, N, H = xw.shape
    R = rhos.size
    M = R * N
    dt = xw.dtype
    tanh = act.name == "tanh"
    k = 2.0 if tanh else 1.0
    kappa = k * _LOG2E
    r = np.repeat(rhos.astype(dt), N)                              # rho of each row (M,)
    sa = np.zeros((M, H + 1 + N), dt)                              # rows [s, kappa rho, e_n]
    h = np.zeros((M, H), dt) if h0 is None else np.broadcast_to(h0, (R, N, H)).reshape(M, H)
    sa[:, :H] = -kappa * r[:, None] * ((1.0 + h) if tanh else h)
    sa[:, H] = kappa * r
    sa[np.arange(M), H + 1 + np.tile(np.arange(N), R)] = 1.0
    Ba = np.zeros((H + 1 + N, H), dt)                              # [B^T; c B 1; -kappa xw_t]
    Ba[:H] = B.T
    if tanh:
        Ba[H] = B.sum(axis=1)
    xz = np.multiply(xw, -kappa)
    tail = Ba[H + 1:]
    s = sa[:, :H]
    d = np.empty((T, M, H), dt) if out is None else out
    blk = max(1, min(T, (1 << 16) // (M * H)))     # blocks of steps: 2 x 512 KiB
    q = np.empty((blk, M, H), dt)
    q[...] = (k * kappa * r)[:, None]
    num = np.negative(q[0])                        # -q, (M, H)
    dot, exp2, divide = np.dot, np.exp2, np.divide
    with np.errstate(over="ignore"):               # 2^z = inf: the limits are exact
        for t in range(T):
            tail[...] = xz[t]
            z = d[t]
            dot(sa, Ba, z)
            exp2(z, z)
            z += 1.0
            divide(num, z, z)                      # s_t, contiguous
            s[...] = z
    w = np.empty_like(q)
    for i in range(0, T, blk):                     # d = s (s + q), block by block
        e = d[i:i + blk]
        wi = w[:e.shape[0]]
        np.add(e, q[:e.shape[0]], wi)
        e *= wi
    return d, kappa


def _dfs(B, rhos, xw, act, h0=None):
    """f'(a_t) (T, R*N, H) for every rho at once, W_h = rho B: the forward pass of the sweep."""
    T, N, H = xw.shape
    M = rhos.size * N
    if not _fast(act, rhos):
        return act.df_from_out(_forward(B, rhos, xw, act, h0)).reshape(T, M, H)
    d, kappa = _saturating_states(B, rhos, xw, act, h0)
    r = np.repeat(rhos, N)
    live = r > 0
    d *= np.where(live, -1.0 / (kappa * np.where(live, r, 1.0)) ** 2, 0.0).astype(d.dtype)[:, None]
    if not live.all():                             # W_h = 0: h_t = f(xw_t) whatever came before
        d[:, ~live] = np.tile(act.df_from_out(act.f(xw)), (1, rhos.size, 1))[:, ~live]
    return d


def _sweep_back(d, B, u, K=16):
    """log10 ||u^T prod diag(d_t) B|| after l = 0..T steps back, (T+1, M), or None.

    d (T, M, H) holds f'(a_t) per row, or a constant multiple c of it (|c| <= 2200 from
    _saturating_states), and is overwritten: the covector after each step is stored where
    the d_t it used was. It is divided by its norm every K steps (|d| <= 2200 and ||B|| < 3
    bound the growth to 1e62 in 16 steps; only d near 0 on every unit can shrink it past
    the float range) and all norms are taken in one pass at the end. Returns None if a norm
    left _safe_range; the caller then uses the careful, step-by-step _carry_back.
    """
    T, M, H = d.shape
    lo, hi = _safe_range(d.dtype)
    v = np.empty((M, H), d.dtype)
    v[...] = u
    w = np.empty_like(v)
    ns = np.ones((T // K + 1, M), d.dtype)         # the norms divided out, one per renormalisation
    n = np.empty((M, 1), d.dtype)
    floor = np.sqrt(lo)
    dot, multiply = np.dot, np.multiply
    with np.errstate(all="ignore"):                # anything odd is caught by the check below
        for t in range(T - 1, -1, -1):             # step T - t uses d_t
            dt = d[t]
            multiply(v, dt, w)
            dot(w, B, dt)                          # the covector after T - t steps, in place of d_t
            v = dt
            if (T - t) % K == 0:
                i = (T - t) // K
                np.einsum("ij,ij->i", v, v, out=ns[i])
                np.sqrt(ns[i], out=ns[i])
                np.maximum(ns[i][:, None], floor, out=n)   # a zero covector stays zero
                v /= n
    sq = np.einsum("tmh,tmh->tm", d, d)[::-1]      # squared norm after 1..T steps, (T, M)
    zero = sq == 0
    any_zero = zero.any()
    if any_zero and np.any(d[::-1][zero] != 0):    # a norm underflowed: not an exact zero
        return None
    ok = (sq > lo) & (sq < hi)
    if not ((ok | zero).all() if any_zero else ok.all()) or not np.isfinite(ns).all():
        return None
    ns = np.where(ns > 0, ns, 1.0).astype(np.float64)
    scale = np.cumsum(np.log10(ns), axis=0)        # log10 of what was divided out so far
    logs = np.zeros((T + 1, M))
    sq = np.where(zero, 1.0, sq) if any_zero else sq
    logs[1:] = 0.5 * np.log10(sq.astype(np.float64)) + scale[np.arange(1, T + 1) // K]
    if any_zero:
        logs[1:][np.logical_or.accumulate(zero, axis=0)] = LOG10_FLOOR
    return np.maximum(logs, LOG10_FLOOR)


def _sweep_logs(B, rhos, xw, act, u):
    """Forward and log-space backward of the sweep: log10 norms (T+1, R, N).

    diag(f'(a_t)) W_h = rho diag(f'(a_t)) B, so the backward pass runs with B and the
    factor rho^l goes back in at the end as l log10(rho) (LOG10_FLOOR for rho = 0, l > 0).
    tanh and sigmoid rows run with d = -(kappa rho)^2 f' as _saturating_states leaves it,
    and l log10 (kappa rho)^2 comes off as well.
    """
    T, N, H = xw.shape
    R = rhos.size
    factor = _safe_log10(rhos)                     # log10 of what each step of d lacks: rho
    if _fast(act, rhos, _SCALED_LO):               # d = -(kappa rho)^2 f', from the forward
        d, kappa = _saturating_states(B, rhos, xw, act, out=_workspace((T, R * N, H), xw.dtype))
        factor = np.where(rhos > 0, -np.log10(kappa ** 2 * np.where(rhos > 0, rhos, 1.0)),
                          LOG10_FLOOR)             # rho / (kappa rho)^2
    else:
        d = _dfs(B, rhos, xw, act)                                   # (T, R*N, H)
    logs = _sweep_back(d, B, u)
    if logs is None:                               # a norm left the float range: the careful path
        d = _dfs(B, rhos, xw, act)
        v = np.empty((R * N, H), xw.dtype)
        v[...] = u
        logs, _ = _carry_back(lambda v, j: (v * d[T - 1 - j]) @ B, v, T)
        factor = _safe_log10(rhos)
    logs = logs.reshape(T + 1, R, N)
    lags = np.arange(T + 1)[:, None, None]
    rho_part = np.where(lags == 0, 0.0, lags * factor[None, :, None])
    out = np.where((logs <= LOG10_FLOOR) | (rho_part <= LOG10_FLOOR), LOG10_FLOOR, logs + rho_part)
    return np.maximum(out, LOG10_FLOOR)


def _mean_log(logs, axis):
    """Mean of log10 values over `axis`; LOG10_FLOOR if any of them is the floor."""
    floored = (logs <= LOG10_FLOOR).any(axis=axis)
    return np.where(floored, LOG10_FLOOR, logs.mean(axis=axis))


def sweep(rhos, H=64, T=200, activation="tanh", family="orthogonal", input_scale=1.0, N=1,
          D=None, bias=0.0, seed=0, dtype=np.float64):
    """Gradient norm against lag for an Elman RNN at every spectral radius in rhos.

    W_h = rho * B with B = matrices.family(family, H, 1, seed), so only rho changes across
    rows; x = input_scale * N(0, 1) (N, T, D), W_x ~ N(0, 1/D), b = bias, h_0 = 0, all
    seeded; D defaults to H. The loss sits at the last step with dL/dh_T = u, a seeded unit
    vector. All rows run together: W_h = rho B lets one (R*N, H) @ (H, H) matmul per step
    serve every rho, forward and backward; f' comes from the stored (scaled) states, and
    the covector is renormalised every 16 steps (see _saturating_states, _forward and
    _sweep_back for the details that make it fast). Memory O(T R N H). Returns a Sweep;
    sweep_setup(rho, ...) rebuilds the network of one row for gradient_norms,
    jacobian_products or connectivity.
    """
    act = activations.get(activation)
    rhos = matrices.check_rhos("rhos", rhos)
    H, T, N, D, input_scale, bias, seed, dtype = _check_setup(H, T, N, D, input_scale, bias,
                                                              family, seed, dtype)
    xw, u = _sweep_inputs(H, T, N, D, input_scale, bias, seed, dtype)
    B = matrices._base(family, H, seed)[0].astype(dtype, copy=False)   # read-only, cached
    logs = _sweep_logs(B, rhos, xw, act, u)                          # (T+1, R, N)
    log10_norm = (logs[:, :, 0] if N == 1 else _mean_log(logs, axis=2)).T   # (R, T+1)
    ev, smax = matrices.base_spectrum(family, H, seed)
    sigma = rhos * smax
    lags = np.arange(T + 1)
    window = _default_window(lags)
    lagf = lags.astype(np.float64)
    return Sweep(rhos=_frozen(rhos.copy()), sigma_max=_frozen(sigma),
                 eigenvalues=_frozen(rhos[:, None] * ev[None]), lags=_frozen(lags),
                 log10_norm=_frozen(np.ascontiguousarray(log10_norm)),
                 log10_sv_bound=_frozen(_bound(lags, act.gamma * sigma)),
                 rate=_frozen(_slope_rate(log10_norm, lagf, (lagf >= window[0]) & (lagf <= window[1]))),
                 rate_window=window,
                 gamma=act.gamma, activation=act.name, family=family, input_scale=input_scale,
                 T=T, H=H, N=N, D=D, bias=bias, seed=seed, dtype=dtype.name)


def _default_window(lags):
    """The last half of the lags (at least the last two): (lo, hi), inclusive."""
    top = float(np.max(lags))
    return (min(float(top // 2), top - 1.0), top)


def decay_rate(log10_norm, lags, window=None):
    """Least-squares slope of ln ||.|| per step over a window of lags: the top Lyapunov exponent.

    log10_norm (L,) or (R, L) over lags (L,); window (lo, hi), inclusive lag range, default
    the last half of the lags. Returns a float or (R,). Negative: vanishing. Rows whose window
    holds LOG10_FLOOR (the gradient reached exactly zero: rate -inf) give RATE_FLOOR.
    """
    y = np.asarray(log10_norm, dtype=np.float64)
    lags = np.asarray(lags, dtype=np.float64)
    if lags.ndim != 1 or y.ndim not in (1, 2) or y.shape[-1] != lags.size:
        raise ValueError(f"log10_norm: expected shape (L,) or (R, L) matching lags ({lags.size},), "
                         f"received {y.shape}")
    if not (np.isfinite(y).all() and np.isfinite(lags).all()):
        raise ValueError("log10_norm: expected finite values (exact zeros are LOG10_FLOOR)")
    lo, hi = _default_window(lags) if window is None else window
    sel = (lags >= lo) & (lags <= hi)
    if np.unique(lags[sel]).size < 2:
        raise ValueError(f"window: expected a lag range holding at least 2 lags, received {window}")
    return _slope_rate(y, lags, sel)


def _slope_rate(y, lags, sel):
    """decay_rate after its checks: y (..., L) finite log10 norms, sel (L,) the window."""
    lc = lags[sel] - lags[sel].mean()
    ys = y[..., sel]
    slope = (ys - ys.mean(axis=-1, keepdims=True)) @ lc / (lc @ lc)
    rate = np.where((ys <= LOG10_FLOOR).any(axis=-1), RATE_FLOOR, _LN10 * slope)
    return float(rate) if rate.ndim == 0 else rate


def exact_spectral_norms(rho, H=64, T=200, activation="tanh", family="orthogonal",
                         input_scale=1.0, seed=0, N=1, D=None, bias=0.0):
    """log10 ||dh_T/dh_{T-l}||_2 for l = 0..T (indexed by lag, like Sweep.log10_norm), one rho.

    The same network and inputs as sweep's row for rho (same seeds, x, W_x and forward code:
    identical to sweep([rho], ...), and to a row of a many-rho sweep up to rounding). The
    matrix product is carried backwards, renormalised (Frobenius) at each step, and its
    largest singular value is taken by SVD at every lag: O(T H^3), on demand only. With
    N > 1 the log norms are averaged over the sequences. Exact zeros are LOG10_FLOOR.
    It bounds the sweep's curve from above: ||P^T u|| <= ||P||_2 for a unit u.
    """
    act = activations.get(activation)
    rho = matrices.check_rhos("rho", rho)
    if rho.size != 1:
        raise ValueError(f"rho: expected one spectral radius, received {rho.size}")
    H, T, N, D, input_scale, bias, seed, dtype = _check_setup(H, T, N, D, input_scale, bias,
                                                              family, seed, np.float64)
    x, W_x, b, _ = _inputs(H, T, N, D, input_scale, bias, seed, dtype)
    B = matrices._base(family, H, seed)[0]
    dfs = _dfs(B, rho, _project(x, W_x, b), act)                     # (T, N, H), R = 1
    P = np.broadcast_to(np.eye(H), (N, H, H)).copy()                 # dh_T/dh_T
    steps, alive = np.zeros((T, N)), np.ones((T, N), bool)
    top = np.zeros((T + 1, N))                     # log10 sigma_1 of the normalised product
    for j in range(T):                             # P: dh_T/dh_k -> dh_T/dh_{k-1}, k = T - j
        P = (P * dfs[T - 1 - j][:, None, :]) @ B   # P diag(f'(a_k)) W_h / rho
        steps[j], alive[j] = _renorm(P.reshape(N, H * H))
        top[j + 1] = _safe_log10(np.linalg.svd(P, compute_uv=False)[:, 0])
    scale = _accumulate(np.zeros(N), steps, alive)                   # (T+1, N)
    lags = np.arange(T + 1)[:, None]
    rho_part = np.where(lags == 0, 0.0, lags * _safe_log10(rho[0]))  # the rho^l taken out of P
    dead = (scale <= LOG10_FLOOR) | (rho_part <= LOG10_FLOOR)
    logs = np.where(dead, LOG10_FLOOR, np.maximum(scale + top + rho_part, LOG10_FLOOR))
    return _mean_log(logs, axis=1)


# ----------------------------------------------------------------------------------------
# Bounds and the linear case
# ----------------------------------------------------------------------------------------

def _check_lags(lags):
    arr = np.asarray(lags)
    if arr.dtype.kind not in "iuf" or arr.ndim > 1 or not np.isfinite(arr).all() or (arr < 0).any():
        raise ValueError(f"lags: expected finite lags >= 0 in a 1-d array, received {lags!r}")
    return arr.astype(np.float64)


def _bound(lags, factor):
    """l * log10(factor) for lags (L,) and factors (R,) or scalar, floored; 0 at l = 0."""
    lags = np.asarray(lags, np.float64)
    logf = _safe_log10(np.asarray(factor, np.float64))
    out = np.multiply.outer(logf, lags) if logf.ndim else logf * lags
    out = np.where(lags == 0, 0.0, out)
    return np.maximum(out, LOG10_FLOOR)


def singular_value_bound(W_h, activation, lags):
    """Pascanu et al.: log10 ||dh_t/dh_k||_2 <= l log10(gamma sigma_max(W_h)), l = t - k.

    Returns log10 of the bound at each lag, (L,) (LOG10_FLOOR if sigma_max = 0).
    """
    W_h = matrices.check_square("W_h", W_h)
    gamma = activations.gamma(activation)
    return _bound(_check_lags(lags), gamma * matrices.sigma_max(W_h))


def hochreiter_bound(W_h, activation, lags):
    """Hochreiter (seed 002, eqs 1.63-1.67): l log10(H gamma max|w_ij|), (L,) in log10.

    It bounds the max-norm of dh_t/dh_k and, since sigma_max <= ||W_h||_F <= H max|w_ij|,
    also its spectral norm, so it always lies above singular_value_bound: weaker.
    """
    W_h = matrices.check_square("W_h", W_h)
    gamma = activations.gamma(activation)
    return _bound(_check_lags(lags), W_h.shape[0] * gamma * float(np.max(np.abs(W_h))))


def pascanu_regime(W_h, activation):
    """Which of Pascanu et al.'s conditions W_h meets, with the numbers, as a dict.

    sigma_max < 1/gamma: vanishing is guaranteed (a sufficient condition); sigma_max > 1/gamma:
    explosion is possible (the necessary condition holds, nothing is guaranteed). The
    threshold 1/gamma is 4 for sigmoid and 1 for tanh, relu and linear.
    """
    W_h = matrices.check_square("W_h", W_h)
    gamma = activations.gamma(activation)
    smax, rho = matrices.sigma_max(W_h), matrices.spectral_radius(W_h)
    threshold = 1.0 / gamma
    if smax < threshold:
        regime, text = "vanishing", (
            f"sigma_max = {smax:.4g} < 1/gamma = {threshold:g}: gradients vanish at least as "
            f"fast as ({gamma * smax:.4g})^l (the sufficient condition holds)")
    elif smax > threshold:
        regime, text = "explosion possible", (
            f"sigma_max = {smax:.4g} > 1/gamma = {threshold:g}: the necessary condition for "
            f"explosion holds; whether gradients explode depends on rho, saturation and the inputs")
    else:
        regime, text = "boundary", f"sigma_max = 1/gamma = {threshold:g}: on the boundary"
    return {"regime": regime, "sigma_max": smax, "rho": rho, "gamma": gamma,
            "threshold": threshold, "gamma_sigma_max": gamma * smax, "statement": text}


def transient_growth(W_h, L):
    """log10 ||W_h^l||_2 for l = 0..L, (L+1,): the linear RNN's Jacobian products.

    The power is renormalised at each step (so rho = 4 and L = 5000 are fine) and its norm
    taken by SVD. ||W^l||^(1/l) -> rho, but a non-normal W_h can grow for many steps first.
    """
    W_h = matrices.check_square("W_h", W_h).astype(np.float64)
    L = check_int("L", L, low=0)
    H = W_h.shape[0]
    P = np.eye(H)
    steps, alive = np.zeros((L, 1)), np.ones((L, 1), bool)
    top = np.zeros((L + 1, 1))
    for j in range(L):
        P = P @ W_h
        steps[j], alive[j] = _renorm(P.reshape(1, H * H))
        top[j + 1] = _safe_log10(np.linalg.svd(P, compute_uv=False)[:1])
    scale = _accumulate(np.zeros(1), steps, alive)
    return np.where(scale <= LOG10_FLOOR, LOG10_FLOOR, np.maximum(scale + top, LOG10_FLOOR))[:, 0]
