"""Seeded initialisers: determinism, orthogonality, spectral radius, and bad input."""
import numpy as np
import pytest

from rnn_core import init


def test_same_seed_same_matrix():
    for make in (lambda s: init.gaussian((3, 4), 0.1, s), lambda s: init.orthogonal(5, s),
                 lambda s: init.recurrent_matrix(5, "gaussian", 0.9, s)):
        np.testing.assert_array_equal(make(3), make(3))
        assert not np.array_equal(make(3), make(4))


def test_gaussian_std_and_dtype():
    W = init.gaussian((200, 300), std=0.5, seed=0, dtype=np.float32)
    assert W.shape == (200, 300) and W.dtype == np.float32
    assert W.std() == pytest.approx(0.5, rel=0.02)


@pytest.mark.parametrize("n", [1, 2, 7])
def test_orthogonal_is_orthogonal(n):
    Q = init.orthogonal(n, seed=n)
    np.testing.assert_allclose(Q.T @ Q, np.eye(n), atol=1e-12)
    np.testing.assert_allclose(np.abs(np.linalg.eigvals(Q)), 1.0, atol=1e-12)


def test_identity():
    np.testing.assert_array_equal(init.identity(3, scale=0.5), 0.5 * np.eye(3))


@pytest.mark.parametrize("rho", [0.5, 1.0, 3.7])
def test_with_spectral_radius(rho):
    W = init.gaussian((6, 6), 1.0, seed=1)          # non-normal, complex eigenvalues
    assert abs(init.spectral_radius(init.with_spectral_radius(W, rho)) - rho) < 1e-10
    assert init.spectral_radius(W) != pytest.approx(rho)   # W itself was rescaled, not returned


@pytest.mark.parametrize("kind", ["orthogonal", "gaussian", "identity"])
def test_recurrent_matrix(kind):
    W = init.recurrent_matrix(5, kind, rho=0.8, seed=2, dtype=np.float32)
    assert W.shape == (5, 5) and W.dtype == np.float32
    assert abs(init.spectral_radius(W.astype(np.float64)) - 0.8) < 1e-6
    assert abs(init.spectral_radius(init.recurrent_matrix(5, kind, rho=0.8, seed=2)) - 0.8) < 1e-10


def test_bad_inputs():
    cases = [(lambda: init.orthogonal(0), ValueError, "n"),
             (lambda: init.orthogonal(2.5), TypeError, "n"),
             (lambda: init.identity(-1), ValueError, "n"),
             (lambda: init.gaussian((2, 2), std=-1.0), ValueError, "std"),
             (lambda: init.gaussian((2, 2), std=np.inf), ValueError, "std"),
             (lambda: init.spectral_radius(np.ones((2, 3))), ValueError, "W"),
             (lambda: init.with_spectral_radius(np.ones((2, 3)), 1.0), ValueError, "W"),
             (lambda: init.with_spectral_radius(np.ones((2, 2), int), 1.0), TypeError, "W"),
             (lambda: init.with_spectral_radius(np.zeros((2, 2)), 1.0), ValueError, "W"),
             (lambda: init.with_spectral_radius(np.eye(2), -1.0), ValueError, "rho"),
             (lambda: init.recurrent_matrix(3, "random"), ValueError, "kind"),
             (lambda: init.recurrent_matrix(0, "gaussian"), ValueError, "H"),
             (lambda: init.recurrent_matrix(2.0, "gaussian"), TypeError, "H")]
    for call, error, name in cases:
        with pytest.raises(error, match=f"^{name}: "):
            call()
