"""Tests for rnn_core.cells.gated_feedback (Chung et al. 2015; eq. 2.10 of Galvan's thesis)."""
import numpy as np
import pytest

from rnn_core import cells
from rnn_core.cells import layers
from rnn_core.nn.activations import sigmoid
from rnn_core.cells import elman
from rnn_core.cells import gated_feedback as gf
from rnn_core.bptt.gradcheck import check_gradients

pytestmark = pytest.mark.filterwarnings("error")

# (N, T, D, H, L): N = 1, T = 1, H != D, one and three layers, unequal layer sizes
SHAPES = [(2, 4, 3, [2, 3], 2), (1, 1, 3, 2, 2), (1, 3, 2, [3, 2, 4], 3), (2, 3, 2, 3, 1)]
TOL = 1e-7


def sizes(H, L):
    return list(H) if isinstance(H, list) else [H] * L


def setup(N, T, D, H, L, seed, jitter=0.3):
    rng = np.random.default_rng(seed)
    params = gf.init_params(D, H, seed=seed, L=L)
    for p in params.values():
        p += jitter * rng.standard_normal(p.shape)
    s0 = {"h": rng.standard_normal((N, sum(sizes(H, L))))}
    return rng, params, rng.standard_normal((N, T, D)), s0


def reference_forward(x, state0, params, H, L):
    """Eq. 2.10 written literally: one loop over t, the receiver j and the sender i.
    Returns every layer's states [h^1 (N, T, H_1), ...]."""
    N, T, _ = x.shape
    h_prev = gf.split_layers(state0["h"], H, L=L)
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


def arrays_and_grads(x, s0, params, dx, ds0, grads):
    return ({"x": x, "state0": s0["h"], **params}, {"x": dx, "state0": ds0["h"], **grads})


# ---------------------------------------------------------------------------- interface

def test_it_has_the_cell_interface():
    assert cells.get("gated_feedback") is gf
    assert gf.STATE_KEYS == ("h",) and gf.OPTIONS == {"L": 2, "output": "top"}
    for name in ("options", "param_shapes", "init_params", "zero_state", "step_forward",
                 "step_backward", "forward", "backward", "recurrence", "carry"):
        assert callable(getattr(gf, name))
    zero = gf.zero_state(3, [4, 5])
    assert set(zero) == {"h"} and zero["h"].shape == (3, 9) and not zero["h"].any()
    assert gf.zero_state(3, 4, L=3)["h"].shape == (3, 12)
    assert gf.zero_state(1, 2, dtype=np.float32)["h"].dtype == np.float32


def test_param_keys_and_shapes_match_the_symbols():
    shapes = gf.param_shapes(3, [4, 5])                               # L = len(H) = 2
    assert shapes == gf.param_shapes(3, [4, 5], L=2)
    assert shapes["W_1"] == (4, 3) and shapes["W_2"] == (5, 4)        # W^{j-1->j}
    assert shapes["U_1_2"] == (5, 4) and shapes["U_2_1"] == (4, 5)    # U^{i->j}: (H_j, H_i)
    assert shapes["w_g_2_1"] == (3,) and shapes["w_g_1_2"] == (4,)    # reads h_t^{j-1}
    assert shapes["u_g_1_1"] == (9,)                                  # reads h*_{t-1}
    assert shapes["b_2"] == (5,)
    assert len(shapes) == 2 * 2 + 3 * 4
    assert len(gf.param_shapes(2, 3, L=3)) == 3 * 2 + 3 * 9
    params = gf.init_params(3, [4, 5], seed=1)
    assert {k: v.shape for k, v in params.items()} == shapes
    np.testing.assert_array_equal(gf.init_params(3, [4, 5], seed=1)["U_2_1"], params["U_2_1"])
    assert not np.array_equal(gf.init_params(3, [4, 5], seed=2)["U_2_1"], params["U_2_1"])
    assert gf.init_params(3, 4, dtype=np.float32)["W_1"].dtype == np.float32


