"""What every explorer shares: controls, a fixed-height image, render on change, error capture,
the static figure for pages without a kernel, and closing on re-run.

The explorers themselves live in the topic modules of this package (vanishing, ...).

One short path from a control to a pixel: a change of any control calls the explorer's
`render`, which calls one experiment function (the data), one plot function (the Figure,
redrawn in place) and render.PixelCache (the PNG), and puts the PNG into an HTML <img>
whose alt text describes the figure. Nothing calls back into this module on the way.

Each builder returns an object with `.widget` (the ipywidgets box), `.controls` (the input
widgets keyed by their descriptions), `.image` (an HTML widget of fixed height holding the
<img>), and for tests and benchmarks `.last_png`, `.n_renders`, `.n_errors`, `.last_error`
(the traceback text of the last failed update, or None) and `.last_seconds`. A failing
update shows its traceback in place of the figure, so no error is silent.

Displaying an explorer (the last line of a cell) writes two outputs: the live widget, and
below it a static PNG of the same figure with its description as text/plain. Where no
kernel runs (GitHub, nbviewer, a notebook opened but not run) the widget cannot render and
the PNG is the one figure. Where the widget does render, the figure must not show twice,
and two things see to it:
- in JupyterLab and Notebook 7, a style sheet that the live widget carries hides the output
  that follows it when that output is an image (CSS `:has()`). This needs no message from
  the browser to the kernel, so it holds whatever the kernel is busy with, and the static
  PNG stays in the saved notebook for readers without a kernel;
- in other front ends, which may render each output apart (so a style sheet cannot reach
  the next output), the widget's first view empties the static output from the kernel
  (the front end's `_view_count`). That round trip waits until the kernel is idle, and it
  was seen lost in about 1 of 3 runs of the browser test, which is why it is not the only
  way.

Re-running the cell closes the explorer it made before (all its widget models), so live
widgets and memory stay flat; `close()` does the same by hand.
"""
import base64
import html
import io
import re
import time
import traceback

import ipywidgets as W
from PIL import Image

from ..plots import render
from ..validate import check_positive

# The explorers display through get_view_spec and watch _view_count: ipywidgets 7.7.1
# (Colab's) and 8 have both, and both pass tests/test_widgets.py.
IPYWIDGETS_FLOOR = (7, 7, 1)


def check_ipywidgets_version(version):
    """ImportError naming the version needed when ipywidgets `version` is below the floor."""
    if tuple(int(n) for n in re.findall(r"\d+", version)[:3]) < IPYWIDGETS_FLOOR:
        raise ImportError(f"rnn_core.widgets: expected ipywidgets 7.7.1 or later (7.7.1 as on "
                          f"Colab, or 8), received ipywidgets {version}")


check_ipywidgets_version(W.__version__)
DPI = render.DPI
# Carried by every live explorer (a <style> in an HTML widget applies to the whole page):
# JupyterLab's output of the explorer's widget is followed by the static PNG; hide that.
HIDE_STATIC_CSS = (
    "<style>.jp-OutputArea-child:has(.rnn-explorer) + .jp-OutputArea-child:has("
    '.jp-OutputArea-output[data-mime-type="image/png"]) { display: none; }</style>')
WIDGET_VIEW_MIME = "application/vnd.jupyter.widget-view+json"
# The explorer each notebook cell made last, keyed by (kind, cell): re-running the cell
# closes it. Only code run by a kernel is tracked (see cell_id).
_BY_CELL = {}


def cell_id():
    """What identifies the notebook cell being executed, or None outside a kernel.

    JupyterLab sends the cell's id with each execute request; other clients (nbclient,
    say) send none, and then the cell's code stands for it (a re-run sends the same code).
    """
    try:
        from IPython import get_ipython
        kernel = getattr(get_ipython(), "kernel", None)
        parent = kernel.get_parent() if kernel is not None else None
    except Exception:  # no IPython, or a kernel without get_parent: no cell to track
        return None
    parent = parent or {}
    cell = (parent.get("metadata") or {}).get("cellId")
    code = (parent.get("content") or {}).get("code")
    return cell if cell else (f"code:{code}" if code else None)


def _close_tree(widget):
    """Close a widget, its children, and their layout and style models."""
    for child in getattr(widget, "children", ()):
        _close_tree(child)
    for name in ("layout", "style"):
        part = getattr(widget, name, None)
        if isinstance(part, W.Widget):
            part.close()
    widget.close()


def check_range(name, value, low, high):
    """A real number within a slider's range (a slider would silently clamp it)."""
    value = check_positive(name, value, allow_zero=True) if low >= 0 else float(value)
    if not low <= value <= high:
        raise ValueError(f"{name}: expected a value in [{low:g}, {high:g}] (the slider's "
                         f"range), received {value:g}")
    return value


