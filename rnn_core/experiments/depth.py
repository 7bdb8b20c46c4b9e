"""Stacked, bidirectional and gated-feedback networks: gradient flow through depth and
time, the gradient paths a second direction adds, the future leak, the reset gates, the
cost (notebook 06), and the two small statistics its comparisons over seeds use
(mean_difference, sign_test).

Shapes: x (N, T, D), h (N, T, H). Stacks have M layers, layer 0 reads x; lags l = T-1-t
count steps back from the loss at the last step; gradient norms are log10 values and
rates natural logs per step of lag (negative: the gradient shrinks going back in time).
The trained models are cells of cells.CELLS or the compositions layer_cells.stacked_cell
and layer_cells.bidirectional_cell, trained by train.fit on two tasks of training.tasks
(lookahead, two_timescales).
Every function that draws takes `seed` and gives the same numbers for the same arguments
(wall-clock times excepted).
"""
import time

import numpy as np

from ..bptt import costs
from ..cells import layer_cells, layers
from ..training import task_checks, tasks, train
from ..training.tasks import lookahead, two_timescales
from ..cells import sequence, gated_feedback
from ..cells import get as get_cell
from ..remedies.optim import n_params
from ..nn.readout import init_affine
from ..validate import check_choice, check_int, check_positive


# ----------------------------------------------------------------------------------------
# Stacked RNNs: dL/dh_t^(j) over layer and step
# ----------------------------------------------------------------------------------------

def depth_time_gradients(M=4, T=40, D=8, H=32, seed=0, cell="rnn", input_scale=1.0,
                         init=None, **opts):
    """log10 ||dL/dh_t^(j)|| for every layer j and step t of an untrained stack of M layers.

    The loss reads the top layer at the last step only, L = w . h_{T-1}^(M-1) with a
    seeded random unit vector w; dL/dh_t^(j) is the total gradient (through time in
    layer j and through layer j+1 above). x ~ input_scale * N(0, 1), one sequence.
    init: keyword arguments for the cell's init_params (e.g. {"rho": 0.9}).
    Returns {"log10": (M, T), "log10_x": (T,) log10 ||dL/dx_t||, "lags": (T,) = T-1-t,
    "M", "T", "H", "cell", "input_scale"}.
    """
    mod = get_cell(cell)
    M, T = check_int("M", M, low=1), check_int("T", T, low=1)
    D, H = check_int("D", D, low=1), check_int("H", H, low=1)
    input_scale = check_positive("input_scale", input_scale)
    full = mod.options(opts)
    rng = np.random.default_rng(seed)
    x = input_scale * rng.standard_normal((1, T, D))
    w = rng.standard_normal((1, H))
    w /= np.linalg.norm(w)
    params = layers.stacked_init(cell, D, H, M, seed=int(rng.integers(2**31)), **opts,
                                 **(init or {}))
    caches, inp = [], x                          # per layer, the step caches of a forward
    for j in range(M):
        state, cj, out = mod.zero_state(1, H, **opts), [], np.empty((1, T, H))
        for t in range(T):
            state, c = mod.step_forward(inp[:, t], state, params[j], check=False, **full)
            out[:, t] = state["h"]
            cj.append(c)
        caches.append(cj)
        inp = out
    log10 = np.empty((M, T))
    from_above = np.zeros((1, T, H))
    from_above[:, T - 1] = w
    for j in range(M - 1, -1, -1):
        carry = {k: np.zeros((1, H)) for k in mod.STATE_KEYS}
        below = np.empty((1, T, D if j == 0 else H))
        for t in range(T - 1, -1, -1):
            carry["h"] = carry["h"] + from_above[:, t]          # the total dL/dh_t^(j)
            log10[j, t] = np.log10(np.linalg.norm(carry["h"]))
            below[:, t], carry, _ = mod.step_backward(carry, caches[j][t], check=False)
        from_above = below
    return {"log10": log10, "log10_x": np.log10(np.linalg.norm(from_above[0], axis=1)),
            "lags": T - 1 - np.arange(T), "M": M, "T": T, "H": H, "cell": cell,
            "input_scale": input_scale}


