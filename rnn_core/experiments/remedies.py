"""The remedies trained on a small adding problem: clipping by norm against by value,
Pascanu's regulariser Omega, the optimisers and weight decay (notebook 07).

The runs use the Elman RNN of rnn_core.cells with the readout of train.py (params
{"cell": {...}, "out": {...}}) in the setting SMALL. Gradient norms against lag are
||dL/dh_k|| averaged over the batch, with lag l = T - 1 - k steps back from the loss at
the last step. Every function takes `seed` (or fixed inputs) and returns the same numbers
for the same arguments.
"""
import time

import numpy as np

from ..nn import activations, matrices
from ..remedies import clipping, optim, regularizer
from ..training import tasks, train
from ..cells import elman
from ..nn.readout import affine_backward, affine_forward
from ..validate import check_int, check_positive
from .success_rates import adding_baselines

# The small setting of sections 2-6: an Elman tanh RNN on the adding problem.
SMALL = {"task": "adding", "T": 20, "H": 16, "batch_size": 20, "lr": 0.05, "n_val": 200,
         "val_seed": 123}


def small_task(task=None, T=None, n_val=None, val_seed=None):
    """The validation set of a SMALL-style run (defaults from SMALL)."""
    return tasks.make(SMALL["task"] if task is None else task,
                      N=SMALL["n_val"] if n_val is None else n_val,
                      T=SMALL["T"] if T is None else T,
                      seed=SMALL["val_seed"] if val_seed is None else val_seed)


def train_run(val, H, steps, lr, seed=0, batch_size=20, clip=None, clip_value=None, l2=0.0,
              l1=0.0, omega_weight=0.0, init=None, record=False, activation="tanh"):
    """Minibatch SGD on the Elman RNN with weight decay: train.fit with one validation,
    after the last step (so the params it returns are the last ones).

    l2, l1 >= 0: decay of the weight matrices (W_h, W_x, W_y; optim.weight_decay). The
    gradient of loss + omega_weight Omega + the decay is measured, clipped by global norm,
    then by value. record: keep every raw gradient (before clipping), flattened.
    Returns (params after the last step, dict of per-step lists: loss, grad_norm, clipped,
    n_value_clipped, and grads (S, P) if record).
    """
    params, hist = train.fit("rnn", val, H, steps=steps, batch_size=batch_size, lr=lr,
                             seed=seed, clip=clip, clip_value=clip_value, l2=l2, l1=l1,
                             omega_weight=omega_weight, init=init, val_every=steps,
                             record_grads=record, activation=activation)
    log = {"loss": hist.loss, "grad_norm": hist.grad_norm, "clipped": hist.clipped,
           "n_value_clipped": hist.n_value_clipped, "grads": hist.grads}
    if record:
        log["grads"] = np.array(hist.grads)
    return params, log


def _last_step_gradients(params, task, activation="tanh"):
    """dL/dh_k at every step for the many-to-one loss of params on task: (N, T, H)."""
    h, _, _ = elman.forward(task.x, None, params["cell"], activation=activation)
    y, cache = affine_forward(h[:, -1], params["out"])
    _, dy = train.data_loss(task, y)
    dlast, _ = affine_backward(dy, cache)
    return regularizer.state_gradients({-1: dlast}, h, params["cell"], activation=activation), h


def lag_profile(params, task, activation="tanh"):
    """log10 of the batch-mean ||dL/dh_k|| against lag l = T - 1 - k (index l), (T,)."""
    g, _ = _last_step_gradients(params, task, activation)
    norms = np.linalg.norm(g, axis=-1).mean(axis=0)[::-1]       # lag 0 first
    return np.log10(norms + 1e-300)


def step_ratios(params, task, activation="tanh"):
    """Omega's ratios r_t = ||dL/dh_t diag(f'(a_t)) W_h|| / ||dL/dh_t|| per step, batch
    mean (T,), for the many-to-one loss: how much one step back scales the gradient."""
    g, h = _last_step_gradients(params, task, activation)
    act = activations.get(activation)
    v = (g * act.df_from_out(h)) @ params["cell"]["W_h"]
    return (np.linalg.norm(v, axis=-1) / np.linalg.norm(g, axis=-1)).mean(axis=0)


def angle(a, b):
    """Angle in degrees between the rows of a and b (..., P), accurate for tiny angles
    (2 atan2(||u - v||, ||u + v||) of the unit vectors, not arccos of the cosine)."""
    u = a / np.linalg.norm(a, axis=-1, keepdims=True)
    v = b / np.linalg.norm(b, axis=-1, keepdims=True)
    return np.degrees(2.0 * np.arctan2(np.linalg.norm(u - v, axis=-1),
                                       np.linalg.norm(u + v, axis=-1)))


