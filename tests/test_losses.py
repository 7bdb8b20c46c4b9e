"""Readout, losses and embedding: gradients by finite differences, known values, stability, errors."""
import numpy as np
import pytest

from rnn_core.nn import losses, readout
from rnn_core.bptt.gradcheck import check_gradients

TOL = 1e-7


@pytest.mark.parametrize("shape", [(3, 4, 5), (3, 5)])
def test_affine_gradients(rng, shape):
    H, O = shape[-1], 2
    params = readout.init_affine(H, O, seed=1)
    params["b_y"] += rng.standard_normal(O)
    h = rng.standard_normal(shape)
    G = rng.standard_normal(shape[:-1] + (O,))          # loss = sum(y * G), so dL/dy = G

    def loss():
        return float((readout.affine_forward(h, params)[0] * G).sum())

    y, cache = readout.affine_forward(h, params)
    assert y.shape == shape[:-1] + (O,)
    dh, grads = readout.affine_backward(G, cache)
    errors = check_gradients(loss, {"h": h, **params}, {"h": dh, **grads})
    assert max(errors.values()) < TOL, errors


def test_affine_known_value():
    params = {"W_y": np.array([[1.0, 2.0]]), "b_y": np.array([0.5])}
    y, _ = readout.affine_forward(np.array([[3.0, -1.0]]), params)
    assert y.tolist() == [[1.5]]


@pytest.mark.parametrize("shape", [(4, 3), (4, 5, 3)])
@pytest.mark.parametrize("masked", [False, True])
def test_softmax_cross_entropy_gradient(rng, shape, masked):
    logits = 3 * rng.standard_normal(shape)
    targets = rng.integers(0, shape[-1], size=shape[:-1])
    mask = (rng.random(shape[:-1]) < 0.5).astype(float) if masked else None
    loss, dlogits = losses.softmax_cross_entropy(logits, targets, mask)
    errors = check_gradients(lambda: losses.softmax_cross_entropy(logits, targets, mask)[0],
                             {"logits": logits}, {"logits": dlogits})
    assert errors["logits"] < TOL


def test_cross_entropy_sums_over_steps_and_averages_over_batch():
    N, T, C = 4, 6, 5
    loss, _ = losses.softmax_cross_entropy(np.zeros((N, T, C)), np.zeros((N, T), np.int64))
    assert loss == pytest.approx(T * np.log(C))          # uniform prediction: log C per step
    mask = np.zeros((N, T))
    mask[:, -1] = 1                                       # many-to-one through the mask
    loss_last, d = losses.softmax_cross_entropy(np.zeros((N, T, C)), np.zeros((N, T), np.int64), mask)
    assert loss_last == pytest.approx(np.log(C))
    assert not d[:, :-1].any()
    loss_2d, _ = losses.softmax_cross_entropy(np.zeros((N, C)), np.zeros(N, np.int64))
    assert loss_2d == pytest.approx(loss_last)            # or pass the last step's logits only


def test_cross_entropy_known_value():
    logits = np.array([[np.log(1.0), np.log(3.0)]])      # probabilities 1/4, 3/4
    loss, d = losses.softmax_cross_entropy(logits, np.array([1]))
    assert loss == pytest.approx(-np.log(0.75))
    np.testing.assert_allclose(d, [[0.25, -0.25]])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_cross_entropy_is_stable_for_huge_logits(dtype):
    logits = np.array([[1e4, 0.0, -1e4], [1e4, 1e4, 1e4]], dtype)
    loss, d = losses.softmax_cross_entropy(logits, np.array([2, 0]))   # warnings are errors
    assert np.isfinite(loss) and np.isfinite(d).all() and d.dtype == dtype
    assert loss == pytest.approx((2e4 + np.log(3)) / 2, rel=1e-5)


def test_softmax_rows_sum_to_one():
    p = losses.softmax(np.array([[1e4, 0.0], [-3.0, 2.0]]))
    np.testing.assert_allclose(p.sum(axis=-1), 1.0)


@pytest.mark.parametrize("masked", [False, True])
def test_mse_gradient_and_value(rng, masked):
    pred, target = rng.standard_normal((3, 4, 2)), rng.standard_normal((3, 4, 2))
    mask = (rng.random((3, 4)) < 0.5).astype(int) if masked else None
    loss, dpred = losses.mse(pred, target, mask)
    m = np.ones((3, 4)) if mask is None else mask
    assert loss == pytest.approx(0.5 * ((pred - target) ** 2 * m[..., None]).sum() / 3)
    errors = check_gradients(lambda: losses.mse(pred, target, mask)[0], {"pred": pred}, {"pred": dpred})
    assert errors["pred"] < TOL


