"""Matplotlib figures for the notebooks: each function takes computed results, returns a Figure.

Nothing here computes a gradient: the numbers come from `gradflow` (or from the data
functions in `figures`), and these functions only draw them. Figures are built with
`matplotlib.figure.Figure`, not pyplot, so a widget callback never leaves a stray figure
for the notebook to show, and every function accepts `fig=` to draw into an existing one.

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

from .gradflow.logspace import LOG10_FLOOR

# log10 of the smallest normal float64: below it, a norm is only representable in log space.
LOG10_FLOAT64_TINY = float(np.log10(np.finfo(np.float64).tiny))
EXPLORER_SIZE = (10.5, 3.7)      # inches; the widget's Output is sized from it
PREACTIVATION_SIZE = (7.5, 3.4)
_CMAP = "coolwarm"   # blue below rho = 1/gamma, red above: the two sides of the bound
ACTIVATION_COLORS = {"sigmoid": "tab:green", "tanh": "tab:blue", "relu": "tab:orange",
                     "linear": "tab:gray"}


def _new(fig, figsize):
    """An empty figure: `fig` cleared for reuse, or a new one of the given size."""
    if fig is None:
        return Figure(figsize=figsize)
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
    Pass the figure returned by an earlier call as `fig` to redraw in place: its artists
    are reused and only their data change, which keeps a widget update fast.
    Returns the figure (axes a, b, colour bar, c).
    """
    art = getattr(fig, "_rc_explorer", None)
    if art is None:
        fig = _new(fig, EXPLORER_SIZE)
        art = fig._rc_explorer = _explorer_artists(fig)
    _explorer_update(art, sweep, rho_index)
    return fig


def explorer_static_parts(fig):
    """(key, artists) of an explorer figure: the colour bar and panel (c), whose drawing
    depends only on `key` (the rhos, 1/gamma and the spectrum shown), not on T or the input
    scale. widgets.png_bytes reuses their pixels while the key is unchanged."""
    art = fig._rc_explorer
    return art["static_key"], (art["ax_cb"], art["ax_c"])


def _explorer_artists(fig):
    """Create the explorer's axes and artists, empty; returns a dict of handles.

    Text is most of the drawing time (about 1 ms per label), so the explorer keeps few
    labels: four ticks per axis, none on the eigenvalue plane (the legend gives the radii).
    """
    gs = fig.add_gridspec(1, 5, width_ratios=[1.2, 1.0, 0.05, 0.02, 0.8], left=0.065,
                          right=0.84, bottom=0.14, top=0.79, wspace=0.5)
    ax_a, ax_b, ax_cb, ax_c = (fig.add_subplot(gs[0, i]) for i in (0, 1, 2, 4))
    lc = LineCollection([], cmap=_CMAP, linewidths=1.0)
    lc.set_array(np.array([0.0, 1.0]))
    ax_a.add_collection(lc)
    art = dict(fig=fig, ax_a=ax_a, ax_b=ax_b, ax_cb=ax_cb, ax_c=ax_c, lc=lc,
               cb=fig.colorbar(lc, cax=ax_cb))
    art["floor"] = ax_a.scatter([], [], c=np.zeros(0), marker="v", s=30, cmap=_CMAP,
                                clip_on=False, zorder=5)
    art["tiny"] = ax_a.axhline(LOG10_FLOAT64_TINY, color="k", lw=0.8, ls=":")
    art["b_line"], = ax_b.plot([], [], color="0.3", lw=1, zorder=2)
    art["b_dots"] = ax_b.scatter([], [], c=np.zeros(0), s=12, cmap=_CMAP, zorder=3,
                                 label="measured")
    art["b_bound"], = ax_b.plot([], [], "k--", lw=1, label="bound (gamma sigma_max)^T")
    art["b_thresh"] = ax_b.axvline(1.0, color="tab:red", lw=1)
    art["b_one"] = ax_b.axvline(1.0, color="tab:purple", lw=1, ls=":",
                                label="lecture notes' rule, rho = 1")
    art["b_zero"] = ax_b.axhline(0.0, color="0.6", lw=0.8)
    art["c_unit"], = ax_c.plot([], [], color="0.5", lw=0.8, ls="--", label="|z| = 1")
    art["c_thresh"], = ax_c.plot([], [], color="tab:red", lw=0.8, label="|z| = 1/gamma")
    art["c_smax"], = ax_c.plot([], [], color="k", lw=0.8, ls=":")
    art["c_eig"] = ax_c.scatter([], [], s=8, color="k", zorder=3, label="eigenvalues")
    ax_a.set_xlabel("lag l = T - k (steps)")
    ax_a.set_ylabel("log10 ||dL/dh_k||")
    ax_b.set_xlabel("rho = max |eigenvalue of W_h|")
    ax_c.set_xlabel("Re")
    ax_c.set_ylabel("Im")
    ax_c.set_xticks([])
    ax_c.set_yticks([])
    ax_c.set_aspect("equal")
    art["cb"].set_label("rho", fontsize=9, labelpad=2)
    art["cb"].ax.tick_params(labelsize=8)
    for ax in (ax_a, ax_b, ax_c):
        ax.tick_params(labelsize=8)
        ax.xaxis.label.set_size(9)
        ax.yaxis.label.set_size(9)
    for ax in (ax_a, ax_b):
        ax.xaxis.set_major_locator(MaxNLocator(4))
        ax.yaxis.set_major_locator(MaxNLocator(4))
    return art


