"""The sweep: gradient norm against lag for a batch of spectral radii at once, for every cell.

Conventions as in gradflow.jacobians: log10 norms indexed by lag l = T - k for a loss at the
last step T; rates are natural logs per step (gradflow.logspace.decay_rate).
"""
import functools
from dataclasses import dataclass, field

import numpy as np

from ..nn import activations, matrices
from .. import cells
from . import networks, radii, traces
from .bounds import geometric_bound
from .logspace import (LOG10_FLOOR, carry_back, decay_rate, default_window, frozen, mean_log,
                       product_norms, safe_log10)

carry = cells.elman.carry

@dataclass(frozen=True, eq=False)
class Sweep:
    """Gradient norm against lag, one row per spectral radius rho of the recurrent weights.

    rhos (R,); lags (T+1,) = 0..T; log10_norm (R, T+1): log10 ||dL/dstate_{T-l}|| for
    dL/dh_T = u, a fixed seeded unit vector, averaged (as a log) over the N sequences,
    LOG10_FLOOR where the gradient is exactly zero for any sequence; the state is h, or
    [h; C] for the LSTM. log10_norm_h (R, T+1): the h part, dL/dh_{T-l} (the same array as
    log10_norm unless the cell is the LSTM); log10_norm_c (R, T+1): the LSTM's C part,
    dL/dC_{T-l}, the gradient that reaches C through the carousel (LOG10_FLOOR at l = 0;
    None for other cells). rate (R,): decay_rate of log10_norm over rate_window, the top
    Lyapunov exponent (natural log per step; < 0 vanishing; RATE_FLOOR for a row that
    reaches exactly zero). The arrays are read-only.
    What rho scales (gradflow.networks): scaled names the recurrent blocks, every one
    rho * B_j with rho(B_j) = 1; block_sigma_max (R, G) their largest singular values,
    sigma_max (R,) the largest of them, eigenvalues (R, G*H) complex those of every block,
    sorted by modulus (for the Elman RNN: W_h's, (R, H)).
    Elman RNN only (None for gated cells): log10_sv_bound (R, T+1) = l log10(gamma
    sigma_max), the Pascanu et al. bound the curves must stay under; gamma, activation,
    threshold = 1/gamma. LSTM only: forget_bias. GRU only: form.
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
    cell: str = "rnn"
    form: str = None
    forget_bias: float = None
    scaled: tuple = ("W_h",)
    block_sigma_max: np.ndarray = None
    log10_norm_h: np.ndarray = None
    log10_norm_c: np.ndarray = None

    @property
    def threshold(self):
        """1/gamma: sigma_max below it guarantees vanishing, above it explosion is possible
        (Elman RNN; None for gated cells, which have no such threshold)."""
        return None if self.gamma is None else 1.0 / self.gamma

    def __repr__(self):
        what = {"rnn": self.activation, "gru": f"gru {self.form}", "lstm": "lstm"}[self.cell]
        if self.cell == "lstm":
            what += f", forget_bias={self.forget_bias:g}"
        return (f"Sweep({what}, {self.family}, R={self.rhos.size}, "
                f"rho {self.rhos.min():g}..{self.rhos.max():g}, H={self.H}, T={self.T}, "
                f"N={self.N}, input_scale={self.input_scale:g})")

# ----------------------------------------------------------------------------------------
# The sweep over rho
# ----------------------------------------------------------------------------------------

def sweep(rhos, H=64, T=200, activation=None, family="orthogonal", input_scale=1.0, N=1,
          D=None, bias=0.0, seed=0, dtype=np.float64, *, cell="rnn", form=None,
          forget_bias=None):
    """Gradient norm against lag at every spectral radius in rhos, for any cell.

    cell: 'rnn' (the Elman RNN; activation, default 'tanh'), 'lstm' (forget_bias, default
    1.0) or 'gru' (form 'sources', the default, or 'cudnn'). The network (gradflow.networks
    says it exactly): every recurrent block is rho * B_j for a fixed seeded base B_j with
    rho(B_j) = 1 from matrices.base, so only rho changes across rows; x = input_scale *
    N(0, 1) (N, T, D), input weights N(0, 1/D), biases = bias, h_0 = 0, all seeded; D
    defaults to H. The loss sits at the last step with dL/dh_T = u, a seeded unit vector.
    All rows run together, vectorised over rho:
      rnn: W_h = rho B lets one (R*N, H) @ (H, H) matmul per step serve every rho, forward
        and backward (radii: the cell's step, or radii_fast for tanh and sigmoid, then the
        cell's carry with f' from the stored states, the covector renormalised every 16
        steps);
      gated cells: the cell's own step functions (traces) on states (R, N, H): the GRU
        with its recurrent weights stacked, one (3H, H) set per rho; the LSTM, whose
        h_{t-1} enters only through W_h h_{t-1} = B (rho h_{t-1}), with one shared B and
        rho taken into the state (one matmul per step); then the cell's step back on the
        covectors [dL/dh; dL/dC].
    Memory O(T R N H): about T R N H floats for the Elman RNN (f' and the covectors share
    one buffer), 8 T R N H for the LSTM and 6 for the GRU (trace and covectors).
    Returns a Sweep; sweep_setup(rho, ...) rebuilds the network of one row for gradient_norms, jacobian_products or
    connectivity.
    """
    cell, opts, forget_bias = networks.check_cell(cell, activation, form, forget_bias)
    rhos = matrices.check_rhos("rhos", rhos)
    H, T, N, D, input_scale, bias, seed, dtype = networks.check_setup(
        H, T, N, D, input_scale, bias, family, seed, dtype)
    xw, b_h, u = networks.cached_inputs(cell, opts.get("form"), H, T, N, D, input_scale, bias,
                                        forget_bias, seed, dtype)
    B, ev, smax = _cached_bases(cell, family, H, seed)
    if cell == "rnn":
        act = activations.get(opts["activation"])
        logs = radii.sweep_logs(B.astype(dtype, copy=False), rhos, xw, act, u)   # (T+1, R, N)
        parts = []
    else:
        logs, parts = _gated_logs(cell, opts, B.astype(dtype), rhos, xw, b_h, u)
    mean = (lambda a: a[:, :, 0].T) if N == 1 else (lambda a: mean_log(a, axis=2).T)
    log10_norm = np.ascontiguousarray(mean(logs))                          # (R, T+1)
    block_sigma = rhos[:, None] * smax[None]                               # (R, G)
    sigma = block_sigma.max(axis=1)
    eig = ev.reshape(-1)
    eig = eig[np.argsort(-np.abs(eig), kind="stable")]
    lags = np.arange(T + 1)
    window = default_window(lags)
    lagf = lags.astype(np.float64)
    rate = decay_rate(log10_norm, lagf, window, check=False)
    h_part = frozen(log10_norm) if cell != "lstm" else frozen(np.ascontiguousarray(mean(parts[0])))
    is_elman = cell == "rnn"
    gamma = act.gamma if is_elman else None
    return Sweep(rhos=frozen(rhos.copy()), sigma_max=frozen(sigma),
                 eigenvalues=frozen(rhos[:, None] * eig[None]), lags=frozen(lags),
                 log10_norm=frozen(log10_norm),
                 log10_sv_bound=frozen(geometric_bound(lags, gamma * sigma)) if is_elman else None,
                 rate=frozen(rate), rate_window=window, gamma=gamma,
                 activation=act.name if is_elman else None, family=family,
                 input_scale=input_scale, T=T, H=H, N=N, D=D, bias=bias, seed=seed,
                 dtype=dtype.name, cell=cell, form=opts.get("form"), forget_bias=forget_bias,
                 scaled=networks.scaled_blocks(cell, opts), block_sigma_max=frozen(block_sigma),
                 log10_norm_h=h_part,
                 log10_norm_c=frozen(np.ascontiguousarray(mean(parts[1]))) if cell == "lstm" else None)


@functools.lru_cache(maxsize=16)
def _cached_bases(cell, family, H, seed):
    """networks.bases, read-only and cached (the explorer asks for the same ones again)."""
    B, ev, smax = networks.bases(cell, family, H, seed)
    return frozen(B), frozen(ev), frozen(smax)


def _gated_logs(cell, opts, B, rhos, xw, b_h, u):
    """A gated cell's forward and log-space backward for every rho at once.

    W (R, G*H, H) = rho_r B (the LSTM: B, with rho taken into the state); states (R, N, H); the trace of traces.run holds what the
    cell's step back reads; covectors (R*N, S) = [dL/dh; dL/dC] carried by the one
    carrier. Returns (log10 norms (T+1, R, N), [h part, C part] for the LSTM, else [])."""
    T, N, GH = xw.shape
    H = B.shape[1]
    R = rhos.size
    keys = cells.get(cell).STATE_KEYS
    S = H * len(keys)
    r = rhos.astype(B.dtype)[:, None, None]
    # the LSTM takes rho into the state (traces.run); the GRU needs one W per rho
    W, rho = (B, r) if cell == "lstm" else (r * B, None)                  # (R, G*H, H)
    start = tuple(np.zeros((R, N, H), xw.dtype) for _ in keys)
    trace = traces.run(cell, xw, start, W, b_h, opts, rho)
    v = np.zeros((R * N, S), xw.dtype)
    v[:, :H] = u

    step = traces.covector_step(cell, trace, W, opts, T, H, (R, N), rho)
    blocks = [slice(i * H, (i + 1) * H) for i in range(len(keys))] if len(keys) > 1 else None
    logs, parts = carry_back(step, v, T, blocks=blocks, keep=True)
    return logs.reshape(T + 1, R, N), [p.reshape(T + 1, R, N) for p in parts]


def exact_spectral_norms(rho, H=64, T=200, activation="tanh", family="orthogonal",
                         input_scale=1.0, seed=0, N=1, D=None, bias=0.0):
    """log10 ||dh_T/dh_{T-l}||_2 for l = 0..T (indexed by lag, like Sweep.log10_norm), one rho.

    The same network and inputs as sweep's row for rho (same seeds, x, W_x and forward code:
    identical to sweep([rho], ...), and to a row of a many-rho sweep up to rounding). The
    matrix product is carried backwards by elman.carry and its spectral norm taken by
    logspace.product_norms (renormalised, SVD at every lag): O(T H^3), on demand only. With
    N > 1 the log norms are averaged over the sequences. Exact zeros are LOG10_FLOOR.
    It bounds the sweep's curve from above: ||P^T u|| <= ||P||_2 for a unit u.
    """
    act = activations.get(activation)
    rho = matrices.check_rhos("rho", rho)
    if rho.size != 1:
        raise ValueError(f"rho: expected one spectral radius, received {rho.size}")
    H, T, N, D, input_scale, bias, seed, dtype = networks.check_setup(
        H, T, N, D, input_scale, bias, family, seed, np.float64)
    xw, _, _ = networks.cached_inputs("rnn", None, H, T, N, D, input_scale, bias, None, seed, dtype)
    B = matrices.base(family, H, seed)
    dfs = radii.derivatives(B, rho, xw, act)                         # (T, N, H), R = 1
    P = np.broadcast_to(np.eye(H), (N, H, H)).copy()                 # dh_T/dh_T

    def step(P, j):                                # dh_T/dh_k -> dh_T/dh_{k-1}, k = T - j:
        return carry(P, dfs[T - 1 - j][:, None, :], B)[1]            # P diag(f'(a_k)) W_h / rho

    norms = product_norms(step, P, T)                                # (T+1, N)
    lags = np.arange(T + 1)[:, None]
    rho_part = np.where(lags == 0, 0.0, lags * safe_log10(rho[0]))  # the rho^l taken out of P
    dead = (norms <= LOG10_FLOOR) | (rho_part <= LOG10_FLOOR)
    logs = np.where(dead, LOG10_FLOOR, np.maximum(norms + rho_part, LOG10_FLOOR))
    return mean_log(logs, axis=1)
