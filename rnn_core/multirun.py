"""Many independent training runs as one batched computation: fit_many and grid.

fit_many trains K models of one cell type at once. Their parameters are stacked along a
leading axis (K, ...), so each step of the recurrence is one stacked matmul and one
elementwise pass for all K runs instead of K small ones. Each run has its own seed (its
initial parameters and its stream of training batches, the ones `train.fit` with that seed
would draw), its own learning rate or schedule, momentum coefficient, clipping thresholds
(global norm, per run, and per entry) and regulariser weight (Pascanu's Omega, Elman only,
as in fit). Each run stops on its own: on success at a validation (until_success), on
patience, or on divergence (a non-finite loss, gradient or update); from then on it is
masked out (its rows leave the stack, so it costs nothing and its result is frozen).

Run k's results equal those of `train.fit(cell, task, H, seed=seeds[k], lr=lr[k], ...)`:
the same parameters, loss history, validations and stopping step, to rounding (1e-12 in
tests/test_multirun.py). Only the order of a few sums differs.

How the computation is shared with fit. The recurrences are the cells' own step functions
(elman._step/_step_back, lstm._step/_local/_step_back, gru.STEPS[form]), which accept
stacked weights (K, G, H) and states (K, N, H) under np.matmul broadcasting. Around them
this module adds only bookkeeping: the gates stacked in one matrix per run (the cells'
own internal layout, here with a run axis: W_h (K, G, H), W_x (K, G, D), b (K, G), and
for the cuDNN GRU b_h (K, G)), the input projection and the weight gradients as stacked
matmuls, and the affine readout y = h W_y^T + b_y with W_y (K, O, H). Losses, metrics and
Omega are losses.py's, tasks.py's and regularizer.py's functions (Omega takes stacked
runs). Inside, arrays are (K, T, N, .): run-major, time-major within a run.

Elementwise work per unit and step is what the cells do: the Elman RNN one activation
(f' is read from h in the backward pass), the GRU three and the LSTM five
transcendentals (exp for each sigmoid gate, tanh for the candidate and tanh C_t).

grid(task, lengths, methods, seeds) runs a table of experiments (lengths x methods x
seeds) with one fit_many per length and group of methods that share a cell, and returns
one record per run plus success rates with their spread.
"""
import math
import time
from dataclasses import dataclass, field

import numpy as np

from . import activations, optim, regularizer, train
from .cells import bptt, elman, gru, lstm
from .tasks import LOWER_IS_BETTER, Task
from .validate import check_choice, check_int, check_positive

CELLS = {"rnn": elman, "lstm": lstm, "gru": gru}      # the cells fit_many trains
DTYPES = (np.float64, np.float32)
CHUNK = 2 ** 22          # validation forward: at most this many gate entries per chunk of runs


# ----------------------------------------------------------------------------------------
# Parameters: a cell's dicts <-> the stacked gate layout (K, G, .)
# ----------------------------------------------------------------------------------------

def _fuse(mod, opts, p):
    """Stacked cell params {key: (K, ...)} -> {"W_h" (K, G, H), "W_x" (K, G, D), "b" (K, G)
    [, "b_h" (K, G)]}: the gates stacked as the cell stacks them internally."""
    if mod is elman:
        return {"W_h": p["W_h"].copy(), "W_x": p["W_x"].copy(), "b": p["b"].copy()}
    if mod is gru and opts["form"] == "cudnn":
        return {k: np.concatenate([p[f"{pre}{g}"] for g in "rzn"], axis=-1 if pre[0] == "b" else -2)
                for k, pre in (("W_h", "W_h"), ("W_x", "W_i"), ("b", "b_i"), ("b_h", "b_h"))}
    gates = lstm.GATES if mod is lstm else gru.GATES["sources"]
    H = p["b_" + gates[0]].shape[-1]
    W = np.concatenate([p["W_" + g] for g in gates], axis=-2)       # (K, G, H + D)
    return {"W_h": np.ascontiguousarray(W[..., :H]), "W_x": np.ascontiguousarray(W[..., H:]),
            "b": np.concatenate([p["b_" + g] for g in gates], axis=-1)}


