"""What the notebook-08 sampler shows: the next-character distribution and a sample at a
temperature, and a test for loops in generated text.

The sampler itself is training.sampling's (sample, next_char_probs, temperature_softmax,
check_prime, imported here for the notebook and the widget). Params are training.language.init_lm's {"embed", "cell",
"out"}; chars is the vocabulary in id order. The same seed gives the same text.
"""
import numpy as np

from ..training.sampling import (check_prime, next_char_probs, sample,  # noqa: F401
                                 temperature_softmax)
from ..validate import check_int


def sampling_view(cell, params, chars, prime="\n", temperature=1.0, length=300, seed=0,
                  top=10, **opts):
    """What the sampler shows: the `top` most probable next characters after the prime at
    this temperature, and a sample of `length` characters. Returns a dict with prime,
    temperature, length, text, top_chars, top_probs."""
    p = next_char_probs(cell, params, chars, prime, temperature, **opts)
    order = np.argsort(-p, kind="stable")[:check_int("top", top, low=1)]
    text = sample(cell, params, chars, length, prime, temperature, seed=seed, **opts)
    return {"prime": prime, "temperature": float(temperature), "length": length, "text": text,
            "top_chars": [chars[i] for i in order], "top_probs": p[order]}


def first_repeat(text, min_period=1, max_period=100):
    """The shortest period p of a cycle the end of `text` falls into: the smallest p such
    that the last half of text repeats with period p; None if none does (a loop test)."""
    tail = text[len(text) // 2:]
    for p in range(min_period, min(max_period, len(tail) // 2) + 1):
        if all(tail[i] == tail[i - p] for i in range(p, len(tail))):
            return p
    return None
