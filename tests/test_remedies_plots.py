"""Notebook 07's figures and cliff explorer: labelled, legible (tests/test_plots.py's
measure), drawn from small inputs; the explorer driven without a browser."""
import numpy as np
import pytest

from rnn_core.plots import render
from rnn_core import widgets
from rnn_core.experiments import cliff
from rnn_core.experiments import remedies as ex
from rnn_core.plots import remedies as pl
from test_plots import check_legible


def _fake_table():
    k = {"SGD": np.array([4, 0]), "LSTM": np.array([4, 3])}
    return {"tasks": ["temporal_order"], "methods": list(k), "lengths": [5, 10], "n_seeds": 4,
            "rate": {"temporal_order": {m: v / 4 for m, v in k.items()}},
            "successes": {"temporal_order": k},
            "interval": {"temporal_order": {m: (np.maximum(v / 4 - 0.3, 0), np.minimum(v / 4 + 0.3, 1))
                                            for m, v in k.items()}}}


FIGURES = [
    ("cliff_surface", lambda: pl.cliff_surface_figure(cliff.cliff_surface(31, 31),
                                                      cliff.cliff_slice(n=101, zooms=1))),
    ("cliff_steps", lambda: pl.cliff_steps_figure(cliff.cliff_surface(21, 21),
                                                  *cliff.cliff_pair(lr=0.3, clip=1.0, steps=6))),
    ("clipping", lambda: pl.clipping_figure(ex.clipping_comparison(steps=4, T=6),
                                            ex.clipping_and_vanishing(T=8))),
    ("omega", lambda: pl.omega_figure(ex.omega_training(T=6, steps=3))),
    ("optimisers", lambda: pl.optimiser_figure(ex.optimiser_curves(T=4, steps=8, val_every=2,
                                                                   patience=1))),
    ("decay", lambda: pl.decay_figure(ex.weight_decay(T=6, steps=3))),
    ("reproduction", lambda: pl.reproduction_figure(_fake_table())),
    ("reproduction_fair", lambda: pl.reproduction_figure(
        {**_fake_table(), "steps": {"temporal_order": 200}, "threshold": {"temporal_order": 0.99}})),
]


def test_fair_table_panels_state_their_budget_and_criterion():
    fig = pl.reproduction_figure({**_fake_table(), "steps": {"temporal_order": 200},
                                  "threshold": {"temporal_order": 0.99}})
    assert "200 updates" in fig.axes[0].get_title() and ">= 0.99" in fig.axes[0].get_title()


@pytest.mark.parametrize("name, make", FIGURES, ids=[f[0] for f in FIGURES])
def test_figures_are_labelled_and_legible(name, make):
    fig = make()
    for ax in fig.axes:                  # labelled (check_legible draws it, once)
        if ax.get_visible() and ax.axison and ax.get_label() != "<colorbar>":
            assert ax.get_xlabel() or ax.get_ylabel(), f"{name}: unlabelled axes"
    check_legible(fig, name)
    assert repr(fig).startswith("Figure: ") and len(repr(fig)) > 40


def test_cliff_explorer_follows_its_controls_at_the_extremes():
    w = widgets.remedies.cliff_explorer(steps=6)
    assert w.n_errors == 0 and w.last_png is not None
    first = w.last_png
    surface_id = id(w.surface)
    for lr, c in ((10.0, 10.0), (0.01, 0.01)):
        w.controls["learning rate"].value = lr
        w.controls["clipping threshold"].value = c
        assert w.n_errors == 0, w.last_error
        noclip, clip = w.last_runs
        assert noclip["lr"] == pytest.approx(lr) and clip["clip"] == pytest.approx(c)
        want = cliff.cliff_pair(lr=w.settings()["lr"], clip=w.settings()["clip"], steps=6)[1]
        np.testing.assert_array_equal(clip["paths"], want["paths"])     # one path to the data
        if lr == 10.0:                   # the longest title and the widest loss range
            check_legible(w.art["fig"], f"cliff explorer lr={lr} c={c}")
    assert id(w.surface) == surface_id                 # computed once per explorer
    assert w.last_png != first or w.n_renders > 1
    assert "lr = 0.01" in w.last_alt
    with pytest.raises(ValueError, match="lr"):
        widgets.remedies.cliff_explorer(lr=100.0)
    w.close()
    assert w.closed
