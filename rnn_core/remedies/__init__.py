"""What the series tries against vanishing and exploding gradients, and the optimisers.

    clipping     clipping by global norm (Pascanu et al.'s Algorithm 1) and by value
    optim        SGD, momentum, Adam, learning-rate schedules, and the trees they walk
    regularizer  Pascanu et al.'s norm-preserving regulariser Omega and its gradient
"""
from . import clipping, optim, regularizer  # noqa: F401
