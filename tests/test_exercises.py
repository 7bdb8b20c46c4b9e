"""Every exercise of the notebooks can be graded: a reference answer passes its grader, a
wrong one and the answer cell's placeholder do not, and each notebook has one answer cell
per grader (which never prints the answer)."""
import json
import re
from pathlib import Path

import numpy as np
import pytest

import rnn_core as rc
from rnn_core.nn import activations, losses, readout
from rnn_core.bptt import costs
from rnn_core import exercises, experiments
from rnn_core.cells import elman

ROOT = Path(__file__).resolve().parents[1]


# ---- reference answers ----------------------------------------------------------------

def one_hot(text):
    chars, index = rc.training.corpus.build_vocab(text)
    return np.eye(len(chars))[rc.training.corpus.encode(text, index)][None]


def n_params(D, H, O):
    return H * H + H * D + H + O * H + O


def forward_without_memory(x, W_x, b):
    return np.tanh(x @ W_x.T + b)


def h_T_value():
    p = {"W_h": np.array([[0.5]]), "W_x": np.array([[1.0]]), "b": np.zeros(1)}
    h, _, _ = elman.forward(np.ones((1, 30, 1)), {"h": np.zeros((1, 1))}, p, activation="linear")
    return float(h[0, -1, 0])


def classify(x, params, ro):
    h, _, _ = elman.forward(x, {"h": np.zeros((x.shape[0], params["W_h"].shape[0]))}, params)
    return readout.affine_forward(h[:, -1], ro)[0]


def jacobian_product(W_h, fprimes):
    J = np.eye(W_h.shape[0])
    for f in fprimes:
        J = (f[:, None] * W_h) @ J
    return J


def dL_dh(k, dh, h, W_h):
    out = np.zeros_like(h[:, 0])
    for t in range(k, h.shape[1]):
        for n in range(h.shape[0]):
            Jn = np.eye(W_h.shape[0])
            for i in range(k + 1, t + 1):
                Jn = np.diag(1 - h[n, i] ** 2) @ W_h @ Jn
            out[n] += Jn.T @ dh[n, t]
    return out


def grads_average(x, h0, targets, params, ro):
    h, _, cache = elman.forward(x, {"h": h0}, params)
    y, yc = readout.affine_forward(h, ro)
    _, dy = losses.softmax_cross_entropy(y, targets)
    grads = elman.backward(readout.affine_backward(dy, yc)[0], cache)[2]
    return {k: v / x.shape[1] for k, v in grads.items()}


def zero_steps(T, k):
    p = elman.init_params(2, 3, seed=0)
    _, _, cache = elman.forward(np.ones((1, T, 2)), {"h": np.zeros((1, 3))}, p)
    dh = np.zeros((1, T, 3))
    dh[0, -1] = 1.0
    dx, _, _ = elman.backward(dh, cache, truncate=k)
    return int(np.sum(np.all(dx[0] == 0, axis=1)))


def step_forward(x_t, h_prev, W_h, W_x):
    h_t = 1 / (1 + np.exp(-(h_prev @ W_h.T + x_t @ W_x.T)))
    return h_t, (x_t, h_prev, h_t, W_h, W_x)


def step_backward(dh_t, cache):
    x_t, h_prev, h_t, W_h, W_x = cache
    g = dh_t * h_t * (1 - h_t)
    return g @ W_x, g @ W_h, g.T @ h_prev, g.T @ x_t


def bptt(dh, caches):
    N, T, H = dh.shape
    dx = np.zeros((N, T, caches[0][0].shape[1]))
    dW_h, dW_x = np.zeros((H, H)), np.zeros_like(caches[0][4])
    carry = np.zeros((N, H))
    for t in reversed(range(T)):
        dx[:, t], carry, a, b = step_backward(dh[:, t] + carry, caches[t])
        dW_h += a
        dW_x += b
    return dx, carry, dW_h, dW_x


def guaranteed_to_vanish(W_h, activation):
    return rc.nn.matrices.sigma_max(W_h) < 1 / activations.gamma(activation)


def sigmoid_answer():
    a = experiments.vanishing.state_statistics(12.0, "sigmoid", input_scale=0.01, bias=0.0)
    b = experiments.vanishing.state_statistics(12.0, "sigmoid", input_scale=0.01, bias=-2.0)
    return a["rate"], b["rate"], a["rms_estimate"], b["rms_estimate"]


def s_half_value():
    s = np.linspace(0.5, 3, 25001)
    ok = [activations.mean_abs_derivative("tanh", 0.0, v) >= 0.5 for v in s[::50]]
    return float(s[::50][np.flatnonzero(ok)[-1]])


