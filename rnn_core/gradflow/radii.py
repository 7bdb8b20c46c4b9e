"""The Elman RNN run for a batch of spectral radii at once, forward and backward.

W_h = rho B for one base matrix B, so one (R*N, H) @ (H, H) matmul per step serves every
rho. Shapes: B (H, H), rhos (R,), xw (T, N, H) = x W_x^T + b, states (T, R, N, H).
The fast forward paths and the log-space backward are what make gradflow.sweep fast.
"""
import math
import threading

import numpy as np

from .. import cells
from .logspace import LOG10_FLOOR, _carry_back, _safe_log10

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

def _forward(B, rhos, xw, act, h0=None):
    """Elman forward for every rho at once, W_h = rho B: the cell's own step, elman._step.

    B (H, H), rhos (R,), xw (T, N, H) = x W_x^T + b, h0 (N, H) or zeros -> h (T, R, N, H).
    Each step is elman._step(xw_t, rho h_{t-1}, B, f) on (R*N, H) rows: rho h_{t-1} B^T =
    h_{t-1} (rho B)^T, one matmul for every rho (rounding differs from a per-rho W_h = rho B
    by a few 1e-16, which the forward dynamics amplify where they are chaotic).
    ReLU and linear states can outgrow float64 (rho = 4, T = 5000): f is positively
    homogeneous, f(c a) = c f(a) for c > 0, so such a row is divided by a power of 2 (exact)
    and so are its later inputs; the stored h_t is the state times 2^-e. Only f'(a_t) is
    read from it, and for ReLU and linear f' ignores the scale.
    """
    T, N, H = xw.shape
    R = rhos.size
    hs = np.empty((T, R, N, H), xw.dtype)
    r = np.repeat(rhos.astype(xw.dtype), N)[:, None]               # (R*N, 1)
    h = np.zeros((R * N, H), xw.dtype)
    if h0 is not None:
        h.reshape(R, N, H)[...] = h0
    xt = np.empty((R, N, H), xw.dtype)
    grows = act.name in ("relu", "linear")
    big = 2.0 ** (np.finfo(xw.dtype).maxexp // 2)  # rescale a row once its state passes this
    shrink = None                                  # (R*N, 1): 2^-e per row, once one is rescaled
    with np.errstate(over="ignore"):               # tanh, sigmoid: exp = inf gives the exact limits
        for t in range(T):
            xt[...] = xw[t]
            x_t = xt.reshape(R * N, H) if shrink is None else xt.reshape(R * N, H) * shrink
            h = cells.elman._step(x_t, r * h, B, act.f)
            if grows:
                m = np.max(np.abs(h), axis=1, keepdims=True)
                if (m > big).any():
                    k = np.exp2(-np.where(m > big, np.floor(np.log2(np.maximum(m, 1.0))), 0.0))
                    h *= k.astype(h.dtype)         # a power of 2: exact
                    shrink = k if shrink is None else shrink * k
            hs[t] = h.reshape(R, N, H)
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


def _sweep_logs(B, rhos, xw, act, u):
    """Forward and log-space backward of the sweep: log10 norms (T+1, R, N).

    diag(f'(a_t)) W_h = rho diag(f'(a_t)) B, so the backward pass runs with B and the
    factor rho^l goes back in at the end as l log10(rho) (LOG10_FLOOR for rho = 0, l > 0).
    tanh and sigmoid rows run with d = -(kappa rho)^2 f' as _saturating_states leaves it,
    and l log10 (kappa rho)^2 comes off as well. The carrier (logspace._carry_back) keeps
    each covector where the d_t it used was, and renormalises every 16 steps: |d| <= 2200
    and ||B|| < 3 bound the growth to 1e62 in 16 steps, and only d near 0 on every unit can
    shrink it past the float range, in which case the careful pass runs.
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
    v = np.empty((R * N, H), xw.dtype)
    v[...] = u
    w = np.empty_like(v)

    def step_in_place(v, j, out):                  # out is d_t itself: read, then overwritten
        np.multiply(v, out, w)
        np.dot(w, B, out)

    carried = _carry_back(step_in_place, v, T, store=d[::-1])
    if carried is None:                            # a norm left the float range: the careful path
        d = _dfs(B, rhos, xw, act)
        factor = _safe_log10(rhos)
        carried = _carry_back(lambda v, j, out: np.dot(v * d[T - 1 - j], B, out), v, T)
    logs = carried[0].reshape(T + 1, R, N)
    lags = np.arange(T + 1)[:, None, None]
    rho_part = np.where(lags == 0, 0.0, lags * factor[None, :, None])
    out = np.where((logs <= LOG10_FLOOR) | (rho_part <= LOG10_FLOOR), LOG10_FLOOR, logs + rho_part)
    return np.maximum(out, LOG10_FLOOR)
