"""Notebook 05's figures and the cell explorer, driven without a browser."""
import numpy as np
import pytest

from rnn_core.plots import render
from rnn_core.experiments import gates as ex
from rnn_core.plots import gates as pg
from rnn_core.widgets import gates as wg
from test_plots import check_legible


@pytest.fixture(scope="module")
def explorer():
    e = wg.cell_explorer(T=30, H=4)
    yield e
    e.close()


def test_cell_explorer_controls(explorer):
    c = explorer.controls
    assert list(c) == ["cell", "T", "rho", "forget bias", "input scale"]
    assert list(c["cell"].options) == list(ex.EXPLORER_CELLS)
    assert (c["T"].min, c["T"].max) == (1, 1000) and c["cell"].value == ex.DEFAULTS["cell"]
    assert c["rho"].value == ex.DEFAULTS["rho"] and not c["forget bias"].disabled
    assert explorer.last_error is None and explorer.last_png.startswith(b"\x89PNG")


@pytest.mark.parametrize("name, value", [("cell", "gru (sources)"), ("rho", 0.0), ("rho", 2.0),
                                         ("T", 1), ("input scale", 10.0), ("cell", "rnn (tanh)"),
                                         ("cell", "lstm"), ("forget bias", -2.0)])
def test_every_control_redraws(explorer, name, value):
    # xdist's worksteal may hand this test to a worker whose explorer is fresh, with the
    # control already at `value`: move it away first, so that the change below is one
    control = explorer.controls[name]
    if control.value == value:
        choices = control.options if hasattr(control, "options") else (control.min, control.max)
        control.value = next(v for v in choices if v != value)
    before = explorer.n_renders
    control.value = value
    assert explorer.last_error is None, explorer.last_error
    assert explorer.n_renders == before + 1
    assert explorer.last_data[{"input scale": "input_scale", "forget bias": "forget_bias"}
                              .get(name, name)] == value
    assert explorer.controls["forget bias"].disabled == (explorer.controls["cell"].value != "lstm")


def test_partial_redraw_equals_a_full_draw(explorer):
    explorer.controls["cell"].value = "lstm"
    explorer.controls["T"].value = 17
    reused = explorer.pixels.n_reused
    explorer.controls["T"].value = 18
    assert explorer.pixels.n_reused == reused + 1
    full = render.png(pg.cell_explorer_figure(ex.explorer_data(**explorer.settings())))
    from test_widgets import _pixels
    assert np.array_equal(_pixels(full), _pixels(explorer.last_png))


def test_bad_arguments_name_themselves():
    with pytest.raises(ValueError, match="rho"):
        wg.cell_explorer(rho=0.3, T=5, H=2)
    with pytest.raises(ValueError, match="cell"):
        wg.cell_explorer(cell="elman", T=5, H=2)
    with pytest.raises(ValueError, match="forget_bias"):
        wg.cell_explorer(forget_bias=20.0, T=5, H=2)


@pytest.mark.parametrize("cell, T, rho, scale", [("lstm", 1, 2.0, 0.01), ("gru (cudnn)", 60, 0.0, 10.0)])
def test_cell_explorer_figure_is_legible(cell, T, rho, scale):
    fig = pg.cell_explorer_figure(ex.explorer_data(cell=cell, T=T, rho=rho, input_scale=scale, H=4))
    check_legible(fig, f"{cell} T={T} rho={rho}")


@pytest.mark.parametrize("name, make", [
    ("forget_bias", lambda: pg.forget_bias_figure(ex.forget_bias_curves(biases=(0.0,), T=12, H=3, N=1))),
    ("candidate", lambda: pg.candidate_figure(ex.sigmoid_candidate(T=20, H=3, N=2))),
    ("connectivity", lambda: pg.connectivity_figure(ex.connectivity_map(T=10, H=4))),
])
def test_figures_are_legible(name, make):
    fig = make()
    check_legible(fig, name)
    assert repr(fig).startswith("Figure: ")


def test_lag_figure_draws_wilson_intervals():
    from rnn_core.experiments import success_rates as sr
    res = sr.lag_rates("memory", lengths=(3, 4), budget=60, seeds=(2, 3), steps=25, batch_size=8,
                       n_val=20, cells_=("rnn", "lstm"))
    fig = pg.lag_figure([res])
    check_legible(fig, "lag")
    ax = fig.axes[0]
    assert "95 % Wilson" in ax.get_title() and "seeds, 2 to 3" in ax.get_title()
    # each errorbar's vertical segments run from the Wilson lower to the upper bound
    for container, cell in zip(ax.containers, res["cells"]):
        segments = container.lines[2][0].get_segments()
        lo, hi = res["interval"][cell]
        np.testing.assert_allclose([s[0][1] for s in segments], lo, atol=1e-12)
        np.testing.assert_allclose([s[1][1] for s in segments], hi, atol=1e-12)
