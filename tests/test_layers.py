"""Tests for rnn_core.cells.layers: truncated BPTT, bidirectional and stacked layers."""
import tracemalloc

import numpy as np
import pytest

from rnn_core import cells
from rnn_core.cells import layers
from rnn_core.bptt.gradcheck import check_gradients

pytestmark = pytest.mark.filterwarnings("error")

# (cell name, forward options, init options)
CELLS = [
    ("rnn", {"activation": "tanh"}, {}),
    ("rnn", {"activation": "relu"}, {}),
    ("lstm", {}, {}),
    ("gru", {"form": "sources"}, {"form": "sources"}),
    ("gru", {"form": "cudnn"}, {"form": "cudnn"}),
]
CELL_IDS = ["rnn-tanh", "rnn-relu", "lstm", "gru-sources", "gru-cudnn"]
SHAPES = [(2, 4, 3, 5), (1, 1, 3, 2), (1, 3, 4, 2)]     # (N, T, D, H): N = 1, T = 1, H != D
TOL = 1e-7


# ---------------------------------------------------------------------------- helpers

def flat(tree, prefix):
    """A nested dict/list of arrays as one dict {"prefix/key/...": array} (same objects)."""
    if isinstance(tree, np.ndarray):
        return {prefix: tree}
    items = tree.items() if isinstance(tree, dict) else enumerate(tree)
    return {k: v for key, sub in items for k, v in flat(sub, f"{prefix}/{key}").items()}


def like(tree, rng):
    """Random normal arrays with the nesting and shapes of `tree`."""
    if isinstance(tree, np.ndarray):
        return rng.standard_normal(tree.shape)
    if isinstance(tree, dict):
        return {k: like(v, rng) for k, v in tree.items()}
    return [like(v, rng) for v in tree]


def jitter(params, rng, scale=0.3):
    """Perturb every parameter (biases included) so that no gradient is trivially zero."""
    for p in flat(params, "p").values():
        p += scale * rng.standard_normal(p.shape)
    return params


def state(name, N, H, rng, scale=1.0):
    return {k: scale * rng.standard_normal((N, H)) for k in cells.get(name).STATE_KEYS}


def worst(errors):
    return max(errors.values())


# ---------------------------------------------------------------------------- cell lookup

def test_get_cell_by_name():
    assert cells.get("rnn").__name__ == "rnn_core.cells.elman"
    assert set(cells.CELLS) == {"rnn", "lstm", "gru", "gated_feedback"}


# ---------------------------------------------------------------------------- truncated BPTT

@pytest.mark.parametrize("name, opts, iopts", CELLS, ids=CELL_IDS)
def test_truncated_bptt_equals_the_cells_truncated_backward(name, opts, iopts):
    rng = np.random.default_rng(1)
    N, T, D, H = 2, 7, 3, 4
    mod = cells.get(name)
    params = jitter(mod.init_params(D, H, seed=2, **iopts), rng)
    x = rng.standard_normal((N, T, D))
    s0 = state(name, N, H, rng)
    dh = rng.standard_normal((N, T, H))
    _, s_T, cache = mod.forward(x, s0, params, **opts)
    ds_T = like(s_T, rng)
    for k in (1, 3, T, T + 5):
        (dx, ds0, grads), state_T, _, _ = layers.truncated_bptt(name, x, s0, params, dh, k,
                                                                  dstate_T=ds_T, **opts)
        ref_dx, ref_ds0, ref_grads = mod.backward(dh, cache, dstate_T=ds_T, truncate=k)
        np.testing.assert_allclose(dx, ref_dx, rtol=1e-12, atol=1e-12)
        for key in s0:
            np.testing.assert_allclose(ds0[key], ref_ds0[key], rtol=1e-12, atol=1e-12)
            np.testing.assert_allclose(state_T[key], s_T[key], rtol=1e-12, atol=1e-12)
        assert set(grads) == set(params)
        for key in params:
            np.testing.assert_allclose(grads[key], ref_grads[key], rtol=1e-11, atol=1e-12)
    full = mod.backward(dh, cache, dstate_T=ds_T)                     # k >= T is full BPTT
    np.testing.assert_allclose(dx, full[0], rtol=1e-12, atol=1e-12)
    for key in params:
        np.testing.assert_allclose(grads[key], full[2][key], rtol=1e-11, atol=1e-12)