def _explorer_update(art, sweep, rho_index):
    """Put one sweep's data into the explorer's artists."""
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
    handles = [h for h, show in (
        (Line2D([], [], color="k", lw=0.8, ls=":", label="float64 underflow (1e-308)"),
         lo < LOG10_FLOAT64_TINY < hi),
        (Line2D([], [], color="k", marker="v", ls="none", label="exactly 0 from here on"),
         len(hits) > 0)) if show]
    if ax_a.get_legend() is not None:
        ax_a.get_legend().remove()
    if handles:
        ax_a.legend(handles=handles, loc="lower left", fontsize=8, frameon=False)
    change = logn[:, -1] - logn[:, 0]
    ax_a.set_title(f"(a) {int((change < -1e-6).sum())} of {len(rhos)} settings shrink\n"
                   f"over T = {T} steps", fontsize=9.5)
    art["cb"].update_normal(lc)
    ticks = []                                  # rho range ends, 1 and 1/gamma, unless crowded
    for v in sorted({round(float(v), 3) for v in (thresh, 1.0, lo_r, hi_r) if lo_r <= v <= hi_r},
                    key=lambda v: (v not in (thresh, 1.0), v)):
        if all(abs(float(norm(v)) - float(norm(t))) > 0.07 for t in ticks):
            ticks.append(v)
    art["cb"].set_ticks(sorted(ticks))

    # (b) the full lag against rho, with the singular-value bound
    bound = logn[:, 0] + np.asarray(sweep.log10_sv_bound)[:, -1]
    bound = np.where(_is_floor(bound), np.nan, bound)     # sigma_max = 0: no finite bound
    art["b_line"].set_data(rhos, shown[:, -1])
    art["b_dots"].set_offsets(np.column_stack([rhos, shown[:, -1]]))
    art["b_dots"].set_norm(norm)
    art["b_dots"].set_array(rhos)
    art["b_bound"].set_data(rhos, bound)
    art["b_thresh"].set_xdata([thresh, thresh])
    art["b_thresh"].set_label(f"1/gamma = {_fmt_rho(thresh)}")
    art["b_thresh"].set_visible(lo_r <= thresh <= hi_r)
    art["b_one"].set_visible(thresh != 1.0)
    art["b_zero"].set_ydata([logn[0, 0], logn[0, 0]])
    ax_b.set_xlim(lo_r - 0.02 * (hi_r - lo_r), hi_r + 0.02 * (hi_r - lo_r))
    ax_b.set_ylim(*_ylim(np.concatenate([shown[:, -1], bound])))
    ax_b.set_ylabel(f"log10 ||dL/dh_0|| (lag {T})", labelpad=1)
    if art.get("b_legend_for") != thresh:       # legends only change with the activation
        ax_b.legend(handles=[a for a in (art["b_dots"], art["b_bound"], art["b_thresh"],
                                         art["b_one"]) if a.get_visible()],
                    loc="upper left", fontsize=7.5, frameon=False, handlelength=1.5)
        art["b_legend_for"] = thresh
    rc = measured_threshold(sweep)
    n_grow = int((change > 1e-6).sum())
    ax_b.set_title(f"(b) Grows at {n_grow} of {len(rhos)} rho, the first\nat rho = {_fmt_rho(rc)} "
                   f"(1/gamma = {_fmt_rho(thresh)})"
                   if rc is not None else
                   f"(b) Vanishes at every rho\nup to {_fmt_rho(hi_r)}", fontsize=9.5)

    # (c) the spectrum at one rho
    k = int(np.argmin(np.abs(rhos - thresh))) if rho_index is None else int(rho_index)
    ev = np.asarray(sweep.eigenvalues[k])
    smax = float(sweep.sigma_max[k])
    # Everything in the colour bar and in panel (c) follows from these: a renderer may reuse
    # their pixels while the key is unchanged (a change of T or of the input scale).
    art["static_key"] = (rhos.tobytes(), thresh, ev.tobytes(), smax)
    art["c_unit"].set_data(_CIRCLE.real, _CIRCLE.imag)
    art["c_thresh"].set_data(thresh * _CIRCLE.real, thresh * _CIRCLE.imag)
    art["c_thresh"].set_visible(thresh != 1.0)
    art["c_smax"].set_data(smax * _CIRCLE.real, smax * _CIRCLE.imag)
    art["c_smax"].set_label(f"|z| = sigma_max\n     = {smax:.3g}")
    art["c_eig"].set_offsets(np.column_stack([ev.real, ev.imag]))
    r = 1.08 * max(1.0, thresh, smax, float(np.abs(ev).max()))
    ax_c.set_xlim(-r, r)
    ax_c.set_ylim(-r, r)
    if art.get("c_legend_for") != (thresh, smax):
        circles = [a for a in (art["c_unit"], art["c_thresh"], art["c_smax"]) if a.get_visible()]
        ax_c.legend(handles=circles + [art["c_eig"]], loc="upper left", bbox_to_anchor=(1.0, 1.0),
                    fontsize=8, frameon=False, handlelength=1.5)
        art["c_legend_for"] = (thresh, smax)
    ax_c.set_title(f"(c) Eigenvalues of W_h\nat rho = {rhos[k]:.3g}", fontsize=9.5)
    art["fig"].suptitle(f"{sweep.activation} RNN, {sweep.family} W_h, H = {sweep.H}, "
                        f"input scale {sweep.input_scale:g}, loss at step T = {T}",
                        fontsize=10.5)


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
    ax.set_xlabel(xlabel, fontsize=8)
    ax.set_ylabel(ylabel, fontsize=8)
    ax.tick_params(labelsize=7)


