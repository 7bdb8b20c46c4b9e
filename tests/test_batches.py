"""batches: default_rng's states for many seeds at once, and the tasks' batch writers that
multirun.fit_many uses, against numpy and task.resample themselves, bit for bit."""
import numpy as np
import pytest

from rnn_core.training.many import batches
from rnn_core.training import tasks

WRITERS = [(tasks.adding, 12, {}), (tasks.adding, 3, {}), (tasks.adding, 2, {}),
           (tasks.temporal_order, 20, {}), (tasks.memory, 10, {"position": (0, 2)})]


def test_states_equal_default_rng():
    rng = np.random.default_rng(0)
    seeds = ([0, 1, 2, 2 ** 32 - 1, 2 ** 32, 2 ** 61 + 7, 2 ** 62 - 1, 2 ** 64 - 1, 2 ** 64,
              2 ** 100 + 3] + rng.integers(2 ** 62, size=300).tolist()
             + rng.integers(2 ** 32, size=100).tolist())
    states = batches.pcg64_states(seeds)
    assert batches.exact()
    for s, st in zip(seeds, states):
        assert st == np.random.default_rng(s).bit_generator.state, s


def test_states_reject_negative_seeds():
    with pytest.raises(ValueError, match="seeds: expected non-negative integers, received -3"):
        batches.pcg64_states([1, -3])


def test_generators_and_raw_restart_from_their_states():
    seeds = [5, 2 ** 40 + 1]
    pool = []
    d = batches.Batches.from_seeds(seeds, pool)
    assert len(pool) == 2
    first = d.raw(7)
    assert np.array_equal(first, d.raw(7))                     # raw resets each generator
    for j, s in enumerate(seeds):
        assert np.array_equal(first[j], np.random.default_rng(s).bit_generator.random_raw(7))
        assert np.array_equal(d.generator(j).random(5), np.random.default_rng(s).random(5))
    d2 = batches.Batches.from_seeds([9], pool)                  # the pool is reused
    assert d2.bitgens[0] is pool[0]


def _write(gen, T, opts, seeds, N, dtype):
    task = gen(8, T, seed=1, **opts)
    into, kind = batches.INTO[task.name]
    assert kind == task.loss
    x = np.full((len(seeds), T, N, task.D), np.nan, dtype)
    y = np.full((len(seeds), N, task.n_out) if kind == "mse" else (len(seeds), N), -1,
                dtype if kind == "mse" else np.int64)
    into(batches.Batches.from_seeds(seeds), x, y, **task.options)
    return task, x, y


@pytest.mark.parametrize("gen,T,opts", WRITERS, ids=lambda v: getattr(v, "__name__", str(v)))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("N", [5, 6])
def test_writers_equal_resample(gen, T, opts, dtype, N):
    # the batches fit_many writes into its stacked arrays are the ones fit draws: bit for
    # bit, for odd and even N (an odd N leaves a 32-bit word over between the two marks),
    # and for halves of one position (T = 2, 3: integers(lo, lo + 1) draws nothing)
    seeds = [3, 2 ** 61 + 7, 11, 0]
    task, x, y = _write(gen, T, opts, seeds, N, dtype)
    for j, s in enumerate(seeds):
        b = task.resample(N, seed=s)
        assert np.array_equal(x[j], b.x.transpose(1, 0, 2).astype(dtype))
        assert np.array_equal(y[j], b.y.astype(y.dtype))


def test_adding_writer_falls_back_where_numpy_would_reject(monkeypatch):
    # numpy's bounded integers redraw a word that falls in Lemire's rejection zone (chance
    # below T / 2^32); the writer then takes that run from the task's own draw. Forced here
    # for run 1 by declaring its words rejected: the result must still equal resample.
    lemire = batches._lemire

    def reject_run_1(words, low, high):
        values, ok = lemire(words, low, high)
        ok[1] = False
        values[1] = -1                     # garbage that only the fallback can repair
        return values, ok

    monkeypatch.setattr(batches, "_lemire", reject_run_1)
    seeds = [4, 8, 15]
    task, x, y = _write(tasks.adding, 10, {}, seeds, 6, np.float64)
    for j, s in enumerate(seeds):
        b = task.resample(6, seed=s)
        assert np.array_equal(x[j], b.x.transpose(1, 0, 2))
        assert np.array_equal(y[j], b.y)


def test_lemire_flags_the_rejection_zone():
    # integers(0, 10): 2^32 mod 10 = 6, so words whose product leaves a low half below 6
    # are rejected by numpy; word 0 gives m = 0 (rejected), 2^32 - 1 gives 10 * 2^32 - 10
    # (value 9), 429496731 gives 2^32 + 14 (value 1); 429496730 * 10 = 2^32 + 4 is rejected
    words = np.array([[0, 1], [2 ** 32 - 1, 429496731], [429496730, 7]], np.uint64)
    values, ok = batches._lemire(words, 0, 10)
    assert ok.tolist() == [False, True, False]
    assert values[1].tolist() == [9, 1]