def _unfuse(mod, opts, f, r):
    """Row r of the stacked gate layout -> the cell's own params dict (new arrays)."""
    keys = mod.param_shapes(1, 1, **({"form": opts["form"]} if mod is gru else {}))
    if mod is elman:
        out = {k: f[k][r].copy() for k in ("W_h", "W_x", "b")}
    else:
        H = f["W_h"].shape[-1]
        blk = lambda j: slice(j * H, (j + 1) * H)                      # noqa: E731
        out = {}
        if mod is gru and opts["form"] == "cudnn":
            for j, g in enumerate("rzn"):
                out[f"W_i{g}"], out[f"W_h{g}"] = f["W_x"][r, blk(j)].copy(), f["W_h"][r, blk(j)].copy()
                out[f"b_i{g}"], out[f"b_h{g}"] = f["b"][r, blk(j)].copy(), f["b_h"][r, blk(j)].copy()
        else:
            gates = lstm.GATES if mod is lstm else gru.GATES["sources"]
            for j, g in enumerate(gates):
                out["W_" + g] = np.concatenate([f["W_h"][r, blk(j)], f["W_x"][r, blk(j)]], axis=1)
                out["b_" + g] = f["b"][r, blk(j)].copy()
    return {k: out[k] for k in keys}


def _stack(trees):
    """K dicts of arrays with one structure -> one dict of stacked (K, ...) arrays."""
    return {k: np.stack([t[k] for t in trees]) for k in trees[0]}


# ----------------------------------------------------------------------------------------
# Stacked sequence passes: the cells' step functions with a run axis
# ----------------------------------------------------------------------------------------

def _T(a):
    return np.swapaxes(a, -1, -2)


def _rows(a):
    """(K, T, N, I) -> (K, T*N, I): one row per (step, batch item), per run (a view if it can)."""
    return a.reshape(a.shape[0], -1, a.shape[-1])


def _buffer(ws, name, shape, dtype):
    """An uninitialised array from the workspace ws (a dict kept by the caller across
    steps; None: a fresh array). Reusing the large (K, T, N, .) arrays of the passes saves
    the page faults that fresh multi-megabyte arrays cost on first touch (about a fifth of
    an update at K = 32, measured)."""
    if ws is None:
        return np.empty(shape, dtype)
    key = (name, shape, np.dtype(dtype).char)
    if key not in ws:
        ws[key] = np.empty(shape, dtype)
    return ws[key]


def _project(x, W_x, b, ws=None):
    """x (K or 1, T, N, D) -> x_t W_x^T + b for every run and step, (K, T, N, G): one matmul."""
    K1, T, N, D = x.shape
    K, G = W_x.shape[0], W_x.shape[1]
    xw = _buffer(ws, "xw", (K, T, N, G), np.result_type(x, W_x))
    np.matmul(x.reshape(K1, T * N, D), np.ascontiguousarray(_T(W_x)), out=xw.reshape(K, T * N, G))
    xw += b[:, None, None, :]
    return xw


