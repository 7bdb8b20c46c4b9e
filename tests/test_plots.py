"""Every figure function returns a labelled, legible Figure, from small inputs.

Legible means, measured with the Agg renderer at the size JupyterLab shows (render.DPI,
one image pixel per CSS pixel): every drawn text has capitals at least 10 px high, no two
texts (tick labels, axis labels, titles, legend and key entries) overlap, and all of them
lie inside the figure. The explorer is checked at the extremes of its control grid.
"""
import itertools

import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.text import Text

from rnn_core import experiments, gradflow, plots, widgets
from rnn_core.plots import render

MIN_CAP_PX = 10


def _check_labelled(fig):
    assert isinstance(fig, Figure)
    axes = [ax for ax in fig.axes if ax.get_visible() and ax.axison]
    assert axes
    for ax in axes:
        assert ax.get_xlabel() or ax.get_ylabel(), f"unlabelled axes in {fig}"
    fig.canvas.draw()                        # draws without error (and without warnings)


def _drawn_texts(fig):
    """(name, Text) for every text the figure draws that a reader reads as a label."""
    out = []
    if fig.get_suptitle():
        out.append(("suptitle", fig._suptitle))
    for i, ax in enumerate(fig.axes):
        if not ax.get_visible():
            continue
        if ax.axison:
            for axis in (ax.xaxis, ax.yaxis):
                lo, hi = sorted(axis.get_view_interval())
                eps = 1e-9 * max(1.0, abs(hi - lo))
                for tick in axis.get_major_ticks():
                    if lo - eps <= tick.get_loc() <= hi + eps:
                        for label in (tick.label1, tick.label2):
                            if label.get_visible() and label.get_text():
                                out.append((f"ax{i} tick {label.get_text()}", label))
                if axis.label.get_visible() and axis.label.get_text():
                    out.append((f"ax{i} {axis.axis_name}label", axis.label))
            for loc in ("left", "center", "right"):
                t = {"left": ax._left_title, "center": ax.title, "right": ax._right_title}[loc]
                if t.get_text():
                    out.append((f"ax{i} title", t))
        else:                                # an axes without axis: a key of texts
            out += [(f"ax{i} key {t.get_text()}", t) for t in ax.texts
                    if t.get_visible() and t.get_text()]
        legend = ax.get_legend()
        if legend is not None:
            out += [(f"ax{i} legend {t.get_text()}", t) for t in legend.get_texts()]
    for legend in fig.legends:
        out += [(f"legend {t.get_text()}", t) for t in legend.get_texts()]
    return out


def check_legible(fig, where="", drawn=False):
    """Capitals >= 10 px at render.DPI, no overlapping texts, every text inside the figure.

    drawn=True: the figure's last draw was at its own dpi (a PNG savefig), which leaves the
    layout, ticks and text positions that a draw here would give: measure them as they are.
    """
    assert fig.dpi == render.DPI, f"{where}: drawn at {fig.dpi} dpi, not {render.DPI}"
    assert fig.get_facecolor()[3] == 1.0 and fig.get_facecolor()[:3] == (1.0, 1.0, 1.0), (
        f"{where}: the background is not opaque white")
    agg = render.canvas(fig)
    if not drawn:
        agg.draw()
    renderer = agg.get_renderer()
    texts = _drawn_texts(fig)
    assert texts, where
    W, H = agg.get_width_height()
    boxes = []
    for name, t in texts:
        _, cap, _ = renderer.get_text_width_height_descent("H", t.get_fontproperties(), ismath=False)
        assert cap >= MIN_CAP_PX, f"{where}: {name!r} has capitals {cap:g} px high"
        box = t.get_window_extent(renderer)
        assert box.x0 >= -0.5 and box.y0 >= -0.5 and box.x1 <= W + 0.5 and box.y1 <= H + 0.5, (
            f"{where}: {name!r} reaches outside the figure ({box.bounds}, figure {W}x{H})")
        boxes.append((name, box.padded(-0.5)))
    for (n1, b1), (n2, b2) in itertools.combinations(boxes, 2):
        assert not b1.overlaps(b2), f"{where}: {n1!r} overlaps {n2!r}"


@pytest.fixture(scope="module")
def small_sweep():
    return gradflow.sweeps.sweep(np.linspace(0.5, 1.5, 5), H=8, T=30)


def test_explorer_figure_panels(small_sweep):
    art = plots.explorer.explorer_artists()
    plots.explorer.update_explorer(art, small_sweep)
    fig = art["fig"]
    _check_labelled(fig)
    ax_a, ax_b, ax_c = art["ax_a"], art["ax_b"], art["ax_c"]
    assert ax_a.get_xlabel() == "lag l = T - k (steps)"
    assert ax_a.get_ylabel() == "log10 ||dL/dh_k||"
    assert "rho" in ax_b.get_xlabel() and "log10" in ax_b.get_ylabel()
    assert ax_c.get_xlabel() == "Re" and ax_c.get_ylabel() == "Im"
    assert art["ax_cb"].get_ylabel() == "rho"
    assert len(art["lc"].get_segments()) == 5
    assert "shrink" in ax_a.get_title()
    # the threshold line of panel (b) sits at 1/gamma
    assert np.allclose(art["b_thresh"].get_xdata(), [1.0, 1.0])
    assert not hasattr(fig, "_rc_explorer") and not hasattr(fig, "_rc_static_pixels")


