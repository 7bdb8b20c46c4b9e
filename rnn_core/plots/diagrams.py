"""Diagrams drawn with matplotlib (notebook 01's unrolled network)."""


from .common import TEXT, TITLE, new_figure


def unrolled_figure(T=4, fig=None):
    """The Elman RNN unrolled over T steps: x_t -> h_t -> y_t, with h_{t-1} -> h_t (W_h)."""
    fig = new_figure(fig, (7.0, 3.0), layout="constrained")
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