def test_truncated_bptt_with_window_one_sees_no_recurrence_in_W_h():
    # k = 1: every step's gradient stops at h_{t-1}, so dW_h = sum_t da_t^T h_{t-1} with
    # da_t = dh_t * f'(a_t): no term reaches back further than one step.
    rng = np.random.default_rng(3)
    mod = cells.get("rnn")
    params = jitter(mod.init_params(2, 3, seed=0), rng)
    x, dh, s0 = rng.standard_normal((2, 5, 2)), rng.standard_normal((2, 5, 3)), state("rnn", 2, 3, rng)
    (_, _, grads), _, _, _ = layers.truncated_bptt("rnn", x, s0, params, dh, 1)
    h, _, _ = mod.forward(x, s0, params)
    h_prev = np.concatenate([s0["h"][:, None], h[:, :-1]], axis=1)
    da = dh * (1 - h ** 2)
    np.testing.assert_allclose(grads["W_h"], np.einsum("nti,ntj->ij", da, h_prev), rtol=1e-12)


@pytest.mark.parametrize("name, opts, iopts", CELLS[::2], ids=CELL_IDS[::2])
def test_truncated_bptt_loss_callback_matches_dh_and_sums_loss_grads(name, opts, iopts):
    rng = np.random.default_rng(4)
    N, T, D, H, k = 2, 7, 3, 4, 3
    mod = cells.get(name)
    params = jitter(mod.init_params(D, H, seed=1, **iopts), rng)
    x, s0 = rng.standard_normal((N, T, D)), state(name, N, H, rng)
    V, y = rng.standard_normal((2, H)), rng.standard_normal((N, T, 2))
    starts = []

    def loss(h_w, start):                  # a linear readout y_hat = h V^T, loss sum(y * y_hat)
        starts.append(start)
        y_w = y[:, start:start + h_w.shape[1]]
        return float(np.sum(y_w * (h_w @ V.T))), y_w @ V, {"V": np.einsum("nto,nth->oh", y_w, h_w)}

    (dx, ds0, grads), s_T, value, loss_grads = layers.truncated_bptt_loss(
        name, x, s0, params, loss, k, **opts)
    h, ref_s_T, _ = mod.forward(x, s0, params, **opts)
    assert starts == [0, 3, 6]
    assert value == pytest.approx(np.sum(y * (h @ V.T)), rel=1e-12)
    np.testing.assert_allclose(loss_grads["V"], np.einsum("nto,nth->oh", y, h), rtol=1e-12)
    ref = layers.truncated_bptt(name, x, s0, params, y @ V, k, **opts).backward
    short = layers.truncated_bptt_loss(name, x, s0, params, lambda h_w, start: loss(h_w, start)[:2],
                                         k, **opts)          # (value, dh_window) is enough
    assert short.loss == value and short.loss_grads == {}
    np.testing.assert_array_equal(short.backward[0], dx)
    np.testing.assert_allclose(dx, ref[0], rtol=1e-12, atol=1e-14)
    for key in params:
        np.testing.assert_allclose(grads[key], ref[2][key], rtol=1e-12, atol=1e-14)
    for key in s0:
        np.testing.assert_allclose(s_T[key], ref_s_T[key], rtol=1e-12)


def _peak(run):
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        out = run()
        peak = tracemalloc.get_traced_memory()[1] - base
        del out
    finally:
        tracemalloc.stop()
    return peak


@pytest.mark.parametrize("name", ["rnn", "lstm"])
def test_truncated_bptt_memory_does_not_grow_with_T(name):
    # D = 1 keeps the unavoidable O(T) outputs (dx) small next to the per-window cache.
    N, D, H, k = 2, 1, 32, 10
    mod = cells.get(name)
    params = mod.init_params(D, H, seed=0)
    s0 = {key: np.zeros((N, H)) for key in mod.STATE_KEYS}
    trunc, full = [], []
    for T in (200, 800):
        x = np.random.default_rng(0).standard_normal((N, T, D))
        dh = np.ones((N, T, H))

        def full_bptt():
            _, _, cache = mod.forward(x, s0, params)
            return mod.backward(dh, cache)

        trunc.append(_peak(lambda: layers.truncated_bptt(name, x, s0, params, dh, k)))
        full.append(_peak(full_bptt))
    assert trunc[1] / trunc[0] < 1.5, trunc
    assert full[1] / full[0] > 3, full


# ---------------------------------------------------------------------------- bidirectional