REFERENCE = {
    "01.1": one_hot, "01.2": n_params, "01.3": forward_without_memory, "01.4": h_T_value(),
    "01.5": classify,
    "02.1": jacobian_product, "02.2": dL_dh, "02.3": grads_average, "02.4": zero_steps,
    "02.6": (step_forward, step_backward, bptt),
    "03.1": guaranteed_to_vanish, "03.2": sigmoid_answer(),
    "03.3": np.array([[0.5, 200.0], [0.0, 0.5]]), "03.4": "linear",
    "04.1": (0.25, 0.0), "04.2": s_half_value(),
    "04.3": ([activations.mean_abs_derivative("relu", 0, s) for s in (0.1, 1, 10)],
             [activations.mean_abs_derivative("tanh", 0, s) for s in (0.1, 1, 10)]),
    "04.4": (np.array([[1.0, 1.0], [1.0, -1.0]]), np.diag([1.0, 0.0]), np.eye(2)),
}

WRONG = {
    "01.1": lambda text: np.zeros((1, len(text), 3)), "01.2": lambda D, H, O: H * H,
    "01.3": lambda x, W_x, b: x @ W_x.T, "01.4": 1.0, "01.5": lambda x, p, r: np.zeros((2, 2)),
    "02.1": lambda W, f: np.linalg.matrix_power(W, len(f)).T,
    "02.2": lambda k, dh, h, W: dh[:, k], "02.3": lambda *a: grads_average(*a) | {"b": 0 * grads_average(*a)["b"]},
    "02.4": lambda T, k: T - k,
    "02.6": (step_forward, lambda dh, c: (*step_backward(dh, c)[:2], 0 * c[3], step_backward(dh, c)[3]),
             None),
    "03.1": lambda W, a: rc.nn.matrices.spectral_radius(W) < 1 / activations.gamma(a),
    "03.2": (0.0, 0.0, 0.0, 0.0), "03.3": np.array([[0.5, 2.0], [0.0, 0.5]]), "03.4": "tanh",
    "04.1": (0.25, 1.0), "04.2": 3.0, "04.3": ([0.5] * 3, [1.0] * 3),
    "04.4": (np.array([[1.0, 1.0], [1.0, 1.0]]), np.eye(2), np.eye(2)),
}


@pytest.mark.parametrize("key", sorted(REFERENCE))
def test_a_reference_answer_passes(key):
    assert exercises.grade(key, REFERENCE[key]) == "correct"


@pytest.mark.parametrize("key", sorted(WRONG))
def test_a_wrong_answer_fails(key):
    wrong = WRONG[key]
    if key == "02.6":           # one wrong gradient inside an otherwise right BPTT
        wrong = (step_forward, None, lambda dh, caches: (lambda r: (r[0], r[1], 0 * r[2], r[3]))(
            bptt(dh, caches)))
    assert exercises.grade(key, wrong).startswith("wrong: ")


# Notebooks 05 to 08 test their graders in tests/test_exercises_NN.py, placeholders included.
@pytest.mark.parametrize("key", sorted(k for k in exercises.GRADERS if k < "05"))
def test_a_placeholder_is_not_answered_yet(key):
    placeholder = {"02.6": (step_forward, lambda *a: None, lambda *a: None)}.get(key)
    if placeholder is None:
        placeholder = None if key in ("01.4", "02.5", "03.2", "03.3", "03.4", "04.1", "04.2",
                                      "04.3", "04.4") else (lambda *args: None)
    assert exercises.grade(key, placeholder) == "not answered yet"


def test_memory_prediction_from_the_fit():
    fit = costs.linear_fit([25, 50, 100, 200, 400],
                           costs.bptt_peak_memory([25, 50, 100, 200, 400], 16, 8, 32))
    assert exercises.grade("02.5", fit.slope * 1600 + fit.intercept) == "correct"
    assert exercises.grade("02.5", 2 * (fit.slope * 1600 + fit.intercept)).startswith("wrong")


def test_every_grader_has_an_answer_cell_and_no_cell_prints_an_answer():
    keys = set()
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            src = "".join(cell["source"])
            if cell["cell_type"] != "code":
                continue
            for key in re.findall(r'rc\.exercises\.(?:common\.)?check\("(\d\d\.\d)"', src):
                assert key.startswith(path.name[:2]), (path.name, key)
                keys.add(key)
                text = "".join("".join(o.get("text", "")) for o in cell["outputs"])
                assert f"exercise {key}: not answered yet" in text, (path.name, key, text)
    assert keys == set(exercises.GRADERS)


def test_unknown_key():
    with pytest.raises(ValueError, match="key: expected one of"):
        exercises.grade("09.9", None)