def test_embedding_gradient_with_repeated_indices(rng):
    params = readout.init_embedding(5, 3, seed=2)
    idx = np.array([[0, 1, 1, 4], [4, 4, 2, 0]])         # repeats must accumulate
    G = rng.standard_normal((2, 4, 3))
    x, cache = readout.embedding_forward(idx, params)
    np.testing.assert_array_equal(x[1, 0], params["E"][4])
    grads = readout.embedding_backward(G, cache)
    errors = check_gradients(lambda: float((readout.embedding_forward(idx, params)[0] * G).sum()),
                             params, grads)
    assert errors["E"] < TOL
    np.testing.assert_allclose(grads["E"][4], G[0, 3] + G[1, 0] + G[1, 1])
    assert not grads["E"][3].any()                        # unused row: no gradient


def test_embedding_affine_cross_entropy_chain(rng):
    """A whole many-to-many readout: embed, project, cross-entropy, all gradients at once."""
    emb, out = readout.init_embedding(6, 4, seed=3), readout.init_affine(4, 6, seed=4)
    idx, targets = rng.integers(0, 6, (2, 5)), rng.integers(0, 6, (2, 5))

    def loss():
        x, _ = readout.embedding_forward(idx, emb)
        return losses.softmax_cross_entropy(readout.affine_forward(x, out)[0], targets)[0]

    x, ec = readout.embedding_forward(idx, emb)
    y, ac = readout.affine_forward(x, out)
    _, dy = losses.softmax_cross_entropy(y, targets)
    dx, gout = readout.affine_backward(dy, ac)
    gemb = readout.embedding_backward(dx, ec)
    errors = check_gradients(loss, {**emb, **out}, {**gemb, **gout})
    assert max(errors.values()) < TOL, errors

# ----------------------------------------------------------------------------- errors


def test_targets_errors_name_the_argument():
    logits = np.zeros((2, 3))
    with pytest.raises(ValueError, match=r"targets.*\[0, 3\).*\[0, 3\]"):
        losses.softmax_cross_entropy(logits, np.array([0, 3]))
    with pytest.raises(ValueError, match="targets"):
        losses.softmax_cross_entropy(logits, np.array([-1, 0]))
    with pytest.raises(TypeError, match="targets.*integer.*float64"):
        losses.softmax_cross_entropy(logits, np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"targets.*shape \(2\).*\(2, 1\)"):
        losses.softmax_cross_entropy(logits, np.zeros((2, 1), np.int64))
    with pytest.raises(TypeError, match="targets"):
        losses.softmax_cross_entropy(logits, [0, 1])


def test_logits_and_mask_errors():
    with pytest.raises(TypeError, match="logits"):
        losses.softmax_cross_entropy(np.zeros((2, 3), np.int64), np.array([0, 1]))
    with pytest.raises(ValueError, match="logits.*finite"):
        losses.softmax_cross_entropy(np.array([[np.inf, 0.0]]), np.array([0]))
    with pytest.raises(ValueError, match="logits"):
        losses.softmax_cross_entropy(np.zeros(3), np.array(0))
    with pytest.raises(ValueError, match="mask.*0 and 1"):
        losses.softmax_cross_entropy(np.zeros((2, 3)), np.array([0, 1]), np.array([0.5, 1.0]))
    with pytest.raises(ValueError, match="mask.*shape"):
        losses.softmax_cross_entropy(np.zeros((2, 3)), np.array([0, 1]), np.ones(3))


def test_mse_errors():
    with pytest.raises(ValueError, match="target.*shape"):
        losses.mse(np.zeros((2, 1)), np.zeros((2,)))
    with pytest.raises(TypeError, match="target.*float32"):
        losses.mse(np.zeros((2, 1), np.float32), np.zeros((2, 1)))


def test_affine_and_embedding_errors():
    params = readout.init_affine(3, 2)
    with pytest.raises(ValueError, match=r"h: expected shape \(any, any, 3\)"):
        readout.affine_forward(np.zeros((2, 4, 5)), params)
    with pytest.raises(ValueError, match=r"params\['b_y'\].*\(2\).*\(1, 2\)"):
        readout.affine_forward(np.zeros((2, 3)), {"W_y": params["W_y"], "b_y": np.zeros((1, 2))})
    with pytest.raises(TypeError, match="h.*float32"):
        readout.affine_forward(np.zeros((2, 3), np.float32), params)
    _, cache = readout.affine_forward(np.zeros((2, 3)), params)
    with pytest.raises(ValueError, match="dy"):
        readout.affine_backward(np.zeros((2, 3)), cache)
    emb = readout.init_embedding(4, 2)
    with pytest.raises(ValueError, match=r"idx.*\[0, 4\)"):
        readout.embedding_forward(np.array([1, 4]), emb)
    with pytest.raises(TypeError, match="idx"):
        readout.embedding_forward(np.array([1.0]), emb)
