"""The cell explorer of notebook 05: gradient norm through C and h for every cell.

See rnn_core.widgets.base for what every explorer shares."""
import ipywidgets as W

from ..experiments import gates as ex
from ..plots import gates as pg
from ..validate import check_choice, check_int
from .base import DPI, check_range, FigureWidget

FORGET_BIAS_RANGE = (-2.0, 8.0)


class CellExplorer(FigureWidget):
    """The cell explorer of notebook 05 (see `cell_explorer`)."""

    def __init__(self, cell=None, T=None, rho=None, forget_bias=None, input_scale=None, H=None,
                 seed=None):
        d = ex.DEFAULTS
        cell = d["cell"] if cell is None else cell
        check_choice("cell", cell, tuple(ex.EXPLORER_CELLS))
        rho = check_range("rho", d["rho"] if rho is None else rho, 0.0, 2.0)
        forget_bias = check_range("forget_bias", d["forget_bias"] if forget_bias is None
                                  else forget_bias, *FORGET_BIAS_RANGE)
        input_scale = check_range("input_scale", d["input_scale"] if input_scale is None
                                  else input_scale, 0.01, 10.0)
        self.H = check_int("H", d["H"] if H is None else H, low=1)
        self.seed = check_int("seed", d["seed"] if seed is None else seed, low=0)
        step = float(ex.EXPLORER_RHOS[1] - ex.EXPLORER_RHOS[0])
        if abs(rho / step - round(rho / step)) > 1e-9:
            raise ValueError(f"rho: expected a multiple of {step:g} in [0, 2] (the slider's "
                             f"grid), received {rho:g}")
        self.last_data = None
        style = {"description_width": "initial"}
        controls = {
            "cell": W.Dropdown(options=tuple(ex.EXPLORER_CELLS), value=cell, description="cell",
                               style=style),
            "T": W.IntSlider(value=check_int("T", d["T"] if T is None else T, low=1, high=1000),
                             min=1, max=1000, step=1, description="T",
                             continuous_update=False, style=style),
            "rho": W.FloatSlider(value=rho, min=0.0, max=2.0, step=step, description="rho",
                                 continuous_update=False, readout_format=".1f", style=style),
            "forget bias": W.FloatSlider(value=forget_bias, min=FORGET_BIAS_RANGE[0],
                                         max=FORGET_BIAS_RANGE[1], step=0.5,
                                         description="forget bias (LSTM)",
                                         continuous_update=False, readout_format=".1f",
                                         style=style),
            "input scale": W.FloatLogSlider(value=input_scale, base=10, min=-2, max=1,
                                            step=0.1, description="input scale",
                                            continuous_update=False, readout_format=".2g",
                                            style=style),
        }
        self.art = pg.cell_explorer_artists()
        super().__init__(controls, int(pg.CELL_EXPLORER_SIZE[1] * DPI) + 4)
        self._sync_enabled()
        self.render()

    def _sync_enabled(self):
        """The forget bias acts on the LSTM only: its slider is disabled for the other cells."""
        self.controls["forget bias"].disabled = ex.EXPLORER_CELLS[self.controls["cell"].value][0] != "lstm"

    def _on_change(self, change):
        self._sync_enabled()
        self.render()

    def settings(self):
        """The keyword arguments of experiments.gates.explorer_data for the current controls."""
        c = self.controls
        step = float(ex.EXPLORER_RHOS[1] - ex.EXPLORER_RHOS[0])
        return dict(cell=c["cell"].value, T=int(c["T"].value),
                    rho=round(float(c["rho"].value) / step) * step,
                    forget_bias=float(c["forget bias"].value),
                    input_scale=float(c["input scale"].value), H=self.H, seed=self.seed)

    def _draw(self):
        data = ex.explorer_data(**self.settings())
        self.last_data = data
        return self.art["fig"], pg.update_cell_explorer(self.art, data)


def cell_explorer(cell=None, T=None, rho=None, forget_bias=None, input_scale=None, H=None,
                  seed=None):
    """The notebook-05 explorer: gradient norm through h (and the LSTM's C) against lag at one
    rho, and at the full lag against rho, next to the tanh RNN with the same settings.

    Controls: "cell" (rnn (tanh), lstm, gru (sources), gru (cudnn)), "T" (1..1000), "rho"
    (0..2 in steps of 0.2: every recurrent block has this spectral radius), "forget bias"
    (the LSTM's b_f, -2..8; disabled for the other cells), "input scale" (0.01..10, log
    slider). Arguments left None take experiments.gates.DEFAULTS. Each change runs
    experiments.gates.explorer_data and redraws with plots.gates.update_cell_explorer.
    Returns a CellExplorer; `.last_data` is the data on screen. Displayed like
    widgets.vanishing.explorer (the live widget, and a static PNG where no kernel runs).
    """
    return CellExplorer(cell, T, rho, forget_bias, input_scale, H, seed)
