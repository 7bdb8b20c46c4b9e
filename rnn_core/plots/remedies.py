"""Figures of notebook 07: the cliff, clipping, the regulariser, the optimisers, weight
decay and the reproduction table. Each takes what one function of experiments.cliff,
experiments.remedies or experiments.success_rates returned and draws it; nothing here
computes a gradient.

The cliff explorer has its own pair: cliff_artists (once per widget: the surface) and
update_cliff (per change: the trajectories and the loss curves), with a fixed layout.
"""
import numpy as np
from matplotlib import patheffects
from matplotlib.ticker import FixedLocator, MaxNLocator

from .common import TEXT, TITLE, WIDTH, label_axes, new_figure

# Two colours that cannot blend into a third where the runs coincide: red dashes on top of
# a white line edged in black (visible on the dark and the light parts of the surface, and
# on the white loss panel), so a shared stretch reads as red-and-white, not as a new colour.
_EDGE = [patheffects.Stroke(linewidth=3.6, foreground="k"), patheffects.Normal()]
_RUN = {"noclip": dict(color="tab:red", lw=1.8, ls=(0, (3, 2)), zorder=3),
        "clip": dict(color="white", lw=2.0, ls="-", zorder=2, path_effects=_EDGE)}
_METHOD_COLORS = {"SGD": "tab:gray", "SGD+clip": "tab:blue", "SGD+clip+Omega": "tab:purple",
                  "IRNN": "tab:orange", "LSTM": "tab:green"}


def _surface(ax, surface, levels=14):
    cs = ax.contourf(surface["w"], surface["b"], surface["loss"], levels=levels, cmap="viridis")
    ax.contour(surface["w"], surface["b"], surface["loss"], levels=levels, colors="k",
               linewidths=0.3, alpha=0.5)
    ax.set_xlim(surface["w"][0], surface["w"][-1])
    ax.set_ylim(surface["b"][0], surface["b"][-1])
    label_axes(ax, "w (recurrent weight)", "b (bias)")
    return cs


def cliff_surface_figure(surface, cut, fig=None):
    """The cliff: (a) the loss over (w, b) as filled contours, the slice marked; (b) the
    loss along b at the slice's w; (c) log10 |dL/db| along that slice. Returns the figure."""
    fig = new_figure(fig, (WIDTH, 3.9), layout="constrained")
    ax_a, ax_b, ax_c = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1.25, 1, 1]})
    cs = _surface(ax_a, surface)
    cb = fig.colorbar(cs, ax=ax_a, shrink=0.9)
    cb.ax.set_xlabel("loss", fontsize=TEXT)
    cb.ax.tick_params(labelsize=TEXT)
    cb.locator = MaxNLocator(4)
    cb.update_ticks()
    ax_a.axvline(cut["w"], color="w", lw=1.2, ls=":")
    ax_a.set_title(f"loss over (w, b); dotted: w = {cut['w']:g}", fontsize=TEXT)
    ax_b.plot(cut["b"], cut["loss"], color="k", lw=1.3)
    ax_b.axvline(cut["cliff_b"], color="tab:red", lw=0.8, ls=":")
    ax_b.set_title(f"loss at w = {cut['w']:g}: {cut['loss_left']:.2f} falls to\n"
                   f"{cut['loss_right']:.3f} at b = {cut['cliff_b']:.2f}", fontsize=TEXT)
    label_axes(ax_b, "b (bias)", "loss")
    ax_c.plot(cut["b"], np.log10(np.abs(cut["dldb"]) + 1e-300), color="tab:red", lw=1.2)
    ax_c.set_ylim(-4, None)
    ax_c.set_title(f"|dL/db| peaks at {cut['max_abs_dldb']:.3g}\n(the grid shows "
                   f"{cut['grid_max_abs_dldb']:.3g})", fontsize=TEXT)
    label_axes(ax_c, "b (bias)", "log10 |dL/db|")
    fig.suptitle("The one-neuron RNN's loss has a cliff: a step in b where the gradient "
                 "is huge", fontsize=TITLE)
    return fig


# ----------------------------------------------------------------------------- the cliff explorer

CLIFF_SIZE = (9.6, 4.3)
_CLIFF_PANELS = {"a": (0.75, 0.62, 4.0, 3.1), "b": (5.75, 0.62, 3.6, 3.1)}
LOSS_FLOOR = -7.0        # log10 of the smallest loss the loss panel shows (lower is drawn there)
_TITLE_Y = 1.02          # fixed places for titles and labels: no measuring on each redraw
_XLABEL_AT = 0.32        # inches below the axes
_YLABEL_AT = 0.5         # inches left of the axes


