"""The recurrent cells, one module each, all with the same interface.

    elman           a_t = W_h h_{t-1} + W_x x_t + b, h_t = f(a_t)   (sigmoid, tanh, relu, linear)
    lstm            the LSTM with a forget gate (lecture notes, eqs 1.37-1.42)
    gru             the GRU in the sources' form and in cuDNN's
    gated_feedback  the gated-feedback RNN of Chung et al. 2015

Every cell module has one interface (layers.py's docstring spells it out): STATE_KEYS,
OPTIONS, param_shapes, init_params, zero_state, step_forward / step_backward, forward /
backward and options; public functions check their arguments unless called with check=False.
Each cell's equations are public step functions that never check (elman.recurrence and
elman.carry, ...), and its sequence passes are loops over them. sequence holds what those
passes share (the input projection, the upstream gradient's forms, the cut); fast holds the
fast form of some loops, the same equations in place, tested equal to the plain loops.

CELLS maps the names used everywhere else ('rnn', 'lstm', 'gru', ...) to the modules, and
get(name) looks one up with a clear error.
"""
from ..validate import check_choice
from . import elman, fast, gated_feedback, gru, lstm, sequence  # noqa: F401 (shared: sequence, fast)

CELLS = {"rnn": elman, "lstm": lstm, "gru": gru, "gated_feedback": gated_feedback}


def get(name):
    """The cell module for a name in CELLS ('rnn' is the Elman RNN)."""
    check_choice("cell", name, CELLS)
    return CELLS[name]
