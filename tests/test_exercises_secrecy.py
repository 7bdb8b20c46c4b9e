"""No checker gives an answer away: not in one message, not in a table of many.

A student who calls check in a loop sees only the messages. The tests here play that
student: they collect the messages of many wrong tries and look for the right answer in
them, for a hint of which way it lies, and for cases that come back so that a table of
earlier answers would pass. They also try the wrong forms that the old checkers accepted.
"""
import re

import numpy as np
import pytest

from rnn_core import exercises, gradflow
from rnn_core.experiments import cliff

import test_exercises as ex01_04_answers
import test_exercises_05 as ex05_answers
import test_exercises_06 as ex06_answers
import test_exercises_07 as ex07_answers
import test_exercises_08 as ex08_answers

# The graders whose answers are integer counts, with a reference answer for each.
COUNTS = {"01.2": ex01_04_answers.n_params, "02.4": ex01_04_answers.zero_steps,
          "05.1": ex05_answers.n_params, "06.2": ex06_answers.n_params_stacked,
          "06.3": ex06_answers.n_params_gf, "08.4": ex08_answers.n_params}
TRIES = 30


def _tries(key, answer, n=TRIES):
    return [exercises.grade(key, answer) for _ in range(n)]


def _off_by(right, delta, seen):
    """A wrong answer delta away from the right one; records (args, right value)."""
    def answer(*args):
        want = right(*args)
        seen.append((args, want))
        return want + delta
    return answer


@pytest.mark.parametrize("key", sorted(COUNTS))
def test_a_count_message_carries_neither_the_answer_nor_its_direction(key):
    for _ in range(10):
        seen = []
        above = exercises.grade(key, _off_by(COUNTS[key], 1, seen))
        first_fail_above = seen[-1]
        seen.clear()
        below = exercises.grade(key, _off_by(COUNTS[key], -1, seen))
        assert above.startswith("wrong: ") and below.startswith("wrong: ")
        for message, (args, want) in ((above, first_fail_above), (below, seen[-1])):
            numbers = {int(n) for n in re.findall(r"-?\d+", message)} - set(args)
            assert want not in numbers, (message, want)          # the answer is not printed
            assert "expected" not in message and "off by" not in message
        # one more and one less read alike: nothing says which way the answer lies
        strip = lambda m: re.sub(r"returned -?\d+", "returned N", re.sub(r"\(.*?\)", "()", m))
        assert strip(above) == strip(below)


@pytest.mark.parametrize("key", sorted(COUNTS))
def test_a_table_of_every_earlier_case_is_no_use(key):
    """The attack the old checkers allowed: remember the right answer of every case seen
    (here handed to the attacker for free) and replay it. The cases are drawn afresh at
    each check, so the table never covers one, and the attack never passes."""
    right = COUNTS[key]
    table, calls_covered = {}, []

    def from_the_table(*args):
        calls_covered[-1].append(args in table)
        value = table.get(args)
        table[args] = right(*args)
        return value if value is not None else -1

    grades = []
    for _ in range(TRIES):
        calls_covered.append([])
        grades.append(exercises.grade(key, from_the_table))
    assert all(g.startswith("wrong: ") for g in grades)
    # the case that fails first was never seen before (except by chance, rarely)
    assert sum(c[-1] for c in calls_covered) <= 2
    assert exercises.grade(key, right) == "correct"


def test_a_wrong_float_reads_the_same_above_and_below():
    right = ex08_answers.bits_per_char
    above = exercises.grade("08.1", lambda p: right(p) * 1.001)
    below = exercises.grade("08.1", lambda p: right(p) * 0.999)
    assert above == below and above.startswith("wrong: ")
    assert "off by" not in above and not re.search(r"\d\.\d{3}", above)


# ---- 05.4: a pair, since an integer from 0 to 6 is found in a few tries ---------------------

def _norm_at(b):
    s = gradflow.sweeps.sweep([1.0], H=32, T=500, input_scale=1.0, cell="lstm",
                              forget_bias=float(b))
    return float(s.log10_norm_c[0, -1])