def test_split_layers_cuts_h_star_into_views_of_each_layer():
    h = np.arange(2 * 5 * 9, dtype=float).reshape(2, 5, 9)
    h1, h2 = gf.split_layers(h, [4, 5])
    np.testing.assert_array_equal(np.concatenate([h1, h2], axis=-1), h)
    assert h1.shape == (2, 5, 4) and h2.shape == (2, 5, 5) and np.shares_memory(h2, h)
    assert [a.shape for a in gf.split_layers(np.zeros((3, 6)), 2, L=3)] == [(3, 2)] * 3
    with pytest.raises(ValueError, match=r"h: expected a last axis of size S = 9"):
        gf.split_layers(np.zeros((2, 8)), [4, 5])


# ---------------------------------------------------------------------------- gradients

@pytest.mark.parametrize("shape", SHAPES)
def test_gradients_with_losses_on_every_layer_and_the_final_state(shape):
    N, T, D, H, L = shape
    rng, params, x, s0 = setup(N, T, D, H, L, seed=11)
    hs, s_T, cache = gf.forward(x, s0, params, output="all")
    assert hs.shape == (N, T, sum(sizes(H, L))) and s_T["h"].shape == s0["h"].shape
    w, v = rng.standard_normal(hs.shape), rng.standard_normal(s_T["h"].shape)

    def loss():
        hs, s_T, _ = gf.forward(x, s0, params, output="all")
        return np.sum(w * hs) + np.sum(v * s_T["h"])

    dx, ds0, grads = gf.backward(w, cache, dstate_T={"h": v})
    assert set(grads) == set(params) and set(ds0) == {"h"}
    arrays, analytic = arrays_and_grads(x, s0, params, dx, ds0, grads)
    assert max(check_gradients(loss, arrays, analytic).values()) < TOL


@pytest.mark.parametrize("dh_at", [None, [-1], [0, 2]], ids=["all-steps", "last-step", "steps-0-2"])
def test_gradients_with_a_loss_on_the_top_layer_only(dh_at):
    N, T, D, H, L = 2, 3, 2, [3, 2], 2
    rng, params, x, s0 = setup(N, T, D, H, L, seed=12)
    h_top, _, cache = gf.forward(x, s0, params)
    assert h_top.shape == (N, T, 2)
    w = rng.standard_normal(h_top.shape)
    if dh_at is None:
        dh, mask = w, np.ones(T)
    else:                                        # upstream gradient at chosen steps only
        dh = {t: w[:, t] for t in dh_at}
        mask = np.zeros(T)
        mask[dh_at] = 1.0

    def loss():
        return np.sum(mask[:, None] * w * gf.forward(x, s0, params)[0])

    dx, ds0, grads = gf.backward(dh, cache)
    arrays, analytic = arrays_and_grads(x, s0, params, dx, ds0, grads)
    assert max(check_gradients(loss, arrays, analytic).values()) < TOL


def test_state0_none_is_zeros_and_dh_none_takes_only_dstate_T():
    rng, params, x, _ = setup(2, 4, 3, 2, 2, seed=17)
    zeros = gf.zero_state(2, 2)
    h, s_T, cache = gf.forward(x, None, params)
    h0, s_T0, cache0 = gf.forward(x, zeros, params)
    np.testing.assert_array_equal(h, h0)
    v = {"h": rng.standard_normal(s_T["h"].shape)}
    dx, ds0, grads = gf.backward(None, cache, dstate_T=v)
    dx0, ds00, grads0 = gf.backward({0: np.zeros((2, 2))}, cache0, dstate_T=v)
    np.testing.assert_array_equal(dx, dx0)
    np.testing.assert_array_equal(ds0["h"], ds00["h"])
    assert all(np.array_equal(grads[k], grads0[k]) for k in grads)
    nothing = gf.backward(None, cache)                     # no loss at all: all zeros
    assert not nothing[0].any() and not nothing[1]["h"].any()
    assert not any(g.any() for g in nothing[2].values())


