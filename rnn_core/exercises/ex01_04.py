"""Graders of the exercises of notebooks 01 to 04 (keys "01.k" to "04.k")."""
import numpy as np

from ..nn import activations, matrices, readout
from ..bptt import costs, gradcheck
from .. import gradflow
from ..cells import elman
from .common import (Unanswered, answered, assert_close, assert_count, call_answer,
                     fresh_cases, grader)


def _rnn(N, T, D, H, seed, activation="tanh"):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, T, D))
    h0 = 0.5 * rng.standard_normal((N, H))
    params = elman.init_params(D, H, seed=seed)
    return x, h0, params


# ---- notebook 01 ------------------------------------------------------------------------

@grader("01.1")
def _one_hot(one_hot):
    from ..training import corpus
    for text in ("hello world", "abcab"):
        chars, index = corpus.build_vocab(text)
        out = np.asarray(call_answer(one_hot, text))
        want = np.eye(len(chars))[corpus.encode(text, index)][None]
        assert_close(f"one_hot({text!r})", out, want)


@grader("01.2")
def _n_params(n_params):
    rng = fresh_cases()
    for D, H, O in rng.integers(1, 65, (3, 3)).tolist():
        want = sum(p.size for p in {**elman.init_params(D, H), **readout.init_affine(H, O)}.values())
        assert_count(f"n_params({D}, {H}, {O})", call_answer(n_params, D, H, O), want,
                     "the number of parameters of the RNN and its readout")


@grader("01.3")
def _no_memory(forward_without_memory):
    x, _, params = _rnn(3, 6, 4, 5, seed=11)
    want = elman.forward(x, {"h": np.zeros((3, 5))}, dict(params, W_h=np.zeros((5, 5))))[0]
    got = call_answer(forward_without_memory, x, params["W_x"], params["b"])
    assert_close("forward_without_memory(x, W_x, b)", got, want)


@grader("01.4")
def _fading(h_T):
    assert_close("h_T", np.ravel(answered(h_T))[-1:], [2 * (1 - 0.5 ** 30)], rtol=1e-9)


@grader("01.5")
def _classify(classify):
    x, h0, params = _rnn(2, 5, 3, 4, seed=12)
    ro = readout.init_affine(4, 2, seed=13)
    h = elman.forward(x, {"h": np.zeros((2, 4))}, params)[0]
    assert_close("classify(x, params, readout)", call_answer(classify, x, params, ro),
                 readout.affine_forward(h[:, -1], ro)[0])


# ---- notebook 02 ------------------------------------------------------------------------

@grader("02.1")
def _jacobian_product(jacobian_product):
    W = np.array([[0.5, 1.0], [0.0, 0.5]])
    assert_close("jacobian_product(W, ones)", call_answer(jacobian_product, W, np.ones((10, 2))),
                 np.linalg.matrix_power(W, 10))
    rng = np.random.default_rng(21)
    W, fp = rng.standard_normal((3, 3)), rng.uniform(0, 1, (4, 3))
    want = np.eye(3)
    for row in fp:
        want = np.diag(row) @ W @ want
    assert_close("jacobian_product(W, fprimes)", call_answer(jacobian_product, W, fp), want)


def _deltas(dh, h, W_h):
    """dL/dh_k for every k by the backward recursion, tanh units."""
    deltas, nxt = np.zeros_like(h), np.zeros_like(h[:, 0])
    for t in reversed(range(h.shape[1])):
        deltas[:, t] = dh[:, t] + nxt
        nxt = (deltas[:, t] * (1 - h[:, t] ** 2)) @ W_h
    return deltas


@grader("02.2")
def _dL_dh(dL_dh):
    x, h0, params = _rnn(3, 6, 4, 5, seed=22)
    h = elman.forward(x, {"h": h0}, params)[0]
    dh = np.random.default_rng(23).standard_normal(h.shape)
    deltas = _deltas(dh, h, params["W_h"])
    for k in range(h.shape[1]):
        assert_close(f"dL_dh({k}, ...)", call_answer(dL_dh, k, dh, h, params["W_h"]), deltas[:, k])


