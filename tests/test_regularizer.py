"""Pascanu's Omega: known values, and gradients by finite differences under the SAME convention.

Every convention holds g = dL/dh_t fixed: the closures below receive it as a frozen array
computed once, and recompute only what the chosen mode lets move.
"""
import numpy as np
import pytest

from rnn_core.nn import activations, init
from rnn_core.remedies import regularizer
from rnn_core.cells import elman
from rnn_core.bptt.gradcheck import check_gradients

TOL = 1e-7
N, T, D, H = 3, 5, 2, 4


def setup(rng, activation):
    params = elman.init_params(D, H, seed=1, W_h="gaussian", rho=1.1)
    params["b"] = 0.3 * rng.standard_normal(H)
    x = rng.standard_normal((N, T, D))
    state0 = {"h": 0.5 * rng.standard_normal((N, H))}
    h, _, _ = elman.forward(x, state0, params, activation=activation)
    g = regularizer.state_gradients(rng.standard_normal((N, T, H)), h, params,
                                    activation=activation)
    g[1, 2] = 0.0                                     # a step with no gradient is skipped
    return params, x, state0, h, g


def omega_reference(g, fp, W_h):
    """Omega by the definition, one batch item and one step at a time."""
    total = 0.0
    for n in range(g.shape[0]):
        for t in range(g.shape[1]):
            if g[n, t].any():
                v = (g[n, t] * fp[n, t]) @ W_h         # g diag(f'(a_t)) W_h as a row vector
                total += (np.linalg.norm(v) / np.linalg.norm(g[n, t]) - 1.0) ** 2
    return total / g.shape[0]


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "linear"])
@pytest.mark.parametrize("mode", regularizer.MODES)
def test_gradient_matches_finite_differences_under_the_same_convention(rng, activation, mode):
    params, x, state0, h, g = setup(rng, activation)
    act = activations.get(activation)
    value, grads = regularizer.omega(g, x, state0, h, params, mode=mode, activation=activation)
    assert set(grads) == set(params)
    g_fixed = g.copy()
    h_prev = np.concatenate([state0["h"][:, None], h[:, :-1]], axis=1)
    fp_fixed = act.df_from_out(h).copy()

    if mode == "direct":                  # f'(a_t) frozen too: only the explicit W_h moves
        def loss():
            return omega_reference(g_fixed, fp_fixed, params["W_h"])
        arrays = {"W_h": params["W_h"]}
        assert not grads["W_x"].any() and not grads["b"].any()
    elif mode == "immediate":             # h_{t-1} and x_t frozen: a_t moves with W_h, W_x, b
        def loss():
            a = h_prev @ params["W_h"].T + x @ params["W_x"].T + params["b"]
            return omega_reference(g_fixed, act.df(a), params["W_h"])
        arrays = params
    else:                                 # the whole forward pass reruns; only g is frozen
        def loss():
            h, _, _ = elman.forward(x, state0, params, activation=activation)
            return omega_reference(g_fixed, act.df_from_out(h), params["W_h"])
        arrays = params
    assert value == pytest.approx(loss(), rel=1e-12)
    errors = check_gradients(loss, arrays, {k: grads[k] for k in arrays})
    assert max(errors.values()) < TOL, errors


def test_norm_preserving_linear_rnn_has_zero_omega(rng):
    params = elman.init_params(D, H, seed=2)                      # orthogonal W_h
    x = rng.standard_normal((N, T, D))
    h, _, _ = elman.forward(x, None, params, activation="linear")
    value, grads = regularizer.omega(rng.standard_normal((N, T, H)), x, None, h, params,
                                     activation="linear")
    assert value == pytest.approx(0.0, abs=1e-20)
    assert max(np.abs(v).max() for v in grads.values()) < 1e-12


def test_known_value_for_scaled_orthogonal_matrix(rng):
    s = 0.5                                                       # every ratio is s
    params = elman.init_params(D, H, seed=2)
    params["W_h"] = s * init.orthogonal(H, seed=3)
    x = rng.standard_normal((N, T, D))
    h, _, _ = elman.forward(x, None, params, activation="linear")
    value, _ = regularizer.omega(rng.standard_normal((N, T, H)), x, None, h, params,
                                 activation="linear")
    assert value == pytest.approx(T * (s - 1.0) ** 2)             # T terms per item, mean over N


def test_tiny_and_zero_gradients_are_safe(rng):
    params, x, state0, h, g = setup(rng, "tanh")
    value, _ = regularizer.omega(g, x, state0, h, params)
    tiny, _ = regularizer.omega(g * 1e-300, x, state0, h, params)  # warnings are errors
    assert tiny == pytest.approx(value, rel=1e-10)                # the ratio ignores |g|
    zero, grads = regularizer.omega(np.zeros_like(g), x, state0, h, params)
    assert zero == 0.0 and not any(v.any() for v in grads.values())


@pytest.mark.parametrize("truncate", [None, 2])
def test_state_gradients_agree_with_elman_backward(rng, truncate):
    params, x, state0, _, _ = setup(rng, "tanh")
    h, _, cache = elman.forward(x, state0, params)
    dh = rng.standard_normal((N, T, H))
    g = regularizer.state_gradients(dh, h, params, truncate=truncate)
    _, dstate0, grads = elman.backward(dh, cache, truncate=truncate)
    da = g * (1.0 - h ** 2)                                       # dL/da_t
    np.testing.assert_allclose(da.sum(axis=(0, 1)), grads["b"], rtol=1e-12)
    np.testing.assert_allclose(da[:, 0] @ params["W_h"], dstate0["h"], rtol=1e-12)
    np.testing.assert_array_equal(g[:, -1], dh[:, -1])
    if truncate is not None:                                      # the cut before step 2
        np.testing.assert_array_equal(g[:, 1], dh[:, 1])


def test_state_gradients_take_the_upstream_gradient_at_chosen_steps(rng):
    params, x, state0, h, _ = setup(rng, "tanh")
    last = rng.standard_normal((N, H))
    dense = np.zeros((N, T, H))
    dense[:, -1] = last
    np.testing.assert_array_equal(regularizer.state_gradients({-1: last}, h, params),
                                  regularizer.state_gradients(dense, h, params))
    assert not regularizer.state_gradients(None, h, params).any()


def test_errors():
    rng = np.random.default_rng(0)
    params, x, state0, h, g = setup(rng, "tanh")
    with pytest.raises(ValueError, match="mode"):
        regularizer.omega(g, x, state0, h, params, mode="exact")
    with pytest.raises(ValueError, match=r"g: expected shape \(3, 5, 4\)"):
        regularizer.omega(g[:, :-1], x, state0, h, params)
    with pytest.raises(ValueError, match=r"h: expected shape \(3, 5, 4\)"):
        regularizer.omega(g, x, state0, h[:, :-1], params)
    with pytest.raises(ValueError, match="h: expected the .N, T, H. states"):
        regularizer.state_gradients(g, h[0], params)
    with pytest.raises(ValueError, match="x.*looks time-major"):
        regularizer.omega(g, x.transpose(1, 0, 2), state0, h, params)
    with pytest.raises(ValueError, match=r"state0\['h'\]"):
        regularizer.omega(g, x, {"h": state0["h"][:, :2]}, h, params)
    with pytest.raises(ValueError, match="activation"):
        regularizer.omega(g, x, state0, h, params, activation="softsign")
    with pytest.raises(ValueError, match="truncate"):
        regularizer.state_gradients(g, h, params, truncate=0)
    with pytest.raises(ValueError, match=r"params.*W_h"):
        regularizer.state_gradients(g, h, {k: v for k, v in params.items() if k != "W_h"})
