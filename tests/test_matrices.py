"""Tests for rnn_core.nn.matrices: spectra, and recurrent-matrix families with an exact rho."""
import numpy as np
import pytest

from rnn_core.nn import matrices

pytestmark = pytest.mark.filterwarnings("error")

KINDS = matrices.KINDS
RHOS = [0.0, 0.5, 0.9, 1.0, 2.5, 4.0]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("H", [1, 2, 5, 16, 64])
@pytest.mark.parametrize("rho", RHOS)
def test_family_has_the_requested_spectral_radius(kind, H, rho):
    W = matrices.family(kind, H, rho, seed=3)
    assert W.shape == (H, H) and W.dtype == np.float64 and np.isfinite(W).all()
    assert abs(matrices.spectral_radius(W) - rho) <= 1e-10 * max(1.0, rho)
    assert abs(np.max(np.abs(matrices.eigenvalues(W))) - rho) <= 1e-10 * max(1.0, rho)


@pytest.mark.parametrize("rho", [0.5, 1.0, 3.0])
def test_orthogonal_and_symmetric_are_normal(rho):
    W = matrices.family("orthogonal", 32, rho)
    assert matrices.sigma_max(W) == pytest.approx(rho, rel=1e-12)
    np.testing.assert_allclose(W.T @ W, rho ** 2 * np.eye(32), atol=1e-12 * max(1, rho ** 2))
    S = matrices.family("symmetric", 32, rho)
    np.testing.assert_array_equal(S, S.T)
    assert matrices.sigma_max(S) == pytest.approx(rho, rel=1e-12)
    assert np.abs(matrices.eigenvalues(S).imag).max() < 1e-12


def test_gaussian_is_not_normal():
    W = matrices.family("gaussian", 64, 1.0)
    assert matrices.sigma_max(W) > 1.5          # ~2 rho for a Ginibre matrix
    assert np.abs(W @ W.T - W.T @ W).max() > 0.1


def test_nonnormal_grows_transiently_while_rho_is_below_one():
    W = matrices.family("nonnormal", 64, 0.9)
    assert matrices.spectral_radius(W) == pytest.approx(0.9, abs=1e-12)
    assert matrices.sigma_max(W) > 1
    norms = np.array([np.linalg.norm(np.linalg.matrix_power(W, l), 2) for l in range(120)])
    assert (norms[11:] > 1).any()
    peak = int(np.argmax(norms))
    assert 10 <= peak <= 40 and norms[peak] > 100       # grows for dozens of steps
    assert norms[-1] < norms[peak] / 10                   # and then rho < 1 wins
    np.testing.assert_allclose(np.abs(matrices.eigenvalues(W)), 0.9, rtol=1e-12)


def test_family_batch_rescales_one_base():
    rhos = np.array([0.0, 0.5, 1.0, 1.7])
    for kind in KINDS:
        batch = matrices.family_batch(kind, 12, rhos, seed=5)
        assert batch.shape == (4, 12, 12)
        for r, rho in enumerate(rhos):
            np.testing.assert_allclose(batch[r], matrices.family(kind, 12, rho, seed=5), rtol=0, atol=0)
        np.testing.assert_allclose(batch[3] / 1.7, batch[2], rtol=1e-15, atol=1e-15)


def test_seeds_give_reproducible_and_different_bases():
    for kind in KINDS:
        a, b = matrices.family(kind, 10, 1.0, seed=1), matrices.family(kind, 10, 1.0, seed=1)
        np.testing.assert_array_equal(a, b)
        if kind != "identity":                   # the one family that no seed changes
            assert not np.array_equal(a, matrices.family(kind, 10, 1.0, seed=2))
    a[0, 0] += 1                                 # the cached base is not exposed
    assert not np.array_equal(a, matrices.family(kind, 10, 1.0, seed=1))


def test_zero_rho_is_the_zero_matrix():
    for kind in KINDS:
        W = matrices.family(kind, 8, 0)
        np.testing.assert_array_equal(W, np.zeros((8, 8)))
        assert matrices.spectral_radius(W) == 0 and matrices.sigma_max(W) == 0


