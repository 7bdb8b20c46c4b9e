"""Sequence to sequence: an encoder RNN reads the source, a decoder RNN writes the target.

Trained on string reversal here too (reverse_strings, train_seq2seq: Adam, one clipping).
The model (the lecture notes' translation example, with one cell type for both RNNs):
    encoder:  s_j = enc(x_j, s_{j-1}),  s_0 = state0,            j = 1..S
    decoder:  h_t = dec(z_t, h_{t-1}),  h_0 = s_S (the encoder's final state), t = 1..T
    readout:  y_t = W_y h_t + b_y,  p(target_t) = softmax(y_t)
With tokens, x_j = E_src[source_j] and, under teacher forcing, z_t = E_tgt[target_{t-1}]
(the TRUE previous target token; z_1 = E_tgt[START]); running free, z_t is the embedding of
the decoder's own previous prediction. The loss is the cross-entropy summed over the T
output steps and averaged over the batch (losses.softmax_cross_entropy).

Shapes (batch-first): x_src (N, S, D), x_dec (N, T, D), logits (N, T, V); token arrays
source (N, S), target (N, T) int64 with ids in [0, V); START = V is the decoder's extra
start token, so E_tgt has V + 1 rows. Params are the nested dict
{"encoder": {...cell keys...}, "decoder": {...}, "out": {"W_y": (V, H), "b_y": (V,)}} for
the continuous model, plus "E_src": {"E": (V, D)} and "E_tgt": {"E": (V + 1, D)} for tokens.

forward/backward are the continuous model (every input and the initial state get a
gradient); loss_and_grads is the token model under teacher forcing; decode runs free.
Public functions check their arguments; _forward and _backward compute unchecked.
"""
import time
from dataclasses import dataclass, field

import numpy as np

from ..nn import losses
from ..remedies import clipping, optim
from ..cells import sequence, get as get_cell
from ..nn.readout import affine_backward, init_affine, init_embedding
from ..validate import (check_array, check_indices, check_int, check_params, check_sequence,
                        check_state)


def init_params(V, D, H, cell="gru", seed=0, dtype=np.float64, **opts):
    """Seeded params of the token model: V output symbols (plus START), embeddings D, H units."""
    mod = get_cell(cell)
    V, D, H = (check_int(n, v, low=1) for n, v in (("V", V), ("D", D), ("H", H)))
    s = [int(x) for x in np.random.SeedSequence(seed).generate_state(5)]
    return {"E_src": init_embedding(V, D, seed=s[0], dtype=dtype),
            "E_tgt": init_embedding(V + 1, D, seed=s[1], dtype=dtype),
            "encoder": mod.init_params(D, H, seed=s[2], dtype=dtype, **opts),
            "decoder": mod.init_params(D, H, seed=s[3], dtype=dtype, **opts),
            "out": init_affine(H, V, seed=s[4], dtype=dtype)}


def _check_model(mod, params, opts, D):
    """Validate the encoder, decoder and readout params for inputs of size D: (H, V, dtype).

    H and V are read from the readout W_y (V, H); both cells must have the cell's shapes
    for (D, H) and all arrays one float dtype.
    """
    if not isinstance(params, dict) or not {"encoder", "decoder", "out"} <= set(params):
        got = sorted(params) if isinstance(params, dict) else type(params).__name__
        raise ValueError(f"params: expected a dict with keys 'encoder', 'decoder', 'out', "
                         f"received {got}")
    W_y = params["out"].get("W_y") if isinstance(params["out"], dict) else None
    V, H = W_y.shape if isinstance(W_y, np.ndarray) and W_y.ndim == 2 else (None, None)
    dtype = check_params("params['out']", params["out"], {"W_y": (V, H), "b_y": (V,)})
    shapes = mod.param_shapes(D, H, **opts)
    for part in ("encoder", "decoder"):
        check_params(f"params[{part!r}]", params[part], shapes, dtype)
    return H, V, dtype


