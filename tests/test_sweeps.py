"""Tests for rnn_core.gradflow's sweep over rho, for every cell: against per-rho
gradient_norms, its fast paths against the plain cell equations, its scaling rule, its fields."""
import dataclasses
import math

import numpy as np
import pytest

from rnn_core.nn import activations, matrices
from rnn_core import gradflow
from rnn_core.cells import elman

pytestmark = pytest.mark.filterwarnings("error")

ACTS = ("sigmoid", "tanh", "relu", "linear")
FLOOR = gradflow.logspace.LOG10_FLOOR


@pytest.mark.parametrize("act", ACTS)
def test_sweep_grid_is_finite_and_quiet(act):
    rhos = [0.0, 0.5, 1.0, 2.0, 4.0]
    for T in (1, 10, 1000, 5000):
        s = gradflow.sweeps.sweep(rhos, H=3, T=T, activation=act, N=1)
        assert s.log10_norm.shape == (5, T + 1)
        assert np.isfinite(s.log10_norm).all() and s.log10_norm.min() >= FLOOR
        assert np.isfinite(s.rate).all() and np.isfinite(s.log10_sv_bound).all()
        assert np.all(s.log10_norm[0, 1:] == FLOOR) and s.rate[0] == gradflow.logspace.RATE_FLOOR
        assert np.all(s.log10_norm <= s.log10_sv_bound + 1e-9)
    e = gradflow.sweeps.exact_spectral_norms(4.0, H=3, T=1000, activation=act)
    assert np.isfinite(e).all() and e.shape == (1001,)

# ----------------------------------------------------------------------------------------
# The sweep
# ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("family", matrices.KINDS)
@pytest.mark.parametrize("act", ACTS)
def test_sweep_matches_a_per_rho_loop(family, act):
    rhos = np.linspace(0.5, 1.5, 6)
    s = gradflow.sweeps.sweep(rhos, H=8, T=40, activation=act, family=family, N=2, D=5, bias=0.1, seed=4)
    for r, rho in enumerate(rhos):
        x, state0, params, u = gradflow.networks.sweep_setup(rho, H=8, T=40, family=family, N=2, D=5,
                                                    bias=0.1, seed=4)
        g = gradflow.jacobians.gradient_norms("rnn", x, state0, params, u, activation=act)
        want = gradflow.logspace.mean_log(g.log10_norm, axis=0)
        # relative error 1e-10 of the norm is 1e-10 / ln 10 in log10
        np.testing.assert_allclose(s.log10_norm[r], want, rtol=0, atol=1e-10 / math.log(10))
        assert s.sigma_max[r] == pytest.approx(matrices.sigma_max(params["W_h"]), rel=1e-12)
        np.testing.assert_allclose(np.abs(s.eigenvalues[r]), np.abs(matrices.eigenvalues(params["W_h"])),
                                   atol=1e-10)


