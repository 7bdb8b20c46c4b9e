"""The training loop: a cell plus an affine readout, trained by minibatch SGD on a task.

Model: h = cell.forward(x) (N, T, H); outputs y = W_y h + b_y at the last step (many-to-one,
y (N, O)) or at every step (many-to-many, y (N, T, O)); loss "mse" or "xent" from the task
(summed over steps, averaged over the batch, as in losses.py). Params are the nested dict
{"cell": {...keys of the cell...}, "out": {"W_y", "b_y"}}.

Data: the Task given to fit is the fixed VALIDATION set; every training step draws a fresh
batch from the same task generator (task.resample), all of a run's batches from one numpy
Generator, np.random.default_rng(seed). Synthetic tasks have unlimited data, so the
training curve measures optimisation, not memorisation of a finite training set, and the
validation set is never trained on (its seed is the task's own).

Any cell of cells.CELLS trains (the gated-feedback RNN's readout reads its top layer).
Each public function checks the cell's options and parameters once, through the cell's own
public forward; fit's loop and sample_text's steps then run the cell's unchecked passes
(forward and backward with check=False), with the upstream gradient only where a loss
reads the states ({T-1: dL/dh_T} for a many-to-one task).
"""
import time
from dataclasses import dataclass, field

import numpy as np

from ..nn import activations, losses
from ..remedies import clipping, optim, regularizer
from ..nn.readout import affine_backward, affine_forward, init_affine
from ..cells import sequence, elman, get as get_cell
from . import sampling
from .tasks import LOWER_IS_BETTER, Task
from ..validate import check_choice, check_int, check_positive



@dataclass
class History:
    """What fit measured. Per attempted training step (steps_run of them, plus the failing
    step when a run diverged):"""
    loss: list = field(default_factory=list)        # data loss of the training batch
    omega: list = field(default_factory=list)       # Omega of the batch (0.0 when not used)
    grad_norm: list = field(default_factory=list)   # ||grad of loss + lambda Omega||, BEFORE clipping
    clipped: list = field(default_factory=list)     # global-norm clipping fired
    n_value_clipped: list = field(default_factory=list)  # entries changed by clip_value
    grads: list = field(default_factory=list)       # the gradients before clipping (record_grads)
    lr: list = field(default_factory=list)          # learning rate used
    # per validation (every val_every steps and after the last step):
    val_step: list = field(default_factory=list)    # steps done when validated
    val_loss: list = field(default_factory=list)    # data loss on the validation set
    val_error: list = field(default_factory=list)   # task.error: MSE or 1 - accuracy
    val_score: list = field(default_factory=list)   # task.score: MSE or accuracy
    val_success: list = field(default_factory=list)  # task.success
    best_step: int = 0                  # the validation whose params fit returned
    best_error: float = float("inf")
    succeeded: bool = False             # task.success of the returned params
    first_success_step: int | None = None
    stopped_early: bool = False
    stop_reason: str = "steps"          # "steps", "success", "patience" or "diverged"
    steps_run: int = 0                  # updates applied
    wall_time: float = 0.0              # seconds


def _cell_module(cell):
    if isinstance(cell, str):
        return get_cell(cell)
    if all(hasattr(cell, a) for a in ("forward", "backward", "options", "STATE_KEYS")):
        return cell
    raise TypeError(f"cell: expected a name in cells.CELLS or a cell module, received {cell!r}")


def check_model(mod, params, D, cell_opts):
    """Check params {"cell", "out"} and the cell's options once, at the edge.

    The cell's own public forward over one zero step checks the options, the cell's
    parameters and their input size D. Returns (opts for the unchecked forward, the
    state's width per key, the readout's input size H).
    """
    if not isinstance(params, dict) or set(params) != {"cell", "out"}:
        got = sorted(params) if isinstance(params, dict) else type(params).__name__
        raise ValueError(f"params: expected a dict with keys ['cell', 'out'] (init_model), "
                         f"received {got}")
    W_y = params["out"].get("W_y") if isinstance(params["out"], dict) else None
    if not isinstance(W_y, np.ndarray) or W_y.ndim != 2:
        raise ValueError("params['out']: expected the readout {'W_y': (O, H), 'b_y': (O,)}")
    probe = np.zeros((1, 1, D), W_y.dtype)
    h, state, _ = mod.forward(probe, None, params["cell"], **cell_opts)
    if h.shape[2] != W_y.shape[1]:
        raise ValueError(f"params['out']['W_y']: expected shape (O, {h.shape[2]}) to read the "
                         f"cell's outputs of size {h.shape[2]}, received {W_y.shape}")
    return mod.options(cell_opts), {k: v.shape[1] for k, v in state.items()}, h.shape[2]