def forward(x_src, x_dec, params, state0=None, cell="gru", **opts):
    """The continuous model. x_src (N, S, D), x_dec (N, T, D), state0 the encoder's initial
    state (None: zeros). Returns (logits (N, T, V), cache for backward)."""
    mod = get_cell(cell)
    opts = mod.options(opts)
    check_sequence("x_src", x_src)
    D = x_src.shape[2]
    try:
        H, V, dtype = _check_model(mod, params, opts, D)
    except ValueError as err:
        if "params[" not in str(err) or "encoder" not in str(err):
            raise
        raise ValueError(f"x_src: expected the input size D of the encoder's params, received "
                         f"shape {x_src.shape} ({err})") from None
    check_sequence("x_src", x_src, D, dtype)
    check_sequence("x_dec", x_dec, D, dtype)
    if x_dec.shape[0] != x_src.shape[0]:
        raise ValueError(f"x_dec: expected the batch size of x_src, N = {x_src.shape[0]}, "
                         f"received shape {x_dec.shape}")
    N = x_src.shape[0]
    if state0 is None:
        state0 = {k: np.zeros((N, H), dtype) for k in mod.STATE_KEYS}
    else:
        check_state("state0", state0, {k: (N, H) for k in mod.STATE_KEYS}, dtype)
    return _forward(mod, x_src, x_dec, params, state0, opts)


def _forward(mod, x_src, x_dec, params, state0, opts):
    """forward without checks: encoder, then decoder from its final state, then readout."""
    _, s_S, enc_cache = mod.forward(x_src, state0, params["encoder"], check=False, **opts)
    h, _, dec_cache = mod.forward(x_dec, s_S, params["decoder"], check=False, **opts)
    y = h @ params["out"]["W_y"].T + params["out"]["b_y"]               # (N, T, V)
    return y, (mod, enc_cache, dec_cache, h, params["out"])


def backward(dlogits, cache):
    """Exact BPTT through decoder and encoder. dlogits (N, T, V) -> (dx_src, dx_dec,
    dstate0, grads {"encoder", "decoder", "out"})."""
    h, out = cache[3], cache[4]
    check_array("dlogits", dlogits, h.shape[:2] + (out["W_y"].shape[0],), h.dtype)
    return _backward(dlogits, cache)


def _backward(dlogits, cache):
    """backward without checks: the decoder's dstate0 is the gradient at the encoder's s_S."""
    mod, enc_cache, dec_cache, h, out = cache
    dh, gout = affine_backward(dlogits, (h, out))
    dx_dec, ds_S, gdec = mod.backward(sequence.steps(dh, h.shape[1]), dec_cache, None, None, check=False)
    dx_src, dstate0, genc = mod.backward({}, enc_cache, ds_S, None, check=False)
    return dx_src, dx_dec, dstate0, {"encoder": genc, "decoder": gdec, "out": gout}


def teacher_inputs(target, V):
    """Decoder input ids under teacher forcing: START = V, then target[:, :-1]. (N, T)."""
    return np.concatenate([np.full((target.shape[0], 1), V, target.dtype), target[:, :-1]], 1)


def _check_tokens(mod, params, opts, source, target):
    """Validate the token model and the id arrays: returns V."""
    for key in ("E_src", "E_tgt"):
        if not isinstance(params, dict) or not isinstance(params.get(key), dict):
            raise ValueError(f"params: expected the embeddings {key!r} of the token model")
    E_t = params["E_tgt"].get("E")
    V1, D = E_t.shape if isinstance(E_t, np.ndarray) and E_t.ndim == 2 else (None, None)
    dtype = check_params("params['E_tgt']", params["E_tgt"], {"E": (V1, D)})
    check_params("params['E_src']", params["E_src"], {"E": (V1 - 1, D)}, dtype)
    _, V, _ = _check_model(mod, params, opts, D)
    if V != V1 - 1:
        raise ValueError(f"params['out']['W_y']: expected V = {V1 - 1} rows (E_tgt has V + 1), "
                         f"received {V}")
    check_indices("source", source, (None, None), high=V1 - 1)
    if target is not None:
        check_indices("target", target, (source.shape[0], None), high=V1 - 1)
    for name, ids in (("source", source), ("target", target)):
        if ids is not None and 0 in ids.shape:
            raise ValueError(f"{name}: expected at least one sequence of at least one token, "
                             f"received shape {ids.shape}")
    return V1 - 1