def test_sweep_matches_explicit_products_of_one_step_jacobians():
    rhos = [0.6, 1.0, 1.4]
    s = gradflow.sweeps.sweep(rhos, H=6, T=30, activation="tanh", family="gaussian", input_scale=0.5)
    for r, rho in enumerate(rhos):
        x, state0, params, u = gradflow.networks.sweep_setup(rho, H=6, T=30, family="gaussian", input_scale=0.5)
        P = gradflow.jacobians.jacobian_products("rnn", x, state0, params, activation="tanh")[0]
        direct = np.linalg.norm(np.einsum("ksr,s->kr", P, u), axis=1)[::-1]
        assert direct.min() > 1e-200
        np.testing.assert_allclose(10.0 ** s.log10_norm[r], direct, rtol=1e-10)
        exact = gradflow.sweeps.exact_spectral_norms(rho, H=6, T=30, family="gaussian", input_scale=0.5)
        np.testing.assert_allclose(10.0 ** exact, np.linalg.norm(P, 2, axis=(1, 2))[::-1], rtol=1e-10)
        assert np.all(exact >= s.log10_norm[r] - 1e-12)         # ||P^T u|| <= ||P||_2


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("act", ["tanh", "sigmoid"])
def test_fast_forward_matches_the_plain_forward(act, dtype):
    """The sweep's tanh/sigmoid forward (pre-scaled states, the input folded into the matmul,
    exp2, f' without a division) gives the f' of radii.states + df_from_out, for several
    sequences, a given h_0 and rho = 0 (where h_t = f(xw_t))."""
    a = activations.get(act)
    rng = np.random.default_rng(7)
    H, T, N = 6, 60, 3
    rhos = np.array([0.0, 0.3, 0.9, 1.0])
    B = matrices.base("gaussian", H, 2).astype(dtype)
    xw = (0.7 * rng.standard_normal((T, N, H))).astype(dtype)
    h0 = (0.5 * rng.standard_normal((N, H))).astype(dtype)
    assert gradflow.radii_fast.applies(a, rhos)
    fast = gradflow.radii.derivatives(B, rhos, xw, a, h0)
    plain = a.df_from_out(gradflow.radii.states(B, rhos, xw, a, h0)).reshape(T, rhos.size * N, H)
    assert fast.dtype == dtype and fast.shape == plain.shape
    np.testing.assert_allclose(fast, plain, rtol=0, atol=1e-13 if dtype == np.float64 else 2e-6)
    d, kappa = gradflow.radii_fast.scaled_derivatives(B, rhos, xw, a, h0)      # the scaled f' of the sweep
    scale = (kappa * np.repeat(rhos, N)) ** 2
    np.testing.assert_allclose(d, -scale[:, None] * plain, rtol=0,
                               atol=1e-13 * scale.max() if dtype == np.float64 else 1e-5)


@pytest.mark.parametrize("act", ["tanh", "sigmoid"])
def test_sweep_fast_path_equals_the_plain_path(act, monkeypatch):
    """Over 2000 steps (many renormalisations of the scaled covector) and with rho = 0, the
    fast path agrees with the plain forward's to rounding."""
    rhos = np.array([0.0, 0.5, 0.9, 1.0, 1.1])
    kw = dict(H=8, T=2000, activation=act, family="gaussian", input_scale=0.3, N=2, seed=3)
    fast = gradflow.sweeps.sweep(rhos, **kw)
    monkeypatch.setattr(gradflow.radii_fast, "RHO_RANGE", {})          # every rho takes radii.states
    assert not gradflow.radii_fast.applies(activations.get(act), rhos)
    plain = gradflow.sweeps.sweep(rhos, **kw)
    assert np.all(fast.log10_norm[0, 1:] == FLOOR) and np.all(plain.log10_norm[0, 1:] == FLOOR)
    assert fast.log10_norm[1:].min() < -100                   # long enough to need the log space
    np.testing.assert_allclose(fast.log10_norm[1:], plain.log10_norm[1:], rtol=1e-12, atol=1e-9)


def test_sweeps_do_not_interfere():
    """Results must not depend on what ran before (the explorer reuses cached bases and
    inputs), nor share memory with it."""
    kw = dict(H=8, T=50, input_scale=0.5)
    first = gradflow.sweeps.sweep([0.7, 1.2], **kw)
    gradflow.sweeps.sweep(np.linspace(0.1, 2.0, 9), H=16, T=300)                   # a bigger one
    gradflow.sweeps.sweep([0.9], H=4, T=10, activation="sigmoid", dtype=np.float32)  # another dtype
    again = gradflow.sweeps.sweep([0.7, 1.2], **kw)
    np.testing.assert_array_equal(first.log10_norm, again.log10_norm)
    assert not np.shares_memory(again.log10_norm, first.log10_norm)


