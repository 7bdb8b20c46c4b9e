"""The explorers, driven without a browser: set a control's value, check what is on screen.

Warnings are errors (pyproject.toml), so an overflow or a matplotlib warning inside a
callback fails the test through `n_errors` / `last_error`.
"""
import base64
import io

import numpy as np
import pytest

from rnn_core import activations, experiments, gradflow, widgets

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _shown_png(w):
    """The PNG bytes the Output widget holds (what the browser displays)."""
    (out,) = w.output.outputs
    assert out["output_type"] == "display_data"
    return base64.b64decode(out["data"]["image/png"])


def _direct_sweep(ex):
    s = ex.settings()
    return gradflow.sweep(s.pop("rhos"), **s)


@pytest.fixture(scope="module")
def ex():
    return widgets.explorer()


def test_explorer_controls(ex):
    c = ex.controls
    assert list(c) == ["T", "activation", "W_h family", "input scale"]
    assert (c["T"].description, c["T"].min, c["T"].max, c["T"].value) == ("T", 1, 1000, 200)
    assert c["T"].continuous_update is False and c["input scale"].continuous_update is False
    assert list(c["activation"].options) == ["sigmoid", "tanh", "relu", "linear"]
    assert list(c["W_h family"].options) == ["orthogonal", "gaussian", "nonnormal"]
    assert ex.output.layout.height.endswith("px")          # fixed: the page does not jump
    assert ex.n_renders >= 1 and ex.last_error is None
    assert _shown_png(ex) == ex.last_png and ex.last_png.startswith(PNG_MAGIC)


def test_changing_T_redraws_from_a_matching_sweep(ex):
    before, png = ex.n_renders, ex.last_png
    ex.controls["T"].value = 500
    assert ex.last_error is None
    assert ex.n_renders == before + 1
    assert ex.last_png != png and _shown_png(ex) == ex.last_png
    assert ex.last_sweep.T == 500 and ex.last_sweep.lags[-1] == 500
    np.testing.assert_array_equal(ex.last_sweep.log10_norm, _direct_sweep(ex).log10_norm)


def test_changing_activation_redraws_from_a_matching_sweep(ex):
    before, png = ex.n_renders, ex.last_png
    ex.controls["activation"].value = "sigmoid"
    assert ex.last_error is None and ex.n_renders == before + 1 and ex.last_png != png
    s = ex.last_sweep
    assert s.activation == "sigmoid" and s.gamma == 0.25
    assert s.rhos.max() == pytest.approx(6.0)              # the sweep reaches 1.5 / gamma
    np.testing.assert_array_equal(s.log10_norm, _direct_sweep(ex).log10_norm)


@pytest.mark.parametrize("settings", [
    {"T": 1000, "activation": "sigmoid"},
    {"T": 1000, "activation": "relu", "W_h family": "nonnormal"},
    {"T": 1000, "activation": "linear", "W_h family": "gaussian"},
    {"T": 1, "activation": "tanh", "input scale": 10.0},
    {"T": 1000, "activation": "tanh", "input scale": 0.01},
])
def test_extreme_settings_draw_finite_plots(settings):
    ex = widgets.explorer()
    for name, value in settings.items():
        ex.controls[name].value = value
    assert ex.last_error is None and ex.n_errors == 0, ex.last_error
    s = ex.last_sweep
    assert s.T == settings["T"]
    assert np.isfinite(s.log10_norm).all() and np.isfinite(s.rate).all()
    assert _shown_png(ex) == ex.last_png


def test_exception_in_callback_is_shown(monkeypatch):
    ex = widgets.explorer(T=20)
    png, renders = ex.last_png, ex.n_renders

    def broken(*args, **kwargs):
        raise RuntimeError("sweep exploded on purpose")

    monkeypatch.setattr(gradflow, "sweep", broken)
    ex.controls["T"].value = 21
    assert ex.n_errors == 1 and ex.n_renders == renders and ex.last_png == png
    (out,) = ex.output.outputs
    assert out["output_type"] == "stream" and out["name"] == "stderr"
    assert "RuntimeError: sweep exploded on purpose" in out["text"]
    assert "Traceback" in out["text"]
    monkeypatch.undo()
    ex.controls["T"].value = 22                              # recovers on the next change
    assert ex.last_error is None and ex.last_sweep.T == 22 and ex.last_png != png


def test_explorer_displays_as_its_widget(ex):
    bundle = ex._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == ex.widget.model_id


def test_activation_explorer_follows_its_controls():
    ae = widgets.activation_explorer()
    assert list(ae.controls) == ["activation", "mean", "spread"]
    assert ae.last_error is None and _shown_png(ae) == ae.last_png
    narrow = ae.last_stats["mean_abs_df"]
    png = ae.last_png
    ae.controls["spread"].value = 5.0
    assert ae.last_error is None and ae.last_png != png
    assert ae.last_stats["mean_abs_df"] < narrow            # wider pre-activations saturate
    assert ae.last_stats["mean_abs_df"] == pytest.approx(
        activations.mean_abs_derivative("tanh", 0.0, 5.0))
    ae.controls["activation"].value = "relu"
    assert ae.last_stats["mean_abs_df"] == pytest.approx(0.5, abs=1e-6)  # P(a > 0)


def test_reused_pixels_give_the_same_image_as_a_full_draw():
    # A change of T or of the input scale redraws only panels (a), (b) and the title and
    # reuses the colour bar and panel (c): the image must equal a full redraw, pixel for pixel.
    from PIL import Image

    def pixels(png):
        return np.asarray(Image.open(io.BytesIO(png)))

    ex = widgets.explorer(T=50)
    assert ex._fig._rc_static_pixels["region"] is not None     # the fast path is in use
    for name, value in (("T", 51), ("input scale", 0.1), ("activation", "relu"), ("T", 52)):
        ex.controls[name].value = value
        np.testing.assert_array_equal(pixels(ex.last_png), pixels(widgets.png_bytes(ex._fig)))


@pytest.mark.parametrize("kwargs, match", [
    ({"T": 0}, "T"), ({"T": 1001}, "T"), ({"activation": "gelu"}, "activation"),
    ({"family": "symmetric"}, "family"), ({"input_scale": 100.0}, "input_scale"),
])
def test_explorer_rejects_settings_its_controls_cannot_show(kwargs, match):
    with pytest.raises(ValueError, match=match):
        widgets.explorer(**kwargs)
