"""One update's training batches for many runs: each run's batch drawn from its own
generator as train.fit draws it (task.resample(N, rng)), then stacked (A, T, N, D).

fit keeps one generator per run, np.random.default_rng(seed), and draws every batch from
it; multirun.fit_many keeps K of them, one per run, so run k's batches are the ones
fit(seed=seeds[k]) trains on (tests/test_multirun.py). For the adding, memory and
temporal-order tasks each run's numbers are drawn from its generator in the order their
generator draws them (tasks.adding_numbers, memory_numbers, temporal_order_numbers) and the
batches assembled for all runs at once (tasks.adding_batch, ...: they take leading axes),
the rest of what task.resample does per run (checks, the Task record) being most of a
draw; tests/test_batches.py checks them against task.resample. Other tasks call
task.resample run by run.
"""
import numpy as np

from .. import tasks
from .parallel import buffer


def draw(task, rngs, N, dtype, ws):
    """One batch per generator of rngs (the active runs', in stack order), as fit draws
    it. ws: the trainer's workspace. Returns (xs (A, T, N, D), data for
    parallel_loss.loss_and_grads): ("mse" or "xent", targets stacked (A, N[, O])) for a
    many-to-one task, else ("batches", [Task per run])."""
    A, T, D = len(rngs), task.T, task.D
    xs = buffer(ws, "xs", (A, T, N, D), dtype)
    fast = _FAST.get(task.name)
    if fast is not None:                 # each run's numbers from its generator, one assembly
        numbers, assemble = fast(task.options, N, T)
        x, y = assemble(*(np.stack(a) for a in zip(*(numbers(rng) for rng in rngs))))
        xs[...] = x.transpose(0, 2, 1, 3)
        return xs, (task.loss, y.astype(dtype, copy=False) if task.loss == "mse" else y)
    out = []
    for j, rng in enumerate(rngs):
        b = task.resample(N, rng)
        xs[j] = b.x.transpose(1, 0, 2)
        out.append(b)
    if task.many_to_many:
        return xs, ("batches", out)
    if task.loss == "mse":
        ys = buffer(ws, "ys", (A, N, task.n_out), dtype)
    else:
        ys = buffer(ws, "ys", (A, N), np.int64)
    for j, b in enumerate(out):
        ys[j] = b.y
    return xs, (task.loss, ys)


def _adding(opts, N, T):
    return (lambda rng: tasks.adding_numbers(rng, N, T)), tasks.adding_batch    # (A, N, T, 2), (A, N, 1)


def _one_hot(batch, D):
    """A batch of symbol ids (A, N, T) and classes -> (x (A, N, T, D) one-hot, y)."""
    def assemble(*numbers):
        ids, y = batch(*numbers)
        return tasks.one_hot(ids, D), y
    return assemble


def _memory(opts, N, T):
    window, n = tasks.memory_window(opts["position"], T), opts["n_symbols"]
    return ((lambda rng: tasks.memory_numbers(rng, N, T, window, n)),
            _one_hot(lambda *a: tasks.memory_batch(*a, opts["symbol"], n), n))


def _temporal_order(opts, N, T):
    return ((lambda rng: tasks.temporal_order_numbers(rng, N, T)),
            _one_hot(tasks.temporal_order_batch, 8))


# task name -> (options, N, T) -> (numbers(rng), assemble(*stacked numbers) -> (x, y))
_FAST = {"adding": _adding, "memory": _memory, "temporal_order": _temporal_order}