@pytest.mark.parametrize("act", ["tanh", "sigmoid"])
def test_sweep_logs_fast_branch_equals_the_plain_branch(act):
    """radii.sweep_logs: the fast=True branch (radii_fast's scaled f') equals fast=False (the
    cell's own recurrence and carry) to rounding, with and without the scaled backward."""
    a = activations.get(act)
    for rhos in (np.array([0.5, 0.9, 1.0, 1.3]), np.array([0.0, 1e-3, 0.8])):
        xw, _, u = gradflow.networks.cached_inputs("rnn", None, 8, 300, 2, 8, 0.4, 0.0, None, 1,
                                                   np.dtype(np.float64))
        B = matrices.base("gaussian", 8, 1)
        fast = gradflow.radii.sweep_logs(B, rhos, xw, a, u)
        plain = gradflow.radii.sweep_logs(B, rhos, xw, a, u, fast=False)
        np.testing.assert_allclose(fast, plain, rtol=1e-12, atol=1e-9)


def test_fast_path_range():
    tanh, sigmoid = activations.get("tanh"), activations.get("sigmoid")
    assert gradflow.radii_fast.applies(tanh, np.array([0.0, 1e-3, 4.0, 16.0]))
    assert not gradflow.radii_fast.applies(tanh, np.array([0.5, 17.0]))         # radii.states: exact at large rho
    assert not gradflow.radii_fast.applies(tanh, np.array([1e-120, 0.5]))       # (kappa rho)^2 would underflow
    assert gradflow.radii_fast.applies(sigmoid, np.array([0.0, 16.0])) and not gradflow.radii_fast.applies(sigmoid, np.array([17.0]))
    assert gradflow.radii_fast.applies(tanh, np.array([1e-30])) and not gradflow.radii_fast.applies(tanh, np.array([1e-30]), 1e-2)
    assert not gradflow.radii_fast.applies(activations.get("relu"), np.array([0.5]))


def test_chaotic_rows_agree_in_rate():
    """Where gradients explode the forward dynamics are chaotic and amplify rounding, so a
    per-rho recomputation (different matmul shapes) agrees in rate, not digit by digit;
    sweep([rho]) and exact_spectral_norms share the forward exactly, so the bound holds."""
    rhos = np.array([0.9, 3.0])
    s = gradflow.sweeps.sweep(rhos, H=32, T=300, input_scale=0.1)
    assert s.rate[1] > 0.1
    x, state0, params, u = gradflow.networks.sweep_setup(3.0, H=32, T=300, input_scale=0.1)
    g = gradflow.jacobians.gradient_norms("rnn", x, state0, params, u, activation="tanh")
    assert gradflow.logspace.decay_rate(g.log10_norm[0], g.lags) == pytest.approx(s.rate[1], rel=0.1)
    one = gradflow.sweeps.sweep([3.0], H=32, T=300, input_scale=0.1)
    exact = gradflow.sweeps.exact_spectral_norms(3.0, H=32, T=300, input_scale=0.1)
    assert np.all(exact >= one.log10_norm[0] - 1e-9)


# (sweep keywords, gradient_norms options) for every cell the sweep serves
SWEEP_CELLS = ([(dict(activation=a), {"activation": a}) for a in ACTS]
               + [(dict(cell="lstm", forget_bias=0.5), {}),
                  (dict(cell="gru", form="sources"), {"form": "sources"}),
                  (dict(cell="gru", form="cudnn"), {"form": "cudnn"})])
SWEEP_IDS = [next(iter(kw.values())) if "cell" not in kw else f"{kw['cell']}-{kw.get('form', '')}"
             for kw, _ in SWEEP_CELLS]