def _bidir_setup(name, iopts, N, T, D, H, seed):
    rng = np.random.default_rng(seed)
    params = jitter(layers.bidirectional_init(name, D, H, seed=seed, **iopts), rng)
    s0 = {d: state(name, N, H, rng) for d in ("fwd", "bwd")}
    return rng, params, rng.standard_normal((N, T, D)), s0


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name, opts, iopts", CELLS, ids=CELL_IDS)
def test_bidirectional_gradients(name, opts, iopts, shape):
    N, T, D, H = shape
    rng, params, x, s0 = _bidir_setup(name, iopts, N, T, D, H, seed=5)
    h, s_T, cache = layers.bidirectional_forward(name, x, s0, params, **opts)
    assert h.shape == (N, T, 2 * H)
    w, v = rng.standard_normal(h.shape), like(s_T, rng)

    def loss():
        h, s_T, _ = layers.bidirectional_forward(name, x, s0, params, **opts)
        return np.sum(w * h) + sum(np.sum(v_ * s_) for v_, s_ in
                                   zip(flat(v, "s").values(), flat(s_T, "s").values()))

    dx, ds0, grads = layers.bidirectional_backward(w, cache, dstate_T=v)
    arrays = {"x": x, **flat(params, "params"), **flat(s0, "state0")}
    analytic = {"x": dx, **flat(grads, "params"), **flat(ds0, "state0")}
    assert set(flat(grads, "params")) == set(flat(params, "params"))
    assert worst(check_gradients(loss, arrays, analytic)) < TOL


@pytest.mark.parametrize("name, opts, iopts", CELLS, ids=CELL_IDS)
def test_bidirectional_halves_are_plain_runs_forward_and_reversed(name, opts, iopts):
    N, T, D, H = 2, 5, 3, 4
    _, params, x, s0 = _bidir_setup(name, iopts, N, T, D, H, seed=6)
    mod = cells.get(name)
    h, s_T, _ = layers.bidirectional_forward(name, x, s0, params, **opts)
    h_f, sT_f, _ = mod.forward(x, s0["fwd"], params["fwd"], **opts)
    h_b, sT_b, _ = mod.forward(np.ascontiguousarray(x[:, ::-1]), s0["bwd"], params["bwd"], **opts)
    np.testing.assert_array_equal(h[:, :, :H], h_f)
    np.testing.assert_array_equal(h[:, :, H:], h_b[:, ::-1])
    for key in mod.STATE_KEYS:
        np.testing.assert_array_equal(s_T["fwd"][key], sT_f[key])
        np.testing.assert_array_equal(s_T["bwd"][key], sT_b[key])
    # the backward half at step 0 has read the whole sequence: changing x_T changes it
    x2 = x.copy()
    x2[:, -1] += 1.0
    h2, _, _ = layers.bidirectional_forward(name, x2, s0, params, **opts)
    np.testing.assert_array_equal(h2[:, :-1, :H], h[:, :-1, :H])     # the past cannot see x_T
    assert not np.allclose(h2[:, 0, H:], h[:, 0, H:])


def test_bidirectional_directions_have_independent_parameters():
    params = layers.bidirectional_init("rnn", 3, 4, seed=0)
    assert set(params) == {"fwd", "bwd"}
    assert not np.allclose(params["fwd"]["W_h"], params["bwd"]["W_h"])
    again = layers.bidirectional_init("rnn", 3, 4, seed=0)
    np.testing.assert_array_equal(again["bwd"]["W_x"], params["bwd"]["W_x"])


# ---------------------------------------------------------------------------- stacked

def _stacked_setup(name, iopts, N, T, D, Hs, seed):
    rng = np.random.default_rng(seed)
    params = jitter(layers.stacked_init(name, D, Hs, len(Hs), seed=seed, **iopts), rng)
    s0 = [state(name, N, H, rng) for H in Hs]
    return rng, params, rng.standard_normal((N, T, D)), s0


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name, opts, iopts", CELLS, ids=CELL_IDS)
def test_stacked_gradients(name, opts, iopts, shape):
    N, T, D, H = shape
    Hs = [H, 3]                                          # sizes differ between layers
    rng, params, x, s0 = _stacked_setup(name, iopts, N, T, D, Hs, seed=7)
    h_top, s_T, cache = layers.stacked_forward(name, x, s0, params, **opts)
    assert h_top.shape == (N, T, Hs[-1]) and len(s_T) == 2
    w, v = rng.standard_normal(h_top.shape), like(s_T, rng)

    def loss():
        h_top, s_T, _ = layers.stacked_forward(name, x, s0, params, **opts)
        return np.sum(w * h_top) + sum(np.sum(v_ * s_) for v_, s_ in
                                       zip(flat(v, "s").values(), flat(s_T, "s").values()))

    dx, ds0, grads = layers.stacked_backward(w, cache, dstates_T=v)
    arrays = {"x": x, **flat(params, "params"), **flat(s0, "states0")}
    analytic = {"x": dx, **flat(grads, "params"), **flat(ds0, "states0")}
    assert worst(check_gradients(loss, arrays, analytic)) < TOL


