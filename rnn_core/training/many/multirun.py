"""Many independent training runs as one batched computation: fit_many.

fit_many trains K models of one cell type at once. Their parameters are stacked along a
leading axis (K, ...), so each step of the recurrence is one stacked matmul and one
elementwise pass for all K runs instead of K small ones (the passes are parallel.py's). Each
run has its own seed (its initial parameters and its stream of training batches, the ones
`train.fit` with that seed would draw), its own learning rate or schedule, momentum
coefficient, clipping thresholds (global norm, per run, and per entry) and regulariser
weight (Pascanu's Omega, Elman only, as in fit). Each run stops on its own: on success at a
validation (until_success), on patience, or on divergence (a non-finite loss, gradient or
update); from then on it is masked out (its rows leave the stack, so it costs nothing and
its result is frozen).

Run k's results equal those of `train.fit(cell, task, H, seed=seeds[k], lr=lr[k], ...)`:
the same parameters, loss history, validations and stopping step, to rounding (1e-12 in
tests/test_multirun.py). Only the order of a few sums differs.

Per update the trainer adds to the stacked passes: each run's batch drawn from its own
generator as fit draws it and stacked (batches.draw), and vectorised bookkeeping: the
global norms as one np.vecdot per parameter, clipping and the SGD or momentum update in
place into a second set of parameter arrays, and one list append per run and history field.

seedgrid.grid runs tables of experiments (lengths x methods x seeds) on top of fit_many.
"""
import time
from dataclasses import dataclass, field

import numpy as np

from . import batches, parallel, parallel_loss
from ...remedies import clipping, optim, regularizer
from .. import train
from .parallel import CELLS
from ...validate import check_choice, check_int, check_positive

DTYPES = (np.float64, np.float32)


# ----------------------------------------------------------------------------------------
# Per-run settings and the result
# ----------------------------------------------------------------------------------------

def _per_run(name, value, K, check, allow_none=False):
    """A scalar or a length-K sequence -> a list of K checked values (check(name, v))."""
    if isinstance(value, (list, tuple, np.ndarray)):
        if len(value) != K:
            raise ValueError(f"{name}: expected a scalar or a sequence of K = {K} values (one "
                             f"per seed), received a sequence of length {len(value)}")
        items = list(value)
        names = [f"{name}[{i}]" for i in range(K)]
    else:
        items, names = [value] * K, [name] * K
    return [None if (v is None and allow_none) else check(n, v) for n, v in zip(names, items)]


def check_seeds(seeds):
    if isinstance(seeds, (int, np.integer)) and not isinstance(seeds, bool):
        raise TypeError(f"seeds: expected a sequence of integer seeds (one per run), received "
                        f"the int {seeds}; pass range({seeds}) for that many runs")
    if not isinstance(seeds, (list, tuple, range, np.ndarray)) or len(seeds) == 0:
        got = f"length {len(seeds)}" if isinstance(seeds, (list, tuple, range)) else type(seeds).__name__
        raise ValueError(f"seeds: expected a non-empty sequence of integer seeds, received {got}")
    return [check_int(f"seeds[{i}]", s, low=0) for i, s in enumerate(seeds)]


def _check_schedule(name, s):
    if not callable(s):
        raise TypeError(f"{name}: expected a callable k -> lr (optim.exponential, ...), "
                        f"received {type(s).__name__}")
    return s


def _check_dtype(dtype):
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt not in [np.dtype(d) for d in DTYPES]:
        raise TypeError(f"dtype: expected numpy.float64 or numpy.float32, received {dtype!r}")
    return dt


@dataclass
class Runs:
    """What fit_many returns: run k's params and History as fit would return them, and the
    settings it ran with (seed, lr, clip, ...). Summary arrays over runs: succeeded,
    steps_to_success (NaN where a run never succeeded), final_error (the error of the
    returned params), stop_reason."""
    params: list
    histories: list
    settings: list = field(default_factory=list)
    wall_time: float = 0.0               # seconds for all runs together

    def __len__(self):
        return len(self.histories)

    @property
    def succeeded(self):
        return np.array([h.succeeded for h in self.histories])

    @property
    def steps_to_success(self):
        return np.array([np.nan if h.first_success_step is None else h.first_success_step
                         for h in self.histories], float)

    @property
    def final_error(self):
        return np.array([h.best_error for h in self.histories], float)

    @property
    def stop_reason(self):
        return [h.stop_reason for h in self.histories]

    def summary(self):
        """One dict per run: its settings and succeeded, steps_to_success, final_error,
        stop_reason, steps_run."""
        return [{**s, "succeeded": bool(h.succeeded), "steps_to_success": h.first_success_step,
                 "final_error": h.best_error, "stop_reason": h.stop_reason,
                 "steps_run": h.steps_run} for s, h in zip(self.settings, self.histories)]


