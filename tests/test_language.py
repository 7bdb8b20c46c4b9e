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
from rnn_core.experiments import sampling as ex_sampling
from rnn_core.training import language as lm
from rnn_core.training import sampling, tasks


def test_count_tables_by_hand():
    train, val = np.array([0, 0, 1, 0]), np.array([0, 1])
    # order 0: p(0) = 3/4, p(1) = 1/4 -> bits (log2(4/3) + 2) / 2
    assert ex.count_table_bpc(train, val, 2, 0, 0.0) == (pytest.approx((np.log2(4 / 3) + 2) / 2), 2)
    # order 1, add-1: pairs (0,0), (0,1), (1,0); p(1 | 0) = (1 + 1) / (2 + 2) = 1/2
    assert ex.count_table_bpc(train, val, 2, 1, 1.0) == (pytest.approx(1.0), 1)
    # order 2, add-0.5: context (0, 1) seen once, followed by 0: p(0 | 0 1) = 1.5 / 2
    assert ex.count_table_bpc(train, np.array([0, 1, 0]), 2, 2, 0.5) == (pytest.approx(np.log2(4 / 3)), 1)
    # an unseen context gets the uniform 1/V
    assert ex.count_table_bpc(train, np.array([1, 1, 0]), 2, 2, 0.1) == (pytest.approx(1.0), 1)
    with pytest.raises(ValueError, match="order"):
        ex.count_table_bpc(train, val, 2, 62, 1.0)             # 2 ** 63 keys overflow int64
    with pytest.raises(ValueError, match="alpha"):
        ex.count_table_bpc(train, np.array([0, 1, 1]), 2, 1, 0.0)
    with pytest.raises(ValueError, match="ids"):
        ex.count_table_bpc(train, np.array([0, 2]), 2, 1, 1.0)


@pytest.mark.parametrize("order", [0, 1, 2, 3])
def test_sparse_counts_equal_a_dense_table(order):
    rng = np.random.default_rng(order)
    V = 5
    train, val = rng.integers(0, V, 400), rng.integers(0, V, 60)
    counts = np.zeros((V,) * (order + 1))
    for i in range(order, len(train)):
        counts[tuple(train[i - order:i + 1])] += 1
    p = (counts + 0.3) / (counts + 0.3).sum(axis=-1, keepdims=True)
    want = -np.mean([np.log2(p[tuple(val[i - order:i + 1])]) for i in range(order, len(val))])
    assert ex.count_table_bpc(train, val, V, order, 0.3) == (pytest.approx(want, rel=1e-12), 60 - order)


def test_count_tables_stop_at_the_first_order_that_does_not_improve():
    rng = np.random.default_rng(0)
    # a second-order Markov chain with peaked transitions: orders 1 and 2 help, 3 cannot
    P = rng.dirichlet(np.full(4, 0.2), size=(4, 4))
    ids = np.zeros(4000, np.int64)
    for i in range(2, len(ids)):
        ids[i] = rng.choice(4, p=P[ids[i - 2], ids[i - 1]])
    t = ex.count_tables(ids[:3000], ids[3000:3500], ids[3500:], 4, alphas=(1.0, 0.1))
    assert t["order"] == [0, 1, 2, 3] and t["chosen"] == 2
    assert t["val"][3] >= t["val"][2] and all(np.diff(t["val"][:3]) < 0)
    assert [min(t["grid"][k]) for k in range(1, 4)] == t["val"][1:]
    assert t["alpha"][0] == 0.0 and set(t["alpha"][1:]) <= {1.0, 0.1}
    assert t["test"][2] < t["test"][1] < t["test"][0]
    names = ex.baselines(t)
    assert list(names) == [ex.table_name(k, t["alpha"][k]) for k in range(3)]
    assert list(names.values()) == t["val"][:3]
    assert list(ex.baselines(t, "test", up_to=1).values()) == t["test"][:2]
    assert ex.table_name(2, 0.03) == "previous 2 characters, add-0.03"
    with pytest.raises(ValueError, match="part"):
        ex.baselines(t, "train")


def test_text_splits_are_contiguous_and_keep_the_training_part():
    chars, train, val, test = lm.text_splits()
    _, train0, held = tasks.text_ids()
    np.testing.assert_array_equal(train, train0)
    np.testing.assert_array_equal(np.concatenate([val, test]), held)
    assert abs(len(val) - len(test)) <= 1


def test_baselines_are_the_values_the_text_task_documents():
    chars, train, val = tasks.text_ids()
    got = [ex.count_table_bpc(train, val, len(chars), k, a)[0] for k, a in ((0, 0.0), (1, 1.0), (2, 0.1))]
    assert [round(b, 2) for b in got] == [4.44, 3.50, 2.72]     # tasks.text's docstring


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
        assert list(s.last_view["top_probs"]) == [1.0]         # no bar of probability 0
        assert s.last_view["top_chars"] == [s.last_view["text"][0]]
        s.controls["prime"].value = "Queen \u00e9"
        assert s.n_errors == 1 and "prime" in s.last_error and "['Q', '\u00e9']" in s.last_error
        assert "Traceback" not in s.image.value and ".py" not in s.image.value
        assert s.image.value.count("\n") == 0
    finally:
        s.close()
    with pytest.raises(ValueError, match="temperature"):
        widgets.language.sampler("gru", p, chars, temperature=3.0)


def test_the_character_drawn_first_is_among_the_bars():
    chars = tasks.text_ids()[0]
    p = lm.init_lm("gru", len(chars), 8, seed=1)
    for seed in range(6):
        v = ex_sampling.sampling_view("gru", p, chars, "The ", 2.0, 5, seed=seed, top=2)
        probs = sampling.next_char_probs("gru", p, chars, "The ", 2.0)
        assert v["first"] == v["text"][0] and v["first"] in v["top_chars"]
        assert v["first_prob"] == probs[chars.index(v["first"])] > 0
        assert len(v["top_chars"]) <= 3 and all(v["top_probs"] > 0)
    fig = plots.language.sampler_figure(v)
    assert "drawn first" in render.describe(fig) or fig.axes[0].texts


def test_notebook_08_names_are_the_training_functions():
    for name in ("init_lm", "bpc", "train_lm", "hidden_for_budget", "gradient_check", "text_splits"):
        assert getattr(ex, name) is getattr(lm, name)
    assert ex.text_ids is tasks.text_ids


def test_contexts_and_lookup_by_hand():
    ids = np.array([1, 0, 2, 1])
    np.testing.assert_array_equal(ex.contexts(ids, 3, 2), [1 * 3 + 0, 0 * 3 + 2])
    np.testing.assert_array_equal(ex.contexts(ids, 3, 0), [0, 0, 0, 0])
    table = (np.array([2, 5, 9]), np.array([4, 1, 7]))
    np.testing.assert_array_equal(ex.lookup(table, np.array([9, 0, 5, 10, 2])), [7, 0, 1, 0, 4])


def test_char_label_names_the_invisible_characters():
    assert [plots.language.char_label(c) for c in (" ", "\n", "a")] == ["space", "\\n", "a"]