def _zeros(widths, N, dtype):
    """The zero initial state for a batch of N, {key: (N, width)}."""
    return {k: np.zeros((N, w), dtype) for k, w in widths.items()}


def check_task(task):
    if not isinstance(task, Task):
        raise TypeError(f"task: expected a tasks.Task, received {type(task).__name__}")
    return task


def init_model(cell, D, H, O, seed=0, init=None, **cell_opts):
    """Params {"cell": cell.init_params(D, H, ...), "out": init_affine(H, O)}, seeded.

    init: extra keyword arguments for cell.init_params (e.g. {"W_h": "identity"}); the
    cell's options (cell_opts: activation, form, L) go to it as well, as to every cell
    function. H is the readout's input size: the top layer's for the gated-feedback RNN.
    """
    mod = _cell_module(cell)
    s_cell, s_out = (int(s) for s in np.random.SeedSequence(seed).generate_state(2))
    return {"cell": mod.init_params(D, H, seed=s_cell, **cell_opts, **(init or {})),
            "out": init_affine(H, O, seed=s_out)}


def predict(cell, params, x, readout="last", **cell_opts):
    """Outputs of the model on x (N, T, D): y (N, O) for readout="last", (N, T, O) for "all".

    For classification these are logits (softmax gives probabilities).
    """
    mod = _cell_module(cell)
    check_choice("readout", readout, ("last", "all"))
    h, _, _ = mod.forward(x, None, params["cell"], **cell_opts)
    y, _ = affine_forward(h if readout == "all" else h[:, -1], params["out"])
    return y


def sample_text(cell, params, chars, length, prime="\n", temperature=1.0, seed=0, **cell_opts):
    """Text from a one-hot character model that train.fit trained on tasks.text (through
    sampling.generate, the sampler of the embedding language models too): a str of `length`.

    chars: the vocabulary in id order (tasks.text_vocab()), one character per output of the
    readout. The model reads `prime` first (from a zero state), then draws each next
    character from softmax(logits / temperature) and feeds it back. temperature 0 takes
    the most probable character every time; below 1 the text is more conservative, above
    1 more random. Same seed, same text. cell_opts go to the cell's forward.
    """
    mod = _cell_module(cell)
    if not isinstance(chars, (list, tuple)) or not all(isinstance(c, str) and len(c) == 1
                                                       for c in chars):
        raise TypeError("chars: expected a list of single characters (tasks.text_vocab()), "
                        f"received {type(chars).__name__}")
    V, H = params["out"]["W_y"].shape
    if len(chars) != V or len(set(chars)) != V:
        raise ValueError(f"chars: expected {V} distinct characters (the readout's size), "
                         f"received {len(chars)} ({len(set(chars))} distinct)")
    length = check_int("length", length, low=1)
    temperature = check_positive("temperature", temperature, allow_zero=True)
    index = {c: i for i, c in enumerate(chars)}
    sampling.check_prime(prime, index)
    opts, widths, _ = check_model(mod, params, V, cell_opts)
    dtype = params["out"]["W_y"].dtype
    ids = sampling.generate(mod, params["cell"], np.eye(V, dtype=dtype), params["out"],
                            [index[c] for c in prime], length, temperature,
                            np.random.default_rng(seed), opts, _zeros(widths, 1, dtype))
    return "".join(chars[i] for i in ids)


def data_loss(task, y):
    if task.loss == "mse":
        return losses.mse(y, task.y.astype(y.dtype), task.mask)
    return losses.softmax_cross_entropy(y, task.y, task.mask)