@pytest.mark.parametrize("k", [1, 3])                     # every step cut; windows of 3 and 2
def test_truncated_gradients_match_finite_differences_of_the_windowed_loss(k):
    # Truncated BPTT with window k is the exact gradient of the sum of per-window losses
    # when each window starts from the previous window's final state held CONSTANT.
    # The closure below reruns every window from those frozen states, so finite
    # differences see only what truncation keeps; state0 enters the first window.
    N, T, D, H, L = 2, 5, 2, [2, 3], 2
    rng, params, x, s0 = setup(N, T, D, H, L, seed=18)
    hs, _, cache = gf.forward(x, s0, params, output="all")
    w = rng.standard_normal(hs.shape)
    starts = list(range(0, T, k))
    frozen = [s0["h"]] + [hs[:, s - 1].copy() for s in starts[1:]]

    def loss():
        total = 0.0
        for s, h0 in zip(starts, frozen):
            h0 = s0["h"] if s == 0 else h0                  # read state0 itself, perturbed
            h_w, _, _ = gf.forward(x[:, s:s + k], {"h": h0}, params, output="all")
            total += np.sum(w[:, s:s + k] * h_w)
        return total

    dx, ds0, grads = gf.backward(w, cache, truncate=k)
    arrays, analytic = arrays_and_grads(x, s0, params, dx, ds0, grads)
    assert max(check_gradients(loss, arrays, analytic).values()) < TOL
    full = gf.backward(w, cache)
    if k < T:                                               # the cut really cut something
        assert not np.allclose(full[2]["U_1_1"], grads["U_1_1"])