def seed_rule_figure(rows, fig=None):
    """One small panel per case of experiments.rule_cases: the measured curve, and whether
    the lecture notes' rule (eq. 1.33, vanishes iff lambda_max <= 1) predicted it. Returns
    the figure."""
    n = len(rows)
    ncols = min(4, n)
    nrows = -(-n // ncols)
    fig = _new(fig, (3.2 * ncols, 2.7 * nrows + 0.5))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for ax, r in zip(axes.flat, rows):
        ax.plot(r["lags"], r["curve"], color="k", lw=1.2)
        band = r.get("decades", 1.0)
        ax.axhspan(-band, band, color="0.9", zorder=0)
        ax.axvline(r["short_lag"], color="0.6", lw=0.8, ls=":")
        ok = r["rule_holds"]
        first = ("" if r["measured_short"] == r["measured_T"]
                 else f" (first {r['measured_short']})")
        ax.set_title(f"{r['case']}\nrule: {r['rule']}; measured: {r['measured_T']}{first}",
                     fontsize=8, color="k" if ok else "tab:red")
        _label(ax, "lag l (steps)", "log10 ||dL/dh_k|| / ||dL/dh_T||")
    for ax in list(axes.flat)[n:]:
        ax.set_axis_off()
    n_fail = sum(not r["rule_holds"] for r in rows)
    fig.suptitle(f"The lecture notes' rule 'vanishes iff lambda_max <= 1' fails in {n_fail} of {n} "
                 f"cases (red); grey band: within one decade", fontsize=11)
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.1, top=0.84, wspace=0.45, hspace=0.8)
    return fig



