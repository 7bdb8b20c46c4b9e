"""Losses: softmax cross-entropy and mean-squared error.

Shapes: outputs (N, T, O) or (N, O); class targets are integer arrays of the shape of the
outputs without the last axis.

Normalisation (one rule for every loss): the loss is SUMMED over time steps and output
units and AVERAGED over the batch axis N (axis 0): the loss of a sequence is the sum of
its per-step losses. A many-to-one loss is the same function applied to the last step
only, either by passing that step's outputs (N, O) or by a mask that selects it.
"""
import numpy as np

from ..validate import as_float_array, check_array, check_indices


def _check_mask(mask, shape, dtype):
    """A 0/1 mask of `shape` (bool, int or float); returned as `dtype` (None means no mask)."""
    if mask is None:
        return None
    if not isinstance(mask, np.ndarray):
        raise TypeError(f"mask: expected a numpy.ndarray of 0/1 values, received {type(mask).__name__}")
    if mask.shape != shape:
        raise ValueError(f"mask: expected shape {shape}, received {mask.shape}")
    if mask.dtype != bool and not np.issubdtype(mask.dtype, np.number):
        raise TypeError(f"mask: expected a bool, int or float dtype, received {mask.dtype}")
    if not np.isin(mask, (0, 1)).all():
        raise ValueError("mask: expected only 0 and 1 entries, received other values")
    return mask.astype(dtype)


def _batch_size(name, arr):
    if arr.ndim < 2:
        raise ValueError(f"{name}: expected at least 2 axes (N, ..., C), received shape {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError(f"{name}: expected a batch size N >= 1, received shape {arr.shape}")
    return arr.shape[0]


def softmax(logits):
    """Row-wise softmax over the last axis, stable for any finite logits."""
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def softmax_cross_entropy(logits, targets, mask=None):
    """Cross-entropy of softmax(logits) against integer class targets.

    logits (N, ..., C) float; targets (N, ...) integers in [0, C); mask (N, ...) of 0/1
    selecting the steps that carry a loss (None: all). Log-sum-exp makes logits of any
    finite size safe. Returns (loss, dlogits): loss = sum over steps / N, a Python float,
    and dlogits of the shape and dtype of logits.
    """
    as_float_array("logits", logits)
    N = _batch_size("logits", logits)
    check_array("logits", logits, logits.shape)
    C = logits.shape[-1]
    check_indices("targets", targets, logits.shape[:-1], high=C)
    m = _check_mask(mask, logits.shape[:-1], logits.dtype)
    z = logits - logits.max(axis=-1, keepdims=True)                 # <= 0, so exp cannot overflow
    lse = np.log(np.exp(z).sum(axis=-1, keepdims=True))
    logp = z - lse                                                  # log-probabilities
    picked = np.take_along_axis(logp, targets[..., None], axis=-1)[..., 0]
    dlogits = np.exp(logp)
    np.put_along_axis(dlogits, targets[..., None], np.take_along_axis(dlogits, targets[..., None], -1) - 1, -1)
    if m is not None:
        picked = picked * m
        dlogits *= m[..., None]
    loss = -float(picked.sum(dtype=np.float64)) / N
    return loss, (dlogits / N).astype(logits.dtype, copy=False)


def mse(pred, target, mask=None):
    """Half the squared error, 0.5 * sum (pred - target)^2, summed over steps, averaged over N.

    pred, target (N, ..., O) of one float dtype; mask (N, ...) of 0/1 (the shape of pred
    without the last axis) selects the steps that carry a loss. Returns (loss, dpred).
    """
    as_float_array("pred", pred)
    N = _batch_size("pred", pred)
    check_array("pred", pred, pred.shape)
    check_array("target", target, pred.shape, pred.dtype)
    m = _check_mask(mask, pred.shape[:-1], pred.dtype)
    diff = pred - target
    if m is not None:
        diff = diff * m[..., None]
    with np.errstate(over="ignore"):            # errors beyond 1e154 give loss = inf, not a warning
        loss = 0.5 * float((diff.astype(np.float64) ** 2).sum()) / N
    return loss, diff / N