def clipping_comparison(c_norm=0.3, c_value=0.1, steps=200, seed=0, T=None):
    """Global-norm against per-entry clipping on SMALL's adding problem.

    One plain-SGD run records its raw gradients; each is clipped both ways and the angle
    to the raw gradient measured. Two more runs train with each clipping and count how
    often it fires. Returns a dict: angles_norm, angles_value (S,) degrees, fired_norm
    (S,) bool, fired_value (S,) bool (per step of the recorded run), raw grad_norm (S,),
    n_params; and from the clipped runs: frac_norm, frac_value (fraction of steps that
    clipped), mean_entries_value (mean entries changed per step), final_loss_* .
    """
    c_norm, c_value = check_positive("c_norm", c_norm), check_positive("c_value", c_value)
    val = small_task(T=T)
    kw = dict(H=SMALL["H"], steps=steps, lr=SMALL["lr"], seed=seed,
              batch_size=SMALL["batch_size"])
    _, log = train_run(val, record=True, **kw)
    G = log["grads"]                                            # (S, P)
    norm = np.linalg.norm(G, axis=1)
    by_norm = G * np.minimum(1.0, c_norm / norm)[:, None]
    by_value = np.clip(G, -c_value, c_value)
    p_norm, log_n = train_run(val, clip=c_norm, **kw)
    p_value, log_v = train_run(val, clip_value=c_value, **kw)
    return {"c_norm": c_norm, "c_value": c_value, "angles_norm": angle(G, by_norm),
            "angles_value": angle(G, by_value), "fired_norm": norm >= c_norm,
            "fired_value": (np.abs(G) > c_value).any(axis=1), "grad_norm": norm,
            "n_params": G.shape[1], "loss_raw": np.array(log["loss"]),
            "frac_norm": float(np.mean(log_n["clipped"])),
            "frac_value": float(np.mean(np.array(log_v["n_value_clipped"]) > 0)),
            "mean_entries_value": float(np.mean(log_v["n_value_clipped"])),
            "loss_norm": np.array(log_n["loss"]), "loss_value": np.array(log_v["loss"])}


def lag_pieces(params, task, activation="tanh"):
    """The contribution of each step k to dL/dW_h for the many-to-one loss,
    dL/da_k^T h_{k-1} summed over the batch: (T, H, H), summing to dL/dW_h."""
    g, h = _last_step_gradients(params, task, activation)
    act = activations.get(activation)
    da = g * act.df_from_out(h)                                 # dL/da_k (N, T, H)
    N, T, H = h.shape
    h_prev = np.concatenate([np.zeros((N, 1, H)), h[:, :-1]], axis=1)
    return np.einsum("nti,ntj->tij", da, h_prev)


def lag_contributions(params, task, activation="tanh"):
    """The Frobenius norms of lag_pieces against lag l = T - 1 - k, lag 0 first, (T - 1,):
    step 0 reads the zero initial state and contributes nothing to W_h, so it is dropped."""
    C = lag_pieces(params, task, activation)
    return np.linalg.norm(C, axis=(1, 2))[:0:-1]


def clipping_and_vanishing(c=0.1, seed=0, T=40):
    """Clipping rescales the summed gradient, so every lag's share is unchanged.

    On an untrained SMALL network at length T: the per-lag contributions to dL/dW_h, their
    sum's norm, and the same after clipping the summed gradient by global norm c.
    Returns dict lags, contrib (T - 1,), contrib_clipped (each piece scaled by the one
    factor clipping applied), share_raw, share_clipped (fraction of the gradient norm
    from lags > T/2), and the largest change of the normalised profile.
    """
    val = small_task(T=T, n_val=100)
    params = train.init_model("rnn", val.D, SMALL["H"], val.n_out, seed=seed)
    _, _, grads, _ = train.loss_and_grads("rnn", params, val)
    clipped, norm, fired = clipping.clip_global_norm(grads, c)
    scale = clipping.global_norm(clipped) / norm
    contrib = lag_contributions(params, val)
    contrib_c = contrib * scale
    far = np.arange(T - 1) > T // 2
    return {"lags": np.arange(T - 1), "contrib": contrib, "contrib_clipped": contrib_c,
            "fired": fired, "scale": scale, "norm": norm,
            "share_raw": float(contrib[far].sum() / contrib.sum()),
            "share_clipped": float(contrib_c[far].sum() / contrib_c.sum()),
            "profile_change": float(np.max(np.abs(np.log10(contrib / contrib[0])
                                                  - np.log10(contrib_c / contrib_c[0]))))}


