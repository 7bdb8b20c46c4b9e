"""Notebook 05's graders: a reference answer passes, a wrong one and the placeholder do not."""
import json
import re
from pathlib import Path

import numpy as np
import pytest

from rnn_core import cells, exercises, gradflow
from rnn_core.nn.activations import sigmoid

ROOT = Path(__file__).resolve().parents[1]


def n_params(cell, D, H):
    gates = {"rnn": 1, "lstm": 4, "gru": 3}[cell]
    return gates * (H * H + H * D + H)


def forget_bias_for(p, T):
    q = p ** (1.0 / T)
    return float(np.log(q / (1 - q)))


def cudnn_step(x_t, h_prev, P):
    r = sigmoid(x_t @ P["W_ir"].T + P["b_ir"] + h_prev @ P["W_hr"].T + P["b_hr"])
    z = sigmoid(x_t @ P["W_iz"].T + P["b_iz"] + h_prev @ P["W_hz"].T + P["b_hz"])
    n = np.tanh(x_t @ P["W_in"].T + P["b_in"] + r * (h_prev @ P["W_hn"].T + P["b_hn"]))
    return (1 - z) * n + z * h_prev


def cudnn_step_sources_reset(x_t, h_prev, P):        # the reset before the matrix: wrong here
    r = sigmoid(x_t @ P["W_ir"].T + P["b_ir"] + h_prev @ P["W_hr"].T + P["b_hr"])
    z = sigmoid(x_t @ P["W_iz"].T + P["b_iz"] + h_prev @ P["W_hz"].T + P["b_hz"])
    n = np.tanh(x_t @ P["W_in"].T + P["b_in"] + (r * h_prev) @ P["W_hn"].T + P["b_hn"])
    return (1 - z) * n + z * h_prev


CASES = {
    "05.1": (n_params, lambda cell, D, H: 4 * H * (H + D)),          # forgot the biases
    "05.2": (forget_bias_for, lambda p, T: float(np.log(p / (1 - p)))),   # forgot the T steps
    "05.3": (cudnn_step, cudnn_step_sources_reset),
    "05.4": ((3, float(gradflow.sweeps.sweep([1.0], H=32, T=500, input_scale=1.0, cell="lstm",
                                             forget_bias=3.0).log10_norm_c[0, -1])),
             (3, -3.0)),                          # the right bias, a guessed norm
}


@pytest.mark.parametrize("key", sorted(CASES))
def test_reference_passes_and_wrong_answer_fails(key):
    right, wrong = CASES[key]
    assert exercises.grade(key, right) == "correct"
    assert exercises.grade(key, wrong).startswith("wrong: ")


@pytest.mark.parametrize("key", sorted(CASES))
def test_placeholder_is_not_answered(key):
    placeholder = None if key == "05.4" else (lambda *a: None)
    assert exercises.grade(key, placeholder) == "not answered yet"


def test_notebook_has_one_unanswered_cell_per_grader():
    nb = json.loads((ROOT / "notebooks" / "05_lstm_gru.ipynb").read_text())
    keys = []
    for cell in nb["cells"]:
        src = "".join(cell["source"])
        m = re.search(r'rc\.exercises\.(?:common\.)?check\("(05\.\d+)"', src)
        if m and cell["cell_type"] == "code":
            keys.append(m.group(1))
            text = "".join("".join(o.get("text", [])) for o in cell.get("outputs", []))
            assert text.strip() == f"exercise {m.group(1)}: not answered yet"
    assert sorted(keys) == sorted(k for k in exercises.GRADERS if k.startswith("05."))
