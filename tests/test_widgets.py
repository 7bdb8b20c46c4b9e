"""The explorers, driven without a browser: set a control's value, check what is on screen.

Warnings are errors (pyproject.toml), so an overflow or a matplotlib warning inside a
callback fails the test through `n_errors` / `last_error`.
"""
import base64
import gc
import html
import io
import re
import tracemalloc

import numpy as np
import pytest
from ipywidgets.widgets import widget as widget_module
from PIL import Image

from rnn_core.nn import activations
from rnn_core import experiments, widgets
from rnn_core.plots import render

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _shown(w):
    """(PNG bytes, alt text) of the <img> the HTML widget holds (what the browser shows)."""
    m = re.fullmatch(r'<img class="rnn-figure" width="(\d+)" height="(\d+)" alt="([^"]*)" '
                     r'src="data:image/png;base64,([A-Za-z0-9+/=]+)">', w.image.value)
    assert m, w.image.value[:300]
    png = base64.b64decode(m.group(4))
    assert Image.open(io.BytesIO(png)).size == (int(m.group(1)), int(m.group(2)))
    return png, html.unescape(m.group(3))


def _pixels(png):
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def _n_live_widgets():
    """Every open widget model: ipywidgets 8's registry, or 7's Widget.widgets."""
    registry = getattr(widget_module, "_instances", None)
    return len(widget_module.Widget.widgets if registry is None else registry)


@pytest.fixture(scope="module")
def ex():
    e = widgets.vanishing.explorer()
    yield e
    e.close()


def test_explorer_controls_start_at_the_defaults(ex):
    c, d = ex.controls, experiments.vanishing.DEFAULTS
    assert list(c) == ["T", "activation", "W_h family", "input scale"]
    assert (c["T"].description, c["T"].min, c["T"].max, c["T"].value) == ("T", 1, 1000, d["T"])
    assert c["activation"].value == d["activation"] and c["W_h family"].value == d["family"]
    assert c["input scale"].value == pytest.approx(d["input_scale"])
    assert c["T"].continuous_update is False and c["input scale"].continuous_update is False
    assert list(c["activation"].options) == ["sigmoid", "tanh", "relu", "linear"]
    assert list(c["W_h family"].options) == ["orthogonal", "gaussian", "nonnormal"]
    assert ex.image.layout.height.endswith("px")           # fixed: the page does not jump
    assert ex.n_renders >= 1 and ex.last_error is None
    png, alt = _shown(ex)
    assert png == ex.last_png and png.startswith(PNG_MAGIC)
    assert alt == ex.last_alt == render.describe(ex.art["fig"])
    assert alt.startswith("Figure: tanh RNN") and "(a)" in alt and "(c)" in alt


def test_changing_T_redraws_from_a_matching_sweep(ex):
    before, png = ex.n_renders, ex.last_png
    ex.controls["T"].value = 500
    assert ex.last_error is None
    assert ex.n_renders == before + 1
    assert ex.last_png != png and _shown(ex)[0] == ex.last_png
    assert ex.last_sweep.T == 500 and ex.last_sweep.lags[-1] == 500
    direct = experiments.vanishing.explorer_sweep(**ex.settings())
    np.testing.assert_array_equal(ex.last_sweep.log10_norm, direct.log10_norm)
    assert "T = 500" in _shown(ex)[1]


def test_changing_activation_redraws_from_a_matching_sweep(ex):
    before, png = ex.n_renders, ex.last_png
    ex.controls["activation"].value = "sigmoid"
    assert ex.last_error is None and ex.n_renders == before + 1 and ex.last_png != png
    s = ex.last_sweep
    assert s.activation == "sigmoid" and s.gamma == 0.25
    assert s.rhos.max() == pytest.approx(6.0)              # the sweep reaches 1.5 / gamma
    direct = experiments.vanishing.explorer_sweep(**ex.settings())
    np.testing.assert_array_equal(s.log10_norm, direct.log10_norm)


@pytest.mark.parametrize("settings", [
    {"T": 1000, "activation": "sigmoid", "W_h family": "nonnormal", "input scale": 10.0},
    {"T": 1000, "activation": "relu", "W_h family": "nonnormal"},
    {"T": 1000, "activation": "linear", "W_h family": "gaussian"},
    {"T": 1, "activation": "tanh", "input scale": 10.0},
    {"T": 1000, "activation": "tanh", "input scale": 0.01},
])
def test_extreme_settings_draw_finite_plots(settings):
    ex = widgets.vanishing.explorer()
    for name, value in settings.items():
        ex.controls[name].value = value
    assert ex.last_error is None and ex.n_errors == 0, ex.last_error
    s = ex.last_sweep
    assert s.T == settings["T"]
    assert np.isfinite(s.log10_norm).all() and np.isfinite(s.rate).all()
    assert _shown(ex)[0] == ex.last_png
    ex.close()


