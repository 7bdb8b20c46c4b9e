"""The shipped corpus and the character-level batching."""
import hashlib

import numpy as np
import pytest

from rnn_core.training import corpus

SHA256 = "801176734df97a0bae43c7b75a4a1e250bbd2f935ec8fc0f8cd06a286831b99c"   # data/README.md


def test_shipped_text_is_the_documented_file():
    text = corpus.load()
    assert corpus.names() == ["pride_and_prejudice_vol1"]
    assert hashlib.sha256(text.encode("utf-8")).hexdigest() == SHA256
    assert text.startswith("PRIDE AND PREJUDICE") and "It is a truth universally acknowledged" in text
    assert len(text.encode("utf-8")) <= 300_000
    with pytest.raises(ValueError, match="name"):
        corpus.load("moby_dick")


def test_vocab_round_trip():
    text = corpus.load()
    chars, index = corpus.build_vocab(text)
    assert chars == sorted(set(text)) and len(chars) == 74
    ids = corpus.encode(text, index)
    assert ids.dtype == np.int64 and ids.shape == (len(text),)
    assert corpus.decode(ids, chars) == text
    assert corpus.decode([index["a"], index["b"]], chars) == "ab"
    with pytest.raises(ValueError, match="text.*unknown"):
        corpus.encode("a\u00e9", index)
    with pytest.raises(ValueError, match="text"):
        corpus.build_vocab("")


def test_consecutive_windows_are_shifted_by_one():
    ids = np.arange(100, dtype=np.int64)
    inputs, targets = corpus.windows(ids, N=3, T=5, offset=10)
    assert inputs.shape == targets.shape == (3, 5)
    np.testing.assert_array_equal(inputs[1], [15, 16, 17, 18, 19])
    np.testing.assert_array_equal(targets, inputs + 1)


def test_random_windows_are_seeded_and_in_range():
    ids = np.arange(50, dtype=np.int64)
    a, ta = corpus.windows(ids, 20, 7, seed=3)
    b, _ = corpus.windows(ids, 20, 7, seed=3)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ta, a + 1)
    assert ta.max() <= 49


def test_empty_windows_raise_naming_the_argument():
    ids = np.arange(10, dtype=np.int64)
    with pytest.raises(ValueError, match="T"):
        corpus.windows(ids, 2, 0)
    with pytest.raises(ValueError, match="N"):
        corpus.windows(ids, 0, 3)
    with pytest.raises(ValueError, match=r"ids: expected at least offset \+ N \* T \+ 1 = 11"):
        corpus.windows(ids, 2, 5)
    with pytest.raises(ValueError, match=r"ids: expected at least T \+ 1 = 11"):
        corpus.windows(ids, 2, 10, seed=0)
    with pytest.raises(TypeError, match="ids"):
        corpus.windows(np.arange(10.0), 2, 3)


def test_split():
    ids = np.arange(100, dtype=np.int64)
    train, val = corpus.split(ids, 0.2)
    assert len(train) == 80 and len(val) == 20 and val[0] == 80
    with pytest.raises(ValueError, match="val_fraction"):
        corpus.split(ids, 1.0)