@pytest.mark.parametrize("kw,opts", SWEEP_CELLS, ids=SWEEP_IDS)
def test_sweep_of_every_cell_matches_gradient_norms_per_rho(kw, opts):
    """Each row equals gradient_norms on sweep_setup's network (the same seeds, one rho at a
    time, no stacking) to 1e-10 relative in the norm; chaotic rows (rate > 0) agree in rate."""
    rhos = np.array([0.0, 0.3, 0.8, 1.0, 1.6])
    setup = dict(H=5, T=60, family="gaussian", input_scale=0.7, N=2, D=3, bias=0.1, seed=2, **kw)
    s = gradflow.sweeps.sweep(rhos, **setup)
    cell = kw.get("cell", "rnn")
    assert s.cell == cell and s.log10_norm.shape == (5, 61)
    assert (s.log10_norm_c is not None) == (cell == "lstm")
    for r, rho in enumerate(rhos):
        x, state0, params, u = gradflow.networks.sweep_setup(rho, **setup)
        g = gradflow.jacobians.gradient_norms(cell, x, state0, params, u, **opts)
        pairs = [(s.log10_norm, g.log10_norm), (s.log10_norm_h, g.log10_norm_h)]
        if cell == "lstm":
            pairs.append((s.log10_norm_c, g.log10_norm_c))
        for got, per_rho in pairs:
            want = gradflow.logspace.mean_log(per_rho, axis=0)
            if s.rate[r] > 0.01:                   # chaotic: rounding is amplified
                assert gradflow.logspace.decay_rate(want, g.lags) == pytest.approx(s.rate[r], rel=0.05)
            else:
                np.testing.assert_allclose(got[r], want, rtol=0, atol=1e-10 / math.log(10))
    if cell != "rnn":
        assert np.all(s.log10_norm[0, 2:] > FLOOR)  # rho = 0: the gated paths still carry


@pytest.mark.parametrize("kw,opts", SWEEP_CELLS[4:], ids=SWEEP_IDS[4:])
def test_gated_sweep_grid_is_finite_and_quiet(kw, opts):
    """T up to 5000 and rho in [0, 4]: finite, floored, with no floating-point warning."""
    for T in (1, 10, 1000, 5000):
        s = gradflow.sweeps.sweep([0.0, 0.5, 1.0, 2.0, 4.0], H=3, T=T, input_scale=2.0, **kw)
        for arr in (s.log10_norm, s.log10_norm_h) + ((s.log10_norm_c,) if s.cell == "lstm" else ()):
            assert arr.shape == (5, T + 1) and np.isfinite(arr).all() and arr.min() >= FLOOR
        assert np.isfinite(s.rate).all() and s.log10_sv_bound is None and s.threshold is None


@pytest.mark.parametrize("kw,opts", SWEEP_CELLS[1:], ids=SWEEP_IDS[1:])
def test_sweep_scales_every_recurrent_block_and_says_which(kw, opts):
    """sweep_setup's params hold rho * matrices.base(family, H, seed, block=j) in every
    recurrent block named by Sweep.scaled, in gate order; the rest does not move with rho."""
    H, rho = 4, 1.7
    cell = kw.get("cell", "rnn")
    s = gradflow.sweeps.sweep([0.5, rho], H=H, T=3, family="nonnormal", seed=5, **kw)
    _, _, params, _ = gradflow.networks.sweep_setup(rho, H=H, T=3, family="nonnormal", seed=5, **kw)
    _, _, other, _ = gradflow.networks.sweep_setup(0.5, H=H, T=3, family="nonnormal", seed=5, **kw)
    assert len(s.scaled) == {"rnn": 1, "lstm": 4, "gru": 3}[cell]
    for j, name in enumerate(s.scaled):
        key = name.split("[")[0]
        block = params[key][:, :H] if "[" in name else params[key]
        want = matrices.base("nonnormal", H, 5) if cell == "rnn" else matrices.base("nonnormal", H, 5, block=j)
        np.testing.assert_array_equal(block, rho * want)
        assert s.block_sigma_max[1, j] == pytest.approx(matrices.sigma_max(block), rel=1e-12)
        assert matrices.spectral_radius(block) == pytest.approx(rho, rel=1e-9)
    for key in params:                              # everything else is fixed
        a, b = params[key], other[key]
        if not any(name.split("[")[0] == key for name in s.scaled):
            np.testing.assert_array_equal(a, b)
        elif a.shape[1] > H:
            np.testing.assert_array_equal(a[:, H:], b[:, H:])
    assert s.sigma_max[1] == pytest.approx(s.block_sigma_max[1].max())
    assert s.eigenvalues.shape == (2, len(s.scaled) * H)
    np.testing.assert_allclose(np.abs(s.eigenvalues[1]).max(), rho, rtol=1e-9)
    if cell == "lstm":
        np.testing.assert_array_equal(params["b_f"], 0.5)
        assert s.forget_bias == 0.5 and all(np.all(params[k] == 0.0) for k in ("b_i", "b_o", "b_C"))
    if kw.get("form") == "cudnn":
        assert all(np.all(params["b_h" + g] == 0) for g in "rzn")