def test_explorer_figure_redraws_in_place(small_sweep):
    art = plots.explorer.explorer_artists()
    plots.explorer.update_explorer(art, small_sweep)
    fig, n_axes = art["fig"], len(art["fig"].axes)
    other = gradflow.sweeps.sweep(np.linspace(0.5, 6.0, 7), H=8, T=40, activation="sigmoid")
    key, static = plots.explorer.update_explorer(art, other)
    assert art["fig"] is fig and len(fig.axes) == n_axes
    assert len(art["lc"].get_segments()) == 7
    assert art["ax_a"].get_xlim() == (0.0, 40.0)
    assert "1/gamma = 4" in [t.get_text() for t in art["key_b"]["ax"].texts if t.get_visible()]
    assert art["ax_c"] in static and art["ax_a"] not in static and art["ax_b"] not in static
    # the key is what the static parts show: same rhos and spectrum, same key
    other_T = gradflow.sweeps.sweep(np.linspace(0.5, 6.0, 7), H=8, T=41, activation="sigmoid")
    assert plots.explorer.update_explorer(art, other_T)[0] == key


def test_explorer_figure_marks_exact_zeros():
    # rho = 0 makes dL/dh_k exactly 0 beyond lag 0: drawn as a marker, not as -1e6
    s = gradflow.sweeps.sweep([0.0, 0.5, 1.0], H=8, T=20, activation="linear")
    assert (s.log10_norm[0, 1:] == gradflow.logspace.LOG10_FLOOR).all()
    art = plots.explorer.explorer_artists()
    plots.explorer.update_explorer(art, s)
    assert art["ax_a"].get_ylim()[0] > -100
    assert len(art["floor"].get_offsets()) == 1
    assert "exactly 0 from here on" in [t.get_text() for t in art["key_a"]["ax"].texts
                                        if t.get_visible()]
    _check_labelled(art["fig"])


# The corners of the explorer's control grid: every activation and family at the shortest
# and longest T and the smallest and largest input scale.
GRID = list(itertools.product((1, 1000), widgets.vanishing.EXPLORER_ACTIVATIONS, widgets.vanishing.EXPLORER_FAMILIES,
                              (0.01, 10.0)))


def test_explorer_is_legible_on_the_control_grid():
    art = plots.explorer.explorer_artists()             # one figure redrawn, as the widget does
    for T, act, fam, scale in GRID:
        sweep = experiments.vanishing.explorer_sweep(T=T, activation=act, family=fam, input_scale=scale)
        plots.explorer.update_explorer(art, sweep)
        where = f"explorer T={T} {act} {fam} input scale {scale:g}"
        check_legible(art["fig"], where)
        if T == 1:                             # lags are whole steps: no fractional ticks
            labels = [t.get_text().replace("\u2212", "-") for t in art["ax_a"].get_xticklabels()]
            assert all(float(x) == int(float(x)) for x in labels if x), (where, labels)


def test_measured_threshold(small_sweep):
    lin = gradflow.sweeps.sweep([0.5, 0.9, 1.1, 1.5], H=8, T=30, activation="linear")
    assert plots.explorer.measured_threshold(lin) == pytest.approx(1.1)
    assert plots.explorer.measured_threshold(gradflow.sweeps.sweep([0.5], H=8, T=30)) is None


@pytest.mark.parametrize("name, make", [
    ("rule_table", lambda: plots.gradients.rule_figure(experiments.vanishing.rule_cases(
        cases=experiments.vanishing.RULE_CASES[:3], T=40, H=16, short_lag=10))),
    ("bounds", lambda: plots.gradients.bounds_figure(experiments.vanishing.bounds_vs_measured(T=20, H=8))),
    ("decay_rate", lambda: plots.gradients.decay_rate_figure(experiments.vanishing.rate_sweeps(T=40, H=8))),
    ("input_scale", lambda: plots.gradients.input_scale_figure(experiments.vanishing.input_scale_sweeps(
        scales=(0.1, 10.0), rhos=[0.5, 1.0, 2.0], T=40, H=8))),
    ("transient", lambda: plots.gradients.transient_growth_figure(experiments.vanishing.transient_growth_curves(
        L=40, H=16))),
    ("commutation", lambda: plots.gradients.commutation_figure(experiments.vanishing.commutation_gap(n_max=4, H=8))),
    ("activations", lambda: plots.derivatives.activations_figure(experiments.derivatives.activation_curves(n=101))),
    ("mean_derivative", lambda: plots.derivatives.mean_derivative_figure(experiments.derivatives.mean_derivative_curves(
        spreads=[0.1, 1.0, 10.0]))),
    ("preactivation", lambda: plots.derivatives.preactivation_figure(experiments.derivatives.preactivation_stats(
        "sigmoid", 1.0, 2.0, n=500))),
    ("relu_paths", lambda: plots.derivatives.relu_paths_figure(experiments.derivatives.relu_paths())),
    # a draw with a step where no unit is active: every entry is 0, and the figure says so
    ("relu_paths_dead", lambda: plots.derivatives.relu_paths_figure(experiments.derivatives.relu_paths(seed=17))),
    ("unrolled", lambda: plots.diagrams.unrolled_figure(T=3)),
])
def test_figure_functions_return_labelled_legible_figures(name, make):
    fig = make()
    _check_labelled(fig)
    assert fig.get_suptitle() or any(ax.get_title() for ax in fig.axes)
    check_legible(fig, name)
    assert repr(fig).startswith("Figure: ") and len(repr(fig)) > 40   # its text description
