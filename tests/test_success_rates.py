"""Tests for experiments.success_rates: the cells at one parameter budget (notebook 05) and
the reproduction table's bookkeeping (notebook 07)."""
import numpy as np
import pytest

from rnn_core.experiments import success_rates as ex
from rnn_core.training import tasks
from rnn_core.training.many import seedgrid


def test_matched_sizes_are_nearest_to_the_budget():
    sizes = ex.matched_sizes(430, D=4, O=2)
    assert sizes == {"rnn": 17, "lstm": 8, "gru": 9}
    for cell, H in sizes.items():
        here = abs(ex.model_size(cell, 4, H, 2) - 430)
        assert here <= abs(ex.model_size(cell, 4, H + 1, 2) - 430)
        assert here <= abs(ex.model_size(cell, 4, H - 1, 2) - 430)
    assert ex.model_size("lstm", 4, 8, 2) == 4 * (8 * 12 + 8) + 2 * 8 + 2


def test_lag_rates_tabulates_every_seed():
    res = ex.lag_rates("memory", lengths=(3,), budget=60, seeds=range(2), steps=25, batch_size=8,
                       n_val=20, cells_=("rnn", "lstm"))
    assert res["cells"] == ["rnn", "lstm"] and res["lengths"] == [3]
    assert len(res["records"]) == 4
    for c in res["cells"]:
        wins = sum(r["succeeded"] for r in res["records"] if r["method"] == c)
        assert res["successes"][c][0] == wins and res["rate"][c][0] == wins / 2
        lo, hi = res["interval"][c]
        assert (lo[0], hi[0]) == pytest.approx(seedgrid.wilson(wins, 2))
    assert "err" not in res                     # no standard errors: zero length at 0/n and n/n
    with pytest.raises(ValueError, match="task"):
        ex.lag_rates("copy", lengths=(3,), budget=60, seeds=[0], steps=1)


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


def test_reproduction_keeps_its_criteria_and_seeds():
    t = ex.reproduction(lengths=(4,), n_seeds=2, task_names=("adding",), methods=("SGD",),
                        steps=2, H=3)
    assert t["steps"] == 2 and t["seeds"] == [0, 1] and ex.REPRO_TASKS["adding"]["threshold"] == 0.1


def test_fair_reproduction_uses_the_fair_criteria_and_the_seeds_asked_for():
    t = ex.fair_reproduction(lengths=(4, 6), n_seeds=2, first_seed=5, methods=("SGD",), H=3)
    assert t["seeds"] == [5, 6] and t["tasks"] == ["temporal_order", "adding"]
    assert t["steps"] == {"temporal_order": 200, "adding": 400}
    assert t["threshold"]["adding"] < 1 / 12 < 0.1        # below what ignoring u1 can reach
    assert set(t["versions"]) == set(t["tasks"]) and set(t["baselines"]) == {4, 6}
    for T in (4, 6):
        assert t["baselines"][T]["ignore_first"] > t["threshold"]["adding"]
    with pytest.raises(ValueError, match="first_seed"):
        ex.fair_reproduction(first_seed=-1)


def test_adding_baselines_know_the_marked_values():
    task = tasks.adding(4000, 10, seed=2)
    b = ex.adding_baselines(task)
    assert b["ignore_first"] == pytest.approx(1 / 12, abs=0.006)      # Var U(0, 1)
    assert b["constant"] == pytest.approx(1 / 6, abs=0.01)           # Var(u1 + u2)
    second = task.x[..., 0] * task.x[..., 1] * (np.arange(10) >= 5)  # the mark in the 2nd half
    first = task.y[:, 0] - second.sum(axis=1)
    assert b["ignore_first"] == pytest.approx(np.mean((first - 0.5) ** 2), rel=1e-12)
    with pytest.raises(ValueError, match="task"):
        ex.adding_baselines(tasks.temporal_order(4, 10))


def test_lag_rates_over_chosen_seeds_compares_and_formats():
    kw = dict(lengths=(3,), budget=60, steps=25, batch_size=8, n_val=20, cells_=("rnn", "lstm"))
    res = ex.lag_rates("memory", seeds=range(2), **kw)
    assert res["seeds"] == [0, 1] and res["n_seeds"] == 2
    other = ex.lag_rates("memory", seeds=(5, 9), **kw)
    assert other["seeds"] == [5, 9] and {r["seed"] for r in other["records"]} == {5, 9}
    pairs = ex.lag_comparisons(res)
    assert [p["pair"] for p in pairs] == [("rnn", "lstm")]
    k = tuple(int(res["successes"][c][0]) for c in ("rnn", "lstm"))
    assert pairs[0]["successes"] == k and pairs[0]["p"] == seedgrid.fisher_exact(k[0], 2, k[1], 2)
    assert "/2 [" in ex.format_lag_intervals(res)
    with pytest.raises(ValueError, match="seeds"):
        ex.lag_rates("memory", seeds=(1, 1), **kw)
    with pytest.raises(ValueError, match="seeds"):
        ex.lag_rates("memory", seeds=(), **kw)
