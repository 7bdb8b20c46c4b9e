"""The fast form of radii.derivatives for tanh and sigmoid: f'(a_t) for a batch of spectral
radii from pre-scaled states, five numpy calls per step.

It equals radii.states followed by f' (act.df_from_out) up to rounding (tests/test_sweeps.py)
and radii.derivatives takes it in one branch; it halves the sweep's forward at one BLAS
thread (benchmarks/README.md, "The sweep's forward: plain and fast").
Shapes as in radii: B (H, H), rhos (R,), xw (T, N, H) = x W_x^T + b, d (T, R*N, H).
"""
import numpy as np

LOG2E = 1.0 / np.log(2.0)
# The fast form runs when every rho is 0 or in [lo, hi] (the sweep is made for [0, 4]);
# elsewhere the plain radii.states does. tanh's fast form adds rho B (1 + h) and takes
# rho B 1 off again, an absolute rounding error of about 1e-16 rho in a_t, so it stops at 16,
# where radii.states stays exact for h = 0 at any rho. scaled_derivatives leaves f' scaled by
# (kappa rho)^2: the sweep's backward runs with that scaled f' when every nonzero rho is at
# least SCALED_LO (so 16 steps scale by no less than 1e-50), else with the true f'.
RHO_RANGE = {"tanh": (1e-100, 16.0), "sigmoid": (1e-100, 16.0)}
SCALED_LO = 1e-2


def applies(act, rhos, lo=None):
    """True if the fast form serves activation act at every rho in rhos (lo: a higher floor)."""
    if act.name not in RHO_RANGE:
        return False
    low, hi = RHO_RANGE[act.name]
    low = low if lo is None else max(low, lo)
    return bool(np.all((rhos == 0) | ((rhos >= low) & (rhos <= hi))))


def scaled_derivatives(B, rhos, xw, act, h0=None):
    """The sweep's forward for tanh or sigmoid rows, W_h = rho B: (d, kappa), unchecked.

    One matmul, one exp2, one add, one divide and one copy per step, besides copying x_t's
    projection in. With k = 2, c = 1 for tanh (tanh(a) = 2 / (1 + exp(-2a)) - 1), k = 1,
    c = 0 for sigmoid, and kappa = k log2(e), the state is carried pre-scaled as
    s = -kappa rho (c + h). Then z = -kappa a_t = s @ B^T + kappa rho c B 1 - kappa xw_t is
    one matmul of the rows [s, kappa rho, e_n] (R*N, H + 1 + N) with [B^T; c B 1; -kappa xw_t]
    (e_n picks the row's sequence n), E = 1 + 2^z = 1 + exp(-k a_t), and c + h = k / E, so
    the next s = -q / E with q = k kappa rho. 2^z = inf is the exact limit (h = -1 or 0,
    f' = 0). The s of every step are kept (in place of z), and in blocks that stay in cache,
    without a division, turned into
        d = s (s + q) = -(kappa rho)^2 f'(a_t)      (tanh: 1 - h^2, sigmoid: h (1 - h)).
    Returns d (T, R*N, H) and kappa. Equal to radii.states and df_from_out up to rounding
    (a few 1e-16 per step, relative to rho for tanh), which chaotic rows amplify.
    """
    T, N, H = xw.shape
    R = rhos.size
    M = R * N
    dt = xw.dtype
    tanh = act.name == "tanh"
    k = 2.0 if tanh else 1.0
    kappa = k * LOG2E
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
    d = np.empty((T, M, H), dt)
    blk = max(1, min(T, (1 << 16) // (M * H)))     # blocks of steps: 2 x 512 KiB
    q = np.empty((blk, M, H), dt)
    q[...] = (k * kappa * r)[:, None]
    num = np.negative(q[0])                        # -q, (M, H)
    with np.errstate(over="ignore"):               # 2^z = inf: the limits are exact
        for t in range(T):
            tail[...] = xz[t]
            z = d[t]
            np.dot(sa, Ba, z)
            np.exp2(z, z)
            z += 1.0
            np.divide(num, z, z)                   # s_t, contiguous
            s[...] = z
    w = np.empty_like(q)
    for i in range(0, T, blk):                     # d = s (s + q), block by block
        e = d[i:i + blk]
        wi = w[:e.shape[0]]
        np.add(e, q[:e.shape[0]], wi)
        e *= wi
    return d, kappa


def derivatives(B, rhos, xw, act, h0=None):
    """f'(a_t) (T, R*N, H) for every rho at once: scaled_derivatives with the scale taken off."""
    N = xw.shape[1]
    d, kappa = scaled_derivatives(B, rhos, xw, act, h0)
    r = np.repeat(rhos, N)
    live = r > 0
    d *= np.where(live, -1.0 / (kappa * np.where(live, r, 1.0)) ** 2, 0.0).astype(d.dtype)[:, None]
    if not live.all():                             # W_h = 0: h_t = f(xw_t) whatever came before
        d[:, ~live] = np.tile(act.df_from_out(act.f(xw)), (1, rhos.size, 1))[:, ~live]
    return d
