"""Graders of the exercises of notebook 08 (keys "08.k")."""
import numpy as np

from ..training import seq2seq
from ..cells import gru
from ..experiments import language, sampling
from .common import answered, assert_close, assert_count, call_answer, fresh_cases, grader


@grader("08.1")
def _bits_per_char(bits_per_char):
    """bits_per_char(p): mean of -log2 p over the probabilities given to the true characters."""
    rng = np.random.default_rng(81)
    for p in (np.full(10, 1 / 74), rng.uniform(0.01, 1.0, 50), np.array([1.0, 0.5, 0.25])):
        assert_close(f"bits_per_char(p of {len(p)} characters)",
                     call_answer(bits_per_char, p.copy()), -np.log2(p).mean())


@grader("08.2")
def _constant_bpc(constant_bpc):
    """constant_bpc(train, val, V): validation bpc of the training part's frequencies."""
    rng = np.random.default_rng(82)
    for V, L in ((3, 40), (7, 300)):
        train = np.concatenate([np.arange(V), rng.integers(0, V, L)])
        val = rng.integers(0, V, L // 3)
        want = language.count_table_bpc(train, val, V, 0, 0.0)[0]
        assert_close(f"constant_bpc(train, val, {V})",
                     call_answer(constant_bpc, train.copy(), val.copy(), V), want)


@grader("08.3")
def _temperature(temperature_softmax):
    """temperature_softmax(logits, T): softmax(logits / T); T = 0 gives the argmax one-hot."""
    rng = np.random.default_rng(83)
    logits = rng.standard_normal(9) * 3
    for T in (1.0, 0.5, 2.0, 0.0):
        assert_close(f"temperature_softmax(logits, {T})",
                     call_answer(temperature_softmax, logits.copy(), T),
                     sampling.temperature_softmax(logits, T))


@grader("08.4")
def _n_params(n_params):
    """n_params(V, D, H): parameters of the GRU LM (embedding V x D, GRU, readout to V)."""
    rng = fresh_cases()
    for _ in range(3):
        V, D, H = int(rng.integers(2, 101)), int(rng.integers(1, 65)), int(rng.integers(1, 129))
        want = V * D + sum(int(np.prod(s)) for s in gru.param_shapes(D, H).values()) + V * H + V
        assert_count(f"n_params({V}, {D}, {H})", call_answer(n_params, V, D, H), want,
                     "the number of parameters of the GRU language model")


@grader("08.5")
def _teacher(teacher_inputs):
    """teacher_inputs(target, start): the decoder's inputs under teacher forcing."""
    rng = np.random.default_rng(85)
    for shape, start in (((2, 5), 8), ((3, 1), 4), ((1, 6), 10)):
        target = rng.integers(0, start, shape)
        got = np.asarray(call_answer(teacher_inputs, target.copy(), start))
        want = seq2seq.teacher_inputs(target, start)
        call = f"teacher_inputs(target of shape {shape}, start={start})"
        if got.shape != want.shape:
            raise AssertionError(f"{call}: expected an array of the target's shape {shape}, "
                                 f"received shape {got.shape}")
        if not np.array_equal(got, want):      # not which entries: they could be searched
            raise AssertionError(f"{call}: the shape is right, but the array is not the "
                                 "decoder's inputs under teacher forcing")


@grader("08.6")
def _order_costs(answer):
    """answer = (order_costs, shrinks): order_costs {seed: (cost at T = 8, cost at T = 32)} for
    three seeds or more, each cost language.order_cost's; shrinks, whether the mean cost at
    T = 32 is below the mean at T = 8. shrinks must follow from the student's own numbers, and
    the smallest seed's cost at T = 32 is re-trained (about 4 s) and must agree to 0.005 bpc.
    Messages say which entry is wrong, never its value or direction."""
    if answer is None or (isinstance(answer, tuple) and answer and answer[0] is None):
        answered(None)
    if not (isinstance(answer, tuple) and len(answer) == 2):
        raise AssertionError(f"expected the pair (order_costs, shrinks), received "
                             f"{type(answer).__name__}")
    costs, shrinks = answer
    if not isinstance(costs, dict) or len(costs) < 3:
        raise AssertionError("order_costs: expected a dict {seed: (cost at T = 8, cost at T = 32)} "
                             f"of at least 3 seeds, received {type(costs).__name__}"
                             + (f" of {len(costs)}" if isinstance(costs, dict) else ""))
    table = []
    for seed, pair in costs.items():
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise AssertionError(f"order_costs: expected seeds that are integers >= 0, received {seed!r}")
        pair = np.asarray(pair, dtype=float)
        if pair.shape != (2,) or not np.all(np.isfinite(pair)):
            raise AssertionError(f"order_costs[{seed}]: expected two finite numbers (cost at T = 8, "
                                 f"cost at T = 32), received shape {pair.shape}")
        table.append(pair)
    if shrinks is None:
        answered(None)
    if not isinstance(shrinks, (bool, np.bool_)):
        raise AssertionError(f"shrinks: expected True or False, received {type(shrinks).__name__}")
    table = np.array(table)
    if bool(shrinks) != bool(table[:, 1].mean() < table[:, 0].mean()):
        raise AssertionError("shrinks: does not follow from your order_costs (compare the mean "
                             "cost at T = 32 with the mean cost at T = 8)")
    seed = int(min(costs))
    if abs(float(costs[min(costs)][1]) - language.order_cost(seed, 32)) > 0.005:
        raise AssertionError(f"order_costs[{seed}]: its cost at T = 32 is not what the runs the "
                             "exercise describes give at that seed (re-trained here, to 0.005 bpc)")
