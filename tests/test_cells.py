"""The cells (elman with each activation, lstm, gru in both forms): exact gradients,
known values, truncated BPTT, float32, and clear errors for bad input."""
import numpy as np
import pytest

from rnn_core.nn import activations
from rnn_core import cells
from rnn_core.cells import layers
from rnn_core.cells import elman, gru, lstm
from rnn_core.bptt.gradcheck import check_gradients, rel_error

CELLS = {f"rnn-{a}": (elman, {"activation": a}) for a in ("tanh", "sigmoid", "relu", "linear")}
CELLS.update({"lstm": (lstm, {}), "gru-sources": (gru, {"form": "sources"}),
              "gru-cudnn": (gru, {"form": "cudnn"})})
SHAPES = [(1, 1, 3, 2), (2, 5, 3, 4), (3, 7, 4, 3)]      # (N, T, D, H): N = 1, T = 1, H != D
TOL = 1e-7
BAD_INPUT_CELLS = ["rnn-tanh", "lstm", "gru-sources", "gru-cudnn"]


def make_problem(name, N, T, D, H, rng):
    """Parameters with moderate weights and random (non-zero) biases, an input and a state."""
    mod, opts = CELLS[name]
    init_opts = {"form": opts["form"]} if "form" in opts else {}
    params = {k: 0.6 * v + 0.2 * rng.standard_normal(v.shape) if k.startswith("W")
              else 0.5 * rng.standard_normal(v.shape)
              for k, v in mod.init_params(D, H, seed=7, **init_opts).items()}
    if mod is elman:        # gamma * W_h of order one: gradients neither vanish nor explode over T
        params["W_h"] /= activations.gamma(opts["activation"])
    x = rng.standard_normal((N, T, D))
    state0 = {k: 0.5 * rng.standard_normal((N, H)) for k in mod.STATE_KEYS}
    return mod, opts, params, x, state0


def sequence_gradcheck(mod, opts, params, x, state0, w, w_T=None):
    """Errors of backward against finite differences of sum(w * h) + sum_k sum(w_T[k] * state_T[k])."""
    w_T = w_T or {}

    def loss():
        h, state_T, _ = mod.forward(x, state0, params, **opts)
        return np.sum(w * h) + sum(np.sum(w_T[k] * state_T[k]) for k in w_T)

    _, _, cache = mod.forward(x, state0, params, **opts)
    dx, dstate0, grads = mod.backward(w, cache, dstate_T=w_T or None)
    assert set(grads) == set(params) and set(dstate0) == set(mod.STATE_KEYS)
    arrays = {**params, "x": x, **{f"state0[{k}]": v for k, v in state0.items()}}
    analytic = {**grads, "x": dx, **{f"state0[{k}]": v for k, v in dstate0.items()}}
    return check_gradients(loss, arrays, analytic)


def assert_same_backward(a, b, atol=1e-12):
    """Two backward results (dx, dstate0, grads) agree entry by entry."""
    np.testing.assert_allclose(a[0], b[0], rtol=0, atol=atol)
    for i in (1, 2):
        assert set(a[i]) == set(b[i])
        for k in a[i]:
            np.testing.assert_allclose(a[i][k], b[i][k], rtol=0, atol=atol, err_msg=k)


# ---------------------------------------------------------------- gradients

