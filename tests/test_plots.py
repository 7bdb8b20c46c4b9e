"""Every figure function returns a Figure whose axes are labelled, from small inputs."""
import numpy as np
import pytest
from matplotlib.figure import Figure

from rnn_core import gradflow, experiments, plots


def _check_labelled(fig):
    assert isinstance(fig, Figure)
    axes = [ax for ax in fig.axes if ax.get_visible() and ax.axison]
    assert axes
    for ax in axes:
        if ax.get_label() == "<colorbar>":
            assert ax.get_ylabel()
            continue
        assert ax.get_xlabel() or ax.get_ylabel(), f"unlabelled axes in {fig}"
    fig.canvas.draw()                        # draws without error (and without warnings)


@pytest.fixture(scope="module")
def small_sweep():
    return gradflow.sweep(np.linspace(0.5, 1.5, 5), H=8, T=30)


def test_explorer_figure_panels(small_sweep):
    fig = plots.explorer_figure(small_sweep)
    _check_labelled(fig)
    ax_a, ax_b, ax_cb, ax_c = fig.axes
    assert ax_a.get_xlabel() == "lag l = T - k (steps)"
    assert ax_a.get_ylabel() == "log10 ||dL/dh_k||"
    assert "rho" in ax_b.get_xlabel() and "log10" in ax_b.get_ylabel()
    assert ax_c.get_xlabel() == "Re" and ax_c.get_ylabel() == "Im"
    lc = ax_a.collections[0]
    assert len(lc.get_segments()) == 5
    assert "shrink" in ax_a.get_title()
    # the threshold line of panel (b) sits at 1/gamma
    assert any(len(line.get_xdata()) == 2 and np.allclose(line.get_xdata(), [1.0, 1.0])
               for line in ax_b.lines)


def test_explorer_figure_redraws_in_place(small_sweep):
    fig = plots.explorer_figure(small_sweep)
    other = gradflow.sweep(np.linspace(0.5, 6.0, 7), H=8, T=40, activation="sigmoid")
    again = plots.explorer_figure(other, fig=fig)
    assert again is fig and len(fig.axes) == 4
    assert len(fig.axes[0].collections[0].get_segments()) == 7
    assert fig.axes[0].get_xlim() == (0.0, 40.0)
    assert "1/gamma = 4" in [t.get_text() for t in fig.axes[1].get_legend().get_texts()]


def test_explorer_figure_marks_exact_zeros():
    # rho = 0 makes dL/dh_k exactly 0 beyond lag 0: drawn as a marker, not as -1e6
    s = gradflow.sweep([0.0, 0.5, 1.0], H=8, T=20, activation="linear")
    assert (s.log10_norm[0, 1:] == gradflow.LOG10_FLOOR).all()
    fig = plots.explorer_figure(s)
    ax_a = fig.axes[0]
    assert ax_a.get_ylim()[0] > -100
    assert len(ax_a.collections[1].get_offsets()) == 1
    _check_labelled(fig)


def test_measured_threshold(small_sweep):
    lin = gradflow.sweep([0.5, 0.9, 1.1, 1.5], H=8, T=30, activation="linear")
    assert plots.measured_threshold(lin) == pytest.approx(1.1)
    assert plots.measured_threshold(gradflow.sweep([0.5], H=8, T=30)) is None


@pytest.mark.parametrize("name, make", [
    ("seed_rule", lambda: plots.seed_rule_figure(experiments.rule_cases(
        cases=experiments.RULE_CASES[:3], T=40, H=16, short_lag=10))),
    ("bounds", lambda: plots.bounds_figure(experiments.bounds_vs_measured(T=20, H=8))),
    ("decay_rate", lambda: plots.decay_rate_figure(experiments.rate_sweeps(T=40, H=8))),
    ("input_scale", lambda: plots.input_scale_figure(experiments.input_scale_sweeps(
        scales=(0.1, 10.0), rhos=[0.5, 1.0, 2.0], T=40, H=8))),
    ("transient", lambda: plots.transient_growth_figure(experiments.transient_growth_curves(
        L=40, H=16))),
    ("commutation", lambda: plots.commutation_figure(experiments.commutation_gap(n_max=4, H=8))),
    ("activations", lambda: plots.activations_figure(experiments.activation_curves(n=101))),
    ("mean_derivative", lambda: plots.mean_derivative_figure(experiments.mean_derivative_curves(
        spreads=[0.1, 1.0, 10.0]))),
    ("preactivation", lambda: plots.preactivation_figure(experiments.preactivation_stats(
        "sigmoid", 1.0, 2.0, n=500))),
    ("relu_paths", lambda: plots.relu_paths_figure(experiments.relu_paths())),
    ("unrolled", lambda: plots.unrolled_figure(T=3)),
])
def test_figure_functions_return_labelled_figures(name, make):
    fig = make()
    _check_labelled(fig)
    assert fig._suptitle is not None or any(ax.get_title() for ax in fig.axes)
