"""Gradient checking by centered finite differences, in float64.

The loss is a closure with NO arguments that reads the arrays being checked. The checker
perturbs those arrays in place, entry by entry, and calls loss() again. A closure such as
`lambda h: f(x, h_other)` would ignore the value it is given and check nothing; this API
never passes a value, and refuses a closure that asks for one (found by calling it).
"""
import numpy as np


def rel_error(a, b):
    """Worst relative error max|a - b| / max(max|a|, max|b|); 0 when both are all zeros."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape:
        raise ValueError(f"rel_error: expected arrays of one shape, received {a.shape} and {b.shape}")
    scale = max(np.max(np.abs(a), initial=0.0), np.max(np.abs(b), initial=0.0))
    return 0.0 if scale == 0.0 else float(np.max(np.abs(a - b)) / scale)


def _check_closure(loss):
    """Call loss() once: it must take no arguments (no reflection: the call itself tells)."""
    if not callable(loss):
        raise TypeError(f"loss: expected a callable with no arguments, received {type(loss).__name__}")
    try:
        loss()
    except TypeError as err:
        if err.__traceback__.tb_next is not None:    # raised inside loss, not by the call
            raise
        raise TypeError(
            f"loss: expected a closure with no arguments, received one that cannot be called "
            f"without them ({err}). The checker perturbs the arrays in place and calls "
            f"loss(); write the closure so that it reads those arrays, e.g. "
            f"`lambda: f(x, params)`, never `lambda h: f(x, h_other)`.") from None


def numerical_grad(loss, arr, eps=1e-5):
    """dloss/darr by centered differences, perturbing `arr` in place (restored afterwards).

    eps = 1e-5 balances the truncation error, O(eps^2), against round-off in loss(),
    O(1e-16 / eps): the optimum for central differences is near the cube root of the
    float64 machine epsilon, about 6e-6.
    """
    _check_closure(loss)
    if not isinstance(arr, np.ndarray) or arr.dtype != np.float64:
        got = arr.dtype if isinstance(arr, np.ndarray) else type(arr).__name__
        raise TypeError(f"arr: expected a float64 ndarray (finite differences need float64), received {got}")
    grad = np.zeros_like(arr)
    flat, gflat = arr.reshape(-1), grad.reshape(-1)
    if not np.shares_memory(flat, arr):
        raise ValueError("arr: expected a contiguous array that can be perturbed in place")
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        up = float(loss())
        flat[i] = old - eps
        down = float(loss())
        flat[i] = old
        gflat[i] = (up - down) / (2 * eps)
    return grad


def check_gradients(loss, arrays, grads, eps=1e-5):
    """Compare analytic `grads` with finite differences of `loss` for every array in `arrays`.

    loss: zero-argument callable returning a float; it must read the arrays in `arrays`.
    arrays, grads: dicts with the same keys (parameters, inputs, initial states...).
    Returns {name: worst relative error}. Raises if a perturbed array does not change the
    loss while its analytic gradient is non-zero, which is the sign of a closure that does
    not read that array.
    """
    _check_closure(loss)
    if set(arrays) != set(grads):
        raise ValueError(f"grads: expected the keys of arrays {sorted(arrays)}, received {sorted(grads)}")
    errors = {}
    for name, arr in arrays.items():
        g = np.asarray(grads[name])
        if g.shape != arr.shape:
            raise ValueError(f"grads[{name!r}]: expected shape {arr.shape}, received {g.shape}")
        num = numerical_grad(loss, arr, eps)
        if not num.any() and np.abs(g).max(initial=0.0) > 0:
            raise ValueError(
                f"arrays[{name!r}]: perturbing it never changed loss(), but its analytic gradient "
                f"is non-zero; the closure does not read this array (copied, or bound elsewhere?)")
        errors[name] = rel_error(g, num)
    return errors
