"""rnn_core: recurrent networks in numpy with exact backpropagation through time, and the
tools to measure how gradients flow through them.

The map of the package. Its rooms follow the course, and each room's imports point only
at rooms above it in this table:

  room          what lives there                                              notebooks
  validate      input checks whose errors name the argument, expected and received
  session       what each notebook's setup cell calls: numpy's BLAS on one thread all
  nn            activations, initialisers, W_h (matrices), readout, losses     01, 03, 04
  cells         the Elman RNN, LSTM, GRU, gated feedback: one interface, each  01, 02, 05, 06
                sequence a loop over its step; layers (truncated BPTT,
                bidirectional, stacked) and layer_cells (them as cells)
  bptt          gradcheck (centered finite differences), costs (time, memory)  02
  gradflow      Jacobian products, gradient norms per lag, log-space sweeps,   03, 04, 05
                bounds
  remedies      clipping (one rule), optimisers (optim), Pascanu's Omega       07, 08
                (regularizer)
  training      tasks, corpus, fit (train), the language model, sampling,      05-08
                seq2seq; many/: fit_many, K runs at once
  experiments   the data behind each figure, one module per topic              03-08
  plots         data -> matplotlib Figure; render (Figure -> PNG); gallery      03-08
                (the static figures of figures/)
  widgets       the interactive explorers                                      03, 04, 05, 07, 08
  exercises     graders for the notebooks' exercises: common.check("03.2", a)  all

Every room is imported on first use, so `import rnn_core as rc; rc.cells.elman` works.
The notebooks reach a function by its room and module: rc.experiments.<topic>.f() for the
data, rc.plots.<topic>.f_figure() to draw it.
"""
import importlib

__version__ = "0.1.0"

_ROOMS = ("validate", "session", "nn", "cells", "bptt", "gradflow", "remedies", "training",
          "experiments", "plots", "widgets", "exercises")

__all__ = list(_ROOMS)


def __getattr__(name):
    if name in _ROOMS:
        module = importlib.import_module(f".{name}", __name__)
        globals()[name] = module
        return module
    raise AttributeError(f"module 'rnn_core' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_ROOMS))