@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name", CELLS)
def test_sequence_gradients(name, shape, rng):
    N, T, D, H = shape
    mod, opts, params, x, state0 = make_problem(name, *shape, rng)
    w = rng.standard_normal((N, T, H))
    w_T = {k: rng.standard_normal((N, H)) for k in mod.STATE_KEYS}   # tests dstate_T
    errors = sequence_gradcheck(mod, opts, params, x, state0, w, w_T)
    assert max(errors.values()) < TOL, errors


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name", CELLS)
def test_many_to_one_gradients(name, shape, rng):
    N, T, D, H = shape
    mod, opts, params, x, state0 = make_problem(name, *shape, rng)
    w = np.zeros((N, T, H))
    w[:, -1] = rng.standard_normal((N, H))          # a loss at the last step only
    errors = sequence_gradcheck(mod, opts, params, x, state0, w)
    assert max(errors.values()) < TOL, errors


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name", CELLS)
def test_step_gradients(name, shape, rng):
    N, T, D, H = shape
    mod, opts, params, x, state0 = make_problem(name, *shape, rng)
    x_t = x[:, 0].copy()
    w = {k: rng.standard_normal((N, H)) for k in mod.STATE_KEYS}

    def loss():
        state, _ = mod.step_forward(x_t, state0, params, **opts)
        return sum(np.sum(w[k] * state[k]) for k in w)

    _, cache = mod.step_forward(x_t, state0, params, **opts)
    dx_t, dstate_prev, grads = mod.step_backward(w, cache)
    arrays = {**params, "x_t": x_t, **{f"state[{k}]": v for k, v in state0.items()}}
    analytic = {**grads, "x_t": dx_t, **{f"state[{k}]": v for k, v in dstate_prev.items()}}
    errors = check_gradients(loss, arrays, analytic)
    assert max(errors.values()) < TOL, errors


@pytest.mark.parametrize("name", CELLS)
def test_sequence_equals_looped_steps(name, rng):
    N, T, D, H = 3, 6, 4, 3
    mod, opts, params, x, state0 = make_problem(name, N, T, D, H, rng)
    h, state_T, cache = mod.forward(x, state0, params, **opts)
    state, caches = state0, []
    for t in range(T):
        state, c = mod.step_forward(x[:, t], state, params, **opts)
        caches.append(c)
        np.testing.assert_allclose(h[:, t], state["h"], rtol=0, atol=1e-12)
    for k in mod.STATE_KEYS:
        np.testing.assert_allclose(state_T[k], state[k], rtol=0, atol=1e-12)
    # backward equals step_backward looped in reverse, with the weight gradients summed
    dh = rng.standard_normal((N, T, H))
    dstate = {k: np.zeros((N, H)) for k in mod.STATE_KEYS}
    dx, total = np.zeros_like(x), {k: np.zeros_like(v) for k, v in params.items()}
    for t in range(T - 1, -1, -1):
        dstate["h"] = dstate["h"] + dh[:, t]
        dx[:, t], dstate, grads = mod.step_backward(dstate, caches[t])
        total = {k: total[k] + grads[k] for k in total}
    assert_same_backward(mod.backward(dh, cache), (dx, dstate, total))


# ---------------------------------------------------------------- known values

@pytest.mark.parametrize("T", [1, 3, 8])
def test_linear_rnn_jacobian_is_power_of_W_h(T, rng):
    D, H = 3, 4
    params = elman.init_params(D, H, seed=2, W_h="gaussian", rho=0.9)
    params["b"] = rng.standard_normal(H)
    x = rng.standard_normal((H, T, D))              # batch item n probes dL/dh_T = e_n
    _, _, cache = elman.forward(x, {"h": rng.standard_normal((H, H))}, params, activation="linear")
    dh = np.zeros((H, T, H))
    dh[:, -1] = np.eye(H)
    _, dstate0, _ = elman.backward(dh, cache)
    # row n of dstate0 is e_n^T dh_T/dh_0, so dstate0 is the Jacobian dh_T/dh_0 itself
    np.testing.assert_allclose(dstate0["h"], np.linalg.matrix_power(params["W_h"], T),
                               rtol=0, atol=1e-12)


def test_linear_rnn_step_jacobians_are_powers_of_W_h(rng):
    D, H, T = 2, 3, 5
    params = elman.init_params(D, H, seed=4, W_h="gaussian", rho=1.1)
    state, caches = {"h": np.zeros((H, H))}, []
    for t in range(T):
        state, c = elman.step_forward(rng.standard_normal((H, D)), state, params, activation="linear")
        caches.append(c)
    J = {"h": np.eye(H)}                            # rows: e_n^T dh_T/dh_t, going back in time
    for lag, c in enumerate(reversed(caches), start=1):
        _, J, _ = elman.step_backward(J, c)
        np.testing.assert_allclose(J["h"], np.linalg.matrix_power(params["W_h"], lag), atol=1e-12)


