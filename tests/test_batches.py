"""batches.draw: each run's batch from its own generator, as train.fit draws it, stacked."""
import numpy as np
import pytest

from rnn_core.training.many import batches
from rnn_core.training import tasks

TASKS = [(tasks.adding, 12, {}), (tasks.temporal_order, 20, {}),
         (tasks.memory, 10, {"position": (0, 2)}), (tasks.temporal_order, 5, {}),
         (tasks.memory, 6, {"symbol": 2, "n_symbols": 5, "position": (-3, -1)}),
         (tasks.memory, 4, {"symbol": 1, "n_symbols": 2}), (tasks.copy, 7, {"length": 2}),
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


def _memory_before(N, T, rng, symbol=0, position=None, n_symbols=4):
    """tasks.memory's x and y as it drew them before memory_numbers and memory_batch."""
    lo, hi = tasks.memory_window(position, T)
    others = np.delete(np.arange(n_symbols), symbol)
    ids = others[rng.integers(0, n_symbols - 1, size=(N, T))]
    y = rng.permutation(np.arange(N) % 2).astype(np.int64)
    where = rng.integers(lo, hi, size=N)
    pos = np.flatnonzero(y)
    ids[pos, where[pos]] = symbol
    return np.eye(n_symbols)[ids], y


def _temporal_order_before(N, T, rng):
    """tasks.temporal_order's x and y as it drew them before temporal_order_numbers."""
    lo1 = max(1, round(0.1 * T))
    hi1 = max(lo1, round(0.2 * T))
    lo2 = max(hi1 + 1, round(0.5 * T))
    hi2 = min(max(lo2, round(0.6 * T)), T - 2)
    ids = rng.integers(0, 4, size=(N, T))
    ids[:, 0], ids[:, -1] = 7, 6
    t1 = rng.integers(lo1, hi1 + 1, size=N)
    t2 = rng.integers(lo2, hi2 + 1, size=N)
    s1 = rng.integers(0, 2, size=N)
    s2 = rng.integers(0, 2, size=N)
    ids[np.arange(N), t1] = 4 + s1
    ids[np.arange(N), t2] = 4 + s2
    return np.eye(8)[ids], (2 * s1 + s2).astype(np.int64)


@pytest.mark.parametrize("T", [4, 5, 9, 20, 50])
def test_split_generators_draw_what_they_drew_before(T):
    # memory and temporal_order draw their numbers in *_numbers and assemble in *_batch
    # (which batches.draw uses for many runs at once): the same batches, the stream after
    for opts in ({}, {"position": (0, 2)}, {"symbol": 3, "position": -1}, {"n_symbols": 2, "symbol": 1}):
        for seed in (0, 5):
            task = tasks.memory(7, T, seed=np.random.default_rng(seed), **opts)
            ref = np.random.default_rng(seed)
            x, y = _memory_before(7, T, ref, **opts)
            np.testing.assert_array_equal(task.x, x)
            np.testing.assert_array_equal(task.y, y)
            assert task.y.dtype == y.dtype
    for seed in (0, 5):
        rng, ref = np.random.default_rng(seed), np.random.default_rng(seed)
        task = tasks.temporal_order(7, T, seed=rng)
        x, y = _temporal_order_before(7, T, ref)
        np.testing.assert_array_equal(task.x, x)
        np.testing.assert_array_equal(task.y, y)
        assert task.y.dtype == y.dtype
        assert rng.random() == ref.random()                      # the stream after, too
