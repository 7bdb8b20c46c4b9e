"""Optimisers, schedules and clipping: values by hand, direction, purity, nested trees, errors."""
import numpy as np
import pytest

from rnn_core.remedies import clipping, optim


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
    assert clipping.global_norm(g) == pytest.approx(np.sqrt(1 + 1 + 4 + 4 + 9))
    assert clipping.global_norm({"a": np.array([3e200, 4e200])}) == pytest.approx(5e200)
    assert clipping.global_norm({"a": np.zeros(3)}) == 0.0


def test_clip_global_norm_keeps_direction_and_caps_norm():
    g = tree(3.0, -4.0, 12.0)
    norm = clipping.global_norm(g)
    clipped, before, fired = clipping.clip_global_norm(g, 2.0)
    assert fired and before == pytest.approx(norm)
    assert clipping.global_norm(clipped) == pytest.approx(2.0)
    np.testing.assert_allclose(flat(clipped), flat(g) * 2.0 / norm)   # same direction
    same, _, fired = clipping.clip_global_norm(g, 2 * norm)
    assert not fired
    np.testing.assert_array_equal(flat(same), flat(g))
    _, _, fired = clipping.clip_global_norm({"a": np.array([3.0, 4.0])}, 5.0)
    assert fired                                                 # Algorithm 1: ||g|| >= c
    small = clipping.clip_global_norm({"a": np.array([0.3], np.float32)}, 1.0)[0]
    assert small["a"].dtype == np.float32


def test_one_rule_fires_at_norm_c_and_not_just_below():
    # Pascanu et al.'s Algorithm 1: ||g|| >= c clips; every clipping of the package is it
    c = 5.0
    below = np.nextafter(c, 0.0)
    g = {"a": np.array([3.0, 4.0])}                              # ||g|| = 5 exactly
    _, norm, fired = clipping.clip_global_norm(g, c)
    assert norm == c and fired
    _, _, fired = clipping.clip_global_norm({"a": np.array([below])}, c)
    assert not fired
    scale, fired = clipping.norm_scale(np.array([c, below, 2 * c, 0.0]), c)
    assert fired.tolist() == [True, False, True, False]
    assert scale.tolist() == [1.0, 1.0, 0.5, 1.0]
    per_row, fired = clipping.norm_scale(np.array([c, c]), np.array([c, np.inf]))
    assert fired.tolist() == [True, False]                      # inf: never
    out, fired, n = clipping.clip(g, 5.0, c=c, c_value=4.0)
    assert fired and n == 0                                     # (3, 4) stays inside [-4, 4]
    assert clipping.clip(g, 5.0, c=np.nextafter(c, 10.0))[1] is False


def test_clipping_by_value_rule():
    out, changed = clipping.value_clip(np.array([-2.0, 1.0, 1.5]), 1.0)
    assert out.tolist() == [-1.0, 1.0, 1.0] and changed.tolist() == [True, False, True]


def test_bad_threshold_is_named_by_its_argument():
    with pytest.raises(ValueError, match="clip: expected a finite threshold > 0, received 0"):
        clipping.check_threshold("clip", 0)
    with pytest.raises(TypeError, match="clip_value: expected a real threshold"):
        clipping.check_threshold("clip_value", "1")


def test_adam_first_step_is_lr_times_the_sign():
    p = {"a": np.array([1.0, -2.0, 3.0])}
    g = {"a": np.array([0.5, -1e-3, 10.0])}
    new, m, v = optim.adam(p, g, None, None, 1, 0.1)
    np.testing.assert_allclose(new["a"], p["a"] - 0.1 * np.sign(g["a"]), rtol=1e-6)
    assert np.array_equal(p["a"], [1.0, -2.0, 3.0])                      # nothing modified
    with pytest.raises(ValueError, match="k"):
        optim.adam(p, g, None, None, 0, 0.1)


def test_clip_value_never_changes_in_bound_entries():
    g = {"a": np.array([-3.0, -0.5, 0.0, 0.9, 1.0, 2.5]), "b": [np.array([[1.5, -1.0]])]}
    out, n = clipping.clip_value(g, 1.0)
    np.testing.assert_array_equal(out["a"], [-1.0, -0.5, 0.0, 0.9, 1.0, 1.0])
    np.testing.assert_array_equal(out["b"][0], [[1.0, -1.0]])
    assert n == 3
    assert g["a"][0] == -3.0                                     # input untouched


@pytest.mark.parametrize("c", [0, -1.0, np.inf, np.nan])
def test_bad_threshold_raises_naming_c(c):
    with pytest.raises(ValueError, match="c: expected a finite threshold > 0"):
        clipping.clip_global_norm({"a": np.ones(2)}, c)
    with pytest.raises(ValueError, match="c: expected"):
        clipping.clip_value({"a": np.ones(2)}, c)


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
        clipping.global_norm(bad)
    with pytest.raises(TypeError, match="grads"):
        clipping.global_norm({"a": np.array([1, 2])})
    with pytest.raises(ValueError, match="lr"):
        optim.sgd(params, params, 0.0)
