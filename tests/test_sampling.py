"""Tests for training.sampling and experiments.sampling (notebook 08): text from the
character language model."""
import numpy as np
import pytest

from rnn_core.experiments import sampling as ex
from rnn_core.training import language as lm
from rnn_core.training import sampling, tasks


def test_temperature_zero_is_the_argmax_and_ignores_the_seed():
    chars = tasks.text_ids()[0]
    p = lm.init_lm("gru", len(chars), 8, seed=1)
    a = sampling.sample("gru", p, chars, 40, "The ", 0.0, seed=1)
    assert a == sampling.sample("gru", p, chars, 40, "The ", 0.0, seed=2)
    assert sampling.sample("gru", p, chars, 40, "The ", 1.0, seed=1) != sampling.sample("gru", p, chars, 40, "The ", 1.0, seed=2)
    np.testing.assert_array_equal(sampling.temperature_softmax([1.0, 3.0, 2.0], 0), [0, 1, 0])
    np.testing.assert_allclose(sampling.temperature_softmax([0.0, np.log(3)], 1.0), [0.25, 0.75])
    np.testing.assert_allclose(sampling.temperature_softmax([0.0, np.log(3)], 0.5), [0.1, 0.9])
    with pytest.raises(ValueError, match="prime"):
        sampling.sample("gru", p, chars, 5, "\u00e9", 1.0)
    with pytest.raises(ValueError, match="temperature"):
        sampling.sample("gru", p, chars, 5, "a", -1.0)


def test_first_repeat_finds_the_period():
    assert ex.first_repeat("xyz" + "abc" * 20) == 3
    assert ex.first_repeat("abcdefghijklmnopqrstuvwxyz") is None


def test_known_word_share_counts_the_words_of_the_reference():
    vocab = set(ex.words("The cat sat, on the mat.\n"))
    assert vocab == {"The", "cat", "sat", "on", "the", "mat"}
    assert ex.known_word_share("the dog sat|on xqz", vocab) == pytest.approx(3 / 5)
    assert ex.known_word_share(" ,;. 12", vocab) == 0.0
    with pytest.raises(TypeError, match="vocabulary"):
        ex.known_word_share("the", ["the"])
    with pytest.raises(TypeError, match="text"):
        ex.words(3)
