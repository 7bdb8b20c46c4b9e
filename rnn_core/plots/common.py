"""What every figure shares: the Figure class, sizes, fonts and colours, small helpers."""
import numpy as np
from matplotlib.figure import Figure

from . import render
from ..gradflow.logspace import LOG10_FLOOR

# log10 of the smallest normal float64: below it, a norm is only representable in log space.
LOG10_FLOAT64_TINY = float(np.log10(np.finfo(np.float64).tiny))
PREACTIVATION_SIZE = (8.0, 3.6)
# Font sizes in points: at render.DPI = 100 a 10 pt capital is 10.1 px high on screen.
TEXT = 10
TITLE = 11
WIDTH = 9.6        # inches: the widest figure, 960 px, fits JupyterLab's output area
RHO_CMAP = "coolwarm"   # blue below rho = 1/gamma, red above: the two sides of the bound
ACTIVATION_COLORS = {"sigmoid": "tab:green", "tanh": "tab:blue", "relu": "tab:orange",
                     "linear": "tab:gray"}


class DescribedFigure(Figure):
    """A matplotlib Figure whose text form (what a notebook stores as text/plain beside the
    PNG, and what a page without images shows) describes it in its own words."""

    def __repr__(self):
        return render.describe(self)


def new_figure(fig, figsize, layout=None):
    """An empty figure: `fig` cleared for reuse, or a new one of the given size.

    New figures are drawn at render.DPI (the notebook's rcParams do not matter), on an
    opaque white background (they read in a dark theme too), with `layout`
    ("constrained": matplotlib places titles and labels so that they do not collide).
    """
    if fig is None:
        return DescribedFigure(figsize=figsize, dpi=render.DPI, facecolor="white",
                               layout=layout)
    fig.clear()
    return fig


def at_floor(values):
    """Where log10 values sit at gradflow's floor (the norm underflowed to zero)."""
    return values <= LOG10_FLOOR + 1e-9


def format_rho(x):
    """rho as a title shows it: three significant digits."""
    return f"{x:.3g}"


# Points of the unit circle in the complex plane, for a spectrum's panel.
UNIT_CIRCLE = np.exp(1j * np.linspace(0, 2 * np.pi, 129))


def finite_ylim(values):
    """Finite y-limits with a 5% margin around the finite values (NaN ignored)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return -1.0, 1.0
    lo, hi = float(v.min()), float(v.max())
    pad = 0.05 * (hi - lo) if hi > lo else 1.0
    return lo - pad, hi + pad


def label_axes(ax, xlabel, ylabel):
    """Label both axes of `ax` and size their ticks at the house's TEXT size."""
    ax.set_xlabel(xlabel, fontsize=TEXT)
    ax.set_ylabel(ylabel, fontsize=TEXT)
    ax.tick_params(labelsize=TEXT)
