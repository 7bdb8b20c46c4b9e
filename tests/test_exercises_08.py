"""Notebook 08's graders: a reference answer passes, a wrong one and the placeholder do not."""
import numpy as np
import pytest

from rnn_core import exercises
from rnn_core.experiments import language
from rnn_core.cells import gru


def bits_per_char(p):
    return float(-np.log2(p).mean())


def constant_bpc(train, val, V):
    freq = np.bincount(train, minlength=V) / len(train)
    return float(-np.log2(freq[val]).mean())


def temperature_softmax(logits, temperature):
    logits = np.asarray(logits, float)
    if temperature == 0:
        return np.eye(len(logits))[np.argmax(logits)]
    z = np.exp((logits - logits.max()) / temperature)
    return z / z.sum()


def n_params(V, D, H):
    return V * D + 3 * (H * (H + D) + H) + V * H + V


def teacher_inputs(target, start):
    return np.concatenate([np.full((len(target), 1), start), target[:, :-1]], axis=1)


REFERENCE = {"08.1": bits_per_char, "08.2": constant_bpc, "08.3": temperature_softmax,
             "08.4": n_params, "08.5": teacher_inputs}
WRONG = {"08.1": lambda p: float(-np.log(p).mean()),                        # nats, not bits
         "08.2": lambda tr, va, V: float(np.log2(V)),                       # uniform, not frequencies
         "08.3": lambda y, t: temperature_softmax(y, 1.0),                  # ignores the temperature
         "08.4": lambda V, D, H: V * D + 3 * H * (H + D) + V * H + V,        # no GRU biases
         "08.5": lambda target, start: target}                              # no shift


def test_every_key_of_notebook_08_is_covered():
    assert sorted(REFERENCE) + ["08.6"] == sorted(k for k in exercises.GRADERS if k.startswith("08."))


@pytest.mark.parametrize("key", sorted(REFERENCE))
def test_the_reference_answer_is_correct(key):
    assert exercises.grade(key, REFERENCE[key]) == "correct"


@pytest.mark.parametrize("key", sorted(WRONG))
def test_a_wrong_answer_fails(key):
    assert exercises.grade(key, WRONG[key]).startswith("wrong: ")


@pytest.mark.parametrize("key", sorted(REFERENCE))
def test_the_placeholder_is_not_answered_yet(key):
    assert exercises.grade(key, lambda *args: None) == "not answered yet"


def test_the_gru_count_is_the_cells_own():
    assert sum(int(np.prod(s)) for s in gru.param_shapes(5, 7).values()) == 3 * (7 * 12 + 7)


# Exercise 6 measures: its answer is (order_costs, shrinks), and the grader re-trains the
# smallest seed at T = 32. language.order_cost is replaced by a stand-in of known values here
# (the real one trains for 4 s); test_order_cost_is_the_two_runs_difference tests the real one.
FAKE_COST = {(3, 32): 0.010, (5, 32): 0.020, (9, 32): -0.004}


@pytest.fixture
def fake_order_cost(monkeypatch):
    calls = []

    def order_cost(seed, T, steps=300):
        calls.append((seed, T))
        return FAKE_COST[seed, T]
    monkeypatch.setattr(language, "order_cost", order_cost)
    return calls


def test_order_costs_right_answer_is_correct(fake_order_cost):
    costs = {3: (0.07, 0.010), 5: (0.05, 0.020), 9: (0.08, -0.004)}
    assert exercises.grade("08.6", (costs, True)) == "correct"
    assert fake_order_cost == [(3, 32)]                      # one seed re-trained, the smallest


@pytest.mark.parametrize("answer, says", [
    (({3: (0.07, 0.010), 5: (0.05, 0.020), 9: (0.08, -0.004)}, False), "shrinks"),
    (({3: (0.07, 0.030), 5: (0.05, 0.020), 9: (0.08, -0.004)}, True), "order_costs[3]"),
    (({3: (0.07, 0.010), 5: (0.05, 0.020)}, True), "at least 3 seeds"),
    (({3: (0.07,), 5: (0.05, 0.020), 9: (0.08, -0.004)}, True), "order_costs[3]"),
    (({3: (0.07, 0.010), 5: (0.05, 0.020), 9: (0.08, -0.004)}, "yes"), "True or False"),
    (({-1: (0.07, 0.010), 5: (0.05, 0.020), 9: (0.08, -0.004)}, True), "integers >= 0"),
    ([0.07, 0.01], "pair"),
])
def test_order_costs_wrong_answers_fail_and_say_where(fake_order_cost, answer, says):
    got = exercises.grade("08.6", answer)
    assert got.startswith("wrong: ") and says in got, got
    assert "0.01" not in got and "0.010" not in got              # the re-trained value stays hidden


@pytest.mark.parametrize("answer", [None, (None, None), (None, True)])
def test_order_costs_placeholder_is_not_answered_yet(fake_order_cost, answer):
    assert exercises.grade("08.6", answer) == "not answered yet"
    assert not fake_order_cost


def test_order_cost_is_the_two_runs_difference():
    kw = dict(seed=2, T=4, steps=3)
    runs = {o: language.train_lm(order=o, **{**language.ORDER_RUN, **kw}).val_bpc[-1]
            for o in ("carried", "shuffled")}
    assert language.order_cost(2, 4, steps=3) == pytest.approx(runs["shuffled"] - runs["carried"], abs=1e-12)
    with pytest.raises(TypeError, match="seed"):
        language.order_cost(1.5, 8)
    with pytest.raises(ValueError, match="T"):
        language.order_cost(1, 0)