# ----------------------------------------------------------------------------------------
# The trainer
# ----------------------------------------------------------------------------------------

def fit_many(cell, task, H, seeds, steps=1000, batch_size=32, lr=0.1, optimizer="sgd",
             momentum=0.9, schedule=None, clip=None, clip_value=None, omega_weight=0.0,
             omega_mode="immediate", val_every=50, patience=None, until_success=False,
             truncate=None, init=None, params=None, dtype=np.float64, **cell_opts):
    """Train K = len(seeds) models at once; run k is train.fit(..., seed=seeds[k], ...).

    cell: 'rnn' (the Elman RNN, option activation), 'lstm' or 'gru' (option form), or one
    of those modules; task: the validation set, as for fit. Per run (a scalar for all runs
    or a sequence of K values): lr, schedule (a callable k -> lr, or None), momentum, clip,
    clip_value (None: no clipping), omega_weight. Shared by all runs: the cell and its
    options, H, steps, batch_size, optimizer ('sgd' or 'momentum'), omega_mode, val_every,
    patience, until_success, truncate, init. params: None, or a list of K params dicts
    (init_model's) to start from. dtype: float64 (what fit computes) or float32 (batches,
    validation inputs and params are cast; validation metrics stay float64 where tasks.py
    computes them so). Returns a Runs record (params and History per run, as fit returns
    them); History.wall_time is the time until that run stopped, all runs sharing the clock.
    """
    t0 = time.perf_counter()
    if isinstance(cell, str):
        check_choice("cell", cell, CELLS)
        mod = CELLS[cell]
    elif cell in CELLS.values():
        mod = cell
    else:
        raise TypeError(f"cell: expected one of {sorted(CELLS)} or its module, received {cell!r}")
    task = train.check_task(task)
    H = check_int("H", H, low=1)
    seeds = check_seeds(seeds)
    K = len(seeds)
    steps = check_int("steps", steps, low=1)
    batch_size = check_int("batch_size", batch_size, low=1)
    check_choice("optimizer", optimizer, ("sgd", "momentum"))
    dtype = _check_dtype(dtype)
    scheds = _per_run("schedule", schedule, K, _check_schedule, allow_none=True)
    lrs = _per_run("lr", lr, K, check_positive)
    scheds = [optim.constant(a) if s is None else s for s, a in zip(scheds, lrs)]
    gammas = np.array(_per_run("momentum", momentum, K, optim.check_momentum))
    clips = _per_run("clip", clip, K, clipping.check_threshold, allow_none=True)
    cvals = _per_run("clip_value", clip_value, K, clipping.check_threshold, allow_none=True)
    weights = np.array(_per_run("omega_weight", omega_weight, K,
                                lambda n, w: _named_omega(mod, n, w, omega_mode)))
    check_choice("omega_mode", omega_mode, regularizer.MODES)
    val_every = check_int("val_every", val_every, low=1)
    if patience is not None:
        patience = check_int("patience", patience, low=1)
    if truncate is not None:
        truncate = check_int("truncate", truncate, low=1)
    if params is not None and (not isinstance(params, (list, tuple)) or len(params) != K):
        got = f"length {len(params)}" if isinstance(params, (list, tuple)) else type(params).__name__
        raise ValueError(f"params: expected None or a list of K = {K} params dicts (one per "
                         f"seed), received {got}")

    # initial parameters, run by run as fit makes them, then stacked
    opts, starts = _starts(mod, task, H, seeds, params, init, cell_opts, dtype)
    F = {**parallel.fuse(mod, opts, parallel.stack([p["cell"] for p in starts])),
         **parallel.stack([p["out"] for p in starts])}
    keys = list(F)
    F2 = {k: np.empty_like(v) for k, v in F.items()}    # the next params: updates go here
    V = {k: np.zeros_like(v) for k, v in F.items()} if optimizer == "momentum" else None

    lrs_const = all(s is None for s in _per_run("schedule", schedule, K, lambda n, v: v,
                                                allow_none=True))
    lr_arr = np.array(lrs)
    clip_arr = np.array([np.inf if c is None else c for c in clips])
    cval_arr = np.array([np.inf if c is None else c for c in cvals])
    any_omega = bool((weights > 0).any())
    x_val = task.x.astype(dtype).transpose(1, 0, 2)[None]     # (1, T, N, D)
    rngs = [np.random.default_rng(s) for s in seeds]     # one stream per run, as fit keeps
    hists = [train.History() for _ in range(K)]
    best = [{k: F[k][r].copy() for k in keys} for r in range(K)]   # fit: the start params
    final = [None] * K
    since_best = [0] * K
    active = np.arange(K)                 # run ids of the stacked rows
    many = task.many_to_many
    ws = {}                               # the passes' large arrays, reused across steps

    def rows(r):
        return {k: F[k][r].copy() for k in keys}

    for step in range(steps):
        A = len(active)
        xs, data = batches.draw(task, [rngs[r] for r in active], batch_size, dtype, ws)
        om_arg = (weights[active], omega_mode) if any_omega else None
        with np.errstate(all="ignore"):
            loss, om, grads, h_ok = parallel_loss.loss_and_grads(
                mod, opts, xs, data, F, truncate, om_arg, many, train.data_loss, ws)
            norm, g_ok = parallel_loss.global_norms({k: grads[k].reshape(A, -1) for k in keys})
        ok = h_ok & np.isfinite(loss) & g_ok
        norm = np.where(ok, norm, np.inf)
        om = np.where(h_ok, om, 0.0)
        rates = lr_arr[active] if lrs_const else np.array([scheds[r](step) for r in active])
        done = ~ok
        for j, (r, a, o, n, lr_) in enumerate(zip(active, loss.tolist(), om.tolist(),
                                                 norm.tolist(), rates.tolist())):
            h = hists[r]
            h.loss.append(a)
            h.omega.append(o)
            h.grad_norm.append(n)
            h.lr.append(lr_)
            if done[j]:
                h.clipped.append(False)
                h.n_value_clipped.append(0)
                h.stop_reason, h.stopped_early = "diverged", True
                final[r] = rows(j)

        clipped, n_val = _clip(grads, keys, norm, ok, clip_arr[active], cval_arr[active], dtype)
        new_ok = _update(F, F2, V, grads, keys, rates.astype(dtype),
                         None if V is None else gammas[active].astype(dtype), ok)
        for j, (r, o, n_o, c, nv) in enumerate(zip(active.tolist(), ok.tolist(), new_ok.tolist(),
                                                  clipped.tolist(), n_val.tolist())):
            if not o:
                continue
            h = hists[r]
            h.clipped.append(c)
            h.n_value_clipped.append(nv)
            if n_o:
                h.steps_run = step + 1
            else:
                h.stop_reason, h.stopped_early = "diverged", True
                final[r], done[j] = rows(j), True
        F, F2 = F2, F

        if (step + 1) % val_every == 0 or step + 1 == steps:
            live = np.flatnonzero(~done)
            results = parallel_loss.evaluate(mod, opts, task, x_val, {k: v[live] for k, v in F.items()},
                                        train.data_loss, ws) if len(live) else []
            for j, res in zip(live, results):
                r = active[j]
                h = hists[r]
                stop = train.record(h, res, step + 1)
                if h.val_error[-1] < h.best_error:
                    h.best_error, h.best_step, best[r] = h.val_error[-1], step + 1, rows(j)
                    h.succeeded = h.val_success[-1]
                    since_best[r] = 0
                else:
                    since_best[r] += 1
                if until_success and stop:
                    h.stop_reason, h.stopped_early = "success", step + 1 < steps
                    best[r], h.best_step, h.succeeded = rows(j), step + 1, True
                    h.best_error = h.val_error[-1]
                    final[r], done[j] = best[r], True
                elif patience is not None and since_best[r] >= patience:
                    h.stop_reason, h.stopped_early = "patience", step + 1 < steps
                    final[r], done[j] = rows(j), True
        if step + 1 == steps:
            for j, r in enumerate(active):
                if not done[j]:
                    final[r], done[j] = rows(j), True
        now = time.perf_counter() - t0
        for j in np.flatnonzero(done):
            hists[active[j]].wall_time = now
        if done.any():
            keep = ~done
            active = active[keep]
            F = {k: v[keep] for k, v in F.items()}
            F2 = {k: np.empty_like(v) for k, v in F.items()}
            if V is not None:
                V = {k: v[keep] for k, v in V.items()}
            ws.clear()                    # the stack is smaller now: new buffer shapes
        if not len(active):
            break

    # runs that diverged before their first validation are validated where they stopped
    late = [r for r in range(K) if not hists[r].val_step]
    if late:
        Fl = {k: np.stack([final[r][k] for r in late]) for k in keys}
        for r, res in zip(late, parallel_loss.evaluate(mod, opts, task, x_val, Fl, train.data_loss)):
            h = hists[r]
            train.record(h, res, h.steps_run)
            h.best_error, h.best_step, best[r] = h.val_error[-1], h.steps_run, final[r]
            h.succeeded = h.val_success[-1]
    out = []
    for r in range(K):
        cp = parallel.unfuse(mod, opts, {k: v[None] for k, v in best[r].items()}, 0)
        out.append({"cell": {a: cp[a] for a in starts[0]["cell"]},        # init's key order
                    "out": {"W_y": best[r]["W_y"].copy(), "b_y": best[r]["b_y"].copy()}})
    settings = [{"seed": seeds[r], "lr": lrs[r] if schedule is None else scheds[r],
                 "momentum": float(gammas[r]) if optimizer == "momentum" else None,
                 "clip": clips[r], "clip_value": cvals[r], "omega_weight": float(weights[r])}
                for r in range(K)]
    return Runs(out, hists, settings, time.perf_counter() - t0)


