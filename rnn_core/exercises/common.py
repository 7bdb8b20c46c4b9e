"""The graders' registry and shared helpers: check(key, answer) says whether an answer is right.

Each notebook's exercise k has an answer cell that ends with `rc.exercises.check("NN.k",
answer)`. An answer is a number, an array, a string or a function, as the exercise says.
An answer left as None (or a function that returns None) prints "not answered yet"; a
wrong one prints the case that failed and what was received; a right one prints "correct".
A message never carries the right answer, nor anything that points to it (how far off,
which way, which entries): collecting messages over many tries learns nothing. Graders
whose answers are integers, which a loop could find by trying, draw their cases afresh at
every check (fresh_cases), so a table of answers to earlier cases is no use either.
tests/test_exercises*.py run every grader on a reference solution and on wrong ones, and
try that lookup-table attack.
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
    """AssertionError naming `name` when `got` is not `want` to rtol/atol (shape first).
    The message says neither how far off `got` is nor where: that would give `want` away."""
    got = np.asarray(got, dtype=float)
    want = np.asarray(want, dtype=float)
    if got.shape != want.shape:
        raise AssertionError(f"{name}: expected shape {want.shape}, received {got.shape}")
    if not np.allclose(got, want, rtol=rtol, atol=atol):
        raise AssertionError(f"{name}: not the right values (to a relative tolerance of "
                             f"{rtol:g})")


def fresh_cases():
    """A generator seeded from the operating system's entropy, for graders that draw their
    cases afresh at every check (integer answers: a table of earlier cases is no use)."""
    return np.random.default_rng()


def assert_count(call, got, want, what):
    """AssertionError unless `got` is the int `want`. The message names the call, what it
    returned and what it should count (`what`), never `want` nor which way `got` is off."""
    if isinstance(got, bool) or not isinstance(got, (int, np.integer)):
        raise AssertionError(f"{call}: expected an int, received {type(got).__name__}")
    if got != want:
        raise AssertionError(f"{call} returned {got}, which is not {what}")


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
