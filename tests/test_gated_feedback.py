"""Tests for rnn_core.gated_feedback: the gated-feedback RNN (seed 002, eq 2.10)."""
import numpy as np
import pytest

from rnn_core.cells import gated_feedback as gf
from rnn_core import cells, layers
from rnn_core.activations import sigmoid
from rnn_core.gradcheck import check_gradients

pytestmark = pytest.mark.filterwarnings("error")

# (N, T, D, H, L): N = 1, T = 1, H != D, one and three layers, unequal layer sizes
SHAPES = [(2, 4, 3, [2, 3], 2), (1, 1, 3, 2, 2), (1, 3, 2, [3, 2, 4], 3), (2, 3, 2, 3, 1)]
TOL = 1e-7


def sizes(H, L):
    return list(H) if isinstance(H, list) else [H] * L


def setup(N, T, D, H, L, seed, jitter=0.3):
    rng = np.random.default_rng(seed)
    params = gf.init_params(D, H, L, seed=seed)
    for p in params.values():
        p += jitter * rng.standard_normal(p.shape)
    s0 = {f"h{j + 1}": rng.standard_normal((N, Hj)) for j, Hj in enumerate(sizes(H, L))}
    return rng, params, rng.standard_normal((N, T, D)), s0


def reference_forward(x, state0, params, L):
    """seed 002 eq 2.10 written literally: one loop over t, j and the sender i."""
    N, T, _ = x.shape
    h_prev = [state0[f"h{i}"] for i in range(1, L + 1)]
    out = [[] for _ in range(L)]
    for t in range(T):
        hstar = np.concatenate(h_prev, axis=1)              # h*_{t-1}
        below, new = x[:, t], []                             # h_t^0 = x_t
        for j in range(1, L + 1):
            a = below @ params[f"W_{j}"].T + params[f"b_{j}"]
            for i in range(1, L + 1):
                g = sigmoid(below @ params[f"w_g_{i}_{j}"] + hstar @ params[f"u_g_{i}_{j}"])  # (N,)
                a = a + g[:, None] * (h_prev[i - 1] @ params[f"U_{i}_{j}"].T)
            below = np.tanh(a)
            new.append(below)
            out[j - 1].append(below)
        h_prev = new
    return [np.stack(o, axis=1) for o in out]


# ---------------------------------------------------------------------------- parameters

def test_param_keys_and_shapes_match_the_symbols():
    shapes = gf.param_shapes(3, [4, 5], 2)
    assert shapes["W_1"] == (4, 3) and shapes["W_2"] == (5, 4)        # W^{j-1->j}
    assert shapes["U_1_2"] == (5, 4) and shapes["U_2_1"] == (4, 5)    # U^{i->j}: (H_j, H_i)
    assert shapes["w_g_2_1"] == (3,) and shapes["w_g_1_2"] == (4,)    # reads h_t^{j-1}
    assert shapes["u_g_1_1"] == (9,)                                  # reads h*_{t-1}
    assert shapes["b_2"] == (5,)
    assert len(shapes) == 2 * 2 + 3 * 4
    params = gf.init_params(3, [4, 5], 2, seed=1)
    assert {k: v.shape for k, v in params.items()} == shapes
    np.testing.assert_array_equal(gf.init_params(3, [4, 5], 2, seed=1)["U_2_1"], params["U_2_1"])
    assert gf.init_params(3, 4, 2, dtype=np.float32)["W_1"].dtype == np.float32


# ---------------------------------------------------------------------------- gradients

@pytest.mark.parametrize("shape", SHAPES)
def test_gradients_with_losses_on_every_layer_and_the_final_state(shape):
    N, T, D, H, L = shape
    rng, params, x, s0 = setup(N, T, D, H, L, seed=11)
    hs, s_T, cache = gf.forward(x, s0, params, all_layers=True)
    assert [h.shape for h in hs] == [(N, T, Hj) for Hj in sizes(H, L)]
    ws = [rng.standard_normal(h.shape) for h in hs]
    vs = {k: rng.standard_normal(s.shape) for k, s in s_T.items()}

    def loss():
        hs, s_T, _ = gf.forward(x, s0, params, all_layers=True)
        return sum(np.sum(w * h) for w, h in zip(ws, hs)) + sum(np.sum(vs[k] * s_T[k]) for k in s_T)

    dx, ds0, grads = gf.backward(ws, cache, dstate_T=vs)
    assert set(grads) == set(params) and set(ds0) == set(s0)
    arrays = {"x": x, **params, **{f"state0/{k}": v for k, v in s0.items()}}
    analytic = {"x": dx, **grads, **{f"state0/{k}": v for k, v in ds0.items()}}
    assert max(check_gradients(loss, arrays, analytic).values()) < TOL