def _forward(mod, opts, x, F, ws=None):
    """All runs' forward pass. x (K or 1, T, N, D) -> (h (K, T, N, H), cache).
    ws: a workspace dict (see _buffer); h and the cache are then valid until the next call."""
    W_h = F["W_h"]
    H = W_h.shape[-1]
    gates = _project(x, F["W_x"], F["b"], ws)                 # xw_t until step t reads it
    K, T, N, _ = gates.shape
    hs = _buffer(ws, "hs", (K, T + 1, N, H), gates.dtype)     # hs[:, 0] = h_0 = 0, hs[:, t+1] = h_t
    hs[:, 0] = 0
    with np.errstate(over="ignore", invalid="ignore"):        # divergence is found per run later
        if mod is elman:
            act = activations.ACTIVATIONS[opts["activation"]]
            for t in range(T):
                hs[:, t + 1] = elman._step(gates[:, t], hs[:, t], W_h, act.f)
            return hs[:, 1:], {"x": x, "hs": hs, "act": act}
        if mod is lstm:
            ss, gs = gates[..., :3 * H], gates[..., 3 * H:]
            tcs = _buffer(ws, "tcs", (K, T, N, H), gates.dtype)
            cs = _buffer(ws, "cs", (K, T + 1, N, H), gates.dtype)
            cs[:, 0] = 0
            for t in range(T):
                hs[:, t + 1], cs[:, t + 1], (ss[:, t], gs[:, t], tcs[:, t]) = lstm._step(
                    gates[:, t], hs[:, t], cs[:, t], W_h)
            return hs[:, 1:], {"x": x, "hs": hs, "cs": cs, "ss": ss, "gs": gs, "tcs": tcs}
        step = gru.STEPS[opts["form"]][0]
        b_h = F["b_h"][:, None, :] if "b_h" in F else None
        ss, ns = gates[..., :2 * H], gates[..., 2 * H:]
        ms = _buffer(ws, "ms", (K, T, N, H), gates.dtype)
        for t in range(T):
            hs[:, t + 1], (ss[:, t], ns[:, t], ms[:, t]) = step(gates[:, t], hs[:, t], W_h, b_h)
        return hs[:, 1:], {"x": x, "hs": hs, "ss": ss, "ns": ns, "ms": ms}


def _backward(mod, opts, dh, cache, F, truncate, keep_g=False, ws=None):
    """All runs' BPTT. dh {t: (K, N, H)} -> (grads like F, g) where g (K, T, N, H) holds the
    total dL/dh_t of every step (keep_g, Elman only: what Omega holds constant) or None."""
    x, hs, W_h = cache["x"], cache["hs"], F["W_h"]
    K, T1, N, H = hs.shape
    T = T1 - 1
    h_prev = _rows(hs[:, :-1])                                 # h_{t-1} rows, a view
    zero = np.zeros((K, N, H), hs.dtype)
    g_all = _buffer(ws, "g", (K, T, N, H), hs.dtype) if keep_g else None
    with np.errstate(over="ignore", invalid="ignore"):
        if mod is elman:
            df = cache["act"].df_from_out
            das = _buffer(ws, "da", (K, T, N, H), hs.dtype)     # dL/da_t
            carry = zero
            for t in range(T - 1, -1, -1):                      # f'(a_t) step by step: in cache
                g = dh.get(t)
                d = carry if g is None else carry + g
                if keep_g:
                    g_all[:, t] = d
                das[:, t], carry = elman._step_back(d, df(hs[:, t + 1]), W_h)
                if bptt.cut(t, truncate):
                    carry = zero
            da = _rows(das)
            grads = {"W_h": _T(da) @ h_prev, "W_x": _T(da) @ _rows(x), "b": da.sum(axis=1)}
            return grads, g_all
        if mod is lstm:
            ss, gs, tcs, cs = cache["ss"], cache["gs"], cache["tcs"], cache["cs"]
            dzs = _buffer(ws, "da", (K, T, N, 4 * H), hs.dtype)
            ch = cc = zero
            for t0, t1 in bptt.blocks(T, K * N * 4 * H * hs.itemsize):   # the last block first
                A, B = lstm._local(ss[:, t0:t1], gs[:, t0:t1], tcs[:, t0:t1], cs[:, t0:t1])
                for t in range(t1 - 1, t0 - 1, -1):
                    g = dh.get(t)
                    dzs[:, t], ch, cc = lstm._step_back(ch if g is None else ch + g, cc,
                                                        A[:, t - t0], B[:, t - t0],
                                                        ss[:, t, :, :H], W_h)
                    if bptt.cut(t, truncate):
                        ch = cc = zero
            dz = _rows(dzs)
            return {"W_h": _T(dz) @ h_prev, "W_x": _T(dz) @ _rows(x), "b": dz.sum(axis=1)}, None
        form = opts["form"]
        _, local, back = gru.STEPS[form]
        ss, ns, ms = cache["ss"], cache["ns"], cache["ms"]
        das_x = _buffer(ws, "da", (K, T, N, 3 * H), hs.dtype)
        das_h = das_x if form == "sources" else _buffer(ws, "da_h", (K, T, N, 3 * H), hs.dtype)
        carry = zero
        for t0, t1 in bptt.blocks(T, K * N * 3 * H * hs.itemsize):     # the last block first
            K_x, K_h, P = local(hs[:, t0:t1], (ss[:, t0:t1], ns[:, t0:t1], ms[:, t0:t1]))
            for t in range(t1 - 1, t0 - 1, -1):
                g = dh.get(t)
                j = t - t0
                das_x[:, t], das_h[:, t], carry = back(carry if g is None else carry + g,
                                                       (K_x[:, j], K_h[:, j], P[:, j]), W_h)
                if bptt.cut(t, truncate):
                    carry = zero
        da_x, da_h = _rows(das_x), _rows(das_h)
        grads = {"W_x": _T(da_x) @ _rows(x), "b": da_x.sum(axis=1)}
        if form == "sources":     # the candidate's recurrent input is r * h_{t-1}, not h_{t-1}
            grads["W_h"] = np.concatenate([_T(da_h[..., :2 * H]) @ h_prev,
                                           _T(da_h[..., 2 * H:]) @ _rows(ms)], axis=-2)
        else:
            grads["W_h"], grads["b_h"] = _T(da_h) @ h_prev, da_h.sum(axis=1)
        return {k: grads[k] for k in F if k in grads}, None