def test_lstm_forget_bias_moves_the_gradient_onto_the_carousel():
    """rho = 0: h_{k<T} feeds nothing, so dL/dh_k = 0 (the floor) and the whole gradient goes
    through C, at the carousel's rate ln f = ln sigmoid(b_f) (inputs nudge f a little).
    The forget-gate bias sets how much survives 300 steps: far more than the tanh RNN's."""
    kw = dict(H=8, T=300, cell="lstm", input_scale=0.1)
    for b_f in (6.0, 1.0, -6.0):
        s = gradflow.sweeps.sweep([0.0, 0.5], forget_bias=b_f, **kw)
        assert np.all(s.log10_norm_h[0, 1:] == FLOOR) and np.all(s.log10_norm_c[0, 1:] > FLOOR)
        np.testing.assert_array_equal(s.log10_norm[0, 1:], s.log10_norm_c[0, 1:])
        assert s.rate[0] == pytest.approx(math.log(1 / (1 + math.exp(-b_f))), rel=0.02)
    open_ = gradflow.sweeps.sweep([0.5], forget_bias=6.0, **kw)
    shut = gradflow.sweeps.sweep([0.5], forget_bias=-6.0, **kw)
    rnn = gradflow.sweeps.sweep([0.5], H=8, T=300, input_scale=0.1)
    assert open_.log10_norm[0, -1] > rnn.log10_norm[0, -1] + 50 > shut.log10_norm[0, -1] + 100


def test_sweep_options_belong_to_their_cell():
    with pytest.raises(ValueError, match="activation"):
        gradflow.sweeps.sweep([1.0], H=3, T=4, activation="tanh", cell="lstm")
    with pytest.raises(ValueError, match="forget_bias"):
        gradflow.sweeps.sweep([1.0], H=3, T=4, forget_bias=1.0)
    with pytest.raises(ValueError, match="form"):
        gradflow.sweeps.sweep([1.0], H=3, T=4, cell="lstm", form="cudnn")
    with pytest.raises(ValueError, match="form"):
        gradflow.sweeps.sweep([1.0], H=3, T=4, cell="gru", form="seeds")
    with pytest.raises(ValueError, match="cell"):
        gradflow.sweeps.sweep([1.0], H=3, T=4, cell="gated_feedback")
    with pytest.raises(ValueError, match="forget_bias"):
        gradflow.sweeps.sweep([1.0], H=3, T=4, cell="lstm", forget_bias=np.nan)
    assert gradflow.sweeps.sweep([1.0], H=3, T=4, cell="gru").form == "sources"
    assert gradflow.sweeps.sweep([1.0], H=3, T=4, cell="lstm").forget_bias == 1.0


