"""The data behind the figures: each function computes the numbers one figure shows.

Each figure is a pair: a data function here computes the numbers (with `gradflow`,
`matrices`, `activations`, the cells and the trainers), and a function in `plots` draws
them. The notebooks, the widgets and `gallery` (which writes figures/) call the same pairs,
so a figure in `figures/` and the one in a notebook come from the same code.

One module per topic, named by what it computes:
  vanishing   gradient norms of the Elman RNN against lag and rho, bounds, rates,
              transient growth, activations' derivatives (notebooks 03 and 04)
  gates       the LSTM's and the GRUs' gradient flow, connectivity, learning across a lag
  depth       stacked, bidirectional and gated-feedback networks
  remedies    the cliff, clipping, the regulariser, optimisers, weight decay
  language    the character language model and the sequence-to-sequence model

The functions of `vanishing` are also reachable here (rc.experiments.explorer_sweep).
Conventions as in `gradflow`: gradient norms are log10 values, lags l = T - k count steps
back from the loss at the last step T, rates are natural logs per step. Every function
takes `seed` and gives the same numbers for the same arguments.
"""
from . import depth, gates, language, remedies, vanishing
from .vanishing import (ACTIVATION_NAMES, COMMUTATION_ORDERS, DECADES, DEFAULTS, N_RHOS, RATE_TOL, RULE_CASES, activation_curves, bounds_vs_measured, commutation_gap, explorer_rhos, explorer_sweep, format_rule_table, input_scale_sweeps, mean_derivative_curves, outcome, preactivation_stats, rate_signs, rate_sweeps, rate_table, relu_paths, rule_cases, state_statistics, transient_growth_curves)
