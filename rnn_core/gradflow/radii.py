"""The Elman RNN for a batch of spectral radii at once, forward and backward: the sweep's rows.

W_h = rho B for one base matrix B, so one (R*N, H) @ (H, H) matmul per step serves every
rho. Shapes: B (H, H), rhos (R,), xw (T, N, H) = x W_x^T + b, states (T, R, N, H), f'
(T, R*N, H). Every function here is unchecked: gradflow.sweeps checks at its edge.
The forward is the cell's own step (elman.recurrence) and the backward the cell's own carry
(elman.carry); for tanh and sigmoid, derivatives and sweep_logs take the fast forward of
radii_fast in one branch, tested equal to the plain one.
"""
import numpy as np

from ..cells import elman
from . import radii_fast
from .logspace import LOG10_FLOOR, carry_back, safe_log10

recurrence, carry = elman.recurrence, elman.carry


def states(B, rhos, xw, act, h0=None):
    """Elman forward for every rho at once, W_h = rho B: the cell's own step, elman.recurrence.

    B (H, H), rhos (R,), xw (T, N, H) = x W_x^T + b, h0 (N, H) or zeros -> h (T, R, N, H).
    Each step is recurrence(xw_t, rho h_{t-1}, B, f) on (R*N, H) rows: rho h_{t-1} B^T =
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
            h = recurrence(x_t, r * h, B, act.f)
            if grows:
                m = np.max(np.abs(h), axis=1, keepdims=True)
                if (m > big).any():
                    k = np.exp2(-np.where(m > big, np.floor(np.log2(np.maximum(m, 1.0))), 0.0))
                    h *= k.astype(h.dtype)         # a power of 2: exact
                    shrink = k if shrink is None else shrink * k
            hs[t] = h.reshape(R, N, H)
    return hs


def derivatives(B, rhos, xw, act, h0=None, fast=True):
    """f'(a_t) (T, R*N, H) for every rho at once, W_h = rho B: the forward pass of the sweep.

    fast=True takes radii_fast (tanh and sigmoid, rho in its range) where it applies."""
    T, N, H = xw.shape
    if fast and radii_fast.applies(act, rhos):    # the fast form, tested equal to the lines below
        return radii_fast.derivatives(B, rhos, xw, act, h0)
    return act.df_from_out(states(B, rhos, xw, act, h0)).reshape(T, rhos.size * N, H)


def sweep_logs(B, rhos, xw, act, u, fast=True):
    """Forward and log-space backward of the sweep: log10 norms (T+1, R, N).

    diag(f'(a_t)) W_h = rho diag(f'(a_t)) B, so the backward pass is elman.carry with B and
    the factor rho^l goes back in at the end as l log10(rho) (LOG10_FLOOR for rho = 0, l > 0).
    With fast=True, tanh and sigmoid rows run with d = -(kappa rho)^2 f' as
    radii_fast.scaled_derivatives leaves it, and l log10 (kappa rho)^2 comes off as well.
    The carrier (logspace.carry_back) keeps each covector where the d_t it used was, and
    renormalises every 16 steps: |d| <= 2200 and ||B|| < 3 bound the growth to 1e62 in 16
    steps, and only d near 0 on every unit can shrink it past the float range, in which case
    the careful pass runs.
    """
    T, N, H = xw.shape
    R = rhos.size
    factor = safe_log10(rhos)                      # log10 of what each step of d lacks: rho
    if fast and radii_fast.applies(act, rhos, radii_fast.SCALED_LO):   # d = -(kappa rho)^2 f'
        d, kappa = radii_fast.scaled_derivatives(B, rhos, xw, act)
        factor = np.where(rhos > 0, -np.log10(kappa ** 2 * np.where(rhos > 0, rhos, 1.0)),
                          LOG10_FLOOR)             # rho / (kappa rho)^2
    else:
        d = derivatives(B, rhos, xw, act, fast=fast)                 # (T, R*N, H)
    v = np.empty((R * N, H), xw.dtype)
    v[...] = u

    def step_in_place(v, j, out):                  # out is d_t itself: read, then overwritten
        out[...] = carry(v, out, B)[1]

    carried = carry_back(step_in_place, v, T, store=d[::-1])
    if carried is None:                            # a norm left the float range: the careful path
        d = derivatives(B, rhos, xw, act, fast=fast)
        factor = safe_log10(rhos)

        def step(v, j, out):
            out[...] = carry(v, d[T - 1 - j], B)[1]

        carried = carry_back(step, v, T)
    logs = carried[0].reshape(T + 1, R, N)
    lags = np.arange(T + 1)[:, None, None]
    rho_part = np.where(lags == 0, 0.0, lags * factor[None, :, None])
    out = np.where((logs <= LOG10_FLOOR) | (rho_part <= LOG10_FLOOR), LOG10_FLOOR, logs + rho_part)
    return np.maximum(out, LOG10_FLOOR)
