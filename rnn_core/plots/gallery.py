"""The static figures of figures/, each drawn from one experiment and one plot function.

`python -m rnn_core.plots.gallery OUTDIR` (make figures) writes every figure deterministically (PNG,
and SVG for the headline) and returns the paths it wrote; tests/test_figures.py redraws them
and compares the committed files pixel by pixel.
"""
import pathlib
import sys

from ..experiments import derivatives as dx, gates as gx, vanishing as vx
from . import derivatives as pd, explorer as pe, gates as pg, gradients as pgr


def build_all(seed=0):
    """Every figure of figures/ as {file stem: Figure}, at default settings, topic by topic."""
    figs = {}
    for topic in (vanishing_figures, gates_figures):
        figs.update(topic(seed))
    return figs


def vanishing_figures(seed=0):
    """The figures of notebooks 03 and 04."""
    figs = {"explorer_default": pe.explorer_figure(vx.explorer_sweep(seed=seed))}
    figs["explorer_sigmoid"] = pe.explorer_figure(vx.explorer_sweep(activation="sigmoid",
                                                                    seed=seed))
    figs["rule_table"] = pgr.rule_figure(vx.rule_cases(seed=seed))
    figs["bounds"] = pgr.bounds_figure(vx.bounds_vs_measured(seed=seed))
    figs["decay_rate"] = pgr.decay_rate_figure(vx.rate_sweeps(seed=seed))
    figs["input_scale"] = pgr.input_scale_figure(vx.input_scale_sweeps(seed=seed))
    figs["transient_growth"] = pgr.transient_growth_figure(vx.transient_growth_curves(seed=seed))
    figs["commutation"] = pgr.commutation_figure(vx.commutation_gap(seed=seed))
    figs["activations"] = pd.activations_figure(dx.activation_curves())
    figs["mean_derivative"] = pd.mean_derivative_figure(dx.mean_derivative_curves())
    figs["preactivation_default"] = pd.preactivation_figure(dx.preactivation_stats("tanh"))
    figs["relu_paths"] = pd.relu_paths_figure(dx.relu_paths(seed=seed))
    return figs


def gates_figures(seed=0):
    """The figures of notebook 05: the cell explorer at its defaults, the connectivity map."""
    return {"cell_explorer_default": pg.cell_explorer_figure(gx.explorer_data(seed=seed)),
            "connectivity": pg.connectivity_figure(gx.connectivity_map(seed=seed))}


SVG_FIGURES = ("explorer_default",)


def write(figs, outdir):
    """Write {stem: Figure} into outdir as PNG at the figure's own dpi (render.DPI, the size
    JupyterLab shows), plus SVG for SVG_FIGURES; return the paths written."""
    import matplotlib
    outdir = pathlib.Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    written = []
    with matplotlib.rc_context({"svg.hashsalt": "rnn_core", "svg.fonttype": "path"}):
        for stem, fig in figs.items():
            path = outdir / f"{stem}.png"
            fig.savefig(path, format="png", dpi=fig.dpi, metadata={"Software": None})
            written.append(path)
            if stem in SVG_FIGURES:
                path = outdir / f"{stem}.svg"
                fig.savefig(path, format="svg", metadata={"Creator": None, "Date": None})
                written.append(path)
    return written


def main(outdir, seed=0):
    """Write every figure into outdir (PNG, plus SVG for the headline); return the paths."""
    return write(build_all(seed), outdir)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m rnn_core.plots.gallery OUTDIR")
    for p in main(sys.argv[1]):
        print(p)
