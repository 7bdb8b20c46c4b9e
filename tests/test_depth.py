"""Tests for experiments.depth and plots.depth (notebook 06)."""
import numpy as np
import pytest

from rnn_core.bptt import gradcheck
from rnn_core.cells import elman, layers
from rnn_core.remedies import optim
from rnn_core.training import task_checks, tasks, train
from rnn_core.experiments import depth
from rnn_core.plots import depth as plots
from test_plots import check_legible

pytestmark = pytest.mark.filterwarnings("error")


def test_lookahead_targets_are_the_inputs_k_steps_later():
    task = tasks.lookahead(5, 8, seed=1, k=3, n_symbols=4)
    ids = task.x.argmax(axis=2)
    np.testing.assert_array_equal(task.y[:, :5], ids[:, 3:])
    np.testing.assert_array_equal(task.mask, np.repeat([[1.0] * 5 + [0.0] * 3], 5, axis=0))
    assert task.success(task.exact()) and task.score(np.zeros((5, 8, 4))) < 0.5
    again = task.resample(5, seed=1)
    np.testing.assert_array_equal(again.x, task.x)
    with pytest.raises(ValueError, match="T: expected T >= 4"):
        tasks.lookahead(2, 3, k=3)


def test_two_timescales_labels_follow_the_announced_mode():
    task = tasks.two_timescales(50, 30, seed=2, p_switch=0.2)
    bits = (task.x[:, :, 0] > 0).astype(int)
    marker = task.x[:, :, 1]
    assert np.all(marker[:, 0] != 0)
    mode = np.zeros_like(bits)
    for t in range(30):                              # the last announced mode, step by step
        mode[:, t] = np.where(marker[:, t] != 0, marker[:, t] > 0, mode[:, t - 1] if t else 0)
    np.testing.assert_array_equal(task.y[:, 1:], bits[:, :-1] ^ mode[:, 1:])
    assert task.mask[:, 0].sum() == 0 and task.mask[:, 1:].all()
    assert 0.1 < (marker[:, 1:] != 0).mean() < 0.3
    with pytest.raises(ValueError, match="p_switch"):
        tasks.two_timescales(2, 5, p_switch=1.5)


def test_a_linear_orthogonal_layer_keeps_the_gradient_norm():
    g = depth.depth_time_gradients(M=1, T=12, H=6, seed=3, activation="linear")
    np.testing.assert_allclose(g["log10"], 0.0, atol=1e-12)    # ||W^l w|| = ||w|| = 1
    assert abs(depth.decay_rate(g["log10"][0], g["lags"])) < 1e-12


def test_state_gradients_match_the_stack_backward():
    g = depth.depth_time_gradients(M=3, T=7, D=4, H=5, seed=4)
    # dL/dx from the step-by-step pass equals the sequence backward of the same stack
    rng = np.random.default_rng(4)
    x = rng.standard_normal((1, 7, 4))
    w = rng.standard_normal((1, 5))
    w /= np.linalg.norm(w)
    params = layers.stacked_init("rnn", 4, 5, 3, seed=int(rng.integers(2**31)))
    _, _, cache = layers.stacked_forward("rnn", x, None, params)
    dx, _, _ = layers.stacked_backward({6: w}, cache)
    np.testing.assert_allclose(g["log10_x"], np.log10(np.linalg.norm(dx[0], axis=1)),
                               rtol=1e-10)
    assert g["log10"][2, 6] == pytest.approx(0.0, abs=1e-12)   # the loss's own unit vector


def test_decay_rate_is_the_slope_in_natural_log():
    lags = np.arange(10)[::-1]
    y = np.stack([-0.3 * lags / np.log(10), 2.0 + 0 * lags])
    np.testing.assert_allclose(depth.decay_rate(y, lags), [-0.3, 0.0], atol=1e-12)
    assert depth.decay_rate(y[0], lags, min_lag=5) == pytest.approx(-0.3)
    with pytest.raises(ValueError, match="min_lag"):
        depth.decay_rate(y[0], lags, min_lag=9)


def test_depth_rates_shapes_and_signs():
    r = depth.depth_rates(depths=(1, 2), seeds=(0, 1), T=16, min_lag=4)
    for key in ("top", "bottom", "input"):
        assert r[key].shape == (2, 2) and np.all(r[key] < 0)
    np.testing.assert_array_equal(r["top"][0], r["bottom"][0])    # one layer is both
    assert np.isnan(r["vertical"][0]).all() and np.isfinite(r["vertical"][1]).all()


def test_build_counts_parameters():
    _, p, opts = depth.build("bidirectional", 4, 8, 4)
    assert optim.n_params(p) == 2 * (8 * 8 + 8 * 4 + 8) + 4 * 16 + 4 and opts == {}
    _, p, opts = depth.build("gated_feedback", 2, 8, 2, M=2)
    assert opts == {"L": 2} and p["out"]["W_y"].shape == (2, 8)
    with pytest.raises(ValueError, match="model"):
        depth.build("sideways", 2, 8, 2)


