"""How gradients flow backwards through time, measured.

    logspace    log10 norms that neither under- nor overflow, the one backward carrier,
                and the decay rate
    radii       the Elman RNN for a batch of spectral radii at once, on the cell's own
                step and carry; radii_fast, the fast form of its forward (tanh, sigmoid)
    traces      every cell's own step functions, run forward and back for gradflow
    jacobians   one-step Jacobians of any cell, their products (transient_growth: the linear
                RNN's, W_h^l), gradient norms per lag
    networks    the seeded networks of the sweep, and how rho scales each cell's weights
    sweeps      gradient norm against lag for many spectral radii at once, any cell
    bounds      the singular-value and Hochreiter bounds, and Pascanu et al.'s regimes

The public functions are gathered here, so rc.gradflow.sweep(...) works; each is defined
once, in the module named above.
"""
from .bounds import hochreiter_bound, pascanu_regime, singular_value_bound
from .jacobians import (GradientNorms, connectivity, gradient_norms, jacobian_products, jacobian_step,
                        transient_growth)
from .logspace import LOG10_FLOOR, RATE_FLOOR, decay_rate
from .networks import sweep_setup
from .sweeps import Sweep, exact_spectral_norms, sweep

__all__ = ["GradientNorms", "LOG10_FLOOR", "RATE_FLOOR", "Sweep", "connectivity", "decay_rate",
           "exact_spectral_norms", "gradient_norms", "hochreiter_bound", "jacobian_products",
           "jacobian_step", "pascanu_regime", "singular_value_bound", "sweep", "sweep_setup",
           "transient_growth"]
