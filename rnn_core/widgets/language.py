"""The sampler of notebook 08: temperature and prime text -> next-character probabilities
and a sample from a trained character language model."""
import html

import ipywidgets as W

from .. import plots
from ..experiments import sampling
from ..validate import check_int
from .base import DPI, check_range, FigureWidget

MAX_TEMPERATURE = 2.0


class Sampler(FigureWidget):
    """The sampler of notebook 08 (see `sampler`)."""

    def __init__(self, cell, params, chars, prime="\n", temperature=1.0, length=300, seed=0):
        self.cell, self.params, self.chars = cell, params, list(chars)
        check_range("temperature", temperature, 0.0, MAX_TEMPERATURE)
        sampling.check_prime(prime, {c: i for i, c in enumerate(self.chars)})
        self.length = check_int("length", length, low=1, high=2000)
        self.seed = check_int("seed", seed, low=0)
        self.last_view = None
        style = {"description_width": "initial"}
        controls = {
            "temperature": W.FloatSlider(value=float(temperature), min=0.0,
                                         max=MAX_TEMPERATURE, step=0.05,
                                         description="temperature", continuous_update=False,
                                         style=style),
            "prime": W.Text(value=prime, description="prime text", continuous_update=False,
                            style=style),
        }
        self.fig = None
        super().__init__(controls, int(plots.language.SAMPLER_SIZE[1] * DPI) + 4)
        self.render()

    def render(self):
        """Redraw; a prime the model cannot read shows one short message, not a traceback."""
        try:
            sampling.check_prime(self.controls["prime"].value,
                                 {c: i for i, c in enumerate(self.chars)})
        except ValueError as e:
            self.n_errors += 1
            self.last_error = (f"{e}. The model has an input only for the {len(self.chars)} "
                               "characters of its training text.")
            self.image.value = ("<p style='color:#b00'>" + html.escape(self.last_error) + "</p>")
            return
        super().render()

    def _draw(self):
        c = self.controls
        view = sampling.sampling_view(self.cell, self.params, self.chars, c["prime"].value,
                                      c["temperature"].value, self.length, self.seed)
        self.fig = plots.language.sampler_figure(view, fig=self.fig)
        self.last_view = view
        return self.fig, None


def sampler(cell, params, chars, prime="\n", temperature=1.0, length=300, seed=0):
    """The notebook-08 sampler of a trained LM (experiments.language.train_lm's params).

    Controls: "temperature" (0 to 2; 0 is argmax) and "prime" (text of the vocabulary the
    model reads first). Each change recomputes experiments.sampling.sampling_view and
    redraws plots.language.sampler_figure; a prime with a character outside the vocabulary
    shows one line saying which, in place of the figure. `.last_view` is the dict on screen.
    """
    return Sampler(cell, params, chars, prime, temperature, length, seed)
