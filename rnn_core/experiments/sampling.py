"""Text from a trained character language model (experiments.language): sampling at a
temperature, the next-character distribution the sampler shows, and a test for loops
(notebook 08).

The model reads the prime from the zero state, then draws each next character from
softmax(logits / temperature) and feeds it back; temperature 0 takes the most probable
character (argmax). Params are language.init_lm's {"embed", "cell", "out"}; chars is the
vocabulary in id order. The same seed gives the same text.
"""
import numpy as np

from ..cells import sequence, get as get_cell
from ..validate import check_int, check_positive


def sample(cell, params, chars, length, prime="\n", temperature=1.0, seed=0, **opts):
    """Text drawn from the LM: it reads `prime` from the zero state, then draws each next
    character from softmax(logits / temperature) and feeds it back. temperature 0 takes the
    most probable character (argmax): deterministic. Returns a str of `length` characters."""
    mod = get_cell(cell)
    opts = mod._options(opts)
    length = check_int("length", length, low=1)
    temperature = check_positive("temperature", temperature, allow_zero=True)
    index = {c: i for i, c in enumerate(chars)}
    check_prime(prime, index)
    rng = np.random.default_rng(seed)
    E, W_y, b_y = params["embed"]["E"], params["out"]["W_y"], params["out"]["b_y"]
    ids = np.array([[index[c] for c in prime]])
    state0 = sequence.zero_state(mod.STATE_KEYS, 1, W_y.shape[1], E.dtype)
    h, state, _ = mod._forward(E[ids], state0, params["cell"], opts)
    last, out = h[0, -1], []
    for _ in range(length):
        logits = (W_y @ last + b_y).astype(np.float64)
        if temperature == 0:
            i = int(np.argmax(logits))
        else:
            z = logits / temperature
            p = np.exp(z - z.max())
            i = int(rng.choice(len(chars), p=p / p.sum()))
        out.append(chars[i])
        h, state, _ = mod._forward(E[[[i]]], state, params["cell"], opts)
        last = h[0, -1]
    return "".join(out)


def next_char_probs(cell, params, chars, prime, temperature, **opts):
    """p(next character | prime) = softmax(logits / temperature) (V,), float64; at
    temperature 0 the one-hot of the argmax, the limit of the softmax as T -> 0."""
    mod = get_cell(cell)
    opts = mod._options(opts)
    temperature = check_positive("temperature", temperature, allow_zero=True)
    index = {c: i for i, c in enumerate(chars)}
    check_prime(prime, index)
    E, W_y, b_y = params["embed"]["E"], params["out"]["W_y"], params["out"]["b_y"]
    ids = np.array([[index[c] for c in prime]])
    state0 = sequence.zero_state(mod.STATE_KEYS, 1, W_y.shape[1], E.dtype)
    h, _, _ = mod._forward(E[ids], state0, params["cell"], opts)
    return temperature_softmax((W_y @ h[0, -1] + b_y).astype(np.float64), temperature)


def temperature_softmax(logits, temperature):
    """softmax(logits / temperature) over the last axis; temperature 0: one-hot argmax."""
    logits = np.asarray(logits, dtype=np.float64)
    if temperature == 0:
        return (np.arange(logits.shape[-1]) == logits.argmax(axis=-1)[..., None]).astype(float)
    z = logits / temperature
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


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


def check_prime(prime, index):
    if not isinstance(prime, str) or not prime:
        raise ValueError(f"prime: expected a non-empty str, received {prime!r}")
    unknown = sorted(set(prime) - set(index))
    if unknown:
        raise ValueError(f"prime: expected characters of the vocabulary, received "
                         f"{len(unknown)} unknown: {unknown[:10]!r}")


def first_repeat(text, min_period=1, max_period=100):
    """The shortest period p of a cycle the end of `text` falls into: the smallest p such
    that the last half of text repeats with period p; None if none does (a loop test)."""
    tail = text[len(text) // 2:]
    for p in range(min_period, min(max_period, len(tail) // 2) + 1):
        if all(tail[i] == tail[i - p] for i in range(p, len(tail))):
            return p
    return None
