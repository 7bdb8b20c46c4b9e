"""batches.draw: each run's batch from its own generator, as train.fit draws it, stacked."""
import numpy as np
import pytest

from rnn_core.training.many import batches
from rnn_core.training import tasks

TASKS = [(tasks.adding, 12, {}), (tasks.temporal_order, 20, {}),
         (tasks.memory, 10, {"position": (0, 2)}), (tasks.copy, 7, {"length": 2}),
         (tasks.text, 9, {})]


@pytest.mark.parametrize("gen, T, opts", TASKS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_draw_equals_resample_from_each_runs_generator(gen, T, opts, dtype):
    task = gen(8, T, seed=1, **opts)
    seeds, N, ws = [3, 0, 2 ** 40 + 1], 5, {}
    rngs, refs = [np.random.default_rng(s) for s in seeds], [np.random.default_rng(s) for s in seeds]
    for _ in range(3):                       # the streams go on from update to update
        xs, (kind, data) = batches.draw(task, rngs, N, dtype, ws)
        want = [task.resample(N, r) for r in refs]
        assert xs.shape == (3, T, N, task.D) and xs.dtype == dtype
        for j, b in enumerate(want):
            np.testing.assert_array_equal(xs[j], b.x.transpose(1, 0, 2).astype(dtype))
            if kind == "batches":
                np.testing.assert_array_equal(data[j].y, b.y)
            else:
                np.testing.assert_array_equal(data[j], b.y.astype(data.dtype))
        assert kind == ("batches" if task.many_to_many else task.loss)


def test_a_generator_seed_draws_from_the_stream():
    rng = np.random.default_rng(7)
    a, b = tasks.adding(4, 6, seed=rng), tasks.adding(4, 6, seed=rng)
    assert not np.array_equal(a.x, b.x)                         # the stream moved on
    again = np.random.default_rng(7)
    np.testing.assert_array_equal(tasks.adding(4, 6, seed=again).x, a.x)
    with pytest.raises(TypeError, match="seed: expected an integer or a numpy Generator"):
        tasks.adding(4, 6, seed=1.5)
