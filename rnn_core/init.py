"""Seeded initialisers for weight matrices.

Shapes: `W_h` is (H, H), `W_x` is (H, D). Every function takes `seed` (an int) and returns
a new float64 array (or `dtype`), so two calls with the same seed give the same matrix.
"""
import numpy as np

from .validate import check_array, check_int, check_positive, check_choice


def gaussian(shape, std=0.01, seed=0, dtype=np.float64):
    """Small Gaussian: i.i.d. N(0, std^2) entries of the given shape."""
    check_positive("std", std)
    return (std * np.random.default_rng(seed).standard_normal(shape)).astype(dtype)


def orthogonal(n, seed=0, dtype=np.float64):
    """A Haar-random orthogonal (n, n) matrix: all singular values and |eigenvalues| are 1."""
    n = check_int("n", n, low=1)
    q, r = np.linalg.qr(np.random.default_rng(seed).standard_normal((n, n)))
    return (q * np.sign(np.diag(r))).astype(dtype)  # sign fix makes the distribution uniform


def identity(n, scale=1.0, dtype=np.float64):
    """scale * I, the IRNN initialisation for ReLU networks (Le, Jaitly & Hinton 2015)."""
    n = check_int("n", n, low=1)
    return (scale * np.eye(n)).astype(dtype)


def spectral_radius(W):
    """rho(W) = max |eigenvalue| of a square matrix."""
    W = np.asarray(W)
    if W.ndim != 2 or W.shape[0] != W.shape[1]:
        raise ValueError(f"W: expected a square (H, H) matrix, received shape {W.shape}")
    return float(np.max(np.abs(np.linalg.eigvals(W))))


def with_spectral_radius(W, rho):
    """W rescaled so that its spectral radius is exactly rho (eigenvalues scale linearly)."""
    W = check_array("W", W, (None, None))
    if W.shape[0] != W.shape[1]:
        raise ValueError(f"W: expected a square (H, H) matrix, received shape {W.shape}")
    check_positive("rho", rho, allow_zero=True)
    current = spectral_radius(W)
    if current == 0.0:
        raise ValueError("W: expected a matrix with spectral radius > 0 to rescale, received a nilpotent matrix")
    return (W * (rho / current)).astype(W.dtype)


def recurrent_matrix(H, kind="orthogonal", rho=None, seed=0, std=0.01, dtype=np.float64):
    """A recurrent matrix W_h (H, H) of the given kind, rescaled to spectral radius rho if given.

    kind: 'orthogonal', 'gaussian' (N(0, std^2) entries, or N(0, 1/H) when rho is given)
    or 'identity'.
    """
    H = check_int("H", H, low=1)
    check_choice("kind", kind, ("orthogonal", "gaussian", "identity"))
    if kind == "orthogonal":
        W = orthogonal(H, seed)
    elif kind == "identity":
        W = identity(H)
    else:
        W = gaussian((H, H), std if rho is None else 1.0 / np.sqrt(H), seed)
    if rho is not None:
        W = with_spectral_radius(W, rho)
    return W.astype(dtype)