def bounds_figure(items, fig=None):
    """Measured norms against the singular-value bound and Hochreiter's bound, one panel per
    setting of experiments.bounds_vs_measured. Returns the figure."""
    fig = _new(fig, (5.2 * len(items), 3.6))
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
                     fontsize=8.5)
        _label(ax, "lag l = T - k (steps)", "log10 norm")
        ax.legend(fontsize=6.5, frameon=False, loc="best")
    fig.suptitle("Both bounds hold; Hochreiter's max-norm bound is far looser", fontsize=10)
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.14, top=0.78, wspace=0.3)
    return fig


def _crossing(rhos, rates):
    """The first rho with a positive rate, or None (light reading for a title)."""
    idx = np.flatnonzero(np.asarray(rates) > 1e-6)
    return None if idx.size == 0 else float(np.asarray(rhos)[idx[0]])


def decay_rate_figure(sweeps, fig=None):
    """The top Lyapunov exponent (rate per step) against rho, one curve per activation, with
    the bound log(gamma sigma_max) dashed and rho = 1/gamma dotted. Returns the figure."""
    fig = _new(fig, (6.4, 4.0))
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
    ax.legend(fontsize=7, frameon=False, loc="lower right")
    s0 = sweeps[0]
    ax.set_title(f"Rate turns positive at: {', '.join(notes)}\n({s0.family} W_h, T = {s0.T}, "
                 f"input scale {s0.input_scale:g})", fontsize=9)
    fig.subplots_adjust(left=0.13, right=0.97, bottom=0.13, top=0.86)
    return fig


def input_scale_figure(sweeps, fig=None):
    """Rate against rho at several input scales (one activation): saturation moves the
    threshold. Returns the figure."""
    fig = _new(fig, (6.4, 4.0))
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
    ax.legend(fontsize=7, frameon=False, loc="lower right")
    ax.set_title(f"{s0.activation}, {s0.family} W_h: rate turns positive at rho =\n"
                 + "; ".join(notes) + " (by input scale)", fontsize=9)
    fig.subplots_adjust(left=0.13, right=0.97, bottom=0.13, top=0.86)
    return fig


def transient_growth_figure(data, fig=None):
    """log10 ||W_h^l||_2 against l for several families at the same rho, with rho^l.
    Returns the figure."""
    fig = _new(fig, (6.4, 4.0))
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
    ax.legend(fontsize=7, frameon=False, loc="lower left")
    nn = data["curves"].get("nonnormal")
    if nn is not None:
        above = np.flatnonzero(nn["curve"] > 0)
        peak = int(np.argmax(nn["curve"]))
        last = int(above[-1]) if above.size else 0
        until = (f"until l = {last}" if last < lags[-1] else f"beyond l = {lags[-1]}")
        ax.set_title(f"All have rho = {data['rho']:g}; the non-normal W_h^l grows to "
                     f"10^{nn['curve'][peak]:.1f} at l = {peak}\nand stays above 1 {until}",
                     fontsize=9)
    fig.subplots_adjust(left=0.12, right=0.97, bottom=0.13, top=0.86)
    return fig