@pytest.mark.parametrize("name, opts, iopts", CELLS[::2], ids=CELL_IDS[::2])
def test_stacked_gradients_with_losses_on_every_layer(name, opts, iopts):
    N, T, D, Hs = 2, 3, 2, [3, 4]
    rng, params, x, s0 = _stacked_setup(name, iopts, N, T, D, Hs, seed=8)
    hs, _, cache = layers.stacked_forward(name, x, s0, params, all_layers=True, **opts)
    assert [h.shape for h in hs] == [(N, T, 3), (N, T, 4)]
    ws = [rng.standard_normal(h.shape) for h in hs]

    def loss():
        hs, _, _ = layers.stacked_forward(name, x, s0, params, all_layers=True, **opts)
        return sum(np.sum(w * h) for w, h in zip(ws, hs))

    dx, ds0, grads = layers.stacked_backward(ws, cache)
    arrays = {"x": x, **flat(params, "params"), **flat(s0, "states0")}
    analytic = {"x": dx, **flat(grads, "params"), **flat(ds0, "states0")}
    assert worst(check_gradients(loss, arrays, analytic)) < TOL
    # a loss on the lower layer only: None stands for "no loss on the top layer"
    dx1, _, grads1 = layers.stacked_backward([ws[0], None], cache)
    assert all(not g.any() for g in grads1[1].values())
    assert np.abs(dx1).max() > 0


@pytest.mark.parametrize("name, opts, iopts", CELLS, ids=CELL_IDS)
def test_stacked_with_one_layer_is_the_plain_cell(name, opts, iopts):
    N, T, D, H = 2, 4, 3, 5
    rng, params, x, s0 = _stacked_setup(name, iopts, N, T, D, [H], seed=9)
    mod = cells.get(name)
    h, s_T, cache = layers.stacked_forward(name, x, s0, params, **opts)
    ref_h, ref_s_T, ref_cache = mod.forward(x, s0[0], params[0], **opts)
    np.testing.assert_array_equal(h, ref_h)
    dh = rng.standard_normal(h.shape)
    dx, ds0, grads = layers.stacked_backward(dh, cache)
    ref_dx, ref_ds0, ref_grads = mod.backward(dh, ref_cache)
    np.testing.assert_array_equal(dx, ref_dx)
    for key in params[0]:
        np.testing.assert_array_equal(grads[0][key], ref_grads[key])
    for key in mod.STATE_KEYS:
        np.testing.assert_array_equal(s_T[0][key], ref_s_T[key])
        np.testing.assert_array_equal(ds0[0][key], ref_ds0[key])


def test_stacked_layer_reads_the_layer_below_at_the_same_step():
    rng, params, x, s0 = _stacked_setup("rnn", {}, 2, 4, 3, [4, 5], seed=10)
    mod = cells.get("rnn")
    h_top, _, _ = layers.stacked_forward("rnn", x, s0, params)
    h0, _, _ = mod.forward(x, s0[0], params[0])
    h1, _, _ = mod.forward(np.ascontiguousarray(h0), s0[1], params[1])
    np.testing.assert_array_equal(h_top, h1)


def test_stacked_init_sizes_and_float32():
    params = layers.stacked_init("lstm", 3, [4, 6], 2, seed=0, dtype=np.float32)
    assert params[1]["W_f"].shape == (6, 6 + 4) and params[1]["W_f"].dtype == np.float32
    s0 = [{"h": np.zeros((2, H), np.float32), "c": np.zeros((2, H), np.float32)} for H in (4, 6)]
    h, _, _ = layers.stacked_forward("lstm", np.ones((2, 3, 3), np.float32), s0, params)
    assert h.dtype == np.float32 and h.shape == (2, 3, 6)


# ---------------------------------------------------------------------------- bad input

def test_unknown_cell_name():
    x, s0 = np.zeros((1, 2, 3)), {"h": np.zeros((1, 4))}
    with pytest.raises(ValueError, match="cell"):
        cells.get("elmann")
    with pytest.raises(ValueError, match="cell"):
        layers.bidirectional_init("transformer", 3, 4)
    with pytest.raises(ValueError, match="cell"):
        layers.stacked_init("LSTM", 3, 4, 2)
    with pytest.raises(ValueError, match="cell"):
        layers.truncated_bptt("elman", x, s0, {}, np.zeros((1, 2, 4)), 1)


