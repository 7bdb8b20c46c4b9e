"""Figures of notebook 06: depth, direction and gated feedback.

Each function draws the result of one function of experiments.depth and returns the figure.
"""
import numpy as np

from .common import TEXT, TITLE, WIDTH, label_axes, new_figure


def depth_gradients_figure(grads, rates, fig=None):
    """Left: log10 ||dL/dh_t^(j)|| over step t and layer j (experiments.depth_time_gradients).
    Right: the decay rate along time against depth, mean and spread over seeds, for each
    input scale of `rates` ({input scale: experiments.depth_rates(...)}). Returns the figure."""
    fig = new_figure(fig, (WIDTH, 3.9), layout="constrained")
    ax, ax2 = fig.subplots(1, 2, width_ratios=[1.5, 1])
    M, T = grads["log10"].shape
    im = ax.imshow(grads["log10"], aspect="auto", origin="lower", cmap="viridis",
                   extent=(-0.5, T - 0.5, -0.5, M - 0.5))
    cb = fig.colorbar(im, ax=ax)
    cb.set_label("log10 ||dL/dh_t^(j)||", fontsize=TEXT)
    cb.ax.tick_params(labelsize=TEXT)
    ax.set_yticks(range(M))
    label_axes(ax, "step t (the loss reads the top layer at the last step)", "layer j")
    ax.set_title(f"{M} stacked tanh layers, H = {grads['H']}: the gradient fades\n"
                 f"along time in every layer", fontsize=TEXT)
    for (scale, r), color in zip(rates.items(), ("tab:blue", "tab:orange", "tab:green")):
        for key, ls, marker in (("top", "-", "o"), ("bottom", "--", "s")):
            mean, std = r[key].mean(axis=1), r[key].std(axis=1)
            ax2.errorbar(r["depths"], mean, yerr=std, color=color, ls=ls, marker=marker,
                         ms=4, capsize=3, label=f"input scale {scale:g}, {key} layer")
    ax2.axhline(0.0, color="k", lw=0.8)
    ax2.set_xticks(list(next(iter(rates.values()))["depths"]))
    label_axes(ax2, "depth M (layers)", "decay rate (ln per step of lag)")
    ax2.set_title("Rates stay below 0 at every depth:\nlayers do not stop the vanishing",
                  fontsize=TEXT)
    ax2.legend(fontsize=TEXT, loc="lower left", frameon=False)
    lo = min(min(r["top"].min(), r["bottom"].min()) for r in rates.values())
    ax2.set_ylim(lo * 1.45, 0.05)
    return fig


def leak_figure(leak, fig=None):
    """Bits per character at each step: the unidirectional model, the bidirectional one, and
    the bidirectional one without its future inputs (experiments.leak_experiment)."""
    fig = new_figure(fig, (WIDTH, 3.6), layout="constrained")
    ax = fig.subplots()
    T = leak["T"]
    t = np.arange(T)
    uni, bi = leak["models"]["unidirectional"], leak["models"]["bidirectional"]
    ax.plot(t, uni["bpc_by_step"], "o-", color="tab:blue", label="unidirectional")
    ax.plot(t, bi["bpc_by_step"], "s-", color="tab:red", label="bidirectional")
    ax.plot(t, leak["bpc_future_hidden_by_step"], "^:", color="tab:red",
            label="bidirectional, inputs after t set to 0 (as when generating)")
    label_axes(ax, "step t of the window", "bits per character (validation)")
    top = max(uni["bpc_by_step"].max(), leak["bpc_future_hidden_by_step"].max())
    ax.set_ylim(0, 1.3 * top)
    ax.set_title(f"A bidirectional 'language model' reads the next character from its input: at "
                 f"most {bi['bpc_by_step'][:-1].max():.1f} bits\nbefore the last step; with the "
                 f"future hidden {leak['bpc_future_hidden']:.1f} bits, against "
                 f"{uni['bpc']:.1f} unidirectional", fontsize=TITLE)
    ax.legend(fontsize=TEXT, loc="upper center", ncol=3, frameon=False)
    return fig


def direction_paths_figure(paths, fig=None):
    """log10 ||dL/dx_s|| against the input step s, unidirectional against bidirectional:
    median over seeds, band from the smallest to the largest seed
    (experiments.depth.direction_paths). Left: a readout at one step (tagging); right: a
    readout of each direction's last state (sequence classification), at two lengths."""
    fig = new_figure(fig, (WIDTH, 3.7), layout="constrained")
    ax, ax2 = fig.subplots(1, 2)

    def draw(a, logs, color, ls, label):
        s = np.arange(logs.shape[1])
        keep = np.isfinite(logs).all(axis=0)                # -inf: no path, nothing to draw
        a.plot(s[keep], np.median(logs[:, keep], axis=0), ls, color=color, label=label)
        a.fill_between(s[keep], logs[:, keep].min(axis=0), logs[:, keep].max(axis=0),
                       color=color, alpha=0.2, lw=0)

    step, t = paths["step"], paths["step"]["t"]
    draw(ax, step["uni"], "tab:blue", "-", "unidirectional")           # under the dashes
    draw(ax, step["bi"], "tab:red", "--", "bidirectional")
    ax.axvline(t, color="0.5", lw=1, ls=":")
    label_axes(ax, f"input step s (dotted: the output step t = {t})", "log10 ||dL/dx_s||")
    ax.set_title(f"Output at step t: the same gradient to every earlier input;\n"
                 f"only the bidirectional layer reaches inputs after t", fontsize=TEXT)
    ax.legend(fontsize=TEXT, loc="lower center", frameon=False)
    T, T_long = paths["T"], paths["T_long"]
    draw(ax2, paths["sequence"]["uni"], "tab:blue", "-", f"unidirectional, T = {T}")
    draw(ax2, paths["sequence"]["bi"], "tab:red", "--", f"bidirectional, T = {T}")
    draw(ax2, paths["sequence_long"]["bi"], "tab:purple", ":", f"bidirectional, T = {T_long}")
    label_axes(ax2, "input step s", "log10 ||dL/dx_s||")
    ax2.set_title("Output from both last states: the weakest gradient\n"
                  "moves to the middle and still falls with T", fontsize=TEXT)
    ax2.legend(fontsize=TEXT, loc="lower left", frameon=False)
    n = len(paths["seeds"])
    fig.suptitle(f"Untrained tanh layers, median and range over {n} seeds", fontsize=TITLE)
    return fig


