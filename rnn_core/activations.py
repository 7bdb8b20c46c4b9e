"""Activation functions f, their derivatives f', and gamma = sup |f'|.

Each entry of ACTIVATIONS gives f(a), f'(a), f' written in terms of the output h = f(a)
(what backward uses, so no pre-activation needs storing) and gamma.
Shapes: every function is elementwise, any shape in, the same shape out.
"""
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .validate import check_choice


def sigmoid(a):
    """Logistic function 1 / (1 + e^-a), for a = +-1e4 too, with no overflow warning.

    For a << 0, e^-a overflows to inf and 1/(1 + inf) = 0 is the correctly rounded
    answer, so the warning is silenced rather than the input clipped. Through exp this
    is about twice as fast as the tanh form in float64 and keeps relative accuracy in
    the tail, where 0.5 * (1 + tanh(a/2)) rounds to exactly 0 from a < -37.
    """
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-a))


def _relu_grad(a):
    return (a > 0).astype(a.dtype)


def _ones(a):
    return np.ones_like(a)


@dataclass(frozen=True)
class Activation:
    name: str
    f: Callable           # f(a)
    df: Callable          # f'(a)
    df_from_out: Callable  # f'(a) computed from h = f(a)
    gamma: float          # sup_a |f'(a)|, the constant in the bound (gamma sigma_max)^l


ACTIVATIONS = {
    "sigmoid": Activation("sigmoid", sigmoid, lambda a: sigmoid(a) * (1 - sigmoid(a)),
                          lambda h: h * (1 - h), 0.25),
    "tanh": Activation("tanh", np.tanh, lambda a: 1 - np.tanh(a) ** 2, lambda h: 1 - h * h, 1.0),
    "relu": Activation("relu", lambda a: np.maximum(a, 0), _relu_grad, _relu_grad, 1.0),
    "linear": Activation("linear", lambda a: a.copy(), _ones, _ones, 1.0),
}


def get(name):
    """Look up an activation by name; raises ValueError naming the choices."""
    return ACTIVATIONS[check_choice("activation", name, ACTIVATIONS)]


def gamma(name):
    """gamma = sup |f'| for the named activation: sigmoid 1/4, tanh 1, relu 1, linear 1."""
    return get(name).gamma
