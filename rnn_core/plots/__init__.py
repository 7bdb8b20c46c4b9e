"""Matplotlib figures for the notebooks: each function takes computed results, returns a Figure.

Nothing here computes a gradient: the numbers come from the data functions in
`experiments` (or from `gradflow`), and these functions only draw them. One module per
topic, and each function is reached by one path, its module's:
rc.plots.<topic>.f_figure(rc.experiments.<topic>.f()). Figures are built as
`DescribedFigure` (a matplotlib Figure whose text/plain is its description), not with
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
from . import (common, depth, derivatives, diagrams, explorer, gates, gradients, language,
               remedies, render)

__all__ = ["common", "depth", "derivatives", "diagrams", "explorer", "gates", "gradients",
           "language", "remedies", "render"]
