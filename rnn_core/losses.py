"""Readouts and losses: affine output layer, softmax cross-entropy, mean-squared error, embedding.

Shapes: hidden states h (N, T, H) or one step (N, H); outputs y = W_y h + b_y are
(N, T, O) or (N, O), with W_y (O, H) and b_y (O,). Class targets are integer arrays of the
shape of the outputs without the last axis. An embedding maps integer ids (any shape) to
vectors through E (V, D).

Normalisation (one rule for every loss): the loss is SUMMED over time steps and output
units and AVERAGED over the batch axis N (axis 0), as in theory.md ("the loss sums over
time steps"). A many-to-one loss is the same function applied to the last step only,
either by passing that step's outputs (N, O) or by a mask that selects it.
"""
import numpy as np

from .validate import as_float_array, check_array, check_int, check_params

# ----------------------------------------------------------------------------- helpers


def check_indices(name, idx, shape=None, high=None):
    """An integer ndarray (of `shape`, None entries matching anything) with values in [0, high)."""
    if not isinstance(idx, np.ndarray):
        raise TypeError(f"{name}: expected a numpy.ndarray of integers, received {type(idx).__name__}")
    if idx.dtype == bool or not np.issubdtype(idx.dtype, np.integer):
        raise TypeError(f"{name}: expected an integer dtype, received {idx.dtype}")
    if shape is not None:
        ok = idx.ndim == len(shape) and all(s is None or s == a for s, a in zip(shape, idx.shape))
        if not ok:
            want = "(" + ", ".join("any" if s is None else str(s) for s in shape) + ")"
            raise ValueError(f"{name}: expected shape {want}, received {idx.shape}")
    if high is not None and idx.size and (idx.min() < 0 or idx.max() >= high):
        raise ValueError(f"{name}: expected values in [0, {high}), received values in "
                         f"[{idx.min()}, {idx.max()}]")
    return idx


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

# ----------------------------------------------------------------------------- affine readout


def init_affine(H, O, seed=0, std=None, dtype=np.float64):
    """Readout parameters {"W_y": (O, H) ~ N(0, std^2), "b_y": (O,) zeros}; std defaults to 1/sqrt(H)."""
    H = check_int("H", H, low=1)
    O = check_int("O", O, low=1)
    std = 1.0 / np.sqrt(H) if std is None else std
    rng = np.random.default_rng(seed)
    return {"W_y": (std * rng.standard_normal((O, H))).astype(dtype), "b_y": np.zeros(O, dtype)}


def affine_forward(h, params):
    """y = W_y h + b_y at every step. h (N, T, H) or (N, H) -> (y (N, T, O) or (N, O), cache)."""
    W_y = params.get("W_y") if isinstance(params, dict) else None
    O, H = W_y.shape if isinstance(W_y, np.ndarray) and W_y.ndim == 2 else (None, None)
    dtype = check_params("params", params, {"W_y": (O, H), "b_y": (O,)})
    as_float_array("h", h, dtype)
    if h.ndim not in (2, 3):
        raise ValueError(f"h: expected shape (N, T, H) or (N, H), received {h.shape}")
    check_array("h", h, (None,) * (h.ndim - 1) + (H,), dtype)
    y = h @ params["W_y"].T + params["b_y"]
    return y, (h, params)


def affine_backward(dy, cache):
    """Backward of affine_forward. dy like y -> (dh like h, grads {"W_y", "b_y"})."""
    h, params = cache
    O, H = params["W_y"].shape
    check_array("dy", dy, h.shape[:-1] + (O,), h.dtype)
    dy2, h2 = dy.reshape(-1, O), h.reshape(-1, H)
    grads = {"W_y": dy2.T @ h2, "b_y": dy2.sum(axis=0)}
    return dy @ params["W_y"], grads

# ----------------------------------------------------------------------------- losses


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

# ----------------------------------------------------------------------------- embedding


def init_embedding(V, D, seed=0, std=1.0, dtype=np.float64):
    """Embedding table {"E": (V, D)} with N(0, std^2) entries."""
    V = check_int("V", V, low=1)
    D = check_int("D", D, low=1)
    return {"E": (std * np.random.default_rng(seed).standard_normal((V, D))).astype(dtype)}


def embedding_forward(idx, params):
    """x = E[idx]. idx: integer array of any shape (e.g. (N, T)) -> (x idx.shape + (D,), cache)."""
    E = params.get("E") if isinstance(params, dict) else None
    V, D = E.shape if isinstance(E, np.ndarray) and E.ndim == 2 else (None, None)
    check_params("params", params, {"E": (V, D)})
    check_indices("idx", idx, high=V)
    return params["E"][idx], (idx, params)


def embedding_backward(dx, cache):
    """Backward of embedding_forward. dx idx.shape + (D,) -> grads {"E": (V, D)}.

    A row used several times gets the sum of its gradients: np.add.at accumulates
    repeated indices, where dE[idx] += dx would keep only one of them.
    """
    idx, params = cache
    E = params["E"]
    check_array("dx", dx, idx.shape + (E.shape[1],), E.dtype)
    dE = np.zeros_like(E)
    np.add.at(dE, idx.reshape(-1), dx.reshape(-1, E.shape[1]))
    return {"E": dE}