def test_bidirectional_bad_nesting():
    params = layers.bidirectional_init("rnn", 3, 4)
    x = np.zeros((2, 5, 3))
    s = {"h": np.zeros((2, 4))}
    with pytest.raises(ValueError, match=r"state0.*'fwd'"):
        layers.bidirectional_forward("rnn", x, {"bwd": s}, params)
    with pytest.raises(ValueError, match="params"):
        layers.bidirectional_forward("rnn", x, {"fwd": s, "bwd": s}, params["fwd"])
    with pytest.raises(ValueError, match=r"direction 'bwd'.*x"):
        layers.bidirectional_forward("rnn", x, {"fwd": s, "bwd": s},
                                       {"fwd": params["fwd"], "bwd": cells.get("rnn").init_params(2, 4)})
    h, _, cache = layers.bidirectional_forward("rnn", x, {"fwd": s, "bwd": s}, params)
    with pytest.raises(ValueError, match="dh"):
        layers.bidirectional_backward(h[:, :, :4], cache)
    with pytest.raises(ValueError, match="dstate_T"):
        layers.bidirectional_backward(h, cache, dstate_T={"fwd": s})


def test_stacked_bad_lists_and_layer_shapes():
    params = layers.stacked_init("rnn", 3, [4, 5], 2)
    x = np.zeros((2, 5, 3))
    s0 = [{"h": np.zeros((2, 4))}, {"h": np.zeros((2, 5))}]
    with pytest.raises(ValueError, match="states0"):
        layers.stacked_forward("rnn", x, s0[:1], params)
    with pytest.raises(TypeError, match="states0"):
        layers.stacked_forward("rnn", x, tuple(s0), params)
    with pytest.raises(ValueError, match=r"H"):
        layers.stacked_init("rnn", 3, [4, 5, 6], 2)
    # layer 1 must read layer 0's H = 4, not 3
    bad = [params[0], cells.get("rnn").init_params(3, 5)]
    with pytest.raises(ValueError, match=r"params_list\[1\]\['W_x'\].*\(5, 4\).*layer 0"):
        layers.stacked_forward("rnn", x, s0, bad)
    bad = [params[0], cells.get("gru").init_params(3, 5, form="cudnn")]
    with pytest.raises(ValueError, match=r"params_list\[1\]\['W_ir'\]"):
        layers.stacked_forward("gru", x, s0, [cells.get("gru").init_params(3, 4, form="cudnn"),
                                                bad[1]], form="cudnn")
    h, _, cache = layers.stacked_forward("rnn", x, s0, params)
    with pytest.raises(ValueError, match="dh"):
        layers.stacked_backward([h], cache)
    with pytest.raises(ValueError, match="dstates_T"):
        layers.stacked_backward(h, cache, dstates_T=[None])


def test_truncated_bptt_bad_arguments():
    params = cells.get("rnn").init_params(3, 4)
    x, s0 = np.zeros((2, 6, 3)), {"h": np.zeros((2, 4))}
    with pytest.raises(ValueError, match="truncate"):
        layers.truncated_bptt("rnn", x, s0, params, np.zeros((2, 6, 4)), 0)
    with pytest.raises(ValueError, match="dh"):
        layers.truncated_bptt("rnn", x, s0, params, np.zeros((2, 5, 4)), 2)
    with pytest.raises(ValueError, match="dh"):
        layers.truncated_bptt("rnn", x, s0, params, np.zeros((2, 6, 3)), 2)
    with pytest.raises(TypeError, match="loss"):
        layers.truncated_bptt_loss("rnn", x, s0, params, np.zeros((2, 6, 4)), 2)
    with pytest.raises(ValueError, match="state"):
        layers.truncated_bptt("rnn", x, {"c": s0["h"]}, params, np.zeros((2, 6, 4)), 2)
    with pytest.raises(ValueError, match=r"window \[0, 2\): x"):
        layers.truncated_bptt("rnn", np.zeros((2, 6, 2)), s0, params, np.zeros((2, 6, 4)), 2)
    with pytest.raises(TypeError, match="dh"):
        layers.truncated_bptt("rnn", x, s0, params, np.zeros((2, 6, 4), np.float32), 2)
    with pytest.raises(TypeError, match="loss"):
        layers.truncated_bptt_loss("rnn", x, s0, params, lambda h, start: h, 2)
    with pytest.raises(ValueError, match="loss"):
        layers.truncated_bptt_loss("rnn", x, s0, params, lambda h, start: (0.0, h[:, :, :2]), 2)