def _readout(h, F, many_to_many):
    """y = h W_y^T + b_y per run: (K, T, N, O) for many-to-many, else (K, N, O) at the last step."""
    hr = h if many_to_many else h[:, -1]
    if many_to_many:
        return hr, hr @ _T(F["W_y"])[:, None] + F["b_y"][:, None, None, :]
    return hr, hr @ _T(F["W_y"]) + F["b_y"][:, None, :]


def _per_run_y(y, k, many_to_many):
    """Run k's outputs in fit's batch-first layout: (N, O) or (N, T, O)."""
    return y[k].transpose(1, 0, 2) if many_to_many else y[k]


def _loss_and_grads(mod, opts, xs, batches, F, truncate, omega, many_to_many, ws=None):
    """Every run's loss on its own batch and the gradient of loss + w Omega (train's
    _loss_and_grads, stacked). omega: None or (weights (K,), mode).

    Returns (loss (K,), omega (K,), grads like F, h_ok (K,) bool: states finite)."""
    K = xs.shape[0]
    h, cache = _forward(mod, opts, xs, F, ws)
    h_ok = np.isfinite(h).reshape(K, -1).all(axis=1)
    hr, y = _readout(h, F, many_to_many)
    loss = np.full(K, np.nan)
    dy = np.zeros_like(y)
    for k in range(K):                          # the losses of losses.py, run by run
        if h_ok[k]:
            loss[k], d = train._data_loss(batches[k], _per_run_y(y, k, many_to_many))
            dy[k] = d.transpose(1, 0, 2) if many_to_many else d
    with np.errstate(over="ignore", invalid="ignore"):
        dhr = dy @ (F["W_y"][:, None] if many_to_many else F["W_y"])
        gout = {"W_y": _T(_rows(dy) if many_to_many else dy) @ (_rows(hr) if many_to_many else hr),
                "b_y": (_rows(dy) if many_to_many else dy).sum(axis=1)}
    T = h.shape[1]
    dh = {t: dhr[:, t] for t in range(T)} if many_to_many else {T - 1: dhr}
    keep_g = omega is not None
    grads, g = _backward(mod, opts, dh, cache, F, truncate, keep_g, ws)
    om = np.zeros(K)
    if keep_g:
        weights, mode = omega
        act = cache["act"]
        with np.errstate(all="ignore"):
            tm = lambda a: a.transpose(1, 0, 2, 3)                 # noqa: E731  (T, K, N, .)
            value, gom = regularizer._omega(tm(g), tm(xs), cache["hs"][:, 0], tm(h),
                                            {k: F[k] for k in ("W_h", "W_x", "b")}, act, mode)
        on = weights > 0
        om = np.where(on & h_ok, value, 0.0)
        for k in gom:
            w = weights.astype(grads[k].dtype).reshape((K,) + (1,) * (grads[k].ndim - 1))
            grads[k] = np.where(on.reshape(w.shape), grads[k] + w * gom[k], grads[k])
    grads.update(gout)
    return loss, om, grads, h_ok


