"""Figures of notebook 05: LSTM and GRU gradient flow, connectivity, success against length.

The cell explorer has its pair, as notebook 03's: cell_explorer_artists (once) and
update_cell_explorer (per change), with a fixed layout so that render.PixelCache may keep
the pixels of the key while the cell stays the same.
"""
import numpy as np
from matplotlib.ticker import FixedLocator, MaxNLocator, NullLocator

from .common import TEXT, TITLE, WIDTH, at_floor, label_axes, new_figure, finite_ylim

CELL_NAMES = {"rnn": "tanh RNN", "lstm": "LSTM", "gru": "GRU"}
COLORS = {"h": "tab:blue", "c": "tab:orange", "ref": "0.45"}

# ----------------------------------------------------------------------------------------
# The cell explorer
# ----------------------------------------------------------------------------------------

CELL_EXPLORER_SIZE = (9.6, 4.3)
_PANELS = {"a": (0.85, 1.25, 3.6, 2.3), "b": (5.65, 1.25, 3.6, 2.3),
           "key": (0.3, 0.02, 9.2, 0.5)}
_YLABEL_AT = 0.62
_XLABEL_AT = 0.27
_TITLE_Y = 1.02
_ROW = 0.21
# Panel (b): an exactly-zero gradient is a triangle at the bottom, each series's shifted
# sideways so that two at one rho stay visible; and the tanh RNN may fall below the panel
# when it would take more than BELOW decades under the chosen cell's lowest value.
_DODGE = {"h": -0.045, "c": 0.0, "ref": 0.045}
BELOW = 45.0


def _axes(fig, rect):
    W, H = CELL_EXPLORER_SIZE
    l, b, w, h = rect
    return fig.add_axes([l / W, b / H, w / W, h / H])


def _cell_label(sweep):
    if sweep.cell == "gru":
        return f"GRU ({sweep.form})"
    return CELL_NAMES[sweep.cell]