def commutation_figure(data, fig=None):
    """The gap between the Jacobian product and W_h pulled out of it, in the order of
    experiments.commutation_gap's `order` (the lecture notes' or the blog post's). Returns
    the figure."""
    fig = _new(fig, (9.0, 3.6))
    ax1, ax2 = fig.subplots(1, 2)
    n = data["n"]
    ax1.plot(n, data["gap"], "o-", color="tab:red", ms=3)
    ax1.set_ylim(0, max(1.05 * float(np.max(data["gap"])), 0.1))
    _label(ax1, "number of factors n", "relative gap ||true - pulled||_F / max ||.||_F")
    ax1.set_title(f"Relative gap is {data['gap'][0]:.2f} at n = 1 and "
                  f"{data['gap'][-1]:.2f} at n = {n[-1]}", fontsize=9)
    ax2.plot(n, data["log10_true"], "o-", color="k", ms=3,
             label=f"true: {data['true_label']}")
    ax2.plot(n, data["log10_pulled"], "s--", color="tab:red", ms=3,
             label=f"W_h pulled out: {data['pulled_label']}")
    _label(ax2, "number of factors n", "log10 spectral norm")
    ax2.legend(fontsize=7, frameon=False)
    ax2.set_title("The norms differ too", fontsize=9)
    source = {"notes": "the lecture notes' order (eq. 1.32)",
              "blog": "the blog post's order (eq. 14)"}[data["order"]]
    fig.suptitle(f"Matrices do not commute: {data['activation']} RNN, rho = {data['rho']:g}, "
                 f"{source}",
                 fontsize=10)
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.15, top=0.8, wspace=0.3)
    return fig


# ----------------------------------------------------------------------------------------
# Notebook 04: activations, the mean derivative, the pre-activation explorer, ReLU paths
# ----------------------------------------------------------------------------------------

def activations_figure(curves, fig=None):
    """f (top) and f' (bottom) for each activation, saturated regions shaded, gamma marked.
    `curves` is experiments.activation_curves(). Returns the figure."""
    names = list(curves)
    fig = _new(fig, (2.8 * len(names), 4.8))
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
        axes[0, j].set_title(f"{name}: gamma = {c['gamma_grid']:.4g}", fontsize=9)
    fig.suptitle(f"Activations and derivatives; shaded: f' < {curves[names[0]]['saturation']:g}"
                 f" gamma (saturated, or off for ReLU); dashed: gamma = max f'", fontsize=10)
    fig.subplots_adjust(left=0.06, right=0.99, bottom=0.11, top=0.86, wspace=0.35, hspace=0.15)
    return fig


def mean_derivative_figure(data, fig=None):
    """E|f'(a)| against the spread of a ~ N(mean, spread^2), one panel per mean.
    Returns the figure."""
    means = data["means"]
    fig = _new(fig, (4.6 * len(means), 3.6))
    axes = np.atleast_1d(fig.subplots(1, len(means), sharey=True))
    for k, (ax, m) in enumerate(zip(axes, means)):
        for name, vals in data["values"].items():
            ax.plot(data["spreads"], vals[k], color=ACTIVATION_COLORS.get(name), lw=1.6,
                    label=name)
        ax.set_xscale("log")
        _label(ax, "spread (std) of the pre-activation a", "mean |f'(a)|")
        ax.set_title(f"mean of a = {m:g}", fontsize=9)
    axes[0].legend(fontsize=7, frameon=False)
    tanh = data["values"].get("tanh")
    note = ""
    if tanh is not None:
        note = (f": tanh falls from {tanh[0][0]:.2f} to {tanh[0][-1]:.2f} as the spread grows "
                f"to {data['spreads'][-1]:.0f}")
    fig.suptitle("Saturation shrinks the factor each step multiplies in" + note, fontsize=10)
    fig.subplots_adjust(left=0.09, right=0.98, bottom=0.15, top=0.84, wspace=0.12)
    return fig