def test_truncated_backward_equals_the_window_by_window_driver():
    # layers.truncated_bptt keeps one window's cache alive at a time; same gradient.
    rng, params, x, s0 = setup(2, 7, 2, [3, 2], 2, seed=23)
    dh = rng.standard_normal((2, 7, 2))
    _, _, cache = gf.forward(x, s0, params)
    want = gf.backward(dh, cache, truncate=3)
    got = layers.truncated_bptt("gated_feedback", x, s0, params, dh, 3).backward
    np.testing.assert_allclose(got[0], want[0], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(got[1]["h"], want[1]["h"], rtol=1e-12, atol=1e-15)
    for k in params:
        np.testing.assert_allclose(got[2][k], want[2][k], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("shape", [(2, 1, 3, [2, 3], 2), (1, 1, 2, [3, 2, 4], 3)])
def test_step_gradients_by_finite_differences(shape):
    N, _, D, H, L = shape
    rng, params, x, s0 = setup(N, 1, D, H, L, seed=19)
    x_t = x[:, 0].copy()
    state, cache = gf.step_forward(x_t, s0, params)
    w = rng.standard_normal(state["h"].shape)

    def loss():
        return np.sum(w * gf.step_forward(x_t, s0, params)[0]["h"])

    dx, dprev, grads = gf.step_backward({"h": w}, cache)
    arrays, analytic = arrays_and_grads(x_t, s0, params, dx, dprev, grads)
    assert max(check_gradients(loss, arrays, analytic).values()) < TOL


def test_the_sequence_is_the_step_in_a_loop_forward_and_backward():
    N, T, D, H, L = 2, 4, 3, [3, 2, 4], 3
    rng, params, x, s0 = setup(N, T, D, H, L, seed=20)
    hs, s_T, cache = gf.forward(x, s0, params, output="all")
    state, caches = s0, []
    for t in range(T):
        state, c = gf.step_forward(x[:, t], state, params)
        np.testing.assert_array_equal(state["h"], hs[:, t])
        caches.append(c)
    np.testing.assert_array_equal(state["h"], s_T["h"])
    w = rng.standard_normal(hs.shape)
    dx, ds0, grads = gf.backward(w, cache)
    carry, total = np.zeros_like(s0["h"]), {k: 0.0 for k in params}
    for t in range(T - 1, -1, -1):
        dx_t, d, g = gf.step_backward({"h": carry + w[:, t]}, caches[t])
        carry = d["h"]
        np.testing.assert_allclose(dx_t, dx[:, t], rtol=1e-12, atol=1e-15)
        total = {k: total[k] + g[k] for k in params}
    np.testing.assert_allclose(carry, ds0["h"], rtol=1e-12, atol=1e-15)
    for k in params:
        np.testing.assert_allclose(total[k], grads[k], rtol=1e-12, atol=1e-15)


def test_step_takes_any_leading_batch_axes():
    # _step and _step_back on states (R, N, S) equal R separate calls on (N, S).
    N, D, H, L, R = 2, 3, [2, 3], 2, 4
    rng, params, _, _ = setup(N, 1, D, H, L, seed=21)
    rec = gf.recurrent_weights(params)
    a = rng.standard_normal((R, N, 2))
    s = rng.standard_normal((R, N, L))
    prev = rng.standard_normal((R, N, 5))
    h, g = gf.recurrence((a, s), prev, rec)
    d = rng.standard_normal(h.shape)
    back = gf.carry(d, prev, h, g, rec)
    assert h.shape == (R, N, 5) and g.shape == (R, N, L, L)
    for r in range(R):
        h_r, g_r = gf.recurrence((a[r], s[r]), prev[r], rec)
        np.testing.assert_allclose(h[r], h_r, rtol=1e-14)
        np.testing.assert_allclose(g[r], g_r, rtol=1e-14)
        for got, want in zip(back, gf.carry(d[r], prev[r], h_r, g_r, rec)):
            np.testing.assert_allclose(got[r], want, rtol=1e-13, atol=1e-15)


# ---------------------------------------------------------------------------- no aliasing

def test_editing_returned_arrays_moves_no_gradient():
    N, T, D, H, L = 2, 4, 3, [2, 3], 2
    rng, params, x, s0 = setup(N, T, D, H, L, seed=22)
    w = rng.standard_normal((N, T, 3))
    for output in ("top", "all"):
        h, s_T, cache = gf.forward(x, s0, params, output=output)
        w_out = w if output == "top" else rng.standard_normal(h.shape)
        before = gf.backward(w_out, cache)
        h[...] = 7.0                                       # a student clips or scales in place
        s_T["h"][...] = -7.0
        after = gf.backward(w_out, cache)
        np.testing.assert_array_equal(before[0], after[0])
        assert all(np.array_equal(before[2][k], after[2][k]) for k in params)
    state, cache = gf.step_forward(x[:, 0], s0, params)
    d = {"h": rng.standard_normal(state["h"].shape)}
    before = gf.step_backward(d, cache)
    state["h"][...] = 7.0
    s0["h"][...] = 3.0                                     # and the state it passed in
    after = gf.step_backward(d, cache)
    np.testing.assert_array_equal(before[1]["h"], after[1]["h"])
    assert all(np.array_equal(before[2][k], after[2][k]) for k in params)


# ---------------------------------------------------------------------------- known values

@pytest.mark.parametrize("shape", SHAPES)
def test_forward_is_the_equation_written_literally(shape):
    N, T, D, H, L = shape
    _, params, x, s0 = setup(N, T, D, H, L, seed=13)
    hs, s_T, _ = gf.forward(x, s0, params, output="all")
    top, _, _ = gf.forward(x, s0, params)
    ref = reference_forward(x, s0, params, H, L)
    for j, h_j in enumerate(gf.split_layers(hs, H, L=L)):
        np.testing.assert_allclose(h_j, ref[j], rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(top, gf.split_layers(hs, H, L=L)[-1])
    np.testing.assert_array_equal(s_T["h"], hs[:, -1])


def test_saturated_gates_reduce_it_to_a_stacked_elman_rnn():
    # x_t[0] = 1 is a constant input and unit 0 of layer 1 is pinned at tanh(40) = 1, so
    # gate weights of +-800 on those entries make every g^{i->j} exactly 1 for i == j and
    # exactly 0 for i != j (u_g = 0): sigmoid(-800) underflows to 0, sigmoid(-40) is
    # 4e-18. The off-diagonal U^{i->j} stay random and must have no effect: what remains
    # is a stack of two Elman tanh RNNs with W_h^j = U^{j->j}.
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
    s0["h"][:, 0] = 1.0
    hs, s_T, cache = gf.forward(x, s0, params, output="all")
    gs = cache["gs"]                                       # (T, N, receiver, sender)
    assert np.all(gs[..., 0, 0] == 1.0) and np.all(gs[..., 0, 1] == 0.0)
    assert np.all(gs[..., 1, 1] == 1.0) and np.all(gs[..., 1, 0] == 0.0)

    el = [{"W_x": params[f"W_{j}"], "W_h": params[f"U_{j}_{j}"], "b": params[f"b_{j}"]}
          for j in (1, 2)]
    s1, s2 = gf.split_layers(s0["h"], H)
    h1, _, c1 = elman.forward(x, {"h": s1}, el[0])
    h2, _, c2 = elman.forward(h1, {"h": s2}, el[1])
    np.testing.assert_allclose(hs, np.concatenate([h1, h2], axis=-1), rtol=1e-13, atol=1e-15)

    # backward too: the shut feedback paths and the saturated gates get exactly zero gradient
    w = rng.standard_normal(hs.shape)
    w1, w2 = gf.split_layers(w, H)
    dx, ds0, grads = gf.backward(w, cache)
    dh1, ds2, g2 = elman.backward(w2, c2)
    ref_dx, ds1, g1 = elman.backward(w1 + dh1, c1)
    np.testing.assert_allclose(dx, ref_dx, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(ds0["h"], np.concatenate([ds1["h"], ds2["h"]], axis=1),
                               rtol=1e-12, atol=1e-14)
    for j, ref in ((1, g1), (2, g2)):
        for mine, theirs in ((f"W_{j}", "W_x"), (f"U_{j}_{j}", "W_h"), (f"b_{j}", "b")):
            np.testing.assert_allclose(grads[mine], ref[theirs], rtol=1e-12, atol=1e-14)
    assert not grads["U_1_2"].any() and not grads["U_2_1"].any()
    assert all(not grads[k].any() for k in grads if k.startswith(("w_g", "u_g")))


def test_one_layer_with_zero_gate_weights_is_an_elman_rnn_with_half_U():
    # L = 1, w_g = u_g = 0: the single gate is sigmoid(0) = 1/2, so W_h = U^{1->1} / 2.
    N, T, D, H = 2, 6, 3, 4
    _, params, x, s0 = setup(N, T, D, H, 1, seed=15)
    params["w_g_1_1"][:] = 0.0
    params["u_g_1_1"][:] = 0.0
    h, s_T, _ = gf.forward(x, s0, params)
    el = {"W_x": params["W_1"], "W_h": 0.5 * params["U_1_1"], "b": params["b_1"]}
    ref, ref_T, _ = elman.forward(x, s0, el)
    np.testing.assert_allclose(h, ref, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(s_T["h"], ref_T["h"], rtol=1e-13, atol=1e-15)


def test_a_higher_layer_feeds_a_lower_one_only_through_the_gate_one_step_later():
    # U^{2->1} carries h_{t-1}^2 into layer 1: changing it leaves step 0 of layer 1 alone
    # (h_{-1}^2 = 0 here) and changes every later step.
    _, params, x, s0 = setup(2, 4, 3, 3, 2, seed=16)
    s0["h"][:, 3:] = 0.0
    h1, _, _ = gf.forward(x, s0, params, output="all")
    params["U_2_1"] += 1.0
    h2, _, _ = gf.forward(x, s0, params, output="all")
    np.testing.assert_array_equal(h2[:, 0, :3], h1[:, 0, :3])
    assert not np.allclose(h2[:, 1:, :3], h1[:, 1:, :3])


# ---------------------------------------------------------------------------- bad input

def test_bad_options_are_reported_by_name():
    params = gf.init_params(3, [4, 5])
    x = np.zeros((2, 6, 3))
    with pytest.raises(ValueError, match="H: expected an int or a list of L = 2 sizes"):
        gf.init_params(3, [4, 5, 6], L=2)
    with pytest.raises(ValueError, match="activation: expected one of the gated_feedback"):
        gf.forward(x, None, params, activation="relu")
    with pytest.raises(ValueError, match="output: expected one of"):
        gf.forward(x, None, params, output="bottom")
    with pytest.raises(ValueError, match=r"L: expected an integer in \[1, inf\], received 0"):
        gf.zero_state(2, 3, L=0)
    with pytest.raises(ValueError, match="L: expected the layer count of params, 2.*received L = 3"):
        gf.forward(x, None, params, L=3)


def test_bad_input_is_reported_by_argument_name():
    params = gf.init_params(3, [4, 5])
    x = np.zeros((2, 6, 3))
    s0 = gf.zero_state(2, [4, 5])
    with pytest.raises(ValueError, match=r"params.*missing \['U_2_1'\]"):
        gf.forward(x, s0, {k: v for k, v in params.items() if k != "U_2_1"})
    with pytest.raises(ValueError, match=r"params\['W_2'\]"):
        gf.forward(x, s0, {**params, "W_2": np.zeros((5, 3))})   # layer 2 must read H_1 = 4
    with pytest.raises(ValueError, match=r"params.*b_1 \.\. b_L"):
        gf.forward(x, s0, {k: v for k, v in params.items() if k != "b_1"})
    with pytest.raises(ValueError, match="state0"):
        gf.forward(x, {"h1": s0["h"]}, params)
    with pytest.raises(ValueError, match=r"state0\['h'\]"):
        gf.forward(x, {"h": np.zeros((2, 4))}, params)
    with pytest.raises(ValueError, match="x.*looks time-major"):
        gf.forward(np.zeros((6, 2, 3)), s0, params)
    with pytest.raises(ValueError, match="x"):
        gf.forward(np.zeros((2, 6, 2)), s0, params)
    with pytest.raises(TypeError, match="x"):
        gf.forward(np.zeros((2, 6, 3), np.int64), s0, params)
    with pytest.raises(TypeError, match="x"):
        gf.forward(x.astype(np.float32), s0, params)
    with pytest.raises(ValueError, match="x"):
        gf.forward(np.full((2, 6, 3), np.nan), s0, params)
    with pytest.raises(ValueError, match="x_t"):
        gf.step_forward(np.zeros((2, 2)), s0, params)
    h, _, cache = gf.forward(x, s0, params)
    with pytest.raises(ValueError, match=r"dh: expected shape \(2, 6, 5\)"):
        gf.backward(h[:, :, :4], cache)
    with pytest.raises(ValueError, match=r"dh\[-1\]"):
        gf.backward({-1: h[:, -1, :4]}, cache)
    with pytest.raises(ValueError, match="dh key"):
        gf.backward({6: h[:, -1]}, cache)
    with pytest.raises(ValueError, match="dh: expected each step at most once"):
        gf.backward({5: h[:, -1], -1: h[:, -1]}, cache)
    with pytest.raises(ValueError, match="dstate_T"):
        gf.backward(h, cache, dstate_T={"h": np.zeros((2, 5))})
    with pytest.raises(ValueError, match="truncate"):
        gf.backward(h, cache, truncate=0)
    with pytest.raises(ValueError, match="cache"):
        gf.backward(h, {"hs": h})
    state, step_cache = gf.step_forward(x[:, 0], s0, params)
    with pytest.raises(ValueError, match="dstate_t"):
        gf.step_backward({"h": np.zeros((2, 4))}, step_cache)


@pytest.mark.parametrize("output", ["top", "all"])
def test_check_false_gives_what_the_checked_call_gives(output):
    N, T, D, H, L = 2, 4, 3, [2, 3], 2
    rng, params, x, s0 = setup(N, T, D, H, L, seed=5)
    full = gf.options({"output": output})
    h, s_T, cache = gf.forward(x, s0, params, output=output)
    h2, s_T2, cache2 = gf.forward(x, s0, params, check=False, **full)
    np.testing.assert_array_equal(h, h2)
    np.testing.assert_array_equal(s_T["h"], s_T2["h"])
    dh, ds = rng.standard_normal(h.shape), {"h": rng.standard_normal(s_T["h"].shape)}
    for upstream in (dh, {-1: dh[:, -1]}, None):
        a = gf.backward(upstream, cache, ds, truncate=2)
        b = gf.backward(upstream, cache2, ds, truncate=2, check=False)
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1]["h"], b[1]["h"])
        for k in a[2]:
            np.testing.assert_array_equal(a[2][k], b[2][k], err_msg=k)
    st, c = gf.step_forward(x[:, 0], s0, params)
    st2, c2 = gf.step_forward(x[:, 0], s0, params, check=False, **full)
    np.testing.assert_array_equal(st["h"], st2["h"])
    a, b = gf.step_backward(st, c), gf.step_backward(st2, c2, check=False)
    np.testing.assert_array_equal(a[0], b[0])
    with pytest.raises(ValueError, match=r"^x: expected input size D = 3"):
        gf.forward(x[..., :2], s0, params, check=True)
    with pytest.raises(ValueError, match=r"^dstate_t: expected a dict with keys"):
        gf.step_backward({"q": st["h"]}, c, check=True)