def decay_rate(log10_norms, lags, min_lag=0):
    """Least-squares slope of ln ||.|| against the lag, over lags >= min_lag.

    log10_norms (..., T) and lags (T,) -> rates (...,): natural log per step of lag, so
    exp(rate) is the mean factor one step back in time multiplies in (negative: vanishing).
    """
    y = np.asarray(log10_norms, dtype=float) * np.log(10.0)
    lags = np.asarray(lags, dtype=float)
    keep = lags >= min_lag
    if keep.sum() < 2:
        raise ValueError(f"min_lag: expected at least 2 lags >= min_lag, received min_lag = "
                         f"{min_lag} with lags up to {lags.max():g}")
    l, y = lags[keep], y[..., keep]
    lc = l - l.mean()
    return ((y - y.mean(axis=-1, keepdims=True)) @ lc) / (lc @ lc)


def depth_rates(depths=(1, 2, 3, 4), seeds=(0, 1, 2, 3, 4), T=40, min_lag=10, **kwargs):
    """Decay rates along time against depth, over seeds.

    For each M and seed, depth_time_gradients(M, T, seed=...) and three rates (decay_rate
    over lags >= min_lag): the top layer's ("top"), the bottom layer's ("bottom") and the
    input gradient's dL/dx_t ("input"); also the mean log10 drop from one layer to the one
    below at lag 0 ("vertical", log10 per layer, M >= 2 only, NaN for M = 1).
    Returns {"depths", "seeds", "top", "bottom", "input", "vertical"}: arrays (len(depths),
    len(seeds)).
    """
    depths = [check_int("depths", M, low=1) for M in depths]
    seeds = [check_int("seeds", s, low=0) for s in seeds]
    if not depths or not seeds:
        raise ValueError("depths, seeds: expected at least one depth and one seed, received "
                         f"{len(depths)} and {len(seeds)}")
    out = {k: np.full((len(depths), len(seeds)), np.nan)
           for k in ("top", "bottom", "input", "vertical")}
    for a, M in enumerate(depths):
        for b, s in enumerate(seeds):
            g = depth_time_gradients(M=M, T=T, seed=s, **kwargs)
            out["top"][a, b] = decay_rate(g["log10"][-1], g["lags"], min_lag)
            out["bottom"][a, b] = decay_rate(g["log10"][0], g["lags"], min_lag)
            out["input"][a, b] = decay_rate(g["log10_x"], g["lags"], min_lag)
            if M > 1:
                out["vertical"][a, b] = (g["log10"][-1, -1] - g["log10"][0, -1]) / (M - 1)
    return {"depths": np.array(depths), "seeds": np.array(seeds), **out}


# ----------------------------------------------------------------------------------------
# Training the compositions
# ----------------------------------------------------------------------------------------

MODELS = ("unidirectional", "bidirectional", "stacked", "gated_feedback")


def build(model, D, H, O, seed=0, M=2, cell="rnn"):
    """(cell for train.fit, params {"cell", "out"}, the cell's options) of a named model.

    model: "unidirectional" (one layer of `cell`, H units), "bidirectional" (H units per
    direction, readout of 2H), "stacked" (M layers of H units), "gated_feedback" (M layers
    of H units; `cell` ignored). The readout reads what the cell outputs.
    """
    check_choice("model", model, MODELS)
    s_cell, s_out = (int(s) for s in np.random.SeedSequence(seed).generate_state(2))
    if model == "unidirectional":
        mod, width = get_cell(cell), H
        p = mod.init_params(D, H, seed=s_cell)
    elif model == "bidirectional":
        mod, width = layer_cells.bidirectional_cell(cell), 2 * H
        p = mod.init_params(D, H, seed=s_cell)
    elif model == "stacked":
        mod, width = layer_cells.stacked_cell(cell, M), H
        p = mod.init_params(D, H, seed=s_cell)
    else:
        mod, width = gated_feedback, H
        p = mod.init_params(D, H, seed=s_cell, L=M)
        return mod, {"cell": p, "out": init_affine(width, O, seed=s_out)}, {"L": M}
    return mod, {"cell": p, "out": init_affine(width, O, seed=s_out)}, {}


