"""rnn_core: recurrent networks in numpy with exact backpropagation through time, and the
tools to measure how gradients flow through them.

Modules and subpackages (each imported on first use, so `import rnn_core as rc; rc.cells`
works):
  validate      input checks with clear errors
  activations   sigmoid, tanh, relu, linear: f, f', f'', gamma = sup|f'|, E|f'| under a Gaussian
  init          seeded initialisers (Gaussian, orthogonal, identity)
  matrices      W_h: spectral radius, sigma_max, seeded families at a chosen rho, transient growth
  cells         elman, lstm, gru, gated_feedback: one interface, step and sequence BPTT
  layers        truncated BPTT, bidirectional and stacked layers built from any cell
  layer_cells   a stack or a bidirectional layer in the cell interface (stacked_cell, bidirectional_cell)
  readout       the affine output layer and the embedding
  losses        softmax cross-entropy and mean-squared error
  gradcheck     centered finite differences with a zero-argument loss closure
  gradflow      Jacobian products, gradient norms per lag, log-space sweeps, bounds
  tasks, corpus synthetic tasks, the character corpus and its next-character task
  optim, regularizer, train   optimisers, clipping, Pascanu's Omega, the fit loop
  multirun      fit_many: K training runs as one stacked computation
  stacked       the K runs' parameter layout and sequence passes (forward, BPTT)
  stacked_loss  the K runs' readout, losses, gradients, validation and norms
  seedgrid      grid: lengths x methods x seeds through fit_many, with Wilson intervals
  seq2seq       the encoder-decoder: forward and exact BPTT through both
  costs         measured time and memory of BPTT against T
  experiments   the data behind each figure
  plots         data -> matplotlib Figure
  widgets       the interactive explorers of the notebooks
  gallery       the static figures of figures/
  exercises     graders for the notebooks' exercises: check("03.2", answer)
"""
import importlib

__version__ = "0.1.0"

_MODULES = ("validate", "activations", "init", "matrices", "cells", "layers", "layer_cells",
            "readout", "losses", "gradcheck", "gradflow", "tasks", "corpus", "optim", "regularizer",
            "train", "multirun", "stacked", "stacked_loss", "seedgrid", "seq2seq", "costs",
            "experiments", "plots", "widgets", "gallery", "exercises")

__all__ = list(_MODULES)


def __getattr__(name):
    if name in _MODULES:
        module = importlib.import_module(f".{name}", __name__)
        globals()[name] = module
        return module
    raise AttributeError(f"module 'rnn_core' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_MODULES))
