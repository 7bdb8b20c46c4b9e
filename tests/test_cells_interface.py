"""The one cell interface (elman with each activation, lstm, gru in both forms): exact
arithmetic at every magnitude, no aliasing, every upstream-gradient form and truncation
proven by finite differences, the private step functions on stacked weights, defaults,
and errors that name the argument."""
import math

import numpy as np
import pytest

from rnn_core.cells import layers
from rnn_core.cells import sequence, elman, fast, gru, lstm
from rnn_core.bptt.gradcheck import check_gradients

CELLS = {f"rnn-{a}": (elman, {"activation": a}) for a in ("tanh", "sigmoid", "relu", "linear")}
CELLS.update({"lstm": (lstm, {}), "gru-sources": (gru, {"form": "sources"}),
              "gru-cudnn": (gru, {"form": "cudnn"})})
LAYER_CELLS = {"rnn": ("rnn", {"activation": "tanh"}), "lstm": ("lstm", {}),
               "gru-sources": ("gru", {"form": "sources"}), "gru-cudnn": ("gru", {"form": "cudnn"})}
TOL = 1e-7
MAGNITUDES = [1e-300, 1e-200, 1e-100, 1e-30, 1e-16, 1e-12, 1e-8, 1e-6, 1e-3, 0.1, 1.0]


def problem(name, N, T, D, H, rng):
    """Moderate weights, random biases, an input and a random initial state."""
    mod, opts = CELLS[name]
    params = {k: 0.6 * v + 0.2 * rng.standard_normal(v.shape) if k.startswith("W")
              else 0.5 * rng.standard_normal(v.shape)
              for k, v in mod.init_params(D, H, seed=3, **opts).items()}
    x = rng.standard_normal((N, T, D))
    state0 = {k: 0.5 * rng.standard_normal((N, H)) for k in mod.STATE_KEYS}
    return mod, opts, params, x, state0


def grads_equal(a, b):
    """Two backward results (dx, dstate0, grads) are identical."""
    np.testing.assert_array_equal(a[0], b[0])
    for i in (1, 2):
        assert set(a[i]) == set(b[i])
        for k in a[i]:
            np.testing.assert_array_equal(a[i][k], b[i][k], err_msg=k)