FIT = {"steps": 300, "batch_size": 32, "lr": 0.1, "optimizer": "momentum", "clip": 1.0,
       "val_every": 50}


def train_model(model, task, H, seed=0, M=2, cell="rnn", **fit_kwargs):
    """Train `model` (see build) on `task` (the validation set) with train.fit.

    fit_kwargs override FIT. Returns {"model", "params", "history", "n_params", "cell",
    "score" (validation metric of the returned params)}.
    """
    mod, params, opts = build(model, task.D, H, task.n_out, seed=seed, M=M, cell=cell)
    kw = {**FIT, **fit_kwargs}
    params, hist = train.fit(mod, task, H, seed=seed, params=params, **kw, **opts)
    _, score, _, _ = train.evaluate(mod, params, task, **opts)
    return {"model": model, "params": params, "history": hist, "n_params": n_params(params),
            "cell": mod, "opts": opts, "score": score}


def direction_experiment(seeds=(0, 1, 2), T=12, k=2, n_symbols=4, H_uni=16, H_bi=8,
                         steps=100, N_val=200):
    """Unidirectional against bidirectional Elman RNNs on lookahead(k): accuracy per seed.

    Returns {"task": the validation Task, "models": {name: {"accuracy": (S,), "n_params"}},
    "chance": 1 / n_symbols}.
    """
    val = lookahead(N_val, T, seed=123, k=k, n_symbols=n_symbols)
    out = {}
    for model, H in (("unidirectional", H_uni), ("bidirectional", H_bi)):
        runs = [train_model(model, val, H, seed=s, steps=steps) for s in seeds]
        out[model] = {"accuracy": np.array([r["score"] for r in runs]),
                      "n_params": runs[0]["n_params"], "H": H}
    return {"task": val, "models": out, "chance": 1.0 / n_symbols, "seeds": list(seeds)}


# ----------------------------------------------------------------------------------------
# Does a second direction shorten the gradient path?
# ----------------------------------------------------------------------------------------

READOUTS = ("step", "sequence")


def direction_gradients(T=40, D=8, H=32, seed=0, readout="sequence", t=None, cell="rnn",
                        input_scale=1.0):
    """log10 ||dL/dx_s|| for every input step s, unidirectional against bidirectional.

    Both models are untrained; the bidirectional layer's forward direction *is* the
    unidirectional layer (same parameters), and its backward direction has its own.
    readout="step": the loss reads the states at step t (default T-1), L = w . [h_fwd_t ;
    h_bwd_t] (tagging; the unidirectional model reads w_fwd . h_fwd_t).
    readout="sequence": L = w_fwd . h_fwd_{T-1} + w_bwd . h_bwd_0, each direction's last
    state (sequence classification; the unidirectional model reads w_fwd . h_fwd_{T-1}).
    w is a seeded random unit vector of size 2H, w_fwd and w_bwd its halves; x ~
    input_scale * N(0, 1), one sequence (1, T, D).
    Returns {"uni", "bi": (T,) log10 norms (-inf where the gradient is exactly zero),
    "path_uni", "path_bi": (T,) the length in steps of the shortest path from x_s to the
    loss (-1: no path), "T", "t", "readout"}.
    """
    mod = get_cell(cell)
    T, D, H = check_int("T", T, low=2), check_int("D", D, low=1), check_int("H", H, low=1)
    check_choice("readout", readout, READOUTS)
    t = T - 1 if t is None else check_int("t", t, low=0, high=T - 1)
    input_scale = check_positive("input_scale", input_scale)
    rng = np.random.default_rng(seed)
    x = input_scale * rng.standard_normal((1, T, D))
    w = rng.standard_normal((1, 2 * H))
    w /= np.linalg.norm(w)
    params = layers.bidirectional_init(cell, D, H, seed=int(rng.integers(2**31)))
    _, _, cache_u = mod.forward(x, None, params["fwd"])
    _, _, cache_b = layers.bidirectional_forward(cell, x, None, params)
    zero = np.zeros((1, H))
    s = np.arange(T)
    if readout == "step":
        dh_u, dh_b = {t: w[:, :H]}, {t: w}
        path_u = np.where(s <= t, t - s, -1)
        path_b = np.abs(t - s)
    else:
        dh_u = {T - 1: w[:, :H]}
        dh_b = {T - 1: np.concatenate([w[:, :H], zero], axis=1)}
        dh_b[0] = np.concatenate([zero, w[:, H:]], axis=1)
        path_u = T - 1 - s
        path_b = np.minimum(T - 1 - s, s)
    dx_u = mod.backward(dh_u, cache_u, check=False)[0][0]          # (T, D)
    dx_b = layers.bidirectional_backward(dh_b, cache_b)[0][0]       # (T, D)
    with np.errstate(divide="ignore"):                              # log10(0) = -inf: no path
        log_u = np.log10(np.linalg.norm(dx_u, axis=1))
        log_b = np.log10(np.linalg.norm(dx_b, axis=1))
    return {"uni": log_u, "bi": log_b, "path_uni": path_u, "path_bi": path_b, "T": T, "t": t,
            "readout": readout}