def _thrown(run, surface):
    """How many runs leave the drawn window at some step."""
    p = run["paths"]
    w0, w1, b0, b1 = surface["w"][0], surface["w"][-1], surface["b"][0], surface["b"][-1]
    out = (p[..., 0] < w0) | (p[..., 0] > w1) | (p[..., 1] < b0) | (p[..., 1] > b1)
    return int(out.any(axis=1).sum())


def cliff_artists(surface, n_starts, fig=None):
    """The cliff explorer's figure, built once: the surface, and empty trajectory and loss
    lines for n_starts starting points with and without clipping. Fixed layout, ticks and
    limits, so that a redraw measures nothing. Returns a dict of artists for update_cliff."""
    fig = new_figure(fig, CLIFF_SIZE)
    W, H = CLIFF_SIZE
    axes = {}
    for name, (x, y, w, h) in _CLIFF_PANELS.items():
        ax = fig.add_axes([x / W, y / H, w / W, h / H])
        ax.yaxis.set_label_coords(-_YLABEL_AT / w, 0.5)
        ax.xaxis.set_label_coords(0.5, -_XLABEL_AT / h)
        axes[name] = ax
    ax_a, ax_b = axes["a"], axes["b"]
    _surface(ax_a, surface)
    w, b = surface["w"], surface["b"]
    ax_a.xaxis.set_major_locator(FixedLocator(np.arange(np.ceil(w[0]), w[-1] + 1e-9)))
    ax_a.yaxis.set_major_locator(FixedLocator(np.arange(np.ceil(b[0]), b[-1] + 1e-9)))
    art = {"fig": fig, "ax_a": ax_a, "ax_b": ax_b, "surface": surface, "lines": {}, "loss": {}}
    for kind in ("noclip", "clip"):
        art["lines"][kind] = [ax_a.plot([], [], marker=".", ms=3, **_RUN[kind])[0]
                              for _ in range(n_starts)]
        art["loss"][kind] = [ax_b.plot([], [], **_RUN[kind])[0] for _ in range(n_starts)]
    art["starts"] = ax_a.plot([], [], "o", color="w", mec="k", ms=6, zorder=5)[0]
    ax_b.set_ylim(LOSS_FLOOR, 0.0)
    ax_b.yaxis.set_major_locator(FixedLocator(np.arange(LOSS_FLOOR, 0.5)))
    label_axes(ax_b, "gradient step", "log10 loss")
    ax_b.plot([], [], label="without clipping", **_RUN["noclip"])
    ax_b.plot([], [], label="with clipping", **_RUN["clip"])
    ax_b.legend(fontsize=TEXT, frameon=False, loc="lower left")
    for ax in (ax_a, ax_b):
        ax.set_title(" ", fontsize=TEXT, y=_TITLE_Y)
    return art


def update_cliff(art, noclip, clip):
    """Put two experiments.cliff.cliff_trajectories results (same lr and starts, without and
    with clipping) into the explorer's figure. Returns None (no static parts: the
    trajectories cross the surface)."""
    surface = art["surface"]
    for kind, run in (("noclip", noclip), ("clip", clip)):
        for line, lline, path, loss in zip(art["lines"][kind], art["loss"][kind],
                                           run["paths"], run["loss"]):
            line.set_data(path[:, 0], path[:, 1])
            lline.set_data(np.arange(loss.size),
                           np.maximum(np.log10(np.maximum(loss, 1e-300)), LOSS_FLOOR))
    art["starts"].set_data(noclip["paths"][:, 0, 0], noclip["paths"][:, 0, 1])
    ax_b = art["ax_b"]
    steps = noclip["loss"].shape[1] - 1
    if ax_b.get_xlim() != (0.0, float(steps)):
        ax_b.set_xlim(0, steps)
        ax_b.xaxis.set_major_locator(FixedLocator(np.linspace(0, steps, 4 if steps % 3 == 0
                                                                      else 3).round()))
    n = len(noclip["paths"])
    c = clip["clip"]
    fired = int((clip["clipped"].sum(axis=1) > 0).sum())
    art["ax_a"].set_title(f"lr = {noclip['lr']:.3g}, c = {c:.3g}: runs that leave the window:\n"
                          f"{_thrown(noclip, surface)} of {n} without clipping, "
                          f"{_thrown(clip, surface)} of {n} with it ({fired} of {n} were clipped)",
                          fontsize=TEXT, y=_TITLE_Y)
    med_n, med_c = np.median(noclip["loss"][:, -1]), np.median(clip["loss"][:, -1])
    longest = (noclip["max_step"].max(), clip["max_step"].max())
    ax_b.set_title(f"median loss after step {steps}: {med_n:.2g} without,\n{med_c:.2g} with "
                   f"clipping (longest step {longest[0]:.3g} vs {longest[1]:.3g})",
                   fontsize=TEXT, y=_TITLE_Y)
    return None


