"""The sweep: gradient norm against lag for a batch of spectral radii of W_h at once.

Conventions as in gradflow.jacobians: log10 norms indexed by lag l = T - k for a loss at the
last step T; rates are natural logs per step (gradflow.logspace.decay_rate).
"""
import functools
from dataclasses import dataclass, field

import numpy as np

from .. import activations, matrices
from ..validate import check_choice, check_int, check_positive
from .batched import _dfs, _project, _sweep_logs
from .jacobians import _start_vector
from .logspace import (LOG10_FLOOR, _accumulate, _bound, _default_window, _frozen, _mean_log,
                       _renorm, _safe_log10, _slope_rate)

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
    """(xw (T, N, H) = x W_x^T + b, u (H,)) of _inputs, cached (read-only) like matrices.base:
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
    B = matrices.base(family, H, seed).astype(dtype, copy=False)   # read-only, cached
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
    B = matrices.base(family, H, seed)
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