def test_the_smallest_forget_bias_cannot_be_found_by_trying_integers():
    norms = {b: _norm_at(b) for b in range(7)}
    right_b = next(b for b in range(7) if norms[b] > -3.0)
    assert exercises.grade("05.4", (right_b, norms[right_b])) == "correct"
    assert exercises.grade("05.4", (np.int64(right_b), np.float64(norms[right_b]))) == "correct"
    for b in range(7):                                   # an integer alone: never right
        assert "expected a pair" in exercises.grade("05.4", b)
    # every wrong pair reads alike (but for the echoed pair): right b with a guessed norm,
    # a wrong b with the norm it really gives
    wrong = [(right_b, round(norms[right_b], 2)), (right_b, 0.0)]
    wrong += [(b, norms[b]) for b in range(7) if b != right_b]
    messages = {re.sub(r"\(-?\d+, [^)]*\)", "(b, norm)", exercises.grade("05.4", pair))
                for pair in wrong}
    assert len(messages) == 1 and messages.pop().startswith("wrong: ")


# ---- 07.1: exact BPTT over all 50 steps, nothing else -------------------------------------

def _cliff_grad(steps=50, sigmoid=lambda x: 1.0 / (1.0 + np.exp(-x))):
    """Forward-mode differentiation of the cliff recurrence: exact, like BPTT."""
    def grad(w, b):
        x, dx_dw, dx_db = 0.5, 0.0, 0.0
        for _ in range(steps):
            s = sigmoid(x)
            x, dx_dw, dx_db = w * s + b, s + w * s * (1 - s) * dx_dw, 1 + w * s * (1 - s) * dx_db
        s = sigmoid(x)
        c = 2 * (s - 0.7) * s * (1 - s)
        return c * dx_dw, c * dx_db
    return grad


def _finite_differences(h):
    def grad(w, b):
        loss = lambda w, b: float(cliff.cliff_loss_and_grad(w, b)[0])
        return ((loss(w + h, b) - loss(w - h, b)) / (2 * h),
                (loss(w, b + h) - loss(w, b - h)) / (2 * h))
    return grad


@pytest.mark.parametrize("sigmoid", [lambda x: 1.0 / (1.0 + np.exp(-x)),
                                     lambda x: 0.5 * (1.0 + np.tanh(0.5 * x)),
                                     lambda x: np.exp(x) / (1.0 + np.exp(x))])
def test_exact_gradients_pass_with_any_form_of_the_sigmoid(sigmoid):
    assert exercises.grade("07.1", _cliff_grad(sigmoid=sigmoid)) == "correct"
    assert exercises.grade("07.1", ex07_answers.cliff_grad) == "correct"


@pytest.mark.parametrize("steps", list(range(30, 50)) + list(range(51, 71)))
def test_a_recurrence_of_other_than_50_steps_fails(steps):
    assert exercises.grade("07.1", _cliff_grad(steps)).startswith("wrong: ")


@pytest.mark.parametrize("h", [10.0 ** -k for k in range(3, 14)] + [3e-6, 3e-9, 3e-12])
def test_finite_differences_fail_at_every_step(h):
    assert exercises.grade("07.1", _finite_differences(h)).startswith("wrong: ")


def test_the_cliff_face_points_are_where_the_gradient_is_steep():
    from rnn_core.exercises import ex07
    for w, b in ex07.CLIFF_FACE:
        _, dw, db, _ = cliff.cliff_loss_and_grad(w, b)
        assert abs(float(db)) > 1e7 and abs(float(dw)) > 1e7


# ---- 08.5: a message that says what is wrong -------------------------------------------------

def test_teacher_inputs_messages_name_the_shape_or_the_values():
    right = ex08_answers.teacher_inputs
    shape = exercises.grade("08.5", lambda target, start: right(target, start)[:, :-1])
    assert "expected an array of the target's shape" in shape and "received shape" in shape
    values = exercises.grade("08.5", lambda target, start: target)
    assert "the shape is right" in values and "teacher forcing" in values
    assert "or other values" not in shape + values
    assert exercises.grade("08.5", right) == "correct"

