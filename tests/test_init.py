"""Seeded initialisers: determinism, orthogonality, spectral radius, and bad input."""
import numpy as np
import pytest

from rnn_core.nn import init


def test_same_seed_same_matrix():
    for make in (lambda s: init.gaussian((3, 4), 0.1, s), lambda s: init.orthogonal(5, s)):
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


def test_bad_inputs():
    cases = [(lambda: init.orthogonal(0), ValueError, "n"),
             (lambda: init.orthogonal(2.5), TypeError, "n"),
             (lambda: init.identity(-1), ValueError, "n"),
             (lambda: init.gaussian((2, 2), std=-1.0), ValueError, "std"),
             (lambda: init.gaussian((2, 2), std=np.inf), ValueError, "std"),
             (lambda: init.gaussian((2, 2), std=0.0), ValueError, "std")]
    for call, error, name in cases:
        with pytest.raises(error, match=f"^{name}: "):
            call()
