"""The training loop: whole-model gradients, success on easy tasks, history, errors."""
import numpy as np
import pytest

from rnn_core.nn import losses
from rnn_core.remedies import optim
from rnn_core.training import tasks, train
from rnn_core.cells import elman
from rnn_core.bptt.gradcheck import check_gradients

TOL = 1e-7
EASY = dict(optimizer="momentum", clip=1.0, until_success=True, val_every=25, seed=0)


def flat_arrays(params):
    """{name: array} views of a nested params dict, for check_gradients."""
    return {f"{group}.{k}": v for group, d in params.items() for k, v in d.items()}


CELLS = [("rnn", {"activation": "tanh"}), ("lstm", {}), ("gru", {"form": "sources"}),
         ("gru", {"form": "cudnn"}), ("gated_feedback", {"L": 2})]
TASKS = {"xent-last": lambda: tasks.memory(2, 4, seed=1, n_symbols=3),
         "mse-last": lambda: tasks.adding(2, 4, seed=1),
         "xent-all": lambda: tasks.copy(2, 5, seed=1, n_symbols=2, length=2),
         "text": lambda: tasks.text(2, 4, seed=1)}
# The text task takes the xent-all path with a 74-character vocabulary: its finite
# differences cost seconds per cell, and the path is the same for every cell, so the
# Elman RNN alone checks it.
GRAD_CASES = [(c, o, t) for c, o in CELLS for t in TASKS if t != "text" or c == "rnn"]


@pytest.mark.parametrize("cell,opts,task_name", GRAD_CASES)
def test_whole_model_gradients(cell, opts, task_name):
    task = TASKS[task_name]()
    params = train.init_model(cell, task.D, 3, task.n_out, seed=2, **opts)
    loss, _, grads, _ = train.loss_and_grads(cell, params, task, **opts)
    assert train.evaluate(cell, params, task, **opts)[0] == loss     # the same data loss,
    errors = check_gradients(lambda: train.evaluate(cell, params, task, **opts)[0],  # forward only
                             flat_arrays(params), flat_arrays(grads))
    assert max(errors.values()) < TOL, errors


def test_truncated_whole_model_gradients_equal_the_cells_truncated_backward():
    task = tasks.copy(2, 6, seed=1, n_symbols=2, length=2)
    params = train.init_model("rnn", task.D, 3, task.n_out, seed=2)
    _, _, grads, h = train.loss_and_grads("rnn", params, task, truncate=2)
    _, _, full, _ = train.loss_and_grads("rnn", params, task)
    _, _, cache = elman.forward(task.x, None, params["cell"])
    y = h @ params["out"]["W_y"].T + params["out"]["b_y"]
    dh = losses.softmax_cross_entropy(y, task.y, task.mask)[1] @ params["out"]["W_y"]
    _, _, want = elman.backward(dh, cache, truncate=2)
    for k in want:
        np.testing.assert_allclose(grads["cell"][k], want[k], rtol=1e-12, atol=1e-15)
    assert not np.allclose(grads["cell"]["W_h"], full["cell"]["W_h"])


def test_fit_solves_easy_adding():
    task = tasks.adding(300, 10, seed=123)
    params, hist = train.fit("rnn", task, H=32, steps=1500, batch_size=32, lr=0.05, **EASY)
    assert hist.succeeded and hist.stop_reason == "success" and hist.stopped_early
    y = train.predict("rnn", params, task.x)
    assert y.shape == (300, 1) and task.success(y)
    fresh = task.resample(300, seed=7)                           # it generalises
    assert fresh.score(train.predict("rnn", params, fresh.x)) < 0.08


def test_fit_solves_easy_memory_with_the_symbol_early():
    task = tasks.memory(300, 10, seed=123, position=(0, 2))
    params, hist = train.fit("rnn", task, H=16, steps=1500, lr=0.1, **EASY)
    assert hist.succeeded and task.success(train.predict("rnn", params, task.x))


def test_history_records_each_step_and_clipping():
    task = tasks.latch(50, 6, seed=0)
    _, hist = train.fit("rnn", task, H=4, steps=30, lr=0.2, clip=0.05, clip_value=0.01,
                        val_every=10, schedule=optim.exponential(0.2, 0.9))
    assert hist.steps_run == 30 and hist.stop_reason == "steps" and not hist.stopped_early
    for series in (hist.loss, hist.grad_norm, hist.clipped, hist.n_value_clipped, hist.lr, hist.omega):
        assert len(series) == 30
    assert hist.clipped == [n >= 0.05 for n in hist.grad_norm]   # norm recorded BEFORE clipping
    assert hist.lr == pytest.approx([0.2 * 0.9 ** k for k in range(30)])
    assert hist.val_step == [10, 20, 30] and len(hist.val_error) == 3
    assert hist.best_step in hist.val_step and hist.best_error == min(hist.val_error)
    assert hist.wall_time > 0