def cliff_steps_figure(surface, noclip, clip, fig=None):
    """Figure 6 of Pascanu et al. at small scale: gradient descent from points near the
    cliff, with and without clipping, on the surface, and the loss per step."""
    art = cliff_artists(surface, len(noclip["paths"]), fig)
    update_cliff(art, noclip, clip)
    return art["fig"]


# ----------------------------------------------------------------------------- clipping

def clipping_figure(cmp, van, fig=None):
    """(a) the angle each clipping turns the gradient, per training step; (b) the raw
    gradient norm per step against the global threshold; (c) the contribution of each lag
    to dL/dW_h before and after clipping by global norm."""
    fig = new_figure(fig, (WIDTH, 3.9), layout="constrained")
    ax_a, ax_b, ax_c = fig.subplots(1, 3)
    steps = np.arange(cmp["angles_value"].size)
    ax_a.plot(steps, cmp["angles_value"], ".", ms=3, color="tab:orange", label="by value")
    ax_a.plot(steps, cmp["angles_norm"], ".", ms=3, color="tab:blue", label="by global norm")
    ax_a.set_title(f"turned by up to {cmp['angles_value'].max():.0f} deg (value), "
                   f"{cmp['angles_norm'].max():.0g} (norm)", fontsize=TEXT)
    label_axes(ax_a, "training step", "angle to the raw gradient (deg)")
    ax_a.legend(fontsize=TEXT, frameon=True, framealpha=1.0, loc="upper right")
    ax_b.semilogy(steps, cmp["grad_norm"], color="k", lw=0.8)
    ax_b.axhline(cmp["c_norm"], color="tab:blue", lw=1, ls="--")
    ax_b.set_title(f"run without clipping: norm >= c = {cmp['c_norm']:g}\nat "
                   f"{100 * cmp['fired_norm'].mean():.0f}% of its steps", fontsize=TEXT)
    label_axes(ax_b, "training step", "raw gradient norm")
    ax_c.semilogy(van["lags"], van["contrib"], color="k", lw=1.5, label="raw")
    ax_c.semilogy(van["lags"], van["contrib_clipped"], color="tab:blue", lw=1.5, ls="--",
                  label=f"clipped (x {van['scale']:.2g})")
    ax_c.set_title("clipping shifts every lag alike", fontsize=TEXT)
    label_axes(ax_c, "lag l = T - 1 - k (steps)", "||dL/dW_h from step k||")
    ax_c.legend(fontsize=TEXT, frameon=False, loc="upper right")
    fig.suptitle("Clipping by value turns the gradient, by norm it does not; clipping by "
                 "norm leaves the decay with lag as it was", fontsize=TITLE)
    return fig


# ----------------------------------------------------------------------------- Omega

def omega_figure(res, fig=None):
    """(a) log10 ||dL/dh_k|| against lag at initialisation, after SGD + clipping, after
    SGD + clipping + Omega; (b) Omega's per-step ratios r_t for the same three."""
    fig = new_figure(fig, (WIDTH, 3.8), layout="constrained")
    ax_a, ax_b = fig.subplots(1, 2)
    styles = {"init": dict(color="0.5", ls=":", label="initialisation"),
              "plain": dict(color="tab:blue", label="SGD + clipping"),
              "omega": dict(color="tab:purple", label=f"+ Omega (weight {res['omega_weight']:g})")}
    for k, st in styles.items():
        ax_a.plot(res["lags"], res[f"profile_{k}"], lw=1.5, **st)
        ax_b.plot(np.arange(res["T"]), res[f"ratios_{k}"], lw=1.5, **st)
    drop = {k: res[f"profile_{k}"][0] - res[f"profile_{k}"][-1] for k in styles}
    ax_a.set_title(f"decades lost over {res['T'] - 1} lags: {drop['plain']:.2f} plain, "
                   f"{drop['omega']:.2f} with Omega", fontsize=TEXT)
    label_axes(ax_a, "lag l = T - 1 - k (steps)", "log10 mean ||dL/dh_k||")
    ax_a.legend(fontsize=TEXT, frameon=False, loc="lower left")
    ax_b.axhline(1.0, color="k", lw=0.6)
    ax_b.set_title("Omega pushes each ratio r_t towards 1", fontsize=TEXT)
    label_axes(ax_b, "step t", "r_t = ||g_t J_t|| / ||g_t||")
    fig.suptitle("Trained with Omega, the gradient keeps its size across the lags",
                 fontsize=TITLE)
    return fig


# ----------------------------------------------------------------------------- optimisers

