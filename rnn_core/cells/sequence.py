"""What every cell's sequence pass shares: the input projection, the upstream gradient, the cut.

Inside a sequence pass arrays are time-major, (T, N, .), so that step t reads one
contiguous block; project turns x (N, T, D) into the pre-activations' input part for all
steps in one matmul, and batch_first turns a time-major result back into (N, T, .).

buffers is the one workspace mechanism; loop_sigmoid is activations.sigmoid for the loops.

The upstream gradient dh = dL/dh_t comes in three forms: an (N, T, H) array; a dict
{t: (N, H) array} with a gradient at chosen steps only (negative t counts from the end,
so {-1: g} is many-to-one); or None (only dstate_T reaches the sequence).
check_upstream validates any form and returns a dict {t: (N, H)} with 0 <= t < T, which
every cell's backward loop reads with .get(t); steps does the same unchecked.

truncate=k: gradients do not cross the boundaries of the windows [0,k), [k,2k), ...
(the gradient of truncated BPTT with window k; k >= T is full BPTT). cut(t, k) is the one
place that says where: every cell's backward loop drops its carries when it is true.
"""
import math
import threading

import numpy as np

from ..nn.activations import sigmoid
from ..validate import check_array, check_int


def steps(dh, T):
    """dh in any of the three forms -> {t: (N, H) array} with 0 <= t < T (unchecked)."""
    if dh is None:
        return {}
    if isinstance(dh, dict):
        return {int(t) % T: g for t, g in dh.items()}
    return {t: dh[:, t] for t in range(T)}


def check_upstream(name, dh, N, T, H, dtype):
    """Validate dh (array (N, T, H), dict {t: (N, H)} or None) -> {t: (N, H)}, 0 <= t < T."""
    if dh is None or not isinstance(dh, dict):
        if dh is not None:
            check_array(name, dh, (N, T, H), dtype)
        return steps(dh, T)
    out = {}
    for t, g in dh.items():
        t_ = check_int(f"{name} key", t, low=-T, high=T - 1)
        check_array(f"{name}[{t}]", g, (N, H), dtype)
        if t_ % T in out:
            raise ValueError(f"{name}: expected each step at most once, received step "
                             f"{t_ % T} twice (keys {sorted(dh)} with T = {T})")
        out[t_ % T] = g
    return out


def check_truncate(truncate):
    """None (full BPTT) or a window length k >= 1."""
    return None if truncate is None else check_int("truncate", truncate, low=1)


def cut(t, truncate):
    """True where truncated BPTT drops the carries into step t - 1: t > 0 starts a window."""
    return truncate is not None and t > 0 and t % truncate == 0


def dense(dh_steps, N, T, H, dtype):
    """{t: (N, H)} -> the (N, T, H) array with zeros at the other steps."""
    out = np.zeros((N, T, H), dtype)
    for t, g in dh_steps.items():
        out[:, t] = g
    return out


HUGE_BYTES = 2 ** 22   # numpy asks for huge pages for allocations of at least 4 MiB
_KEPT = threading.local()


def buffers(dtype, *shapes, keep=False):
    """Contiguous arrays of the given shapes, carved from one allocation: the one workspace
    mechanism of the sequence passes (why: benchmarks/README.md, "The cells' fast form").

    keep=True: the same arrays from one call to the next (one set per thread, replaced when
    the shapes change), for a backward's scratch, which nothing returned or cached may share.
    """
    key = (np.dtype(dtype).str,) + shapes
    if keep and getattr(_KEPT, "key", None) == key:
        return _KEPT.arrays
    sizes = [math.prod(shape) for shape in shapes]
    flat = np.empty(sum(sizes), dtype)
    ends = np.cumsum(sizes)
    arrays = [flat[end - size:end].reshape(shape) for shape, size, end in zip(shapes, sizes, ends)]
    if keep:
        _KEPT.key, _KEPT.arrays = key, arrays
    return arrays


def project(x, W_x, b, out=None):
    """x (N, T, D) -> time-major x_t W_x^T + b for every step, one matmul over all T*N rows.

    W_x (G, D), b (G,) give (T, N, G); gates stacked apart, W_x (K, H, D) and b (K, H), give
    gate-major (K, T, N, H), one matmul per gate. out: an optional C-contiguous array of that
    shape to write into.
    """
    N, T, D = x.shape
    xw = np.empty(W_x.shape[:-2] + (T, N, W_x.shape[-2]), x.dtype) if out is None else out
    if not xw.flags.c_contiguous:                        # else rows(xw) would be a copy
        raise ValueError(f"out: expected a C-contiguous array, received strides {xw.strides}")
    xr = x_rows(x)
    for W_k, b_k, xw_k in (zip(W_x, b, xw) if W_x.ndim == 3 else [(W_x, b, xw)]):
        np.matmul(xr, W_k.T, out=rows(xw_k))
        xw_k += b_k                                      # in place: no second array
    return xw


def backproject(da, W_x):
    """Time-major da (T, N, G), W_x (G, D) -> dx (N, T, D) = da_t W_x, a new batch-first array;
    gate-major da (K arrays (T, N, H)) and W_x (K, H, D): the sum over the K gates.

    One matmul per batch item reading its (T, G) rows of da in place.
    """
    if W_x.ndim == 3:
        dx = backproject(da[0], W_x[0])
        for k in range(1, len(W_x)):
            dx += backproject(da[k], W_x[k])
        return dx
    return np.matmul(da.transpose(1, 0, 2), W_x)


def x_rows(x):
    """x (N, T, D) -> its (T*N, D) rows in time-major order (a copy), paired with rows(da)."""
    return x.transpose(1, 0, 2).reshape(-1, x.shape[-1])


BLOCK_BYTES = 2 ** 19   # a backward block's local factors: about this many bytes


def blocks(T, row_bytes):
    """The backward's blocks of steps [t0, t1), the last first, each about BLOCK_BYTES.

    row_bytes: the bytes one step's local factors take. Local factors computed for a block at
    once cost few numpy calls per step when steps are small (the whole sequence in one block)
    and stay in cache when they are large (a few steps per block).
    """
    block = max(1, BLOCK_BYTES // max(1, row_bytes))
    return [(max(t1 - block, 0), t1) for t1 in range(T, 0, -block)]


def loop_sigmoid(a):
    """activations.sigmoid without its np.errstate: a sequence loop enters
    np.errstate(over="ignore") once around all its steps instead of once per call."""
    return sigmoid(a, silence=False)




def rows(a):
    """Time-major (T, N, K) -> (T*N, K) rows, one per (step, batch item): for weight gradients."""
    return a.reshape(-1, a.shape[-1])


def batch_first(a):
    """Time-major (T, N, K) -> a new contiguous (N, T, K) array (never a view of a cache)."""
    return a.transpose(1, 0, 2).copy()                 # a copy even where the view is contiguous


def zero_state(keys, N, H, dtype):
    """{key: zeros (N, H)} for every state key."""
    return {k: np.zeros((N, H), dtype) for k in keys}