def test_bits_per_character_have_one_home():
    # the leak experiment's bits, the task's metric and a known value: uniform logits, log2 V
    val = tasks.text(N=4, T=5, seed=None)
    logits = np.random.default_rng(0).standard_normal((4, 5, val.n_out))
    assert task_checks.bits(logits, val.y).mean() == pytest.approx(val.score(logits), rel=1e-12)
    flat = np.zeros((4, 5, val.n_out))
    np.testing.assert_allclose(task_checks.bits(flat, val.y), np.log2(val.n_out), rtol=1e-15)


def test_gated_feedback_experiment_small():
    gf = depth.gated_feedback_experiment(seeds=(0,), T=6, H=3, steps=5, N_val=10)
    assert set(gf["models"]) == {"gated_feedback", "stacked", "stacked_wide"}
    n = {m: v["n_params"] for m, v in gf["models"].items()}
    assert n["stacked"] < n["gated_feedback"] <= n["stacked_wide"]
    assert gf["gates"].shape == (1, 2, 2) and gf["example"].shape == (6, 2, 2)
    assert gf["gates_mode"].shape == gf["gates_mode_untrained"].shape == (1, 2, 2)
    assert np.all((gf["example"] > 0) & (gf["example"] < 1))
    # the untrained control is the gated-feedback model of the same seed before fit
    val = tasks.two_timescales(10, 6, seed=123, p_switch=0.1)
    mode = depth.modes_from_markers(val.x[:, :, 1])
    g = depth.gate_values(depth.build("gated_feedback", 2, 3, 2, seed=0)[1], val.x)
    np.testing.assert_allclose(gf["gates_mode_untrained"][0],
                               g[mode].mean(axis=0) - g[~mode].mean(axis=0), rtol=1e-12)
    np.testing.assert_array_equal(gf["mode"], mode[0])
    fig = plots.gates_figure(gf)
    assert "reset gates" in fig.axes[0].get_title()
    check_legible(fig, "gates_figure")
    assert "in 1 of 1 seeds" in plots.gates_figure(gf, follows=-1.0).axes[0].get_title()


def test_modes_from_markers_keep_the_last_announced_mode():
    marker = np.array([[1.0, 0, 0, -1, 0, 1], [-1.0, 0, 1, 1, 0, 0]])
    np.testing.assert_array_equal(depth.modes_from_markers(marker),
                                  [[1, 1, 1, 0, 0, 1], [0, 0, 1, 1, 1, 1]])
    task = tasks.two_timescales(20, 15, seed=4, p_switch=0.3)
    mode = depth.modes_from_markers(task.x[:, :, 1]).astype(int)
    bits = (task.x[:, :, 0] > 0).astype(int)
    np.testing.assert_array_equal(task.y[:, 1:], bits[:, :-1] ^ mode[:, 1:])   # the task's own rule
    with pytest.raises(ValueError, match="marker"):
        depth.modes_from_markers(np.zeros((2, 3)))


def test_depth_costs_memory_grows_with_depth_and_direction():
    c = depth.depth_costs(depths=(1, 2), T=10, N=2, D=3, H=4, repeats=3)
    by = {(r["model"], r["M"]): r for r in c["rows"]}
    assert by["unidirectional", 2]["bytes"] > by["unidirectional", 1]["bytes"]
    assert by["bidirectional", 1]["bytes"] > by["unidirectional", 1]["bytes"]
    # every round timed every configuration; the rows summarise the columns of "times"
    assert c["times"].shape == (3, 3) and np.all(c["times"] > 0)
    for col, r in enumerate(c["rows"]):
        assert r["seconds"] == pytest.approx(np.median(c["times"][:, col]))
        np.testing.assert_allclose(r["ratio"], c["times"][:, col] / c["times"][:, 0])
    assert by["bidirectional", 1]["n_params"] == 2 * by["unidirectional", 1]["n_params"]
    fig = plots.costs_figure(c)
    assert "grows" in fig.axes[1].get_title()
    assert fig.axes[0].get_yscale() == "log"
    check_legible(fig, "costs_figure")


def test_costs_figure_says_what_the_fastest_rounds_show():
    rows = [{"model": "unidirectional", "M": M, "n_params": 10 * M, "bytes": 100 * M}
            for M in (1, 2)] + [{"model": "bidirectional", "M": 1, "n_params": 20, "bytes": 150}]
    grows = {"rows": rows, "T": 5, "times": np.array([[1.0, 2.0, 2.0], [3.0, 1.5, 2.5]])}
    assert "grows with every layer" in plots.costs_figure(grows).axes[0].get_title()
    flat = {**grows, "times": np.array([[1.0, 0.9, 2.0], [3.0, 1.5, 2.5]])}
    assert "grows" not in plots.costs_figure(flat).axes[0].get_title()


