"""Log-space arithmetic for gradients that under- or overflow float64.

Norms of long Jacobian products under- or overflow float64 well before T = 1000, so every
function that follows a gradient over many steps renormalises the vector (or matrix) as it
goes and adds up log10 of the norms it divides out. Results are log10 values, finite for
any T and any finite rho, with no floating-point warning. Every covector that gradflow
carries back (gradient_norms of any cell, the sweep of any cell) goes through the one
carrier here, carry_back, and every spectral norm of a matrix product (exact_spectral_norms,
transient_growth) through product_norms; only jacobian_products and connectivity, which
return the products themselves, renormalise with renorm in their own loops. The helpers
here are unchecked: gradflow's public functions check at their edge, then call them.
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

def frozen(a):
    """a as a read-only array (in place: the caller hands it over)."""
    a = np.asarray(a)
    a.setflags(write=False)
    return a

def safe_log10(x):
    """log10 of non-negative x, LOG10_FLOOR where x == 0 (no warning)."""
    x = np.asarray(x, np.float64)
    out = np.full(x.shape, LOG10_FLOOR)
    np.log10(x, out=out, where=x > 0)
    return np.maximum(out, LOG10_FLOOR)


def log10_norms(a):
    """log10 of the 2-norm of each row of a (M, K), computed without under- or overflow."""
    m = np.max(np.abs(a), axis=1)
    alive = m > 0
    m = np.where(alive, m, 1.0)
    s = np.einsum("ij,ij->i", a / m[:, None], a / m[:, None])
    return np.where(alive, np.log10(m) + 0.5 * np.log10(np.where(alive, s, 1.0)), LOG10_FLOOR)


def renorm(v):
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


_STORE_MAX = 32 << 20        # bytes: a carrier keeps every step's covector up to this size


def carry_back(step, v, T, blocks=None, K=16, store=None, keep=False):
    """The one backward carrier: log10 norms of covectors v (M, S) carried back T steps.

    v: unit covectors (the caller adds log10 of their norms). step(v, j, out) writes the
    covector one step further back (j = 0..T-1 steps taken so far) into out (M, S); it
    reads v and must not modify it. blocks: slices of the S entries whose norms are wanted
    as well (the h and C parts of the LSTM's state).
    Fast mode: the covector is divided by its norm every K steps only, and the squared
    norms are logged in one pass at the end. With store (T, M, S), step j writes into
    store[j] (step may read store[j] before writing it: the Elman sweep keeps its f' there)
    and the norms are taken from store at the end; otherwise after each step. If a squared
    norm left _safe_range without the vector being exactly zero (digits may have been
    lost), the pass is redone with K = 1 and the max-scaled renorm, or, with store, None
    is returned (step may have consumed what it reads; the caller rebuilds it and calls
    again without store). keep=True: step can be run again, and the carrier keeps every
    covector in a store of its own (up to _STORE_MAX bytes) so that the norms cost one pass.
    Returns (logs (T+1, M), [block logs (T+1, M) per block]); 0 at l = 0 for logs,
    LOG10_FLOOR once a row (or a block) is exactly zero.
    """
    blocks = [] if blocks is None else list(blocks)
    parts = blocks or [slice(None)]
    own = keep and store is None and T * v.size * v.itemsize <= _STORE_MAX
    out = _carry_fast(step, v, T, parts, K, np.empty((T,) + v.shape, v.dtype) if own else store)
    if out is None and (store is None or own):
        out = _carry_careful(step, v, T, parts)
    if out is None:
        return None
    logs, part_logs = out
    return logs, (part_logs if blocks else [])


def _carry_fast(step, v, T, parts, K, store):
    """carry_back's fast mode; None if a norm left the safe range (or underflowed)."""
    M, S = v.shape
    dt = v.dtype
    lo, hi = _safe_range(dt)
    pq = np.ones((len(parts), T + 1, M), dt)      # squared norms of the parts after each step
    nq = np.ones((T // K + 1, M), dt)              # squared norms divided out, one per renormalisation
    bufs = [v.copy(), np.empty_like(v)]
    cur = bufs[0]
    n = np.empty((M, 1), dt)
    floor = np.sqrt(lo)
    with np.errstate(all="ignore"):                # anything odd is caught by the checks below
        for b, p in enumerate(parts):
            np.einsum("ij,ij->i", cur[:, p], cur[:, p], out=pq[b, 0])
        if not _exact_zeros(cur, parts, pq[:, 0]):
            return None
        for j in range(T):
            nxt = bufs[(j + 1) % 2] if store is None else store[j]
            step(cur, j, nxt)
            cur = nxt
            last = (j + 1) % K == 0
            if store is None or last:
                for b, p in enumerate(parts):
                    np.einsum("ij,ij->i", cur[:, p], cur[:, p], out=pq[b, j + 1])
                if not _exact_zeros(cur, parts, pq[:, j + 1]):
                    return None                    # a norm underflowed: not an exact zero
            if last:
                sq = nq[(j + 1) // K] = pq[:, j + 1].sum(axis=0)
                np.maximum(np.sqrt(sq)[:, None], floor, out=n)   # a zero covector stays zero
                cur /= n
                pq[:, j + 1] /= np.maximum(sq, lo)
        if store is not None:                      # every step's norm in one pass; the
            for b, p in enumerate(parts):          # renormalised ones are unit vectors now
                np.einsum("tij,tij->ti", store[:, :, p], store[:, :, p], out=pq[b, 1:])
                zero = pq[b, 1:] == 0
                if zero.any() and np.any(store[:, :, p][zero] != 0):
                    return None
    total = pq.sum(axis=0)                         # (T+1, M)
    zero = total == 0
    fine = ((zero | ((total > lo) & (total < hi))).all()
            and ((nq == 0) | ((nq > lo) & (nq < hi))).all()
            and ((pq == 0) | (pq > lo)).all())
    if not fine:
        return None
    divided = 0.5 * np.log10(np.where(nq > 0, nq, 1.0).astype(np.float64))   # nq[0] = 1: unused
    scale = np.cumsum(divided, axis=0)[np.arange(T + 1) // K]                # (T+1, M)
    dead = np.logical_or.accumulate(zero, axis=0)

    def logs_of(q):
        lg = 0.5 * np.log10(np.where(q > 0, q, 1.0).astype(np.float64)) + scale
        return np.maximum(np.where(dead | (q == 0), LOG10_FLOOR, lg), LOG10_FLOOR)

    return logs_of(total), [logs_of(q) for q in pq]


def _exact_zeros(v, parts, pq):
    """True unless a part of some row has squared norm 0 (pq (P, M)) without being all zeros."""
    if pq.all():
        return True
    return all(not np.any(v[:, p][pq[b] == 0] != 0) for b, p in enumerate(parts))


def _carry_careful(step, v, T, parts):
    """_carry_fast's fallback: renormalised after every step, with the max-scaled renorm."""
    M = v.shape[0]
    steps, alive = np.zeros((T, M)), np.ones((T, M), bool)
    part_logs = np.zeros((len(parts), T + 1, M))
    cur, nxt = v.copy(), np.empty_like(v)
    for b, p in enumerate(parts):
        part_logs[b, 0] = log10_norms(cur[:, p])
    for j in range(T):
        step(cur, j, nxt)
        cur, nxt = nxt, cur
        steps[j], alive[j] = renorm(cur)
        for b, p in enumerate(parts):
            part_logs[b, j + 1] = log10_norms(cur[:, p])
    logs = accumulate(np.zeros(M), steps, alive)
    dead = (logs <= LOG10_FLOOR)[None] | (part_logs <= LOG10_FLOOR)
    part_logs = np.maximum(np.where(dead, LOG10_FLOOR, part_logs + logs[None]), LOG10_FLOOR)
    return logs, list(part_logs)


def product_norms(step, P, L):
    """The one matrix carrier: log10 ||P_l||_2 for l = 0..L, (L+1, M), unchecked.

    P (M, S, S): M products at once, P_0 = P; step(P, j) returns P_{j+1} from P_j (a new
    array). Each product is renormalised (Frobenius) after every step, so L = 5000 neither
    under- nor overflows, and its largest singular value is taken by SVD: O(L M S^3), for
    the exact spectral norms only. Exact zeros are LOG10_FLOOR.
    """
    M = P.shape[0]
    steps, alive = np.zeros((L, M)), np.ones((L, M), bool)
    top = np.zeros((L + 1, M))                     # log10 sigma_1 of the renormalised product
    top[0] = safe_log10(np.linalg.svd(P, compute_uv=False)[:, 0])
    for j in range(L):
        P = step(P, j)
        steps[j], alive[j] = renorm(P.reshape(M, -1))
        top[j + 1] = safe_log10(np.linalg.svd(P, compute_uv=False)[:, 0])
    scale = accumulate(np.zeros(M), steps, alive)
    return np.where(scale <= LOG10_FLOOR, LOG10_FLOOR, np.maximum(scale + top, LOG10_FLOOR))


def accumulate(log0, steps, alive):
    """Running log10 norms from per-step factors: log0 (M,), steps and alive (L, M) -> (L+1, M)."""
    out = np.concatenate([log0[None], log0[None] + np.cumsum(steps, axis=0)])
    dead = np.concatenate([np.zeros((1,) + log0.shape, bool),
                           np.logical_or.accumulate(~alive, axis=0)])
    out[dead] = LOG10_FLOOR
    return np.maximum(out, LOG10_FLOOR)

def mean_log(logs, axis):
    """Mean of log10 values over `axis`; LOG10_FLOOR if any of them is the floor."""
    floored = (logs <= LOG10_FLOOR).any(axis=axis)
    return np.where(floored, LOG10_FLOOR, logs.mean(axis=axis))

def default_window(lags):
    """The last half of the lags (at least the last two): (lo, hi), inclusive."""
    top = float(np.max(lags))
    return (min(float(top // 2), top - 1.0), top)


def decay_rate(log10_norm, lags, window=None, check=True):
    """Least-squares slope of ln ||.|| per step over a window of lags: the top Lyapunov exponent.

    log10_norm (L,) or (R, L) over lags (L,); window (lo, hi), inclusive lag range, default
    the last half of the lags. Returns a float or (R,). Negative: vanishing. Rows whose window
    holds LOG10_FLOOR (the gradient reached exactly zero: rate -inf) give RATE_FLOOR.
    check=False (internal callers): finite float64 arrays of matching shapes and a window
    holding at least two lags are assumed.
    """
    if check:
        log10_norm = np.asarray(log10_norm, dtype=np.float64)
        lags = np.asarray(lags, dtype=np.float64)
        if lags.ndim != 1 or log10_norm.ndim not in (1, 2) or log10_norm.shape[-1] != lags.size:
            raise ValueError(f"log10_norm: expected shape (L,) or (R, L) matching lags ({lags.size},), "
                             f"received {log10_norm.shape}")
        if not (np.isfinite(log10_norm).all() and np.isfinite(lags).all()):
            raise ValueError("log10_norm: expected finite values (exact zeros are LOG10_FLOOR)")
    lo, hi = default_window(lags) if window is None else window
    sel = (lags >= lo) & (lags <= hi)
    if check and np.unique(lags[sel]).size < 2:
        raise ValueError(f"window: expected a lag range holding at least 2 lags, received {window}")
    lc = lags[sel] - lags[sel].mean()
    ys = log10_norm[..., sel]
    slope = (ys - ys.mean(axis=-1, keepdims=True)) @ lc / (lc @ lc)
    rate = np.where((ys <= LOG10_FLOOR).any(axis=-1), RATE_FLOOR, _LN10 * slope)
    return float(rate) if rate.ndim == 0 else rate