def preactivation_figure(stats, fig=None):
    """Histogram of pre-activations a with f'(a) over it and the mean |f'| they produce.
    `stats` is experiments.preactivation_stats(...). Returns the figure."""
    fig = _new(fig, PREACTIVATION_SIZE)
    ax = fig.add_subplot()
    ax.hist(stats["samples"], bins=60, density=True, color="0.75", label="pre-activations a")
    _label(ax, "pre-activation a", "density of a")
    ax2 = ax.twinx()
    ax2.plot(stats["grid"], stats["df_grid"], color=ACTIVATION_COLORS.get(stats["activation"]),
             lw=1.8, label="f'(a)")
    ax2.axhline(stats["mean_abs_df"], color="k", lw=1, ls="--", label="mean |f'| over a")
    ax2.set_ylim(0, 1.1 * stats["gamma"] if stats["gamma"] > 0 else 1)
    ax2.set_ylabel("f'(a)", fontsize=8)
    ax2.tick_params(labelsize=7)
    lo = min(stats["grid"][0], float(stats["samples"].min()))
    hi = max(stats["grid"][-1], float(stats["samples"].max()))
    ax.set_xlim(lo, hi)
    handles = ax.get_legend_handles_labels()[0] + ax2.get_legend_handles_labels()[0]
    ax.legend(handles=handles, fontsize=7, frameon=False, loc="upper left")
    ax.set_title(f"{stats['activation']}, a ~ N({stats['mean']:.2g}, {stats['spread']:.2g}^2): "
                 f"mean |f'| = {stats['mean_abs_df']:.3f} (gamma = {stats['gamma']:g}), "
                 f"{100 * stats['saturated']:.0f}% saturated", fontsize=9)
    fig.subplots_adjust(left=0.09, right=0.91, bottom=0.15, top=0.88)
    return fig


def relu_paths_figure(data, fig=None):
    """Entries of the ReLU Jacobian product against |W_h|^L (a bound) and |W_h^L| (not one).
    `data` is experiments.relu_paths(...). Returns the figure."""
    fig = _new(fig, (9.0, 3.8))
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
        ax.legend(fontsize=7, frameon=False, loc="upper left")
        ax.set_title(f"{int(above.sum())} of {int(ok.sum())} entries above the diagonal",
                     fontsize=9)
    fig.suptitle(f"ReLU, L = {data['L']} steps, {100 * data['active_fraction']:.0f}% of units "
                 f"active ({int((~nz).sum())} entries exactly 0): |W_h|^L bounds every entry, "
                 f"|W_h^L| does not", fontsize=9.5)
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.15, top=0.82, wspace=0.3)
    return fig


def unrolled_figure(T=4, fig=None):
    """The Elman RNN unrolled over T steps: x_t -> h_t -> y_t, with h_{t-1} -> h_t (W_h)."""
    fig = _new(fig, (7.0, 3.0))
    ax = fig.add_subplot(1, 1, 1)
    box = dict(boxstyle="round,pad=0.3", fc="white")
    arrow = dict(arrowstyle="->", lw=1.2)
    ax.text(0, 1, "$h_0$", ha="center", va="center", fontsize=11, bbox=box)
    for t in range(1, T + 1):
        for row, (name, colour) in enumerate([("x", "#dce9f7"), ("h", "#f7e6cf"), ("y", "#dcf2dc")]):
            ax.text(t, row, f"${name}_{t}$", ha="center", va="center", fontsize=11,
                    bbox=dict(box, fc=colour))
        ax.annotate("", (t, 0.78), (t, 0.22), arrowprops=arrow)        # x_t -> h_t
        ax.annotate("", (t, 1.78), (t, 1.22), arrowprops=arrow)        # h_t -> y_t
        ax.annotate("", (t - 0.2, 1), (t - 0.8, 1), arrowprops=arrow)  # h_{t-1} -> h_t
        ax.text(t + 0.05, 0.48, "$W_x$", fontsize=9)
        ax.text(t + 0.05, 1.48, "$W_y$", fontsize=9)
        ax.text(t - 0.5, 1.08, "$W_h$", fontsize=9, ha="center")
    ax.set(xlim=(-0.5, T + 0.5), ylim=(-0.5, 2.5), xticks=range(T + 1),
           yticks=[0, 1, 2], yticklabels=["input", "hidden state", "output"],
           xlabel="time step t",
           title="Unrolled in time: every step reuses the same $W_x$, $W_h$ and $W_y$")
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    return fig