def direction_paths(seeds=tuple(range(8)), T=40, T_long=80, t=None, **kwargs):
    """direction_gradients over seeds, for both readouts and two lengths.

    "step": readout at step t (default T // 2) of length T; "sequence": the sequence
    readout at length T; "sequence_long": the same at length T_long. kwargs go to
    direction_gradients (D, H, cell, input_scale).
    Returns {name: {"uni", "bi": (S, T or T_long) log10 norms, "path_uni", "path_bi",
    "t"}, "seeds", "T", "T_long"}.
    """
    seeds = [check_int("seeds", s, low=0) for s in seeds]
    if not seeds:
        raise ValueError("seeds: expected at least one seed, received none")
    t = T // 2 if t is None else t
    out = {"seeds": seeds, "T": T, "T_long": T_long}
    for name, readout, length, step in (("step", "step", T, t), ("sequence", "sequence", T, None),
                                        ("sequence_long", "sequence", T_long, None)):
        runs = [direction_gradients(T=length, seed=s, readout=readout, t=step, **kwargs)
                for s in seeds]
        out[name] = {"uni": np.array([r["uni"] for r in runs]),
                     "bi": np.array([r["bi"] for r in runs]),
                     "path_uni": runs[0]["path_uni"], "path_bi": runs[0]["path_bi"],
                     "t": runs[0]["t"]}
    return out


# ----------------------------------------------------------------------------------------
# The leak: a bidirectional "language model"
# ----------------------------------------------------------------------------------------

def _logits(mod, params, x):
    h, _, _ = mod.forward(x, None, params["cell"])
    return h @ params["out"]["W_y"].T + params["out"]["b_y"]


def leak_experiment(seed=0, T=16, H_uni=32, H_bi=16, steps=100, N_val=64):
    """Next-character prediction on the shipped text, unidirectional against bidirectional.

    Both read one-hot characters and predict the next one at every step (tasks.text).
    Returns {"models": {name: {"bpc": validation bits per character, "bpc_by_step" (T,),
    "n_params", "history"}}, "bpc_future_hidden": the bidirectional model's bpc when the
    inputs after step t are replaced by zeros for its prediction at t (what it would see
    while generating), per step (T,) and overall; "T"}.
    """
    val = tasks.text(N=N_val, T=T, seed=None)
    out = {}
    for model, H in (("unidirectional", H_uni), ("bidirectional", H_bi)):
        r = train_model(model, val, H, seed=seed, steps=steps, val_every=100)
        bits = task_checks.bits(_logits(r["cell"], r["params"], val.x), val.y)
        out[model] = {"bpc": float(bits.mean()), "bpc_by_step": bits.mean(axis=0),
                      "n_params": r["n_params"], "history": r["history"], "run": r}
    bi = out["bidirectional"]["run"]
    hidden = np.empty((N_val, T))
    for t in range(T):                           # at step t the future x_{t+1..} is unknown
        x = val.x.copy()
        x[:, t + 1:] = 0.0
        hidden[:, t] = task_checks.bits(_logits(bi["cell"], bi["params"], x), val.y)[:, t]
    return {"models": out, "bpc_future_hidden": float(hidden.mean()),
            "bpc_future_hidden_by_step": hidden.mean(axis=0), "T": T}


