"""seedgrid: tables of experiments over seeds, and the Wilson interval."""
import numpy as np
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


def test_fisher_exact_known_values():
    assert seedgrid.fisher_exact(3, 4, 1, 4) == pytest.approx(34 / 70)      # tables 1, 16, 36, 16, 1 / 70
    assert seedgrid.fisher_exact(4, 5, 1, 5) == pytest.approx(13 / 63)      # 4/5 against 1/5: p = 0.21
    assert seedgrid.fisher_exact(0, 10, 10, 10) == pytest.approx(2 / 184756)  # 2 / C(20, 10)
    assert seedgrid.fisher_exact(2, 6, 2, 6) == 1.0
    assert seedgrid.fisher_exact(7, 10, 1, 12) == pytest.approx(seedgrid.fisher_exact(1, 12, 7, 10))
    with pytest.raises(ValueError, match="k1"):
        seedgrid.fisher_exact(6, 5, 1, 5)
    with pytest.raises(ValueError, match="n2"):
        seedgrid.fisher_exact(1, 5, 0, 0)


def test_mean_difference_known_values():
    d, hw = seedgrid.mean_difference([1.0, 2.0, 3.0], [0.0, 0.0, 1.0])
    # Welch: se^2 = 1/3 + (1/3)/3; t(2 dof) = 4.303
    assert d == pytest.approx(5 / 3)
    assert hw == pytest.approx(4.303 * np.sqrt(1 / 3 + 1 / 9))
    d, hw = seedgrid.mean_difference(np.arange(20.0), np.arange(20.0) + 1)
    assert d == pytest.approx(-1.0) and hw == pytest.approx(1.96 * np.sqrt(2 * np.var(np.arange(20.0), ddof=1) / 20))
    with pytest.raises(ValueError, match="a, b"):
        seedgrid.mean_difference([1.0], [1.0, 2.0])


def test_sign_test_exact_binomial():
    assert seedgrid.sign_test([1, 1, 1, 1, 1, 1], [2, 2, 2, 2, 2, 2]) == (6, 0, pytest.approx(2 / 64))
    assert seedgrid.sign_test([1, 2, 3], [1, 2, 3]) == (0, 0, 1.0)            # all tied
    a, b = [1, 2, 5, 5, 0], [2, 1, 5, 6, 3]                                 # 3 wins to 1, 1 tie
    assert seedgrid.sign_test(a, b) == (3, 1, pytest.approx(2 * (1 + 4) / 16))
    assert seedgrid.sign_test([1.0, np.inf], [2.0, 3.0])[:2] == (1, 1)       # inf: never reached
    with pytest.raises(ValueError, match="a, b"):
        seedgrid.sign_test([1, 2], [1, 2, 3])
