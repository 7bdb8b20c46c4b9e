"""Tests for experiments.cliff (notebook 07): the cliff model's exact gradient, its slice,
and descent on it with and without clipping."""
import numpy as np
import pytest

from rnn_core.bptt import gradcheck
from rnn_core.experiments import cliff as ex


@pytest.mark.parametrize("w, b, T", [(5.0, -2.7, 50), (4.4, -2.6, 50), (3.0, -1.0, 50),
                                     (6.0, -3.0, 50), (-1.0, 0.3, 50), (4.0, -2.0, 6)])
def test_cliff_gradient_matches_finite_differences(w, b, T):
    wa, ba, x0 = np.array(w), np.array(b), np.array(ex.CLIFF_X0)

    def loss():
        return float(ex.cliff_loss_and_grad(wa, ba, T=T, x0=float(x0))[0])

    _, dw, db, dx0 = ex.cliff_loss_and_grad(wa, ba, T=T)
    arrays, grads = {"w": wa, "b": ba, "x0": x0}, {"w": dw, "b": db, "x0": dx0}
    if T == 50:          # after 50 steps x_0 is forgotten below what a difference resolves
        assert abs(dx0) < 1e-9 * max(abs(dw), abs(db))
        del arrays["x0"], grads["x0"]
    errors = gradcheck.check_gradients(loss, arrays, grads, eps=1e-6)
    assert max(errors.values()) < 1e-7, errors


def test_cliff_known_values():
    # w = 0: x_t = b from t = 1 on, so L = (sigmoid(b) - 0.7)^2, and b = logit(0.7) is a minimum
    b = np.log(0.7 / 0.3)
    loss, dw, db, dx0 = ex.cliff_loss_and_grad(np.zeros(1), np.full(1, b))
    assert loss[0] < 1e-30 and abs(db[0]) < 1e-15 and abs(dw[0]) < 1e-15 and dx0[0] == 0.0
    # T = 1: x_1 = w sigmoid(0.5) + b, every derivative by hand
    s0 = 1 / (1 + np.exp(-0.5))
    s1 = 1 / (1 + np.exp(-(2.0 * s0 - 1.0)))
    d = 2 * (s1 - 0.7) * s1 * (1 - s1)
    got = ex.cliff_loss_and_grad(np.array(2.0), np.array(-1.0), T=1)
    np.testing.assert_allclose([g for g in got], [(s1 - 0.7) ** 2, d * s0, d, d * 2.0 * s0 * (1 - s0)],
                               rtol=1e-14)


def test_cliff_rejects_bad_input():
    with pytest.raises(ValueError, match="b: expected the shape of w"):
        ex.cliff_loss_and_grad(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="w: expected finite"):
        ex.cliff_loss_and_grad(np.array([np.nan]), np.zeros(1))
    with pytest.raises(TypeError, match="w: expected dtype"):
        ex.cliff_loss_and_grad(np.zeros(2, int), np.zeros(2))
    with pytest.raises(ValueError, match="target"):
        ex.cliff_loss_and_grad(1.0, 1.0, target=1.5)
    with pytest.raises(ValueError, match="starts"):
        ex.cliff_trajectories(starts=[(1.0, 2.0, 3.0)])
    with pytest.raises(ValueError, match="lr"):
        ex.cliff_trajectories(lr=0.0)


def test_the_slice_finds_the_cliff():
    cut = ex.cliff_slice(n=201, zooms=3)
    assert cut["loss_left"] > 0.3 and cut["loss_right"] < 0.05      # a drop of 20x ...
    assert cut["max_abs_dldb"] > 10 * cut["grid_max_abs_dldb"]       # ... steeper than a grid sees
    assert -2.7 < cut["cliff_b"] < -2.5


def test_clipping_bounds_every_step_and_keeps_direction():
    run = ex.cliff_trajectories(lr=0.3, clip=1.0, steps=30)
    assert (run["clipped"] == (run["norm"] >= 1.0)).all()         # the package's one rule
    noclip, clip = ex.cliff_pair(lr=0.3, clip=1.0, steps=30)
    step = np.linalg.norm(np.diff(clip["paths"], axis=1), axis=-1)
    assert step.max() <= 0.3 * 1.0 * (1 + 1e-12)
    assert noclip["max_step"].max() > 10          # a start thrown off the cliff (section 1)
    # the pair is two separate runs computed as one batch
    for got, clip_ in ((noclip, None), (clip, 1.0)):
        want = ex.cliff_trajectories(lr=0.3, clip=clip_, steps=30)
        np.testing.assert_array_equal(got["paths"], want["paths"])
        np.testing.assert_array_equal(got["clipped"], want["clipped"])


def test_leaves_window_flags_the_runs_thrown_out():
    run = {"paths": np.array([[[4.0, -3.0], [4.5, -2.5], [5.0, -2.0]],      # stays inside
                              [[4.0, -3.0], [9.0, 1.0], [5.0, -2.0]],       # out and back
                              [[4.0, -3.0], [4.1, -5.5], [4.2, -5.6]]])}    # below b_range
    np.testing.assert_array_equal(ex.leaves_window(run), [False, True, True])
    noclip, clip = ex.cliff_pair(lr=0.3, clip=10.0, steps=30)
    thrown = ex.leaves_window(clip)
    assert thrown.any() and clip["clipped"][thrown].any()   # clipped at c = 10, still thrown
    assert (clip["max_step"] <= 0.3 * 10.0 + 1e-12).all()