def test_fit_is_deterministic_under_its_seed():
    task = tasks.memory(40, 6, seed=3)
    runs = [train.fit("rnn", task, H=4, steps=20, lr=0.1, seed=s, val_every=10)
            for s in (5, 5, 6)]
    assert runs[0][1].loss == runs[1][1].loss
    assert runs[0][1].loss != runs[2][1].loss
    np.testing.assert_array_equal(runs[0][0]["cell"]["W_h"], runs[1][0]["cell"]["W_h"])


def test_patience_stops_a_stalled_run():
    task = tasks.memory(40, 6, seed=3)
    _, hist = train.fit("rnn", task, H=4, steps=1000, lr=1e-9, val_every=5, patience=3)
    assert hist.stop_reason == "patience" and hist.stopped_early
    assert hist.steps_run == 20 and hist.best_step == 5


def test_divergence_is_reported_not_warned():
    task = tasks.adding(20, 30, seed=0)
    params, hist = train.fit("rnn", task, H=8, steps=200, lr=1e3, seed=0, activation="relu",
                             init={"W_h": "gaussian", "rho": 3.0})   # warnings are errors
    assert hist.stop_reason == "diverged" and hist.stopped_early
    assert all(np.isfinite(a).all() for a in optim.leaves(params))


def test_omega_and_truncation_in_fit():
    task = tasks.adding(50, 8, seed=0)
    _, hist = train.fit("rnn", task, H=6, steps=10, lr=0.01, omega_weight=0.5, truncate=4,
                        clip=1.0, val_every=5)
    assert all(o > 0 for o in hist.omega)


@pytest.mark.parametrize("cell,opts", [("lstm", {}), ("gru", {"form": "cudnn"})])
def test_gated_cells_solve_easy_latch(cell, opts):
    task = tasks.latch(200, 10, seed=123)
    _, hist = train.fit(cell, task, H=8, steps=500, lr=0.1, **EASY, **opts)
    assert hist.succeeded


def test_fit_trains_the_gated_feedback_rnn_on_easy_adding():
    # Seeds 0, 1, 2 succeed after 75, 150 and 125 steps (measured); the untrained model fails.
    task = tasks.adding(300, 10, seed=123)
    start = train.init_model("gated_feedback", task.D, 32, task.n_out, seed=0, L=2)
    assert not train.evaluate("gated_feedback", start, task, L=2)[3]
    params, hist = train.fit("gated_feedback", task, H=32, steps=400, lr=0.05, L=2, **EASY)
    assert hist.succeeded and hist.first_success_step > 25
    assert set(params["cell"]) == set(start["cell"])
    assert task.success(train.predict("gated_feedback", params, task.x, L=2))


def test_fit_errors_name_the_argument():
    task = tasks.latch(10, 4, seed=0)
    for bad in (0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="clip: expected a finite threshold > 0"):
            train.fit("rnn", task, H=2, steps=1, clip=bad)
    with pytest.raises(ValueError, match="clip_value"):
        train.fit("rnn", task, H=2, steps=1, clip_value=0.0)
    with pytest.raises(ValueError, match="omega_weight.*Elman"):
        train.fit("lstm", task, H=2, steps=1, omega_weight=0.1)
    with pytest.raises(ValueError, match="optimizer"):
        train.fit("rnn", task, H=2, steps=1, optimizer="lbfgs")
    with pytest.raises(ValueError, match="momentum: expected a momentum coefficient"):
        train.fit("rnn", task, H=2, steps=1, optimizer="momentum", momentum=1.0)
    with pytest.raises(ValueError, match="l2"):
        train.fit("rnn", task, H=2, steps=1, l2=-0.1)
    with pytest.raises(TypeError, match="task"):
        train.fit("rnn", task.x, H=2, steps=1)
    with pytest.raises(ValueError, match="cell"):
        train.fit("transformer", task, H=2, steps=1)
    with pytest.raises(ValueError, match="lr"):
        train.fit("rnn", task, H=2, steps=1, lr=0.0)
    with pytest.raises(ValueError, match="form: expected one of"):
        train.fit("gru", task, H=2, steps=1, form="seeds")
    with pytest.raises(ValueError, match="activation: expected one of the lstm cell's options"):
        train.fit("lstm", task, H=2, steps=1, activation="relu")
    params = train.init_model("rnn", task.D, 3, task.n_out)
    with pytest.raises(ValueError, match=r"params\['W_h'\]"):
        train.fit("rnn", task, H=3, steps=1, params={**params, "cell": {
            **params["cell"], "W_h": np.zeros((2, 2))}})
    with pytest.raises(ValueError, match=r"params\['out'\]\['W_y'\]: expected shape \(O, 3\)"):
        train.evaluate("rnn", {**params, "out": train.init_model("rnn", task.D, 4, 2)["out"]}, task)


def test_train_uses_no_reflection():
    from pathlib import Path
    assert "inspect" not in Path(train.__file__).read_text()


# ------------------------------------------------------------------ the character LM