def omega_training(task=None, T=20, steps=300, omega_weight=2.0, clip=1.0, lr=0.05, seed=0,
                   H=None):
    """Gradient norm against lag before and after training with and without Omega.

    SGD with clipping (clip) on `task` (SMALL's by default) from one initialisation, once
    with omega_weight 0 and once with omega_weight. Returns dict: profile_init,
    profile_plain, profile_omega (log10 ||dL/dh_k|| against lag, (T,)); ratios_* (Omega's
    r_t per step, (T,)); omega_* (Omega of the validation batch), val_error_*, rho_*;
    and baselines (success_rates.adding_baselines of the validation set) for an adding task.
    """
    val = small_task(task=task, T=T, n_val=100)
    H = SMALL["H"] if H is None else H
    kw = dict(H=H, steps=steps, lr=lr, seed=seed, batch_size=SMALL["batch_size"], clip=clip)
    init = train.init_model("rnn", val.D, H, val.n_out, seed=seed)
    p_plain, _ = train_run(val, **kw)
    p_omega, _ = train_run(val, omega_weight=omega_weight, **kw)
    out = {"T": T, "omega_weight": omega_weight, "lags": np.arange(T)}
    for name, p in (("init", init), ("plain", p_plain), ("omega", p_omega)):
        out[f"profile_{name}"] = lag_profile(p, val)
        out[f"ratios_{name}"] = step_ratios(p, val)
        _, om, _, _ = train.loss_and_grads("rnn", p, val, omega_weight=1.0)
        out[f"omega_{name}"] = om
        out[f"val_error_{name}"] = train.evaluate("rnn", p, val)[2]
        out[f"rho_{name}"] = float(matrices.spectral_radius(p["cell"]["W_h"]))
    out["baselines"] = adding_baselines(val) if val.name == "adding" else None
    return out


def _omega_of(params, task):
    """Omega recomputed from scratch (dL/dh NOT held constant): a function of params only."""
    return train.loss_and_grads("rnn", params, task, omega_weight=1.0)[1]


