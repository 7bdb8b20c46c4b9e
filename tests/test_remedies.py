"""Notebook 07's experiments: the cliff model's exact gradient, clipping, Omega's pieces,
the training loop with weight decay, and the reproduction table's bookkeeping."""
import numpy as np
import pytest

from rnn_core import gradcheck, matrices, optim, tasks, train
from rnn_core.experiments import remedies as ex


# ---- the cliff ----------------------------------------------------------------------------

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
    g = np.array([[3.0, 4.0], [0.3, 0.4], [0.0, 0.0]])
    out, fired = ex.clip_vector(g, 1.0)
    np.testing.assert_allclose(out, [[0.6, 0.8], [0.3, 0.4], [0.0, 0.0]], rtol=1e-15)
    assert fired.tolist() == [True, False, False]
    noclip, clip = ex.cliff_pair(lr=0.3, clip=1.0, steps=30)
    step = np.linalg.norm(np.diff(clip["paths"], axis=1), axis=-1)
    assert step.max() <= 0.3 * 1.0 * (1 + 1e-12)
    assert noclip["max_step"].max() > 10          # a start thrown off the cliff (section 1)
    # the pair is two separate runs computed as one batch
    for got, clip_ in ((noclip, None), (clip, 1.0)):
        want = ex.cliff_trajectories(lr=0.3, clip=clip_, steps=30)
        np.testing.assert_array_equal(got["paths"], want["paths"])
        np.testing.assert_array_equal(got["clipped"], want["clipped"])


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


def test_train_run_is_fit_without_decay(small):
    val, _ = small
    kw = dict(H=4, steps=6, lr=0.1, seed=3, batch_size=5, clip=0.2, clip_value=0.05)
    p_run, log = ex.train_run(val, **kw)
    p_fit, hist = train.fit("rnn", val, val_every=100, **kw)
    for a, b in zip(optim.leaves(p_run), optim.leaves(p_fit)):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)
    np.testing.assert_allclose(log["loss"], hist.loss, rtol=1e-13)
    assert log["clipped"] == hist.clipped and log["n_value_clipped"] == hist.n_value_clipped


def test_decay_gradient_and_decay_alone_shrinks_rho(small):
    val, params = small
    d = ex.decay_gradient(params, l2=0.1, l1=0.01)
    for key in ("W_h", "W_x"):
        W = params["cell"][key]
        np.testing.assert_array_equal(d["cell"][key], 0.1 * W + 0.01 * np.sign(W))
    assert not d["cell"]["b"].any() and not d["out"]["b_y"].any()
    # one SGD step on the L2 term alone multiplies W_h by (1 - lr l2): rho too
    W = params["cell"]["W_h"]
    W1 = W - 0.5 * ex.decay_gradient(params, l2=0.1)["cell"]["W_h"]
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


# ---- the reproduction table ---------------------------------------------------------------

def test_reproduction_counts_successes_per_cell():
    t = ex.reproduction(lengths=(4, 6), n_seeds=2, task_names=("temporal_order",),
                        methods=("SGD", "LSTM"), steps=2, H=3)
    assert t["lengths"] == [4, 6] and t["methods"] == ["SGD", "LSTM"]
    for m in t["methods"]:
        k = t["successes"]["temporal_order"][m]
        assert k.shape == (2,) and ((0 <= k) & (k <= 2)).all()
        np.testing.assert_array_equal(t["rate"]["temporal_order"][m], k / 2)
        lo, hi = t["interval"]["temporal_order"][m]
        assert (lo <= k / 2).all() and (k / 2 <= hi).all()
    text = ex.format_reproduction(t)
    assert text.count("\n") == 2 and "/2 [" in text
    with pytest.raises(ValueError, match="methods"):
        ex.reproduction(methods=("Adam",))
