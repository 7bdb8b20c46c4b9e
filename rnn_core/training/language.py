"""The character language model: embedding, cell and readout, its loss, bits per
character, its gradient check and its trainer (text from it: sampling.py; the count-table
baselines of notebook 08: experiments.language).

The model is the blog post's: x_t = E[c_t] (an embedding), the recurrent cell
h_t = cell(x_t, h_{t-1}), logits y_t = W_y h_t + b_y and p(c_{t+1} | c_<=t) = softmax(y_t),
trained on the cross-entropy summed over the steps of a window (teacher forcing: the input
at step t is the TRUE character c_t, whatever the model would have predicted).

Shapes: character ids (L,) int64; a batch of windows inputs, targets (N, T) int64 with
targets[:, t] = the character after inputs[:, t]. Params are the nested dict
{"embed": {"E": (V, D)}, "cell": {...the cell's keys...}, "out": {"W_y": (V, H), "b_y": (V,)}}.

Truncated BPTT with the state carried ("carried"): the training text is cut into N
equal streams; batch k holds window k of every stream, so row n of batch k + 1 continues
row n of batch k and the final state of one batch is the initial state of the next
(gradients stop at the window edge). "shuffled": every batch is N windows at random
positions, each starting from the zero state.

Bits per character (bpc) = mean over predicted characters of -log2 p(next character).

The text is split three ways (text_splits): training (the first 90 %, tasks.text_ids's
training part), validation (the next 5 %: curves, early stopping, every choice) and test
(the last 5 %: scored once, no choice made on it).
"""
import time
from dataclasses import dataclass, field

import numpy as np

from . import corpus, task_checks, tasks
from ..bptt import gradcheck
from ..nn import losses
from ..cells import sequence, get as get_cell
from ..remedies import clipping, optim
from ..remedies.optim import n_params
from ..nn.readout import affine_backward, init_affine, init_embedding
from ..validate import check_choice, check_int, check_positive
from .sampling import sample

LN2 = float(np.log(2.0))
ORDERS = ("carried", "shuffled")


# ------------------------------------------------------------------------------- the data

def text_splits(name=None):
    """(chars, train, val, test) ids of a shipped text (None: corpus.DEFAULT), contiguous:
    train is tasks.text_ids's training part (the first 90 %), and its held-out last tenth
    is cut into validation (first half) and test (second half). Read-only arrays."""
    chars, train, held = tasks.text_ids(name)
    val, test = corpus.split(held, 0.5)
    return chars, train, val, test


def streams(ids, N):
    """ids cut into N equal consecutive streams: (N, L // N), the remainder dropped."""
    N = check_int("N", N, low=1)
    L = len(ids) // N
    if L < 2:
        raise ValueError(f"N: expected at most {len(ids) // 2} streams of >= 2 ids, received {N}")
    return np.asarray(ids[:N * L]).reshape(N, L)


def batch(ids, stream_ids, k, N, T, order, rng):
    """Batch k: (inputs (N, T), targets (N, T), reset) for the window order.

    carried: window k mod (windows per stream) of every stream, reset=True at the start
    of a pass; shuffled: N windows at random starts drawn from rng, reset=True always.
    """
    if order == "carried":
        n_win = (stream_ids.shape[1] - 1) // T
        j = k % n_win
        cols = j * T + np.arange(T + 1)
        w = stream_ids[:, cols]
        return w[:, :-1], w[:, 1:], j == 0
    starts = rng.integers(0, len(ids) - T - 1, size=N)
    rows = starts[:, None] + np.arange(T + 1)
    w = ids[rows]
    return w[:, :-1], w[:, 1:], True


# ------------------------------------------------------------------------------- the model

def init_lm(cell, V, H, D=None, seed=0, dtype=np.float32, **opts):
    """Params {"embed", "cell", "out"} of a character LM: V characters, embedding D (default
    min(V, H)), hidden size H; N(0, 1) embedding, the cell's own init, 1/sqrt(H) readout."""
    mod = get_cell(cell)
    V, H = check_int("V", V, low=1), check_int("H", H, low=1)
    D = min(V, H) if D is None else check_int("D", D, low=1)
    s = [int(x) for x in np.random.SeedSequence(seed).generate_state(3)]
    return {"embed": init_embedding(V, D, seed=s[0], dtype=dtype),
            "cell": mod.init_params(D, H, seed=s[1], dtype=dtype, **opts),
            "out": init_affine(H, V, seed=s[2], dtype=dtype)}