def img_html(png, alt):
    """An <img> element holding PNG bytes inline, at 1 image pixel per CSS pixel, with alt."""
    w, h = Image.open(io.BytesIO(png)).size
    return (f'<img class="rnn-figure" width="{w}" height="{h}" alt="{html.escape(alt)}" '
            f'src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}">')


class FigureWidget:
    """Shared machinery: controls, a fixed-height image, render-on-change, error capture."""

    def __init__(self, controls, height_px):
        self.controls = controls
        self.image = W.HTML(layout=W.Layout(height=f"{height_px}px", overflow="auto"))
        self.widget = W.VBox([W.HBox(list(controls.values()),
                                     layout=W.Layout(flex_flow="row wrap")), self.image,
                              W.HTML(HIDE_STATIC_CSS, layout=W.Layout(display="none"))])
        self.widget.add_class("rnn-explorer")
        self.pixels = render.PixelCache()
        self.last_png = None
        self.last_alt = None
        self.n_renders = 0
        self.n_errors = 0
        self.last_error = None
        self.last_seconds = None
        self.closed = False
        self._static = None              # the DisplayHandle of the static PNG below the widget
        self._viewed = False             # whether a front end has shown the widget
        for control in controls.values():
            control.observe(self._on_change, names="value")
        key = (type(self).__name__, cell_id())
        if key[1] is not None:
            previous = _BY_CELL.get(key)
            if previous is not None:
                previous.close()
            _BY_CELL[key] = self

    def _on_change(self, change):
        self.render()

    def render(self):
        """Recompute and redraw from the current control values; never raises."""
        start = time.perf_counter()
        try:
            fig, static = self._draw()                  # data -> Figure, in place
            png = self.pixels.png(fig, static)          # Figure -> PNG
            alt = render.describe(fig)
        except Exception:  # shown in place of the figure: a widget callback must not fail silently
            self.n_errors += 1
            self.last_error = traceback.format_exc()
            self.pixels.regions.clear()       # the half-updated figure's pixels are not trusted
            self.image.value = ("<pre style='color:#b00; white-space:pre-wrap'>This setting "
                                "could not be drawn:\n" + html.escape(self.last_error) + "</pre>")
            return
        self.last_png, self.last_alt, self.last_error = png, alt, None
        self.n_renders += 1
        self.image.value = img_html(png, alt)
        self.last_seconds = time.perf_counter() - start

    def _draw(self):
        """Put the current controls' data into the figure: (figure, PixelCache's static spec)."""
        raise NotImplementedError

    def close(self):
        """Close every widget model of this explorer and drop its figure (idempotent)."""
        if self.closed:
            return
        self.closed = True
        for control in self.controls.values():
            control.unobserve(self._on_change, names="value")
        self.widget.unobserve(self._first_view, names="_view_count")
        _close_tree(self.widget)
        self.pixels = render.PixelCache()
        self.art = self.fig = None
        for key, value in list(_BY_CELL.items()):
            if value is self:
                del _BY_CELL[key]

    def _first_view(self, change):
        """A front end shows the widget: empty the static copy below it (one figure per place)."""
        if (change["new"] or 0) <= 0:
            return
        self._viewed = True                # a view can arrive before the static copy exists
        if self._static is not None:
            self._static.update({"text/plain": ""}, raw=True)
            self._static = None

    def _controls_text(self):
        return ", ".join(self.controls)

    def _repr_mimebundle_(self, **kwargs):
        """The live widget's view, and the text that shows where it cannot render (no kernel,
        or not run yet). get_view_spec is the one view spec of ipywidgets 7 and 8 (7 has no
        _repr_mimebundle_), so both display through this one path."""
        return {WIDGET_VIEW_MIME: self.widget.get_view_spec(),
                "text/plain": (f"[{type(self).__name__}: controls {self._controls_text()} "
                               "for the figure below; they are live when this cell runs]")}

    def _ipython_display_(self):
        """The widget, then a static PNG of its figure that its first view empties."""
        from IPython.display import display
        self._viewed = False
        self.widget._view_count = 0        # the front end counts the views it makes
        self.widget.observe(self._first_view, names="_view_count")
        display(self._repr_mimebundle_(), raw=True)
        w, h = Image.open(io.BytesIO(self.last_png)).size
        self._static = display({"image/png": self.last_png, "text/plain": self.last_alt},
                               raw=True, metadata={"image/png": {"width": w, "height": h}},
                               display_id=True)
        if self._viewed:                   # the view came first: empty the copy at once
            self._static.update({"text/plain": ""}, raw=True)
            self._static = None


