"""Notebook 04's figures: the activations and their derivatives, the mean derivative, the
pre-activation histogram and ReLU's paths."""
import numpy as np

from .common import (PREACTIVATION_SIZE, TEXT, TITLE, WIDTH, ACTIVATION_COLORS, new_figure,
                     label_axes)


# ----------------------------------------------------------------------------------------
# Notebook 04: activations, the mean derivative, the pre-activation explorer, ReLU paths
# ----------------------------------------------------------------------------------------

def activations_figure(curves, fig=None):
    """f (top) and f' (bottom) for each activation, saturated regions shaded, gamma marked.
    `curves` is experiments.derivatives.activation_curves(). Returns the figure."""
    names = list(curves)
    fig = new_figure(fig, (min(WIDTH, 2.4 * len(names)), 5.0), layout="constrained")
    axes = fig.subplots(2, len(names), sharex=True)
    for j, name in enumerate(names):
        c = curves[name]
        a, sat = c["a"], c["saturated"]
        for ax, y, lab in ((axes[0, j], c["f"], "f(a)"), (axes[1, j], c["df"], "f'(a)")):
            ax.plot(a, y, color=ACTIVATION_COLORS.get(name, "k"), lw=1.6)
            ax.fill_between(a, 0, 1, where=sat, transform=ax.get_xaxis_transform(),
                            color="0.88", zorder=0, lw=0)
            label_axes(ax, "pre-activation a" if ax is axes[1, j] else "", lab)
        axes[1, j].axhline(c["gamma"], color="k", lw=0.8, ls="--")
        axes[0, j].set_title(f"{name}: gamma = {c['gamma_grid']:.4g}", fontsize=TEXT)
    fig.suptitle(f"Activations and derivatives; shaded: f' < {curves[names[0]]['saturation']:g}"
                 f" gamma (saturated, or off for ReLU); dashed: gamma = max f'", fontsize=TITLE)
    return fig


def mean_derivative_figure(data, fig=None):
    """E|f'(a)| against the spread of a ~ N(mean, spread^2), one panel per mean.
    Returns the figure."""
    means = data["means"]
    fig = new_figure(fig, (min(WIDTH, 4.6 * len(means)), 3.8), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(means), sharey=True))
    for k, (ax, m) in enumerate(zip(axes, means)):
        for name, vals in data["values"].items():
            ax.plot(data["spreads"], vals[k], color=ACTIVATION_COLORS.get(name), lw=1.6,
                    label=name)
        ax.set_xscale("log")
        label_axes(ax, "spread (std) of the pre-activation a", "mean |f'(a)|")
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
    `stats` is experiments.derivatives.preactivation_stats(...). Returns the figure."""
    fig = new_figure(fig, PREACTIVATION_SIZE, layout="constrained")
    ax = fig.add_subplot()
    ax.hist(stats["samples"], bins=60, density=True, color="0.75", label="pre-activations a")
    label_axes(ax, "pre-activation a", "density of a")
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
    `data` is experiments.derivatives.relu_paths(...). Returns the figure."""
    fig = new_figure(fig, (WIDTH, 4.4), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    P = np.abs(data["P"]).ravel()
    nz = P > 0
    for ax, ref, name in ((ax1, data["abs_power"], "(|W_h|^L)_ij, every path"),
                          (ax2, np.abs(data["power"]), "|(W_h^L)_ij|, the value in Galvan's thesis")):
        ref = ref.ravel()
        ok = nz & (ref > 0)
        above = ok & (P > ref * (1 + 1e-9))
        if not ok.any():   # a step with no active unit: the product is exactly 0, nothing to draw on log axes
            ax.text(0.5, 0.5, f"every entry of the product is 0:\n{data.get('dead_steps', 0)} step(s) "
                    "with no active unit", ha="center", va="center", transform=ax.transAxes,
                    fontsize=TEXT)
            label_axes(ax, name, "|(prod D_i W_h)_ij|")
            ax.set_title("no non-zero entry to compare", fontsize=TEXT)
            continue
        ax.scatter(ref[ok & ~above], P[ok & ~above], s=10, color="tab:blue", label="below")
        ax.scatter(ref[above], P[above], s=14, color="tab:red", marker="^", label="above")
        lim = [min(ref[ok].min(), P[ok].min()) / 2, max(ref[ok].max(), P[ok].max()) * 2]
        ax.plot(lim, lim, "k--", lw=0.8, label="equality")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(lim)
        ax.set_ylim(lim)
        label_axes(ax, name, "|(prod D_i W_h)_ij|")
        ax.legend(fontsize=TEXT, frameon=False, loc="upper left")
        ax.set_title(f"{int(above.sum())} of {int(ok.sum())} entries above the diagonal",
                     fontsize=TEXT)
    fig.suptitle(f"ReLU, L = {data['L']} steps, {100 * data['active_fraction']:.0f}% of units "
                 f"active ({int((~nz).sum())} entries exactly 0): |W_h|^L bounds every entry, "
                 + ("|W_h^L| does not" if data["n_above_power"] else "and at this draw so does |W_h^L|"),
                 fontsize=TEXT)
    return fig
