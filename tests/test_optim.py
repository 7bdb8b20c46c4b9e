"""Optimisers, schedules and clipping: values by hand, direction, purity, nested trees, errors."""
import numpy as np
import pytest

from rnn_core.remedies import optim


def tree(a, b, c):
    """A nested tree like fit's params: {"cell": {...}, "out": {...}} plus a list of layers."""
    return {"cell": {"W_h": np.array([[a, 0.0], [0.0, a]]), "b": np.array([b, b])},
            "out": [{"w": np.array([c])}]}


def flat(t):
    return np.concatenate([a.ravel() for a in optim.leaves(t)])


def test_sgd_step_and_purity():
    params, grads = tree(1.0, 2.0, 3.0), tree(1.0, -1.0, 0.5)
    before = flat(params).copy()
    new = optim.sgd(params, grads, 0.1)
    np.testing.assert_allclose(flat(new), before - 0.1 * flat(grads))
    np.testing.assert_array_equal(flat(params), before)           # inputs untouched
    assert isinstance(new["out"], list)


def test_momentum_matches_the_formula_by_hand():
    # v <- gamma v + alpha g; theta <- theta - v, two steps on a scalar
    theta, g1, g2, alpha, gamma = 1.0, 0.5, -0.2, 0.1, 0.9
    p = {"w": np.array([theta])}
    p, v = optim.momentum(p, {"w": np.array([g1])}, None, alpha, gamma)
    assert v["w"][0] == pytest.approx(alpha * g1)
    assert p["w"][0] == pytest.approx(theta - alpha * g1)
    p, v = optim.momentum(p, {"w": np.array([g2])}, v, alpha, gamma)
    v2 = gamma * alpha * g1 + alpha * g2
    assert v["w"][0] == pytest.approx(v2)
    assert p["w"][0] == pytest.approx(theta - alpha * g1 - v2)
    with pytest.raises(ValueError, match="gamma"):
        optim.momentum(p, {"w": np.array([g2])}, v, alpha, 1.0)


def test_momentum_with_gamma_zero_is_sgd():
    params, grads = tree(1.0, 2.0, 3.0), tree(0.3, 0.1, -0.2)
    p, _ = optim.momentum(params, grads, optim.zeros_like(params), 0.5, 0.0)
    np.testing.assert_allclose(flat(p), flat(optim.sgd(params, grads, 0.5)))


def test_schedules():
    assert optim.constant(0.3)(100) == 0.3
    e = optim.exponential(1.0, 0.5)
    assert [e(k) for k in range(4)] == [1.0, 0.5, 0.25, 0.125]
    lin = optim.linear(1.0, 0.0, 4)
    assert [lin(k) for k in (0, 1, 4, 10)] == [1.0, 0.75, 0.0, 0.0]
    s = optim.step(1.0, 0.1, every=3)
    assert [s(k) for k in (0, 2, 3, 6)] == pytest.approx([1.0, 1.0, 0.1, 0.01])
    with pytest.raises(ValueError, match="decay"):
        optim.exponential(1.0, 1.5)
    with pytest.raises(ValueError, match="k"):
        e(-1)
    with pytest.raises(ValueError, match="every"):
        optim.step(1.0, 0.5, 0)


def test_global_norm_of_nested_tree_and_huge_entries():
    g = tree(1.0, 2.0, 3.0)                                     # entries 1, 1, 2, 2, 3 (and zeros)
    assert optim.global_norm(g) == pytest.approx(np.sqrt(1 + 1 + 4 + 4 + 9))
    assert optim.global_norm({"a": np.array([3e200, 4e200])}) == pytest.approx(5e200)
    assert optim.global_norm({"a": np.zeros(3)}) == 0.0


def test_clip_global_norm_keeps_direction_and_caps_norm():
    g = tree(3.0, -4.0, 12.0)
    norm = optim.global_norm(g)
    clipped, before, fired = optim.clip_global_norm(g, 2.0)
    assert fired and before == pytest.approx(norm)
    assert optim.global_norm(clipped) == pytest.approx(2.0)
    np.testing.assert_allclose(flat(clipped), flat(g) * 2.0 / norm)   # same direction
    same, _, fired = optim.clip_global_norm(g, 2 * norm)
    assert not fired
    np.testing.assert_array_equal(flat(same), flat(g))
    _, _, fired = optim.clip_global_norm({"a": np.array([3.0, 4.0])}, 5.0)
    assert fired                                                 # Algorithm 2: ||g|| >= c
    small = optim.clip_global_norm({"a": np.array([0.3], np.float32)}, 1.0)[0]
    assert small["a"].dtype == np.float32


def test_clip_value_never_changes_in_bound_entries():
    g = {"a": np.array([-3.0, -0.5, 0.0, 0.9, 1.0, 2.5]), "b": [np.array([[1.5, -1.0]])]}
    out, n = optim.clip_value(g, 1.0)
    np.testing.assert_array_equal(out["a"], [-1.0, -0.5, 0.0, 0.9, 1.0, 1.0])
    np.testing.assert_array_equal(out["b"][0], [[1.0, -1.0]])
    assert n == 3
    assert g["a"][0] == -3.0                                     # input untouched


@pytest.mark.parametrize("c", [0, -1.0, np.inf, np.nan])
def test_bad_threshold_raises_naming_c(c):
    with pytest.raises(ValueError, match="c: expected a finite threshold > 0"):
        optim.clip_global_norm({"a": np.ones(2)}, c)
    with pytest.raises(ValueError, match="c: expected"):
        optim.clip_value({"a": np.ones(2)}, c)


def test_tree_errors_name_the_path():
    params = tree(1.0, 2.0, 3.0)
    bad = tree(1.0, 2.0, 3.0)
    del bad["cell"]["b"]
    with pytest.raises(ValueError, match=r"grads\['cell'\]: expected keys \['W_h', 'b'\]"):
        optim.sgd(params, bad, 0.1)
    bad = tree(1.0, 2.0, 3.0)
    bad["out"][0]["w"] = np.ones(2)
    with pytest.raises(ValueError, match=r"grads\['out'\]\[0\]\['w'\]: expected shape \(1,\)"):
        optim.sgd(params, bad, 0.1)
    bad["out"][0]["w"] = np.array([np.nan])
    with pytest.raises(ValueError, match="finite"):
        optim.global_norm(bad)
    with pytest.raises(TypeError, match="grads"):
        optim.global_norm({"a": np.array([1, 2])})
    with pytest.raises(ValueError, match="lr"):
        optim.sgd(params, params, 0.0)
