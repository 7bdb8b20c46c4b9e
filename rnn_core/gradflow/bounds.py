"""The bounds that measured gradient norms are compared with (Pascanu et al. 2013; Hochreiter).

Every bound is factor^l, returned in log10 per lag l like the measured curves of gradflow:
geometric_bound computes it, and each bound names its factor.
"""
import numpy as np

from ..nn import activations, matrices
from .logspace import LOG10_FLOOR, safe_log10


def geometric_bound(lags, factor):
    """log10 factor^l = l log10(factor), unchecked: lags (L,), factor a float -> (L,), or
    factors (R,) -> (R, L); 0 at l = 0, LOG10_FLOOR where factor = 0 and l > 0."""
    lags = np.asarray(lags, np.float64)
    logf = safe_log10(np.asarray(factor, np.float64))
    out = np.multiply.outer(logf, lags) if logf.ndim else logf * lags
    out = np.where(lags == 0, 0.0, out)
    return np.maximum(out, LOG10_FLOOR)


def _check_lags(lags):
    arr = np.asarray(lags)
    if arr.dtype.kind not in "iuf" or arr.ndim > 1 or not np.isfinite(arr).all() or (arr < 0).any():
        raise ValueError(f"lags: expected finite lags >= 0 in a 1-d array, received {lags!r}")
    return arr.astype(np.float64)

def singular_value_bound(W_h, activation, lags):
    """Pascanu et al.: log10 ||dh_t/dh_k||_2 <= l log10(gamma sigma_max(W_h)), l = t - k.

    The factor is gamma sigma_max(W_h). Returns log10 of the bound at each lag, (L,)
    (LOG10_FLOOR if sigma_max = 0).
    """
    W_h = matrices.check_square("W_h", W_h)
    gamma = activations.gamma(activation)
    return geometric_bound(_check_lags(lags), gamma * matrices.sigma_max(W_h))


def hochreiter_bound(W_h, activation, lags):
    """Hochreiter (as Galvan's thesis presents it, eqs 1.63-1.67): l log10(H gamma max|w_ij|), (L,) in log10.

    It bounds the max-norm of dh_t/dh_k and, since sigma_max <= ||W_h||_F <= H max|w_ij|,
    also its spectral norm, so it always lies above singular_value_bound: weaker.
    """
    W_h = matrices.check_square("W_h", W_h)
    gamma = activations.gamma(activation)
    return geometric_bound(_check_lags(lags), W_h.shape[0] * gamma * float(np.max(np.abs(W_h))))


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
