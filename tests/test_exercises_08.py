"""Notebook 08's graders: a reference answer passes, a wrong one and the placeholder do not."""
import numpy as np
import pytest

from rnn_core import exercises
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
    assert sorted(REFERENCE) == sorted(k for k in exercises.GRADERS if k.startswith("08."))


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