def hidden_for_budget(cell, V, budget, D):
    """The hidden size H whose LM (embedding D) has the parameter count closest to budget."""
    mod = get_cell(cell)

    def count(H):
        return V * D + sum(int(np.prod(s)) for s in mod.param_shapes(D, H).values()) + V * H + V

    lo, hi = 1, 4096                            # count grows with H: bisect for the budget
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if count(mid) <= budget else (lo, mid)
    return min((lo, hi), key=lambda H: abs(count(H) - budget))


def loss_and_grads(mod, params, inputs, targets, state0, opts):
    """One window, teacher-forced: (loss in nats summed over steps / N, grads, final state).

    Unchecked: the cell's unchecked passes; the gradient stops at the window's start.
    """
    E = params["embed"]["E"]
    x = E[inputs]                                               # (N, T, D)
    h, stateT, cache = mod.forward(x, state0, params["cell"], check=False, **opts)
    W_y, b_y = params["out"]["W_y"], params["out"]["b_y"]
    y = h @ W_y.T + b_y                                         # (N, T, V)
    loss, dy = losses.softmax_cross_entropy(y, targets)
    dh, gout = affine_backward(dy, (h, params["out"]))
    dx, _, gcell = mod.backward(sequence.steps(dh, inputs.shape[1]), cache, None, None, check=False)
    dE = np.zeros_like(E)
    np.add.at(dE, inputs.reshape(-1), dx.reshape(-1, E.shape[1]))
    return loss, {"embed": {"E": dE}, "cell": gcell, "out": gout}, stateT


def bpc(cell, params, ids, N=16, T=128, **opts):
    """Bits per character of the model on ids, read as N consecutive streams from the zero
    state, the state carried from window to window (the remainder of len(ids) // N dropped).

    Every character after the first of each stream is predicted and scored once.
    """
    mod = get_cell(cell)
    opts = mod.options(opts)
    s = streams(ids, N)
    E, W_y, b_y = params["embed"]["E"], params["out"]["W_y"], params["out"]["b_y"]
    H = W_y.shape[1]
    state = sequence.zero_state(mod.STATE_KEYS, N, H, E.dtype)
    total, count = 0.0, 0
    for t0 in range(0, s.shape[1] - 1, T):
        w = s[:, t0:t0 + T + 1]
        h, state, _ = mod.forward(E[w[:, :-1]], state, params["cell"], check=False, **opts)
        total += float(task_checks.bits(h @ W_y.T + b_y, w[:, 1:]).sum(dtype=np.float64))
        count += w[:, 1:].size
    return total / count


@dataclass
class LMRun:
    """What train_lm measured."""
    cell: str
    params: dict
    n_params: int
    train_bpc: list = field(default_factory=list)   # per update: the batch's bpc
    val_step: list = field(default_factory=list)    # updates done at each validation
    val_bpc: list = field(default_factory=list)
    samples: list = field(default_factory=list)     # (updates done, text) at each validation
    best_params: dict = None                        # the params of the lowest validation bpc
    best_step: int = 0
    seconds: float = 0.0