def loss_and_grads(params, source, target, cell="gru", check=True, **opts):
    """The token model under teacher forcing: (loss, grads keyed like params).

    source (N, S), target (N, T) int ids in [0, V). loss = cross-entropy summed over the T
    steps, averaged over N. check=False: a trainer's loop, its arguments checked before.
    """
    mod = get_cell(cell)
    opts = mod.options(opts)
    if check:
        _check_tokens(mod, params, opts, source, target)
    return _loss_and_grads(mod, params, source, target, opts)


def _loss_and_grads(mod, params, source, target, opts):
    """loss_and_grads without checks."""
    E_s, E_t = params["E_src"]["E"], params["E_tgt"]["E"]
    V = E_s.shape[0]
    z = teacher_inputs(target, V)
    N, H = source.shape[0], params["out"]["W_y"].shape[1]
    state0 = {k: np.zeros((N, H), E_s.dtype) for k in mod.STATE_KEYS}
    y, cache = _forward(mod, E_s[source], E_t[z], params, state0, opts)
    loss, dy = losses.softmax_cross_entropy(y, target)
    dx_src, dx_dec, _, grads = _backward(dy, cache)
    dE_s, dE_t = np.zeros_like(E_s), np.zeros_like(E_t)
    np.add.at(dE_s, source.reshape(-1), dx_src.reshape(-1, E_s.shape[1]))
    np.add.at(dE_t, z.reshape(-1), dx_dec.reshape(-1, E_t.shape[1]))
    grads["E_src"], grads["E_tgt"] = {"E": dE_s}, {"E": dE_t}
    return loss, grads


def predict_teacher_forced(params, source, target, cell="gru", **opts):
    """argmax predictions (N, T) when every decoder input is the true previous token."""
    mod = get_cell(cell)
    opts = mod.options(opts)
    V = _check_tokens(mod, params, opts, source, target)
    E_s, E_t = params["E_src"]["E"], params["E_tgt"]["E"]
    N, H = source.shape[0], params["out"]["W_y"].shape[1]
    state0 = {k: np.zeros((N, H), E_s.dtype) for k in mod.STATE_KEYS}
    y, _ = _forward(mod, E_s[source], E_t[teacher_inputs(target, V)], params, state0, opts)
    return y.argmax(axis=-1)


def decode(params, source, T, cell="gru", **opts):
    """Free-running greedy decoding: each step's input is the previous step's argmax.

    source (N, S) ids; T output steps. Returns predictions (N, T) int64.
    """
    mod = get_cell(cell)
    opts = mod.options(opts)
    T = check_int("T", T, low=1)
    V = _check_tokens(mod, params, opts, source, None)
    E_s, E_t = params["E_src"]["E"], params["E_tgt"]["E"]
    W_y, b_y = params["out"]["W_y"], params["out"]["b_y"]
    N, H = source.shape[0], W_y.shape[1]
    state0 = {k: np.zeros((N, H), E_s.dtype) for k in mod.STATE_KEYS}
    _, state, _ = mod.forward(E_s[source], state0, params["encoder"], check=False, **opts)
    prev = np.full(N, V)
    out = np.empty((N, T), np.int64)
    for t in range(T):
        h, state, _ = mod.forward(E_t[prev][:, None], state, params["decoder"], check=False, **opts)
        prev = (h[:, 0] @ W_y.T + b_y).argmax(axis=-1)
        out[:, t] = prev
    return out


# ----------------------------------------------------------------------------- string reversal

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
    opts = mod.options(opts)
    steps = check_int("steps", steps, low=1)
    clip = None if clip is None else clipping.check_threshold("clip", clip)
    params = init_params(K, D, H, cell=cell, seed=seed, dtype=dtype, **opts)
    run = Seq2SeqRun(params, optim.n_params(params))
    seeds = np.random.SeedSequence([seed, 1]).generate_state(steps)
    moments = None
    for k in range(steps):
        source, target = reverse_strings(N, S, K, int(seeds[k]))
        loss, grads = loss_and_grads(params, source, target, cell, check=False, **opts)
        grads, _, _ = clipping.clip(grads, clipping.global_norm(grads, check=False), clip)
        params, moments = optim.update(params, grads, moments, k, lr, "adam", check=False)
        run.loss.append(loss / S)
    run.params, run.seconds = params, time.perf_counter() - t0
    return run