@grader("02.3")
def _average(grads_average):
    from ..nn import losses
    x, h0, params = _rnn(3, 6, 4, 5, seed=24)
    ro = readout.init_affine(5, 3, seed=25)
    targets = np.random.default_rng(26).integers(0, 3, size=(3, 6))
    h, _, cache = elman.forward(x, {"h": h0}, params)
    y, yc = readout.affine_forward(h, ro)
    _, dy = losses.softmax_cross_entropy(y, targets)
    grads = elman.backward(readout.affine_backward(dy, yc)[0], cache)[2]
    got = call_answer(grads_average, x, h0, targets, params, ro)
    for name in ("W_h", "W_x", "b"):
        assert_close(f"T * grads_average(...)[{name!r}]", 6 * np.asarray(got[name]), grads[name])


@grader("02.4")
def _zero_steps(zero_steps):
    rng = fresh_cases()
    k, m = int(rng.integers(2, 21)), int(rng.integers(1, 11))
    # T a multiple of k, one more, T = k, and any T: the windows' edges and the cases between
    for T, k in ((m * k, k), (m * k + 1, k), (k, k), (int(rng.integers(2, 201)), k)):
        assert_count(f"zero_steps({T}, {k})", call_answer(zero_steps, T, k), k * ((T - 1) // k),
                     "the number of steps whose carried gradient truncation zeroes")


@grader("02.5")
def _memory(predicted_peak_1600):
    got = float(answered(predicted_peak_1600))
    measured = float(costs.bptt_peak_memory([1600], 16, 8, 32)[0])
    if abs(got - measured) > 0.05 * measured:
        raise AssertionError(f"predicted {got:.4g} bytes, more than 5% from the measured peak")


@grader("02.6")
def _step_backward_and_bptt(functions):
    """functions = (step_forward, step_backward, bptt): a sigmoid RNN without bias."""
    step_forward, step_backward, bptt = answered(functions)
    rng = np.random.default_rng(27)
    N, T, D, H = 3, 5, 4, 6
    x, h0 = rng.standard_normal((N, T, D)), 0.5 * rng.standard_normal((N, H))
    W_h, W_x = 0.5 * rng.standard_normal((H, H)), 0.5 * rng.standard_normal((H, D))
    w = rng.standard_normal((N, T, H))              # L = sum_t w_t . h_t, so dL/dh_t = w_t

    def forward():
        h, caches, prev = np.zeros((N, T, H)), [], h0
        for t in range(T):
            prev, cache = step_forward(x[:, t], prev, W_h, W_x)
            h[:, t] = prev
            caches.append(cache)
        return h, caches

    h, caches = forward()
    sig = activations.get("sigmoid").f
    want_h, prev = np.zeros_like(h), h0
    for t in range(T):
        prev = sig(prev @ W_h.T + x[:, t] @ W_x.T)
        want_h[:, t] = prev
    assert_close("step_forward's states", h, want_h)
    grads = answered(bptt(w, caches))
    dx, dh0, dW_h, dW_x = grads
    errors = gradcheck.check_gradients(lambda: float(np.sum(w * forward()[0])),
                                       {"x": x, "h0": h0, "W_h": W_h, "W_x": W_x},
                                       {"x": dx, "h0": dh0, "W_h": dW_h, "W_x": dW_x})
    bad = {k: v for k, v in errors.items() if not v < 1e-7}
    if bad:
        raise AssertionError("gradient check failed (relative errors "
                             + ", ".join(f"{k} {v:.1e}" for k, v in bad.items()) + ")")


# ---- notebook 03 ------------------------------------------------------------------------

def _matrices():
    for fam in ("orthogonal", "gaussian", "nonnormal"):
        for rho in (0.2, 0.9, 1.1, 3.0, 5.0):
            yield fam, rho, matrices.family(fam, 16, rho, seed=31)


@grader("03.1")
def _guaranteed(guaranteed_to_vanish):
    for fam, rho, W in _matrices():
        for act in ("sigmoid", "tanh", "relu", "linear"):
            want = matrices.sigma_max(W) < 1.0 / activations.gamma(act)
            got = call_answer(guaranteed_to_vanish, W, act)
            if bool(got) != want:
                raise AssertionError(f"{act}, {fam} W_h at rho = {rho}: expected {want}, "
                                     f"received {got}")


def _state(bias):
    from ..experiments.vanishing import state_statistics
    return state_statistics(12.0, "sigmoid", input_scale=0.01, bias=bias, T=200, seed=0)


@grader("03.2")
def _sigmoid_bias(answer):
    """answer = (rate_no_bias, rate_bias, estimate_no_bias, estimate_bias)."""
    got = np.asarray(answered(answer), dtype=float)
    a, b = _state(0.0), _state(-2.0)
    assert_close("(rate_no_bias, rate_bias, estimate_no_bias, estimate_bias)", got,
                 [a["rate"], b["rate"], a["rms_estimate"], b["rms_estimate"]], rtol=0, atol=5e-3)


@grader("03.3")
def _transient(W):
    W = np.asarray(answered(W), dtype=float)
    if W.shape != (2, 2):
        raise AssertionError(f"W: expected shape (2, 2), received {W.shape}")
    rho = matrices.spectral_radius(W)
    if abs(rho - 0.5) > 1e-6:
        raise AssertionError(f"spectral radius: expected 0.5, received {rho:.6g}")
    if not gradflow.jacobians.transient_growth(W, 5)[5] > 1.0:
        raise AssertionError("||W^5||_2 is not above 10")


@grader("03.4")
def _exact(answer_4):
    from ..experiments.vanishing import commutation_gap
    name = answered(answer_4)
    if name not in ("sigmoid", "tanh", "relu", "linear"):
        raise AssertionError(f"expected an activation name, received {name!r}")
    for order in ("notes", "blog"):
        if commutation_gap(activation=name, family="gaussian", order=order)["gap"].max() > 1e-12:
            raise AssertionError(f"with {name} the step is not exact ({order} order)")


# ---- notebook 04 ------------------------------------------------------------------------

@grader("04.1")
def _peak(answer):
    gamma, a_peak = (float(v) for v in answered(answer))
    if abs(gamma - 0.25) > 5e-7 or abs(a_peak) > 1e-3:
        raise AssertionError("gamma_sigmoid or a_peak is not where sigma' is largest")


@grader("04.2")
def _s_half(s_half):
    s = float(answered(s_half))
    lo, hi = 0.01, 10.0                       # E|tanh'| falls with s: bisect for 0.5
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if activations.mean_abs_derivative("tanh", 0.0, mid) >= 0.5 else (lo, mid)
    if float(f"{lo:.2g}") != float(f"{s:.2g}"):
        raise AssertionError(f"s_half = {s:.2g} is not the largest spread with E|f'| >= 0.5")


@grader("04.3")
def _relu_vs_tanh(answer):
    """answer = (relu_factors, tanh_factors) at spreads 0.1, 1, 10 (mean 0)."""
    relu, tanh = answered(answer)
    spreads = (0.1, 1.0, 10.0)
    for name, got in (("relu", relu), ("tanh", tanh)):
        assert_close(f"{name}_factors", got, [activations.mean_abs_derivative(name, 0.0, s)
                                              for s in spreads], rtol=1e-3, atol=1e-4)


@grader("04.4")
def _cancellation(answer):
    W, D1, D2 = (np.asarray(a, dtype=float) for a in answered(answer))
    for name, D in (("D1", D1), ("D2", D2)):
        if D.shape != (2, 2) or not np.array_equal(D, np.diag(np.diag(D))) or \
                not np.isin(np.diag(D), (0.0, 1.0)).all():
            raise AssertionError(f"{name}: expected a 0/1 diagonal 2 x 2 matrix")
    P = D2 @ W @ D1 @ W
    if not (np.abs(P) > np.abs(W @ W) * (1 + 1e-12)).any():
        raise AssertionError("no entry of |D2 W D1 W| exceeds |W^2|")
    if not (np.abs(P) <= np.linalg.matrix_power(np.abs(W), 2) * (1 + 1e-12)).all():
        raise AssertionError("the path bound |D2 W D1 W| <= |W|^2 fails")
