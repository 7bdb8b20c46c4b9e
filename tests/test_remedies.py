"""Tests for experiments.remedies (notebook 07): the angle clipping turns a gradient by,
Omega's pieces, and the training loop with weight decay."""
import numpy as np
import pytest

from rnn_core.nn import matrices
from rnn_core.remedies import optim
from rnn_core.training import tasks, train
from rnn_core.experiments import remedies as ex


def test_angle_is_accurate_for_tiny_and_right_angles():
    a = np.array([1.0, 0.0, 0.0])
    assert ex.angle(a, 3 * a) == 0.0
    assert ex.angle(a, np.array([0.0, 2.0, 0.0])) == pytest.approx(90.0, abs=1e-12)
    tiny = np.array([1.0, 1e-9, 0.0])
    assert ex.angle(a, tiny) == pytest.approx(np.degrees(1e-9), rel=1e-9)   # arccos gives 0


# ---- training runs ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def small():
    val = tasks.adding(N=6, T=5, seed=1)
    return val, train.init_model("rnn", val.D, 4, val.n_out, seed=2)


def test_train_run_returns_the_last_params_and_records_the_raw_gradients(small):
    val, _ = small
    kw = dict(H=4, steps=6, lr=0.1, seed=3, batch_size=5, clip=0.2, clip_value=0.05)
    p_run, log = ex.train_run(val, record=True, **kw)
    p_fit, hist = train.fit("rnn", val, val_every=100, **kw)        # one validation, the last
    for a, b in zip(optim.leaves(p_run), optim.leaves(p_fit)):
        np.testing.assert_array_equal(a, b)
    assert log["loss"] == hist.loss and log["clipped"] == hist.clipped
    np.testing.assert_allclose(np.linalg.norm(log["grads"], axis=1), log["grad_norm"], rtol=1e-12)
    assert any(log["clipped"]) and sum(log["n_value_clipped"]) > 0


def test_fit_adds_the_decay_gradient_before_measuring(small):
    val, params = small
    kw = dict(H=4, steps=1, lr=0.1, seed=3, batch_size=5, record_grads=True)
    _, plain = train.fit("rnn", val, params=params, **kw)
    _, decayed = train.fit("rnn", val, params=params, l2=0.1, l1=0.01, **kw)
    d = optim.weight_decay(params, l2=0.1, l1=0.01)
    flat = np.concatenate([a.ravel() for a in optim.leaves(d)])
    np.testing.assert_allclose(decayed.grads[0] - plain.grads[0], flat, rtol=1e-12, atol=1e-15)


def test_decay_gradient_and_decay_alone_shrinks_rho(small):
    val, params = small
    d = optim.weight_decay(params, l2=0.1, l1=0.01)
    for key in ("W_h", "W_x"):
        W = params["cell"][key]
        np.testing.assert_array_equal(d["cell"][key], 0.1 * W + 0.01 * np.sign(W))
    W = params["out"]["W_y"]
    np.testing.assert_array_equal(d["out"]["W_y"], 0.1 * W + 0.01 * np.sign(W))
    assert not d["cell"]["b"].any() and not d["out"]["b_y"].any()
    # one SGD step on the L2 term alone multiplies W_h by (1 - lr l2): rho too
    W = params["cell"]["W_h"]
    W1 = W - 0.5 * optim.weight_decay(params, l2=0.1)["cell"]["W_h"]
    assert matrices.spectral_radius(W1) == pytest.approx(0.95 * matrices.spectral_radius(W),
                                                         rel=1e-12)


def test_lag_pieces_sum_to_the_gradient(small):
    val, params = small
    C = ex.lag_pieces(params, val)
    _, _, grads, _ = train.loss_and_grads("rnn", params, val)
    np.testing.assert_allclose(C.sum(axis=0), grads["cell"]["W_h"], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(ex.lag_contributions(params, val),
                               np.linalg.norm(C, axis=(1, 2))[:0:-1], rtol=1e-15)


def test_linear_orthogonal_network_has_known_ratios_and_profile():
    val = tasks.adding(N=4, T=8, seed=4)
    params = train.init_model("rnn", val.D, 5, val.n_out, seed=5,
                              init={"W_h": "orthogonal", "rho": 0.8}, activation="linear")
    np.testing.assert_allclose(ex.step_ratios(params, val, "linear"), 0.8, rtol=1e-12)
    prof = ex.lag_profile(params, val, "linear")
    np.testing.assert_allclose(np.diff(prof), np.log10(0.8), rtol=1e-10)


def test_clipping_by_norm_leaves_the_lag_profile(monkeypatch):
    res = ex.clipping_and_vanishing(c=1e-3, T=8)
    assert res["fired"] and res["scale"] < 1
    assert res["profile_change"] < 1e-12
    assert res["share_clipped"] == pytest.approx(res["share_raw"], rel=1e-12)


def test_omega_cosines_collect_omega_derivatives_per_seed():
    res = ex.omega_cosines([0, 3], T=5, H=3, N=4)
    np.testing.assert_array_equal(res["seeds"], [0, 3])
    for seed, i in ((0, 0), (3, 1)):
        one = ex.omega_derivatives(T=5, H=3, N=4, seed=seed)
        for m in one["cosine"]:
            assert res["cosine"][m][i] == one["cosine"][m]
            assert -1 <= res["cosine"][m][i] <= 1 and res["rel_norm"][m][i] > 0
    with pytest.raises(ValueError, match="seeds"):
        ex.omega_cosines(3)
    with pytest.raises(ValueError, match=r"seeds\[1\]"):
        ex.omega_cosines([0, -2])


def test_omega_training_reports_the_adding_baselines():
    res = ex.omega_training(T=6, steps=2)
    b = res["baselines"]
    assert 0 < b["ignore_first"] < b["constant"]