def test_direction_gradients_follow_the_paths():
    T, t = 12, 5
    g = depth.direction_gradients(T=T, D=3, H=6, seed=1, readout="step", t=t)
    # before t only the forward direction, which is the unidirectional layer, reaches x_s
    np.testing.assert_array_equal(g["bi"][:t], g["uni"][:t])
    assert np.isneginf(g["uni"][t + 1:]).all() and np.isfinite(g["bi"]).all()
    np.testing.assert_array_equal(g["path_uni"][t + 1:], -1)
    np.testing.assert_array_equal(g["path_bi"], np.abs(t - np.arange(T)))
    s = depth.direction_gradients(T=T, D=3, H=6, seed=1)
    np.testing.assert_array_equal(s["path_bi"], np.minimum(np.arange(T), T - 1 - np.arange(T)))
    assert s["bi"][0] > s["uni"][0] + 1                 # x_0 sits next to the backward end
    with pytest.raises(ValueError, match="readout"):
        depth.direction_gradients(T=T, readout="both")
    with pytest.raises(ValueError, match="t: expected"):
        depth.direction_gradients(T=T, readout="step", t=T)


@pytest.mark.parametrize("readout", ["step", "sequence"])
def test_direction_gradients_match_finite_differences(readout):
    # the same draws as direction_gradients: x, then w, then the parameters' seed
    T, D, H, seed = 6, 3, 4, 2
    g = depth.direction_gradients(T=T, D=D, H=H, seed=seed, readout=readout, t=2)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((1, T, D))
    w = rng.standard_normal((1, 2 * H))
    w /= np.linalg.norm(w)
    params = layers.bidirectional_init("rnn", D, H, seed=int(rng.integers(2**31)))

    def loss_bi():
        h = layers.bidirectional_forward("rnn", x, None, params)[0]
        if readout == "step":
            return float(h[0, 2] @ w[0])
        return float(h[0, T - 1, :H] @ w[0, :H] + h[0, 0, H:] @ w[0, H:])

    def loss_uni():
        h = elman.forward(x, None, params["fwd"])[0]
        return float(h[0, 2 if readout == "step" else T - 1] @ w[0, :H])

    for loss, key in ((loss_bi, "bi"), (loss_uni, "uni")):
        num = gradcheck.numerical_grad(loss, x)
        with np.errstate(divide="ignore"):
            np.testing.assert_allclose(g[key], np.log10(np.linalg.norm(num[0], axis=1)),
                                       rtol=1e-6, atol=1e-6)


def test_direction_paths_stack_the_seeds():
    p = depth.direction_paths(seeds=(0, 1), T=8, T_long=12, D=2, H=3)
    assert p["step"]["t"] == 4 and p["step"]["bi"].shape == (2, 8)
    assert p["sequence_long"]["uni"].shape == (2, 12)
    np.testing.assert_array_equal(p["sequence"]["bi"][1],
                                  depth.direction_gradients(T=8, D=2, H=3, seed=1)["bi"])
    fig = plots.direction_paths_figure(p)
    assert fig.axes[0].get_xlabel().startswith("input step s")
    check_legible(fig, "direction_paths_figure")
    with pytest.raises(ValueError, match="seeds"):
        depth.direction_paths(seeds=())


def test_figures_draw():
    g = depth.depth_time_gradients(M=2, T=8, H=4)
    rates = {1.0: depth.depth_rates(depths=(1, 2), seeds=(0,), T=8, min_lag=2)}
    fig = plots.depth_gradients_figure(g, rates)
    assert fig.axes[0].get_ylabel() == "layer j"
    check_legible(fig, "depth_gradients_figure")
    leak = {"T": 3, "bpc_future_hidden_by_step": np.array([5.0, 5.0, 4.0]),
            "bpc_future_hidden": 14 / 3,
            "models": {"unidirectional": {"bpc_by_step": np.array([3.0, 3.0, 3.0]), "bpc": 3.0},
                       "bidirectional": {"bpc_by_step": np.array([0.1, 0.2, 4.0]), "bpc": 1.4}}}
    fig = plots.leak_figure(leak)
    assert len(fig.axes[0].lines) == 3
    assert "at most 0.2 bits" in fig.axes[0].get_title() and "4.7 bits" in fig.axes[0].get_title()
    check_legible(fig, "leak_figure")


def test_trained_models_through_fit():
    val = tasks.lookahead(20, 5, seed=0, k=1, n_symbols=2)
    r = depth.train_model("stacked", val, 3, seed=0, steps=3, val_every=3)
    assert r["history"].steps_run == 3 and 0 <= r["score"] <= 1
    assert isinstance(train.evaluate(r["cell"], r["params"], val)[1], float)
