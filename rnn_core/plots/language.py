"""Figures of notebook 08: learning curves in bits per character, the seq2seq error by
position, and the sampler's view (next-character probabilities and the sampled text)."""
import textwrap

import numpy as np

from .common import TEXT, TITLE, WIDTH, label_axes, new_figure

BASELINE_STYLES = ("dotted", "dashdot", "dashed", (0, (6, 2, 1, 2, 1, 2)), "solid")
SAMPLER_SIZE = (WIDTH, 3.4)


def bpc_curves_figure(curves, baselines, title, fig=None):
    """Validation bits per character against updates, one line per run, with the
    count-table baselines as horizontal lines.

    curves: {label: (updates (K,), bpc (K,))}; baselines: {name: bpc}.
    """
    fig = new_figure(fig, (WIDTH, 3.8), layout="constrained")
    ax = fig.add_subplot()
    for label, (steps, bpc) in curves.items():
        ax.plot(steps, bpc, marker="o", ms=3, label=label)
    values = [float(v) for _, b in curves.values() for v in b] + list(baselines.values())
    lo, top = min(values), max(values)
    for (name, value), ls in zip(baselines.items(), BASELINE_STYLES):
        ax.axhline(value, color="0.4", ls=ls, lw=1, label=f"table: {name} ({value:.2f})")
    ax.set_ylim(lo - 0.1, min(top, 5.0) + 0.1)
    label_axes(ax, "updates", "validation bits per character")
    ax.set_title(title, fontsize=TITLE)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=TEXT, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return fig


def exposure_bias_figure(errors, title, fig=None):
    """Token error rate against output position: teacher-forced and free-running.

    errors: {"teacher forced": (S,), "free running": (S,)} fractions of wrong tokens.
    """
    fig = new_figure(fig, (WIDTH * 0.65, 3.8), layout="constrained")
    ax = fig.add_subplot()
    for mode, marker in (("teacher forced", "o"), ("free running", "s")):
        e = np.asarray(errors[mode])
        ax.plot(np.arange(1, len(e) + 1), 100 * e, marker=marker, label=mode)
    label_axes(ax, "output position t (1 = first token written)", "tokens wrong (%)")
    ax.set_xticks(np.arange(1, len(e) + 1))
    ax.set_ylim(bottom=0)
    ax.set_title(title, fontsize=TITLE)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=TEXT)
    return fig


def sampler_figure(view, fig=None):
    """The sampler: the next-character probabilities after the prime at this temperature
    (the most probable ones above 0, as bars; the character drawn first in orange), and the
    text drawn (wrapped, monospace).

    view: experiments.sampling.sampling_view's dict.
    """
    fig = new_figure(fig, SAMPLER_SIZE, layout="constrained")
    ax, tx = fig.subplots(1, 2, width_ratios=(1, 2.6))
    chars, probs = view["top_chars"], view["top_probs"]
    slots = max(len(chars), 10)                  # bars keep their height and start at the top
    y = slots - 1 - np.arange(len(chars))
    drawn = chars.index(view["first"])
    colors = ["tab:blue"] * len(chars)
    colors[drawn] = "tab:orange"
    ax.barh(y, probs, color=colors)
    ax.set_yticks(y, [char_label(c) for c in chars], fontsize=TEXT, family="monospace")
    ax.set_ylim(-0.6, slots - 0.4)
    ax.set_xlim(0, 1)
    inside = probs[drawn] > 0.55                 # a long bar holds its label
    ax.annotate(f"drawn first, p = {view['first_prob']:.2f}", (probs[drawn], y[drawn]),
                xytext=(-4 if inside else 4, 0), textcoords="offset points", va="center",
                ha="right" if inside else "left", fontsize=TEXT,
                color="white" if inside else "tab:orange", annotation_clip=False)
    label_axes(ax, "probability after the prime", "next character")
    t = view["temperature"]
    ax.set_title(f"next character, temperature {t:g}", fontsize=TITLE)
    tx.axis("off")
    body = "\n".join(textwrap.fill(line, 64, replace_whitespace=False, drop_whitespace=False)
                     or " " for line in (view["prime"] + "|" + view["text"]).split("\n"))
    lines = body.split("\n")[:18]
    tx.text(0.0, 1.0, "\n".join(lines), family="monospace", fontsize=TEXT, va="top",
            ha="left", transform=tx.transAxes)
    kind = "argmax at every step (deterministic)" if t == 0 else f"drawn at temperature {t:g}"
    fig.suptitle(f"{view['length']} characters {kind}; '|' marks the end of the prime",
                 fontsize=TITLE)
    return fig


def char_label(c):
    """A character as a bar label: 'space', '\\n' for a newline, else itself."""
    return "space" if c == " " else repr(c)[1:-1]