def test_lstm_open_forget_gate_keeps_its_cell(rng):
    N, T, D, H = 2, 30, 3, 4
    mod, opts, params, x, state0 = make_problem("lstm", N, T, D, H, rng)
    params["W_f"][:], params["b_f"][:] = 0.0, 50.0      # f = 1: forget nothing
    params["W_i"][:], params["b_i"][:] = 0.0, -50.0     # i = 0: write nothing
    h, state_T, cache = lstm.forward(x, state0, params)
    np.testing.assert_allclose(state_T["c"], state0["c"], rtol=0, atol=1e-12)
    # the carousel: dC_T/dC_0 = prod diag(f_t) = I, so the gradient arrives unchanged
    g = rng.standard_normal((N, H))
    _, dstate0, _ = lstm.backward(np.zeros_like(h), cache, dstate_T={"h": np.zeros((N, H)), "c": g})
    np.testing.assert_allclose(dstate0["c"], g, rtol=0, atol=1e-12)


def sources_to_cudnn(p, H):
    """cuDNN-form params computing the sources' GRU when its reset gate is open (r = 1)."""
    zero = np.zeros(H)
    return {"W_ir": np.zeros_like(p["W_r"][:, H:]), "W_hr": np.zeros((H, H)), "b_ir": zero + 50.0,
            "b_hr": zero.copy(),
            # z = 1 - u = sigmoid(-(W_u [h; x] + b_u))
            "W_iz": -p["W_u"][:, H:], "W_hz": -p["W_u"][:, :H], "b_iz": -p["b_u"], "b_hz": zero.copy(),
            "W_in": p["W_c"][:, H:].copy(), "W_hn": p["W_c"][:, :H].copy(), "b_in": p["b_c"].copy(),
            "b_hn": zero.copy()}


