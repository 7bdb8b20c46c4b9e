"""The batched trainer: K runs at once equal K separate fits, run for run; its own pieces."""
import numpy as np
import pytest

from rnn_core.training.many import multirun, parallel, parallel_loss
from rnn_core.training import tasks, train
from rnn_core.bptt.gradcheck import check_gradients

TOL = 1e-12     # absolute up to magnitude 1, relative beyond (a diverging run's 1e51 params)
CELLS = [("rnn", {"activation": "tanh"}), ("rnn", {"activation": "sigmoid"}),
         ("rnn", {"activation": "relu"}), ("rnn", {"activation": "linear"}), ("lstm", {}),
         ("gru", {"form": "sources"}), ("gru", {"form": "cudnn"})]
SCALARS = ("loss", "omega", "grad_norm", "lr", "val_loss", "val_error", "val_score")
EXACT = ("val_step", "val_success", "clipped", "n_value_clipped", "stop_reason", "steps_run",
         "best_step", "first_success_step", "succeeded", "stopped_early")


def assert_equal_to_fits(cell, task, H, seeds, **kw):
    """fit_many against one fit per seed: every history entry and every parameter."""
    runs = multirun.fit_many(cell, task, H, seeds, **kw)
    assert len(runs) == len(seeds)
    for k, s in enumerate(seeds):
        one = {a: (v[k] if isinstance(v, list) else v) for a, v in kw.items()}
        p, h = train.fit(cell, task, H, seed=s, **one)
        hm, pm = runs.histories[k], runs.params[k]
        for f in EXACT:
            assert getattr(hm, f) == getattr(h, f), (k, f)
        for f in SCALARS:
            a, b = np.array(getattr(h, f), float), np.array(getattr(hm, f), float)
            assert a.shape == b.shape, (k, f)
            assert (np.isfinite(a) == np.isfinite(b)).all(), (k, f)
            fin = np.isfinite(a)
            assert np.all(np.abs(a[fin] - b[fin]) <= TOL * np.maximum(1, np.abs(a[fin]))), (k, f)
        for g in p:
            assert list(pm[g]) == list(p[g]), (k, g)
            for key in p[g]:
                assert pm[g][key].dtype == p[g][key].dtype
                a, b = p[g][key], pm[g][key]        # to rounding: relative beyond 1, as above
                assert np.all(np.abs(b - a) <= TOL * np.maximum(1, np.abs(a))), (k, g, key)
    return runs


@pytest.mark.parametrize("cell,opts", CELLS)
def test_runs_equal_separate_fits_per_run_settings(cell, opts):
    # per-run lr and clipping thresholds (None: off), momentum; validations every 4 steps
    task = tasks.adding(40, 6, seed=5)
    runs = assert_equal_to_fits(cell, task, 4, [0, 1, 2], steps=12, batch_size=5,
                                lr=[0.1, 0.3, 0.05], clip=[None, 0.05, 1.0], val_every=4,
                                optimizer="momentum", momentum=[0.9, 0.5, 0.0], **opts)
    assert any(runs.histories[1].clipped)            # the small threshold fires
    assert not any(runs.histories[0].clipped)


@pytest.mark.parametrize("cell,opts", CELLS)
def test_runs_equal_separate_fits_many_to_many_truncated_value_clipped(cell, opts):
    task = tasks.copy(12, 5, seed=1, n_symbols=2, length=2)
    runs = assert_equal_to_fits(cell, task, 3, [3, 4, 5], steps=6, batch_size=4, lr=0.3,
                                truncate=2, clip_value=[None, 0.01, 0.2], val_every=3, **opts)
    assert sum(runs.histories[1].n_value_clipped) > 0


def test_each_run_stops_on_its_own_divergence_or_success():
    task = tasks.adding(40, 6, seed=5)
    runs = assert_equal_to_fits("rnn", task, 4, [0, 1, 2], steps=30, batch_size=5,
                                lr=[0.1, 1e3, 1e6], val_every=7, activation="linear")
    assert runs.stop_reason == ["steps", "diverged", "diverged"]
    assert runs.histories[0].steps_run == 30 and max(h.steps_run for h in runs.histories[1:]) < 30
    mem = tasks.memory(40, 4, seed=5, n_symbols=3)
    runs = assert_equal_to_fits("lstm", mem, 4, [0, 1, 2], steps=300, batch_size=8, lr=0.5,
                                val_every=5, until_success=True, optimizer="momentum")
    assert runs.stop_reason == ["success"] * 3 and runs.succeeded.all()
    assert np.array_equal(runs.steps_to_success,
                          [h.first_success_step for h in runs.histories])
    assert len(set(h.steps_run for h in runs.histories)) > 1     # they stopped apart