def omega_derivatives(T=12, H=4, N=8, seed=0, eps=1e-6):
    """Why the paper holds dL/dh constant: Omega's gradient with respect to W_h by each
    of regularizer.MODES (dL/dh fixed) against the total derivative, in which dL/dh moves
    with W_h too (centred differences of Omega recomputed from scratch, float64).

    Returns dict: grads {mode or "total": (H, H)}, cosine {mode: cos to total}, rel_norm
    {mode: ||mode|| / ||total||}, seconds {mode, "total", "loss"}: time for one gradient
    (the total one by finite differences: 2 H^2 extra forward-backward passes).
    """
    val = tasks.adding(N=N, T=T, seed=seed + 7)
    params = train.init_model("rnn", val.D, H, val.n_out, seed=seed, init={"rho": 1.2,
                                                                          "W_h": "gaussian"})
    grads, seconds = {}, {}
    for mode in regularizer.MODES:
        t0 = time.perf_counter()
        g0 = train.loss_and_grads("rnn", params, val)[2]["cell"]["W_h"]
        g1 = train.loss_and_grads("rnn", params, val, omega_weight=1.0,
                                  omega_mode=mode)[2]["cell"]["W_h"]
        seconds[mode] = time.perf_counter() - t0
        grads[mode] = g1 - g0                          # Omega's part of the gradient
    t0 = time.perf_counter()
    train.loss_and_grads("rnn", params, val)
    seconds["loss"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    total = np.zeros((H, H))
    W = params["cell"]["W_h"]
    for i in range(H):
        for j in range(H):
            old = W[i, j]
            W[i, j] = old + eps
            up = _omega_of(params, val)
            W[i, j] = old - eps
            down = _omega_of(params, val)
            W[i, j] = old
            total[i, j] = (up - down) / (2 * eps)
    seconds["total"] = time.perf_counter() - t0
    grads["total"] = total
    cos = {m: float(np.sum(grads[m] * total) / (np.linalg.norm(grads[m]) * np.linalg.norm(total)))
           for m in regularizer.MODES}
    rel = {m: float(np.linalg.norm(grads[m]) / np.linalg.norm(total)) for m in regularizer.MODES}
    return {"grads": grads, "cosine": cos, "rel_norm": rel, "seconds": seconds, "T": T, "H": H}


def omega_cosines(seeds, T=12, H=4, N=8):
    """omega_derivatives at each seed of `seeds` (a sequence of ints >= 0): the cosine of
    each mode's gradient to the total derivative. Returns dict seeds (S,), cosine {mode:
    (S,)}, rel_norm {mode: (S,)}. A positive cosine means a descent direction for Omega."""
    if isinstance(seeds, (int, np.integer)) or len(seeds) == 0:
        raise ValueError(f"seeds: expected a non-empty sequence of seeds, received {seeds!r}")
    seeds = [check_int(f"seeds[{i}]", s, low=0) for i, s in enumerate(seeds)]
    runs = [omega_derivatives(T=T, H=H, N=N, seed=s) for s in seeds]
    return {"seeds": np.array(seeds),
            "cosine": {m: np.array([r["cosine"][m] for r in runs]) for m in regularizer.MODES},
            "rel_norm": {m: np.array([r["rel_norm"][m] for r in runs]) for m in regularizer.MODES}}


# ----------------------------------------------------------------------------- optimisers

OPTIMISERS = ("sgd", "momentum", "annealing", "early stopping")


def optimiser_curves(T=10, steps=400, lr=0.1, seed=0, H=None, val_every=20, patience=3):
    """One training curve per optimiser of Galvan's thesis (section 1.5) on the adding
    problem, each against plain SGD, all from the same initialisation and data:
      sgd: constant lr; momentum: gamma 0.9 at lr (1 - gamma), so that its long-run step
      lr / (1 - gamma) equals SGD's; annealing: exponential schedule from 4 lr, halving
      every steps/4 updates; early stopping: plain SGD that stops after `patience`
      validations without a lower error and returns the best parameters.
    Returns {name: {"step", "val_error", "best_step", "best_error", "steps_run",
    "stop_reason", "lr"}}."""
    val = small_task(T=T)
    H = SMALL["H"] if H is None else H
    common = dict(H=H, steps=steps, batch_size=SMALL["batch_size"], seed=seed,
                  val_every=val_every)
    runs = {"sgd": dict(lr=lr),
            "momentum": dict(lr=lr * (1 - 0.9), optimizer="momentum", momentum=0.9),
            "annealing": dict(schedule=optim.exponential(4 * lr, 0.5 ** (4 / steps))),
            "early stopping": dict(lr=lr, patience=patience)}
    out = {}
    for name, kw in runs.items():
        _, h = train.fit("rnn", val, **common, **kw)
        out[name] = {"step": np.array(h.val_step), "val_error": np.array(h.val_error),
                     "best_step": h.best_step, "best_error": h.best_error,
                     "steps_run": h.steps_run, "stop_reason": h.stop_reason,
                     "lr": np.array(h.lr)}
    return out


# ----------------------------------------------------------------------------- weight decay

def weight_decay(l2s=(0.0, 0.01, 0.03), l1=0.003, T=20, steps=300, lr=0.05, seed=0, H=None):
    """Train SMALL's network with L2 decay of each strength in l2s and with L1 decay l1.

    Returns {label: {"l2", "l1", "rho" (spectral radius of W_h after training),
    "sigma_max", "profile" (log10 ||dL/dh_k|| against lag), "val_error"}}, plus "init".
    """
    val = small_task(T=T)
    H = SMALL["H"] if H is None else H
    kw = dict(H=H, steps=steps, lr=lr, seed=seed, batch_size=SMALL["batch_size"], clip=1.0)
    settings = [(f"L2 {l2:g}" if l2 else "no decay", l2, 0.0) for l2 in l2s]
    settings.append((f"L1 {l1:g}", 0.0, l1))
    runs = {"init": train.init_model("rnn", val.D, H, val.n_out, seed=seed)}
    meta = {"init": (0.0, 0.0)}
    for label, l2, l1_ in settings:
        runs[label], _ = train_run(val, l2=l2, l1=l1_, **kw)
        meta[label] = (l2, l1_)
    out = {}
    for label, p in runs.items():
        W = p["cell"]["W_h"]
        out[label] = {"l2": meta[label][0], "l1": meta[label][1],
                      "rho": float(matrices.spectral_radius(W)),
                      "sigma_max": float(matrices.sigma_max(W)),
                      "profile": lag_profile(p, val),
                      "val_error": train.evaluate("rnn", p, val)[2]}
    return out
