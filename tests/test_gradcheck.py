"""The gradient checker: relative error, finite differences, and the closure traps it catches."""
import numpy as np
import pytest

from rnn_core.cells import elman
from rnn_core.bptt.gradcheck import check_gradients, numerical_grad, rel_error


def test_rel_error_basics():
    a = np.array([1.0, -2.0, 3.0])
    assert rel_error(a, a) == 0.0
    assert rel_error(np.zeros(3), np.zeros(3)) == 0.0
    assert rel_error(a, a + [0.0, 0.0, 0.3]) == pytest.approx(0.3 / 3.3)
    assert rel_error(a, -a) == pytest.approx(2.0)
    assert rel_error(1e-20 * a, 2e-20 * a) == pytest.approx(0.5)   # scale-free
    with pytest.raises(ValueError, match="shape"):
        rel_error(a, a[:2])


def test_numerical_grad_of_a_quadratic(rng):
    A, b = rng.standard_normal((4, 4)), rng.standard_normal(4)
    x = rng.standard_normal(4)
    x_before = x.copy()
    grad = numerical_grad(lambda: 0.5 * x @ A @ x + b @ x, x)
    assert rel_error(grad, 0.5 * (A + A.T) @ x + b) < 1e-9
    np.testing.assert_array_equal(x, x_before)      # perturbations are undone


def test_check_gradients_reports_each_array(rng):
    W, v = rng.standard_normal((3, 2)), rng.standard_normal(2)
    errors = check_gradients(lambda: np.sum(np.tanh(W @ v)), {"W": W, "v": v},
                             {"W": np.outer(1 - np.tanh(W @ v) ** 2, v),
                              "v": W.T @ (1 - np.tanh(W @ v) ** 2)})
    assert set(errors) == {"W", "v"} and max(errors.values()) < 1e-9
    errors = check_gradients(lambda: np.sum(W ** 2), {"W": W}, {"W": 3 * W})   # a wrong gradient
    assert errors["W"] > 0.1


def test_refuses_a_closure_with_an_argument():
    x = np.ones(3)
    with pytest.raises(TypeError, match=r"no arguments.*'h'.*lambda h"):
        check_gradients(lambda h: np.sum(h ** 2), {"x": x}, {"x": 2 * x})
    with pytest.raises(TypeError, match="no arguments"):
        numerical_grad(lambda h: np.sum(h ** 2), x)
    with pytest.raises(TypeError, match="loss"):
        check_gradients("not callable", {"x": x}, {"x": x})


def test_detects_a_closure_that_does_not_read_the_array(rng):
    x = rng.standard_normal(3)
    frozen = x.copy()                               # the closure reads a copy, not x
    with pytest.raises(ValueError, match=r"arrays\['x'\].*does not read"):
        check_gradients(lambda: np.sum(frozen ** 2), {"x": x}, {"x": 2 * x})


def test_ignored_argument_lambda_checks_nothing(rng):
    """The trap is real: a one-argument checker fed `lambda h: f(x, h_other)` sees no gradient."""
    N, T, D, H = 2, 4, 3, 3
    params = elman.init_params(D, H, seed=0)
    x, h0, w = rng.standard_normal((N, T, D)), rng.standard_normal((N, H)), rng.standard_normal((N, T, H))

    def f(x, h0):
        return np.sum(w * elman.forward(x, {"h": h0}, params)[0])

    def naive_numerical_grad(loss, value, eps=1e-6):   # the usual one-argument routine
        grad = np.zeros_like(value)
        for i in range(value.size):
            step = np.zeros_like(value)
            step.flat[i] = eps
            grad.flat[i] = (loss(value + step) - loss(value - step)) / (2 * eps)
        return grad

    h_other = h0.copy()
    naive = naive_numerical_grad(lambda h: f(x, h_other), h0)   # the argument h is ignored
    _, _, cache = elman.forward(x, {"h": h0}, params)
    true = elman.backward(w, cache)[1]["h"]
    assert not naive.any() and np.abs(true).max() > 1e-2
    # so a backward that forgot dstate0 (all zeros) would "pass" the naive check exactly
    assert rel_error(np.zeros_like(true), naive) == 0.0
    # our API refuses that closure, and checks the true gradient with a zero-argument one
    with pytest.raises(TypeError, match="lambda h"):
        check_gradients(lambda h: f(x, h_other), {"h0": h0}, {"h0": true})
    assert check_gradients(lambda: f(x, h0), {"h0": h0}, {"h0": true})["h0"] < 1e-8
    # and a zero-argument closure over the copy is caught too
    with pytest.raises(ValueError, match="does not read"):
        check_gradients(lambda: f(x, h_other), {"h0": h0}, {"h0": true})


def test_refuses_arrays_that_are_not_float64():
    for bad in (np.ones(3, np.float32), np.ones(3, np.int64), [1.0, 2.0]):
        with pytest.raises(TypeError, match="float64"):
            numerical_grad(lambda: 0.0, bad)
    x32 = np.ones(3, np.float32)
    with pytest.raises(TypeError, match="float64"):
        check_gradients(lambda: float(np.sum(x32)), {"x": x32}, {"x": np.ones(3)})


def test_refuses_mismatched_grads_and_views():
    x = np.ones((2, 3))
    with pytest.raises(ValueError, match="grads"):
        check_gradients(lambda: np.sum(x), {"x": x}, {"y": x})
    with pytest.raises(ValueError, match=r"grads\['x'\]"):
        check_gradients(lambda: np.sum(x), {"x": x}, {"x": np.ones(3)})
    with pytest.raises(ValueError, match="in place"):
        numerical_grad(lambda: np.sum(x), x.T)      # reshaping a transpose would copy it