def loss_and_grads(cell, params, task, truncate=None, omega_weight=0.0, omega_mode="immediate",
                   **cell_opts):
    """Loss on one batch and the gradient of loss + omega_weight * Omega.

    task: a Task (the batch). Returns (loss, omega, grads like params, h (N, T, H)); omega is
    0.0 unless omega_weight > 0 (Elman only; dL/dh_t held constant, see regularizer.py).
    """
    mod = _cell_module(cell)
    task = check_task(task)
    truncate = None if truncate is None else check_int("truncate", truncate, low=1)
    omega_weight, omega_mode = check_omega(mod, omega_weight, omega_mode)
    opts, widths, _ = check_model(mod, params, task.D, cell_opts)
    state0 = _zeros(widths, task.N, task.x.dtype)
    return _loss_and_grads(mod, params, task, state0, opts, truncate, omega_weight, omega_mode)


def _loss_and_grads(mod, params, task, state0, opts, truncate, omega_weight, omega_mode):
    """loss_and_grads without checks: the cell's unchecked forward and backward."""
    x = task.x
    T = x.shape[1]
    try:
        h, _, cache = mod.forward(x, state0, params["cell"], check=False, **opts)
    except FloatingPointError:                  # the Elman states left float range: diverged
        return float("nan"), 0.0, None, None
    if not np.isfinite(h).all():
        return float("nan"), 0.0, None, h
    y, ocache = affine_forward(h if task.many_to_many else h[:, -1], params["out"])
    if not np.isfinite(y).all():                # finite states, overflowing outputs
        return float("nan"), 0.0, None, h
    loss, dy = data_loss(task, y)
    dread, gout = affine_backward(dy, ocache)
    # many-to-one: the loss reads h_T only, dh at one step
    dh = sequence.steps(dread, T) if task.many_to_many else {T - 1: dread}
    _, _, gcell = mod.backward(dh, cache, None, truncate, check=False)
    omega = 0.0
    if omega_weight > 0:
        act = activations.ACTIVATIONS[opts["activation"]]
        h_tm = h.transpose(1, 0, 2)
        g = regularizer.time_major_state_gradients(dh, h_tm, params["cell"]["W_h"], act, truncate)
        omega, gomega = regularizer.time_major_omega(g, x.transpose(1, 0, 2), state0["h"], h_tm,
                                           params["cell"], act, omega_mode)
        gcell = {k: gcell[k] + omega_weight * gomega[k] for k in gcell}
    return loss, omega, {"cell": gcell, "out": gout}, h


def check_omega(mod, omega_weight, omega_mode):
    """The regulariser's weight and mode; a weight > 0 needs the Elman RNN."""
    omega_weight = check_positive("omega_weight", omega_weight, allow_zero=True)
    check_choice("omega_mode", omega_mode, regularizer.MODES)
    if omega_weight > 0 and mod is not elman:
        name = mod.__name__.rsplit(".", 1)[-1]
        raise ValueError(f"omega_weight: the regulariser is defined for the Elman RNN ('rnn') "
                         f"only, received cell {name!r} with omega_weight = {omega_weight}")
    return omega_weight, omega_mode


def _finite(tree):
    return all(np.isfinite(a).all() for a in optim.leaves(tree))


def evaluate(cell, params, task, **cell_opts):
    """(data loss, task.score, task.error, task.success) of params on a Task.

    A model whose states overflow scores (inf, inf or 0.0, inf, False) instead of raising.
    """
    mod = _cell_module(cell)
    task = check_task(task)
    opts, widths, H = check_model(mod, params, task.D, cell_opts)
    return _evaluate(mod, params, task, _zeros(widths, task.N, task.x.dtype), opts)


def _evaluate(mod, params, task, state0, opts):
    """evaluate without checks."""
    H = params["out"]["W_y"].shape[1]
    with np.errstate(all="ignore"):
        try:
            h, _, _ = mod.forward(task.x, state0, params["cell"], check=False, **opts)
        except FloatingPointError:              # the Elman states left float range
            h = np.full((task.N, task.T, H), np.inf)
        y = h if task.many_to_many else h[:, -1]
        y = affine_forward(y, params["out"])[0] if np.isfinite(y).all() else y
    if not np.isfinite(y).all():
        worst = float("inf") if task.metric in LOWER_IS_BETTER else 0.0
        return float("inf"), worst, float("inf"), False
    loss, _ = data_loss(task, y)
    return loss, task.score(y), task.error(y), task.success(y)


