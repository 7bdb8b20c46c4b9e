"""ipywidgets explorers for notebooks 03 and 04, drivable from tests without a browser.

Each builder returns an object with `.widget` (the ipywidgets box to display; the object
itself also displays as that box), `.controls` (a dict of the input widgets, keyed by
their descriptions), `.output` (an Output widget of fixed height, so the page does not
jump) and, for tests and benchmarks, `.last_png` (the PNG bytes on screen), `.n_renders`,
`.n_errors` and `.last_error` (the traceback text of the last failed update, or None).

How a change is drawn: an observer on every control recomputes with `gradflow` (or the
data functions in `figures`), redraws the figure in place with the Agg backend, encodes
it as PNG and replaces the Output widget's `outputs` in one assignment. JupyterLab's
output model re-renders whenever `outputs` changes, so the new image replaces the old
one without a blank frame, and the same bytes are visible to a test as
`output.outputs[0]["data"]["image/png"]`. A failing update is caught and its traceback
replaces the figure, so no error is silent (an exception in an observer would otherwise
go to the kernel log, which nobody reads).
"""
import base64
import io
import time
import traceback

import ipywidgets as W
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.transforms import Bbox
from PIL import Image

from . import experiments, gradflow, plots
from .experiments import explorer_rhos
from .validate import check_choice, check_int, check_positive

EXPLORER_ACTIVATIONS = ("sigmoid", "tanh", "relu", "linear")
EXPLORER_FAMILIES = ("orthogonal", "gaussian", "nonnormal")
DPI = 88