@pytest.mark.parametrize("act", ACTS)
def test_batched_plain_forward_equals_the_cell_forward(act):
    """radii.states (every rho at once, rho folded into the state) gives each rho's
    elman.forward states, and for ReLU/linear past the float range the same f'."""
    rng = np.random.default_rng(1)
    H, T, N = 5, 30, 2
    rhos = np.array([0.0, 0.6, 1.0, 1.4])
    B = matrices.base("gaussian", H, 3)
    x = rng.standard_normal((N, T, 3))
    params = {"W_x": rng.standard_normal((H, 3)), "b": 0.1 * rng.standard_normal(H)}
    h0 = 0.3 * rng.standard_normal((N, H))
    hs = gradflow.radii.states(B, rhos, gradflow.traces.inputs(x, params["W_x"], params["b"]),
                                   activations.get(act), h0)
    for r, rho in enumerate(rhos):
        h = elman.forward(x, {"h": h0}, {**params, "W_h": rho * B}, activation=act)[0]
        np.testing.assert_allclose(hs[:, r].transpose(1, 0, 2), h, rtol=1e-12, atol=1e-13)
    if act in ("relu", "linear"):                   # grows past 1e308: f' is still exact
        s = gradflow.sweeps.sweep([4.0], H=4, T=3000, activation=act, family="identity", input_scale=0.0,
                                  bias=1.0)
        np.testing.assert_allclose(s.log10_norm[0], s.lags * np.log10(4.0), atol=1e-8)

def test_sweep_fields():
    s = gradflow.sweeps.sweep([0.5, 1.0, 4.0], H=5, T=12, activation="sigmoid", family="symmetric",
                              input_scale=2.0)
    assert s.rhos.shape == (3,) and s.sigma_max.shape == (3,) and s.rate.shape == (3,)
    assert s.eigenvalues.shape == (3, 5) and np.iscomplexobj(s.eigenvalues)
    np.testing.assert_array_equal(s.lags, np.arange(13))
    assert s.log10_norm.shape == (3, 13) and s.log10_sv_bound.shape == (3, 13)
    assert (s.gamma, s.threshold, s.activation, s.family) == (0.25, 4.0, "sigmoid", "symmetric")
    assert (s.T, s.H, s.N, s.D, s.input_scale) == (12, 5, 1, 5, 2.0)
    np.testing.assert_allclose(s.sigma_max, s.rhos, rtol=1e-12)           # symmetric: normal
    np.testing.assert_allclose(s.log10_norm[:, 0], 0, atol=1e-12)        # ||u|| = 1
    assert s.rate_window == (6.0, 12.0)
    np.testing.assert_allclose(s.rate, gradflow.logspace.decay_rate(s.log10_norm, s.lags, (6, 12)))
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.T = 3
    with pytest.raises(ValueError):
        s.log10_norm[0, 0] = 1.0
    assert "sigmoid" in repr(s)


@pytest.mark.parametrize("kw", [{}, dict(cell="lstm"), dict(cell="gru"), dict(cell="gru", form="cudnn")])
def test_sweep_float32_is_close_to_float64(kw):
    rhos = np.linspace(0.5, 1.5, 5)
    a = gradflow.sweeps.sweep(rhos, H=16, T=50, dtype=np.float32, **kw)
    b = gradflow.sweeps.sweep(rhos, H=16, T=50, **kw)
    assert a.dtype == "float32"
    np.testing.assert_allclose(a.log10_norm, b.log10_norm, atol=1e-3)


def test_lstm_sweep_with_the_gate_shut_and_saturated_inputs_stays_exact(monkeypatch):
    """b_f = -20 and inputs of scale 10: norms fall by ~1e-9 per step, past float64 within
    16 steps, so the carrier's careful pass runs; still finite, and equal to gradient_norms."""
    kw = dict(H=4, T=2000, cell="lstm", input_scale=10.0, forget_bias=-20.0)
    careful, calls = gradflow.logspace._carry_careful, []
    monkeypatch.setattr(gradflow.logspace, "_carry_careful", lambda *a: calls.append(1) or careful(*a))
    s = gradflow.sweeps.sweep([0.0, 1.0, 4.0], **kw)
    assert calls == [1]                                      # the fast pass gave way
    assert np.isfinite(s.log10_norm).all() and s.log10_norm[:, -1].max() < -2000
    x, state0, params, u = gradflow.networks.sweep_setup(4.0, **kw)
    g = gradflow.jacobians.gradient_norms("lstm", x, state0, params, u)
    np.testing.assert_allclose(s.log10_norm[2], g.log10_norm[0], rtol=1e-10, atol=1e-8)
    np.testing.assert_allclose(s.log10_norm_c[2], g.log10_norm_c[0], rtol=1e-10, atol=1e-8)


