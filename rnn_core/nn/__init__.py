"""The parts of a network that are not recurrent: activations, initialisers, W_h, readout, losses.

    activations  sigmoid, tanh, relu, linear: f, f', f'', gamma = sup|f'|, E|f'| under a Gaussian
    init         seeded initialisers for the weight matrices (Gaussian, orthogonal, identity)
    matrices     the recurrent matrix W_h: spectral radius, sigma_max, seeded families at a
                 chosen rho, transient growth
    readout      the affine output layer and the embedding
    losses       softmax cross-entropy and mean-squared error
"""
from . import activations, init, losses, matrices, readout  # noqa: F401
