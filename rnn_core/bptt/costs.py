"""Measured (not modelled) cost of backpropagation through time.

Shapes: x (N, T, D), h (N, T, H). The workload is one forward and one backward pass of a
cell of cells.CELLS on Gaussian inputs from a zero state, with the per-step loss
L = sum_t ||h_t||^2 / 2, whose gradient dL/dh_t = h_t needs no extra data. Full BPTT runs
the cell's unchecked _forward and _backward (what fit runs); truncated BPTT runs
layers.truncated_bptt_loss, one window alive at a time.
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

from ..cells import layers
from ..cells import get as get_cell
from ..validate import check_int


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
    params = _setup(cell, D, H, seed)
    xs = [_inputs(N, T, D, seed) for T in T_values]
    for x in xs:
        _pass(cell, x, params, H, None)                 # warm-up: caches, page faults
    times = np.empty((repeats, len(T_values)))
    for r in range(repeats):                            # interleaved, so a burst of load
        for j, x in enumerate(xs):                      # elsewhere hits every T alike
            start = now()
            _pass(cell, x, params, H, None)
            times[r, j] = now() - start
    return np.median(times, axis=0)


def bptt_peak_memory(T_values, N, D, H, cell="rnn", truncate=None, seed=0):
    """Peak bytes allocated during forward + backward, for each length in T_values.

    truncate=None: full BPTT (the whole sequence's cache is alive at once).
    truncate=k: truncated BPTT with window k, so only one window's cache is alive at a
    time: the peak is O(k N H) plus dx (N, T, D), the gradient for the inputs, which has
    their size. Returns an int64 array of shape (len(T_values),).
    """
    T_values, N, D, H = _check_sizes(T_values, N, D, H)
    if truncate is not None:
        truncate = check_int("truncate", truncate, low=1)
    params = _setup(cell, D, H, seed)
    out = np.empty(len(T_values), np.int64)
    for j, T in enumerate(T_values):
        x = _inputs(N, T, D, seed)
        out[j] = peak_bytes(lambda: _pass(cell, x, params, H, truncate))
    return out


def _window_loss(h_w, start):
    """L = sum_t ||h_t||^2 / 2 over a window, and its gradient dL/dh_t = h_t."""
    return 0.5 * float(np.sum(h_w * h_w)), h_w


def _pass(cell, x, params, H, truncate):
    """Forward and backward from a zero state: whole (truncate None) or window by window."""
    if truncate is not None:
        return layers.truncated_bptt_loss(cell, x, None, params, _window_loss, truncate)
    mod = get_cell(cell)
    h, _, cache = mod.forward(x, mod.zero_state(x.shape[0], H), params, check=False)
    return mod.backward(h, cache, check=False)  # dh = h


def peak_bytes(run):
    """Peak traced bytes above the level at the start of run(); leaves tracing as it found it.

    The cyclic garbage collector is paused during run(): a collection there could free
    older objects and hide part of the peak. (numpy's arrays are freed by reference
    counting, so the pause keeps nothing of the run alive; a full gc.collect() before
    each measurement cost about 0.1 s in a large test process.)
    """
    was_tracing, was_collecting = tracemalloc.is_tracing(), gc.isenabled()
    if not was_tracing:
        tracemalloc.start()
    gc.disable()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        result = run()
        peak = tracemalloc.get_traced_memory()[1] - base
        del result
    finally:
        if was_collecting:
            gc.enable()
        if not was_tracing:
            tracemalloc.stop()
    return peak


def _setup(cell, D, H, seed):
    return get_cell(cell).init_params(D, H, seed=seed)


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
