"""Activation functions f, their derivatives f', and gamma = sup |f'|.

Each entry of ACTIVATIONS gives f(a), f'(a), f' written in terms of the output h = f(a)
(what backward uses, so no pre-activation needs storing), gamma, and f'' in terms of h.
Shapes: every function is elementwise, any shape in, the same shape out.
"""
import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..validate import check_choice, check_positive


def sigmoid(a, out=None, silence=True):
    """Logistic function 1 / (1 + e^-a), for a = +-1e4 too, with no overflow warning.

    For a << 0, e^-a overflows to inf and 1/(1 + inf) = 0 is the correctly rounded
    answer, so the warning is silenced rather than the input clipped. Through exp this
    is about twice as fast as the tanh form in float64 and keeps relative accuracy in
    the tail, where 0.5 * (1 + tanh(a/2)) rounds to exactly 0 from a < -37.

    out: an array to write the result into (it may be `a` itself), by the same operations,
    so the same bits. silence=False leaves out the np.errstate, for a loop that enters
    np.errstate(over="ignore") once around all its steps (entering it costs microseconds).
    """
    if silence:
        with np.errstate(over="ignore"):
            return sigmoid(a, out, silence=False)
    if out is None:
        return 1.0 / (1.0 + np.exp(-a))
    np.negative(a, out=out)
    np.exp(out, out=out)
    out += 1.0
    return np.divide(1.0, out, out=out)


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
    d2f_from_out: Callable  # f''(a) computed from h = f(a) (the regulariser's f'(a_t) terms)


ACTIVATIONS = {
    "sigmoid": Activation("sigmoid", sigmoid, lambda a: sigmoid(a) * (1 - sigmoid(a)),
                          lambda h: h * (1 - h), 0.25, lambda h: h * (1 - h) * (1 - 2 * h)),
    "tanh": Activation("tanh", np.tanh, lambda a: 1 - np.tanh(a) ** 2, lambda h: 1 - h * h, 1.0,
                       lambda h: -2 * h * (1 - h * h)),
    "relu": Activation("relu", lambda a: np.maximum(a, 0), _relu_grad, _relu_grad, 1.0,
                       np.zeros_like),    # f' is piecewise constant
    "linear": Activation("linear", lambda a: a.copy(), _ones, _ones, 1.0, np.zeros_like),
}


def get(name):
    """Look up an activation by name; raises ValueError naming the choices."""
    return ACTIVATIONS[check_choice("activation", name, ACTIVATIONS)]


def gamma(name):
    """gamma = sup |f'| for the named activation: sigmoid 1/4, tanh 1, relu 1, linear 1."""
    return get(name).gamma


def _gauss_mean(fn, mean, spread, n=2001):
    """E[fn(a)] for a ~ N(mean, spread^2), trapezoid rule on mean +- 10 spread (smooth fn)."""
    z = np.linspace(-10.0, 10.0, n)
    w = np.exp(-0.5 * z * z)
    w /= w.sum()
    return float(np.sum(w * fn(mean + spread * z)))


def mean_abs_derivative(activation, mean=0.0, spread=1.0):
    """E|f'(a)| for pre-activations a ~ N(mean, spread^2): the factor each step multiplies in."""
    act = get(activation)
    spread = check_positive("spread", spread)
    if act.name == "relu":          # f' is a step: P(a > 0) exactly, not a quadrature of it
        return 0.5 * (1.0 + math.erf(float(mean) / (spread * math.sqrt(2.0))))
    return _gauss_mean(lambda a: np.abs(act.df(a)), float(mean), spread)
