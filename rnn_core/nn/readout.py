"""Readouts: the affine output layer y = W_y h + b_y, and the embedding x = E[idx].

Shapes: hidden states h (N, T, H) or one step (N, H); outputs y are (N, T, O) or (N, O),
with W_y (O, H) and b_y (O,). An embedding maps integer ids (any shape) to vectors
through E (V, D). Each forward returns (output, cache); each backward takes the cache.
"""
import numpy as np

from ..validate import as_float_array, check_array, check_indices, check_int, check_params


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