def png_bytes(fig, dpi=DPI, static=None):
    """Render a matplotlib figure with Agg and return PNG bytes (RGB, fast compression).

    static: optional (key, artists). Text is most of Agg's drawing time, so when `key`
    equals the one of the previous call on this figure, the pixels of `artists` (axes whose
    drawing depends only on key) are copied from that render instead of drawn again, and
    only the other artists are drawn. The result is the same image a full draw gives; if the
    static region would overlap another artist, every call draws in full.
    """
    if fig.dpi != dpi:
        fig.set_dpi(dpi)
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    cache = getattr(fig, "_rc_static_pixels", None)
    size = canvas.get_width_height()
    if static is not None and cache is not None and cache["key"] == static[0] \
            and cache["size"] == size and cache["region"] is not None:
        renderer = canvas.get_renderer()
        renderer.clear()
        fig.patch.draw(renderer)                   # the background first, as Figure.draw does
        for artist in sorted(cache["dynamic"], key=lambda a: a.get_zorder()):
            artist.draw(renderer)
        canvas.restore_region(cache["region"])
    else:
        canvas.draw()
        if static is not None:
            fig._rc_static_pixels = _static_region(fig, canvas, static, size)
    w, h = size
    img = Image.frombuffer("RGBA", (w, h), canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
    buf = io.BytesIO()
    img.convert("RGB").save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def _static_region(fig, canvas, static, size):
    """Save the pixels of the static artists after a full draw, unless that is unsafe."""
    key, artists = static
    renderer = canvas.get_renderer()
    boxes = [a.get_tightbbox(renderer) for a in artists]
    box = Bbox.union([b for b in boxes if b is not None]).padded(3)   # antialiased edges
    dynamic = [a for a in fig.get_children() if a not in artists and a is not fig.patch]
    region = canvas.copy_from_bbox(box)
    for a in dynamic:                      # another artist drawn inside the box: never reuse
        if not a.get_visible():
            continue
        other = a.get_tightbbox(renderer) if hasattr(a, "get_tightbbox") else None
        if other is not None and other.width > 0 and box.overlaps(other):
            region = None
    return {"key": key, "size": size, "region": region, "dynamic": dynamic}


def _check_range(name, value, low, high):
    """A real number within a slider's range (a slider would silently clamp it)."""
    value = check_positive(name, value, allow_zero=True) if low >= 0 else float(value)
    if not low <= value <= high:
        raise ValueError(f"{name}: expected a value in [{low:g}, {high:g}] (the slider's "
                         f"range), received {value:g}")
    return value


def _image_output(png, text):
    """One nbformat display_data output holding a PNG (base64) and a text fallback."""
    w, h = Image.open(io.BytesIO(png)).size
    return {"output_type": "display_data",
            "data": {"image/png": base64.b64encode(png).decode("ascii"), "text/plain": text},
            "metadata": {"image/png": {"width": w, "height": h}}}


class _FigureWidget:
    """Shared machinery: controls, a fixed-height Output, render-on-change, error capture."""

    def __init__(self, controls, height):
        self.controls = controls
        self.output = W.Output(layout=W.Layout(height=height, overflow="auto"))
        self.widget = W.VBox([W.HBox(list(controls.values()),
                                     layout=W.Layout(flex_flow="row wrap")), self.output])
        self.last_png = None
        self.n_renders = 0
        self.n_errors = 0
        self.last_error = None
        self.last_seconds = None
        self._fig = None
        for control in controls.values():
            control.observe(self._on_change, names="value")

    def _on_change(self, change):
        self.render()

    def render(self):
        """Recompute and redraw from the current control values; never raises."""
        start = time.perf_counter()
        try:
            fig, text, static = self._draw()
            png = png_bytes(fig, static=static)
        except Exception:  # shown in the output: a widget callback must not fail silently
            self.n_errors += 1
            self.last_error = traceback.format_exc()
            self._fig = None  # the half-updated figure is not trusted again
            self.output.outputs = ({"output_type": "stream", "name": "stderr",
                                    "text": "This setting could not be drawn:\n"
                                            + self.last_error},)
            return
        self._fig = fig
        self.last_png = png
        self.last_error = None
        self.n_renders += 1
        self.output.outputs = (_image_output(png, text),)
        self.last_seconds = time.perf_counter() - start

    def _draw(self):
        """Recompute and redraw: returns (figure, text fallback, static spec for png_bytes)."""
        raise NotImplementedError

    def _repr_mimebundle_(self, **kwargs):
        bundle = self.widget._repr_mimebundle_(**kwargs)
        # what a page without a kernel (GitHub, nbviewer) shows instead of the controls
        bundle["text/plain"] = (f"{type(self).__name__}: interactive controls and a figure; "
                                "run the notebook in JupyterLab to use it")
        return bundle


class Explorer(_FigureWidget):
    """The gradient-norm explorer of notebook 03 (see `explorer`)."""

    def __init__(self, T=200, activation="tanh", family="orthogonal", input_scale=1.0,
                 H=64, seed=0):
        check_choice("activation", activation, EXPLORER_ACTIVATIONS)
        check_choice("family", family, EXPLORER_FAMILIES)
        _check_range("input_scale", input_scale, 0.01, 10.0)   # the slider would clamp it
        self.H = check_int("H", H, low=1)
        self.seed = check_int("seed", seed, low=0)
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
        super().__init__(controls, height=f"{int(plots.EXPLORER_SIZE[1] * DPI) + 16}px")
        self.render()

    def settings(self):
        """The keyword arguments of gradflow.sweep for the current control values."""
        c = self.controls
        activation = c["activation"].value
        return dict(rhos=explorer_rhos(activation), H=self.H, T=int(c["T"].value),
                    activation=activation, family=c["W_h family"].value,
                    input_scale=float(c["input scale"].value), seed=self.seed)

    def _draw(self):
        sweep = gradflow.sweep(**self.settings())
        fig = plots.explorer_figure(sweep, fig=self._fig)
        self.last_sweep = sweep
        return fig, (f"<explorer: {sweep.activation}, {sweep.family}, T={sweep.T}, "
                     f"input scale {sweep.input_scale:g}>"), plots.explorer_static_parts(fig)


def explorer(T=200, activation="tanh", family="orthogonal", input_scale=1.0, H=64, seed=0):
    """The notebook-03 explorer: gradient norm against lag and rho, and the spectrum of W_h.

    Controls: "T" (1..1000), "activation" (sigmoid, tanh, relu, linear), "W_h family"
    (orthogonal, gaussian, nonnormal), "input scale" (0.01..10, log slider). Each change
    runs gradflow.sweep over `explorer_rhos(activation)` and redraws
    plots.explorer_figure. Returns an Explorer; `.last_sweep` is the Sweep on screen.
    """
    return Explorer(T, activation, family, input_scale, H, seed)


class ActivationExplorer(_FigureWidget):
    """The pre-activation explorer of notebook 04 (see `activation_explorer`)."""

    def __init__(self, activation="tanh", mean=0.0, spread=1.0, n=20000, seed=0):
        check_choice("activation", activation, EXPLORER_ACTIVATIONS)
        _check_range("mean", mean, -6.0, 6.0)
        _check_range("spread", spread, 0.01, 10 ** 1.3)
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
        super().__init__(controls, height=f"{int(plots.PREACTIVATION_SIZE[1] * DPI) + 16}px")
        self.render()

    def _draw(self):
        c = self.controls
        stats = experiments.preactivation_stats(c["activation"].value, c["mean"].value,
                                                  c["spread"].value, n=self.n, seed=self.seed)
        fig = plots.preactivation_figure(stats, fig=self._fig)
        self.last_stats = stats
        return fig, f"<mean |f'| = {stats['mean_abs_df']:.3g}>", None


def activation_explorer(activation="tanh", mean=0.0, spread=1.0, n=20000, seed=0):
    """The notebook-04 explorer: pre-activations a ~ N(mean, spread^2), f'(a), mean |f'|.

    Controls: "activation", "mean" and "spread". Each change recomputes
    experiments.preactivation_stats and redraws plots.preactivation_figure.
    Returns an ActivationExplorer; `.last_stats` is the dict on screen.
    """
    return ActivationExplorer(activation, mean, spread, n, seed)
