"""The training loop: whole-model gradients, success on easy tasks, history, errors."""
import numpy as np
import pytest

from rnn_core import optim, tasks, train
from rnn_core.gradcheck import check_gradients

TOL = 1e-7
EASY = dict(optimizer="momentum", clip=1.0, until_success=True, val_every=25, seed=0)


def flat_arrays(params):
    """{name: array} views of a nested params dict, for check_gradients."""
    return {f"{group}.{k}": v for group, d in params.items() for k, v in d.items()}


@pytest.mark.parametrize("cell,opts", [("rnn", {"activation": "tanh"}), ("lstm", {}),
                                       ("gru", {"form": "seeds"}), ("gru", {"form": "cudnn"})])
@pytest.mark.parametrize("make", [lambda: tasks.memory(2, 4, seed=1, n_symbols=3),
                                  lambda: tasks.adding(2, 4, seed=1),
                                  lambda: tasks.copy(2, 5, seed=1, n_symbols=2, length=2)],
                         ids=["xent-last", "mse-last", "xent-all"])
def test_whole_model_gradients(cell, opts, make):
    task = make()
    params = train.init_model(cell, task.D, 3, task.n_out, seed=2, **opts)
    _, _, grads, _ = train.loss_and_grads(cell, params, task, **opts)
    errors = check_gradients(lambda: train.loss_and_grads(cell, params, task, **opts)[0],
                             flat_arrays(params), flat_arrays(grads))
    assert max(errors.values()) < TOL, errors


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
        train.fit("rnn", task, H=2, steps=1, optimizer="adam")
    with pytest.raises(TypeError, match="task"):
        train.fit("rnn", task.x, H=2, steps=1)
    with pytest.raises(ValueError, match="cell"):
        train.fit("transformer", task, H=2, steps=1)
    with pytest.raises(ValueError, match="lr"):
        train.fit("rnn", task, H=2, steps=1, lr=0.0)
