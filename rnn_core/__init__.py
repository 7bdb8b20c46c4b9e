"""rnn_core: recurrent networks in numpy with exact backpropagation through time, and the
tools to measure how gradients flow through them.

Modules (each imported on first use, so `import rnn_core as rc; rc.elman` works):
  validate      input checks with clear errors
  activations   sigmoid, tanh, relu, linear: f, f', gamma = sup|f'|
  init          seeded initialisers (Gaussian, orthogonal, identity, spectral radius)
  gradcheck     centered finite differences with a zero-argument loss closure
  elman, lstm, gru   cells: step and sequence forward/backward (BPTT)
  sequence      any cell by name, truncated BPTT, bidirectional and stacked layers
  gated_feedback     gated-feedback RNN (Chung et al. 2015)
  losses        readouts, softmax cross-entropy, mean-squared error, embeddings
  matrices      spectral radius, singular values, recurrent-matrix families
  analysis      Jacobian products, gradient norms per lag, log-space sweeps, bounds
  tasks, corpus synthetic tasks, the character corpus and its next-character task
  optim, regularizer, train   optimisers, clipping, Pascanu's Omega, the fit loop
  costs         measured time and memory of BPTT against T
  plots, widgets, figures     figures and interactive explorers for the notebooks
"""
import importlib

__version__ = "0.1.0"

_MODULES = ("validate", "activations", "init", "gradcheck", "elman", "lstm", "gru",
            "sequence", "gated_feedback", "losses", "matrices", "analysis", "tasks",
            "corpus", "optim", "regularizer", "train", "costs", "plots", "widgets", "figures")

__all__ = list(_MODULES)


def __getattr__(name):
    if name in _MODULES:
        module = importlib.import_module(f".{name}", __name__)
        globals()[name] = module
        return module
    raise AttributeError(f"module 'rnn_core' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_MODULES))
