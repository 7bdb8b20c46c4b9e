"""Tests for rnn_core.bptt.costs: the structure of the measurements, never the machine's speed."""
import tracemalloc

import numpy as np
import pytest

from rnn_core.bptt import costs

CELLS = ["rnn", "lstm", "gru", "gated_feedback"]


# ---- linear_fit ------------------------------------------------------------------------

def test_linear_fit_recovers_an_exact_line():
    xs = np.arange(5.0)
    fit = costs.linear_fit(xs, 3.0 * xs - 2.0)
    assert fit.slope == pytest.approx(3.0)
    assert fit.intercept == pytest.approx(-2.0)
    assert fit.r2 == pytest.approx(1.0)


def test_linear_fit_r2_drops_for_a_curve_and_unpacks():
    xs = np.linspace(-1, 1, 21)
    slope, intercept, r2 = costs.linear_fit(xs, xs ** 2)
    assert slope == pytest.approx(0.0, abs=1e-12)
    assert r2 == pytest.approx(0.0, abs=1e-12)


def test_linear_fit_constant_ys_is_a_perfect_fit():
    assert costs.linear_fit([1, 2, 3], [5, 5, 5]).r2 == 1.0


@pytest.mark.parametrize("xs, ys, exc, match", [
    ([1, 2, 3], [1, 2], ValueError, "ys"),
    ([1], [1], ValueError, "at least 2"),
    ([2, 2, 2], [1, 2, 3], ValueError, "distinct"),
    ([[1, 2], [3, 4]], [1, 2], ValueError, "xs"),
    ([1, np.nan], [1, 2], ValueError, "xs"),
    (["a", "b"], [1, 2], TypeError, "xs"),
])
def test_linear_fit_rejects_bad_input(xs, ys, exc, match):
    with pytest.raises(exc, match=match):
        costs.linear_fit(xs, ys)


# ---- memory ----------------------------------------------------------------------------

@pytest.mark.parametrize("cell", CELLS)
def test_full_bptt_memory_grows_linearly_in_T(cell):
    mem = costs.bptt_peak_memory([20, 80], N=8, D=2, H=16, cell=cell)
    assert mem.dtype == np.int64 and mem.shape == (2,)
    assert 3.0 <= mem[1] / mem[0] <= 5.0


def test_full_bptt_memory_is_proportional_to_N_times_H():
    T = [20, 40, 80]
    base = costs.linear_fit(T, costs.bptt_peak_memory(T, N=4, D=1, H=16)).slope
    double_n = costs.linear_fit(T, costs.bptt_peak_memory(T, N=8, D=1, H=16)).slope
    double_h = costs.linear_fit(T, costs.bptt_peak_memory(T, N=4, D=1, H=32)).slope
    assert 1.7 <= double_n / base <= 2.3
    assert 1.7 <= double_h / base <= 2.3


@pytest.mark.parametrize("cell", CELLS)
def test_truncated_bptt_memory_is_bounded_by_the_window(cell):
    T = [20, 80]
    full = costs.bptt_peak_memory(T, N=8, D=2, H=16, cell=cell)
    trunc = costs.bptt_peak_memory(T, N=8, D=2, H=16, cell=cell, truncate=5)
    assert trunc[1] / trunc[0] <= 1.5          # 4x longer sequence, about the same memory
    assert trunc[1] < full[1] / 3
    # what still grows is mostly dx (N, T, D), the size of the input: N * D * 8 bytes a step
    assert costs.linear_fit(T, trunc).slope < costs.linear_fit(T, full).slope / 10


def test_peak_memory_leaves_tracemalloc_as_it_found_it():
    assert not tracemalloc.is_tracing()
    costs.bptt_peak_memory([5], N=2, D=2, H=3)
    assert not tracemalloc.is_tracing()
    tracemalloc.start()
    try:
        costs.bptt_peak_memory([5], N=2, D=2, H=3, truncate=2)
        assert tracemalloc.is_tracing()
    finally:
        tracemalloc.stop()


# ---- time ------------------------------------------------------------------------------

@pytest.mark.parametrize("cell", CELLS[:3])          # timing is the same code for every cell
def test_time_is_positive_and_grows_with_T(cell):
    t = costs.bptt_time([10, 160], N=4, D=3, H=8, cell=cell, repeats=3, clock="cpu")
    assert t.shape == (2,) and t.dtype == np.float64
    assert np.all(np.isfinite(t)) and np.all(t > 0)
    assert t[1] > t[0]        # 16x the steps: slower in CPU time (wall time failed at load 20)


@pytest.mark.parametrize("clock", ["wall", "cpu"])
def test_both_clocks_see_longer_sequences_take_longer(clock):
    t = costs.bptt_time([10, 320], N=4, D=3, H=8, repeats=3, clock=clock)
    assert t.shape == (2,) and np.all(np.isfinite(t)) and np.all(t >= 0)
    assert t[1] > t[0]                          # 32x the steps; CPU time ignores other programs


def test_unknown_clock_is_named():
    with pytest.raises(ValueError, match="clock.*'gpu'"):
        costs.bptt_time([5], 2, 2, 3, clock="gpu")


# ---- validation ------------------------------------------------------------------------

@pytest.mark.parametrize("func", [costs.bptt_time, costs.bptt_peak_memory])
@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(T_values=[]), ValueError, "T_values"),
    (dict(T_values=[5, 0]), ValueError, r"T_values\[1\]"),
    (dict(T_values=[2.5]), TypeError, r"T_values\[0\]"),
    (dict(T_values=5), TypeError, "T_values"),
    (dict(T_values="10"), TypeError, "T_values"),
    (dict(N=0), ValueError, "N"),
    (dict(D=-1), ValueError, "D"),
    (dict(H=1.0), TypeError, "H"),
    (dict(cell="transformer"), ValueError, "cell"),
])
def test_bad_arguments_are_named(func, kwargs, exc, match):
    args = dict(T_values=[5], N=2, D=2, H=3)
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        func(**args)


def test_bad_repeats_and_truncate_are_named():
    with pytest.raises(ValueError, match="repeats"):
        costs.bptt_time([5], 2, 2, 3, repeats=0)
    with pytest.raises(ValueError, match="truncate"):
        costs.bptt_peak_memory([5], 2, 2, 3, truncate=0)
    with pytest.raises(TypeError, match="truncate"):
        costs.bptt_peak_memory([5], 2, 2, 3, truncate=2.0)
