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
import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.colors import Normalize, TwoSlopeNorm
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator, NullFormatter

from . import render
from .gradflow.logspace import LOG10_FLOOR

# log10 of the smallest normal float64: below it, a norm is only representable in log space.
LOG10_FLOAT64_TINY = float(np.log10(np.finfo(np.float64).tiny))
PREACTIVATION_SIZE = (8.0, 3.6)
# Font sizes in points: at render.DPI = 100 a 10 pt capital is 10.1 px high on screen.
TEXT = 10
TITLE = 11
WIDTH = 9.6        # inches: the widest figure, 960 px, fits JupyterLab's output area
_CMAP = "coolwarm"   # blue below rho = 1/gamma, red above: the two sides of the bound
ACTIVATION_COLORS = {"sigmoid": "tab:green", "tanh": "tab:blue", "relu": "tab:orange",
                     "linear": "tab:gray"}


class DescribedFigure(Figure):
    """A matplotlib Figure whose text form (what a notebook stores as text/plain beside the
    PNG, and what a page without images shows) describes it in its own words."""

    def __repr__(self):
        return render.describe(self)


def _new(fig, figsize, layout=None):
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


def _is_floor(values):
    return values <= LOG10_FLOOR + 1e-9


def _fmt_rho(x):
    return f"{x:.3g}"


# ----------------------------------------------------------------------------------------
# The explorer: gradient norm against lag and against rho, and the spectrum of W_h
# ----------------------------------------------------------------------------------------

def measured_threshold(sweep):
    """The smallest rho whose gradient at the full lag is larger than at lag 0, or None.

    This is light reading of a sweep (no gradient is computed), used in titles.
    """
    change = sweep.log10_norm[:, -1] - sweep.log10_norm[:, 0]
    grows = np.flatnonzero(change > 1e-6)       # not rounding noise (linear RNN, rho = 1)
    return None if grows.size == 0 else float(sweep.rhos[grows[0]])


def explorer_figure(sweep, fig=None, rho_index=None):
    """The headline figure of notebook 03, drawn from one `gradflow.Sweep`.

    (a) log10 ||dL/dh_k|| against lag l = T - k, one curve per rho, coloured by rho;
    (b) log10 ||dL/dh_0|| (the full lag) against rho, with rho = 1/gamma and the bound
        log10 ||dL/dh_T|| + T log10(gamma sigma_max);
    (c) the eigenvalues of W_h at one rho (default: the one nearest 1/gamma), with the
        unit circle, the 1/gamma circle and the sigma_max circle.
    `fig` is cleared and drawn into if given. To redraw the same figure again and again (a
    widget), use explorer_artists once and update_explorer per change instead: they reuse
    the artists and change only their data. Returns the figure (axes a, b, colour bar, c).
    """
    art = explorer_artists(fig)
    update_explorer(art, sweep, rho_index)
    return art["fig"]


# Layout in inches (fixed, so that a renderer may keep the pixels of unchanged panels).
EXPLORER_SIZE = (9.6, 4.2)
_PANELS = {"a": (0.8, 1.3, 2.5, 2.1), "b": (4.25, 1.3, 2.2, 2.1),
           "cb": (6.72, 1.3, 0.12, 2.1), "c": (7.8, 1.8, 1.6, 1.6),
           # the keys (legends) under the panels: (left, bottom, width, height)
           "key_a": (0.4, 0.05, 2.9, 0.5), "key_b": (3.55, 0.05, 3.85, 0.5),
           "key_c": (7.45, 0.4, 2.1, 1.0)}
_YLABEL_AT = 0.62      # inches left of the axes: clear of tick labels up to 5 characters
_ROW = 0.21            # inches per key row (10 pt text)
# Fixed places for titles and x labels: matplotlib would otherwise measure every tick
# label again on each draw to place them (about 6 ms of a redraw).
_TITLE_Y = 1.02        # axes fraction, above the top spine (no tick labels there)
_XLABEL_AT = 0.27      # inches below the axes: clear of one row of 10 pt tick labels


