"""Graders of the exercises of notebook 05 (keys "05.k")."""
import functools

import numpy as np

from .. import cells, gradflow
from ..nn.activations import sigmoid
from .common import answered, assert_close, assert_count, call_answer, fresh_cases, grader

# ---- 05.1: parameter counts -------------------------------------------------------------


@grader("05.1")
def _n_params(n_params):
    rng = fresh_cases()
    for cell in ("rnn", "lstm", "gru"):
        for D, H in zip(rng.integers(1, 65, 3).tolist(), rng.integers(1, 129, 3).tolist()):
            want = sum(int(np.prod(s)) for s in cells.get(cell).param_shapes(D, H).values())
            assert_count(f"n_params({cell!r}, {D}, {H})", call_answer(n_params, cell, D, H),
                         want, f"the number of parameters of the {cell} cell")


# ---- 05.2: the forget bias that keeps a fraction p over T steps -------------------------

@grader("05.2")
def _forget_bias_for(forget_bias_for):
    for p, T in ((0.5, 10), (0.1, 100), (0.9, 1000), (0.01, 200)):
        b = float(call_answer(forget_bias_for, p, T))
        kept = float(sigmoid(np.float64(b))) ** T
        if not np.isclose(kept, p, rtol=1e-6):
            raise AssertionError(f"forget_bias_for({p}, {T}) = {b:.6g} keeps sigmoid(b)^T = "
                                 f"{kept:.6g} of the gradient, not {p}")


# ---- 05.3: one step of the cuDNN GRU ----------------------------------------------------

@grader("05.3")
def _cudnn_step(cudnn_step):
    for N, D, H, seed in ((3, 4, 5, 31), (1, 2, 3, 32)):
        params = cells.gru.init_params(D, H, seed=seed, form="cudnn")
        rng = np.random.default_rng(seed)
        for key in params:
            if key.startswith("b_"):
                params[key] = 0.5 * rng.standard_normal(H)
        x_t = rng.standard_normal((N, D))
        h_prev = np.tanh(rng.standard_normal((N, H)))
        want = cells.gru.step_forward(x_t, {"h": h_prev}, params, form="cudnn")[0]["h"]
        assert_close(f"cudnn_step(x_t, h_prev, params) with N, D, H = {N}, {D}, {H}",
                     call_answer(cudnn_step, x_t, h_prev, params), want, rtol=1e-9)


# ---- 05.4: the smallest forget bias that keeps the carousel alive -----------------------
# The answer is the pair (b, log10_norm_c[0, -1] at that b): an integer alone from 0 to 6
# could be found by trying, the norm it gives cannot.

EX4 = dict(T=500, H=32, rho=1.0, input_scale=1.0, biases=tuple(range(7)), above=-3.0)


@functools.lru_cache(maxsize=1)
def _smallest_bias():
    """(b, log10 ||dL/dC_0|| at b) for the smallest bias b above EX4["above"], or None."""
    for b in EX4["biases"]:
        s = gradflow.sweeps.sweep([EX4["rho"]], H=EX4["H"], T=EX4["T"],
                                  input_scale=EX4["input_scale"], cell="lstm",
                                  forget_bias=float(b))
        if s.log10_norm_c[0, -1] > EX4["above"]:
            return b, float(s.log10_norm_c[0, -1])
    return None


@grader("05.4")
def _smallest_forget_bias(answer):
    answer = answered(answer)
    shape = (f"expected a pair (b, log10_norm_c[0, -1] at that b) with b an integer from "
             f"{EX4['biases'][0]} to {EX4['biases'][-1]}, received")
    if not isinstance(answer, (tuple, list)) or len(answer) != 2:
        raise AssertionError(f"{shape} {type(answer).__name__} {answer!r}")
    b, norm = answer
    if isinstance(b, bool) or not isinstance(b, (int, np.integer)):
        raise AssertionError(f"{shape} b of type {type(b).__name__}")
    want_b, want_norm = _smallest_bias()
    # one message for every wrong pair: it must not tell whether b alone is right
    if b != want_b or not np.isclose(float(norm), want_norm, rtol=1e-6, atol=1e-9):
        raise AssertionError(f"({b}, {float(norm):.6g}) is not the smallest integer bias that "
                             f"keeps log10 ||dL/dC_0|| above {EX4['above']:g}, with the "
                             "log10 norm it gives")
