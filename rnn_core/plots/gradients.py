"""Notebook 03's figures: the lecture notes' rule, the bounds, rates, input scale, transient
growth and the commutation step."""
import numpy as np
from matplotlib.ticker import NullFormatter

from .common import TEXT, TITLE, WIDTH, ACTIVATION_COLORS, new_figure, label_axes


# ----------------------------------------------------------------------------------------
# Notebook 03: the lecture notes' rule, the bounds, rates, input scale, transient growth
# ----------------------------------------------------------------------------------------

def rule_figure(rows, fig=None):
    """One small panel per case of experiments.vanishing.rule_cases: the measured curve, and whether
    the lecture notes' rule (eq. 1.33, vanishes iff lambda_max <= 1) predicted it. Returns
    the figure."""
    n = len(rows)
    ncols = min(3, n)
    nrows = -(-n // ncols)
    fig = new_figure(fig, (WIDTH, 2.9 * nrows + 0.6), layout="constrained")
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
        label_axes(ax, "lag l (steps)", "log10 ||dL/dh_k|| / ||dL/dh_T||"
                   if i % ncols == 0 else "")     # one y label per row: they are long
    for ax in list(axes.flat)[n:]:
        ax.set_axis_off()
    n_fail = sum(not r["rule_holds"] for r in rows)
    fig.suptitle(f"The lecture notes' rule 'vanishes iff lambda_max <= 1' fails in {n_fail} of {n} "
                 f"cases (red); grey band: within one decade", fontsize=TITLE)
    return fig



def bounds_figure(items, fig=None):
    """Measured norms against the singular-value bound and Hochreiter's bound, one panel per
    setting of experiments.vanishing.bounds_vs_measured. Returns the figure."""
    fig = new_figure(fig, (min(WIDTH, 4.8 * len(items)), 4.2), layout="constrained")
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
        label_axes(ax, "lag l = T - k (steps)", "log10 norm")
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
    fig = new_figure(fig, (6.4, 4.0), layout="constrained")
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
    label_axes(ax, "rho = max |eigenvalue of W_h| (log scale)",
               "rate: d log ||dL/dh_k|| / dl (per step)")
    ax.legend(fontsize=TEXT, frameon=False, loc="lower right")
    s0 = sweeps[0]
    ax.set_title(f"Rate turns positive at: {', '.join(notes)}\n({s0.family} W_h, T = {s0.T}, "
                 f"input scale {s0.input_scale:g})", fontsize=TEXT)
    return fig


def input_scale_figure(sweeps, fig=None):
    """Rate against rho at several input scales (one activation): saturation moves the
    threshold. Returns the figure."""
    fig = new_figure(fig, (6.4, 4.0), layout="constrained")
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
    label_axes(ax, "rho = max |eigenvalue of W_h|", "rate per step (natural log)")
    ax.legend(fontsize=TEXT, frameon=False, loc="lower right")
    ax.set_title(f"{s0.activation}, {s0.family} W_h: rate turns positive at rho =\n"
                 + "; ".join(notes) + " (by input scale)", fontsize=TEXT)
    return fig


def transient_growth_figure(data, fig=None):
    """log10 ||W_h^l||_2 against l for several families at the same rho, with rho^l.
    Returns the figure."""
    fig = new_figure(fig, (6.4, 4.0), layout="constrained")
    ax = fig.add_subplot()
    lags = data["lags"]
    colors = {"nonnormal": "tab:red", "gaussian": "tab:blue", "orthogonal": "tab:green",
              "symmetric": "tab:purple"}
    for fam, c in data["curves"].items():
        ax.plot(lags, c["curve"], color=colors.get(fam), lw=1.6,
                label=f"{fam} (sigma_max = {c['sigma_max']:.2f})")
    ax.plot(lags, data["eigen_line"], "k--", lw=1, label=f"rho^l, rho = {data['rho']:g}")
    ax.axhline(0.0, color="0.5", lw=0.8)
    label_axes(ax, "power l (steps)", "log10 ||W_h^l||_2")
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
    experiments.vanishing.commutation_gap's `order` (the lecture notes' or the blog post's). Returns
    the figure."""
    fig = new_figure(fig, (WIDTH, 4.0), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    n = data["n"]
    ax1.plot(n, data["gap"], "o-", color="tab:red", ms=3)
    ax1.set_ylim(0, max(1.05 * float(np.max(data["gap"])), 0.1))
    label_axes(ax1, "number of factors n", "relative gap ||true - pulled||_F / max ||.||_F")
    ax1.set_title(f"Relative gap is {data['gap'][0]:.2f} at n = 1 and "
                  f"{data['gap'][-1]:.2f} at n = {n[-1]}", fontsize=TEXT)
    ax2.plot(n, data["log10_true"], "o-", color="k", ms=3,
             label=f"true: {data['true_label']}")
    ax2.plot(n, data["log10_pulled"], "s--", color="tab:red", ms=3,
             label=f"W_h pulled out: {data['pulled_label']}")
    label_axes(ax2, "number of factors n", "log10 spectral norm")
    ax2.legend(fontsize=TEXT, frameon=False)
    ax2.set_title("The norms differ too", fontsize=TEXT)
    source = {"notes": "the lecture notes' order (eq. 1.32)",
              "blog": "the blog post's order (eq. 14)"}[data["order"]]
    fig.suptitle(f"Matrices do not commute: {data['activation']} RNN, rho = {data['rho']:g}, "
                 f"{source}",
                 fontsize=TITLE)
    return fig
