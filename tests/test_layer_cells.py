"""Tests for layer_cells.stacked_cell and layer_cells.bidirectional_cell: the compositions
as cells."""
import numpy as np
import pytest

from rnn_core.cells import layer_cells, layers
from rnn_core.training import train
from rnn_core.bptt.gradcheck import check_gradients
from test_layers import flat

pytestmark = pytest.mark.filterwarnings("error")
TOL = 1e-7


COMPOSITES = [
    ("stacked rnn M=3", lambda: layer_cells.stacked_cell("rnn", 3)),
    ("stacked lstm M=2", lambda: layer_cells.stacked_cell("lstm", 2)),
    ("stacked gru-cudnn M=2", lambda: layer_cells.stacked_cell("gru", 2, form="cudnn")),
    ("bidirectional rnn-relu", lambda: layer_cells.bidirectional_cell("rnn", activation="relu")),
    ("bidirectional lstm", lambda: layer_cells.bidirectional_cell("lstm")),
    ("bidirectional gru", lambda: layer_cells.bidirectional_cell("gru")),
]


def setup(comp, N=2, T=3, D=3, H=2, seed=0):
    rng = np.random.default_rng(seed)
    params = comp.init_params(D, H, seed=seed + 1)
    x = rng.standard_normal((N, T, D))
    s0 = {k: 0.5 * rng.standard_normal(v.shape) for k, v in comp.zero_state(N, H).items()}
    h, sT, _ = comp.forward(x, s0, params)
    w = rng.standard_normal(h.shape)
    ws = {k: rng.standard_normal(v.shape) for k, v in sT.items()}
    return params, x, s0, w, ws


@pytest.mark.parametrize("name,make", COMPOSITES, ids=[c[0] for c in COMPOSITES])
def test_gradients_of_every_parameter_input_and_initial_state(name, make):
    comp = make()
    params, x, s0, w, ws = setup(comp)

    def loss():
        h, sT, _ = comp.forward(x, s0, params)
        return float((w * h).sum() + sum((ws[k] * sT[k]).sum() for k in sT))

    h, sT, cache = comp.forward(x, s0, params)
    dx, ds0, grads = comp.backward(w, cache, ws)
    arrays = {"x": x, **flat(s0, "state0"), **flat(params, "params")}
    analytic = {"x": dx, **flat(ds0, "state0"), **flat(grads, "params")}
    errors = check_gradients(loss, arrays, analytic)
    assert max(errors.values()) < TOL, errors


@pytest.mark.parametrize("name,make", COMPOSITES[:1] + COMPOSITES[4:5],
                         ids=["stacked", "bidirectional"])
def test_unchecked_pass_equals_the_checked_one(name, make):
    comp = make()
    params, x, s0, w, ws = setup(comp)
    assert comp.options({}) == {}
    h, sT, cache = comp.forward(x, s0, params)
    h2, sT2, cache2 = comp.forward(x, s0, params, check=False)
    np.testing.assert_array_equal(h, h2)
    dx, ds0, g = comp.backward({1: w[:, 1]}, cache)
    for c in (cache, cache2):                      # either forward's cache, unchecked backward
        dx2, ds02, g2 = comp.backward({1: w[:, 1]}, c, check=False)
        np.testing.assert_allclose(dx, dx2, rtol=1e-12)
        for a, b in zip(flat(g, "g").values(), flat(g2, "g").values()):
            np.testing.assert_allclose(a, b, rtol=1e-12)


def test_a_stack_equals_stacked_forward_and_a_bidirectional_layer_its_two_directions():
    stack = layer_cells.stacked_cell("rnn", 2)
    params, x, _, _, _ = setup(stack)
    h, sT, _ = stack.forward(x, None, params)
    hs, states, _ = layers.stacked_forward("rnn", x, None, params, all_layers=True)
    np.testing.assert_array_equal(h, hs[-1])
    np.testing.assert_array_equal(sT["h0"], states[0]["h"])
    bi = layer_cells.bidirectional_cell("rnn")
    p = bi.init_params(3, 2, seed=4)
    h, _, _ = bi.forward(x, None, p)
    np.testing.assert_array_equal(h, layers.bidirectional_forward("rnn", x, None, p)[0])
    # the backward half at step t has read x_t .. x_T only: changing x_0 leaves it alone
    x2 = x.copy()
    x2[:, 0] += 1.0
    h2 = bi.forward(x2, None, p)[0]
    np.testing.assert_array_equal(h2[:, 1:, 2:], h[:, 1:, 2:])
    assert not np.allclose(h2[:, :, :2], h[:, :, :2])


def test_truncated_stack_cuts_every_layer_at_the_window_boundary():
    stack = layer_cells.stacked_cell("rnn", 2)
    params, x, _, _, _ = setup(stack, T=4)
    _, _, cache = stack.forward(x, None, params)
    dx, _, _ = stack.backward({3: np.ones((2, 2))}, cache, truncate=2)
    assert np.all(dx[:, :2] == 0) and np.any(dx[:, 2:] != 0)


def test_fit_trains_a_bidirectional_layer():
    from rnn_core.experiments import depth
    val = depth.lookahead(40, 6, seed=5, k=1, n_symbols=2)
    comp = layer_cells.bidirectional_cell("rnn")
    params = {"cell": comp.init_params(2, 4, seed=0),
              "out": train.init_model("rnn", 1, 8, 2)["out"]}
    before = train.evaluate(comp, params, val)[0]
    params, hist = train.fit(comp, val, 4, steps=40, lr=0.1, params=params, val_every=40)
    assert hist.val_loss[-1] < before


def test_bad_input_names_the_argument():
    stack = layer_cells.stacked_cell("rnn", 2)
    params, x, s0, w, _ = setup(stack)
    with pytest.raises(ValueError, match="state0: expected a dict with keys"):
        stack.forward(x, {"h": s0["h0"]}, params)
    with pytest.raises(ValueError, match="params: expected a list of 2 entries"):
        stack.forward(x, None, params[:1])
    with pytest.raises(ValueError, match="opts: expected no options"):
        stack.options({"activation": "relu"})
    with pytest.raises(ValueError, match="M: expected"):
        layer_cells.stacked_cell("rnn", 0)
    with pytest.raises(ValueError, match="activation"):
        layer_cells.bidirectional_cell("rnn", activation="softplus")
    bi = layer_cells.bidirectional_cell("rnn")
    p = bi.init_params(3, 2)
    _, _, cache = bi.forward(x, None, p)
    with pytest.raises(ValueError, match="truncate: expected None"):
        bi.backward(np.zeros((2, 3, 4)), cache, truncate=2)
    with pytest.raises(ValueError, match="dh"):
        bi.backward(np.zeros((2, 3, 2)), cache)
    with pytest.raises(ValueError, match="x"):
        bi.forward(x[:, :, :2], None, p)
    with pytest.raises(ValueError, match="x"):
        bi.forward(np.full_like(x, np.nan), None, p)
