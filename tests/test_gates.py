"""Notebook 05's data: the LSTM's carousel, the two GRU forms and the sources' slips, the
connectivity map, and the cell explorer's data; known values where they exist."""
import numpy as np
import pytest

from rnn_core import cells, gradflow
from rnn_core.nn.activations import sigmoid
from rnn_core.experiments import gates as ex


def test_carousel_block_is_the_forget_gate():
    c = ex.carousel_jacobian(H=3, D=2, N=2, seed=1)
    assert c["J"].shape == (2, 6, 6)
    assert c["gap"] < 1e-14                                # dC_t/dC_{t-1} = diag(f_t)
    assert np.all(c["f"] > 0) and np.all(c["f"] < 1)
    assert np.all(c["norm_Ch"] > 0) and np.all(c["norm_hC"] > 0)   # the other paths are there too


def test_cell_to_state_block_is_diagonal_too():
    """dh_t/dC_{t-1} = diag(o_t tanh'(C_t) f_t): no W either; the W enters from h_{t-1}."""
    c = ex.carousel_jacobian(H=3, D=2, N=2, seed=2)
    assert c["hC_gap"] < 1e-14
    np.testing.assert_allclose(np.diagonal(c["hC"], axis1=1, axis2=2), c["hC_diag"], rtol=1e-12)
    assert np.all(c["offdiag_hh"] > 1e-3) and np.all(c["offdiag_Ch"] > 1e-3)
    # known value: a saturated-open output gate and C_t = 0 make the block diag(f_t)
    params = cells.lstm.init_params(2, 3, seed=0)
    params["W_o"][:], params["b_o"][:] = 0.0, ex.OPEN_BIAS
    params["W_i"][:], params["b_i"][:] = 0.0, -ex.OPEN_BIAS      # i = 1e-18: C_t = f C_{t-1}
    state = {"h": np.zeros((1, 3)), "c": np.zeros((1, 3))}
    J = gradflow.jacobians.jacobian_step("lstm", np.ones((1, 2)), state, params)
    f = ex.lstm_gates(np.ones((1, 2)), state, params)["f"]
    np.testing.assert_allclose(J[0, :3, 3:], np.diag(f[0]), rtol=1e-12, atol=1e-15)


def test_without_forget_gate_keeps_the_cell_exactly():
    params = cells.lstm.init_params(2, 3, seed=0)
    p = ex.without_forget_gate(params)
    rng = np.random.default_rng(0)
    state = {"h": rng.standard_normal((2, 3)), "c": rng.standard_normal((2, 3))}
    x_t = rng.standard_normal((2, 2))
    assert np.all(ex.lstm_gates(x_t, state, p)["f"] == 1.0)
    J = gradflow.jacobians.jacobian_step("lstm", x_t, state, p)
    assert np.array_equal(J[:, 3:, 3:], np.broadcast_to(np.eye(3), (2, 3, 3)))
    assert np.array_equal(params["W_f"], cells.lstm.init_params(2, 3, seed=0)["W_f"])  # a copy


def test_lstm_gates_match_the_cell():
    params = cells.lstm.init_params(2, 4, seed=3, forget_bias=0.5)
    rng = np.random.default_rng(3)
    state = {"h": rng.standard_normal((2, 4)), "c": rng.standard_normal((2, 4))}
    x_t = rng.standard_normal((2, 2))
    g = ex.lstm_gates(x_t, state, params)
    new, _ = cells.lstm.step_forward(x_t, state, params)
    np.testing.assert_allclose(new["c"], g["f"] * state["c"] + g["i"] * g["C~"], rtol=1e-13)
    np.testing.assert_allclose(new["h"], g["o"] * np.tanh(new["c"]), rtol=1e-13)


def test_forget_bias_curves_order_and_the_1997_cell():
    rows = ex.forget_bias_curves(biases=(0.0, 3.0), T=40, H=6, N=2)
    assert [r["forget_bias"] for r in rows] == [0.0, 3.0, None]
    assert rows[0]["log10_c"][-1] < rows[1]["log10_c"][-1]       # more bias, less decay
    assert rows[2]["mean_f"] == 1.0 and rows[2]["log10_f"] == 0.0
    assert rows[2]["abs_c"][-1] > rows[1]["abs_c"][-1]           # the 1997 cell integrates
    assert np.isnan(rows[0]["log10_c"][0]) and rows[0]["lags"].shape == (41,)


def _sources(H=3, D=2, N=2, T=6, seed=0):
    return ex.gru_setup(H, D, N, T, seed=seed)