# ----------------------------------------------------------------------------------------
# Gated feedback against a plain stack
# ----------------------------------------------------------------------------------------

def gate_values(params, x):
    """The reset gates g^{i->j}_t of a gated-feedback model (params {"cell", "out"}) on
    x (N, T, D): (N, T, L, L) with [..., j, i] = g^{i->j}, layers counted from 0."""
    _, _, cache = gated_feedback.forward(x, None, params["cell"])
    return cache["gs"].transpose(1, 0, 2, 3).copy()


def modes_from_markers(marker):
    """The slow mode of two_timescales at every step, from its marker channel.

    marker (N, T): x[:, :, 1], +1 or -1 where the mode is set to 1 or 0, else 0 (the first
    step always sets it). Returns (N, T) bool, True where the current mode is 1.
    """
    marker = np.asarray(marker, dtype=float)
    if marker.ndim != 2 or not np.all(marker[:, 0] != 0):
        raise ValueError(f"marker: expected an (N, T) marker channel that sets the mode at "
                         f"t = 0, received shape {marker.shape}")
    steps = np.where(marker != 0, np.arange(marker.shape[1]), 0)
    last = np.maximum.accumulate(steps, axis=1)                     # the last step that set it
    return np.take_along_axis(marker, last, axis=1) > 0


def gated_feedback_experiment(seeds=(0, 1, 2), T=20, H=8, H_wide=None, steps=300, N_val=200,
                              p_switch=0.1):
    """Gated feedback (L = 2) against stacked tanh RNNs (M = 2) on two_timescales.

    Models: "gated_feedback" and "stacked" with H units per layer, and "stacked_wide" with
    H_wide units per layer (None: the smallest width whose parameter count reaches the
    gated-feedback model's). Each trains until its validation accuracy reaches the task's
    threshold (checked every 25 steps) or for `steps` steps.
    Returns {"models": {name: {"accuracy": (S,), "steps": (S,) steps to success (NaN: not
    reached), "n_params", "H"}},
    "gates": (S, 2, 2) mean g^{i->j} ([s, j, i]) over the validation set,
    "gates_switch" / "gates_steady": the same means at the steps with a marker and without,
    "gates_mode": (S, 2, 2) the mean at the steps in mode 1 minus the mean at those in mode
    0, "gates_mode_untrained": the same for the initial parameters of each run,
    "example": (T, 2, 2) gates of validation sequence 0 of the first seed, "marker": (T,)
    its marker channel, "mode": (T,) its mode (0 or 1), "task": the validation Task}.
    """
    val = two_timescales(N_val, T, seed=123, p_switch=p_switch)
    if H_wide is None:
        target = n_params(build("gated_feedback", 2, H, 2)[1])
        H_wide = H
        while n_params(build("stacked", 2, H_wide, 2)[1]) < target:
            H_wide += 1
    out, gates, g_sw, g_st, g_mode, g_mode0, example = {}, [], [], [], [], [], None
    marker = val.x[:, :, 1] != 0.0                                    # (N, T)
    mode = modes_from_markers(val.x[:, :, 1])                         # (N, T)
    for model, width in (("gated_feedback", H), ("stacked", H), ("stacked_wide", H_wide)):
        name = "stacked" if model == "stacked_wide" else model
        runs = [train_model(name, val, width, seed=s, steps=steps, val_every=25,
                            until_success=True) for s in seeds]
        first = [r["history"].first_success_step for r in runs]
        out[model] = {"accuracy": np.array([r["score"] for r in runs]),
                      "steps": np.array([np.nan if f is None else f for f in first], float),
                      "n_params": runs[0]["n_params"], "H": width}
        if model == "gated_feedback":
            for r in runs:
                g = gate_values(r["params"], val.x)                   # (N, T, 2, 2)
                gates.append(g.mean(axis=(0, 1)))
                g_sw.append(g[marker].mean(axis=0))
                g_st.append(g[~marker].mean(axis=0))
                g_mode.append(g[mode].mean(axis=0) - g[~mode].mean(axis=0))
            for sd in seeds:                              # the same runs before training
                g = gate_values(build("gated_feedback", val.D, H, val.n_out, seed=sd)[1], val.x)
                g_mode0.append(g[mode].mean(axis=0) - g[~mode].mean(axis=0))
            example = gate_values(runs[0]["params"], val.x[:1])[0]
    return {"models": out, "gates": np.array(gates), "gates_switch": np.array(g_sw),
            "gates_steady": np.array(g_st), "gates_mode": np.array(g_mode),
            "gates_mode_untrained": np.array(g_mode0), "example": example,
            "marker": val.x[0, :, 1].copy(), "mode": mode[0].astype(float),
            "task": val, "seeds": list(seeds)}