def _starts(mod, task, H, seeds, params, init, cell_opts, dtype):
    """Every run's initial params (init_model with its seed, or params[k]), checked and cast
    to dtype. Returns (the cell's checked options, the list of params dicts)."""
    opts, starts = None, []
    for k, s in enumerate(seeds):
        p = (train.init_model(mod, task.D, H, task.n_out, seed=s, init=init, **cell_opts)
             if params is None else params[k])
        try:
            opts, _, _ = train.check_model(mod, p, task.D, cell_opts)
        except (TypeError, ValueError) as e:
            raise type(e)(f"params[{k}]: {e}") from None
        starts.append({"cell": {a: v.astype(dtype) for a, v in p["cell"].items()},
                       "out": {a: v.astype(dtype) for a, v in p["out"].items()}})
    if starts[0]["out"]["W_y"].shape[1] != H:
        raise ValueError(f"params: expected readouts reading H = {H} states, received W_y of "
                         f"shape {starts[0]['out']['W_y'].shape}")
    return opts, starts


def _clip(grads, keys, norm, ok, c, cv, dtype):
    """Global-norm clipping at c (A,) and clipping by value at cv (A,), per run, in place
    in grads (inf: off). Returns (clipped (A,) bool, entries changed by value (A,) int)."""
    A = len(norm)
    scale, clipped = clipping.norm_scale(norm, c)
    clipped &= ok
    if clipped.any():
        scale = np.where(clipped, scale, 1.0).astype(dtype)
        for k in keys:
            grads[k] *= scale.reshape((A,) + (1,) * (grads[k].ndim - 1))
    n_val = np.zeros(A, int)
    if np.isfinite(cv).any():
        for k in keys:
            b = cv.astype(dtype).reshape((A,) + (1,) * (grads[k].ndim - 1))
            grads[k], changed = clipping.value_clip(grads[k], b)
            n_val += changed.reshape(A, -1).sum(axis=1)
    return clipped, n_val


def _update(F, F2, V, grads, keys, rate, gamma, ok):
    """F2 = the SGD (V None) or momentum update of F (optim.sgd / optim.momentum, per run:
    rate (A,), gamma (A,)), in place; grads and V are overwritten. Rows that come out
    non-finite keep F. Returns new_ok (A,): ok and the update finite."""
    A = len(rate)
    new_ok = ok.copy()
    with np.errstate(all="ignore"):
        for k in keys:
            shape = (A,) + (1,) * (F[k].ndim - 1)
            g = grads[k]
            np.multiply(g, rate.reshape(shape), out=g)              # lr g
            if V is not None:
                V[k] *= gamma.reshape(shape)                         # gamma v + lr g
                V[k] += g
                g = V[k]
            np.subtract(F[k], g, out=F2[k])
            new_ok &= parallel_loss.finite_rows(F2[k])
    if not new_ok.all():
        for k in keys:
            F2[k][~new_ok] = F[k][~new_ok]
    return new_ok


def _named_omega(mod, name, w, mode):
    try:
        return train.check_omega(mod, w, mode)[0]
    except (TypeError, ValueError) as e:
        raise type(e)(str(e).replace("omega_weight", name, 1)) from None
