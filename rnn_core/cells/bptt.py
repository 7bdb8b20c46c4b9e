"""What every cell's sequence pass shares: the input projection, the upstream gradient, the cut.

Inside a sequence pass arrays are time-major, (T, N, .), so that step t reads one
contiguous block; project turns x (N, T, D) into the pre-activations' input part for all
steps in one matmul, and batch_first turns a time-major result back into (N, T, .).

The upstream gradient dh = dL/dh_t comes in three forms: an (N, T, H) array; a dict
{t: (N, H) array} with a gradient at chosen steps only (negative t counts from the end,
so {-1: g} is many-to-one); or None (only dstate_T reaches the sequence).
check_upstream validates any form and returns a dict {t: (N, H)} with 0 <= t < T, which
every cell's unchecked _backward reads with .get(t); steps does the same unchecked.

truncate=k: gradients do not cross the boundaries of the windows [0,k), [k,2k), ...
(the gradient of truncated BPTT with window k; k >= T is full BPTT). cut(t, k) is the one
place that says where: every cell's backward loop drops its carries when it is true.
"""
import numpy as np

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


def project(x, W_x, b, out=None):
    """x (N, T, D) -> time-major (T, N, G) = x_t W_x^T + b for every step, in one matmul.

    out: an optional contiguous (T, N, G) array to write into (a fresh array of this size
    costs a page fault per 4 KiB on first touch, the largest cost at W1 after the matmuls).
    """
    N, T, D = x.shape
    G = W_x.shape[0]
    xw = np.empty((T, N, G), x.dtype) if out is None else out
    assert xw.flags.c_contiguous, "project: out must be C-contiguous (reshape must not copy)"
    np.matmul(x.transpose(1, 0, 2).reshape(T * N, D), W_x.T, out=xw.reshape(T * N, G))
    xw += b                                              # in place: no second (T, N, G) array
    return xw


def rows(a):
    """Time-major (T, N, K) -> (T*N, K) rows, one per (step, batch item): for weight gradients."""
    return a.reshape(-1, a.shape[-1])


def batch_first(a):
    """Time-major (T, N, K) -> a new contiguous (N, T, K) array (never a view of a cache)."""
    return a.transpose(1, 0, 2).copy()                 # a copy even where the view is contiguous


def zero_state(keys, N, H, dtype):
    """{key: zeros (N, H)} for every state key."""
    return {k: np.zeros((N, H), dtype) for k in keys}
