"""Backpropagation through time, checked and costed.

    gradcheck   centered finite differences with a zero-argument loss closure
    costs       the time and memory BPTT takes against the sequence length T, measured

Each cell's own BPTT is its sequence backward (rnn_core.cells); truncated BPTT over a
whole sequence is rnn_core.cells.layers.truncated_bptt.
"""
from . import costs, gradcheck  # noqa: F401