def test_sweep_at_rho_zero_and_every_unit_off():
    s = gradflow.sweeps.sweep([0.0, 1.0], H=4, T=10, activation="relu", bias=-50.0)
    assert np.all(s.log10_norm[:, 1:] == FLOOR)                 # both rows are exactly zero
    np.testing.assert_array_equal(s.rate, gradflow.logspace.RATE_FLOOR)


def test_orthogonal_linear_sweep_is_exact():
    """A linear RNN with orthogonal W_h: ||u^T W^l|| = rho^l exactly, and the rate is ln rho."""
    rhos = np.array([0.5, 1.0, 2.0, 4.0])
    s = gradflow.sweeps.sweep(rhos, H=8, T=3000, activation="linear")
    np.testing.assert_allclose(s.log10_norm, np.outer(np.log10(rhos), s.lags), atol=1e-9)
    np.testing.assert_allclose(s.rate, np.log(rhos), atol=1e-12)
    np.testing.assert_allclose(s.log10_norm, s.log10_sv_bound, atol=1e-9)   # the bound is tight


@pytest.mark.parametrize("act", ["linear", "tanh"])
def test_extreme_rho_is_exact(act):
    """rho^l underflows float64 by l = 4 for rho = 1e-100 and overflows for 1e80: still exact."""
    rhos = np.array([1e-100, 1e-30, 0.5, 1e80])
    s = gradflow.sweeps.sweep(rhos, H=4, T=40, activation=act, input_scale=0.0)   # h = 0: f' = 1
    np.testing.assert_allclose(s.log10_norm, np.outer(np.log10(rhos), s.lags), rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(s.rate, np.log(rhos), rtol=1e-12)
    for r, rho in enumerate(rhos[:2]):
        x, state0, params, u = gradflow.networks.sweep_setup(rho, H=4, T=40, input_scale=0.0)
        g = gradflow.jacobians.gradient_norms("rnn", x, state0, params, u, activation=act)
        np.testing.assert_allclose(g.log10_norm[0], s.log10_norm[r], rtol=1e-12, atol=1e-12)

def test_lstm_sweep_taking_rho_into_the_state_equals_one_weight_set_per_rho():
    """The LSTM sweep runs lstm.recurrence on rho h_{t-1} with the shared base (one matmul per
    step); the plain way, W (R, 4H, H) = rho B per row, gives the same states and steps back."""
    rng = np.random.default_rng(3)
    R, N, H, T = 4, 2, 3, 12
    B = np.concatenate([matrices.base("gaussian", H, 1, block=j) for j in range(4)])
    r = np.array([0.0, 0.5, 1.0, 2.5])[:, None, None]
    xw = rng.standard_normal((T, N, 4 * H))
    start = (np.zeros((R, N, H)), np.zeros((R, N, H)))
    fast = gradflow.traces.run("lstm", xw, start, B, None, {}, r)
    plain = gradflow.traces.run("lstm", xw, start, r * B, None, {})
    for key in plain:
        np.testing.assert_allclose(fast[key], plain[key], rtol=1e-13, atol=1e-15)
    d = (rng.standard_normal((R, N, H)), rng.standard_normal((R, N, H)))
    got = gradflow.traces.back("lstm", fast, 5, d, B, {}, r)
    want = gradflow.traces.back("lstm", plain, 5, d, r * B, {})
    for a, b in zip((got[0],) + got[1], (want[0],) + want[1]):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)
