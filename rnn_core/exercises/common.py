"""The graders' registry and shared helpers: check(key, answer) says whether an answer is right.

Each notebook's exercise k has an answer cell that ends with `rc.exercises.check("NN.k",
answer)`. An answer is a number, an array, a string or a function, as the exercise says.
An answer left as None (or a function that returns None) prints "not answered yet"; a
wrong one prints what was expected and what was received; a right one prints "correct".
The checker never prints the right answer itself. tests/test_exercises.py runs every
grader on a reference solution and on a wrong one, so a grader that cannot fail is caught.
"""
import numpy as np


GRADERS = {}


def grader(key):
    """Decorator: register the decorated function as the grader of exercise `key`."""
    def register(fn):
        GRADERS[key] = fn
        return fn
    return register


class Unanswered(Exception):
    """The answer is still the placeholder of its answer cell."""


def answered(value):
    """`value`, or Unanswered when it is still None (the answer cell's placeholder)."""
    if value is None:
        raise Unanswered
    return value


def call_answer(fn, *args):
    """fn(*args), Unanswered when fn is still a placeholder (returns None)."""
    if not callable(fn):
        raise AssertionError(f"expected a function, received {type(fn).__name__}")
    return answered(fn(*args))


def assert_close(name, got, want, rtol=1e-7, atol=1e-10):
    """AssertionError naming `name` when `got` is not `want` to rtol/atol (shape first)."""
    got = np.asarray(got, dtype=float)
    want = np.asarray(want, dtype=float)
    if got.shape != want.shape:
        raise AssertionError(f"{name}: expected shape {want.shape}, received {got.shape}")
    if not np.allclose(got, want, rtol=rtol, atol=atol):
        err = float(np.max(np.abs(got - want)))
        raise AssertionError(f"{name}: off by up to {err:.3g} from the expected values")


def grade(key, answer):
    """'correct', 'not answered yet', or 'wrong: <why>' for the answer to exercise `key`."""
    if key not in GRADERS:
        raise ValueError(f"key: expected one of {sorted(GRADERS)}, received {key!r}")
    try:
        GRADERS[key](answer)
    except Unanswered:
        return "not answered yet"
    except (AssertionError, ValueError, TypeError, IndexError, KeyError) as err:
        return f"wrong: {err}"
    return "correct"


def check(key, answer):
    """Print the grade of `answer` for exercise `key` (see grade). Returns None, so that an
    answer cell ending with check(...) shows only the printed line."""
    print(f"exercise {key}: {grade(key, answer)}")
