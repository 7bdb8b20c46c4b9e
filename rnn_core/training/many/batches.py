"""One update's training batches for many runs: each run's batch drawn from its own
generator as train.fit draws it (task.resample(N, rng)), then stacked (A, T, N, D).

fit keeps one generator per run, np.random.default_rng(seed), and draws every batch from
it; multirun.fit_many keeps K of them, one per run, so run k's batches are the ones
fit(seed=seeds[k]) trains on (tests/test_multirun.py). The adding task's numbers are drawn
run by run and its batches assembled for all runs at once (tasks.adding_batch takes
leading axes), the rest of what task.resample does per run being most of a draw.
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
    if task.name == "adding":            # each run's numbers from its generator, one assembly
        numbers = zip(*(tasks.adding_numbers(rng, N, T) for rng in rngs))
        x, y = tasks.adding_batch(*(np.stack(a) for a in numbers))    # (A, N, T, 2), (A, N, 1)
        xs[...] = x.transpose(0, 2, 1, 3)
        return xs, ("mse", y.astype(dtype, copy=False))
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
