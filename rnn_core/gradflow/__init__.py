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

Each function is reached by one path, its module's: rc.gradflow.sweeps.sweep(...).
"""
from . import bounds, jacobians, logspace, networks, radii, radii_fast, sweeps, traces

__all__ = ["bounds", "jacobians", "logspace", "networks", "radii", "radii_fast", "sweeps", "traces"]