def test_patience_and_schedules_per_run():
    from rnn_core.remedies import optim
    task = tasks.memory(40, 5, seed=5, n_symbols=3)
    runs = assert_equal_to_fits("gru", task, 3, [0, 1, 2], steps=30, batch_size=4, val_every=2,
                                patience=1, schedule=[optim.exponential(0.5, 0.9), None,
                                               optim.step(0.3, 0.5, 5)], lr=0.2)
    assert "patience" in runs.stop_reason
    assert runs.histories[2].lr[:6] == [0.3] * 5 + [0.15]


@pytest.mark.parametrize("mode", ["immediate", "direct", "full"])
def test_omega_runs_equal_separate_fits(mode):
    task = tasks.adding(40, 6, seed=5)
    runs = assert_equal_to_fits("rnn", task, 4, [0, 1, 2], steps=8, batch_size=5, lr=0.1,
                                omega_weight=[0.0, 1.0, 2.0], omega_mode=mode, clip=1.0,
                                val_every=4)
    assert runs.histories[0].omega == [0.0] * 8 and min(runs.histories[1].omega) > 0


def test_stacked_gradients_match_finite_differences():
    """The stacked backward (all cells) against centered differences of the stacked loss,
    summed over K = 2 runs with their own batches. (Omega's gradient holds dL/dh fixed,
    which differences of the loss cannot: the fits above and tests/test_regularizer.py
    check it.)"""
    for cell, opts in CELLS[::3] + CELLS[4:]:
        mod = parallel.CELLS[cell]
        task = tasks.adding(3, 3, seed=1)
        batches = [task.resample(2, seed=s) for s in (7, 8)]
        xs = np.stack([b.x.transpose(1, 0, 2) for b in batches])
        data = ("batches", batches)
        ps = [train.init_model(cell, 2, 2, 1, seed=s, **opts) for s in (0, 1)]
        o = mod.options(opts)
        F = {**parallel.fuse(mod, o, parallel.stack([p["cell"] for p in ps])),
             **parallel.stack([p["out"] for p in ps])}
        for k in F:
            F[k] = F[k] + 0.1 * np.random.default_rng(3).standard_normal(F[k].shape)

        def loss():
            return float(parallel_loss.loss_and_grads(mod, o, xs, data, F, None, None,
                                                 False, train.data_loss)[0].sum())
        _, _, grads, _ = parallel_loss.loss_and_grads(mod, o, xs, data, F, None, None, False,
                                                    train.data_loss)
        errors = check_gradients(loss, F, grads)
        assert max(errors.values()) < 1e-7, (cell, errors)


def test_float32_runs_close_to_float64():
    task = tasks.adding(40, 6, seed=5)
    kw = dict(steps=10, batch_size=8, lr=0.1, val_every=5)
    r64 = multirun.fit_many("lstm", task, 4, [0, 1], **kw)
    r32 = multirun.fit_many("lstm", task, 4, [0, 1], dtype=np.float32, **kw)
    assert r32.params[0]["cell"]["W_f"].dtype == np.float32
    assert np.allclose(r32.histories[1].loss, r64.histories[1].loss, rtol=1e-4)


def test_errors_name_the_argument():
    task = tasks.adding(10, 4, seed=0)
    cases = [(dict(seeds=3), "seeds"), (dict(seeds=[]), "seeds"), (dict(lr=[0.1, 0.2]), "lr"),
             (dict(lr=[0.1, -1, 0.1]), "lr[1]"), (dict(clip=[1.0, 0.0, None]), "clip[1]"),
             (dict(omega_weight=[0, 1.0, 0]), "omega_weight[1]"), (dict(dtype=np.int32), "dtype"),
             (dict(momentum=1.5), "momentum"), (dict(optimizer="adam"), "optimizer"),
             (dict(cell="gated_feedback"), "cell"), (dict(params=[None]), "params"),
             (dict(schedule=0.1), "schedule")]
    for kw, name in cases:
        args = {"cell": "lstm", "seeds": [0, 1, 2], **kw}
        with pytest.raises((TypeError, ValueError), match=rf"^{name.replace('[', '.').replace(']', '.')}"):
            multirun.fit_many(args.pop("cell"), task, 3, args.pop("seeds"), steps=2, **args)


def test_temporal_order_runs_equal_separate_fits():
    # the stacked cross-entropy and the one-hot writer
    task = tasks.temporal_order(30, 8, seed=2)
    assert_equal_to_fits("rnn", task, 5, [0, 1, 2], steps=10, batch_size=6, lr=[0.1, 0.3, 1.0],
                         clip=0.5, val_every=5, optimizer="momentum")
