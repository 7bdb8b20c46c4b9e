"""The encoder-decoder (rnn_core.training.seq2seq) on string reversal: training with teacher
forcing, exposure bias when it runs free, and the gradient checks of its exact BPTT
(notebook 08).

Shapes: source (N, S) and target (N, S) int64 token ids from K symbols; the target is the
source reversed. The task and its trainer (reverse_strings, train_seq2seq) live in
training.seq2seq beside the model; they are imported here for notebook 08.
"""
import numpy as np

from ..bptt import gradcheck
from ..training import seq2seq
from ..training.seq2seq import Seq2SeqRun, reverse_strings, train_seq2seq  # noqa: F401
from ..cells import get as get_cell
from ..training.language import flatten


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