# ----------------------------------------------------------------------------------------
# The cost: time and memory of forward + BPTT against depth and direction
# ----------------------------------------------------------------------------------------

def _pass(mod, x, params, H):
    """One forward and a full BPTT from a zero state, with dL/dh_t = h_t (as costs does)."""
    h, _, cache = mod.forward(x, mod.zero_state(x.shape[0], H), params, check=False)
    return mod.backward(sequence.steps(h, x.shape[1]), cache, None, None, check=False)


def depth_costs(depths=(1, 2, 3, 4), T=100, N=16, D=16, H=32, repeats=15, seed=0):
    """Seconds and peak bytes of forward + BPTT, against depth and direction.

    Unidirectional stacks of M tanh layers for M in depths, and bidirectional stacks built
    as one bidirectional layer (M = 1) only; H units per layer and direction. The timed
    passes run in `repeats` interleaved rounds (every configuration once per round, so a
    burst of load elsewhere hits a whole round), after one untimed warm-up pass each.
    Returns {"rows": [{"model", "M", "n_params", "bytes", "seconds" (median over rounds),
    "ratio": (repeats,) this configuration's time / the first configuration's time, round
    by round}], "times": (repeats, configurations) seconds, "T", "N", "D", "H"}.
    Times are wall-clock seconds (time.perf_counter: process time does not advance in
    Pyodide) and vary from run to run; peak bytes (tracemalloc) do not.
    """
    depths = [check_int("depths", M, low=1) for M in depths]
    repeats = check_int("repeats", repeats, low=1)
    x = np.random.default_rng(seed).standard_normal((N, T, D))
    configs = [("unidirectional", M, layer_cells.stacked_cell("rnn", M)) for M in depths]
    configs.append(("bidirectional", 1, layer_cells.bidirectional_cell("rnn")))
    rows, all_params = [], []
    for model, M, mod in configs:
        params = mod.init_params(D, H, seed=seed)
        all_params.append(params)
        _pass(mod, x, params, H)                                  # warm-up
        rows.append({"model": model, "M": M, "n_params": n_params(params),
                     "bytes": int(costs.peak_bytes(lambda: _pass(mod, x, params, H)))})
    times = np.empty((repeats, len(configs)))
    for r in range(repeats):                                       # interleaved rounds
        for c, (_, _, mod) in enumerate(configs):
            start = time.perf_counter()
            _pass(mod, x, all_params[c], H)
            times[r, c] = time.perf_counter() - start
    for c, row in enumerate(rows):
        row["seconds"] = float(np.median(times[:, c]))
        row["ratio"] = times[:, c] / times[:, 0]
    return {"rows": rows, "times": times, "T": T, "N": N, "D": D, "H": H}