def _key(fig, rect, rows, col_x=(0.0,)):
    """A legend drawn by hand in an axes of its own (cheaper than matplotlib's Legend, and
    at a fixed place): one row per (label, style) in `rows`, a style being Line2D keywords.
    Rows fill the columns starting at `col_x` (inches) in turn. Returns {"ax", "rows":
    [(handle, text)]}; update_explorer sets labels and visibility."""
    W, H = EXPLORER_SIZE
    l, b, w, h = rect
    ax = fig.add_axes([l / W, b / H, w / W, h / H])
    ax.set_axis_off()
    ax.set_xlim(0, w)
    ax.set_ylim(h, 0)                          # inches from the top
    nrows = -(-len(rows) // len(col_x))
    out = []
    for i, (label, style) in enumerate(rows):
        x, y = col_x[i // nrows], (i % nrows + 0.5) * _ROW
        handle, = ax.plot([x + 0.02, x + 0.3] if "marker" not in style else [x + 0.16],
                          [y, y] if "marker" not in style else [y], **style)
        text = ax.text(x + 0.38, y, label, va="center", ha="left", fontsize=TEXT)
        out.append((handle, text))
    return {"ax": ax, "rows": out}


def _colorbar(fig):
    """A colour bar drawn by hand: one image of the colour map on [0, 1], ticks placed at
    norm(rho) by update_explorer (a matplotlib Colorbar rebuilds its mesh on every change)."""
    W, H = EXPLORER_SIZE
    l, b, w, h = _PANELS["cb"]
    ax = fig.add_axes([l / W, b / H, w / W, h / H], label="<colorbar>")
    ax.imshow(np.linspace(0, 1, 256)[:, None], cmap=_CMAP, aspect="auto", origin="lower",
              extent=(0, 1, 0, 1), interpolation="nearest")
    ax.set_xticks([])
    ax.yaxis.tick_right()
    ax.yaxis.set_label_position("right")
    ax.set_ylabel("rho", fontsize=TEXT, labelpad=2)
    ax.tick_params(labelsize=TEXT)
    return ax


def explorer_artists(fig=None):
    """The explorer's axes and artists, empty: a dict of handles ("fig", "ax_a", ...) that
    update_explorer fills. The caller keeps the dict; nothing is stored on the figure.

    Text is most of the drawing time (about 1 ms per label), so the explorer keeps few
    labels: four ticks per axis, none on the eigenvalue plane (the key gives the radii).
    """
    fig = _new(fig, EXPLORER_SIZE)
    W, H = EXPLORER_SIZE
    ax_a, ax_b, ax_c = (fig.add_axes([l / W, b / H, w / W, h / H])
                        for l, b, w, h in (_PANELS[k] for k in "abc"))
    ax_cb = _colorbar(fig)
    lc = LineCollection([], cmap=_CMAP, linewidths=1.0)
    ax_a.add_collection(lc)
    art = dict(fig=fig, ax_a=ax_a, ax_b=ax_b, ax_cb=ax_cb, ax_c=ax_c, lc=lc, key_for=None)
    art["floor"] = ax_a.scatter([], [], c=np.zeros(0), marker="v", s=30, cmap=_CMAP,
                                clip_on=False, zorder=5)
    art["tiny"] = ax_a.axhline(LOG10_FLOAT64_TINY, color="k", lw=0.8, ls=":")
    art["b_line"], = ax_b.plot([], [], color="0.3", lw=1, zorder=2)
    art["b_dots"] = ax_b.scatter([], [], c=np.zeros(0), s=12, cmap=_CMAP, zorder=3)
    art["b_bound"], = ax_b.plot([], [], "k--", lw=1)
    art["b_thresh"] = ax_b.axvline(1.0, color="tab:red", lw=1)
    art["b_one"] = ax_b.axvline(1.0, color="tab:purple", lw=1, ls=":")
    art["b_zero"] = ax_b.axhline(0.0, color="0.6", lw=0.8)
    art["c_unit"], = ax_c.plot(_CIRCLE.real, _CIRCLE.imag, color="0.5", lw=0.8, ls="--")
    art["c_thresh"], = ax_c.plot([], [], color="tab:red", lw=0.8)
    art["c_smax"], = ax_c.plot([], [], color="k", lw=0.8, ls=":")
    art["c_eig"] = ax_c.scatter([], [], s=8, color="k", zorder=3)
    art["key_a"] = _key(fig, _PANELS["key_a"], [
        ("float64 underflow (1e-308)", dict(color="k", lw=0.8, ls=":")),
        ("exactly 0 from here on", dict(color="k", marker="v", ls="none"))])
    art["key_b"] = _key(fig, _PANELS["key_b"], [
        ("measured", dict(color="tab:blue", marker="o", ms=4, ls="none")),
        ("1/gamma", dict(color="tab:red", lw=1)),
        ("bound (gamma sigma_max)^T", dict(color="k", lw=1, ls="--")),
        ("lecture notes' rule, rho = 1", dict(color="tab:purple", lw=1, ls=":"))],
        col_x=(0.0, 1.45))
    art["key_c"] = _key(fig, _PANELS["key_c"], [
        ("|z| = 1", dict(color="0.5", lw=0.8, ls="--")),
        ("|z| = sigma_max", dict(color="k", lw=0.8, ls=":")),
        ("eigenvalues", dict(color="k", marker="o", ms=3, ls="none")),
        ("|z| = 1/gamma", dict(color="tab:red", lw=0.8))])
    ax_a.set_xlabel("lag l = T - k (steps)")
    ax_a.set_ylabel("log10 ||dL/dh_k||")
    ax_b.set_xlabel("rho = max |eigenvalue of W_h|")
    ax_c.set_xlabel("Re")
    ax_c.set_ylabel("Im", labelpad=2)
    ax_c.set_xticks([])
    ax_c.set_yticks([])
    for ax in (ax_a, ax_b, ax_c):
        ax.tick_params(labelsize=TEXT)
        ax.xaxis.label.set_size(TEXT)
        ax.yaxis.label.set_size(TEXT)
    for ax, name in ((ax_a, "a"), (ax_b, "b")):
        # a fixed place for the y label, left of the widest tick labels the data can give
        ax.yaxis.set_label_coords(-_YLABEL_AT / _PANELS[name][2], 0.5)
        ax.xaxis.set_label_coords(0.5, -_XLABEL_AT / _PANELS[name][3])
        ax.xaxis.set_major_locator(MaxNLocator(4, integer=ax is ax_a))
        ax.yaxis.set_major_locator(MaxNLocator(4))
    return art


def _set_rows(key, shown, labels=None):
    """Show the rows of a key whose flag in `shown` is true, with new labels if given."""
    for i, ((handle, text), show) in enumerate(zip(key["rows"], shown)):
        handle.set_visible(bool(show))
        text.set_visible(bool(show))
        if labels is not None and labels[i] is not None:
            text.set_text(labels[i])
    key["ax"].set_visible(any(shown))


def update_explorer(art, sweep, rho_index=None):
    """Put one sweep's data into the explorer's artists (from explorer_artists).

    Returns (key, artists) for render.PixelCache: the colour bar, panel (c) and the keys
    of (b) and (c), whose pixels depend only on `key` (the rhos, 1/gamma and the spectrum
    shown), not on T or the input scale.
    """
    ax_a, ax_b, ax_c, lc = art["ax_a"], art["ax_b"], art["ax_c"], art["lc"]
    rhos, lags, T = np.asarray(sweep.rhos, float), np.asarray(sweep.lags), int(sweep.T)
    logn = np.array(sweep.log10_norm, dtype=float)                     # (R, T+1)
    thresh = 1.0 / sweep.gamma
    floor = _is_floor(logn)
    shown = np.where(floor, np.nan, logn)      # exact zeros get a marker, not the floor value
    lo_r, hi_r = float(rhos.min()), float(rhos.max())
    norm = (TwoSlopeNorm(thresh, lo_r, hi_r) if lo_r < thresh < hi_r
            else Normalize(lo_r, hi_r if hi_r > lo_r else lo_r + 1.0))

    # (a) one LineCollection for all curves: one artist draws much faster than R lines
    lc.set_segments([np.column_stack([lags, row]) for row in shown])
    lc.set_norm(norm)
    lc.set_array(rhos)
    lo, hi = _ylim(shown)
    ax_a.set_xlim(0, max(T, 1))
    ax_a.set_ylim(lo, hi)
    hits = np.array([(i, int(np.argmax(row))) for i, row in enumerate(floor) if row.any()],
                    dtype=int).reshape(-1, 2)
    art["floor"].set_offsets(np.column_stack([lags[hits[:, 1]], np.full(len(hits), lo)]))
    art["floor"].set_norm(norm)
    art["floor"].set_array(rhos[hits[:, 0]])
    art["tiny"].set_visible(lo < LOG10_FLOAT64_TINY < hi)
    _set_rows(art["key_a"], [lo < LOG10_FLOAT64_TINY < hi, len(hits) > 0])
    change = logn[:, -1] - logn[:, 0]
    ax_a.set_title(f"(a) {int((change < -1e-6).sum())} of {len(rhos)} settings shrink\n"
                   f"over T = {T} steps", fontsize=TITLE, y=_TITLE_Y)

    # (b) the full lag against rho, with the singular-value bound
    bound = logn[:, 0] + np.asarray(sweep.log10_sv_bound)[:, -1]
    bound = np.where(_is_floor(bound), np.nan, bound)     # sigma_max = 0: no finite bound
    art["b_line"].set_data(rhos, shown[:, -1])
    art["b_dots"].set_offsets(np.column_stack([rhos, shown[:, -1]]))
    art["b_dots"].set_norm(norm)
    art["b_dots"].set_array(rhos)
    art["b_bound"].set_data(rhos, bound)
    art["b_thresh"].set_xdata([thresh, thresh])
    art["b_thresh"].set_visible(lo_r <= thresh <= hi_r)
    art["b_one"].set_visible(thresh != 1.0)
    art["b_zero"].set_ydata([logn[0, 0], logn[0, 0]])
    ax_b.set_xlim(lo_r - 0.02 * (hi_r - lo_r), hi_r + 0.02 * (hi_r - lo_r))
    ax_b.set_ylim(*_ylim(np.concatenate([shown[:, -1], bound])))
    ax_b.set_ylabel(f"log10 ||dL/dh_0|| (lag {T})")
    rc = measured_threshold(sweep)
    n_grow = int((change > 1e-6).sum())
    ax_b.set_title(f"(b) Grows at {n_grow} of {len(rhos)} rho, the\nfirst at rho = "
                   f"{_fmt_rho(rc)} (1/gamma = {_fmt_rho(thresh)})"
                   if rc is not None else
                   f"(b) Vanishes at every rho\nup to {_fmt_rho(hi_r)}", fontsize=TITLE, y=_TITLE_Y)

    # (c) the spectrum at one rho
    k = int(np.argmin(np.abs(rhos - thresh))) if rho_index is None else int(rho_index)
    ev = np.asarray(sweep.eigenvalues[k])
    smax = float(sweep.sigma_max[k])
    art["c_thresh"].set_data(thresh * _CIRCLE.real, thresh * _CIRCLE.imag)
    art["c_thresh"].set_visible(thresh != 1.0)
    art["c_smax"].set_data(smax * _CIRCLE.real, smax * _CIRCLE.imag)
    art["c_eig"].set_offsets(np.column_stack([ev.real, ev.imag]))
    r = 1.08 * max(1.0, thresh, smax, float(np.abs(ev).max()))
    ax_c.set_xlim(-r, r)
    ax_c.set_ylim(-r, r)
    ax_c.set_title(f"(c) Eigenvalues of W_h\nat rho = {rhos[k]:.3g}", fontsize=TITLE, y=_TITLE_Y)
    # Everything in the colour bar, panel (c) and the keys of (b) and (c) follows from this
    # key: a renderer may reuse their pixels while it is unchanged.
    key = (rhos.tobytes(), thresh, ev.tobytes(), smax, float(rhos[k]))
    if art["key_for"] != key:
        ticks = []                              # rho range ends, 1 and 1/gamma, unless crowded
        for v in sorted({round(float(v), 3) for v in (thresh, 1.0, lo_r, hi_r)
                         if lo_r <= v <= hi_r}, key=lambda v: (v not in (thresh, 1.0), v)):
            if all(abs(float(norm(v)) - float(norm(t))) > 0.1 for t in ticks):
                ticks.append(v)
        ticks.sort()
        art["ax_cb"].set_yticks([float(norm(v)) for v in ticks], [f"{v:g}" for v in ticks])
        _set_rows(art["key_b"], [True, lo_r <= thresh <= hi_r, True, thresh != 1.0],
                  [None, f"1/gamma = {_fmt_rho(thresh)}", None, None])
        _set_rows(art["key_c"], [True, True, True, thresh != 1.0],
                  [None, f"|z| = sigma_max = {smax:.3g}", None, None])
        art["key_for"] = key
    art["fig"].suptitle(f"{sweep.activation} RNN, {sweep.family} W_h, H = {sweep.H}, "
                        f"input scale {sweep.input_scale:g}, loss at step T = {T}",
                        fontsize=TITLE + 1)
    return key, (art["ax_cb"], art["ax_c"], art["key_b"]["ax"], art["key_c"]["ax"])


_CIRCLE = np.exp(1j * np.linspace(0, 2 * np.pi, 129))


def _ylim(values):
    """Finite y-limits with a 5% margin around the finite values (NaN ignored)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return -1.0, 1.0
    lo, hi = float(v.min()), float(v.max())
    pad = 0.05 * (hi - lo) if hi > lo else 1.0
    return lo - pad, hi + pad


# ----------------------------------------------------------------------------------------
# Notebook 03: the seeds' rule, the bounds, rates, input scale, transient growth
# ----------------------------------------------------------------------------------------

def _label(ax, xlabel, ylabel):
    ax.set_xlabel(xlabel, fontsize=TEXT)
    ax.set_ylabel(ylabel, fontsize=TEXT)
    ax.tick_params(labelsize=TEXT)


def seed_rule_figure(rows, fig=None):
    """One small panel per case of experiments.rule_cases: the measured curve, and whether
    the lecture notes' rule (eq. 1.33, vanishes iff lambda_max <= 1) predicted it. Returns
    the figure."""
    n = len(rows)
    ncols = min(3, n)
    nrows = -(-n // ncols)
    fig = _new(fig, (WIDTH, 2.9 * nrows + 0.6), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for i, (ax, r) in enumerate(zip(axes.flat, rows)):
        ax.plot(r["lags"], r["curve"], color="k", lw=1.2)
        band = r.get("decades", 1.0)
        ax.axhspan(-band, band, color="0.9", zorder=0)
        ax.axvline(r["short_lag"], color="0.6", lw=0.8, ls=":")
        ok = r["rule_holds"]
        first = ("" if r["measured_short"] == r["measured_T"]
                 else f" (first {r['measured_short']})")
        ax.set_title(f"{r['case']}\nrule: {r['rule']}\nmeasured: {r['measured_T']}{first}",
                     fontsize=TEXT, color="k" if ok else "tab:red")
        _label(ax, "lag l (steps)", "log10 ||dL/dh_k|| / ||dL/dh_T||"
               if i % ncols == 0 else "")     # one y label per row: they are long
    for ax in list(axes.flat)[n:]:
        ax.set_axis_off()
    n_fail = sum(not r["rule_holds"] for r in rows)
    fig.suptitle(f"The lecture notes' rule 'vanishes iff lambda_max <= 1' fails in {n_fail} of {n} "
                 f"cases (red); grey band: within one decade", fontsize=TITLE)
    return fig



def bounds_figure(items, fig=None):
    """Measured norms against the singular-value bound and Hochreiter's bound, one panel per
    setting of experiments.bounds_vs_measured. Returns the figure."""
    fig = _new(fig, (min(WIDTH, 4.8 * len(items)), 4.2), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(items)))
    for ax, it in zip(axes, items):
        lags, T = it["lags"], it["T"]
        ax.plot(lags, it["hochreiter"], color="tab:purple", lw=1.2,
                label="Hochreiter: (H gamma ||W_h||_max)^l")
        ax.plot(lags, it["singular_value"], color="tab:red", lw=1.2,
                label="Pascanu et al.: (gamma sigma_max)^l")
        ax.plot(lags, it["jacobian"], color="k", lw=1.5, label="measured ||dh_T/dh_k||_2")
        ax.plot(lags, it["gradient"], color="tab:blue", lw=1, ls="--",
                label="measured ||dL/dh_k|| / ||dL/dh_T||")
        gap_h = it["hochreiter"][-1] - it["jacobian"][-1]
        gap_s = it["singular_value"][-1] - it["jacobian"][-1]
        ax.set_title(f"{it['activation']}, {it['family']} W_h, rho = {it['rho']:g}: at lag {T}\n"
                     f"Hochreiter is 10^{gap_h:.0f} too high, sigma_max bound 10^{gap_s:.0f}",
                     fontsize=TEXT)
        _label(ax, "lag l = T - k (steps)", "log10 norm")
        ax.legend(fontsize=TEXT, frameon=False, loc="best")
    fig.suptitle("Both bounds hold; Hochreiter's max-norm bound is far looser", fontsize=TITLE)
    return fig


def _crossing(rhos, rates):
    """The first rho with a positive rate, or None (light reading for a title)."""
    idx = np.flatnonzero(np.asarray(rates) > 1e-6)
    return None if idx.size == 0 else float(np.asarray(rhos)[idx[0]])


def decay_rate_figure(sweeps, fig=None):
    """The top Lyapunov exponent (rate per step) against rho, one curve per activation, with
    the bound log(gamma sigma_max) dashed and rho = 1/gamma dotted. Returns the figure."""
    fig = _new(fig, (6.4, 4.0), layout="constrained")
    ax = fig.add_subplot()
    notes = []
    for s in sweeps:
        color = ACTIVATION_COLORS.get(s.activation, None)
        ax.plot(s.rhos, s.rate, color=color, lw=1.6, label=f"{s.activation} (measured)")
        ax.plot(s.rhos, np.log(s.gamma * np.asarray(s.sigma_max)), color=color, lw=0.9,
                ls="--")
        ax.axvline(1.0 / s.gamma, color=color, lw=0.8, ls=":")
        rc = _crossing(s.rhos, s.rate)
        notes.append(f"{s.activation} > {s.rhos.max():.3g}" if rc is None
                     else f"{s.activation} ~ {rc:.3g}")
    ax.axhline(0.0, color="0.5", lw=0.8)
    ax.plot([], [], color="k", ls="--", lw=0.9, label="bound log(gamma sigma_max)")
    ax.plot([], [], color="k", ls=":", lw=0.8, label="rho = 1/gamma")
    ax.set_xscale("log")
    ax.set_xticks([0.5, 1, 2, 4, 6])
    ax.set_xticklabels(["0.5", "1", "2", "4", "6"])
    ax.xaxis.set_minor_formatter(NullFormatter())
    _label(ax, "rho = max |eigenvalue of W_h| (log scale)",
           "rate: d log ||dL/dh_k|| / dl (per step)")
    ax.legend(fontsize=TEXT, frameon=False, loc="lower right")
    s0 = sweeps[0]
    ax.set_title(f"Rate turns positive at: {', '.join(notes)}\n({s0.family} W_h, T = {s0.T}, "
                 f"input scale {s0.input_scale:g})", fontsize=TEXT)
    return fig


def input_scale_figure(sweeps, fig=None):
    """Rate against rho at several input scales (one activation): saturation moves the
    threshold. Returns the figure."""
    fig = _new(fig, (6.4, 4.0), layout="constrained")
    ax = fig.add_subplot()
    colors = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02"]
    notes = []
    for c, s in zip(colors * 3, sweeps):
        ax.plot(s.rhos, s.rate, color=c, lw=1.5, marker="o", ms=2.5,
                label=f"input scale {s.input_scale:g}")
        rc = _crossing(s.rhos, s.rate)
        notes.append(f"{s.input_scale:g}: {'never' if rc is None else format(rc, '.2g')}")
    s0 = sweeps[0]
    ax.plot(s0.rhos, np.log(s0.gamma * np.asarray(s0.sigma_max)), "k--", lw=0.9,
            label="bound log(gamma sigma_max)")
    ax.axhline(0.0, color="0.5", lw=0.8)
    ax.axvline(1.0 / s0.gamma, color="0.5", lw=0.8, ls=":")
    _label(ax, "rho = max |eigenvalue of W_h|", "rate per step (natural log)")
    ax.legend(fontsize=TEXT, frameon=False, loc="lower right")
    ax.set_title(f"{s0.activation}, {s0.family} W_h: rate turns positive at rho =\n"
                 + "; ".join(notes) + " (by input scale)", fontsize=TEXT)
    return fig


def transient_growth_figure(data, fig=None):
    """log10 ||W_h^l||_2 against l for several families at the same rho, with rho^l.
    Returns the figure."""
    fig = _new(fig, (6.4, 4.0), layout="constrained")
    ax = fig.add_subplot()
    lags = data["lags"]
    colors = {"nonnormal": "tab:red", "gaussian": "tab:blue", "orthogonal": "tab:green",
              "symmetric": "tab:purple"}
    for fam, c in data["curves"].items():
        ax.plot(lags, c["curve"], color=colors.get(fam), lw=1.6,
                label=f"{fam} (sigma_max = {c['sigma_max']:.2f})")
    ax.plot(lags, data["eigen_line"], "k--", lw=1, label=f"rho^l, rho = {data['rho']:g}")
    ax.axhline(0.0, color="0.5", lw=0.8)
    _label(ax, "power l (steps)", "log10 ||W_h^l||_2")
    ax.legend(fontsize=TEXT, frameon=False, loc="lower left")
    nn = data["curves"].get("nonnormal")
    if nn is not None:
        above = np.flatnonzero(nn["curve"] > 0)
        peak = int(np.argmax(nn["curve"]))
        last = int(above[-1]) if above.size else 0
        until = (f"until l = {last}" if last < lags[-1] else f"beyond l = {lags[-1]}")
        ax.set_title(f"All have rho = {data['rho']:g}; the non-normal W_h^l grows to "
                     f"10^{nn['curve'][peak]:.1f} at l = {peak}\nand stays above 1 {until}",
                     fontsize=TEXT)
    return fig


def commutation_figure(data, fig=None):
    """The gap between the Jacobian product and W_h pulled out of it, in the order of
    experiments.commutation_gap's `order` (the lecture notes' or the blog post's). Returns
    the figure."""
    fig = _new(fig, (WIDTH, 4.0), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    n = data["n"]
    ax1.plot(n, data["gap"], "o-", color="tab:red", ms=3)
    ax1.set_ylim(0, max(1.05 * float(np.max(data["gap"])), 0.1))
    _label(ax1, "number of factors n", "relative gap ||true - pulled||_F / max ||.||_F")
    ax1.set_title(f"Relative gap is {data['gap'][0]:.2f} at n = 1 and "
                  f"{data['gap'][-1]:.2f} at n = {n[-1]}", fontsize=TEXT)
    ax2.plot(n, data["log10_true"], "o-", color="k", ms=3,
             label=f"true: {data['true_label']}")
    ax2.plot(n, data["log10_pulled"], "s--", color="tab:red", ms=3,
             label=f"W_h pulled out: {data['pulled_label']}")
    _label(ax2, "number of factors n", "log10 spectral norm")
    ax2.legend(fontsize=TEXT, frameon=False)
    ax2.set_title("The norms differ too", fontsize=TEXT)
    source = {"notes": "the lecture notes' order (eq. 1.32)",
              "blog": "the blog post's order (eq. 14)"}[data["order"]]
    fig.suptitle(f"Matrices do not commute: {data['activation']} RNN, rho = {data['rho']:g}, "
                 f"{source}",
                 fontsize=TITLE)
    return fig


# ----------------------------------------------------------------------------------------
# Notebook 04: activations, the mean derivative, the pre-activation explorer, ReLU paths
# ----------------------------------------------------------------------------------------

def activations_figure(curves, fig=None):
    """f (top) and f' (bottom) for each activation, saturated regions shaded, gamma marked.
    `curves` is experiments.activation_curves(). Returns the figure."""
    names = list(curves)
    fig = _new(fig, (min(WIDTH, 2.4 * len(names)), 5.0), layout="constrained")
    axes = fig.subplots(2, len(names), sharex=True)
    for j, name in enumerate(names):
        c = curves[name]
        a, sat = c["a"], c["saturated"]
        for ax, y, lab in ((axes[0, j], c["f"], "f(a)"), (axes[1, j], c["df"], "f'(a)")):
            ax.plot(a, y, color=ACTIVATION_COLORS.get(name, "k"), lw=1.6)
            ax.fill_between(a, 0, 1, where=sat, transform=ax.get_xaxis_transform(),
                            color="0.88", zorder=0, lw=0)
            _label(ax, "pre-activation a" if ax is axes[1, j] else "", lab)
        axes[1, j].axhline(c["gamma"], color="k", lw=0.8, ls="--")
        axes[0, j].set_title(f"{name}: gamma = {c['gamma_grid']:.4g}", fontsize=TEXT)
    fig.suptitle(f"Activations and derivatives; shaded: f' < {curves[names[0]]['saturation']:g}"
                 f" gamma (saturated, or off for ReLU); dashed: gamma = max f'", fontsize=TITLE)
    return fig


def mean_derivative_figure(data, fig=None):
    """E|f'(a)| against the spread of a ~ N(mean, spread^2), one panel per mean.
    Returns the figure."""
    means = data["means"]
    fig = _new(fig, (min(WIDTH, 4.6 * len(means)), 3.8), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(means), sharey=True))
    for k, (ax, m) in enumerate(zip(axes, means)):
        for name, vals in data["values"].items():
            ax.plot(data["spreads"], vals[k], color=ACTIVATION_COLORS.get(name), lw=1.6,
                    label=name)
        ax.set_xscale("log")
        _label(ax, "spread (std) of the pre-activation a", "mean |f'(a)|")
        ax.set_title(f"mean of a = {m:g}", fontsize=TEXT)
    axes[0].legend(fontsize=TEXT, frameon=False)
    tanh = data["values"].get("tanh")
    note = ""
    if tanh is not None:
        note = (f": tanh falls from {tanh[0][0]:.2f} to {tanh[0][-1]:.2f} as the spread grows "
                f"to {data['spreads'][-1]:.0f}")
    fig.suptitle("Saturation shrinks the factor each step multiplies in" + note, fontsize=TITLE)
    return fig


def preactivation_figure(stats, fig=None):
    """Histogram of pre-activations a with f'(a) over it and the mean |f'| they produce.
    `stats` is experiments.preactivation_stats(...). Returns the figure."""
    fig = _new(fig, PREACTIVATION_SIZE, layout="constrained")
    ax = fig.add_subplot()
    ax.hist(stats["samples"], bins=60, density=True, color="0.75", label="pre-activations a")
    _label(ax, "pre-activation a", "density of a")
    ax2 = ax.twinx()
    ax2.plot(stats["grid"], stats["df_grid"], color=ACTIVATION_COLORS.get(stats["activation"]),
             lw=1.8, label="f'(a)")
    ax2.axhline(stats["mean_abs_df"], color="k", lw=1, ls="--", label="mean |f'| over a")
    ax2.set_ylim(0, 1.1 * stats["gamma"] if stats["gamma"] > 0 else 1)
    ax2.set_ylabel("f'(a)", fontsize=TEXT)
    ax2.tick_params(labelsize=TEXT)
    lo = min(stats["grid"][0], float(stats["samples"].min()))
    hi = max(stats["grid"][-1], float(stats["samples"].max()))
    ax.set_xlim(lo, hi)
    handles = ax.get_legend_handles_labels()[0] + ax2.get_legend_handles_labels()[0]
    ax.legend(handles=handles, fontsize=TEXT, frameon=False, loc="upper left")
    ax.set_title(f"{stats['activation']}, a ~ N({stats['mean']:.2g}, {stats['spread']:.2g}^2): "
                 f"mean |f'| = {stats['mean_abs_df']:.3f} (gamma = {stats['gamma']:g}), "
                 f"{100 * stats['saturated']:.0f}% saturated", fontsize=TEXT)
    return fig


def relu_paths_figure(data, fig=None):
    """Entries of the ReLU Jacobian product against |W_h|^L (a bound) and |W_h^L| (not one).
    `data` is experiments.relu_paths(...). Returns the figure."""
    fig = _new(fig, (WIDTH, 4.4), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    P = np.abs(data["P"]).ravel()
    nz = P > 0
    for ax, ref, name in ((ax1, data["abs_power"], "(|W_h|^L)_ij, every path"),
                          (ax2, np.abs(data["power"]), "|(W_h^L)_ij|, the value in Galvan's thesis")):
        ref = ref.ravel()
        ok = nz & (ref > 0)
        above = ok & (P > ref * (1 + 1e-9))
        ax.scatter(ref[ok & ~above], P[ok & ~above], s=10, color="tab:blue", label="below")
        ax.scatter(ref[above], P[above], s=14, color="tab:red", marker="^", label="above")
        lim = [min(ref[ok].min(), P[ok].min()) / 2, max(ref[ok].max(), P[ok].max()) * 2]
        ax.plot(lim, lim, "k--", lw=0.8, label="equality")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(lim)
        ax.set_ylim(lim)
        _label(ax, name, "|(prod D_i W_h)_ij|")
        ax.legend(fontsize=TEXT, frameon=False, loc="upper left")
        ax.set_title(f"{int(above.sum())} of {int(ok.sum())} entries above the diagonal",
                     fontsize=TEXT)
    fig.suptitle(f"ReLU, L = {data['L']} steps, {100 * data['active_fraction']:.0f}% of units "
                 f"active ({int((~nz).sum())} entries exactly 0): |W_h|^L bounds every entry, "
                 f"|W_h^L| does not", fontsize=TEXT)
    return fig


def unrolled_figure(T=4, fig=None):
    """The Elman RNN unrolled over T steps: x_t -> h_t -> y_t, with h_{t-1} -> h_t (W_h)."""
    fig = _new(fig, (7.0, 3.0), layout="constrained")
    ax = fig.add_subplot(1, 1, 1)
    box = dict(boxstyle="round,pad=0.3", fc="white")
    arrow = dict(arrowstyle="->", lw=1.2)
    ax.text(0, 1, "$h_0$", ha="center", va="center", fontsize=TITLE, bbox=box)
    for t in range(1, T + 1):
        for row, (name, colour) in enumerate([("x", "#dce9f7"), ("h", "#f7e6cf"), ("y", "#dcf2dc")]):
            ax.text(t, row, f"${name}_{t}$", ha="center", va="center", fontsize=TITLE,
                    bbox=dict(box, fc=colour))
        ax.annotate("", (t, 0.78), (t, 0.22), arrowprops=arrow)        # x_t -> h_t
        ax.annotate("", (t, 1.78), (t, 1.22), arrowprops=arrow)        # h_t -> y_t
        ax.annotate("", (t - 0.2, 1), (t - 0.8, 1), arrowprops=arrow)  # h_{t-1} -> h_t
        ax.text(t + 0.05, 0.48, "$W_x$", fontsize=TEXT)
        ax.text(t + 0.05, 1.48, "$W_y$", fontsize=TEXT)
        ax.text(t - 0.5, 1.08, "$W_h$", fontsize=TEXT, ha="center")
    ax.set(xlim=(-0.5, T + 0.5), ylim=(-0.5, 2.5), xticks=range(T + 1),
           yticks=[0, 1, 2], yticklabels=["input", "hidden state", "output"],
           xlabel="time step t",
           title="Unrolled in time: every step reuses the same $W_x$, $W_h$ and $W_y$")
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    return fig
