"""Notebook 07's graders: a reference answer passes, a wrong one and the placeholder do not."""
import numpy as np
import pytest

from rnn_core import exercises


def cliff_grad(w, b):
    x, xs = 0.5, [0.5]
    for _ in range(50):
        x = w / (1 + np.exp(-x)) + b
        xs.append(x)
    s = 1 / (1 + np.exp(-np.array(xs)))
    d = 2 * (s[-1] - 0.7) * s[-1] * (1 - s[-1])
    dw = db = 0.0
    for t in range(50, 0, -1):
        dw, db = dw + d * s[t - 1], db + d
        d = d * w * s[t - 1] * (1 - s[t - 1])
    return dw, db


def value_clip_angle(g, c):
    v = np.clip(g, -c, c)
    cos = g @ v / (np.linalg.norm(g) * np.linalg.norm(v))
    return np.degrees(np.arccos(min(cos, 1.0))) if cos < 1 - 1e-12 else 0.0


def omega_term(g, fprime, W_h):
    return (np.linalg.norm((g * fprime) @ W_h) / np.linalg.norm(g) - 1) ** 2


def rho_after_decay(rho0, lr, l2, n):
    return rho0 * (1 - lr * l2) ** n


def wilson(k, n, z=1.96):
    p = k / n
    c = (p + z * z / (2 * n)) / (1 + z * z / n)
    h = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, c - h), min(1.0, c + h)


REFERENCE = {"07.1": cliff_grad, "07.2": value_clip_angle, "07.3": omega_term,
             "07.4": rho_after_decay, "07.5": wilson}
WRONG = {
    "07.1": lambda w, b: (cliff_grad(w, b)[0], 0.0),                     # forgot dL/db
    "07.2": lambda g, c: 0.0,                                            # "clipping keeps g"
    "07.3": lambda g, fp, W: (np.linalg.norm(g @ W) / np.linalg.norm(g) - 1) ** 2,  # no f'
    "07.4": lambda rho0, lr, l2, n: rho0 * (1 - l2) ** n,                # forgot lr
    "07.5": lambda k, n: (k / n - np.sqrt(k / n * (1 - k / n) / n),
                          k / n + np.sqrt(k / n * (1 - k / n) / n)),     # the standard error
}


@pytest.mark.parametrize("key", sorted(REFERENCE))
def test_reference_passes(key):
    assert exercises.grade(key, REFERENCE[key]) == "correct"


@pytest.mark.parametrize("key", sorted(WRONG))
def test_wrong_fails(key):
    assert exercises.grade(key, WRONG[key]).startswith("wrong: ")


@pytest.mark.parametrize("key", sorted(REFERENCE))
def test_placeholder_is_not_answered(key):
    assert exercises.grade(key, lambda *args: None) == "not answered yet"
