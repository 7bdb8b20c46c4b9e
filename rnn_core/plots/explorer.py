"""The explorer's figure (notebook 03's headline): gradient norm against lag and rho, and the
spectrum of W_h. explorer_artists builds it once, update_explorer puts one sweep in."""
import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.colors import Normalize, TwoSlopeNorm
from matplotlib.ticker import MaxNLocator

from .common import (UNIT_CIRCLE, RHO_CMAP, LOG10_FLOAT64_TINY, TEXT, TITLE, format_rho, at_floor,
                     new_figure, finite_ylim)


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
    """The headline figure of notebook 03, drawn from one `gradflow.sweeps.Sweep`.

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
    ax.imshow(np.linspace(0, 1, 256)[:, None], cmap=RHO_CMAP, aspect="auto", origin="lower",
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
    fig = new_figure(fig, EXPLORER_SIZE)
    W, H = EXPLORER_SIZE
    ax_a, ax_b, ax_c = (fig.add_axes([l / W, b / H, w / W, h / H])
                        for l, b, w, h in (_PANELS[k] for k in "abc"))
    ax_cb = _colorbar(fig)
    lc = LineCollection([], cmap=RHO_CMAP, linewidths=1.0)
    ax_a.add_collection(lc)
    art = dict(fig=fig, ax_a=ax_a, ax_b=ax_b, ax_cb=ax_cb, ax_c=ax_c, lc=lc, key_for=None)
    art["floor"] = ax_a.scatter([], [], c=np.zeros(0), marker="v", s=30, cmap=RHO_CMAP,
                                clip_on=False, zorder=5)
    art["tiny"] = ax_a.axhline(LOG10_FLOAT64_TINY, color="k", lw=0.8, ls=":")
    art["b_line"], = ax_b.plot([], [], color="0.3", lw=1, zorder=2)
    art["b_dots"] = ax_b.scatter([], [], c=np.zeros(0), s=12, cmap=RHO_CMAP, zorder=3)
    art["b_bound"], = ax_b.plot([], [], "k--", lw=1)
    art["b_thresh"] = ax_b.axvline(1.0, color="tab:red", lw=1)
    art["b_one"] = ax_b.axvline(1.0, color="tab:purple", lw=1, ls=":")
    art["b_zero"] = ax_b.axhline(0.0, color="0.6", lw=0.8)
    art["c_unit"], = ax_c.plot(UNIT_CIRCLE.real, UNIT_CIRCLE.imag, color="0.5", lw=0.8, ls="--")
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
    floor = at_floor(logn)
    shown = np.where(floor, np.nan, logn)      # exact zeros get a marker, not the floor value
    lo_r, hi_r = float(rhos.min()), float(rhos.max())
    norm = (TwoSlopeNorm(thresh, lo_r, hi_r) if lo_r < thresh < hi_r
            else Normalize(lo_r, hi_r if hi_r > lo_r else lo_r + 1.0))

    # (a) one LineCollection for all curves: one artist draws much faster than R lines
    lc.set_segments([np.column_stack([lags, row]) for row in shown])
    lc.set_norm(norm)
    lc.set_array(rhos)
    lo, hi = finite_ylim(shown)
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
    bound = np.where(at_floor(bound), np.nan, bound)     # sigma_max = 0: no finite bound
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
    ax_b.set_ylim(*finite_ylim(np.concatenate([shown[:, -1], bound])))
    ax_b.set_ylabel(f"log10 ||dL/dh_0|| (lag {T})")
    rc = measured_threshold(sweep)
    n_grow = int((change > 1e-6).sum())
    ax_b.set_title(f"(b) Grows at {n_grow} of {len(rhos)} rho, the\nfirst at rho = "
                   f"{format_rho(rc)} (1/gamma = {format_rho(thresh)})"
                   if rc is not None else
                   f"(b) Vanishes at every rho\nup to {format_rho(hi_r)}", fontsize=TITLE,
                   y=_TITLE_Y)

    # (c) the spectrum at one rho
    k = int(np.argmin(np.abs(rhos - thresh))) if rho_index is None else int(rho_index)
    ev = np.asarray(sweep.eigenvalues[k])
    smax = float(sweep.sigma_max[k])
    art["c_thresh"].set_data(thresh * UNIT_CIRCLE.real, thresh * UNIT_CIRCLE.imag)
    art["c_thresh"].set_visible(thresh != 1.0)
    art["c_smax"].set_data(smax * UNIT_CIRCLE.real, smax * UNIT_CIRCLE.imag)
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
                  [None, f"1/gamma = {format_rho(thresh)}", None, None])
        _set_rows(art["key_c"], [True, True, True, thresh != 1.0],
                  [None, f"|z| = sigma_max = {smax:.3g}", None, None])
        art["key_for"] = key
    art["fig"].suptitle(f"{sweep.activation} RNN, {sweep.family} W_h, H = {sweep.H}, "
                        f"input scale {sweep.input_scale:g}, loss at step T = {T}",
                        fontsize=TITLE + 1)
    return key, (art["ax_cb"], art["ax_c"], art["key_b"]["ax"], art["key_c"]["ax"])