def _evaluate(mod, opts, task, x_val, F, ws=None):
    """train._evaluate for every run: a list of (loss, score, error, success)."""
    K = F["W_h"].shape[0]
    T, N, _ = x_val.shape[1:]
    per_run = T * N * F["W_h"].shape[1]
    chunk = max(1, CHUNK // per_run)
    out = []
    for k0 in range(0, K, chunk):
        Fc = {k: v[k0:k0 + chunk] for k, v in F.items()}
        with np.errstate(all="ignore"):
            h, _ = _forward(mod, opts, x_val, Fc, ws)
            _, y = _readout(h, Fc, task.many_to_many)
        for k in range(y.shape[0]):
            yk = _per_run_y(y, k, task.many_to_many)
            if not np.isfinite(yk).all():
                worst = float("inf") if task.metric in LOWER_IS_BETTER else 0.0
                out.append((float("inf"), worst, float("inf"), False))
                continue
            loss, _ = train._data_loss(task, yk)
            out.append((loss, task.score(yk), task.error(yk), task.success(yk)))
    return out


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


def _check_seeds(seeds):
    if isinstance(seeds, (int, np.integer)) and not isinstance(seeds, bool):
        raise TypeError(f"seeds: expected a sequence of integer seeds (one per run), received "
                        f"the int {seeds}; pass range({seeds}) for that many runs")
    if not isinstance(seeds, (list, tuple, range, np.ndarray)) or len(seeds) == 0:
        got = f"length {len(seeds)}" if isinstance(seeds, (list, tuple, range)) else type(seeds).__name__
        raise ValueError(f"seeds: expected a non-empty sequence of integer seeds, received {got}")
    return [check_int(f"seeds[{i}]", s, low=0) for i, s in enumerate(seeds)]


def _check_momentum(name, v):
    v = check_positive(name, v, allow_zero=True)
    if v >= 1:
        raise ValueError(f"{name}: expected a momentum coefficient in [0, 1), received {v}")
    return v


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
    task = train._check_task(task)
    H = check_int("H", H, low=1)
    seeds = _check_seeds(seeds)
    K = len(seeds)
    steps = check_int("steps", steps, low=1)
    batch_size = check_int("batch_size", batch_size, low=1)
    check_choice("optimizer", optimizer, ("sgd", "momentum"))
    dtype = _check_dtype(dtype)
    scheds = _per_run("schedule", schedule, K, _check_schedule, allow_none=True)
    lrs = _per_run("lr", lr, K, check_positive)
    scheds = [optim.constant(a) if s is None else s for s, a in zip(scheds, lrs)]
    gammas = np.array(_per_run("momentum", momentum, K, _check_momentum))
    clips = _per_run("clip", clip, K, train._threshold, allow_none=True)
    cvals = _per_run("clip_value", clip_value, K, train._threshold, allow_none=True)
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
    opts = None
    starts = []
    for k, s in enumerate(seeds):
        p = (train.init_model(mod, task.D, H, task.n_out, seed=s, init=init, **cell_opts)
             if params is None else params[k])
        try:
            opts, _, _ = train._check_model(mod, p, task.D, cell_opts)
        except (TypeError, ValueError) as e:
            raise type(e)(f"params[{k}]: {e}") from None
        starts.append({"cell": {a: v.astype(dtype) for a, v in p["cell"].items()},
                       "out": {a: v.astype(dtype) for a, v in p["out"].items()}})
    if starts[0]["out"]["W_y"].shape[1] != H:
        raise ValueError(f"params: expected readouts reading H = {H} states, received W_y of "
                         f"shape {starts[0]['out']['W_y'].shape}")
    F = {**_fuse(mod, opts, _stack([p["cell"] for p in starts])),
         **_stack([p["out"] for p in starts])}
    keys = list(F)
    V = {k: np.zeros_like(v) for k, v in F.items()} if optimizer == "momentum" else None

    lrs_const = all(s is None for s in _per_run("schedule", schedule, K, lambda n, v: v,
                                                allow_none=True))
    lr_arr = np.array(lrs)
    clip_arr = np.array([np.inf if c is None else c for c in clips])
    cval_arr = np.array([np.inf if c is None else c for c in cvals])
    any_omega = bool((weights > 0).any())
    omega_w = weights
    x_val = task.x.astype(dtype).transpose(1, 0, 2)[None]     # (1, T, N, D)
    data_rngs = [np.random.default_rng(int(np.random.SeedSequence(s).generate_state(3)[2]))
                 for s in seeds]
    hists = [train.History() for _ in range(K)]
    best = [{k: F[k][r].copy() for k in keys} for r in range(K)]   # fit: the start params
    final = [None] * K
    since_best = [0] * K
    active = np.arange(K)                 # run ids of the stacked rows
    T, D = task.T, task.D
    many = task.many_to_many
    ws = {}                               # the passes' large arrays, reused across steps

    def rows(r):
        return {k: F[k][r].copy() for k in keys}

    for step in range(steps):
        A = len(active)
        xs = _buffer(ws, "xs", (A, T, batch_size, D), dtype)
        batches = []
        for j, r in enumerate(active):    # each run's own stream, as fit draws it
            b = task.resample(batch_size, seed=int(data_rngs[r].integers(2 ** 62)))
            xs[j] = b.x.transpose(1, 0, 2)
            batches.append(b)
        om_arg = (omega_w[active], omega_mode) if any_omega else None
        with np.errstate(all="ignore"):
            loss, om, grads, h_ok = _loss_and_grads(mod, opts, xs, batches, F, truncate,
                                                    om_arg, many, ws)
            flat = {k: grads[k].reshape(A, -1) for k in keys}
            ok = h_ok & np.isfinite(loss)
            for k in keys:
                ok &= np.isfinite(flat[k]).all(axis=1)
            norm = _global_norms(flat)
        norm = np.where(ok, norm, np.inf)
        om = np.where(h_ok, om, 0.0)
        rates = lr_arr[active] if lrs_const else np.array([scheds[r](step) for r in active])
        done = np.zeros(A, bool)
        for j, r in enumerate(active):
            h = hists[r]
            h.loss.append(float(loss[j]))
            h.omega.append(float(om[j]))
            h.grad_norm.append(float(norm[j]))
            h.lr.append(float(rates[j]))
            if not ok[j]:
                h.clipped.append(False)
                h.n_value_clipped.append(0)
                h.stop_reason, h.stopped_early = "diverged", True
                final[r], done[j] = rows(j), True

        c = clip_arr[active]
        clipped = ok & (norm >= c) & (norm > 0)
        if clipped.any():
            scale = np.where(clipped, c / np.where(clipped, norm, 1.0), 1.0).astype(dtype)
            for k in keys:
                grads[k] = grads[k] * scale.reshape((A,) + (1,) * (grads[k].ndim - 1))
        cv = cval_arr[active]
        n_val = np.zeros(A, int)
        if np.isfinite(cv).any():
            for k in keys:
                b = cv.astype(dtype).reshape((A,) + (1,) * (grads[k].ndim - 1))
                n_val += (np.abs(grads[k]) > b).reshape(A, -1).sum(axis=1)
                grads[k] = np.clip(grads[k], -b, b)
        for j, r in enumerate(active):
            if ok[j]:
                hists[r].clipped.append(bool(clipped[j]))
                hists[r].n_value_clipped.append(int(n_val[j]))

        rate = rates.astype(dtype)
        with np.errstate(all="ignore"):
            new, new_ok = {}, ok.copy()
            for k in keys:
                shape = (A,) + (1,) * (F[k].ndim - 1)
                if optimizer == "sgd":
                    new[k] = F[k] - rate.reshape(shape) * grads[k]
                else:
                    V[k] = gammas[active].astype(dtype).reshape(shape) * V[k] \
                        + rate.reshape(shape) * grads[k]
                    new[k] = F[k] - V[k]
                new_ok &= np.isfinite(new[k].reshape(A, -1)).all(axis=1)
        for j, r in enumerate(active):
            if ok[j] and not new_ok[j]:
                hists[r].stop_reason, hists[r].stopped_early = "diverged", True
                final[r], done[j] = rows(j), True
        F = new if new_ok.all() else {k: np.where(new_ok.reshape((A,) + (1,) * (v.ndim - 1)),
                                                  v, F[k]) for k, v in new.items()}
        for j, r in enumerate(active):
            if new_ok[j]:
                hists[r].steps_run = step + 1

        if (step + 1) % val_every == 0 or step + 1 == steps:
            live = np.flatnonzero(~done)
            results = _evaluate(mod, opts, task, x_val, {k: v[live] for k, v in F.items()}, ws) \
                if len(live) else []
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
            if V is not None:
                V = {k: v[keep] for k, v in V.items()}
            ws.clear()                    # the stack is smaller now: new buffer shapes
        if not len(active):
            break

    # runs that diverged before their first validation are validated where they stopped
    late = [r for r in range(K) if not hists[r].val_step]
    if late:
        Fl = {k: np.stack([final[r][k] for r in late]) for k in keys}
        for r, res in zip(late, _evaluate(mod, opts, task, x_val, Fl)):
            h = hists[r]
            train.record(h, res, h.steps_run)
            h.best_error, h.best_step, best[r] = h.val_error[-1], h.steps_run, final[r]
            h.succeeded = h.val_success[-1]
    out = []
    for r in range(K):
        Fr = {k: v[None] for k, v in best[r].items()}
        cp = _unfuse(mod, opts, Fr, 0)
        out.append({"cell": {a: cp[a] for a in starts[0]["cell"]},        # init's key order
                    "out": {"W_y": best[r]["W_y"].copy(), "b_y": best[r]["b_y"].copy()}})
    settings = [{"seed": seeds[r], "lr": lrs[r] if schedule is None else scheds[r],
                 "momentum": float(gammas[r]) if optimizer == "momentum" else None,
                 "clip": clips[r], "clip_value": cvals[r], "omega_weight": float(weights[r])}
                for r in range(K)]
    return Runs(out, hists, settings, time.perf_counter() - t0)


def _named_omega(mod, name, w, mode):
    try:
        return train._check_omega(mod, w, mode)[0]
    except (TypeError, ValueError) as e:
        raise type(e)(str(e).replace("omega_weight", name, 1)) from None


def _global_norms(flat):
    """optim.global_norm per run: flat {key: (A, n)} -> (A,) float64, scaled by the largest
    entry so that huge gradients keep a finite norm."""
    big = np.max([np.abs(a).max(axis=1, initial=0.0) for a in flat.values()], axis=0)
    big = big.astype(np.float64)
    safe = np.where(big > 0, big, 1.0)[:, None]
    total = sum(((a.astype(np.float64) / safe) ** 2).sum(axis=1) for a in flat.values())
    return np.where(big > 0, big * np.sqrt(total), 0.0)


# ----------------------------------------------------------------------------------------
# A table of experiments: lengths x methods x seeds
# ----------------------------------------------------------------------------------------

PER_RUN = ("lr", "schedule", "momentum", "clip", "clip_value", "omega_weight")


@dataclass
class Grid:
    """What grid returns: one record per run (method, T, seed, succeeded, steps_to_success,
    final_error, stop_reason, steps_run) and the settings it was called with."""
    records: list
    methods: list
    lengths: list
    seeds: list
    wall_time: float = 0.0

    def runs(self, method, T):
        return [r for r in self.records if r["method"] == method and r["T"] == T]

    def rate(self, method, T):
        """(successes, runs) of one cell of the table."""
        rs = self.runs(method, T)
        return sum(r["succeeded"] for r in rs), len(rs)

    def table(self, z=1.96):
        """One dict per (method, T): successes, n, rate, its standard error sqrt(p(1-p)/n),
        the Wilson score interval (lo, hi) at z (1.96: 95 %), which stays inside [0, 1] and
        is not empty at rates 0 and 1, and the median steps to success of the successful
        runs (NaN if none)."""
        out = []
        for m in self.methods:
            for T in self.lengths:
                k, n = self.rate(m, T)
                lo, hi = wilson(k, n, z)
                steps = [r["steps_to_success"] for r in self.runs(m, T) if r["succeeded"]]
                out.append({"method": m, "T": T, "successes": k, "n": n, "rate": k / n,
                            "stderr": math.sqrt(k / n * (1 - k / n) / n), "lo": lo, "hi": hi,
                            "median_steps": float(np.median(steps)) if steps else float("nan")})
        return out


def wilson(k, n, z=1.96):
    """The Wilson score interval (lo, hi) for k successes in n trials."""
    k, n = check_int("k", k, low=0), check_int("n", n, low=1)
    if k > n:
        raise ValueError(f"k: expected at most n = {n} successes, received {k}")
    z = check_positive("z", z)
    p, z2 = k / n, z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def grid(task, lengths, methods, seeds, **shared):
    """Train every (length, method, seed) and return a Grid of their results.

    task: a callable T -> Task, the validation set for sequence length T (for instance
    `lambda T: tasks.adding(200, T, seed=123)`). lengths: the T values. methods: {name:
    {"cell": ..., "H": ..., and any other fit_many keyword}}; shared: fit_many keywords
    for every method (a method's own keys win). seeds: the seeds of every method and
    length. Methods that differ only in per-run settings (lr, schedule, momentum, clip,
    clip_value, omega_weight) share one fit_many call per length, so that, e.g., SGD,
    SGD with clipping and SGD with clipping and Omega train as one stack.
    """
    t0 = time.perf_counter()
    if not callable(task):
        raise TypeError(f"task: expected a callable T -> Task, received {type(task).__name__}")
    if not isinstance(methods, dict) or not methods:
        raise ValueError(f"methods: expected a non-empty dict {{name: fit_many keywords}}, "
                         f"received {methods!r}")
    if not isinstance(lengths, (list, tuple, range)) or not len(lengths):
        raise ValueError(f"lengths: expected a non-empty sequence of sequence lengths, received "
                         f"{lengths!r}")
    lengths = [check_int(f"lengths[{i}]", T, low=1) for i, T in enumerate(lengths)]
    seeds = _check_seeds(seeds)
    groups = {}
    for name, spec in methods.items():
        if not isinstance(spec, dict) or "cell" not in spec or "H" not in spec:
            raise ValueError(f"methods[{name!r}]: expected a dict with at least 'cell' and 'H', "
                             f"received {spec!r}")
        kw = {**shared, **spec}
        key = repr(sorted((k, v) for k, v in kw.items() if k not in PER_RUN))
        groups.setdefault(key, []).append((name, kw))
    records = []
    for T in lengths:
        val = task(T)
        if not isinstance(val, Task):
            raise TypeError(f"task: expected a callable returning a tasks.Task, received "
                            f"{type(val).__name__} for T = {T}")
        for members in groups.values():
            kw = {k: v for k, v in members[0][1].items() if k not in PER_RUN}
            per = {p: [m[1].get(p, _DEFAULTS[p]) for m in members for _ in seeds]
                   for p in PER_RUN if any(p in m[1] for m in members)}
            cell, H = kw.pop("cell"), kw.pop("H")
            runs = fit_many(cell, val, H, [s for _ in members for s in seeds], **kw, **per)
            for i, row in enumerate(runs.summary()):
                records.append({"method": members[i // len(seeds)][0], "T": T, **row})
    return Grid(records, list(methods), lengths, seeds, time.perf_counter() - t0)


_DEFAULTS = {"lr": 0.1, "schedule": None, "momentum": 0.9, "clip": None, "clip_value": None,
             "omega_weight": 0.0}