def test_spectra_against_numpy(rng):
    W = rng.standard_normal((9, 9))
    ev = matrices.eigenvalues(W)
    assert ev.shape == (9,) and ev.dtype == np.complex128
    assert np.all(np.diff(np.abs(ev)) <= 1e-12)
    np.testing.assert_allclose(np.sort_complex(ev), np.sort_complex(np.linalg.eigvals(W)), atol=1e-12)
    sv = matrices.singular_values(W)
    assert np.all(np.diff(sv) <= 0)
    assert matrices.sigma_max(W) == pytest.approx(np.linalg.norm(W, 2), rel=1e-14)
    assert matrices.spectral_radius(W) == pytest.approx(np.abs(ev[0]), rel=1e-14)
    assert matrices.spectral_radius(W) <= matrices.sigma_max(W)


@pytest.mark.parametrize("kind", KINDS)
def test_base_spectrum_matches_the_family(kind):
    ev, smax = matrices.base_spectrum(kind, 16, seed=2)
    W = matrices.family(kind, 16, 1.0, seed=2)
    assert smax == pytest.approx(matrices.sigma_max(W), rel=1e-12)
    np.testing.assert_allclose(np.sort(np.abs(ev)), np.sort(np.abs(matrices.eigenvalues(W))), atol=1e-10)


@pytest.mark.parametrize("kind", KINDS)
def test_base_is_the_rho_one_family_and_blocks_differ(kind):
    B = matrices.base(kind, 12, seed=4)
    np.testing.assert_array_equal(B, matrices.family(kind, 12, 1.0, seed=4))
    np.testing.assert_array_equal(2.5 * B, matrices.family(kind, 12, 2.5, seed=4))
    with pytest.raises(ValueError):
        B[0, 0] = 1.0                                # cached: read-only
    blocks = [matrices.base(kind, 12, seed=4, block=j) for j in range(4)]
    for j, Bj in enumerate(blocks):
        assert abs(matrices.spectral_radius(Bj) - 1.0) <= 1e-10
        ev, smax = matrices.base_spectrum(kind, 12, seed=4, block=j)
        assert smax == pytest.approx(matrices.sigma_max(Bj), rel=1e-12)
        np.testing.assert_allclose(np.abs(ev), np.abs(matrices.eigenvalues(Bj)), atol=1e-10)
        if kind != "identity":                       # every seed gives I
            assert not np.array_equal(Bj, B)
            assert all(not np.array_equal(Bj, other) for other in blocks[:j])
    np.testing.assert_array_equal(blocks[1], matrices.base(kind, 12, seed=4, block=1))
    with pytest.raises(ValueError, match="block"):
        matrices.base(kind, 12, block=-1)
    with pytest.raises(ValueError, match="seed"):
        matrices.base(kind, 12, seed=-1)


@pytest.mark.parametrize("rho", [-0.1, np.nan, np.inf, -np.inf])
def test_bad_rho(rho):
    with pytest.raises(ValueError, match="rho"):
        matrices.family("orthogonal", 4, rho)
    with pytest.raises(ValueError, match="rhos"):
        matrices.family_batch("orthogonal", 4, [0.5, rho])


def test_bad_inputs():
    with pytest.raises(ValueError, match="kind"):
        matrices.family("unitary", 4, 1.0)
    with pytest.raises(ValueError, match="kind"):
        matrices.family_batch("unitary", 4, [1.0])
    with pytest.raises(ValueError, match="H"):
        matrices.family("gaussian", 0, 1.0)
    with pytest.raises(TypeError, match="rho"):
        matrices.family("gaussian", 4, "1")
    with pytest.raises(ValueError, match="rhos"):
        matrices.family_batch("gaussian", 4, [])
    for fn in (matrices.spectral_radius, matrices.sigma_max, matrices.eigenvalues,
               matrices.singular_values):
        with pytest.raises(ValueError, match=r"W: expected a square .*\(3, 4\)"):
            fn(np.zeros((3, 4)))
        with pytest.raises(ValueError, match="W"):
            fn(np.full((2, 2), np.nan))
        with pytest.raises(TypeError, match="W"):
            fn([[1.0, 0.0], [0.0, 1.0]])
        with pytest.raises(TypeError, match="W"):
            fn(np.eye(2, dtype=int))
