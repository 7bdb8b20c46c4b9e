"""Text from a character model, the package's one sampler: read a prime, then draw each
next character from softmax(logits / temperature) and feed it back.

Temperature 0 takes the most probable character (argmax). Two kinds of model share
`generate`: the embedding language models of training.language (params {"embed", "cell",
"out"}, `sample`) and the one-hot models train.fit trains on tasks.text (params {"cell",
"out"}, train.sample_text, which passes the identity as its embedding). chars is the
vocabulary in id order. The same seed gives the same text.
"""
import numpy as np

from ..cells import sequence, get as get_cell
from ..validate import check_int, check_positive


def temperature_softmax(logits, temperature):
    """softmax(logits / temperature) over the last axis; temperature 0: one-hot argmax."""
    logits = np.asarray(logits, dtype=np.float64)
    if temperature == 0:
        return (np.arange(logits.shape[-1]) == logits.argmax(axis=-1)[..., None]).astype(float)
    z = logits / temperature
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def generate(mod, cell_params, E, out, prime_ids, length, temperature, rng, opts, state0):
    """The sampler, unchecked: `length` character ids (a list) after the prime.

    mod: a cell module with opts complete; E (V, D): the input of each id (an embedding, or
    the identity for one-hot inputs); out: the readout {"W_y" (V, H), "b_y" (V,)};
    prime_ids: the prime's ids, read from state0 (the zero state, batch 1); rng: a numpy
    Generator.
    """
    W_y, b_y = out["W_y"], out["b_y"]
    h, state, _ = mod.forward(E[[list(prime_ids)]], state0, cell_params, check=False, **opts)
    ids = []
    for _ in range(length):                          # one step of the cell per character
        logits = (W_y @ h[0, -1] + b_y).astype(np.float64)
        if temperature == 0:
            i = int(np.argmax(logits))
        else:
            i = int(rng.choice(len(logits), p=temperature_softmax(logits, temperature)))
        ids.append(i)
        h, state, _ = mod.forward(E[[[i]]], state, cell_params, check=False, **opts)
    return ids


def sample(cell, params, chars, length, prime="\n", temperature=1.0, seed=0, **opts):
    """Text drawn from the embedding LM params {"embed", "cell", "out"}: it reads `prime`
    from the zero state, then draws each next character from softmax(logits / temperature)
    and feeds it back. temperature 0 is argmax: deterministic. A str of `length`."""
    mod = get_cell(cell)
    opts = mod.options(opts)
    length = check_int("length", length, low=1)
    temperature = check_positive("temperature", temperature, allow_zero=True)
    index = {c: i for i, c in enumerate(chars)}
    check_prime(prime, index)
    E, H = params["embed"]["E"], params["out"]["W_y"].shape[1]
    ids = generate(mod, params["cell"], E, params["out"], [index[c] for c in prime], length,
                   temperature, np.random.default_rng(seed), opts,
                   sequence.zero_state(mod.STATE_KEYS, 1, H, E.dtype))
    return "".join(chars[i] for i in ids)


def next_char_probs(cell, params, chars, prime, temperature, **opts):
    """p(next character | prime) = softmax(logits / temperature) (V,), float64; at
    temperature 0 the one-hot of the argmax, the limit of the softmax as T -> 0."""
    mod = get_cell(cell)
    opts = mod.options(opts)
    temperature = check_positive("temperature", temperature, allow_zero=True)
    index = {c: i for i, c in enumerate(chars)}
    check_prime(prime, index)
    E, W_y, b_y = params["embed"]["E"], params["out"]["W_y"], params["out"]["b_y"]
    ids = np.array([[index[c] for c in prime]])
    state0 = sequence.zero_state(mod.STATE_KEYS, 1, W_y.shape[1], E.dtype)
    h, _, _ = mod.forward(E[ids], state0, params["cell"], check=False, **opts)
    return temperature_softmax((W_y @ h[0, -1] + b_y).astype(np.float64), temperature)


def check_prime(prime, index):
    """prime: a non-empty str of characters of the vocabulary index {char: id}."""
    if not isinstance(prime, str) or not prime:
        raise ValueError(f"prime: expected a non-empty str, received {prime!r}")
    unknown = sorted(set(prime) - set(index))
    if unknown:
        raise ValueError(f"prime: expected characters of the vocabulary, received "
                         f"{len(unknown)} unknown: {unknown[:10]!r}")