def test_exception_in_callback_is_shown(monkeypatch):
    ex = widgets.vanishing.explorer(T=20)
    png, renders = ex.last_png, ex.n_renders

    def broken(*args, **kwargs):
        raise RuntimeError("sweep exploded on purpose")

    monkeypatch.setattr(experiments.vanishing, "explorer_sweep", broken)
    ex.controls["T"].value = 21
    assert ex.n_errors == 1 and ex.n_renders == renders and ex.last_png == png
    assert ex.image.value.startswith("<pre")
    assert "RuntimeError: sweep exploded on purpose" in ex.image.value
    assert "Traceback" in ex.image.value
    monkeypatch.undo()
    ex.controls["T"].value = 22                              # recovers on the next change
    assert ex.last_error is None and ex.last_sweep.T == 22 and ex.last_png != png
    ex.close()


def test_reused_pixels_give_the_same_image_as_a_full_draw():
    # A change of T or of the input scale redraws only panels (a), (b) and the title and
    # reuses the colour bar, panel (c) and their keys: the image must equal a full redraw,
    # pixel for pixel. Switching back to an activation seen before reuses its pixels too.
    ex = widgets.vanishing.explorer(T=50)
    for name, value in (("T", 51), ("input scale", 0.1), ("activation", "relu"), ("T", 52),
                        ("activation", "tanh"), ("W_h family", "gaussian"), ("T", 53)):
        reused = ex.pixels.n_reused
        ex.controls[name].value = value
        if name != "W_h family" and (name, value) != ("activation", "relu"):
            assert ex.pixels.n_reused == reused + 1, (name, value, ex.pixels.unsafe)
        np.testing.assert_array_equal(_pixels(ex.last_png), _pixels(render.png(ex.art["fig"])))
    ex.close()


def test_png_encoder_holds_the_canvas_pixels_exactly():
    ex = widgets.vanishing.explorer(T=30)
    agg = render.canvas(ex.art["fig"])
    agg.draw()
    png = render.encode(agg)
    assert png.startswith(PNG_MAGIC)
    np.testing.assert_array_equal(_pixels(png), np.asarray(agg.buffer_rgba())[:, :, :3])
    ex.close()


class _FakeKernel:
    """What ipykernel's kernel offers: the parent message of the cell being run (JupyterLab
    sends the cell's id in its metadata; nbclient sends only the code)."""

    def __init__(self):
        self.cell = "cell-0"
        self.code = "rc.widgets.vanishing.explorer()"

    def get_parent(self):
        return {"header": {}, "metadata": {"cellId": self.cell} if self.cell else {},
                "content": {"code": self.code}}


def test_a_cell_is_known_by_its_id_or_else_by_its_code(monkeypatch):
    import IPython
    kernel = _FakeKernel()
    monkeypatch.setattr(IPython, "get_ipython", lambda: type("Shell", (), {"kernel": kernel})())
    assert widgets.base.cell_id() == "cell-0"
    kernel.cell = None
    assert widgets.base.cell_id() == "code:rc.widgets.vanishing.explorer()"
    first = widgets.vanishing.explorer(T=5)
    second = widgets.vanishing.explorer(T=5)               # the same code re-run: the first is closed
    assert first.closed and not second.closed
    second.close()
    monkeypatch.setattr(IPython, "get_ipython", lambda: None)
    assert widgets.base.cell_id() is None


def test_rerunning_a_cell_closes_the_explorer_it_replaces(monkeypatch):
    # 30 re-runs of one cell: live widget models and traced memory stay flat.
    import IPython
    kernel = _FakeKernel()
    shell = type("Shell", (), {"kernel": kernel})()
    monkeypatch.setattr(IPython, "get_ipython", lambda: shell)
    kernel.cell = "explorer-cell"
    first = widgets.vanishing.explorer(T=10)
    n_one = _n_live_widgets()
    second = widgets.vanishing.explorer(T=10)                  # the same cell again
    assert first.closed and not second.closed and _n_live_widgets() == n_one
    assert all(w.comm is None for w in first.controls.values())
    kernel.cell = "another-cell"                    # another cell keeps its own explorer
    other = widgets.vanishing.explorer(T=10)
    assert not second.closed and _n_live_widgets() > n_one
    other.close()
    kernel.cell = "explorer-cell"
    # 30 re-runs in all: 27 to reach a steady state (font and numpy caches), then 3 under
    # tracemalloc (it slows each run about 4-fold). The memory the traced runs leave held is
    # compared after the first of them (one explorer, about 3 MiB: figure, sweep, PNG) and
    # after the last: a leak of one explorer per run would add about 6 MiB.
    counts = []
    for _ in range(27):
        last = widgets.vanishing.explorer(T=10)
        counts.append(_n_live_widgets())
    tracemalloc.start()
    try:
        for i in range(3):
            last = widgets.vanishing.explorer(T=10)
            counts.append(_n_live_widgets())
            gc.collect()
            if i == 0:
                mem_first = tracemalloc.get_traced_memory()[0]
        mem_last = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert counts == [n_one] * 30, counts
    assert mem_last - mem_first < 2**20, f"grew by {(mem_last - mem_first) / 2**20:.1f} MiB"
    last.close()
    assert _n_live_widgets() < n_one


