"""The character language model of notebook 08: count tables with known values, the
carried window order, the LM's gradient, training and bpc, its figures
and the sampler driven without a browser (sampling itself: tests/test_sampling.py)."""
import numpy as np
import pytest

from rnn_core.training import corpus
from rnn_core.remedies import optim
from rnn_core import plots, widgets
from rnn_core.plots import render
from rnn_core.cells import get as get_cell
from rnn_core.experiments import language as ex
from rnn_core.training import language as lm
from rnn_core.training import sampling, tasks


def test_count_tables_by_hand():
    train, val = np.array([0, 0, 1, 0]), np.array([0, 1])
    # order 0: p(0) = 3/4, p(1) = 1/4 -> bits (log2(4/3) + 2) / 2
    assert ex.count_table_bpc(train, val, 2, 0, 0.0) == (pytest.approx((np.log2(4 / 3) + 2) / 2), 2)
    # order 1, add-1: pairs (0,0), (0,1), (1,0); p(1 | 0) = (1 + 1) / (2 + 2) = 1/2
    assert ex.count_table_bpc(train, val, 2, 1, 1.0) == (pytest.approx(1.0), 1)
    with pytest.raises(ValueError, match="order"):
        ex.count_table_bpc(train, val, 2, 3, 1.0)


def test_baselines_are_the_values_the_text_task_documents():
    chars, train, val = tasks.text_ids()
    got = ex.baselines(train, val, len(chars))
    assert [round(b, 2) for b in got.values()] == [4.44, 3.50, 2.72]     # tasks.text's docstring


def test_carried_windows_continue_each_other():
    ids = np.arange(1000)
    s = lm.streams(ids, 4)
    a_in, a_tg, reset_a = lm.batch(ids, s, 0, 4, 10, "carried", None)
    b_in, b_tg, reset_b = lm.batch(ids, s, 1, 4, 10, "carried", None)
    assert reset_a and not reset_b
    np.testing.assert_array_equal(a_tg[:, :-1], a_in[:, 1:])            # targets are the next ids
    np.testing.assert_array_equal(b_in[:, 0], a_tg[:, -1])              # row n goes on in batch 1
    np.testing.assert_array_equal(a_in[:, 0], [0, 250, 500, 750])
    _, _, wrap = lm.batch(ids, s, 24, 4, 10, "carried", None)           # 24 windows per stream
    assert wrap
    x, y, reset = lm.batch(ids, s, 0, 4, 10, "shuffled", np.random.default_rng(0))
    assert reset and np.array_equal(y - x, np.ones_like(x))


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_lm_gradients_match_finite_differences(cell):
    errors = lm.gradient_check(cell=cell, V=4, D=2, H=3, N=2, T=3, seed=2)
    n = 3 + len(get_cell(cell).param_shapes(2, 3)) + len(get_cell(cell).STATE_KEYS)
    assert len(errors) == n and max(errors.values()) < 1e-7, errors


def test_a_zero_readout_scores_log2_V():
    chars, _, val = tasks.text_ids()
    p = lm.init_lm("rnn", len(chars), 8, seed=0)
    p["out"]["W_y"][:] = 0
    assert lm.bpc("rnn", p, val[:500], N=4, T=50) == pytest.approx(np.log2(len(chars)), rel=1e-6)


def test_training_lowers_the_loss_and_is_seeded():
    kw = dict(cell="gru", H=16, D=8, N=4, T=8, steps=12, lr=3e-2, val_every=12, val_N=1024)
    a, b = lm.train_lm(**kw), lm.train_lm(**kw)
    assert a.val_bpc == b.val_bpc and a.val_bpc[0] < np.log2(74) - 1
    assert np.mean(a.train_bpc[-3:]) < np.mean(a.train_bpc[:3]) - 1
    assert a.best_step == 12 and a.best_params is a.params
    assert a.n_params == optim.n_params(a.params)
    with pytest.raises(ValueError, match="order"):
        lm.train_lm(order="random", steps=1)
    with pytest.raises(ValueError, match="T"):
        lm.train_lm(N=20000, T=20, steps=1)


def test_hidden_for_budget_counts_the_parameters_init_lm_makes():
    for cell in ("rnn", "lstm", "gru"):
        H = lm.hidden_for_budget(cell, 74, 30_000, 32)
        n = optim.n_params(lm.init_lm(cell, 74, H, 32))
        assert abs(n - 30_000) < 2_000 and abs(optim.n_params(lm.init_lm(cell, 74, H + 1, 32)) - 30_000) >= abs(n - 30_000)


def test_figures_state_their_finding():
    fig = plots.language.bpc_curves_figure({"a": ([1, 2], [3.0, 2.5])}, {"x": 4.4, "y": 2.7}, "A falls")
    assert "A falls" in render.describe(fig) and "table: x (4.40)" in render.describe(fig)
    fig = plots.language.exposure_bias_figure({"teacher forced": [0.0, 0.1], "free running": [0.0, 0.2]}, "B")
    assert "tokens wrong (%)" in render.describe(fig)


def test_sampler_redraws_on_a_control_and_shows_bad_primes():
    chars = tasks.text_ids()[0]
    p = lm.init_lm("gru", len(chars), 8, seed=1)
    s = widgets.language.sampler("gru", p, chars, prime="The ", temperature=1.0, length=20)
    try:
        assert s.n_renders == 1 and s.last_png.startswith(b"\x89PNG")
        s.controls["temperature"].value = 0.0
        assert s.n_renders == 2 and s.last_view["temperature"] == 0.0
        assert s.last_view["text"] == sampling.sample("gru", p, chars, 20, "The ", 0.0)
        assert s.last_view["top_probs"][0] == 1.0
        s.controls["prime"].value = "\u00e9"
        assert s.n_errors == 1 and "prime" in s.last_error
    finally:
        s.close()
    with pytest.raises(ValueError, match="temperature"):
        widgets.language.sampler("gru", p, chars, temperature=3.0)


def test_notebook_08_names_are_the_training_functions():
    for name in ("init_lm", "bpc", "train_lm", "hidden_for_budget", "gradient_check"):
        assert getattr(ex, name) is getattr(lm, name)
    assert ex.text_ids is tasks.text_ids