def test_gru_forms_agree_when_reset_gate_is_open(rng):
    N, T, D, H = 2, 6, 3, 4
    _, _, sources, x, state0 = make_problem("gru-sources", N, T, D, H, rng)
    sources["W_r"][:], sources["b_r"][:] = 0.0, 50.0            # r = 1
    cudnn = sources_to_cudnn(sources, H)
    h_s, _, cache_s = gru.forward(x, state0, sources, form="sources")
    h_c, _, cache_c = gru.forward(x, state0, cudnn, form="cudnn")
    np.testing.assert_allclose(h_s, h_c, rtol=0, atol=1e-12)
    dh = rng.standard_normal(h_s.shape)
    dx_s, ds_s, g_s = gru.backward(dh, cache_s)
    dx_c, ds_c, g_c = gru.backward(dh, cache_c)
    np.testing.assert_allclose(dx_s, dx_c, rtol=0, atol=1e-12)
    np.testing.assert_allclose(ds_s["h"], ds_c["h"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(g_c["W_iz"], -g_s["W_u"][:, H:], rtol=0, atol=1e-12)
    np.testing.assert_allclose(g_c["W_hn"], g_s["W_c"][:, :H], rtol=0, atol=1e-12)


def test_gru_forms_differ_with_a_working_reset_gate(rng):
    N, T, D, H = 2, 6, 3, 4
    _, _, sources, x, state0 = make_problem("gru-sources", N, T, D, H, rng)
    cudnn = sources_to_cudnn(sources, H)                # same weights, but r now varies
    cudnn.update(W_ir=sources["W_r"][:, H:], W_hr=sources["W_r"][:, :H], b_ir=sources["b_r"])
    h_s, _, _ = gru.forward(x, state0, sources, form="sources")
    h_c, _, _ = gru.forward(x, state0, cudnn, form="cudnn")
    assert np.abs(h_s - h_c).max() > 1e-3           # r before the matrix is not r after it


@pytest.mark.parametrize("name", CELLS)
def test_truncated_bptt(name, rng):
    N, T, D, H, k = 2, 7, 3, 4, 3
    mod, opts, params, x, state0 = make_problem(name, N, T, D, H, rng)
    dh = rng.standard_normal((N, T, H))
    dT = {key: rng.standard_normal((N, H)) for key in mod.STATE_KEYS}
    _, _, cache = mod.forward(x, state0, params, **opts)
    full = mod.backward(dh, cache, dstate_T=dT)
    for window in (T, T + 5):                       # a window covering the sequence is full BPTT
        assert_same_backward(mod.backward(dh, cache, dstate_T=dT, truncate=window), full)
    cut = mod.backward(dh, cache, dstate_T=dT, truncate=k)
    assert max(np.abs(cut[2][key] - full[2][key]).max() for key in params) > 1e-6
    # truncated BPTT = independent backward passes over [0,3), [3,6), [6,7), each started
    # from the forward state at its first step and summed
    state, dxs, total, dstate0 = state0, [], {key: 0.0 for key in params}, None
    for a in range(0, T, k):
        b = min(a + k, T)
        _, state_b, c = mod.forward(x[:, a:b], state, params, **opts)
        dx_w, ds_w, g_w = mod.backward(dh[:, a:b], c, dstate_T=dT if b == T else None)
        dxs.append(dx_w)
        total = {key: total[key] + g_w[key] for key in total}
        dstate0 = ds_w if a == 0 else dstate0
        state = state_b
    assert_same_backward(cut, (np.concatenate(dxs, axis=1), dstate0, total))


# ---------------------------------------------------------------- against PyTorch

def to_torch(torch, *arrays):
    return [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]


def test_gru_cudnn_matches_torch(rng):
    torch = pytest.importorskip("torch")
    N, T, D, H = 2, 5, 3, 4
    _, _, p, x, state0 = make_problem("gru-cudnn", N, T, D, H, rng)
    net = torch.nn.GRU(D, H, batch_first=True).double()
    with torch.no_grad():                           # weight_ih_l0 = [W_ir; W_iz; W_in], and so on
        for name, prefix in (("weight_ih_l0", "W_i"), ("weight_hh_l0", "W_h"),
                             ("bias_ih_l0", "b_i"), ("bias_hh_l0", "b_h")):
            getattr(net, name).copy_(torch.from_numpy(np.concatenate([p[prefix + g] for g in "rzn"])))
    xt, h0 = to_torch(torch, x, state0["h"][None])
    out, h_n = net(xt, h0)
    h, state_T, cache = gru.forward(x, state0, p, form="cudnn")
    np.testing.assert_allclose(h, out.detach().numpy(), rtol=0, atol=1e-12)
    w, w_T = rng.standard_normal((N, T, H)), rng.standard_normal((N, H))
    ((out * torch.from_numpy(w)).sum() + (h_n[0] * torch.from_numpy(w_T)).sum()).backward()
    dx, dstate0, g = gru.backward(w, cache, dstate_T={"h": w_T})
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(dstate0["h"], h0.grad.numpy()[0], rtol=0, atol=1e-12)
    for name, prefix in (("weight_ih_l0", "W_i"), ("weight_hh_l0", "W_h"),
                         ("bias_ih_l0", "b_i"), ("bias_hh_l0", "b_h")):
        ours = np.concatenate([g[prefix + gate] for gate in "rzn"])
        np.testing.assert_allclose(ours, getattr(net, name).grad.numpy(), rtol=0, atol=1e-12)


def test_lstm_matches_torch(rng):
    torch = pytest.importorskip("torch")
    N, T, D, H = 2, 5, 3, 4
    _, _, p, x, state0 = make_problem("lstm", N, T, D, H, rng)
    order = "ifCo"                                  # torch stacks the gates as i, f, g, o
    net = torch.nn.LSTM(D, H, batch_first=True).double()
    with torch.no_grad():                           # our b is torch's bias_ih + bias_hh
        net.weight_ih_l0.copy_(torch.from_numpy(np.concatenate([p["W_" + g][:, H:] for g in order])))
        net.weight_hh_l0.copy_(torch.from_numpy(np.concatenate([p["W_" + g][:, :H] for g in order])))
        net.bias_ih_l0.copy_(torch.from_numpy(np.concatenate([p["b_" + g] for g in order])))
        net.bias_hh_l0.zero_()
    xt, h0, c0 = to_torch(torch, x, state0["h"][None], state0["c"][None])
    out, (h_n, c_n) = net(xt, (h0, c0))
    h, state_T, cache = lstm.forward(x, state0, p)
    np.testing.assert_allclose(h, out.detach().numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(state_T["c"], c_n.detach().numpy()[0], rtol=0, atol=1e-12)
    w, w_c = rng.standard_normal((N, T, H)), rng.standard_normal((N, H))
    ((out * torch.from_numpy(w)).sum() + (c_n[0] * torch.from_numpy(w_c)).sum()).backward()
    dx, dstate0, g = lstm.backward(w, cache, dstate_T={"h": np.zeros((N, H)), "c": w_c})
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(dstate0["h"], h0.grad.numpy()[0], rtol=0, atol=1e-12)
    np.testing.assert_allclose(dstate0["c"], c0.grad.numpy()[0], rtol=0, atol=1e-12)
    W_grad = np.concatenate([net.weight_hh_l0.grad.numpy(), net.weight_ih_l0.grad.numpy()], axis=1)
    np.testing.assert_allclose(np.concatenate([g["W_" + k] for k in order]), W_grad, rtol=0, atol=1e-12)
    np.testing.assert_allclose(np.concatenate([g["b_" + k] for k in order]),
                               net.bias_ih_l0.grad.numpy(), rtol=0, atol=1e-12)


# ---------------------------------------------------------------- float32

@pytest.mark.parametrize("name", CELLS)
def test_float32_matches_float64(name, rng):
    N, T, D, H = 2, 5, 3, 4
    mod, opts, params, x, state0 = make_problem(name, N, T, D, H, rng)
    f32 = lambda d: {k: v.astype(np.float32) for k, v in d.items()}  # noqa: E731
    dh, dT = rng.standard_normal((N, T, H)), {k: rng.standard_normal((N, H)) for k in mod.STATE_KEYS}
    h64, sT64, c64 = mod.forward(x, state0, params, **opts)
    h32, sT32, c32 = mod.forward(x.astype(np.float32), f32(state0), f32(params), **opts)
    b64 = mod.backward(dh, c64, dstate_T=dT, truncate=2)
    b32 = mod.backward(dh.astype(np.float32), c32, dstate_T=f32(dT), truncate=2)
    pairs = [(h64, h32), (b64[0], b32[0])] + [(sT64[k], sT32[k]) for k in sT64] \
        + [(b64[1][k], b32[1][k]) for k in b64[1]] + [(b64[2][k], b32[2][k]) for k in params]
    for a64, a32 in pairs:
        assert a32.dtype == np.float32
        assert rel_error(a64, a32) < 1e-4
    s32, c = mod.step_forward(x[:, 0].astype(np.float32), f32(state0), f32(params), **opts)
    dx_t, _, _ = mod.step_backward(f32(dT), c)
    assert s32["h"].dtype == dx_t.dtype == np.float32


# ---------------------------------------------------------------- init_params

@pytest.mark.parametrize("name", ["rnn-tanh", "lstm", "gru-sources", "gru-cudnn"])
def test_init_params_shapes_and_seed(name):
    mod, opts = CELLS[name]
    form = {"form": opts["form"]} if "form" in opts else {}
    a = mod.init_params(3, 4, seed=1, **form)
    b = mod.init_params(3, 4, seed=1, **form)
    c = mod.init_params(3, 4, seed=2, **form)
    assert {k: v.shape for k, v in a.items()} == mod.param_shapes(3, 4, **form)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert any(not np.array_equal(a[k], c[k]) for k in a)
    assert all(v.dtype == np.float32 for v in mod.init_params(3, 4, dtype=np.float32, **form).values())


def test_lstm_forget_bias():
    params = lstm.init_params(3, 4, forget_bias=2.5)
    np.testing.assert_array_equal(params["b_f"], np.full(4, 2.5))
    assert not params["b_i"].any() and not params["b_o"].any() and not params["b_C"].any()
    with pytest.raises(ValueError, match="forget_bias"):
        lstm.init_params(3, 4, forget_bias=np.nan)


def test_get_cell_maps_names_to_modules():
    assert cells.get("rnn") is elman
    assert cells.get("lstm") is lstm
    assert cells.get("gru") is gru
    with pytest.raises(ValueError, match="cell"):
        cells.get("foo")


# ---------------------------------------------------------------- bad input

def with_nan(a):
    a = a.copy()
    a.flat[0] = np.nan
    return a


BAD_X = {"2-d": (lambda x: x[:, 0], ValueError),
         "wrong D": (lambda x: x[..., :2], ValueError),
         "T = 0": (lambda x: x[:, :0], ValueError),
         "NaN": (with_nan, ValueError),
         "integer": (lambda x: x.astype(np.int64), TypeError),
         "float32 with float64 params": (lambda x: x.astype(np.float32), TypeError)}


@pytest.mark.parametrize("case", BAD_X)
@pytest.mark.parametrize("name", BAD_INPUT_CELLS)
def test_rejects_bad_x(name, case, rng):
    mod, opts, params, x, state0 = make_problem(name, 2, 3, 3, 4, rng)
    change, error = BAD_X[case]
    with pytest.raises(error, match="^x: "):
        mod.forward(change(x), state0, params, **opts)


@pytest.mark.parametrize("name", BAD_INPUT_CELLS)
def test_rejects_bad_state(name, rng):
    mod, opts, params, x, state0 = make_problem(name, 2, 3, 3, 4, rng)
    for bad, error in [({k: v[:1] for k, v in state0.items()}, ValueError),      # wrong N
                       ({k: v[:, :3] for k, v in state0.items()}, ValueError),    # wrong H
                       ({k: v.astype(np.float32) for k, v in state0.items()}, TypeError),
                       ({}, ValueError), (state0["h"], ValueError),
                       ({**state0, "extra": state0["h"]}, ValueError)]:
        with pytest.raises(error, match="state"):
            mod.forward(x, bad, params, **opts)
        with pytest.raises(error, match="state"):
            mod.step_forward(x[:, 0], bad, params, **opts)
    with pytest.raises(ValueError, match="x_t"):
        mod.step_forward(x[:, 0, :2], state0, params, **opts)


@pytest.mark.parametrize("name", BAD_INPUT_CELLS)
def test_rejects_bad_params(name, rng):
    mod, opts, params, x, state0 = make_problem(name, 2, 3, 3, 4, rng)
    W = next(k for k in params if k.startswith("W"))
    b = next(k for k in params if k.startswith("b"))
    cases = [({**params, W: with_nan(params[W])}, ValueError, "params.*finite"),
             ({k: v for k, v in params.items() if k != b}, ValueError, "params.*missing"),
             ({**params, "W_extra": params[W]}, ValueError, "params.*unexpected"),
             ({**params, b: params[b][None]}, ValueError, rf"params\['{b}'\]"),      # no broadcasting
             ({**params, b: params[b].astype(np.float32)}, TypeError, rf"params\['{b}'\]"),
             ({**params, W: params[W][:, :-1]}, ValueError, "params"),
             (list(params.values()), TypeError, "params")]
    for bad, error, match in cases:
        with pytest.raises(error, match=match):
            mod.forward(x, state0, bad, **opts)
        with pytest.raises(error, match=match):
            mod.step_forward(x[:, 0], state0, bad, **opts)


@pytest.mark.parametrize("name", BAD_INPUT_CELLS)
def test_rejects_bad_backward_arguments(name, rng):
    N, T, D, H = 2, 3, 3, 4
    mod, opts, params, x, state0 = make_problem(name, N, T, D, H, rng)
    h, _, cache = mod.forward(x, state0, params, **opts)
    dh = np.ones_like(h)
    for bad_dh, error in [(dh[:, :-1], ValueError), (dh[..., None], ValueError),
                          (dh.astype(np.float32), TypeError), (with_nan(dh), ValueError)]:
        with pytest.raises(error, match="dh"):
            mod.backward(bad_dh, cache)
    for bad, error in [(0, ValueError), (-2, ValueError), (1.5, TypeError), (True, TypeError)]:
        with pytest.raises(error, match="truncate"):
            mod.backward(dh, cache, truncate=bad)
    dT = {k: np.ones((N, H)) for k in mod.STATE_KEYS}
    for bad in [{k: v[:, :-1] for k, v in dT.items()}, {}, {**dT, "z": dT["h"]}]:
        with pytest.raises(ValueError, match="dstate_T"):
            mod.backward(dh, cache, dstate_T=bad)
    _, step_cache = mod.step_forward(x[:, 0], state0, params, **opts)
    with pytest.raises(ValueError, match="dstate"):
        mod.step_backward({k: v[:1] for k, v in dT.items()}, step_cache)
    with pytest.raises(ValueError, match="dstate"):
        mod.step_backward({}, step_cache)


def test_rejects_unknown_activation(rng):
    _, _, params, x, state0 = make_problem("rnn-tanh", 2, 3, 3, 4, rng)
    with pytest.raises(ValueError, match="activation"):
        elman.forward(x, state0, params, activation="softplus")
    with pytest.raises(ValueError, match="activation"):
        elman.step_forward(x[:, 0], state0, params, activation="softplus")


def test_rejects_unknown_gru_form(rng):
    _, _, params, x, state0 = make_problem("gru-sources", 2, 3, 3, 4, rng)
    for call in (lambda: gru.forward(x, state0, params, form="keras"),
                 lambda: gru.step_forward(x[:, 0], state0, params, form="keras"),
                 lambda: gru.init_params(3, 4, form="keras"),
                 lambda: gru.param_shapes(3, 4, form="keras")):
        with pytest.raises(ValueError, match="form"):
            call()


def test_gru_params_of_the_other_form_are_refused_with_the_expected_keys(rng):
    _, _, sources, x, state0 = make_problem("gru-sources", 2, 3, 3, 4, rng)
    _, _, cudnn, _, _ = make_problem("gru-cudnn", 2, 3, 3, 4, rng)
    with pytest.raises(ValueError, match=r"form='cudnn'.*'W_hn'.*form='sources'"):
        gru.forward(x, state0, sources, form="cudnn")
    with pytest.raises(ValueError, match=r"form='sources'.*'W_u'.*form='cudnn'"):
        gru.forward(x, state0, cudnn)                # form defaults to "sources"


@pytest.mark.parametrize("activation", ["linear", "relu"])
def test_elman_overflow_is_an_error_not_a_warning(activation):
    # An unbounded RNN with rho = 2 leaves float64 range after ~1000 steps; the forward
    # must say so (naming h and the step) instead of returning inf with a RuntimeWarning.
    params = elman.init_params(4, 8, seed=0, W_h="identity", rho=2.0)
    x = np.abs(np.random.default_rng(0).standard_normal((2, 1500, 4)))
    with pytest.raises(FloatingPointError, match=r"h: expected finite hidden states.*step t = \d+"):
        elman.forward(x, {"h": np.ones((2, 8))}, params, activation=activation)