def test_display_shows_the_widget_then_one_static_figure_that_a_view_empties(monkeypatch):
    import IPython.display
    shown = []

    class Handle:
        def __init__(self):
            self.updates = []

        def update(self, obj, **kw):
            self.updates.append((obj, kw))

    def fake_display(obj, raw=False, metadata=None, display_id=None):
        shown.append((obj, raw, metadata))
        if display_id:
            shown[-1] = shown[-1] + (Handle(),)
            return shown[-1][-1]
        return None

    monkeypatch.setattr(IPython.display, "display", fake_display)
    ex = widgets.vanishing.explorer(T=40)
    ex._ipython_display_()
    (bundle, raw_w, _), (static, raw, meta, handle) = shown
    assert raw_w and bundle == ex._repr_mimebundle_()
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == ex.widget.model_id
    assert "JupyterLab" not in bundle["text/plain"] and "below" in bundle["text/plain"]
    assert raw and static["image/png"] == ex.last_png and static["text/plain"] == ex.last_alt
    w, h = Image.open(io.BytesIO(ex.last_png)).size
    assert meta == {"image/png": {"width": w, "height": h}}
    assert ex.widget._view_count == 0 and handle.updates == []
    ex.widget._view_count = 1                       # what JupyterLab reports when it renders it
    assert handle.updates == [({"text/plain": ""}, {"raw": True})]
    ex.widget._view_count = 2                       # a second view changes nothing more
    assert len(handle.updates) == 1
    ex.close()



def test_a_view_reported_before_the_static_figure_exists_still_empties_it(monkeypatch):
    import IPython.display
    handles = []

    class Handle:
        def __init__(self):
            self.updates = []

        def update(self, obj, **kw):
            self.updates.append((obj, kw))

    ex = widgets.vanishing.explorer(T=40)

    def fake_display(obj, raw=False, metadata=None, display_id=None):
        if not display_id:                  # the widget: the front end views it at once
            ex.widget._view_count = 1
            return None
        handles.append(Handle())
        return handles[-1]

    monkeypatch.setattr(IPython.display, "display", fake_display)
    ex._ipython_display_()
    assert len(handles) == 1 and handles[0].updates == [({"text/plain": ""}, {"raw": True})]
    assert ex._static is None
    ex.close()

def test_activation_explorer_follows_its_controls():
    ae = widgets.vanishing.activation_explorer()
    assert list(ae.controls) == ["activation", "mean", "spread"]
    assert ae.last_error is None and _shown(ae)[0] == ae.last_png
    narrow = ae.last_stats["mean_abs_df"]
    png = ae.last_png
    ae.controls["spread"].value = 5.0
    assert ae.last_error is None and ae.last_png != png
    assert ae.last_stats["mean_abs_df"] < narrow            # wider pre-activations saturate
    assert ae.last_stats["mean_abs_df"] == pytest.approx(
        activations.mean_abs_derivative("tanh", 0.0, 5.0))
    ae.controls["activation"].value = "relu"
    assert ae.last_stats["mean_abs_df"] == pytest.approx(0.5, abs=1e-6)  # P(a > 0)
    assert "relu" in _shown(ae)[1]
    ae.close()


@pytest.mark.parametrize("kwargs, match", [
    ({"T": 0}, "T"), ({"T": 1001}, "T"), ({"activation": "gelu"}, "activation"),
    ({"family": "symmetric"}, "family"), ({"input_scale": 100.0}, "input_scale"),
])
def test_explorer_rejects_settings_its_controls_cannot_show(kwargs, match):
    with pytest.raises(ValueError, match=match):
        widgets.vanishing.explorer(**kwargs)


@pytest.mark.parametrize("version", ["7.6.5", "7.7.0", "6.0.0"])
def test_an_ipywidgets_below_the_floor_is_named_at_import(version):
    needed = r"expected ipywidgets 7\.7\.1 or later .*received ipywidgets " + re.escape(version)
    with pytest.raises(ImportError, match=needed):
        widgets.base.check_ipywidgets_version(version)


@pytest.mark.parametrize("version", ["7.7.1", "7.8.5", "8.0.0rc1", "8.1.9"])
def test_ipywidgets_7_and_8_are_accepted(version):
    widgets.base.check_ipywidgets_version(version)
