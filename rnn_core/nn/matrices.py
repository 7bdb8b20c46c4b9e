"""The recurrent matrix W_h: its spectrum, and the only builder of W_h (seeded families at a
chosen rho). The transient growth of its powers is measured in gradflow (transient_growth).

Shapes: W_h is (H, H); a family batch is (R, H, H), one matrix per spectral radius.
rho(W) = max |eigenvalue| and sigma_max(W) = largest singular value, with
rho <= sigma_max and equality for normal matrices (theory.md, notation).

Every family is rho * B for a base matrix B with rho(B) = 1 fixed by (kind, H, seed), so a
sweep over rho changes the scale of W_h and nothing else, and the eigenvalues and singular
values of the whole batch are those of B times rho. base(kind, H, seed) returns B itself;
base(kind, H, seed, block=j) gives a gated cell's j-th recurrent block its own B.
"""
import functools

import numpy as np

from . import init
from ..validate import check_array, check_choice, check_int, check_positive

KINDS = ("orthogonal", "gaussian", "nonnormal", "symmetric", "identity")
NONNORMAL_BLOCK = 4     # length of each hidden feedforward chain in the "nonnormal" family
NONNORMAL_COUPLING = 2.0  # weight of each link of a chain, relative to the eigenvalue


def check_square(name, W):
    """A finite float (H, H) ndarray; returns it. ValueError naming `name` otherwise."""
    check_array(name, W, (None, None))
    if W.shape[0] != W.shape[1]:
        raise ValueError(f"{name}: expected a square (H, H) matrix, received shape {W.shape}")
    return W


def eigenvalues(W):
    """Eigenvalues of W (H, H) as a complex (H,) array, sorted by decreasing modulus."""
    ev = np.linalg.eigvals(check_square("W", W)).astype(np.complex128)
    return ev[np.argsort(-np.abs(ev), kind="stable")]


def singular_values(W):
    """Singular values of W (H, H), an (H,) array in decreasing order."""
    return np.linalg.svd(check_square("W", W), compute_uv=False)


def spectral_radius(W):
    """rho(W) = max |eigenvalue| of W (H, H), a float."""
    return float(np.max(np.abs(np.linalg.eigvals(check_square("W", W)))))


def sigma_max(W):
    """sigma_max(W) = ||W||_2, the largest singular value of W (H, H), a float."""
    return float(singular_values(W)[0])


def _check_rho(name, rho):
    return check_positive(name, rho, allow_zero=True)


def check_rhos(name, rhos):
    """A 1-d float64 array of spectral radii, each finite and >= 0 (a scalar becomes (1,))."""
    if isinstance(rhos, np.ndarray) and rhos.dtype.kind not in "iuf":
        raise TypeError(f"{name}: expected real numbers, received dtype {rhos.dtype}")
    try:
        arr = np.asarray(rhos, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name}: expected a 1-d sequence of real numbers, "
                        f"received {type(rhos).__name__}") from None
    arr = np.atleast_1d(arr)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name}: expected a non-empty 1-d sequence of spectral radii, "
                         f"received shape {arr.shape}")
    bad = ~np.isfinite(arr) | (arr < 0)
    if bad.any():
        raise ValueError(f"{name}: expected finite spectral radii >= 0, received "
                         f"{arr[bad][:3].tolist()} at positions {np.flatnonzero(bad)[:3].tolist()}")
    return arr


