"""Tests for rnn_core.gradflow: Jacobians, log-space gradient norms, the carrier and the bounds
(the sweep: tests/test_sweeps.py)."""

import numpy as np
import pytest

from rnn_core.nn import activations, matrices
from rnn_core import cells, gradflow
from rnn_core.cells import elman, gru, lstm

pytestmark = pytest.mark.filterwarnings("error")

ACTS = ("sigmoid", "tanh", "relu", "linear")
FLOOR = gradflow.logspace.LOG10_FLOOR
# (cell name, cell options): every cell, both GRU forms
CELLS = [("rnn", {"activation": a}) for a in ACTS] + [("lstm", {}), ("gru", {"form": "sources"}),
                                                      ("gru", {"form": "cudnn"})]
CELL_IDS = [f"{c}-{next(iter(o.values()), '')}" for c, o in CELLS]


def network(cell, opts, rho, N=1, T=5, D=2, H=3, seed=0, x_scale=1.0):
    """x, state0, params of a cell whose recurrent blocks have spectral radius rho."""
    rng = np.random.default_rng(seed)
    x = x_scale * rng.standard_normal((N, T, D))
    if cell == "rnn":
        params = elman.init_params(D, H, seed)
        params["W_h"] = matrices.family("gaussian", H, rho, seed)
        params["b"] = 0.1 * rng.standard_normal(H)
        return x, {"h": 0.5 * rng.standard_normal((N, H))}, params
    if cell == "lstm":
        params = lstm.init_params(D, H, seed)
        for j, g in enumerate(lstm.GATES):
            params["W_" + g][:, :H] = matrices.family("gaussian", H, rho, seed + j)
            params["b_" + g] = 0.3 * rng.standard_normal(H)
        state0 = {"h": 0.5 * rng.standard_normal((N, H)), "c": rng.standard_normal((N, H))}
        return x, state0, params
    form = opts["form"]
    params = gru.init_params(D, H, seed, form=form)
    for j, key in enumerate(k for k in params if k.startswith("W_h") or k in ("W_u", "W_r", "W_c")):
        if key.startswith("W_h"):
            params[key] = matrices.family("gaussian", H, rho, seed + j)
        else:
            params[key][:, :H] = matrices.family("gaussian", H, rho, seed + j)
    for key in params:
        if key.startswith("b"):
            params[key] = 0.3 * rng.standard_normal(H)
    return x, {"h": 0.5 * rng.standard_normal((N, H))}, params


def state_vec(state):
    return np.concatenate([state[k] for k in ("h", "c") if k in state], axis=1)


