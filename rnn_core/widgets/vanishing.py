"""The explorers of notebooks 03 (gradient norm against lag and rho) and 04 (pre-activations).

See rnn_core.widgets.base for what every explorer shares."""
import ipywidgets as W

from .. import experiments, plots
from ..validate import check_choice, check_int
from .base import DPI, check_range, FigureWidget

EXPLORER_ACTIVATIONS = ("sigmoid", "tanh", "relu", "linear")
EXPLORER_FAMILIES = ("orthogonal", "gaussian", "nonnormal")


class Explorer(FigureWidget):
    """The gradient-norm explorer of notebook 03 (see `explorer`)."""

    def __init__(self, T=None, activation=None, family=None, input_scale=None, H=None,
                 seed=None):
        d = experiments.vanishing.DEFAULTS
        T = d["T"] if T is None else T
        activation = d["activation"] if activation is None else activation
        family = d["family"] if family is None else family
        input_scale = d["input_scale"] if input_scale is None else input_scale
        check_choice("activation", activation, EXPLORER_ACTIVATIONS)
        check_choice("family", family, EXPLORER_FAMILIES)
        check_range("input_scale", input_scale, 0.01, 10.0)   # the slider would clamp it
        self.H = check_int("H", d["H"] if H is None else H, low=1)
        self.seed = check_int("seed", d["seed"] if seed is None else seed, low=0)
        self.last_sweep = None
        style = {"description_width": "initial"}
        controls = {
            "T": W.IntSlider(value=check_int("T", T, low=1, high=1000), min=1, max=1000,
                             step=1, description="T", continuous_update=False, style=style),
            "activation": W.Dropdown(options=EXPLORER_ACTIVATIONS, value=activation,
                                     description="activation", style=style),
            "W_h family": W.Dropdown(options=EXPLORER_FAMILIES, value=family,
                                     description="W_h family", style=style),
            "input scale": W.FloatLogSlider(value=float(input_scale), base=10, min=-2, max=1,
                                            step=0.1, description="input scale",
                                            continuous_update=False, readout_format=".2g",
                                            style=style),
        }
        self.art = plots.explorer.explorer_artists()
        super().__init__(controls, int(plots.explorer.EXPLORER_SIZE[1] * DPI) + 4)
        self.render()

    def settings(self):
        """The keyword arguments of experiments.vanishing.explorer_sweep for the controls."""
        c = self.controls
        return dict(T=int(c["T"].value), activation=c["activation"].value,
                    family=c["W_h family"].value, input_scale=float(c["input scale"].value),
                    H=self.H, seed=self.seed)

    def _draw(self):
        sweep = experiments.vanishing.explorer_sweep(**self.settings())
        self.last_sweep = sweep
        return self.art["fig"], plots.explorer.update_explorer(self.art, sweep)


def explorer(T=None, activation=None, family=None, input_scale=None, H=None, seed=None):
    """The notebook-03 explorer: gradient norm against lag and rho, and the spectrum of W_h.

    Controls: "T" (1..1000), "activation" (sigmoid, tanh, relu, linear), "W_h family"
    (orthogonal, gaussian, nonnormal), "input scale" (0.01..10, log slider). Arguments left
    None take experiments.vanishing.DEFAULTS. Each change runs
    experiments.vanishing.explorer_sweep and redraws with plots.explorer.update_explorer.
    Returns an Explorer; `.last_sweep` is the Sweep on screen.

    In a notebook, make it the last line of its cell: the cell then shows the live widget
    where a kernel runs and one static figure where none does (see the module docstring).
    """
    return Explorer(T, activation, family, input_scale, H, seed)


class ActivationExplorer(FigureWidget):
    """The pre-activation explorer of notebook 04 (see `activation_explorer`)."""

    def __init__(self, activation="tanh", mean=0.0, spread=1.0, n=20000, seed=0):
        check_choice("activation", activation, EXPLORER_ACTIVATIONS)
        check_range("mean", mean, -6.0, 6.0)
        check_range("spread", spread, 0.01, 10 ** 1.3)
        self.n = check_int("n", n, low=2)
        self.seed = check_int("seed", seed, low=0)
        self.last_stats = None
        style = {"description_width": "initial"}
        controls = {
            "activation": W.Dropdown(options=EXPLORER_ACTIVATIONS, value=activation,
                                     description="activation", style=style),
            "mean": W.FloatSlider(value=float(mean), min=-6.0, max=6.0, step=0.1,
                                  description="mean of a", continuous_update=False,
                                  style=style),
            "spread": W.FloatLogSlider(value=float(spread), base=10, min=-2, max=1.3,
                                       step=0.05, description="spread (std) of a",
                                       continuous_update=False, readout_format=".2g",
                                       style=style),
        }
        self.fig = None
        super().__init__(controls, int(plots.common.PREACTIVATION_SIZE[1] * DPI) + 4)
        self.render()

    def _draw(self):
        c = self.controls
        stats = experiments.derivatives.preactivation_stats(
            c["activation"].value, c["mean"].value, c["spread"].value, n=self.n, seed=self.seed)
        self.fig = plots.derivatives.preactivation_figure(stats, fig=self.fig)
        self.last_stats = stats
        return self.fig, None


def activation_explorer(activation="tanh", mean=0.0, spread=1.0, n=20000, seed=0):
    """The notebook-04 explorer: pre-activations a ~ N(mean, spread^2), f'(a), mean |f'|.

    Controls: "activation", "mean" and "spread". Each change recomputes
    experiments.derivatives.preactivation_stats and redraws plots.derivatives.preactivation_figure.
    Returns an ActivationExplorer; `.last_stats` is the dict on screen. Displayed like
    `explorer` (one figure per place).
    """
    return ActivationExplorer(activation, mean, spread, n, seed)
