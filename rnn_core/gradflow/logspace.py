"""Log-space arithmetic for gradients that under- or overflow float64.

Norms of long Jacobian products under- or overflow float64 well before T = 1000, so every
function that follows a gradient over many steps renormalises the vector (or matrix) as it
goes and adds up log10 of the norms it divides out. Results are log10 values, finite for
any T and any finite rho, with no floating-point warning.
An exactly zero gradient (rho = 0, every ReLU unit off) has log10 = -inf. It is reported
as the finite LOG10_FLOOR = -1e6 instead (anything smaller is clipped to it, which takes a
factor below 1e-200 per step over 5000 steps), so no result is NaN or -inf; plots should
clip (np.maximum(y, -1000)) or mask (y <= LOG10_FLOOR). decay_rate reports RATE_FLOOR there.
"""
import math

import numpy as np

LOG10_FLOOR = -1.0e6          # log10 of an exactly zero norm (and the lower clip of every result)
RATE_FLOOR = LOG10_FLOOR * math.log(10.0)   # decay_rate of a gradient that reaches exactly zero
_LN10 = math.log(10.0)

def _frozen(a):
    a = np.asarray(a)
    a.setflags(write=False)
    return a

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

def _mean_log(logs, axis):
    """Mean of log10 values over `axis`; LOG10_FLOOR if any of them is the floor."""
    floored = (logs <= LOG10_FLOOR).any(axis=axis)
    return np.where(floored, LOG10_FLOOR, logs.mean(axis=axis))

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