def _nonnormal_core(H):
    """Block-diagonal chains sign * (I + s S) of length NONNORMAL_BLOCK: rho = 1, not normal.

    Within a chain unit j feeds unit j-1 with weight s, so a signal is passed along the
    chain and amplified (binomially) before the eigenvalue's decay wins: ||T^l|| grows
    like l^3 rho^l. Signs alternate by block, so the eigenvalues are +1 and -1.
    """
    T = np.zeros((H, H))
    for start in range(0, H, NONNORMAL_BLOCK):
        m = min(NONNORMAL_BLOCK, H - start)
        sign = 1.0 if (start // NONNORMAL_BLOCK) % 2 == 0 else -1.0
        T[start:start + m, start:start + m] = sign * (np.eye(m) + NONNORMAL_COUPLING * np.eye(m, k=1))
    return T


def _check_base_args(kind, H, seed, block):
    check_choice("kind", kind, KINDS)
    H = check_int("H", H, low=1)
    seed = check_int("seed", seed, low=0)
    block = None if block is None else check_int("block", block, low=0)
    # (seed, 4, block): numpy's SeedSequence drops trailing zeros, so (seed, block) would
    # give block 0 the plain base of `seed`; the gradflow sweep seeds its inputs (seed, 1..3)
    return H, (seed if block is None else (seed, 4, block))


@functools.lru_cache(maxsize=64)
def _base(kind, H, seed):
    """(B, eigenvalues of B, sigma_max(B)) with rho(B) = 1; cached, read-only arrays.

    seed is an int, or (seed, 4, block) for a gated cell's block: numpy's generators take both."""
    rng = np.random.default_rng(seed)
    if kind == "orthogonal":
        B = init.orthogonal(H, seed)               # numpy's generators take (seed, block) too
    elif kind == "gaussian":
        G = rng.standard_normal((H, H)) / np.sqrt(H)
        B = G / np.max(np.abs(np.linalg.eigvals(G)))
    elif kind == "identity":
        B = np.eye(H)
    elif kind == "symmetric":
        G = rng.standard_normal((H, H)) / np.sqrt(H)
        S = 0.5 * (G + G.T)
        B = S / np.max(np.abs(np.linalg.eigvalsh(S)))
    else:
        # A signed permutation Q hides the chains (Q T Q^T looks like a generic sparse
        # matrix) without rounding any entry. A dense random rotation would perturb the
        # defective eigenvalues by ~eps^(1/4) ~ 1e-4 in floating point, and the family
        # would no longer have the spectral radius it claims.
        perm = rng.permutation(H)
        signs = rng.choice(np.array([-1.0, 1.0]), H)
        Q = np.eye(H)[perm] * signs[:, None]
        B = Q @ _nonnormal_core(H) @ Q.T
    ev = np.linalg.eigvals(B).astype(np.complex128)
    ev = ev[np.argsort(-np.abs(ev), kind="stable")]
    smax = float(np.linalg.svd(B, compute_uv=False)[0])
    for a in (B, ev):
        a.setflags(write=False)
    return B, ev, smax


def base(kind, H, seed=0, block=None):
    """The base B (H, H) of a family, rho(B) = 1: family(kind, H, rho, seed) = rho * B.

    Cached and read-only (copy it to edit). block=j (j >= 0) gives block j of a gated
    cell its own base, seeded by (seed, 4, j) and so different from every other block and
    from the plain base of any seed (the sweep scales every gate's recurrent block this way).
    """
    H, key = _check_base_args(kind, H, seed, block)
    return _base(kind, H, key)[0]


def base_spectrum(kind, H, seed=0, block=None):
    """(eigenvalues (H,) complex sorted by modulus, sigma_max) of base(kind, H, seed, block)."""
    H, key = _check_base_args(kind, H, seed, block)
    _, ev, smax = _base(kind, H, key)
    return ev.copy(), smax


def family(kind, H, rho, seed=0):
    """A recurrent matrix W_h (H, H), float64, with spectral radius exactly rho.

    kind:
      'orthogonal'  Haar orthogonal times rho: normal, every |eigenvalue| = sigma = rho.
      'gaussian'    N(0, 1/H) entries rescaled to rho (eigenvalues fill a disc, sigma_max ~ 2 rho).
      'nonnormal'   hidden feedforward chains: Q (rho (I + 2 S)) Q^T per block of 4 units,
                    Q a seeded signed permutation, S the shift. Every |eigenvalue| = rho but
                    sigma_max ~ 2.8 rho, and ||W_h^l|| grows for dozens of steps when rho < 1
                    (rho = 0.9 peaks near l = 29 at ~1e3): transient growth. The last
                    chain is shorter when 4 does not divide H (H = 1 gives [rho]). A signed
                    permutation rounds nothing, so the eigenvalues stay exact; a dense
                    rotation would move these defective ones by ~1e-4.
      'symmetric'   (G + G^T)/2 rescaled to rho: normal, real eigenvalues, sigma_max = rho.
      'identity'    rho I, the IRNN initialisation for ReLU networks (Le, Jaitly & Hinton 2015).
    rho = 0 gives the zero matrix. The same (kind, H, seed) gives the same base for every rho.
    """
    rho = _check_rho("rho", rho)
    return rho * base(kind, H, seed)


def family_batch(kind, H, rhos, seed=0):
    """The same base matrix rescaled to each rho: (R, H, H) float64 for rhos (R,)."""
    rhos = check_rhos("rhos", rhos)
    return rhos[:, None, None] * base(kind, H, seed)
