"""Any cell by name, and the layer compositions built from cells.

A cell is a module (elman, lstm, gru) with the same interface: STATE_KEYS,
param_shapes(D, H), init_params(D, H, seed, ...), step_forward, step_backward,
forward(x, state0, params, **opts) -> (h, state_T, cache) and
backward(dh, cache, dstate_T=None, truncate=None) -> (dx, dstate0, grads).
Shapes: x (N, T, D), h (N, T, H), states are dicts of (N, H) arrays.
"""
import importlib

from .validate import check_choice

CELL_MODULES = {"rnn": "elman", "lstm": "lstm", "gru": "gru"}


def get_cell(name):
    """The cell module for 'rnn' (Elman), 'lstm' or 'gru'."""
    check_choice("cell", name, CELL_MODULES)
    return importlib.import_module(f".{CELL_MODULES[name]}", __package__)
