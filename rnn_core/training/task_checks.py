"""What every task shares: its argument checks, one-hot inputs, and how a prediction is
scored (the bits of bits per character, class labels from scores).

Shapes as in tasks: a prediction has the shape of the model's readout, (N, O) many-to-one
or (N, T, O) many-to-many; class ids have the shape of y.
"""
import numpy as np

from ..validate import check_int, check_positive


def bits(logits, y):
    """-log2 p(y) under softmax(logits), per position: the bits of bits per character.
    logits (..., V), y (...) int ids -> (...). Unchecked."""
    z = logits - logits.max(axis=-1, keepdims=True)              # log-softmax, stably
    logp = np.take_along_axis(z, y[..., None], axis=-1)[..., 0] - np.log(np.exp(z).sum(axis=-1))
    return -logp / np.log(2.0)


def check_pred(pred, shape, float_only=False):
    """pred checked: a finite numpy array of `shape` (of a float dtype if float_only)."""
    if not isinstance(pred, np.ndarray):
        raise TypeError(f"pred: expected a numpy.ndarray, received {type(pred).__name__}")
    if float_only and not np.issubdtype(pred.dtype, np.floating):
        raise TypeError(f"pred: expected a float dtype, received {pred.dtype}")
    if pred.shape != shape:
        raise ValueError(f"pred: expected shape {shape}, received {pred.shape}")
    if np.issubdtype(pred.dtype, np.floating) and not np.isfinite(pred).all():
        raise ValueError("pred: expected finite values, received NaN or inf")
    return pred


def labels(pred, y_shape, C):
    """Class ids from scores (y_shape + (C,)) by argmax, or integer ids of y_shape as given."""
    if isinstance(pred, np.ndarray) and np.issubdtype(pred.dtype, np.integer):
        return check_pred(pred, y_shape)
    return check_pred(pred, y_shape + (C,), float_only=True).argmax(axis=-1)


def one_hot(ids, D):
    """ids (...) int -> (..., D) float64 one-hot rows."""
    return np.eye(D)[ids]


def check_common(N, T, seed, T_min, why):
    """(N, T, rng): N and T checked (T >= T_min, for the reason why), seed an int or a
    numpy Generator, which is drawn from as it is."""
    N = check_int("N", N, low=1)
    T = check_int("T", T)
    if T < T_min:
        raise ValueError(f"T: expected T >= {T_min} ({why}), received {T}")
    if isinstance(seed, np.random.Generator):            # a trainer's stream: drawn from
        return N, T, seed
    if seed is None or isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed: expected an integer or a numpy Generator, received "
                        f"{type(seed).__name__} {seed!r}")
    return N, T, np.random.default_rng(seed)


def check_threshold(value, metric):
    """A task's success threshold: positive, and at most 1 for an accuracy."""
    value = check_positive("threshold", value)
    if metric == "accuracy" and value > 1:
        raise ValueError(f"threshold: expected an accuracy in (0, 1], received {value}")
    return value
