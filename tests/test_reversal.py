"""Tests for experiments.reversal (notebook 08): the encoder-decoder on string reversal.
Its exact BPTT is proven in tests/test_seq2seq.py."""
import numpy as np

from rnn_core.experiments import reversal


def test_reversal_and_exposure_bias_agree_at_the_first_position():
    source, target = reversal.reverse_strings(5, 4, 3, seed=0)
    np.testing.assert_array_equal(target, source[:, ::-1])
    run = reversal.train_seq2seq(S=4, K=3, D=4, H=8, N=8, steps=5, seed=0)
    bias = reversal.exposure_bias(run.params, S=4, K=3, N=50, seed=1)
    assert bias["teacher forced"][0] == bias["free running"][0]
    acc = bias["sequence accuracy"]
    assert acc["teacher forced"] == acc["free running"]
