"""The encoder-decoder (rnn_core.training.seq2seq) on string reversal: training with teacher
forcing, exposure bias when it runs free, and the gradient checks of its exact BPTT
(notebook 08).

Shapes: source (N, S) and target (N, S) int64 token ids from K symbols; the target is the
source reversed. Training is training.language.train_lm's: Adam with global-norm clipping, on a
fresh seeded batch every update.
"""
import time
from dataclasses import dataclass, field

import numpy as np

from ..training import unchecked
from ..bptt import gradcheck
from ..training import seq2seq
from ..cells import get as get_cell
from ..validate import check_int
from ..remedies.optim import n_params
from ..remedies import clipping, optim
from ..training.language import flatten


def reverse_strings(N, S, K, seed):
    """The reversal task: source (N, S) ids drawn uniformly from K symbols, target its reverse."""
    N, S, K = (check_int(n, v, low=1) for n, v in (("N", N), ("S", S), ("K", K)))
    source = np.random.default_rng(seed).integers(0, K, size=(N, S))
    return source, source[:, ::-1].copy()


@dataclass
class Seq2SeqRun:
    """What train_seq2seq measured, and the trained params."""
    params: dict
    n_params: int
    loss: list = field(default_factory=list)         # per update: teacher-forced loss / T
    seconds: float = 0.0


def train_seq2seq(S=8, K=8, D=16, H=64, N=64, steps=400, lr=1e-2, clip=1.0, seed=0,
                  cell="gru", dtype=np.float32, **opts):
    """Train the encoder-decoder on string reversal with teacher forcing (Adam, clipping).

    Every update draws a fresh batch of N strings (seeded from `seed`). Returns a Seq2SeqRun.
    """
    t0 = time.perf_counter()
    mod = get_cell(cell)
    opts = unchecked.options(mod, opts)
    steps = check_int("steps", steps, low=1)
    clip = None if clip is None else clipping.check_threshold("clip", clip)
    params = seq2seq.init_params(K, D, H, cell=cell, seed=seed, dtype=dtype, **opts)
    run = Seq2SeqRun(params, n_params(params))
    seeds = np.random.SeedSequence([seed, 1]).generate_state(steps)
    moments = None
    for k in range(steps):
        source, target = reverse_strings(N, S, K, int(seeds[k]))
        loss, grads = seq2seq.loss_and_grads(params, source, target, cell, check=False, **opts)
        grads, _, _ = clipping.clip(grads, clipping.global_norm(grads, check=False), clip)
        params, moments = optim.update(params, grads, moments, k, lr, "adam", check=False)
        run.loss.append(loss / S)
    run.params, run.seconds = params, time.perf_counter() - t0
    return run


def exposure_bias(params, S=8, K=8, N=2000, seed=12345, cell="gru", **opts):
    """Error rate against output position, teacher-forced and free-running, on N fresh strings.

    Returns {"teacher forced": (S,), "free running": (S,), "sequence accuracy": {mode: float}}:
    per position the fraction of wrong tokens; a sequence is right when all S tokens are.
    """
    source, target = reverse_strings(N, S, K, seed)
    tf = seq2seq.predict_teacher_forced(params, source, target, cell=cell, **opts)
    fr = seq2seq.decode(params, source, S, cell=cell, **opts)
    return {"teacher forced": (tf != target).mean(axis=0),
            "free running": (fr != target).mean(axis=0),
            "sequence accuracy": {"teacher forced": float((tf == target).all(axis=1).mean()),
                                  "free running": float((fr == target).all(axis=1).mean())}}


def seq2seq_gradient_check(cell="gru", N=2, S=3, T=3, D=2, H=3, V=4, seed=0):
    """Finite differences against rc.training.seq2seq's exact BPTT: the continuous model (both input
    sequences, the encoder's initial state, every parameter, under a random linear loss of
    the logits) and the token model under teacher forcing (every parameter, embeddings
    included). Returns {name: worst relative error}."""
    mod = get_cell(cell)
    rng = np.random.default_rng(seed)
    params = seq2seq.init_params(V, D, H, cell=cell, seed=seed, dtype=np.float64)
    cont = {k: params[k] for k in ("encoder", "decoder", "out")}
    x_src, x_dec = rng.standard_normal((N, S, D)), rng.standard_normal((N, T, D))
    state0 = {k: 0.5 * rng.standard_normal((N, H)) for k in mod.STATE_KEYS}
    weights = rng.standard_normal((N, T, V))

    def linear_loss():
        return float((weights * seq2seq.forward(x_src, x_dec, cont, state0, cell=cell)[0]).sum())

    _, cache = seq2seq.forward(x_src, x_dec, cont, state0, cell=cell)
    dx_src, dx_dec, dstate0, grads = seq2seq.backward(weights.copy(), cache)
    arrays = {"x_src": x_src, "x_dec": x_dec, **{f"state0.{k}": v for k, v in state0.items()},
              **flatten(cont)}
    analytic = {"x_src": dx_src, "x_dec": dx_dec,
                **{f"state0.{k}": v for k, v in dstate0.items()}, **flatten(grads)}
    errors = gradcheck.check_gradients(linear_loss, arrays, analytic)
    source, target = rng.integers(0, V, (N, S)), rng.integers(0, V, (N, T))
    _, tgrads = seq2seq.loss_and_grads(params, source, target, cell=cell)
    terr = gradcheck.check_gradients(
        lambda: seq2seq.loss_and_grads(params, source, target, cell=cell)[0], flatten(params),
        flatten(tgrads))
    return {**errors, **{f"tokens: {k}": v for k, v in terr.items()}}
