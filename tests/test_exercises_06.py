"""Notebook 06's graders: a reference answer passes, a wrong one and the placeholder do not."""
import numpy as np
import pytest

from rnn_core import exercises
from rnn_core.cells import elman


def bi_forward(x, params_fwd, params_bwd):
    h_f = elman.forward(x, None, params_fwd)[0]
    h_b = elman.forward(x[:, ::-1], None, params_bwd)[0][:, ::-1]
    return np.concatenate([h_f, h_b], axis=2)


def n_params_stacked(D, H, M):
    return (H * D + H * H + H) + (M - 1) * (2 * H * H + H)


def n_params_gf(D, H, L):
    W = H * D + (L - 1) * H * H                  # W^{j-1->j}
    U = L * L * H * H                            # U^{i->j}, every pair
    w_g = L * (D + (L - 1) * H)                  # one w_g^{i->j} of size H_{j-1} per pair
    u_g = L * L * (L * H)                        # one u_g^{i->j} of size S = L H per pair
    return W + U + w_g + u_g + L * H


def decay_rate(log10_norms, lags):
    y = np.asarray(log10_norms) * np.log(10.0)
    return np.polyfit(lags, y.T, 1)[0]


REFERENCE = {"06.1": bi_forward, "06.2": n_params_stacked, "06.3": n_params_gf,
             "06.4": decay_rate}
WRONG = {
    "06.1": lambda x, pf, pb: np.concatenate([elman.forward(x, None, pf)[0],
                                              elman.forward(x[:, ::-1], None, pb)[0]], axis=2),
    "06.2": lambda D, H, M: M * (H * D + H * H + H),      # every layer reading x
    "06.3": lambda D, H, L: n_params_gf(D, H, L) - L * L * L * H,   # the u_g forgotten
    "06.4": lambda y, lags: np.polyfit(lags, np.asarray(y).T, 1)[0],   # log10, not ln
}


@pytest.mark.parametrize("key", sorted(REFERENCE))
def test_a_reference_answer_passes(key):
    assert exercises.grade(key, REFERENCE[key]) == "correct"


@pytest.mark.parametrize("key", sorted(WRONG))
def test_a_wrong_answer_fails(key):
    assert exercises.grade(key, WRONG[key]).startswith("wrong: ")


@pytest.mark.parametrize("key", sorted(REFERENCE))
def test_a_placeholder_is_not_answered_yet(key):      # the answer cells' placeholder
    assert exercises.grade(key, lambda *args: None) == "not answered yet"


def test_a_count_must_be_an_int():
    assert "expected an int" in exercises.grade("06.2", lambda D, H, M: float(
        n_params_stacked(D, H, M)))
