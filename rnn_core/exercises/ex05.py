"""Graders of the exercises of notebook 05 (keys "05.k")."""
import functools

import numpy as np

from .. import cells, gradflow
from ..nn.activations import sigmoid
from .common import call_answer, assert_close, answered, grader

# ---- 05.1: parameter counts -------------------------------------------------------------


@grader("05.1")
def _n_params(n_params):
    for cell in ("rnn", "lstm", "gru"):
        for D, H in ((1, 1), (4, 8), (27, 64), (3, 50)):
            want = sum(int(np.prod(s)) for s in cells.get(cell).param_shapes(D, H).values())
            got = call_answer(n_params, cell, D, H)
            if got != want:
                raise AssertionError(f"n_params({cell!r}, {D}, {H}): expected {want}, received {got}")


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

EX4 = dict(T=500, H=32, rho=1.0, input_scale=1.0, biases=tuple(range(7)), above=-3.0)


@functools.lru_cache(maxsize=1)
def _smallest_bias():
    for b in EX4["biases"]:
        s = gradflow.sweeps.sweep([EX4["rho"]], H=EX4["H"], T=EX4["T"],
                                  input_scale=EX4["input_scale"], cell="lstm",
                                  forget_bias=float(b))
        if s.log10_norm_c[0, -1] > EX4["above"]:
            return b
    return None


@grader("05.4")
def _smallest_forget_bias(b):
    b = answered(b)
    want = _smallest_bias()
    if b != want:
        raise AssertionError(f"expected an integer from {EX4['biases'][0]} to "
                             f"{EX4['biases'][-1]}, and {b!r} is not the smallest one "
                             f"that keeps log10 ||dL/dC_0|| above {EX4['above']:g}")
