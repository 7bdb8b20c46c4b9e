"""Graders of the exercises of notebook 06 (keys "06.k")."""
import numpy as np

from ..cells import layers
from ..remedies import optim
from ..cells import elman, gated_feedback
from ..experiments import depth
from .common import assert_close, assert_count, call_answer, fresh_cases, grader


def _count(fn, label, depths, want, what):
    """Check fn(D, H, depth) == want(D, H, depth) for each depth, at sizes D, H drawn afresh."""
    rng = fresh_cases()
    for depth in depths:
        args = (int(rng.integers(1, 33)), int(rng.integers(1, 65)), depth)
        assert_count(f"{label}{args}", call_answer(fn, *args), want(*args), what)


@grader("06.1")
def _bi_forward(bi_forward):
    rng = np.random.default_rng(61)
    for N, T, D, H in ((2, 5, 3, 4), (1, 1, 2, 3), (3, 7, 4, 2)):
        x = rng.standard_normal((N, T, D))
        p = layers.bidirectional_init("rnn", D, H, seed=int(rng.integers(1000)), rho=0.9)
        want = layers.bidirectional_forward("rnn", x, None, p)[0]
        assert_close(f"bi_forward(x, params_fwd, params_bwd) with (N, T, D, H) = {(N, T, D, H)}",
                     call_answer(bi_forward, x, p["fwd"], p["bwd"]), want)


@grader("06.2")
def _n_params_stacked(n_params_stacked):
    def want(D, H, M):
        return optim.n_params(layers.stacked_init("rnn", D, H, M))
    _count(n_params_stacked, "n_params_stacked", (1, 2, 4, 3), want,
           "the number of parameters of the stack")


@grader("06.3")
def _n_params_gf(n_params_gf):
    def want(D, H, L):
        return int(sum(np.prod(s) for s in gated_feedback.param_shapes(D, H, L=L).values()))
    _count(n_params_gf, "n_params_gf", (2, 1, 3, 2), want,
           "the number of parameters of the gated-feedback RNN")


@grader("06.4")
def _decay_rate(decay_rate):
    rng = np.random.default_rng(64)
    for shape in ((20,), (3, 15)):
        T = shape[-1]
        lags = np.arange(T)[::-1]
        y = rng.standard_normal(shape) - 0.2 * lags
        assert_close(f"decay_rate(log10_norms of shape {shape}, lags)",
                     call_answer(decay_rate, y, lags), depth.decay_rate(y, lags), rtol=1e-6)
