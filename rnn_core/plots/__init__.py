"""Matplotlib figures for the notebooks: each function takes computed results, returns a Figure.

Nothing here computes a gradient: the numbers come from the data functions in
`experiments` (or from `gradflow`), and these functions only draw them. Figures are built
as `DescribedFigure` (a matplotlib Figure whose text/plain is its description), not with
pyplot, so a widget callback never leaves a stray figure for the notebook to show, and
every function accepts `fig=` to draw into an existing one. They are drawn at render.DPI
whatever the notebook's rcParams, on an opaque white background, with no text below
10 pt (tests/test_plots.py measures capitals >= 10 px and no overlapping labels). The
explorer, redrawn on every slider move, has its own pair: explorer_artists (once) and
update_explorer (per change), with a fixed layout so render.PixelCache may keep pixels.

Conventions: gradient norms are log10 values on a linear axis (so 1e-900 still plots),
lags are l = T - k steps back from the loss at the last step T, rates are natural logs
per step, and `rho` is the largest eigenvalue modulus of W_h.
"""
from . import depth, gates, language, remedies
from .common import (ACTIVATION_COLORS, LOG10_FLOAT64_TINY, PREACTIVATION_SIZE, TEXT, TITLE, WIDTH,
                     DescribedFigure)
from .derivatives import (activations_figure, mean_derivative_figure, preactivation_figure,
                          relu_paths_figure)
from .diagrams import unrolled_figure
from .explorer import (EXPLORER_SIZE, explorer_artists, explorer_figure, measured_threshold,
                       update_explorer)
from .gradients import (bounds_figure, commutation_figure, decay_rate_figure, input_scale_figure,
                        rule_figure, transient_growth_figure)

__all__ = ["ACTIVATION_COLORS", "LOG10_FLOAT64_TINY", "PREACTIVATION_SIZE", "TEXT", "TITLE", "WIDTH",
           "DescribedFigure", "activations_figure", "mean_derivative_figure",
           "preactivation_figure", "relu_paths_figure", "unrolled_figure", "EXPLORER_SIZE",
           "explorer_artists", "explorer_figure", "measured_threshold", "update_explorer",
           "bounds_figure", "commutation_figure", "decay_rate_figure", "input_scale_figure",
           "rule_figure", "transient_growth_figure"]
