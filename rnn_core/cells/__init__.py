"""The recurrent cells, one module each, all with the same interface.

    elman           a_t = W_h h_{t-1} + W_x x_t + b, h_t = f(a_t)   (sigmoid, tanh, relu, linear)
    lstm            the LSTM with a forget gate (lecture notes, eqs 1.37-1.42)
    gru             the GRU in the sources' form and in cuDNN's
    gated_feedback  the gated-feedback RNN of Chung et al. 2015

Every cell module has one interface (layers.py's docstring spells it out): STATE_KEYS,
OPTIONS, param_shapes, init_params, zero_state, step_forward / step_backward, forward /
backward, with private unchecked versions (_forward, _backward, ...) for internal callers.
sequence holds what their sequence passes share (the upstream gradient's forms, the cut);
inplace holds the gated cells' sequence loops for large N * H, their step equations written
in place one gate at a time (tested equal to the steps looped).

CELLS maps the names used everywhere else ('rnn', 'lstm', 'gru', ...) to the modules, and
get(name) looks one up with a clear error.
"""
from ..validate import check_choice
from . import elman, gated_feedback, gru, inplace, lstm, sequence  # noqa: F401 (shared: sequence, inplace)

CELLS = {"rnn": elman, "lstm": lstm, "gru": gru, "gated_feedback": gated_feedback}


def get(name):
    """The cell module for a name in CELLS ('rnn' is the Elman RNN)."""
    check_choice("cell", name, CELLS)
    return CELLS[name]