def test_cudnn_from_sources_agrees_where_reset_is_open():
    x, p = _sources()
    p["W_r"][:], p["b_r"][:] = 0.0, ex.OPEN_BIAS
    hs = cells.gru.forward(x, None, p, form="sources")[0]
    hc = cells.gru.forward(x, None, ex.cudnn_from_sources(p), form="cudnn")[0]
    np.testing.assert_allclose(hc, hs, rtol=0, atol=1e-14)


def test_gru_forms_differ_with_a_varying_reset_gate():
    rows = ex.gru_form_gap(shifts=(0.0, ex.OPEN_BIAS), H=4, D=2, N=2, T=8)
    assert [r["shift"] for r in rows] == [0.0, ex.OPEN_BIAS, "uniform"]
    assert rows[0]["max_gap"] > 1e-3                     # r varies: W(r*h) != r*(W h)
    assert rows[1]["r_min"] == 1.0 and rows[1]["max_gap"] < 1e-14
    assert rows[2]["r_mean"] == 0.5 and rows[2]["max_gap"] < 1e-14   # a scalar r commutes


def test_gru_variant_is_the_cell_and_cho_is_a_relabelling():
    x, p = _sources(T=10)
    h = cells.gru.forward(x, None, p, form="sources")[0]
    np.testing.assert_allclose(ex.gru_variant(x, p), h, rtol=0, atol=1e-14)
    assert np.abs(ex.gru_variant(x, p, "cho") - h).max() > 1e-2
    np.testing.assert_allclose(ex.gru_variant(x, ex.relabel_update(p), "cho"), h, rtol=0, atol=1e-14)
    d = ex.cho_swap(H=3, D=2, N=2, T=5)
    assert d["gap_relabelled"] < 1e-14 < 1e-2 < d["gap_same_weights"] and d["gap_cell"] < 1e-14


def test_gru_variant_rejects_unknown_options():
    x, p = _sources()
    with pytest.raises(ValueError, match="interpolation"):
        ex.gru_variant(x, p, interpolation="swapped")
    with pytest.raises(ValueError, match="candidate"):
        ex.gru_variant(x, p, candidate="relu")


def test_sigmoid_candidate_never_goes_negative():
    d = ex.sigmoid_candidate(T=30, H=3, D=2, N=4)
    assert d["sigmoid"]["min"] >= 0 and d["sigmoid"]["neg"] == 0.0
    lo, hi = d["sigmoid"]["candidate_range"]
    assert 0 < lo and hi < 1
    assert d["tanh"]["neg"] > 0.1 and d["tanh"]["min"] < 0


def test_connectivity_map_rows_follow_gradflow():
    rows = (("tanh RNN", "rnn", {}), ("LSTM", "lstm", {"forget_bias": 3.0}))
    m = ex.connectivity_map(rows, T=12, H=4)
    assert m["log10"].shape == (2, 12) and m["labels"] == ["tanh RNN", "LSTM"]
    x, s0, p, _ = gradflow.networks.sweep_setup(1.0, H=4, T=12, cell="lstm", forget_bias=3.0)
    np.testing.assert_allclose(m["log10"][1], gradflow.jacobians.connectivity("lstm", x, s0, p)[0])
    assert m["log10"][0, 0] < m["log10"][0, -1]          # the RNN forgets its first input


def test_explorer_data_is_the_sweep_and_checks_rho():
    d = ex.explorer_data(cell="gru (cudnn)", T=20, rho=0.4, H=4)
    s = gradflow.sweeps.sweep(ex.EXPLORER_RHOS, H=4, T=20, cell="gru", form="cudnn")
    np.testing.assert_array_equal(d["sweep"].log10_norm, s.log10_norm)
    assert d["rho_index"] == 2 and d["reference"].cell == "rnn"
    assert ex.explorer_data(cell="rnn (tanh)", T=20, H=4)["reference"] is None
    with pytest.raises(ValueError, match="rho"):
        ex.explorer_data(rho=0.3, T=20, H=4)
    with pytest.raises(ValueError, match="cell"):
        ex.explorer_data(cell="lstm1997", T=20, H=4)


def test_explorer_defaults_show_the_carousel():
    """At the defaults the LSTM's gradient through C is alive where the tanh RNN's is not."""
    d = ex.explorer_data()
    k = d["rho_index"]
    assert d["sweep"].log10_norm_c[k, -1] > -3 > -20 > d["reference"].log10_norm[k, -1]
