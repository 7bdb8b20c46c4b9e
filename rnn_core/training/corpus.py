"""The character corpus for the language model: load, vocabulary, encode/decode, batches.

The shipped text is Volume I of Pride and Prejudice (public domain; provenance in
rnn_core/data/README.md). Shapes: a text encodes to ids (L,) int64; a batch of windows is
inputs (N, T) and targets (N, T) int64, where targets are the inputs shifted by one
character (the next character to predict at every step).
"""
from pathlib import Path

import numpy as np

from ..validate import check_indices
from ..validate import check_int

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
DEFAULT = "pride_and_prejudice_vol1"


def names():
    """The texts that ship with the package (file names in rnn_core/data without .txt)."""
    return sorted(p.stem for p in DATA_DIR.glob("*.txt"))


def load(name=None):
    """The text `name` (default: Pride and Prejudice, Volume I) as one str."""
    name = DEFAULT if name is None else name
    if name not in names():
        raise ValueError(f"name: expected one of {names()}, received {name!r}")
    return (DATA_DIR / f"{name}.txt").read_text(encoding="utf-8")


def _check_text(name, text):
    if not isinstance(text, str):
        raise TypeError(f"{name}: expected a str, received {type(text).__name__}")
    return text


def build_vocab(text):
    """The sorted distinct characters of `text` and their ids: (chars list, {char: id})."""
    _check_text("text", text)
    if not text:
        raise ValueError("text: expected a non-empty string, received ''")
    chars = sorted(set(text))
    return chars, {c: i for i, c in enumerate(chars)}


def encode(text, index):
    """Character ids (L,) int64 of `text` under the vocabulary `index` {char: id}."""
    _check_text("text", text)
    if not isinstance(index, dict):
        raise TypeError(f"index: expected a dict {{char: id}}, received {type(index).__name__}")
    unknown = sorted(set(text) - set(index))
    if unknown:
        raise ValueError(f"text: expected only characters of the vocabulary, received "
                         f"{len(unknown)} unknown: {unknown[:10]!r}")
    return np.fromiter((index[c] for c in text), dtype=np.int64, count=len(text))


def decode(ids, chars):
    """The string of the ids (any shape is flattened) under the vocabulary `chars`."""
    if isinstance(ids, (list, tuple)):
        ids = np.asarray(ids, dtype=np.int64)
    ids = check_indices("ids", ids, high=len(chars))
    return "".join(chars[i] for i in ids.reshape(-1))


def check_fraction(name, value):
    """A number strictly between 0 and 1 (a fraction of the text)."""
    if isinstance(value, bool) or not isinstance(value, (float, int)) or not 0 < value < 1:
        raise ValueError(f"{name}: expected a number in (0, 1), received {value!r}")
    return float(value)


def split(ids, val_fraction=0.1):
    """Contiguous split: (train ids, validation ids), validation being the last fraction."""
    check_indices("ids", ids, (None,))
    check_fraction("val_fraction", val_fraction)
    cut = len(ids) - max(1, int(round(len(ids) * val_fraction)))
    if cut < 1:
        raise ValueError(f"ids: expected at least 2 ids to split, received {len(ids)}")
    return ids[:cut], ids[cut:]


def windows(ids, N, T, seed=None, offset=0):
    """A batch of N windows of T characters and their next characters.

    seed=None: consecutive windows starting at offset, offset + T, ... (for a sweep through
    the text, e.g. validation, or truncated BPTT that carries the state across batches when
    offset advances by N * T); an int seed (or a numpy Generator): N start positions drawn
    uniformly at random.
    Returns (inputs (N, T), targets (N, T)) with targets[:, t] = ids[start + t + 1].
    """
    check_indices("ids", ids, (None,))
    N = check_int("N", N, low=1)
    T = check_int("T", T, low=1)
    offset = check_int("offset", offset, low=0)
    if seed is None:
        starts = offset + T * np.arange(N)
        need = offset + N * T + 1
        if len(ids) < need:
            raise ValueError(f"ids: expected at least offset + N * T + 1 = {need} ids for "
                             f"{N} consecutive windows, received {len(ids)}")
    else:
        if len(ids) < T + 1:
            raise ValueError(f"ids: expected at least T + 1 = {T + 1} ids, received {len(ids)}")
        starts = np.random.default_rng(seed).integers(0, len(ids) - T, size=N)
    rows = starts[:, None] + np.arange(T)                      # (N, T)
    return ids[rows], ids[rows + 1]