def train_lm(cell="gru", H=128, D=None, N=32, T=32, steps=300, lr=3e-3, clip=1.0, seed=0,
             order="carried", dtype=np.float32, val_every=100, val_N=8, sample_length=0,
             prime="\n", name=None, on_validation=None, lr_end=None, **opts):
    """Train a character LM with Adam on the training part of a shipped text.

    order "carried" (truncated BPTT, state carried across consecutive windows) or
    "shuffled" (random windows, zero initial state). Validation bpc every val_every updates
    and after the last one, on the whole validation part of text_splits (bpc, read as val_N
    streams); sample_length > 0 adds a
    sample of that length drawn at temperature 1 (seeded) after `prime` at each validation;
    on_validation(updates, bpc) is called after each (progress reports). D defaults to
    min(V, H). lr_end: the learning rate falls linearly from lr to lr_end over the steps
    (None: constant). Returns an LMRun (final params, and the params of the lowest
    validation bpc, as early stopping would keep).
    """
    t_start = time.perf_counter()
    mod = get_cell(cell)
    opts = mod.options(opts)
    check_choice("order", order, ORDERS)
    N, T, steps = (check_int(a, v, low=1) for a, v in (("N", N), ("T", T), ("steps", steps)))
    lr = check_positive("lr", lr)
    clip = None if clip is None else clipping.check_threshold("clip", clip)
    if lr_end is not None:
        lr_end = check_positive("lr_end", lr_end, allow_zero=True)
    val_every = check_int("val_every", val_every, low=1)
    chars, train, val, _ = text_splits(name)
    V = len(chars)
    params = init_lm(cell, V, H, D, seed=seed, dtype=dtype, **opts)
    run = LMRun(cell, params, n_params(params))
    rng = np.random.default_rng(np.random.SeedSequence(seed).generate_state(4)[3])
    stream_ids = streams(train, N)
    if stream_ids.shape[1] < T + 1:
        raise ValueError(f"T: expected at most {stream_ids.shape[1] - 1} (the length of each of "
                         f"the N = {N} training streams, minus one), received {T}")
    state, moments = None, None
    for k in range(steps):
        inputs, targets, reset = batch(train, stream_ids, k, N, T, order, rng)
        if reset:
            state = sequence.zero_state(mod.STATE_KEYS, N, H, dtype)
        loss, grads, state = loss_and_grads(mod, params, inputs, targets, state, opts)
        grads, _, _ = clipping.clip(grads, clipping.global_norm(grads, check=False), clip)
        rate = lr if lr_end is None else lr + (lr_end - lr) * k / max(steps - 1, 1)
        params, moments = optim.update(params, grads, moments, k, rate, "adam", check=False)
        run.train_bpc.append(loss / T / LN2)
        if (k + 1) % val_every == 0 or k + 1 == steps:
            run.val_step.append(k + 1)
            run.val_bpc.append(bpc(cell, params, val, N=val_N, **opts))
            if run.val_bpc[-1] == min(run.val_bpc):
                run.best_params, run.best_step = params, k + 1
            if on_validation is not None:
                on_validation(k + 1, run.val_bpc[-1])
            if sample_length:
                run.samples.append((k + 1, sample(cell, params, chars, sample_length, prime,
                                                  1.0, seed=seed, **opts)))
    run.params = params
    run.seconds = time.perf_counter() - t_start
    return run


# ------------------------------------------------------------------------ gradient checks

def flatten(tree, prefix=""):
    """A nested dict of arrays as one flat dict {"outer.inner": array} (for gradcheck)."""
    out = {}
    for k, v in tree.items():
        if isinstance(v, dict):
            out.update(flatten(v, f"{prefix}{k}."))
        else:
            out[prefix + k] = v
    return out


def gradient_check(cell="gru", V=6, D=3, H=4, N=2, T=5, seed=0):
    """Finite differences (float64, centered) against the LM's gradient for every parameter
    and the initial state, on a random window. Returns {name: worst relative error}."""
    mod = get_cell(cell)
    opts = mod.options({})
    rng = np.random.default_rng(seed)
    params = init_lm(cell, V, H, D, seed=seed, dtype=np.float64)
    inputs, targets = rng.integers(0, V, (N, T)), rng.integers(0, V, (N, T))
    state0 = {k: 0.5 * rng.standard_normal((N, H)) for k in mod.STATE_KEYS}

    _, grads, _ = loss_and_grads(mod, params, inputs, targets, state0, opts)
    dstate0 = _state0_grad(mod, params, inputs, targets, state0, opts)
    arrays = {**flatten(params), **{f"state0.{k}": v for k, v in state0.items()}}
    analytic = {**flatten(grads), **{f"state0.{k}": v for k, v in dstate0.items()}}
    return gradcheck.check_gradients(
        lambda: loss_and_grads(mod, params, inputs, targets, state0, opts)[0], arrays, analytic)


def _state0_grad(mod, params, inputs, targets, state0, opts):
    """dL/dstate0 of one window (what loss_and_grads drops: truncated BPTT stops there)."""
    E = params["embed"]["E"]
    h, _, cache = mod.forward(E[inputs], state0, params["cell"], check=False, **opts)
    y = h @ params["out"]["W_y"].T + params["out"]["b_y"]
    _, dy = losses.softmax_cross_entropy(y, targets)
    dh, _ = affine_backward(dy, (h, params["out"]))
    return mod.backward(sequence.steps(dh, inputs.shape[1]), cache, None, None, check=False)[1]
