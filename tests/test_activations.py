"""Activations: values, derivatives against finite differences, gamma, and no overflow warnings."""
import warnings

import numpy as np
import pytest

from rnn_core.nn import activations
from rnn_core.nn.activations import ACTIVATIONS

NAMES = ["sigmoid", "tanh", "relu", "linear"]
# points away from relu's kink at 0, where finite differences are meaningless
A = np.array([-3.0, -1.2, -0.3, 0.2, 0.7, 2.5])


def test_values():
    a = np.array([-2.0, 0.0, 3.0])
    np.testing.assert_allclose(ACTIVATIONS["sigmoid"].f(a), 1 / (1 + np.exp(-a)), rtol=1e-15)
    np.testing.assert_allclose(ACTIVATIONS["tanh"].f(a), np.tanh(a))
    np.testing.assert_array_equal(ACTIVATIONS["relu"].f(a), [0.0, 0.0, 3.0])
    np.testing.assert_array_equal(ACTIVATIONS["linear"].f(a), a)
    assert ACTIVATIONS["sigmoid"].f(np.zeros(1))[0] == 0.5


@pytest.mark.parametrize("name", NAMES)
def test_derivative_matches_finite_differences(name):
    act, eps = ACTIVATIONS[name], 1e-6
    numeric = (act.f(A + eps) - act.f(A - eps)) / (2 * eps)
    np.testing.assert_allclose(act.df(A), numeric, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("name", NAMES)
def test_df_from_out_agrees_with_df(name):
    act = ACTIVATIONS[name]
    np.testing.assert_allclose(act.df_from_out(act.f(A)), act.df(A), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name, gamma", [("sigmoid", 0.25), ("tanh", 1.0), ("relu", 1.0), ("linear", 1.0)])
def test_gamma_is_the_sup_of_the_derivative(name, gamma):
    assert activations.gamma(name) == ACTIVATIONS[name].gamma == gamma
    grid = np.linspace(-10, 10, 2001)               # contains 0, where sigmoid' and tanh' peak
    assert np.abs(ACTIVATIONS[name].df(grid)).max() == pytest.approx(gamma)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sigmoid_saturates_without_warnings(dtype):
    a = np.array([-1e4, -800.0, 800.0, 1e4], dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")              # also enforced for every test by pyproject
        s = activations.sigmoid(a)
        ds = ACTIVATIONS["sigmoid"].df(a)
    np.testing.assert_array_equal(s, [0.0, 0.0, 1.0, 1.0])
    np.testing.assert_array_equal(ds, 0.0)
    assert s.dtype == dtype


@pytest.mark.parametrize("name", NAMES)
def test_dtype_and_shape_are_kept(name):
    a = np.arange(-3, 3, dtype=np.float32).reshape(2, 3)
    act = ACTIVATIONS[name]
    for out in (act.f(a), act.df(a), act.df_from_out(act.f(a))):
        assert out.dtype == np.float32 and out.shape == a.shape
    out = act.f(a)
    out += 1.0                                      # f returns a new array, never its input
    assert a[0, 0] == -3.0


def test_unknown_name_raises():
    with pytest.raises(ValueError, match="activation.*softplus"):
        activations.get("softplus")
    with pytest.raises(ValueError, match="activation"):
        activations.gamma("Tanh")


def test_sigmoid_in_place_and_unsilenced_equal_it_bit_for_bit():
    # the one sigmoid, in every form the cells' loops use: into an array (a itself too) and
    # without its np.errstate (inside a loop's own): the same values to the last bit
    sigmoid = activations.sigmoid
    a = np.concatenate([np.linspace(-800, 800, 4001), np.geomspace(1e-300, 1, 301),
                        -np.geomspace(1e-300, 1, 301), [0.0, -1e4, 1e4]])
    want = sigmoid(a)
    assert want[a == -1e4][0] == 0.0 and want[a == 1e4][0] == 1.0
    np.testing.assert_array_equal(sigmoid(a, out=np.empty_like(a)), want)
    b = a.copy()
    assert sigmoid(b, out=b) is b
    np.testing.assert_array_equal(b, want)
    with np.errstate(over="ignore"):
        np.testing.assert_array_equal(sigmoid(a, silence=False), want)