def gates_figure(gf, follows=0.2, fig=None):
    """The reset gates g^{i->j}_t of one validation sequence of two_timescales, with the
    steps in mode 1 shaded and the steps where the mode is set dotted
    (experiments.gated_feedback_experiment). The title counts the seeds in which some
    gate's mean differs by more than `follows` between the two modes."""
    fig = new_figure(fig, (WIDTH, 3.9), layout="constrained")
    ax = fig.subplots()
    g, marker, mode = gf["example"], gf["marker"], gf["mode"]
    t = np.arange(len(marker))
    for s in np.flatnonzero(mode):
        ax.axvspan(s - 0.5, s + 0.5, color="0.92", lw=0)
    for j in range(g.shape[1]):
        for i in range(g.shape[2]):
            ax.plot(t, g[:, j, i], "o-", ms=3, label=f"g^{{{i + 1}->{j + 1}}}")
    for s in np.flatnonzero(marker):
        ax.axvline(s, color="0.6", lw=1, ls=":")
    label_axes(ax, "step t (shaded: mode 1; dotted: the mode is set)", "global reset gate value")
    k = int((np.abs(gf["gates_mode"]).max(axis=(1, 2)) > follows).sum())
    k0 = int((np.abs(gf["gates_mode_untrained"]).max(axis=(1, 2)) > follows).sum())
    at_marker = float(np.abs(gf["gates_switch"] - gf["gates_steady"]).max())
    n = len(gf["gates_mode"])
    lead = "follow the slow mode" if 2 * k > n else "and the slow mode"
    ax.set_title(f"The trained reset gates {lead}: in {k} of {n} seeds some gate's mean "
                 f"differs by more than {follows:g}\nbetween the modes (untrained: in {k0}); at the "
                 f"steps that set the mode a gate's mean differs from elsewhere\nby at most "
                 f"{at_marker:.2f} (the largest over {n} seeds and 4 gates)", fontsize=TITLE)
    ax.set_ylim(0, 1.25)
    ax.set_xlim(-0.5, len(t) - 0.5)
    ax.set_xticks(t[::2])
    ax.legend(fontsize=TEXT, ncol=4, loc="upper center", frameon=False)
    return fig


def costs_figure(cost, fig=None):
    """Time and peak memory of forward + BPTT for each configuration of
    experiments.depth_costs, relative to one unidirectional layer. Time: over the
    interleaved rounds, the median (bar), the quartiles (whiskers) and the fastest round
    (dot), all divided by the fastest round of one unidirectional layer; the grey ticks mark
    the parameter count's ratio (the multiply-adds per step)."""
    fig = new_figure(fig, (WIDTH, 3.6), layout="constrained")
    ax, ax2 = fig.subplots(1, 2)
    rows, times = cost["rows"], cost["times"]
    labels = [f"{'bi' if r['model'] == 'bidirectional' else 'uni'}, M={r['M']}" for r in rows]
    base = rows[0]
    x = np.arange(len(rows))
    rel = times / times[:, 0].min()                                   # (rounds, configs)
    q1, med, q3 = np.percentile(rel, [25, 50, 75], axis=0)
    ax.bar(x, med, color="tab:blue", alpha=0.6, label="median round")
    ax.errorbar(x, med, yerr=[med - q1, q3 - med], fmt="none", ecolor="k", capsize=4,
                label="quartiles")
    ax.plot(x, rel.min(axis=0), "o", color="k", ms=4, label="fastest round")
    ax.plot(x, [r["n_params"] / base["n_params"] for r in rows], "_", color="0.4", ms=16,
            mew=2, label="parameters (multiply-adds)")
    ax.set_yscale("log")                 # a loaded machine's slow rounds span decades
    ax.set_ylim(0.5, max(4 * rel.max(), 10))
    ax.legend(fontsize=TEXT, loc="upper left", ncol=2, frameon=False)
    ax2.bar(x, [r["bytes"] / base["bytes"] for r in rows], color="tab:orange")
    for a, what in ((ax, "wall time"), (ax2, "peak memory")):
        a.set_xticks(x, labels)
        label_axes(a, "model", f"{what} / one unidirectional layer")
    fast = [rel[:, c].min() for c, r in enumerate(rows) if r["model"] == "unidirectional"]
    finding = ("the fastest round grows with every layer" if all(b > a for a, b in
               zip(fast, fast[1:])) else "against depth and direction")
    ax.set_title(f"Forward + BPTT wall time, T = {cost['T']}, {len(times)} interleaved rounds:\n"
                 f"{finding} (times vary from run to run)", fontsize=TEXT,
                 pad=10)                                  # clear of a decade's tick label
    mem = [r["bytes"] for r in rows if r["model"] == "unidirectional"]
    grows = all(b > a for a, b in zip(mem, mem[1:]))
    ax2.set_title("Peak memory (tracemalloc) " + ("grows with every layer added" if grows else
                  "against depth and direction"), fontsize=TEXT)
    return fig
