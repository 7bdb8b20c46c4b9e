"""What the notebook-08 sampler shows: the next-character distribution and a sample at a
temperature, and a test for loops in generated text.

The sampler itself is training.sampling's (sample, next_char_probs, temperature_softmax,
check_prime, imported here for the notebook and the widget). Params are training.language.init_lm's {"embed", "cell",
"out"}; chars is the vocabulary in id order. The same seed gives the same text.
"""
import re

import numpy as np

from ..training.sampling import (check_prime, next_char_probs, sample,  # noqa: F401
                                 temperature_softmax)
from ..validate import check_int


def sampling_view(cell, params, chars, prime="\n", temperature=1.0, length=300, seed=0,
                  top=10, **opts):
    """What the sampler shows: the next-character distribution after the prime at this
    temperature and a sample of `length` characters drawn from it.

    Returns a dict with prime, temperature, length, text; top_chars and top_probs, the at
    most `top` most probable next characters with a probability above 0 (at temperature 0
    only the argmax); first, the character drawn first (text[0]), and first_prob, its
    probability, which is among the bars: when it is not one of the `top` most probable it
    is added as the last bar.
    """
    top = check_int("top", top, low=1)
    p = next_char_probs(cell, params, chars, prime, temperature, **opts)
    order = [i for i in np.argsort(-p, kind="stable")[:top] if p[i] > 0]
    text = sample(cell, params, chars, length, prime, temperature, seed=seed, **opts)
    first = list(chars).index(text[0])
    if first not in order:
        order.append(first)
    return {"prime": prime, "temperature": float(temperature), "length": length, "text": text,
            "top_chars": [chars[i] for i in order], "top_probs": p[order],
            "first": text[0], "first_prob": float(p[first])}


def words(text):
    """The words of `text`: its maximal runs of ASCII letters, in order (a list of str)."""
    if not isinstance(text, str):
        raise TypeError(f"text: expected a str, received {type(text).__name__}")
    return re.findall(r"[A-Za-z]+", text)


def known_word_share(sample, vocabulary):
    """The share of the words of `sample` that are in `vocabulary` (a set of words, e.g.
    set(words(training text))); 0.0 for a sample without words."""
    if not isinstance(vocabulary, (set, frozenset)):
        raise TypeError(f"vocabulary: expected a set of words, received "
                        f"{type(vocabulary).__name__}")
    found = words(sample)
    return sum(w in vocabulary for w in found) / len(found) if found else 0.0


def first_repeat(text, min_period=1, max_period=100):
    """The shortest period p of a cycle the end of `text` falls into: the smallest p such
    that the last half of text repeats with period p; None if none does (a loop test)."""
    tail = text[len(text) // 2:]
    for p in range(min_period, min(max_period, len(tail) // 2) + 1):
        if all(tail[i] == tail[i - p] for i in range(p, len(tail))):
            return p
    return None