def test_fit_trains_a_character_model_past_a_bigram_table_and_samples_from_it():
    # A smaller setting than fit's docstring quotes (text(128, 32), batch 32, lr 0.05), so
    # that it runs in about a second: seeds 0, 1, 2 pass 3.5 bpc after 175, 150 and 200
    # steps (measured), from 6.2 bits for uniform guesses; 400 steps are allowed.
    val = tasks.text(64, 16, seed=None)                   # 1024 validation characters
    params, hist = train.fit("rnn", val, H=64, steps=400, batch_size=16, lr=0.1, **EASY)
    assert hist.succeeded and hist.best_error < 3.5      # bits per character
    assert hist.val_error[0] > 3.8                       # it learnt: the first check failed
    logits = train.predict("rnn", params, val.x, readout="all")
    assert val.score(logits) == pytest.approx(hist.best_error, rel=1e-12)
    chars = tasks.text_vocab()
    text = train.sample_text("rnn", params, chars, 300, prime="It is a truth", seed=1)
    assert len(text) == 300 and set(text) <= set(chars)
    assert text == train.sample_text("rnn", params, chars, 300, prime="It is a truth", seed=1)
    assert text != train.sample_text("rnn", params, chars, 300, prime="It is a truth", seed=2)
    # A model below 3.5 bpc has learnt that words are separated by spaces: far more than
    # the 1/74 of uniform noise, near the text's own share of spaces (about 1 in 6).
    assert 0.08 < text.count(" ") / len(text) < 0.3


def _readout_only_model(cell, logits, H=3, **opts):
    """A model whose logits are `logits` whatever the input: W_y = 0, b_y = logits."""
    V = logits.size
    params = train.init_model(cell, V, H, V, seed=0, **opts)
    params["out"]["W_y"][:] = 0.0
    params["out"]["b_y"][:] = logits
    return params


def test_sample_draws_from_softmax_of_logits_over_temperature():
    chars = list("abcd")
    logits = np.log(np.array([0.1, 0.2, 0.3, 0.4]))
    params = _readout_only_model("rnn", logits)
    n = 4000
    for temp in (1.0, 0.5, 2.0):       # p = (.10 .20 .30 .40), (.03 .13 .30 .53), (.16 .23 .28 .32)
        text = train.sample_text("rnn", params, chars, n, prime="a", temperature=temp, seed=0)
        freq = np.array([text.count(c) for c in chars]) / n
        p = np.exp(logits / temp)
        p /= p.sum()
        # four binomial standard errors at n = 4000 are at most 0.032, under half the
        # smallest gap between these temperatures' probabilities (0.07)
        np.testing.assert_allclose(freq, p, atol=4 * np.sqrt(0.25 / n))
    assert train.sample_text("rnn", params, chars, 50, prime="a", temperature=0) == "d" * 50


@pytest.mark.parametrize("cell,opts", [("rnn", {"activation": "relu"}), ("lstm", {}),
                                       ("gru", {"form": "sources"}), ("gru", {"form": "cudnn"}),
                                       ("gated_feedback", {"L": 3})])
def test_greedy_sampling_agrees_with_rerunning_the_whole_text(cell, opts):
    val = tasks.text(2, 8, seed=None)
    params = train.init_model(cell, val.D, 16, val.n_out, seed=4, **opts)
    params["out"]["W_y"] *= 10                # sharp logits: every step's argmax is clear
    chars = tasks.text_vocab()
    index = {c: i for i, c in enumerate(chars)}
    got = train.sample_text(cell, params, chars, 12, prime="Mr. Darcy", temperature=0, **opts)
    text = "Mr. Darcy"
    for _ in range(12):                       # the independent way: read everything again
        x = np.eye(len(chars))[[[index[c] for c in text]]]
        logits = train.predict(cell, params, x, readout="all", **opts)[0, -1]
        text += chars[int(logits.argmax())]
    assert got == text[len("Mr. Darcy"):]
    assert len(set(got)) > 1                  # not a degenerate constant continuation


def test_sample_errors_name_the_argument():
    chars = list("abcd")
    params = _readout_only_model("rnn", np.zeros(4))
    with pytest.raises(ValueError, match=r"prime: expected characters of the vocabulary.*'z'"):
        train.sample_text("rnn", params, chars, 5, prime="az")
    with pytest.raises(ValueError, match="prime: expected a non-empty str"):
        train.sample_text("rnn", params, chars, 5, prime="")
    with pytest.raises(ValueError, match=r"chars: expected 4 distinct characters.*received 3"):
        train.sample_text("rnn", params, list("abc"), 5, prime="a")
    with pytest.raises(TypeError, match="chars: expected a list of single characters"):
        train.sample_text("rnn", params, "abcd", 5, prime="a")
    with pytest.raises(ValueError, match="temperature: expected a finite number >= 0"):
        train.sample_text("rnn", params, chars, 5, prime="a", temperature=-1.0)
    with pytest.raises(ValueError, match="length: expected"):
        train.sample_text("rnn", params, chars, 0, prime="a")
