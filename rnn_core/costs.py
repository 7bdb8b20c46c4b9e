"""Measured (not modelled) cost of backpropagation through time.

Shapes: x (N, T, D), h (N, T, H). The workload is one forward and one backward pass of a
cell from `get_cell` on Gaussian inputs, with the per-step loss
L = sum_t ||h_t||^2 / 2, whose gradient dL/dh_t = h_t needs no extra data.
Times are wall-clock seconds (time.perf_counter) or, with clock="cpu", the CPU seconds of
this process (time.process_time), which leave out the time the operating system gives to
other programs and so stay linear in T on a busy machine; memory is the peak number of bytes
allocated during the passes, as seen by tracemalloc (numpy reports its buffers to it).
The inputs and the parameters are allocated before measuring and are not counted.
"""
import gc
import time
import tracemalloc
from typing import NamedTuple

import numpy as np

from . import layers
from .cells import get as get_cell
from .validate import check_int


class LinearFit(NamedTuple):
    """Least-squares line y = slope * x + intercept and its coefficient of determination."""
    slope: float
    intercept: float
    r2: float


def linear_fit(xs, ys):
    """Fit y = slope * x + intercept by least squares. xs, ys: 1-d, same length >= 2.

    Returns LinearFit(slope, intercept, r2) with r2 = 1 - SS_res / SS_tot (1.0 for constant ys).
    """
    xs = _as_1d("xs", xs)
    ys = _as_1d("ys", ys)
    if xs.size != ys.size:
        raise ValueError(f"ys: expected {xs.size} values (one per x), received {ys.size}")
    if xs.size < 2:
        raise ValueError(f"xs: expected at least 2 points to fit a line, received {xs.size}")
    if np.ptp(xs) == 0:
        raise ValueError(f"xs: expected at least two distinct values, received all equal to {xs[0]}")
    slope, intercept = np.polyfit(xs, ys, 1)
    ss_res = float(np.sum((ys - (slope * xs + intercept)) ** 2))
    ss_tot = float(np.sum((ys - ys.mean()) ** 2))
    r2 = 1.0 - ss_res / ss_tot if ss_tot > 0 else 1.0  # constant ys: the flat line is exact
    return LinearFit(float(slope), float(intercept), float(r2))


_CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


def bptt_time(T_values, N, D, H, cell="rnn", repeats=5, seed=0, clock="wall"):
    """Median seconds of one forward + backward pass, for each length in T_values.

    clock="wall": elapsed time (time.perf_counter); clock="cpu": CPU time of this process,
    all threads (time.process_time), which a busy machine does not inflate.
    Returns a float64 array of shape (len(T_values),). One untimed warm-up pass per T; the
    repeats are interleaved across the lengths.
    """
    T_values, N, D, H = _check_sizes(T_values, N, D, H)
    repeats = check_int("repeats", repeats, low=1)
    if clock not in _CLOCKS:
        raise ValueError(f"clock: expected one of {sorted(_CLOCKS)}, received {clock!r}")
    now = _CLOCKS[clock]
    mod, params = _setup(cell, D, H, seed)
    xs = [_inputs(N, T, D, seed) for T in T_values]
    for x in xs:
        _full_pass(mod, x, params, H)                   # warm-up: caches, page faults
    times = np.empty((repeats, len(T_values)))
    for r in range(repeats):                            # interleaved, so a burst of load
        for j, x in enumerate(xs):                      # elsewhere hits every T alike
            start = now()
            _full_pass(mod, x, params, H)
            times[r, j] = now() - start
    return np.median(times, axis=0)


def bptt_peak_memory(T_values, N, D, H, cell="rnn", truncate=None, seed=0):
    """Peak bytes allocated during forward + backward, for each length in T_values.

    truncate=None: full BPTT (the whole sequence's cache is alive at once).
    truncate=k: truncated BPTT with window k, run window by window through
    layers.truncated_bptt_loss, so only one window's cache is alive at a time: the peak
    is O(k N H) plus dx (N, T, D), the gradient for the inputs, which has their size.
    Returns an int64 array of shape (len(T_values),).
    """
    T_values, N, D, H = _check_sizes(T_values, N, D, H)
    if truncate is not None:
        truncate = check_int("truncate", truncate, low=1)
    mod, params = _setup(cell, D, H, seed)
    out = np.empty(len(T_values), np.int64)
    for j, T in enumerate(T_values):
        x = _inputs(N, T, D, seed)
        if truncate is None:
            out[j] = _peak_bytes(lambda: _full_pass(mod, x, params, H))
        else:
            out[j] = _peak_bytes(lambda: _truncated_pass(cell, x, params, H, truncate))
    return out


def _full_pass(mod, x, params, H):
    """Forward and backward over the whole sequence with dL/dh_t = h_t."""
    state0 = {k: np.zeros((x.shape[0], H)) for k in mod.STATE_KEYS}
    h, _, cache = mod.forward(x, state0, params)
    return mod.backward(h, cache)                       # dh = h: the gradient of sum ||h_t||^2 / 2


def _truncated_pass(cell, x, params, H, k):
    """Truncated BPTT with window k, one window alive at a time, dL/dh_t = h_t."""
    state0 = {key: np.zeros((x.shape[0], H)) for key in get_cell(cell).STATE_KEYS}
    window_loss = lambda h_w, start: (0.5 * float(np.sum(h_w * h_w)), h_w, {})
    return layers.truncated_bptt_loss(cell, x, state0, params, window_loss, k)


def _peak_bytes(run):
    """Peak traced bytes above the level at the start of run(); leaves tracing as it found it."""
    gc.collect()
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        result = run()
        peak = tracemalloc.get_traced_memory()[1] - base
        del result
    finally:
        if not was_tracing:
            tracemalloc.stop()
    return peak


def _setup(cell, D, H, seed):
    mod = get_cell(cell)
    return mod, mod.init_params(D, H, seed=seed)


def _inputs(N, T, D, seed):
    return np.random.default_rng(seed).standard_normal((N, T, D))


def _check_sizes(T_values, N, D, H):
    if isinstance(T_values, (str, bytes)) or not hasattr(T_values, "__len__"):
        raise TypeError(f"T_values: expected a list of integers, received {type(T_values).__name__}")
    if len(T_values) == 0:
        raise ValueError("T_values: expected at least one sequence length, received an empty list")
    T_values = [check_int(f"T_values[{i}]", T, low=1) for i, T in enumerate(T_values)]
    return (T_values, check_int("N", N, low=1), check_int("D", D, low=1), check_int("H", H, low=1))


def _as_1d(name, values):
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name}: expected a 1-d sequence of numbers, received {type(values).__name__}") from None
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected a 1-d sequence of numbers, received shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name}: expected finite values, received {arr.tolist()}")
    return arr
