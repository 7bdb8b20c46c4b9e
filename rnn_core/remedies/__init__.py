"""What the series tries against vanishing and exploding gradients, and the optimisers.

    optim        SGD, momentum, Adam, learning-rate schedules, clipping by norm and by value
    regularizer  Pascanu et al.'s norm-preserving regulariser Omega and its gradient
"""
from . import optim, regularizer  # noqa: F401