def optimiser_figure(curves, fig=None):
    """One panel per optimiser (momentum, annealing, early stopping), each against plain
    SGD: validation MSE per step, log scale; early stopping marks where it stopped."""
    fig = new_figure(fig, (WIDTH, 3.6), layout="constrained")
    axes = fig.subplots(1, 3, sharey=True)
    base = curves["sgd"]
    for ax, name, color in zip(axes, ("momentum", "annealing", "early stopping"),
                               ("tab:blue", "tab:purple", "tab:green")):
        ax.semilogy(base["step"], base["val_error"], color="0.45", lw=1.3, label="SGD")
        c = curves[name]
        ax.semilogy(c["step"], c["val_error"], color=color, lw=1.6, label=name)
        if name == "early stopping":
            ax.axvline(c["steps_run"], color=color, lw=0.8, ls=":")
        ax.set_title(f"{name}: best {c['best_error']:.3f} vs {base['best_error']:.3f}",
                     fontsize=TEXT)
        label_axes(ax, "update", "validation MSE" if ax is axes[0] else "")
        ax.legend(fontsize=TEXT, frameon=False, loc="lower left")
    fig.suptitle("The thesis's optimisers on the adding problem, each against plain SGD",
                 fontsize=TITLE)
    return fig


# ----------------------------------------------------------------------------- weight decay

def decay_figure(res, fig=None):
    """(a) log10 ||dL/dh_k|| against lag after training with each decay; (b) the spectral
    radius of W_h after each."""
    fig = new_figure(fig, (WIDTH, 3.8), layout="constrained")
    ax_a, ax_b = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.4, 1]})
    labels = list(res)
    colors = ["0.5", "k", "tab:orange", "tab:red", "tab:purple", "tab:brown"]
    for label, color in zip(labels, colors):
        prof = res[label]["profile"]
        ax_a.plot(np.arange(prof.size), prof, color=color, lw=1.5,
                  ls=":" if label == "init" else "-", label=label)
    label_axes(ax_a, "lag l = T - 1 - k (steps)", "log10 mean ||dL/dh_k||")
    ax_a.legend(fontsize=TEXT, frameon=False, loc="lower left")
    ax_a.set_title("stronger decay, faster vanishing", fontsize=TEXT)
    rhos = [res[k]["rho"] for k in labels]
    ax_b.bar(np.arange(len(labels)), rhos, color=colors[:len(labels)])
    ax_b.axhline(1.0, color="k", lw=0.6)
    ax_b.set_xticks(np.arange(len(labels)), labels, rotation=30, ha="right")
    label_axes(ax_b, "training", "spectral radius of W_h")
    ax_b.tick_params(axis="x", labelsize=TEXT)
    ax_b.set_title("decay shrinks rho(W_h)", fontsize=TEXT)
    fig.suptitle("Weight decay shrinks W_h, and the gradient vanishes faster", fontsize=TITLE)
    return fig


# ----------------------------------------------------------------------------- reproduction

def reproduction_figure(table, fig=None):
    """Success rate against sequence length per method, one panel per task, with the
    Wilson intervals of experiments.success_rates.reproduction as error bars."""
    tasks_ = list(table["tasks"])
    fig = new_figure(fig, (WIDTH, 4.3), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(tasks_), sharey=True))
    methods = list(table["methods"])
    Ts = np.asarray(table["lengths"])
    offsets = np.linspace(-0.12, 0.12, len(methods)) * (Ts[1] - Ts[0] if Ts.size > 1 else 1)
    for ax, task in zip(axes, tasks_):
        for off, m in zip(offsets, methods):
            rate = table["rate"][task][m]
            lo, hi = table["interval"][task][m]
            ax.errorbar(Ts + off, rate, yerr=[rate - lo, hi - rate], marker="o", ms=4,
                        capsize=3, lw=1.3, color=_METHOD_COLORS.get(m), label=m)
        ax.set_xticks(Ts)
        ax.set_ylim(-0.05, 1.05)
        steps = table.get("steps")
        within = f", {steps[task]} updates" if isinstance(steps, dict) else ""
        crit = table.get("threshold", {}).get(task)
        crit = "" if crit is None else (f"\nsuccess: MSE < {crit:g}" if task == "adding"
                                        else f"\nsuccess: accuracy >= {crit:g}")
        ax.set_title(f"{task.replace('_', ' ')}, {table['n_seeds']} seeds{within}{crit}",
                     fontsize=TEXT)
        label_axes(ax, "sequence length T", "success rate" if ax is axes[0] else "")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=TEXT, frameon=False, loc="outside lower center",
               ncol=len(methods))
    rates = np.array([[table["rate"][t][m] for m in methods] for t in tasks_])   # (tasks, M, L)
    falls = bool((np.diff(rates, axis=-1) <= 0).all())
    steps = table.get("steps", "the")
    fig.suptitle(("Success rate against T" if isinstance(steps, dict) else
                  f"Success within {steps} updates against T")
                 + (": no method does better at a longer T" if falls else ""), fontsize=TITLE)
    return fig