def fit(cell, task, H, steps=1000, batch_size=32, lr=0.1, seed=0, optimizer="sgd",
        momentum=0.9, schedule=None, clip=None, clip_value=None, omega_weight=0.0,
        omega_mode="immediate", val_every=50, patience=None, until_success=False,
        truncate=None, init=None, params=None, l2=0.0, l1=0.0, record_grads=False,
        **cell_opts):
    """Train cell + readout on `task` by minibatch SGD. Returns (params, History).

    cell: a name in cells.CELLS ('rnn', 'lstm', 'gru', 'gated_feedback') or a cell module;
    cell_opts are its options (activation, form, L). task: the validation set (fresh training batches are drawn from its generator).
    optimizer 'sgd', 'momentum' (v <- momentum v + lr g; theta <- theta - v) or 'adam'
    (optim.update, the one update step of the package's trainers).
    schedule: a callable k -> learning rate (optim.exponential, linear, step); replaces lr.
    clip: global-norm threshold c (clipping.norm_scale); clip_value: per-entry threshold.
    omega_weight: lambda of Pascanu's regulariser (Elman only), omega_mode its derivative.
    Validation every val_every steps and after the last; patience: stop after that many
    validations without a lower error; until_success: stop at the first validation that
    succeeds. truncate: truncated BPTT window. init: kwargs for cell.init_params; params:
    start from these instead. l2, l1: weight decay of the weight matrices (optim.weight_decay,
    added to the gradient before it is measured and clipped); record_grads: keep every
    gradient before clipping, flattened, in History.grads. Returns the params of the best validation (lowest error,
    earliest on ties), as early stopping prescribes. multirun.fit_many trains many seeds
    (and settings) of one cell at once, each run equal to the fit it stands for.

    Easy settings (tasks.* with seed=123, N=300 validation sequences; optimizer="momentum",
    clip=1.0, val_every=25, until_success=True, batch_size=32; lr 0.1 for the LSTM and the
    GRU). Seeds 0-2 of the Elman RNN, the LSTM and the GRU succeed on each, in 0.01 s to
    about 5 s on 2 cores (benchmarks/bench_fit.py measures them; the slowest, the LSTM on
    text, took a median of 4.7 s):
      adding(T=10)                          H=32, lr=0.05 (Elman)
      memory(T=10, position=(0, 2))         H=16, lr=0.1
      temporal_order(T=10)                  H=32, lr=0.05
      latch(T=10)                           H=8,  lr=0.1
      copy(T=7, n_symbols=2, length=2)      H=32, lr=0.05
      text(N=128, T=32, seed=None)          H=64, lr=0.05: below 3.5 bits per character
    The gated-feedback RNN (L=2) succeeds on adding(T=10) with H=32, lr=0.05 for seeds
    0-2 in 75-150 steps (measured; tests/test_train.py runs seed 0); on memory(T=10,
    position=(0, 2)) with H=16, lr=0.1, seeds 0 and 1 took 550 and 500 steps and seed 2
    had not succeeded after 1500.
    At memory(T=20, position=(0, 2)) the same Elman setting fails for seeds 0-2 within
    3000 steps (~10 s each), where LSTM succeeds in <= 100 steps and GRU in <= 2775: the
    vanishing-gradient experiment in miniature.
    """
    t0 = time.perf_counter()
    mod = _cell_module(cell)
    task = check_task(task)
    H = check_int("H", H, low=1)
    steps = check_int("steps", steps, low=1)
    batch_size = check_int("batch_size", batch_size, low=1)
    check_choice("optimizer", optimizer, optim.OPTIMIZERS)
    momentum = optim.check_momentum("momentum", momentum)
    l2 = check_positive("l2", l2, allow_zero=True)
    l1 = check_positive("l1", l1, allow_zero=True)
    if schedule is None:
        lr = check_positive("lr", lr)
        schedule = optim.constant(lr)
    elif not callable(schedule):
        raise TypeError(f"schedule: expected a callable k -> lr, received {type(schedule).__name__}")
    if clip is not None:
        clip = clipping.check_threshold("clip", clip)
    if clip_value is not None:
        clip_value = clipping.check_threshold("clip_value", clip_value)
    omega_weight, omega_mode = check_omega(mod, omega_weight, omega_mode)
    val_every = check_int("val_every", val_every, low=1)
    if patience is not None:
        patience = check_int("patience", patience, low=1)
    if truncate is not None:
        truncate = check_int("truncate", truncate, low=1)

    if params is None:
        params = init_model(mod, task.D, H, task.n_out, seed=seed, init=init, **cell_opts)
    opts, widths, _ = check_model(mod, params, task.D, cell_opts)
    state0 = _zeros(widths, batch_size, task.x.dtype)       # every training batch's
    val_state0 = _zeros(widths, task.N, task.x.dtype)       # the validation set's
    opt_state = None                           # momentum's velocity, Adam's moments
    rng = np.random.default_rng(seed)          # the run's one stream of training batches
    hist = History()
    best_params, since_best = params, 0

    for k in range(steps):
        batch = task.resample(batch_size, rng)
        with np.errstate(all="ignore"):      # divergence is a result here: detected, not warned
            loss, om, grads, _ = _loss_and_grads(mod, params, batch, state0, opts, truncate,
                                                 omega_weight, omega_mode)
            if grads is not None and (l2 or l1):
                grads = optim.tree_map(lambda g, d, path: g + d, grads,
                                       optim.weight_decay(params, l2, l1))
            # the norm is finite exactly when every entry is
            norm = clipping.global_norm(grads, check=False) if grads is not None else np.inf
            ok = bool(np.isfinite(loss) and np.isfinite(norm))
            norm = norm if ok else float("inf")
        hist.loss.append(loss)
        hist.omega.append(om)
        hist.grad_norm.append(norm)
        rate = schedule(k)
        hist.lr.append(rate)
        if not ok:
            hist.clipped.append(False)
            hist.n_value_clipped.append(0)
            hist.stop_reason, hist.stopped_early = "diverged", True
            break
        if record_grads:
            hist.grads.append(np.concatenate([g.ravel() for g in optim.leaves(grads)]))
        grads, clipped, n_val = clipping.clip(grads, norm, clip, clip_value)
        hist.clipped.append(clipped)
        hist.n_value_clipped.append(n_val)
        with np.errstate(all="ignore"):
            new, opt_state = optim.update(params, grads, opt_state, k, rate, optimizer, momentum,
                                          check=False)
        if not _finite(new):
            hist.stop_reason, hist.stopped_early = "diverged", True
            break
        params, hist.steps_run = new, k + 1

        if (k + 1) % val_every == 0 or k + 1 == steps:
            stop = _validate(mod, params, task, val_state0, opts, hist, k + 1)
            if hist.val_error[-1] < hist.best_error:
                hist.best_error, hist.best_step, best_params = hist.val_error[-1], k + 1, params
                hist.succeeded = hist.val_success[-1]
                since_best = 0
            else:
                since_best += 1
            if until_success and stop:
                hist.stop_reason, hist.stopped_early = "success", k + 1 < steps
                best_params, hist.best_step, hist.succeeded = params, k + 1, True
                hist.best_error = hist.val_error[-1]
                break
            if patience is not None and since_best >= patience:
                hist.stop_reason, hist.stopped_early = "patience", k + 1 < steps
                break

    if not hist.val_step:                    # diverged before the first validation
        _validate(mod, params, task, val_state0, opts, hist, hist.steps_run)
        hist.best_error, hist.best_step, best_params = hist.val_error[-1], hist.steps_run, params
        hist.succeeded = hist.val_success[-1]
    hist.wall_time = time.perf_counter() - t0
    return best_params, hist


def _validate(mod, params, task, state0, opts, hist, step):
    """Append one validation to hist; returns task.success."""
    return record(hist, _evaluate(mod, params, task, state0, opts), step)


def record(hist, res, step):
    """Append one validation's (loss, score, error, success) at `step` to hist; returns
    success. fit and multirun.fit_many keep their histories with it."""
    loss, score, error, success = res
    hist.val_step.append(step)
    hist.val_loss.append(loss)
    hist.val_score.append(score)
    hist.val_error.append(error)
    hist.val_success.append(success)
    if success and hist.first_success_step is None:
        hist.first_success_step = step
    return success