def cell_explorer_artists(fig=None):
    """The cell explorer's axes and artists, empty: a dict of handles for update_cell_explorer."""
    fig = new_figure(fig, CELL_EXPLORER_SIZE)
    ax_a, ax_b = _axes(fig, _PANELS["a"]), _axes(fig, _PANELS["b"])
    art = dict(fig=fig, ax_a=ax_a, ax_b=ax_b, key_for=None)
    for name, ax in (("a", ax_a), ("b", ax_b)):
        art[name + "_ref"], = ax.plot([], [], color=COLORS["ref"], lw=1.2, zorder=2)
        art[name + "_h"], = ax.plot([], [], color=COLORS["h"], lw=1.6, zorder=3)
        art[name + "_c"], = ax.plot([], [], color=COLORS["c"], lw=1.6, ls="--", zorder=4)
    for s in ("ref", "h", "c"):
        art["b_dots_" + s], = ax_b.plot([], [], "o", ms=3.5, color=COLORS[s], zorder=5)
        art["b_zero_" + s], = ax_b.plot([], [], "v", ms=6, color=COLORS[s], zorder=6)
    art["b_rho"] = ax_b.axvline(1.0, color="k", lw=0.8, ls=":")
    W, H = CELL_EXPLORER_SIZE
    l, b, w, h = _PANELS["key"]
    key = fig.add_axes([l / W, b / H, w / W, h / H])
    key.set_axis_off()
    key.set_xlim(0, w)
    key.set_ylim(h, 0)
    rows = []
    for i, (x, style) in enumerate(((0.0, dict(color=COLORS["h"], lw=1.6)),
                                     (3.1, dict(color=COLORS["c"], lw=1.6, ls="--")),
                                     (6.2, dict(color=COLORS["ref"], lw=1.2)),
                                     (0.0, None),
                                     (3.1, dict(color="k", lw=0.8, ls=":")))):
        y = (i // 3 + 0.5) * _ROW
        if style is None:       # the exactly-zero triangles, one per series in its colour
            handle = tuple(key.plot([x + 0.05 + 0.11 * j], [y], marker="v", ms=6, ls="none",
                                    color=COLORS[s])[0] for j, s in enumerate(("h", "c", "ref")))
        else:
            handle = key.plot([x + 0.02, x + 0.3], [y, y], **style)[0]
        rows.append((handle, key.text(x + 0.38, y, "", va="center", ha="left", fontsize=TEXT)))
    art["key"] = dict(ax=key, rows=rows)
    pl, pb, pw, _ = _PANELS["b"]      # under panel (b)'s x label, outside the key's kept pixels
    art["b_below"] = fig.text((pl + pw / 2) / W, (b + h) / H + 0.01, "", ha="center",
                              va="bottom", fontsize=TEXT, color=COLORS["ref"])
    ax_a.set_xlabel("lag l = T - k (steps)")
    ax_a.set_ylabel("log10 gradient norm")
    ax_b.set_xlabel("rho of every recurrent block")
    ax_b.set_ylabel("log10 norm at lag T")
    for ax, name in ((ax_a, "a"), (ax_b, "b")):
        ax.tick_params(labelsize=TEXT)
        ax.xaxis.label.set_size(TEXT)
        ax.yaxis.label.set_size(TEXT)
        ax.yaxis.set_label_coords(-_YLABEL_AT / _PANELS[name][2], 0.5)
        ax.xaxis.set_label_coords(0.5, -_XLABEL_AT / _PANELS[name][3])
        ax.xaxis.set_major_locator(MaxNLocator(4, integer=True) if ax is ax_a
                                   else FixedLocator([0.0, 0.5, 1.0, 1.5, 2.0]))
        ax.yaxis.set_major_locator(MaxNLocator(4))
    return art


def _masked(values):
    v = np.array(values, dtype=float)
    return np.where(at_floor(v), np.nan, v)


def _decades(v):
    """'10^-41' or '10^-0.7' for a log10 value (NaN: 'exactly 0')."""
    if not np.isfinite(v):
        return "exactly 0"
    return f"10^{v:.1f}" if abs(v) < 9.95 else f"10^{v:.0f}"


def update_cell_explorer(art, data):
    """Put experiments.gates.explorer_data's result into the artists of cell_explorer_artists.

    (a) log10 ||dL/dh_k|| (and ||dL/dC_k|| for the LSTM) against lag at the chosen rho, with
    the tanh RNN of the same settings; (b) the same at the full lag T against rho.
    Returns (key, artists) for render.PixelCache: the key's pixels depend on the cell only.
    """
    s, ref, k = data["sweep"], data["reference"], data["rho_index"]
    ax_a, ax_b = art["ax_a"], art["ax_b"]
    lags, T, rhos = np.asarray(s.lags), int(s.T), np.asarray(s.rhos, float)
    lstm = s.cell == "lstm"
    series = {"h": _masked(s.log10_norm_h)}
    if lstm:
        c = _masked(s.log10_norm_c)
        c[:, 0] = np.nan                       # dL/dC_T = 0: the loss reads h_T only
        series["c"] = c
    if ref is not None:
        series["ref"] = _masked(ref.log10_norm)
    raw = {"h": np.asarray(s.log10_norm_h), "c": None if not lstm else np.asarray(s.log10_norm_c),
           "ref": None if ref is None else np.asarray(ref.log10_norm)}
    shown_a = []
    for name in ("h", "c", "ref"):
        on = name in series
        art["a_" + name].set_visible(on)
        art["b_" + name].set_visible(on)
        art["b_dots_" + name].set_visible(on)
        art["b_zero_" + name].set_visible(on)
        if not on:
            continue
        art["a_" + name].set_data(lags, series[name][k])
        shown_a.append(series[name][k])
    lo, hi = finite_ylim(np.concatenate(shown_a))
    ax_a.set_xlim(0, max(T, 1))
    ax_a.set_ylim(lo, hi)
    ends = {name: v[:, -1] for name, v in series.items()}
    blo, bhi = finite_ylim(np.concatenate(list(ends.values())))
    below = ""
    own = np.concatenate([ends[n] for n in ("h", "c") if n in ends])
    if ref is not None and np.isfinite(own).any():
        floor = float(np.nanmin(own)) - BELOW
        ref_end = np.where(np.isfinite(ends["ref"]), ends["ref"], np.inf)
        if ref_end.min() < floor:            # the tanh RNN would flatten the chosen cell's curve
            blo, bhi = finite_ylim(np.concatenate([own, ref_end[ref_end >= floor], [floor]]))
            lowest = int(np.argmin(ref_end))
            below = (f"the tanh RNN leaves the panel: down to {_decades(ref_end[lowest])} "
                     f"at rho = {rhos[lowest]:g}")
    art["b_below"].set_text(below)
    for name, end in ends.items():
        art["b_" + name].set_data(rhos, end)
        art["b_dots_" + name].set_data(rhos, end)
        zero = at_floor(raw[name][:, -1])
        art["b_zero_" + name].set_data(rhos[zero] + _DODGE[name],
                                       np.full(zero.sum(), blo + 0.04 * (bhi - blo)))
    art["b_rho"].set_xdata([rhos[k], rhos[k]])
    ax_b.set_xlim(rhos.min() - 0.1, rhos.max() + 0.1)           # room for the dodged triangles
    ax_b.set_ylim(blo, bhi)
    label = _cell_label(s)
    main = ends["c"][k] if lstm else ends["h"][k]
    path = "through C" if lstm else "through h"
    tail = f", tanh RNN {_decades(ends['ref'][k])}" if ref is not None else ""
    ax_a.set_title(f"(a) rho = {rhos[k]:g}: after {T} step{'s' if T != 1 else ''} {label}\n{path} "
                   f"{_decades(main)}{tail}", fontsize=TITLE, y=_TITLE_Y)
    alive = int(np.sum(np.nan_to_num(ends["c" if lstm else "h"], nan=-np.inf) > -10))
    ax_b.set_title(f"(b) At lag T = {T}: {path} above 1e-10\nat {alive} of "
                   f"{rhos.size} rho", fontsize=TITLE, y=_TITLE_Y)
    extra = f", forget bias {s.forget_bias:g}" if lstm else ""
    art["fig"].suptitle(f"{label}{extra}, H = {s.H}, input scale {s.input_scale:g}, "
                        f"loss at step T = {T}", fontsize=TITLE + 1)
    key = (label, ref is not None)
    if art["key_for"] != key:
        texts = [f"{label}: ||dL/dh_k||", "LSTM: ||dL/dC_k|| (the carousel)",
                 "tanh RNN: ||dL/dh_k||", "exactly 0 (bottom of b)",
                 "the chosen rho (panel b)"]
        for (handle, text), t, on in zip(art["key"]["rows"], texts,
                                          (True, lstm, ref is not None, True, True)):
            if isinstance(handle, tuple):
                for marker, s_on in zip(handle, (True, lstm, ref is not None)):
                    marker.set_visible(s_on)
            else:
                handle.set_visible(on)
            text.set_visible(on)
            text.set_text(t)
        art["key_for"] = key
    return key, (art["key"]["ax"],)


def cell_explorer_figure(data, fig=None):
    """The cell explorer's figure for one explorer_data result (a new or cleared figure)."""
    art = cell_explorer_artists(fig)
    update_cell_explorer(art, data)
    return art["fig"]


# ----------------------------------------------------------------------------------------
# The LSTM: forget bias, the 1997 cell
# ----------------------------------------------------------------------------------------

def forget_bias_figure(rows):
    """experiments.gates.forget_bias_curves: (a) log10 ||dL/dC_k|| against lag per variant;
    (b) the mean |C_t| against t (log scale): the 1997 cell's state integrates."""
    fig = new_figure(None, (WIDTH, 4.0), layout="constrained")
    ax_a, ax_b = fig.subplots(1, 2)
    colors = ["tab:red", "tab:orange", "tab:green", "tab:blue", "k"]
    for r, col in zip(rows, colors):
        ls = ":" if r["forget_bias"] is None else "-"
        ax_a.plot(r["lags"], r["log10_c"], color=col, ls=ls, lw=1.5, label=r["label"])
        ax_b.plot(np.arange(1, r["T"] + 1), r["abs_c"], color=col, ls=ls, lw=1.5)
    T = rows[0]["T"]
    label_axes(ax_a, "lag l = T - k (steps)", "log10 ||dL/dC_k||")
    label_axes(ax_b, "step t", "mean |C_t| (log scale)")
    ax_b.set_yscale("log")
    ax_b.yaxis.set_minor_locator(NullLocator())      # minor ticks: hundreds of artists, no labels
    ax_a.set_title(f"(a) The forget bias sets the carousel's decay\n(rho = {rows[0]['rho']:g}, "
                   f"H = {rows[0]['H']}, T = {T})", fontsize=TITLE)
    ax_b.set_title("(b) Without a forget gate the cell state\nintegrates its inputs",
                   fontsize=TITLE)
    ax_a.legend(fontsize=TEXT, loc="lower left")
    return fig


# ----------------------------------------------------------------------------------------
# The GRU: the sigmoid candidate
# ----------------------------------------------------------------------------------------

def candidate_figure(data):
    """experiments.gates.sigmoid_candidate: the mean state and its 5-95 % band per step,
    with the tanh candidate and with eq 2.9's sigmoid."""
    fig = new_figure(None, (WIDTH, 3.6), layout="constrained")
    ax = fig.subplots()
    for g, col in (("tanh", "tab:blue"), ("sigmoid", "tab:red")):
        d = data[g]
        t = np.arange(1, d["T"] + 1)
        ax.fill_between(t, d["lo_t"], d["hi_t"], color=col, alpha=0.2, lw=0)
        ax.plot(t, d["mean_t"], color=col, lw=1.5, label=f"candidate {g}: mean and 5-95 % band")
    ax.axhline(0.0, color="k", lw=0.8)
    label_axes(ax, "step t", "GRU state h_t (all units)")
    ax.set_title("With eq 2.9's sigmoid candidate the state can never go negative",
                 fontsize=TITLE)
    ax.legend(fontsize=TEXT, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2,
              frameon=False)
    return fig


# ----------------------------------------------------------------------------------------
# Where memory lives
# ----------------------------------------------------------------------------------------

def connectivity_figure(data):
    """experiments.gates.connectivity_map as a heat map: one row per cell, log10 ||dh_T/dx_t||."""
    fig = new_figure(None, (WIDTH, 3.4), layout="constrained")
    ax = fig.subplots()
    v = _masked(data["log10"])
    T = data["T"]
    im = ax.imshow(v, aspect="auto", cmap="viridis", interpolation="nearest",
                   extent=(-0.5, T - 0.5, len(v) - 0.5, -0.5))
    ax.set_yticks(range(len(v)), data["labels"])
    label_axes(ax, "input step t (the loss reads h_T at the last step)", "")
    cb = fig.colorbar(im, ax=ax, pad=0.01)
    cb.set_label("log10 ||dh_T / dx_t||", fontsize=TEXT)
    cb.ax.tick_params(labelsize=TEXT)
    keep = sum(row[0] > -3 for row in data["log10"])
    ax.set_title(f"Where memory lives: h_T still depends on x_0 (above 1e-3) in {keep} of "
                 f"{len(v)} cells\n(untrained, seeded, rho = {data['rho']:g}, H = {data['H']})",
                 fontsize=TITLE)
    return fig


# ----------------------------------------------------------------------------------------
# Learning across a lag
# ----------------------------------------------------------------------------------------

LAG_COLORS = {"rnn": "tab:gray", "lstm": "tab:orange", "gru": "tab:blue"}


def lag_figure(results):
    """experiments.success_rates.lag_rates results, one panel per task: the success rate against
    the sequence length per cell, with its 95 % Wilson interval over seeds as error bars."""
    fig = new_figure(None, (WIDTH, 3.8), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(results)))
    for ax, res in zip(axes, results):
        for j, cell in enumerate(res["cells"]):
            rate = res["rate"][cell]
            lo, hi = res["interval"][cell]
            ax.errorbar(np.asarray(res["lengths"]) + (j - 1) * 0.4, rate,
                        yerr=np.vstack([rate - lo, hi - rate]),
                        marker="o", ms=4, capsize=3, lw=1.4, color=LAG_COLORS[cell],
                        label=f"{CELL_NAMES[cell]} (H = {res['H'][cell]}, "
                              f"{res['n_params'][cell]} params)")
        ax.set_ylim(-0.05, 1.05)
        label_axes(ax, "sequence length T", "success rate over seeds")
        runs = len(res["cells"]) * res["n_seeds"]
        wins = [sum(int(res["successes"][c][j]) for c in res["cells"]) for j in (0, -1)]
        ax.set_title(f"{res['title']}: {wins[0]}/{runs} runs learn at T = {res['lengths'][0]}, "
                     f"{wins[1]}/{runs} at T = {res['lengths'][-1]}\n(95 % Wilson intervals over "
                     f"{res['n_seeds']} seeds, {res['seeds'][0]} to {res['seeds'][-1]})",
                     fontsize=TITLE)
        ax.legend(fontsize=TEXT, loc="lower left")
    return fig