def numerical_step_jacobian(module, x_t, state, params, opts, eps=1e-6):
    """Central differences of step_forward: (N, S, S) and (N, S, D)."""
    keys = module.STATE_KEYS
    N, H = state["h"].shape
    S = H * len(keys)
    J, Jx = np.zeros((N, S, S)), np.zeros((N, S, x_t.shape[1]))

    def out(st, xt):
        return state_vec(module.step_forward(xt, st, params, **opts)[0])

    for j in range(S):
        key, unit = keys[j // H], j % H
        up = {k: v.copy() for k, v in state.items()}
        down = {k: v.copy() for k, v in state.items()}
        up[key][:, unit] += eps
        down[key][:, unit] -= eps
        J[:, :, j] = (out(up, x_t) - out(down, x_t)) / (2 * eps)
    for d in range(x_t.shape[1]):
        up, down = x_t.copy(), x_t.copy()
        up[:, d] += eps
        down[:, d] -= eps
        Jx[:, :, d] = (out(state, up) - out(state, down)) / (2 * eps)
    return J, Jx


def log10(a):
    """log10 with exact zeros mapped to the floor, as gradflow reports them."""
    return np.where(a > 0, np.log10(np.where(a > 0, a, 1.0)), FLOOR)


def rel(a, b):
    return np.max(np.abs(a - b)) / max(np.max(np.abs(a)), np.max(np.abs(b)), 1e-300)


# ----------------------------------------------------------------------------------------
# One-step Jacobians and their products
# ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("cell,opts", CELLS, ids=CELL_IDS)
def test_step_jacobian_matches_finite_differences(cell, opts):
    module = cells.get(cell)
    x, state0, params = network(cell, opts, rho=1.2, N=2, T=1, D=3, H=4)
    if opts.get("activation") == "relu":          # keep pre-activations away from the kink
        state0["h"] = np.abs(state0["h"])
    J = gradflow.jacobians.jacobian_step(cell, x[:, 0], state0, params, **opts)
    S = 4 * len(module.STATE_KEYS)
    assert J.shape == (2, S, S)
    J_num, Jx_num = numerical_step_jacobian(module, x[:, 0], state0, params, opts)
    assert rel(J, J_num) < 1e-7
    _, Jx = gradflow.jacobians._step_jacobians(cell, x[:, 0], state0, params, opts)
    assert rel(Jx, Jx_num) < 1e-7


def vjp_rows(module, x_t, state, params, opts):
    """(J, Jx) from the public step_forward/step_backward: item (n, s) of a batch repeated
    S times receives the unit covector e_s, so its dstate_prev and dx_t are row s."""
    keys = module.STATE_KEYS
    N, H = state["h"].shape
    S = H * len(keys)
    rep = {k: np.repeat(state[k], S, axis=0) for k in keys}
    _, cache = module.step_forward(np.repeat(x_t, S, axis=0), rep, params, **opts)
    seeds = np.tile(np.eye(S), (N, 1))
    dx, dprev, _ = module.step_backward({k: seeds[:, i * H:(i + 1) * H] for i, k in enumerate(keys)},
                                        cache)
    return state_vec(dprev).reshape(N, S, S), dx.reshape(N, S, -1)


@pytest.mark.parametrize("cell,opts", CELLS, ids=CELL_IDS)
def test_step_jacobians_equal_the_public_step_backward(cell, opts):
    """gradflow's Jacobians (the cells' private step back, many steps and seeds in one call)
    equal those of the public step_backward, row by row; the Elman one is diag(f') W_h."""
    module = cells.get(cell)
    x, state0, params = network(cell, opts, rho=0.9, N=3, T=1)
    J, Jx = gradflow.jacobians._step_jacobians(cell, x[:, 0], state0, params, opts)
    J_vjp, Jx_vjp = vjp_rows(module, x[:, 0], state0, params, opts)
    np.testing.assert_allclose(J, J_vjp, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(Jx, Jx_vjp, rtol=1e-13, atol=1e-15)
    if cell == "rnn":
        h = elman.step_forward(x[:, 0], state0, params, **opts)[0]["h"]
        df = activations.get(opts["activation"]).df_from_out(h)
        np.testing.assert_allclose(J, df[:, :, None] * params["W_h"][None], rtol=1e-15)


def test_lstm_with_the_forget_gate_saturated_open_keeps_its_cell():
    x, state0, params = network("lstm", {}, rho=1.0, N=1, T=30, H=3)
    params["b_f"][:] = 40.0                    # f = 1: the carousel dC_t/dC_{t-1} = I
    params["b_i"][:] = -40.0                   # i = 0: nothing is written
    P = gradflow.jacobians.jacobian_products("lstm", x, state0, params)
    np.testing.assert_allclose(P[0, 0, 3:, 3:], np.eye(3), atol=1e-12)   # dC_T/dC_0 = I
    g = gradflow.jacobians.gradient_norms("lstm", x, state0, params)
    assert abs(gradflow.logspace.decay_rate(g.log10_norm[0], g.lags)) < 1e-10   # no vanishing at all


@pytest.mark.parametrize("rho", [0.0, 0.5, 1.3])
def test_linear_rnn_products_are_matrix_powers(rho):
    x, state0, params = network("rnn", {}, rho=rho, N=2, T=7, H=4)
    P = gradflow.jacobians.jacobian_products("rnn", x, state0, params, activation="linear")
    assert P.shape == (2, 8, 4, 4)
    for k in range(8):
        power = np.linalg.matrix_power(params["W_h"], 7 - k)
        np.testing.assert_allclose(P[:, k], np.broadcast_to(power, (2, 4, 4)), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("cell,opts", CELLS[1:5], ids=CELL_IDS[1:5])
def test_products_are_the_chained_one_step_jacobians(cell, opts):
    module = cells.get(cell)
    x, state0, params = network(cell, opts, rho=1.1, N=2, T=6)
    P = gradflow.jacobians.jacobian_products(cell, x, state0, params, **opts)
    states = [state0]
    for t in range(6):
        states.append(module.step_forward(x[:, t], states[-1], params, **opts)[0])
    prod = np.broadcast_to(np.eye(P.shape[-1]), P[:, 0].shape)
    for k in range(6, 0, -1):
        prod = prod @ gradflow.jacobians.jacobian_step(cell, x[:, k - 1], states[k - 1], params, **opts)
        np.testing.assert_allclose(P[:, k - 1], prod, rtol=1e-12, atol=1e-14)
    Pn, scale = gradflow.jacobians.jacobian_products(cell, x, state0, params, renormalize=True, **opts)
    np.testing.assert_allclose(Pn * 10.0 ** scale[:, :, None, None], P, rtol=1e-12, atol=1e-14)
    norms = np.linalg.norm(Pn.reshape(2, 7, -1), axis=2)
    zero = scale == FLOOR                                   # e.g. every ReLU unit off
    np.testing.assert_allclose(norms[~zero], 1.0, rtol=1e-12)
    assert np.all(norms[zero] == 0) and np.all(P[zero] == 0)


# ----------------------------------------------------------------------------------------
# Log-space gradient norms
# ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("cell,opts", CELLS, ids=CELL_IDS)
def test_gradient_norms_match_direct_products(cell, opts, rng):
    x, state0, params = network(cell, opts, rho=1.1, N=2, T=8)
    u = rng.standard_normal((2, 3))
    g = gradflow.jacobians.gradient_norms(cell, x, state0, params, u=u, **opts)
    P = gradflow.jacobians.jacobian_products(cell, x, state0, params, **opts)      # (N, T+1, S, S)
    S = P.shape[-1]
    u_full = np.zeros((2, S))
    u_full[:, :3] = u
    direct = np.einsum("nksr,ns->nkr", P, u_full)                         # dL/dstate_k
    np.testing.assert_allclose(g.log10_norm, log10(np.linalg.norm(direct, axis=2))[:, ::-1],
                               atol=1e-12)
    np.testing.assert_allclose(g.log10_norm_h, log10(np.linalg.norm(direct[:, :, :3], axis=2))[:, ::-1],
                               atol=1e-12)
    np.testing.assert_array_equal(g.lags, np.arange(9))
    np.testing.assert_array_equal(g.k, 8 - np.arange(9))


@pytest.mark.parametrize("cell,opts", CELLS[4:], ids=CELL_IDS[4:])
def test_gradient_norms_of_a_large_state_step_covectors_and_still_match_the_products(cell, opts, rng):
    """Above JACOBIAN_MAX_S gradient_norms carries the covector through the cell's step back
    instead of building Jacobians; it must match the explicit products just the same."""
    H = gradflow.jacobians.JACOBIAN_MAX_S // len(cells.get(cell).STATE_KEYS) + 1
    x, state0, params = network(cell, opts, rho=1.1, N=2, T=7, H=H)
    u = rng.standard_normal((2, H))
    g = gradflow.jacobians.gradient_norms(cell, x, state0, params, u=u, **opts)
    P = gradflow.jacobians.jacobian_products(cell, x, state0, params, **opts)
    S = P.shape[-1]
    assert S > gradflow.jacobians.JACOBIAN_MAX_S
    direct = np.einsum("nksr,ns->nkr", P[..., :H, :], u)
    np.testing.assert_allclose(g.log10_norm, log10(np.linalg.norm(direct, axis=2))[:, ::-1], atol=1e-12)
    np.testing.assert_allclose(g.log10_norm_h, log10(np.linalg.norm(direct[..., :H], axis=2))[:, ::-1],
                               atol=1e-12)
    if cell == "lstm":
        np.testing.assert_allclose(g.log10_norm_c[:, 1:],
                                   log10(np.linalg.norm(direct[..., H:], axis=2))[:, ::-1][:, 1:], atol=1e-12)


def test_log_space_agrees_with_plain_float_where_that_is_representable():
    """A plain float64 backward pass underflows near lag 700; before that they agree."""
    x, state0, params, u = gradflow.networks.sweep_setup(0.5, H=8, T=1200, N=1)
    g = gradflow.jacobians.gradient_norms("rnn", x, state0, params, u, activation="tanh")
    hs = elman.forward(x, state0, params, activation="tanh")[2]["hs"][:, 0]
    def norm(v):                                   # scaled, so that the squares cannot underflow
        m = np.abs(v).max()
        return m * np.linalg.norm(v / m) if m > 0 else 0.0

    v, plain = u.copy(), [norm(u)]
    for t in range(1199, -1, -1):
        v = (v * (1 - hs[t] ** 2)) @ params["W_h"]
        plain.append(norm(v))
    plain = np.array(plain)
    ok = plain > 1e-290
    assert 100 < ok.sum() < 1201 and not ok[-1]                 # plain float64 did underflow
    np.testing.assert_allclose(g.log10_norm[0, ok], np.log10(plain[ok]), atol=1e-9)
    assert np.all(g.log10_norm[0, ~ok] < -280) and np.isfinite(g.log10_norm).all()


@pytest.mark.parametrize("cell,opts", CELLS, ids=CELL_IDS)
def test_log_space_grid_is_finite_and_quiet(cell, opts):
    """T in {1, 10, 1000, 5000} and rho in {0, 0.5, 1, 2, 4}: finite, floored, under the bound."""
    for T in (1, 10, 1000, 5000):
        # a gated cell's forward is one validated step_forward per step: T = 5000 only at the ends
        rhos = (0.0, 4.0) if cell != "rnn" and T == 5000 else (0.0, 0.5, 1.0, 2.0, 4.0)
        for rho in rhos:
            x, state0, params = network(cell, opts, rho, N=1, T=T, H=3, seed=T)
            g = gradflow.jacobians.gradient_norms(cell, x, state0, params, **opts)
            assert g.log10_norm.shape == (1, T + 1)
            for arr in (g.log10_norm, g.log10_norm_h):
                assert np.isfinite(arr).all() and arr.min() >= FLOOR
            if cell == "rnn":
                bound = gradflow.bounds.singular_value_bound(params["W_h"], opts["activation"], g.lags)
                assert np.all(g.log10_norm[0] <= bound + 1e-9)
                if rho == 0.0:
                    assert np.all(g.log10_norm[0, 1:] == FLOOR)


def test_relu_units_all_off_give_the_floor():
    x, state0, params = network("rnn", {}, rho=1.0, N=1, T=20, H=3)
    params["b"][:] = -100.0                         # every unit off from step 1
    g = gradflow.jacobians.gradient_norms("rnn", x, state0, params, activation="relu")
    assert g.log10_norm[0, 0] == pytest.approx(0, abs=1e-12)
    assert np.all(g.log10_norm[0, 1:] == FLOOR)
    c = gradflow.jacobians.connectivity("rnn", x, state0, params, activation="relu")
    assert np.all(c == FLOOR)
    assert gradflow.logspace.decay_rate(g.log10_norm[0], g.lags) == gradflow.logspace.RATE_FLOOR


# ----------------------------------------------------------------------------------------
# The one backward carrier
# ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("shrink", [1.0, 1e-30])
def test_the_carrier_fast_and_careful_modes_agree_with_exact_logs(shrink):
    """carry_back against the exact log norms (computed in log space by hand), with and
    without a store, with blocks; 1e-30 per step underflows inside 16 steps, so the fast
    mode must give way to the careful one and still be exact."""
    rng = np.random.default_rng(0)
    T, M, S = 80, 3, 6
    Js = shrink * rng.standard_normal((T, S, S)) / np.sqrt(S)
    v = rng.standard_normal((M, S))
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    v[1, 3:] = 0.0                                       # a block that starts exactly zero
    v[1] /= np.linalg.norm(v[1])
    want, want_blocks, w, scale = [np.zeros(M)], [[], []], v.copy(), np.zeros(M)
    blocks = [slice(0, 3), slice(3, 6)]
    for b, p in enumerate(blocks):
        want_blocks[b].append(log10(np.linalg.norm(v[:, p], axis=1)))
    for j in range(T):
        w = w @ Js[j]
        n = np.linalg.norm(w, axis=1)
        for b, p in enumerate(blocks):
            want_blocks[b].append(scale + np.log10(np.linalg.norm(w[:, p], axis=1)))
        scale = scale + np.log10(n)
        want.append(scale.copy())
        w = w / n[:, None]
    step = lambda v, j, out: np.matmul(v, Js[j], out=out)
    logs, parts = gradflow.logspace.carry_back(step, v, T, blocks=blocks)
    np.testing.assert_allclose(logs, np.array(want), rtol=1e-12, atol=1e-10)
    for b in range(2):
        got, exp = parts[b], np.array(want_blocks[b])
        np.testing.assert_allclose(got[1:], exp[1:], rtol=1e-12, atol=1e-10)
    assert parts[1][0, 1] == FLOOR and np.all(parts[1][1:, 1] > FLOOR)
    careful = gradflow.logspace._carry_careful(step, v, T, blocks)
    np.testing.assert_allclose(careful[0], logs, rtol=1e-13, atol=1e-10)
    store = np.empty((T, M, S))
    stored = gradflow.logspace.carry_back(step, v, T, store=store)
    if shrink == 1.0:
        np.testing.assert_allclose(stored[0], logs, rtol=1e-13, atol=1e-10)
    else:
        assert stored is None                            # the caller must rebuild and go careful
    assert logs[-1].max() < (-1500 if shrink < 1 else 50)


def test_the_carrier_keeps_exact_zeros():
    """A covector that becomes exactly zero stays at the floor; the others are untouched."""
    Js = np.stack([np.eye(4)] * 20)
    Js[5] = np.diag([1.0, 1.0, 0.0, 0.0])
    v = np.array([[0.0, 0.0, 0.6, 0.8], [0.6, 0.8, 0.0, 0.0]])
    logs, _ = gradflow.logspace.carry_back(lambda v, j, out: np.matmul(v, Js[j], out=out), v, 20)
    assert np.all(logs[6:, 0] == FLOOR) and np.all(logs[:6, 0] == 0.0)
    np.testing.assert_allclose(logs[:, 1], 0.0, atol=1e-15)


# ----------------------------------------------------------------------------------------
# Rates, bounds, the linear case, connectivity
# ----------------------------------------------------------------------------------------

def test_decay_rate():
    lags = np.arange(101)
    y = np.vstack([lags * np.log10(0.9), lags * np.log10(1.1) + 3.0])
    np.testing.assert_allclose(gradflow.logspace.decay_rate(y, lags), [np.log(0.9), np.log(1.1)], rtol=1e-12)
    assert gradflow.logspace.decay_rate(y[0], lags, window=(0, 10)) == pytest.approx(np.log(0.9))
    y[1, 80:] = FLOOR
    assert gradflow.logspace.decay_rate(y, lags)[1] == gradflow.logspace.RATE_FLOOR
    with pytest.raises(ValueError, match="window"):
        gradflow.logspace.decay_rate(y, lags, window=(200, 300))
    with pytest.raises(ValueError, match="log10_norm"):
        gradflow.logspace.decay_rate(y[:, :50], lags)
    with pytest.raises(ValueError, match="log10_norm"):
        gradflow.logspace.decay_rate(np.full(101, -np.inf), lags)


@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("family", matrices.KINDS)
def test_measured_norms_never_exceed_the_singular_value_bound(act, family):
    rhos = np.linspace(0.0, 3.0, 13)
    s = gradflow.sweeps.sweep(rhos, H=16, T=100, activation=act, family=family, input_scale=0.3)
    assert np.all(s.log10_norm <= s.log10_sv_bound + 1e-9)
    for r in (3, 6, 12):
        W = matrices.family(family, 16, rhos[r])
        sv = gradflow.bounds.singular_value_bound(W, act, s.lags)
        np.testing.assert_allclose(sv, s.log10_sv_bound[r], atol=1e-9)
        assert np.all(gradflow.bounds.hochreiter_bound(W, act, s.lags) >= sv - 1e-9)
        exact = gradflow.sweeps.exact_spectral_norms(rhos[r], H=16, T=100, activation=act, family=family,
                                                     input_scale=0.3)
        assert np.all(exact <= sv + 1e-9)


def test_bounds_values():
    W = np.array([[0.0, 2.0], [0.5, 0.0]])                     # sigma_max 2, rho 1, max|w| 2
    lags = np.arange(4)
    np.testing.assert_allclose(gradflow.bounds.singular_value_bound(W, "sigmoid", lags), lags * np.log10(0.5))
    np.testing.assert_allclose(gradflow.bounds.hochreiter_bound(W, "sigmoid", lags), lags * np.log10(1.0))
    np.testing.assert_allclose(gradflow.bounds.hochreiter_bound(W, "tanh", lags), lags * np.log10(4.0))
    zero = gradflow.bounds.singular_value_bound(np.zeros((2, 2)), "tanh", lags)
    np.testing.assert_array_equal(zero, [0.0, FLOOR, FLOOR, FLOOR])


def test_pascanu_regime():
    W = matrices.family("orthogonal", 8, 3.0)
    r = gradflow.bounds.pascanu_regime(W, "sigmoid")                     # threshold 1/gamma = 4
    assert r["regime"] == "vanishing" and r["threshold"] == 4.0
    assert r["sigma_max"] == pytest.approx(3.0) and r["rho"] == pytest.approx(3.0)
    assert gradflow.bounds.pascanu_regime(W, "tanh")["regime"] == "explosion possible"
    nn = gradflow.bounds.pascanu_regime(matrices.family("nonnormal", 8, 0.9), "tanh")
    assert nn["regime"] == "explosion possible" and nn["rho"] < 1  # rho alone says "vanishing"
    assert "sufficient" in r["statement"]


def test_transient_growth():
    W = matrices.family("nonnormal", 12, 0.9, seed=1)
    tg = gradflow.jacobians.transient_growth(W, 60)
    direct = [np.linalg.norm(np.linalg.matrix_power(W, l), 2) for l in range(61)]
    np.testing.assert_allclose(tg, np.log10(direct), atol=1e-10)
    assert tg[0] == 0 and tg[15:].max() > 2                       # grows while rho < 1
    big = gradflow.jacobians.transient_growth(matrices.family("orthogonal", 5, 4.0), 2000)
    np.testing.assert_allclose(big, np.arange(2001) * np.log10(4.0), atol=1e-8)
    tiny = gradflow.jacobians.transient_growth(matrices.family("symmetric", 5, 0.01), 2000)
    np.testing.assert_allclose(tiny, np.arange(2001) * -2.0, atol=1e-8)
    zero = gradflow.jacobians.transient_growth(np.zeros((3, 3)), 4)
    np.testing.assert_array_equal(zero, [0.0, FLOOR, FLOOR, FLOOR, FLOOR])


@pytest.mark.parametrize("cell,opts", [CELLS[1], CELLS[4], CELLS[5], CELLS[6]],
                         ids=[CELL_IDS[1], CELL_IDS[4], CELL_IDS[5], CELL_IDS[6]])
def test_connectivity_matches_finite_differences(cell, opts):
    module = cells.get(cell)
    x, state0, params = network(cell, opts, rho=1.0, N=2, T=5, D=2, H=3)
    c = gradflow.jacobians.connectivity(cell, x, state0, params, **opts)
    assert c.shape == (2, 5)
    eps = 1e-6
    for t in range(5):
        grad = np.zeros((2, 3, 2))                                # dh_T/dx_t per sequence
        for d in range(2):
            up, down = x.copy(), x.copy()
            up[:, t, d] += eps
            down[:, t, d] -= eps
            hu = module.forward(up, state0, params, **opts)[1]["h"]
            hd = module.forward(down, state0, params, **opts)[1]["h"]
            grad[:, :, d] = (hu - hd) / (2 * eps)
        np.testing.assert_allclose(c[:, t], np.log10(np.linalg.norm(grad.reshape(2, -1), axis=1)),
                                   atol=1e-7)


def test_connectivity_long_sequence_stays_finite():
    x, state0, params, _ = gradflow.networks.sweep_setup(0.5, H=4, T=2000)
    c = gradflow.jacobians.connectivity("rnn", x, state0, params, activation="sigmoid")
    assert np.isfinite(c).all() and c[0, 0] < -300 and c[0, -1] > -3


# ----------------------------------------------------------------------------------------
# Bad input
# ----------------------------------------------------------------------------------------

def test_bad_input():
    for rhos in ([-0.5, 1.0], [np.nan], [np.inf], []):
        with pytest.raises(ValueError, match="rho"):
            gradflow.sweeps.sweep(rhos, H=4, T=5)
    with pytest.raises(ValueError, match="rho"):
        gradflow.sweeps.exact_spectral_norms(-1.0, H=4, T=5)
    with pytest.raises(ValueError, match="rho"):
        gradflow.networks.sweep_setup(np.inf, H=4, T=5)
    with pytest.raises(ValueError, match="T"):
        gradflow.sweeps.sweep([1.0], H=4, T=0)
    with pytest.raises(ValueError, match="family"):
        gradflow.sweeps.sweep([1.0], H=4, T=5, family="unitary")
    with pytest.raises(ValueError, match="activation"):
        gradflow.sweeps.sweep([1.0], H=4, T=5, activation="softplus")
    with pytest.raises(ValueError, match="input_scale"):
        gradflow.sweeps.sweep([1.0], H=4, T=5, input_scale=-1.0)
    with pytest.raises(TypeError, match="dtype"):
        gradflow.sweeps.sweep([1.0], H=4, T=5, dtype=np.int64)
    for fn in (gradflow.bounds.singular_value_bound, gradflow.bounds.hochreiter_bound):
        with pytest.raises(ValueError, match=r"W_h.*\(3, 4\)"):
            fn(np.zeros((3, 4)), "tanh", np.arange(3))
        with pytest.raises(ValueError, match="activation"):
            fn(np.eye(3), "softplus", np.arange(3))
        with pytest.raises(ValueError, match="lags"):
            fn(np.eye(3), "tanh", [-1, 2])
    with pytest.raises(ValueError, match="W_h"):
        gradflow.bounds.pascanu_regime(np.zeros((2, 3)), "tanh")
    with pytest.raises(ValueError, match="W_h"):
        gradflow.jacobians.transient_growth(np.zeros((2, 3)), 5)
    with pytest.raises(ValueError, match="L"):
        gradflow.jacobians.transient_growth(np.eye(2), -1)
    x, state0, params = network("rnn", {}, rho=1.0, N=1, T=3)
    with pytest.raises(ValueError, match="cell"):
        gradflow.jacobians.gradient_norms("elman", x, state0, params)
    with pytest.raises(ValueError, match="activation"):
        gradflow.jacobians.gradient_norms("rnn", x, state0, params, activation="softplus")
    with pytest.raises(ValueError, match="T = 0"):
        gradflow.jacobians.gradient_norms("rnn", x[:, :0], state0, params)
    with pytest.raises(ValueError, match="T = 0"):
        gradflow.jacobians.jacobian_products("rnn", x[:, :0], state0, params)
    with pytest.raises(ValueError, match="T = 0"):
        gradflow.jacobians.connectivity("lstm", x[:, :0], state0, params)
    with pytest.raises(ValueError, match="u"):
        gradflow.jacobians.gradient_norms("rnn", x, state0, params, u=np.ones(5))
    with pytest.raises(ValueError, match="u"):
        gradflow.jacobians.gradient_norms("rnn", x, state0, params, u=np.zeros(3))
    with pytest.raises(ValueError, match="params"):
        gradflow.jacobians.jacobian_step("rnn", x[:, 0], state0, {"W_h": np.eye(3)})
