"""The explorers of notebook 07: the cliff (learning rate and clipping threshold).

See rnn_core.widgets.base for what every explorer shares. The error surface is computed
once per explorer; a change of a control recomputes only the trajectories (two runs of
experiments.cliff.cliff_trajectories) and redraws their lines (plots.remedies.update_cliff).
"""
import ipywidgets as W

from .. import plots
from ..experiments import cliff as ex
from ..validate import check_int
from .base import DPI, check_range, FigureWidget

LR_RANGE = (0.01, 10.0)          # the log sliders' ranges
CLIP_RANGE = (0.01, 10.0)


class CliffExplorer(FigureWidget):
    """The cliff explorer of notebook 07 (see `cliff_explorer`)."""

    def __init__(self, lr=0.3, clip=1.0, steps=30):
        check_range("lr", lr, *LR_RANGE)                # the sliders would clamp them
        check_range("clip", clip, *CLIP_RANGE)
        self.steps = check_int("steps", steps, low=1, high=500)
        self.last_runs = None
        style = {"description_width": "initial"}
        controls = {
            "learning rate": W.FloatLogSlider(value=float(lr), base=10, min=-2, max=1,
                                              step=0.05, description="learning rate",
                                              continuous_update=False, readout_format=".3g",
                                              style=style),
            "clipping threshold": W.FloatLogSlider(value=float(clip), base=10, min=-2, max=1,
                                                   step=0.05, description="clipping threshold c",
                                                   continuous_update=False,
                                                   readout_format=".3g", style=style),
        }
        self.surface = ex.cliff_surface()                   # once: the costly part
        self.art = plots.remedies.cliff_artists(self.surface, len(ex.CLIFF_STARTS))
        super().__init__(controls, int(plots.remedies.CLIFF_SIZE[1] * DPI) + 4)
        self.render()

    def settings(self):
        """The learning rate and the clipping threshold on the controls."""
        c = self.controls
        return {"lr": float(c["learning rate"].value),
                "clip": float(c["clipping threshold"].value)}

    def _draw(self):
        s = self.settings()
        noclip, clip = ex.cliff_pair(lr=s["lr"], clip=s["clip"], steps=self.steps)
        self.last_runs = (noclip, clip)
        plots.remedies.update_cliff(self.art, noclip, clip)
        return self.art["fig"], None


def cliff_explorer(lr=0.3, clip=1.0, steps=30):
    """The notebook-07 explorer: gradient descent on the cliff model from points near the
    cliff, without clipping (red dashes) and clipped at the threshold (white, edged in
    black), on the error surface, and the loss per step.

    Controls: "learning rate" and "clipping threshold" (log sliders, 0.01..10). Each change
    runs experiments.cliff.cliff_pair (both runs in one batch) and redraws with
    plots.remedies.update_cliff. Returns a CliffExplorer; `.last_runs` is the pair on screen.
    Displayed like the other explorers (the live widget, and a static figure where no
    kernel runs).
    """
    return CliffExplorer(lr, clip, steps)
