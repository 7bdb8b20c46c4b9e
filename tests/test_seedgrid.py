"""seedgrid: tables of experiments over seeds, and the Wilson interval."""
import pytest

from rnn_core.training.many import seedgrid
from rnn_core.training import tasks, train


def test_grid_groups_methods_and_reports_rates():
    m = {"sgd": dict(cell="rnn", H=3, lr=0.1), "clip": dict(cell="rnn", H=3, lr=0.1, clip=0.1),
         "lstm": dict(cell="lstm", H=3)}
    g = seedgrid.grid(lambda T: tasks.adding(20, T, seed=1), [4, 6], m, [0, 1], steps=4,
                      val_every=2, batch_size=4)
    assert len(g.records) == 2 * 3 * 2
    for r in g.records:                      # the same run as a fit of that method and seed
        if r["method"] == "clip" and r["T"] == 6 and r["seed"] == 1:
            _, h = train.fit("rnn", tasks.adding(20, 6, seed=1), 3, seed=1, lr=0.1, clip=0.1,
                             steps=4, val_every=2, batch_size=4)
            assert r["final_error"] == pytest.approx(h.best_error, rel=1e-12)
    rows = g.table()
    assert [(r["method"], r["T"]) for r in rows] == [(a, T) for a in m for T in (4, 6)]
    assert all(r["n"] == 2 and r["lo"] <= r["rate"] <= r["hi"] for r in rows)


def test_wilson_interval_known_values():
    # k = 0, n = 10, z = 1.96: upper end z^2 / (n + z^2) = 0.2775
    assert seedgrid.wilson(0, 10) == pytest.approx((0.0, 3.8416 / 13.8416))
    lo, hi = seedgrid.wilson(5, 10)
    assert lo == pytest.approx(1 - hi) and lo == pytest.approx(0.2366, abs=1e-4)


def test_errors_name_the_argument():
    task = tasks.adding(10, 4, seed=0)
    with pytest.raises(TypeError, match="^task"):
        seedgrid.grid("adding", [4], {"a": dict(cell="rnn", H=2)}, [0])
    with pytest.raises(ValueError, match=r"^methods\['a'\]"):
        seedgrid.grid(lambda T: task, [4], {"a": dict(cell="rnn")}, [0])