def test_gradients_with_a_loss_on_the_top_layer_only():
    N, T, D, H, L = 2, 3, 2, [3, 2], 2
    rng, params, x, s0 = setup(N, T, D, H, L, seed=12)
    h_top, _, cache = gf.forward(x, s0, params)
    w = rng.standard_normal(h_top.shape)

    def loss():
        return np.sum(w * gf.forward(x, s0, params)[0])

    dx, ds0, grads = gf.backward(w, cache)
    arrays = {"x": x, **params, **{f"state0/{k}": v for k, v in s0.items()}}
    analytic = {"x": dx, **grads, **{f"state0/{k}": v for k, v in ds0.items()}}
    assert max(check_gradients(loss, arrays, analytic).values()) < TOL
    same = gf.backward([None, w], cache)                  # the list form, no loss on layer 1
    np.testing.assert_array_equal(same[0], dx)


# ---------------------------------------------------------------------------- known values

@pytest.mark.parametrize("shape", SHAPES)
def test_forward_is_the_equation_written_literally(shape):
    N, T, D, H, L = shape
    _, params, x, s0 = setup(N, T, D, H, L, seed=13)
    hs, s_T, _ = gf.forward(x, s0, params, all_layers=True)
    ref = reference_forward(x, s0, params, L)
    for j in range(L):
        np.testing.assert_allclose(hs[j], ref[j], rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(s_T[f"h{j + 1}"], ref[j][:, -1], rtol=1e-12, atol=1e-14)


def test_saturated_gates_reduce_it_to_a_stacked_elman_rnn():
    # x_t[0] = 1 is a constant input and unit 0 of layer 1 is pinned at tanh(40) = 1, so
    # gate weights of +-800 on those entries make every g^{i->j} exactly 1 for i == j and
    # exactly 0 for i != j (u_g = 0): sigmoid(-800) underflows to 0, sigmoid(-40) is 4e-18. The off-diagonal U^{i->j} stay random and must have
    # no effect: what remains is a stack of two Elman tanh RNNs with W_h^j = U^{j->j}.
    N, T, D, H, L = 2, 5, 3, [4, 3], 2
    rng, params, x, s0 = setup(N, T, D, H, L, seed=14)
    x[:, :, 0] = 1.0
    params["W_1"][0] = [40.0, 0.0, 0.0]
    params["b_1"][0] = 0.0
    for i in (1, 2):
        params[f"U_{i}_1"][0] = 0.0
        for j in (1, 2):
            params[f"u_g_{i}_{j}"][:] = 0.0
            params[f"w_g_{i}_{j}"][:] = 0.0
            params[f"w_g_{i}_{j}"][0] = 800.0 if i == j else -800.0
    s0["h1"][:, 0] = 1.0
    hs, s_T, cache = gf.forward(x, s0, params, all_layers=True)
    assert np.all(cache["gs"][0][..., 0] == 1.0) and np.all(cache["gs"][0][..., 1] == 0.0)
    assert np.all(cache["gs"][1][..., 1] == 1.0) and np.all(cache["gs"][1][..., 0] == 0.0)

    elman = [{"W_x": params[f"W_{j}"], "W_h": params[f"U_{j}_{j}"], "b": params[f"b_{j}"]}
             for j in (1, 2)]
    states = [{"h": s0["h1"]}, {"h": s0["h2"]}]
    ref, ref_T, ref_cache = layers.stacked_forward("rnn", x, states, elman, all_layers=True)
    for j in range(2):
        np.testing.assert_allclose(hs[j], ref[j], rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(s_T[f"h{j + 1}"], ref_T[j]["h"], rtol=1e-13, atol=1e-15)

    # backward too: the shut feedback paths and the saturated gates get exactly zero gradient
    ws = [rng.standard_normal(h.shape) for h in hs]
    dx, ds0, grads = gf.backward(ws, cache)
    ref_dx, ref_ds0, ref_grads = layers.stacked_backward(ws, ref_cache)
    np.testing.assert_allclose(dx, ref_dx, rtol=1e-12, atol=1e-14)
    for j in (1, 2):
        for mine, theirs in ((f"W_{j}", "W_x"), (f"U_{j}_{j}", "W_h"), (f"b_{j}", "b")):
            np.testing.assert_allclose(grads[mine], ref_grads[j - 1][theirs], rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(ds0[f"h{j}"], ref_ds0[j - 1]["h"], rtol=1e-12, atol=1e-14)
    assert not grads["U_1_2"].any() and not grads["U_2_1"].any()
    assert all(not grads[k].any() for k in grads if k.startswith(("w_g", "u_g")))


def test_one_layer_with_zero_gate_weights_is_an_elman_rnn_with_half_U():
    # L = 1, w_g = u_g = 0: the single gate is sigmoid(0) = 1/2, so W_h = U^{1->1} / 2.
    N, T, D, H = 2, 6, 3, 4
    _, params, x, s0 = setup(N, T, D, H, 1, seed=15)
    params["w_g_1_1"][:] = 0.0
    params["u_g_1_1"][:] = 0.0
    h, s_T, _ = gf.forward(x, s0, params)
    elman = {"W_x": params["W_1"], "W_h": 0.5 * params["U_1_1"], "b": params["b_1"]}
    ref, ref_T, _ = cells.get("rnn").forward(x, {"h": s0["h1"]}, elman)
    np.testing.assert_allclose(h, ref, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(s_T["h1"], ref_T["h"], rtol=1e-13, atol=1e-15)


def test_a_higher_layer_feeds_a_lower_one_only_through_the_gate_one_step_later():
    # U^{2->1} carries h_{t-1}^2 into layer 1: changing it leaves step 0 of layer 1 alone
    # (h_{-1}^2 = 0 here) and changes every later step.
    _, params, x, s0 = setup(2, 4, 3, 3, 2, seed=16)
    s0["h2"][:] = 0.0
    h1, _, _ = gf.forward(x, s0, params, all_layers=True)
    params["U_2_1"] += 1.0
    h2, _, _ = gf.forward(x, s0, params, all_layers=True)
    np.testing.assert_array_equal(h2[0][:, 0], h1[0][:, 0])
    assert not np.allclose(h2[0][:, 1:], h1[0][:, 1:])


# ---------------------------------------------------------------------------- bad input

def test_bad_input_is_reported_by_argument_name():
    params = gf.init_params(3, [4, 5], 2)
    x = np.zeros((2, 6, 3))
    s0 = gf.zero_state(2, [4, 5], 2)
    with pytest.raises(ValueError, match="H"):
        gf.init_params(3, [4, 5, 6], 2)
    with pytest.raises(ValueError, match=r"params.*missing \['U_2_1'\]"):
        gf.forward(x, s0, {k: v for k, v in params.items() if k != "U_2_1"})
    with pytest.raises(ValueError, match=r"params\['W_2'\]"):
        gf.forward(x, s0, {**params, "W_2": np.zeros((5, 3))})   # layer 2 must read H_1 = 4
    with pytest.raises(ValueError, match=r"params.*b_1 \.\. b_L"):
        gf.forward(x, s0, {k: v for k, v in params.items() if k != "b_1"})
    with pytest.raises(ValueError, match="state0"):
        gf.forward(x, {"h1": s0["h1"]}, params)
    with pytest.raises(ValueError, match="state0"):
        gf.forward(x, [s0["h1"], s0["h2"]], params)
    with pytest.raises(ValueError, match=r"state0\['h2'\]"):
        gf.forward(x, {"h1": s0["h1"], "h2": np.zeros((2, 4))}, params)
    with pytest.raises(ValueError, match="x"):
        gf.forward(np.zeros((2, 6, 2)), s0, params)
    with pytest.raises(TypeError, match="x"):
        gf.forward(np.zeros((2, 6, 3), np.int64), s0, params)
    with pytest.raises(TypeError, match="x"):
        gf.forward(x.astype(np.float32), s0, params)
    with pytest.raises(ValueError, match="x"):
        gf.forward(np.full((2, 6, 3), np.nan), s0, params)
    h, _, cache = gf.forward(x, s0, params)
    with pytest.raises(ValueError, match="dh"):
        gf.backward([h], cache)
    with pytest.raises(ValueError, match=r"dh\[0\]"):
        gf.backward([h, h], cache)
    with pytest.raises(ValueError, match="dh"):
        gf.backward(h[:, :, :4], cache)
    with pytest.raises(ValueError, match="dstate_T"):
        gf.backward(h, cache, dstate_T={"h2": np.zeros((2, 5))})