def rel(a, b):
    """Elementwise relative error |a - b| / |b| (0 where both are 0)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    return np.where(b == 0, np.abs(a), np.abs(a - b) / np.where(b == 0, 1.0, np.abs(b))).max()


# ---------------------------------------------------------------- exact at every magnitude

def one_weight(mod, opts, key, index):
    """All parameters zero except params[key][index] = 1 (D = H = 1)."""
    params = {k: np.zeros(s) for k, s in mod.param_shapes(1, 1, **opts).items()}
    params[key][index] = 1.0
    return params


@pytest.mark.parametrize("m", MAGNITUDES)
def test_lstm_states_and_gradients_are_exact_at_every_magnitude(m):
    # the reproduction: W_C's x-part = 1, so f = i = o = 1/2, C~ = tanh(x) and
    # C_1 = tanh(x) / 2 exactly (once 4.99999996961e-09 at x = 1e-8), h_1 = tanh(C_1) / 2
    params = one_weight(lstm, {}, "W_C", (0, 1))
    x = np.full((1, 1, 1), m)
    h, state_T, cache = lstm.forward(x, None, params)
    c_exact = 0.5 * math.tanh(m)
    assert rel(state_T["c"], c_exact) <= 1e-15
    assert rel(state_T["h"], 0.5 * math.tanh(c_exact)) <= 1e-15
    assert rel(h[0, 0], 0.5 * math.tanh(c_exact)) <= 1e-15
    # dC_1/dW_C[0, 1] = i (1 - C~^2) x and dC_1/dx = i (1 - C~^2) W_C[0, 1]: no error carried
    dx, _, grads = lstm.backward(None, cache, dstate_T={"h": np.zeros((1, 1)), "c": np.ones((1, 1))})
    assert rel(grads["W_C"][0, 1], 0.5 * (1 - math.tanh(m) ** 2) * m) <= 1e-15
    assert rel(dx[0, 0, 0], 0.5 * (1 - math.tanh(m) ** 2)) <= 1e-15
    # and at a later step the carousel keeps it: C_2 = C_1 / 2 + tanh(x) / 2 = 3 tanh(x) / 4
    _, state_2, _ = lstm.forward(np.full((1, 2, 1), m), None, params)
    assert rel(state_2["c"], 0.75 * math.tanh(m)) <= 1e-15


@pytest.mark.parametrize("m", MAGNITUDES)
@pytest.mark.parametrize("form, key, index", [("sources", "W_c", (0, 1)), ("cudnn", "W_in", (0, 0))])
def test_gru_states_and_gradients_are_exact_at_every_magnitude(m, form, key, index):
    # the candidate's x-part = 1: both gates 1/2, h~ = tanh(x), h_1 = tanh(x) / 2
    params = one_weight(gru, {"form": form}, key, index)
    h, state_T, cache = gru.forward(np.full((1, 1, 1), m), None, params, form=form)
    assert rel(state_T["h"], 0.5 * math.tanh(m)) <= 1e-15
    dx, _, grads = gru.backward(None, cache, dstate_T={"h": np.ones((1, 1))})
    assert rel(grads[key][index], 0.5 * (1 - math.tanh(m) ** 2) * m) <= 1e-15
    assert rel(dx[0, 0, 0], 0.5 * (1 - math.tanh(m) ** 2)) <= 1e-15


@pytest.mark.parametrize("m", MAGNITUDES)
@pytest.mark.parametrize("activation, f, df", [("tanh", math.tanh, lambda a: 1 - math.tanh(a) ** 2),
                                               ("linear", lambda a: a, lambda a: 1.0),
                                               ("relu", lambda a: a, lambda a: 1.0)])
def test_elman_states_and_gradients_are_exact_at_every_magnitude(m, activation, f, df):
    params = one_weight(elman, {}, "W_x", (0, 0))
    h, state_T, cache = elman.forward(np.full((1, 1, 1), m), None, params, activation=activation)
    assert rel(state_T["h"], f(m)) <= 1e-15
    _, _, grads = elman.backward(None, cache, dstate_T={"h": np.ones((1, 1))})
    assert rel(grads["W_x"][0, 0], df(m) * m) <= 1e-15


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu", "linear"])
def test_elman_in_place_derivative_equals_the_activation_bit_for_bit(activation, rng):
    from rnn_core.nn import activations
    act = activations.get(activation)
    h = act.f(3 * rng.standard_normal((5, 2, 4)))
    out = np.full(h.shape, np.nan)
    np.testing.assert_array_equal(fast.df_from_out(act, h, out), act.df_from_out(h))


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_elman_workspace_of_large_passes_gives_the_same_numbers(activation, rng, monkeypatch):
    # above sequence.HUGE_BYTES the forward's buffer holds the backward's dL/da_t workspace too;
    # forced here at a small size, it gives the same numbers, twice (backward overwrites it)
    N, T, D, H = 2, 7, 3, 4
    monkeypatch.setattr(fast, "MIN_SIZE", {**fast.MIN_SIZE, "rnn": 0})   # the fast form
    mod, opts, params, x, state0 = problem(f"rnn-{activation}", N, T, D, H, rng)
    dh = rng.standard_normal((N, T, H))
    h, _, cache = mod.forward(x, state0, params, **opts)
    assert cache["ws"].shape == (0, N, H)
    plain = mod.backward(dh, cache, truncate=3)
    monkeypatch.setattr(sequence, "HUGE_BYTES", 0)
    h_ws, _, cache = mod.forward(x, state0, params, **opts)
    assert cache["ws"].shape == (T, N, H)
    np.testing.assert_array_equal(h_ws, h)
    grads_equal(mod.backward(dh, cache, truncate=3), plain)
    grads_equal(mod.backward(dh, cache, truncate=3), plain)


# ---------------------------------------------------------------- no aliasing

def clip_in_place(arrays):
    """Edit every array in place (np.clip(..., out=...)); True if any edit was refused."""
    refused = False
    for a in arrays:
        try:
            np.clip(a, -0.1, 0.1, out=a)
            a += 0.5
        except ValueError:            # a read-only view is as good as a copy
            refused = True
    return refused


@pytest.mark.parametrize("name", CELLS)
def test_editing_what_forward_returns_does_not_move_the_gradients(name, rng):
    N, T, D, H = 2, 6, 3, 4
    mod, opts, params, x, state0 = problem(name, N, T, D, H, rng)
    dh, dT = rng.standard_normal((N, T, H)), {k: rng.standard_normal((N, H)) for k in mod.STATE_KEYS}
    h, state_T, cache = mod.forward(x, state0, params, **opts)
    before = mod.backward(dh, cache, dstate_T=dT)
    again = mod.backward(dh, cache, dstate_T=dT)          # backward leaves its cache alone
    grads_equal(before, again)
    clip_in_place([h, *state_T.values(), *state0.values()])   # outputs, and the caller's state0
    grads_equal(mod.backward(dh, cache, dstate_T=dT), before)


@pytest.mark.parametrize("name", CELLS)
def test_editing_what_step_forward_returns_does_not_move_the_gradients(name, rng):
    N, D, H = 2, 3, 4
    mod, opts, params, x, state0 = problem(name, N, 2, D, H, rng)
    dstate = {k: rng.standard_normal((N, H)) for k in mod.STATE_KEYS}
    s1, c1 = mod.step_forward(x[:, 0], state0, params, **opts)
    s2, c2 = mod.step_forward(x[:, 1], s1, params, **opts)
    before = [mod.step_backward(dstate, c) for c in (c1, c2)]
    clip_in_place([*s1.values(), *s2.values(), *state0.values()])   # s1 is step 2's input too
    for c, ref in zip((c1, c2), before):
        grads_equal(mod.step_backward(dstate, c), ref)


@pytest.mark.parametrize("name", LAYER_CELLS)
def test_editing_what_layers_return_does_not_move_the_gradients(name, rng):
    cell, opts = LAYER_CELLS[name]
    N, T, D, H = 2, 5, 3, 4
    x = rng.standard_normal((N, T, D))
    iopts = {k: v for k, v in opts.items() if k == "form"}
    bi = layers.bidirectional_init(cell, D, H, seed=1, **iopts)
    h, s_T, cache = layers.bidirectional_forward(cell, x, None, bi, **opts)
    dh = rng.standard_normal(h.shape)
    before = layers.bidirectional_backward(dh, cache)
    clip_in_place([h] + [a for s in s_T.values() for a in s.values()])
    after = layers.bidirectional_backward(dh, cache)
    np.testing.assert_array_equal(after[0], before[0])
    for d in ("fwd", "bwd"):
        for k in before[2][d]:
            np.testing.assert_array_equal(after[2][d][k], before[2][d][k])
    st = layers.stacked_init(cell, D, [H, 3], 2, seed=2, **iopts)
    hs, s_T, cache = layers.stacked_forward(cell, x, None, st, all_layers=True, **opts)
    dhs = [rng.standard_normal(a.shape) for a in hs]
    before = layers.stacked_backward(dhs, cache)
    clip_in_place(hs + [a for s in s_T for a in s.values()])
    after = layers.stacked_backward(dhs, cache)
    np.testing.assert_array_equal(after[0], before[0])
    for j in range(2):
        for k in before[2][j]:
            np.testing.assert_array_equal(after[2][j][k], before[2][j][k])


# ---------------------------------------------------------------- every form of dh, by finite differences

@pytest.mark.parametrize("name", CELLS)
def test_dict_and_none_dh_gradients(name, rng):
    N, T, D, H = 2, 5, 3, 4
    mod, opts, params, x, state0 = problem(name, N, T, D, H, rng)
    g1, g_last = rng.standard_normal((N, H)), rng.standard_normal((N, H))
    w_T = {k: rng.standard_normal((N, H)) for k in mod.STATE_KEYS}
    for dh, w_h in [({1: g1, -1: g_last}, {1: g1, T - 1: g_last}), (None, {})]:
        def loss():
            h, s_T, _ = mod.forward(x, state0, params, **opts)
            return (sum(np.sum(g * h[:, t]) for t, g in w_h.items())
                    + sum(np.sum(w_T[k] * s_T[k]) for k in w_T))

        _, _, cache = mod.forward(x, state0, params, **opts)
        dx, ds0, grads = mod.backward(dh, cache, dstate_T=w_T)
        arrays = {**params, "x": x, **{f"state0[{k}]": v for k, v in state0.items()}}
        analytic = {**grads, "x": dx, **{f"state0[{k}]": v for k, v in ds0.items()}}
        errors = check_gradients(loss, arrays, analytic)
        assert max(errors.values()) < TOL, errors
    # the dict is the dense array with zeros elsewhere
    dense = sequence.dense({1: g1, T - 1: g_last}, N, T, H, x.dtype)
    grads_equal(mod.backward({1: g1, -1: g_last}, cache), mod.backward(dense, cache))


def windowed_loss(mod, opts, params, x, state0, dh, k):
    """The loss whose exact gradient truncated BPTT is: each window restarts from the state
    the untouched forward reached there, held constant (a plain array, no gradient)."""
    T = x.shape[1]
    starts = list(range(0, T, k))
    fixed, s = [], state0
    for a in starts:
        fixed.append(s)
        _, s, _ = mod.forward(x[:, a:a + k], s, params, **opts)

    def loss():
        total = 0.0
        for j, a in enumerate(starts):
            s0 = state0 if j == 0 else fixed[j]        # only window 0 reads state0
            h, _, _ = mod.forward(x[:, a:a + k], s0, params, **opts)
            total += np.sum(dh[:, a:a + k] * h)
        return total
    return loss


@pytest.mark.parametrize("name", CELLS)
def test_truncated_gradients_by_finite_differences(name, rng):
    N, T, D, H, k = 2, 7, 3, 4, 3
    mod, opts, params, x, state0 = problem(name, N, T, D, H, rng)
    dh = rng.standard_normal((N, T, H))
    loss = windowed_loss(mod, opts, params, x, state0, dh, k)
    _, _, cache = mod.forward(x, state0, params, **opts)
    dx, ds0, grads = mod.backward(dh, cache, truncate=k)
    arrays = {**params, "x": x, **{f"state0[{key}]": v for key, v in state0.items()}}
    analytic = {**grads, "x": dx, **{f"state0[{key}]": v for key, v in ds0.items()}}
    errors = check_gradients(loss, arrays, analytic)
    assert max(errors.values()) < TOL, errors


@pytest.mark.parametrize("name", LAYER_CELLS)
def test_truncated_drivers_by_finite_differences(name, rng):
    cell, opts = LAYER_CELLS[name]
    mod = layers.get_cell(cell)
    N, T, D, H, k = 2, 7, 3, 4, 3
    params = {key: v + 0.2 * rng.standard_normal(v.shape) for key, v in
              mod.init_params(D, H, seed=5, **{o: v for o, v in opts.items() if o == "form"}).items()}
    x = rng.standard_normal((N, T, D))
    state0 = {key: 0.5 * rng.standard_normal((N, H)) for key in mod.STATE_KEYS}
    dh = rng.standard_normal((N, T, H))
    loss = windowed_loss(mod, opts, params, x, state0, dh, k)
    arrays = {**params, "x": x, **{f"state0[{key}]": v for key, v in state0.items()}}
    for run in (lambda: layers.truncated_bptt(cell, x, state0, params, dh, truncate=k, **opts),
                lambda: layers.truncated_bptt_loss(
                    cell, x, state0, params,
                    lambda h_w, a: (float(np.sum(dh[:, a:a + h_w.shape[1]] * h_w)),
                                    dh[:, a:a + h_w.shape[1]]), k, **opts)):
        out = run()
        assert isinstance(out, layers.Truncated)
        dx, ds0, grads = out.backward
        analytic = {**grads, "x": dx, **{f"state0[{key}]": v for key, v in ds0.items()}}
        errors = check_gradients(loss, arrays, analytic)
        assert max(errors.values()) < TOL, errors
    assert out.loss == pytest.approx(loss(), rel=1e-12)
    # a dict dh, counted from the end, equals the dense array with zeros elsewhere
    d = {-1: dh[:, -1], 2: dh[:, 2]}
    sparse = layers.truncated_bptt(cell, x, state0, params, d, k, **opts).backward
    grads_equal(sparse, layers.truncated_bptt(cell, x, state0, params,
                                              sequence.dense({T - 1: dh[:, -1], 2: dh[:, 2]}, N, T, H,
                                                         x.dtype), k, **opts).backward)


@pytest.mark.parametrize("name", LAYER_CELLS)
def test_layers_take_dict_dh_and_default_states(name, rng):
    cell, opts = LAYER_CELLS[name]
    mod = layers.get_cell(cell)
    N, T, D, H = 2, 4, 3, 4
    iopts = {k: v for k, v in opts.items() if k == "form"}
    x = rng.standard_normal((N, T, D))
    zeros = {k: np.zeros((N, H)) for k in mod.STATE_KEYS}
    bi = layers.bidirectional_init(cell, D, H, seed=1, **iopts)
    h, _, cache = layers.bidirectional_forward(cell, x, None, bi, **opts)
    h_z, _, _ = layers.bidirectional_forward(cell, x, {"fwd": zeros, "bwd": zeros}, bi, **opts)
    np.testing.assert_array_equal(h, h_z)
    g = rng.standard_normal((N, 2 * H))
    dense = sequence.dense({T - 1: g}, N, T, 2 * H, x.dtype)
    a, b = layers.bidirectional_backward({-1: g}, cache), layers.bidirectional_backward(dense, cache)
    np.testing.assert_array_equal(a[0], b[0])
    st = layers.stacked_init(cell, D, [H, 3], 2, seed=2, **iopts)
    h, _, cache = layers.stacked_forward(cell, x, None, st, **opts)
    h_z, _, _ = layers.stacked_forward(cell, x, [None, {k: np.zeros((N, 3)) for k in mod.STATE_KEYS}],
                                       st, **opts)
    np.testing.assert_array_equal(h, h_z)
    g = rng.standard_normal((N, 3))
    a = layers.stacked_backward({-1: g}, cache)
    b = layers.stacked_backward(sequence.dense({T - 1: g}, N, T, 3, x.dtype), cache)
    np.testing.assert_array_equal(a[0], b[0])
    none = layers.stacked_backward(None, cache, dstates_T=[None, {k: np.ones((N, 3)) for k in mod.STATE_KEYS}])
    assert np.abs(none[0]).max() > 0


# ---------------------------------------------------------------- the step equations

def stacked_step(name, xw, h, c, W, b_h):
    """One step equation of cell `name` with whatever leading axes its arguments have."""
    if name.startswith("rnn"):
        return elman.recurrence(xw, h, W, np.tanh)
    if name == "lstm":
        return lstm.recurrence(xw, h, c, W)[:2]
    return gru.STEPS[name.split("-")[1]][0](xw, h, W, b_h)[0]


@pytest.mark.parametrize("name", ["rnn-tanh", "lstm", "gru-sources", "gru-cudnn"])
def test_step_equations_take_stacked_recurrent_weights(name, rng):
    # one set of recurrent weights per spectral radius, as gradflow's sweep calls them
    R, N, H = 3, 2, 4
    G = {"rnn-tanh": 1, "lstm": 4}.get(name, 3)
    W = rng.standard_normal((R, G * H, H))
    xw, h, c = rng.standard_normal((N, G * H)), rng.standard_normal((R, N, H)), rng.standard_normal((R, N, H))
    b_h = rng.standard_normal(G * H)
    # (R, GH, H) against states (R, N, H); (R, 1, GH, H) against (R, N, 1, H), rows alone
    for W_, xw_, h_, c_ in ((W, xw, h, c), (W[:, None], xw[:, None], h[:, :, None], c[:, :, None])):
        out = stacked_step(name, xw_, h_, c_, W_, b_h)
        for r in range(R):
            ref = stacked_step(name, xw, h[r], c[r], W[r], b_h)
            for a, b in zip(*(o if isinstance(o, tuple) else (o,) for o in (out, ref))):
                np.testing.assert_allclose(a.reshape(R, N, H)[r], b, rtol=0, atol=1e-14)


@pytest.mark.parametrize("form", gru.FORMS)
def test_gru_carry_by_finite_differences_and_on_stacked_weights(form, rng):
    # carry(dh, carry_factors(h_prev, step cache), W) is the vector-Jacobian product of the step:
    # da_x = dL/dxw_t, dh_prev = dL/dh_{t-1} and (cuDNN) da_h = dL/db_h, with L = <dh, h_t>
    R, N, H = 3, 2, 4
    step, local, back = gru.STEPS[form]
    W = 0.6 * rng.standard_normal((R, 3 * H, H))
    xw = rng.standard_normal((N, 3 * H))
    h, dh = rng.standard_normal((R, N, H)), rng.standard_normal((R, N, H))
    b_h = rng.standard_normal(3 * H) if form == "cudnn" else None
    h_t, cache = step(xw, h, W, b_h)
    got = back(dh, local(h, cache), W)
    for r in range(R):                                   # stacked weights: R separate calls
        h_r, cache_r = step(xw, h[r], W[r], b_h)
        np.testing.assert_allclose(h_t[r], h_r, rtol=0, atol=1e-14)
        for a, b in zip(got, back(dh[r], local(h[r], cache_r), W[r])):
            np.testing.assert_allclose(a[r], b, rtol=0, atol=1e-14)
    xw_r, h_0, dh_0 = xw.copy(), h[0].copy(), dh[0]
    arrays = {"xw": xw_r, "h_prev": h_0}
    if form == "cudnn":
        arrays["b_h"] = b_h
    da_x, da_h, dh_prev = back(dh_0, local(h_0, step(xw_r, h_0, W[0], b_h)[1]), W[0])
    grads = {"xw": da_x, "h_prev": dh_prev, "b_h": da_h.sum(axis=0)}
    errors = check_gradients(lambda: float(np.sum(dh_0 * step(xw_r, h_0, W[0], b_h)[0])), arrays,
                             {k: grads[k] for k in arrays})
    assert max(errors.values()) < TOL, errors
    if form == "sources":
        assert da_x is da_h                            # the x- and h-parts share each pre-activation


# bytes of one step's local factors (B; K_x) at N = 2, H = 4
STEP_BYTES = {"lstm": 2 * 16 * 8, "gru-sources": 2 * 12 * 8, "gru-cudnn": 2 * 12 * 8}


@pytest.mark.parametrize("name", STEP_BYTES)
@pytest.mark.parametrize("block", [1, 3])
def test_backward_in_blocks_of_steps_equals_one_block(name, block, rng, monkeypatch):
    # the local factors come a block of steps at a time (one block at small sizes); blocks
    # of 1 and of 3 steps (T = 7: the first block is short) give the same numbers exactly
    N, T, D, H = 2, 7, 3, 4
    mod, opts, params, x, state0 = problem(name, N, T, D, H, rng)
    h, state_T, cache = mod.forward(x, state0, params, **opts)
    dh = {t: rng.standard_normal((N, H)) for t in (1, 4, 6)}
    dstate_T = {k: np.ones((N, H)) for k in mod.STATE_KEYS}
    assert sequence.blocks(T, STEP_BYTES[name]) == [(0, T)]
    whole = mod.backward(dh, cache, dstate_T=dstate_T, truncate=3)
    monkeypatch.setattr(sequence, "BLOCK_BYTES", block * STEP_BYTES[name])
    assert len(sequence.blocks(T, STEP_BYTES[name])) == -(-T // block)
    grads_equal(mod.backward(dh, cache, dstate_T=dstate_T, truncate=3), whole)


@pytest.mark.parametrize("name", CELLS)
def test_check_false_gives_what_the_checked_call_gives(name, rng):
    # the switch for internal callers that checked already: the same numbers, bit for bit
    N, T, D, H = 2, 4, 3, 4
    mod, opts, params, x, state0 = problem(name, N, T, D, H, rng)
    full = mod.options(opts)
    assert set(full) == set(mod.OPTIONS)
    h, s_T, cache = mod.forward(x, state0, params, **opts)
    h2, s_T2, cache2 = mod.forward(x, state0, params, check=False, **full)
    np.testing.assert_array_equal(h, h2)
    for k in mod.STATE_KEYS:
        np.testing.assert_array_equal(s_T[k], s_T2[k])
    dh = rng.standard_normal((N, T, H))
    dstate_T = {k: rng.standard_normal((N, H)) for k in mod.STATE_KEYS}
    for upstream in (dh, {-1: dh[:, -1], 1: dh[:, 1]}, None):
        grads_equal(mod.backward(upstream, cache, dstate_T, truncate=2),
                    mod.backward(upstream, cache2, dstate_T, truncate=2, check=False))
    s, c = mod.step_forward(x[:, 0], state0, params, **opts)
    s2, c2 = mod.step_forward(x[:, 0], state0, params, check=False, **full)
    grads_equal(mod.step_backward(s, c), mod.step_backward(s2, c2, check=False))


@pytest.mark.parametrize("name", CELLS)
def test_check_true_still_names_bad_input(name, rng):
    N, T, D, H = 2, 4, 3, 4
    mod, opts, params, x, state0 = problem(name, N, T, D, H, rng)
    with pytest.raises(ValueError, match=r"^x: expected input size D = 3"):
        mod.forward(x[..., :2], state0, params, check=True, **opts)
    with pytest.raises(ValueError, match=r"^params: expected keys"):
        mod.forward(x, state0, {k: v for k, v in list(params.items())[1:]}, check=True, **opts)
    h, _, cache = mod.forward(x, state0, params, **opts)
    with pytest.raises(ValueError, match=r"^dh: expected shape \(2, 4, 4\)"):
        mod.backward(h[:, :, :3], cache, check=True)
    with pytest.raises(ValueError, match=r"^truncate: expected an integer in \[1, inf\]"):
        mod.backward(h, cache, truncate=0, check=True)
    s, c = mod.step_forward(x[:, 0], state0, params, check=True, **opts)
    with pytest.raises(ValueError, match=r"^dstate: expected a dict with keys"):
        mod.step_backward({"q": s["h"]}, c, check=True)
    with pytest.raises(ValueError, match=r"^x_t: expected shape"):
        mod.step_forward(x[:, 0, :2], state0, params, check=True, **opts)


# ---------------------------------------------------------------- defaults and errors

@pytest.mark.parametrize("name", CELLS)
def test_none_state_means_zeros(name, rng):
    N, T, D, H = 2, 3, 3, 4
    mod, opts, params, x, _ = problem(name, N, T, D, H, rng)
    zeros = mod.zero_state(N, H, **opts)
    assert set(zeros) == set(mod.STATE_KEYS) and all(not v.any() for v in zeros.values())
    np.testing.assert_array_equal(mod.forward(x, None, params, **opts)[0],
                                  mod.forward(x, zeros, params, **opts)[0])
    np.testing.assert_array_equal(mod.step_forward(x[:, 0], None, params, **opts)[0]["h"],
                                  mod.step_forward(x[:, 0], zeros, params, **opts)[0]["h"])
    assert set(mod.OPTIONS) == set(opts)


@pytest.mark.parametrize("name", CELLS)
def test_time_major_x_is_named_as_x(name, rng):
    N, T, D, H = 2, 5, 3, 4
    mod, opts, params, x, state0 = problem(name, N, T, D, H, rng)
    with pytest.raises(ValueError, match=r"^x: .*\(N, T, D\) with N = 2.*looks time-major"):
        mod.forward(np.ascontiguousarray(x.transpose(1, 0, 2)), state0, params, **opts)
    with pytest.raises(ValueError, match=r"^x: .*N = 2") as err:     # not time-major: no hint
        mod.forward(x[:1], state0, params, **opts)
    assert "time-major" not in str(err.value)


@pytest.mark.parametrize("name", CELLS)
def test_unknown_or_bad_options_are_named(name, rng):
    mod, opts, params, x, state0 = problem(name, 2, 3, 3, 4, rng)
    calls = [lambda o: mod.forward(x, state0, params, **o), lambda o: mod.param_shapes(3, 4, **o),
             lambda o: mod.init_params(3, 4, **o), lambda o: mod.zero_state(2, 4, **o),
             lambda o: mod.step_forward(x[:, 0], state0, params, **o)]
    for call in calls:
        with pytest.raises(ValueError, match=r"^activaton: expected one of the .* options"):
            call({**opts, "activaton": "tanh"})
    for key in opts:
        with pytest.raises(ValueError, match=rf"^{key}: expected one of .*received 'bogus'"):
            calls[0]({**opts, key: "bogus"})


@pytest.mark.parametrize("bad, error, match", [
    ({5: np.zeros((2, 4))}, ValueError, r"dh key: expected an integer in \[-3, 2\]"),
    ({0: np.zeros((2, 3))}, ValueError, r"dh\[0\]: expected shape \(2, 4\)"),
    ({0: np.zeros((2, 4)), -3: np.zeros((2, 4))}, ValueError, "dh: expected each step at most once"),
    ({1.0: np.zeros((2, 4))}, TypeError, "dh key: expected an integer"),
    ([np.zeros((2, 4))], TypeError, "dh: expected a numpy.ndarray")])
def test_bad_dict_dh_is_named(bad, error, match, rng):
    mod, opts, params, x, state0 = problem("lstm", 2, 3, 3, 4, rng)
    _, _, cache = mod.forward(x, state0, params)
    with pytest.raises(error, match=match):
        mod.backward(bad, cache)
