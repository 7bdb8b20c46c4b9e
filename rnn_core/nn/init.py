"""Seeded initialisers for weight matrices (the recurrent W_h at a chosen rho: matrices.family).

Shapes: `W_h` is (H, H), `W_x` is (H, D). Every function takes `seed` (an int) and returns
a new float64 array (or `dtype`), so two calls with the same seed give the same matrix.
"""
import numpy as np

from ..validate import check_int, check_positive


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
