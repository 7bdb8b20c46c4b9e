"""Tests for rnn_core.experiments: the numbers the notebooks' sentences rest on."""
import numpy as np
import pytest

from rnn_core import experiments, gradflow, plots


def test_the_lecture_notes_step_is_exact_for_one_factor_and_the_blog_posts_is_not():
    notes = experiments.vanishing.commutation_gap(order="notes")
    blog = experiments.vanishing.commutation_gap(order="blog")
    assert notes["gap"][0] < 1e-12 and blog["gap"][0] > 0.3
    assert (notes["gap"][1:] > 0.3).all() and (blog["gap"] > 0.3).all()
    np.testing.assert_allclose(notes["gap"][:4], [0.0, 0.55, 0.79, 1.01], atol=0.01)
    np.testing.assert_allclose(blog["gap"][:4], [0.57, 0.81, 0.98, 1.08], atol=0.01)
    assert "W_h^T" in notes["true_label"] and "W_h^T" not in blog["true_label"]


@pytest.mark.parametrize("order", experiments.vanishing.COMMUTATION_ORDERS)
def test_commutation_gap_of_a_linear_rnn_is_zero_in_both_orders(order):
    gap = experiments.vanishing.commutation_gap(activation="linear", family="gaussian", order=order)
    assert gap["gap"].max() < 1e-12


def test_commutation_gap_names_a_bad_order():
    with pytest.raises(ValueError, match="order"):
        experiments.vanishing.commutation_gap(order="seeds")


def test_notes_order_is_the_transpose_of_the_jacobian_product():
    H, n = 6, 3
    dfs, W = experiments.derivatives.trajectory_derivatives("tanh", "gaussian", 1.0, H, n, 1.0, 0)
    jac = np.eye(H)
    for d in dfs:
        jac = np.diag(d) @ W @ jac
    notes = np.eye(H)
    for d in dfs:
        notes = notes @ W.T @ np.diag(d)
    np.testing.assert_allclose(notes, jac.T, atol=1e-14)


def test_state_statistics_agree_with_the_sweep_and_show_saturation():
    for rho, scale in ((0.9, 0.01), (1.5, 0.01), (1.5, 1.0)):
        st = experiments.vanishing.state_statistics(rho, "tanh", input_scale=scale)
        sw = gradflow.sweeps.sweep([rho], activation="tanh", input_scale=scale)
        assert abs(st["rate"] - sw.rate[0]) < 1e-6
    low = experiments.vanishing.state_statistics(0.9, "tanh", input_scale=0.01)
    high = experiments.vanishing.state_statistics(1.5, "tanh", input_scale=0.01)
    assert low["mean_abs_h"] < 0.05 and low["mean_df"] > 0.99
    assert high["mean_abs_h"] > 0.4 and high["mean_df"] < 0.7          # saturated by itself
    assert 0 < high["rate"] < np.log(1.5) / 2
    assert abs(high["rate"] - high["rms_estimate"]) < 0.03


def test_a_centring_bias_makes_a_sigmoid_rnn_grow_and_zero_bias_does_not():
    for rho in (5.0, 12.0):
        zero = experiments.vanishing.state_statistics(rho, "sigmoid", input_scale=0.01)
        cent = experiments.vanishing.state_statistics(rho, "sigmoid", input_scale=0.01, bias="centred")
        assert zero["rate"] < -0.1 and cent["rate"] > 0.01
    cent3 = experiments.vanishing.state_statistics(3.0, "sigmoid", input_scale=0.01, bias="centred")
    assert abs(cent3["rate"] - np.log(3.0 / 4)) < 0.01                 # f' = 1/4 at the centre
    with pytest.raises(ValueError, match="bias"):
        experiments.vanishing.state_statistics(3.0, "sigmoid", bias="middle")


def test_mean_derivative_does_not_explain_the_bias_but_the_rms_does():
    a = experiments.vanishing.state_statistics(12.0, "sigmoid", input_scale=0.01, bias=0.0)
    b = experiments.vanishing.state_statistics(12.0, "sigmoid", input_scale=0.01, bias=-2.0)
    assert b["rate"] - a["rate"] > 0.15 and abs(b["mean_df"] - a["mean_df"]) < 0.01
    assert np.log(12 * a["mean_df"]) < -0.5 and np.log(12 * b["mean_df"]) < -0.5
    assert abs(a["rms_estimate"] - a["rate"]) < 0.01


def test_rule_table_gives_a_verdict_per_lag():
    rows = {r["case"]: r for r in experiments.vanishing.rule_cases()}
    nn = rows["linear, nonnormal, rho 0.9"]
    assert not nn["holds_short"] and nn["holds_T"] and not nn["rule_holds"]
    table = experiments.vanishing.format_rule_table(list(rows.values()))
    line = next(l for l in table.splitlines() if l.startswith("linear, nonnormal"))
    assert line.split()[-1] == "holds" and "FAILS" in line


def test_rate_table_prints_the_range_and_the_rho_used():
    sweeps = experiments.vanishing.rate_sweeps(T=40, H=8)
    lines = experiments.vanishing.rate_table(sweeps, rho=1.5).splitlines()
    sig = next(l for l in lines if l.startswith("sigmoid"))
    assert "0.5-6.0" in sig and "1.46" in sig
    assert "0.5-1.5" in next(l for l in lines if l.startswith("tanh"))


def test_the_explorer_defaults_show_both_regimes_with_the_crossover_at_the_threshold():
    d = experiments.vanishing.DEFAULTS
    sweep = experiments.vanishing.explorer_sweep()
    assert (sweep.input_scale, sweep.activation, sweep.T) == (d["input_scale"], d["activation"], d["T"])
    change = sweep.log10_norm[:, -1] - sweep.log10_norm[:, 0]
    assert (change < 0).sum() >= 10 and (change > 0).sum() >= 10
    assert abs(plots.explorer.measured_threshold(sweep) - 1.0 / sweep.gamma) < 0.05
    raised = experiments.vanishing.explorer_sweep(input_scale=1.0)                 # saturation: all vanish
    assert (raised.log10_norm[:, -1] < raised.log10_norm[:, 0]).all()
