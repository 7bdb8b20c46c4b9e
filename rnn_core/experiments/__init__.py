"""The data behind the figures: each function computes the numbers one figure shows.

Each figure is a pair: a data function here computes the numbers (with `gradflow`,
`matrices`, `activations`, the cells and the trainers), and a function in `plots` draws
them. The notebooks, the widgets and `gallery` (which writes figures/) call the same pairs,
so a figure in `figures/` and the one in a notebook come from the same code.

One module per topic, named by what it computes:
  vanishing      gradient norms of the Elman RNN against lag and rho, bounds, rates,
                 transient growth, the commutation gap (notebook 03)
  derivatives    the activations' derivatives, saturation, the ReLU paths (notebook 04)
  gates          the LSTM's and the GRUs' gradient flow and connectivity (notebook 05)
  depth          stacked, bidirectional and gated-feedback networks (notebook 06)
  cliff          the one-neuron cliff: its surface, and descent with and without clipping
  remedies       clipping by norm and by value, the regulariser, optimisers, weight decay
  success_rates  success rate against length over seeds: the cells at one parameter
                 budget (notebook 05) and Pascanu et al.'s remedies (notebook 07)
  language       the character language model: baselines, training, bpc (notebook 08)
  sampling       text from the language model at a temperature
  reversal       the encoder-decoder on string reversal, and exposure bias
  session        the notebooks' BLAS thread count, the one the tests run with

The functions of `vanishing` and `derivatives` are also reachable here
(rc.experiments.explorer_sweep).
Conventions as in `gradflow`: gradient norms are log10 values, lags l = T - k count steps
back from the loss at the last step T, rates are natural logs per step. Every function
takes `seed` and gives the same numbers for the same arguments.
"""
from . import (cliff, depth, derivatives, gates, language, remedies, reversal, sampling,
               success_rates, vanishing)
from . import session
from .derivatives import (ACTIVATION_NAMES, activation_curves, mean_derivative_curves,
                          preactivation_stats, relu_paths)
from .vanishing import (COMMUTATION_ORDERS, DECADES, DEFAULTS, N_RHOS, RATE_TOL, RULE_CASES,
                        bounds_vs_measured, commutation_gap, explorer_rhos, explorer_sweep,
                        format_rule_table, input_scale_sweeps, outcome, rate_signs, rate_sweeps,
                        rate_table, rule_cases, state_statistics, transient_growth_curves)
