"""The cliff, clipping, Pascanu's regulariser, the optimisers and weight decay, and the
reproduction of the papers' success rates (notebook 07).

The cliff is Pascanu, Mikolov & Bengio (2013)'s one-neuron RNN (their section 2.3):

    x_t = w sigmoid(x_{t-1}) + b,   x_0 = 0.5,   L(w, b) = (sigmoid(x_T) - 0.7)^2,  T = 50.

Its functions take w and b as float arrays of ONE shape (a grid, a batch of starting points,
or 0-d arrays for one point; nothing broadcasts) and return arrays of that shape.
The training experiments use the Elman RNN of rnn_core.cells with the readout of train.py
(params {"cell": {...}, "out": {...}}). Gradient norms against lag are
||dL/dh_k|| averaged over the batch, with lag l = T - 1 - k steps back from the loss at
the last step. Every function takes `seed` (or fixed inputs) and returns the same numbers
for the same arguments.
"""
import time

import numpy as np

from .. import activations, matrices, optim, regularizer, tasks, train
from ..cells import elman
from ..readout import affine_backward, affine_forward
from ..validate import (as_float_array, check_choice, check_finite, check_int,
                        check_positive)

CLIFF_T = 50
CLIFF_X0 = 0.5
CLIFF_TARGET = 0.7
CLIFF_W = (2.0, 8.0)           # the window of (w, b) the notebook draws
CLIFF_B = (-5.0, 0.0)
CLIFF_SLICE_W = 5.0            # the slice in b through the cliff
# starting points on the high plateau below the cliff (the first three are thrown at lr 0.3)
CLIFF_STARTS = ((4.4, -2.6), (4.4, -2.8), (4.8, -3.2), (5.2, -3.0), (4.8, -2.4))
_SIG = activations.get("sigmoid")

# ----------------------------------------------------------------------------- the cliff


def _check_wb(w, b):
    """w and b: float arrays of one shape (0-d for a point), finite. Returns float64 copies."""
    for name, a in (("w", w), ("b", b)):
        if isinstance(a, (int, float, np.floating)) and not isinstance(a, bool):
            continue
        as_float_array(name, a)
    w = np.array(w, dtype=np.float64)
    b = np.array(b, dtype=np.float64)
    if w.shape != b.shape:
        raise ValueError(f"b: expected the shape of w, {w.shape} (nothing broadcasts), "
                         f"received {b.shape}")
    check_finite("w", w)
    check_finite("b", b)
    return w, b


def _cliff_forward(w, b, T, x0):
    """The states x_0..x_T, (T + 1,) + w.shape, without checks."""
    xs = np.empty((T + 1,) + w.shape)
    xs[0] = x0
    for t in range(1, T + 1):
        xs[t] = w * _SIG.f(xs[t - 1]) + b
    return xs


def _cliff_backward(w, xs, target):
    """(loss, dL/dw, dL/db, dL/dx_0) by BPTT through the scalar recurrence, without checks."""
    T = xs.shape[0] - 1
    s = _SIG.f(xs)                                     # sigmoid(x_t) for every t
    loss = (s[T] - target) ** 2
    dx = 2.0 * (s[T] - target) * s[T] * (1.0 - s[T])   # dL/dx_T
    dw = np.zeros_like(w)
    db = np.zeros_like(w)
    for t in range(T, 0, -1):                          # x_t = w s_{t-1} + b
        dw += dx * s[t - 1]
        db += dx
        dx = dx * w * s[t - 1] * (1.0 - s[t - 1])      # dL/dx_{t-1}
    return loss, dw, db, dx


def cliff_loss_and_grad(w, b, T=CLIFF_T, x0=CLIFF_X0, target=CLIFF_TARGET):
    """The cliff model's loss and exact gradient (BPTT) at (w, b).

    w, b: float arrays of one shape (or Python floats). Returns (loss, dL/dw, dL/db,
    dL/dx_0), float64 arrays of that shape.
    """
    w, b = _check_wb(w, b)
    T = check_int("T", T, low=1)
    if isinstance(x0, bool) or not isinstance(x0, (int, float, np.integer, np.floating)):
        raise TypeError(f"x0: expected a real initial state, received {type(x0).__name__}")
    if not np.isfinite(x0):
        raise ValueError(f"x0: expected a finite initial state, received {x0}")
    x0 = float(x0)
    target = float(target)
    if not 0.0 < target < 1.0:
        raise ValueError(f"target: expected a sigmoid output in (0, 1), received {target}")
    with np.errstate(over="ignore"):                   # exp(-x) of a huge |x| is inf: sigmoid 0
        return _cliff_backward(w, _cliff_forward(w, b, T, x0), target)


def cliff_surface(n_w=121, n_b=121, w_range=CLIFF_W, b_range=CLIFF_B):
    """The error surface on a grid: dict w (n_w,), b (n_b,), loss and log10 ||grad||
    (n_b, n_w), each row one b. Computed once per widget (about 120 x 120 x 50 steps)."""
    n_w, n_b = check_int("n_w", n_w, low=2), check_int("n_b", n_b, low=2)
    w = np.linspace(*w_range, n_w)
    b = np.linspace(*b_range, n_b)
    Wg, Bg = np.meshgrid(w, b)
    loss, dw, db, _ = cliff_loss_and_grad(Wg, Bg)
    return {"w": w, "b": b, "loss": loss, "log10_grad": np.log10(np.hypot(dw, db) + 1e-300)}


def cliff_slice(w=CLIFF_SLICE_W, b_range=CLIFF_B, n=2001, zooms=4):
    """The loss and dL/db along b at fixed w, and the cliff on it.

    Returns dict b (n,), loss, dldb on an even grid, and the cliff found by zooming in
    `zooms` times (each a grid of 201 points over the 4 cells around the steepest point):
    cliff_b, max_abs_dldb (the steepest |dL/db| found), loss_left and loss_right (the loss
    0.05 either side of cliff_b), and the peak on the even grid alone (grid_max_abs_dldb):
    how much a coarse grid misses."""
    n = check_int("n", n, low=3)
    zooms = check_int("zooms", zooms, low=0)
    w = float(w)
    b = np.linspace(*b_range, n)
    loss, _, db, _ = cliff_loss_and_grad(np.full(n, w), b)
    i = int(np.argmax(np.abs(db)))
    centre, half, peak = b[i], 2 * (b[1] - b[0]), float(np.abs(db[i]))
    for _ in range(zooms):
        bz = np.linspace(centre - half, centre + half, 201)
        _, _, dz, _ = cliff_loss_and_grad(np.full(bz.size, w), bz)
        j = int(np.argmax(np.abs(dz)))
        centre, half, peak = bz[j], 2 * (bz[1] - bz[0]), max(peak, float(np.abs(dz[j])))
    side = cliff_loss_and_grad(np.full(2, w), np.array([centre - 0.05, centre + 0.05]))[0]
    return {"w": w, "b": b, "loss": loss, "dldb": db, "cliff_b": float(centre),
            "max_abs_dldb": peak, "grid_max_abs_dldb": float(np.abs(db[i])),
            "loss_left": float(side[0]), "loss_right": float(side[1])}


def clip_vector(g, c):
    """Algorithm 2 on stacked 2-vectors g (..., 2): rows with ||g|| >= c scaled to norm c.
    c: a threshold, an array of one per row (inf: never), or None (unchanged).
    Returns (clipped g, clipped mask (...))."""
    norm = np.linalg.norm(g, axis=-1)
    if c is None:
        return g.copy(), np.zeros(norm.shape, bool)
    fire = norm >= c
    scale = np.where(fire, c / np.where(fire, norm, 1.0), 1.0)
    return g * scale[..., None], fire


def _descend(p, lr, c, steps):
    """Gradient descent on the cliff from p (S, 2), thresholds c (S,) (inf: no clipping).
    Returns paths (S, steps + 1, 2), loss (S, steps + 1), norm (S, steps), fired (S, steps)."""
    S = len(p)
    paths = np.empty((S, steps + 1, 2))
    loss = np.empty((S, steps + 1))
    norm = np.empty((S, steps))
    fired = np.zeros((S, steps), bool)
    paths[:, 0] = p
    with np.errstate(over="ignore"):
        for k in range(steps + 1):
            lk, dw, db, _ = _cliff_backward(p[:, 0], _cliff_forward(p[:, 0], p[:, 1], CLIFF_T,
                                                                 CLIFF_X0), CLIFF_TARGET)
            loss[:, k] = lk
            if k == steps:
                break
            g = np.stack([dw, db], axis=-1)
            norm[:, k] = np.linalg.norm(g, axis=-1)
            g, fired[:, k] = clip_vector(g, c)
            p = p - lr * g
            paths[:, k + 1] = p
    return paths, loss, norm, fired


def _check_starts(starts):
    p = np.array(starts, dtype=np.float64)             # (S, 2)
    if p.ndim != 2 or p.shape[1] != 2 or len(p) == 0:
        raise ValueError(f"starts: expected (w, b) pairs, shape (S, 2), received {p.shape}")
    check_finite("starts", p)
    return p


def _run_dict(lr, clip, paths, loss, norm, fired):
    step_len = np.linalg.norm(np.diff(paths, axis=1), axis=-1)
    return {"lr": lr, "clip": clip, "paths": paths, "loss": loss, "norm": norm,
            "clipped": fired, "max_step": step_len.max(axis=1)}


def cliff_trajectories(lr=0.3, clip=None, steps=30, starts=CLIFF_STARTS):
    """Gradient descent on the cliff model from each start, with or without clipping.

    lr > 0; clip: global-norm threshold of Algorithm 2 (on the 2-vector (dL/dw, dL/db)),
    or None. Returns dict lr, clip, paths (S, steps + 1, 2) of (w, b), loss (S, steps + 1),
    norm (S, steps) of the raw gradient, clipped (S, steps) bool, and max_step (S,): the
    longest single step of each run."""
    lr = check_positive("lr", lr)
    if clip is not None:
        clip = check_positive("clip", clip)
    steps = check_int("steps", steps, low=1)
    p = _check_starts(starts)
    c = np.full(len(p), np.inf if clip is None else clip)
    return _run_dict(lr, clip, *_descend(p, lr, c, steps))


def cliff_pair(lr=0.3, clip=1.0, steps=30, starts=CLIFF_STARTS):
    """(without clipping, with clipping at clip): two cliff_trajectories results from one
    batched descent (what the explorer computes per change)."""
    lr, clip = check_positive("lr", lr), check_positive("clip", clip)
    steps = check_int("steps", steps, low=1)
    p = _check_starts(starts)
    S = len(p)
    c = np.concatenate([np.full(S, np.inf), np.full(S, clip)])
    out = _descend(np.concatenate([p, p]), lr, c, steps)
    return (_run_dict(lr, None, *(a[:S] for a in out)),
            _run_dict(lr, clip, *(a[S:] for a in out)))


# ----------------------------------------------------------------------------- training runs

# The small setting of sections 2-6: an Elman tanh RNN on the adding problem.
SMALL = {"task": "adding", "T": 20, "H": 16, "batch_size": 20, "lr": 0.05, "n_val": 200,
         "val_seed": 123}
WEIGHTS = ("W_h", "W_x")          # the cell's matrices that weight decay shrinks (and W_y)


def small_task(task=None, T=None, n_val=None, val_seed=None):
    """The validation set of a SMALL-style run (defaults from SMALL)."""
    return tasks.make(SMALL["task"] if task is None else task,
                      N=SMALL["n_val"] if n_val is None else n_val,
                      T=SMALL["T"] if T is None else T,
                      seed=SMALL["val_seed"] if val_seed is None else val_seed)


def decay_gradient(params, l2=0.0, l1=0.0):
    """The gradient of l2/2 ||W||^2 + l1 |W|_1 over the weight matrices (W_h, W_x, W_y; no
    biases), as a tree like params (zeros for the biases)."""
    out = optim.zeros_like(params)
    for key in WEIGHTS:
        W = params["cell"][key]
        out["cell"][key] = l2 * W + l1 * np.sign(W)
    W = params["out"]["W_y"]
    out["out"]["W_y"] = l2 * W + l1 * np.sign(W)
    return out


def _add(a, b):
    return {k: _add(a[k], b[k]) for k in a} if isinstance(a, dict) else a + b


def train_run(val, H, steps, lr, seed=0, batch_size=20, clip=None, clip_value=None, l2=0.0,
              l1=0.0, omega_weight=0.0, init=None, record=False, activation="tanh"):
    """Minibatch SGD on the Elman RNN, as train.fit does it, plus weight decay.

    The same data stream, initialisation, order (gradient of loss + omega_weight Omega,
    then + the decay gradient, then clip by global norm, then by value) and update as
    fit(optimizer="sgd") with the same seed, so without decay the two agree step for
    step (tests/test_remedies.py). l2, l1 >= 0: decay of the weight matrices (W_h, W_x,
    W_y). record: keep every raw gradient (before clipping), flattened.
    Returns (params after the last step, dict of per-step lists: loss, grad_norm,
    clipped, n_value_clipped, and grads (S, P) if record).
    """
    steps = check_int("steps", steps, low=1)
    l2 = check_positive("l2", l2, allow_zero=True)
    l1 = check_positive("l1", l1, allow_zero=True)
    params = train.init_model("rnn", val.D, H, val.n_out, seed=seed, init=init,
                              activation=activation)
    data_seed = int(np.random.SeedSequence(seed).generate_state(3)[2])
    batch_rng = np.random.default_rng(data_seed)
    log = {"loss": [], "grad_norm": [], "clipped": [], "n_value_clipped": [], "grads": []}
    for k in range(steps):
        batch = val.resample(batch_size, seed=int(batch_rng.integers(2 ** 62)))
        loss, _, grads, _ = train.loss_and_grads("rnn", params, batch,
                                                 omega_weight=omega_weight,
                                                 activation=activation)
        if grads is None or not np.isfinite(loss):
            break
        if l2 or l1:
            grads = _add(grads, decay_gradient(params, l2, l1))
        log["loss"].append(loss)
        log["grad_norm"].append(optim.global_norm(grads))
        if record:
            log["grads"].append(np.concatenate([a.ravel() for a in optim.leaves(grads)]))
        fired, n_val = False, 0
        if clip is not None:
            grads, _, fired = optim.clip_global_norm(grads, clip)
        if clip_value is not None:
            grads, n_val = optim.clip_value(grads, clip_value)
        log["clipped"].append(fired)
        log["n_value_clipped"].append(n_val)
        params = optim.sgd(params, grads, lr)
    if record:
        log["grads"] = np.array(log["grads"])
    return params, log


def _last_step_gradients(params, task, activation="tanh"):
    """dL/dh_k at every step for the many-to-one loss of params on task: (N, T, H)."""
    h, _, _ = elman.forward(task.x, None, params["cell"], activation=activation)
    y, cache = affine_forward(h[:, -1], params["out"])
    _, dy = train._data_loss(task, y)
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
    clipped, norm, fired = optim.clip_global_norm(grads, c)
    scale = optim.global_norm(clipped) / norm
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
    r_t per step, (T,)); omega_* (Omega of the validation batch), val_error_*, rho_*.
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


# ----------------------------------------------------------------------------- the reproduction

# The methods of the table, as seedgrid.grid methods (fit keywords). All are minibatch SGD
# without momentum at a constant learning rate, like Pascanu et al.'s Fig. 7.
REPRO_METHODS = {
    "SGD": {"cell": "rnn", "lr": 0.1},
    "SGD+clip": {"cell": "rnn", "lr": 0.1, "clip": 1.0},
    "SGD+clip+Omega": {"cell": "rnn", "lr": 0.1, "clip": 1.0, "omega_weight": 2.0},
    "IRNN": {"cell": "rnn", "lr": 0.03, "clip": 1.0, "activation": "relu",
             "init": {"W_h": "identity"}},
    "LSTM": {"cell": "lstm", "lr": 1.0, "clip": 1.0},
}
# The task versions and success criteria (tasks.py's generators, validation seed 123):
REPRO_TASKS = {
    "temporal_order": {"threshold": 0.99},    # accuracy >= 99 % (Pascanu et al.: 99 % too)
    "adding": {"threshold": 0.1},             # MSE < 0.1, against 1/6 for a constant guess
}
REPRO = {"H": 16, "batch_size": 20, "steps": 200, "val_every": 20, "n_val": 100,
         "val_seed": 123, "dtype": np.float32}   # float32: faster than float64, for the time budget


def reproduction(lengths=(5, 10, 20), n_seeds=8, task_names=tuple(REPRO_TASKS),
                 methods=None, steps=None, H=None, z=1.96, dtype=None):
    """Success rate against sequence length for each method, on each task, with seeds.

    Every (task, T, method, seed) is one run of train.fit with until_success, trained
    batched by seedgrid.grid (equal to separate fits run for run). A run succeeds when a
    validation (every REPRO["val_every"] updates, on REPRO["n_val"] fresh sequences)
    meets the task's criterion within `steps` updates. dtype: what the runs compute in
    (REPRO["dtype"], float32, by default). methods: a subset of REPRO_METHODS
    by name, or a dict like it. Returns dict tasks, methods, lengths, n_seeds, steps,
    rate {task: {method: (len(lengths),)}}, successes (same, ints), interval {task:
    {method: (lo (L,), hi (L,))}} (Wilson at z), median_steps, seconds {task: wall time}.
    """
    from .. import seedgrid
    if methods is None:
        methods = REPRO_METHODS
    elif not isinstance(methods, dict):
        methods = {m: REPRO_METHODS[check_choice("methods", m, tuple(REPRO_METHODS))]
                   for m in methods}
    n_seeds = check_int("n_seeds", n_seeds, low=1)
    steps = REPRO["steps"] if steps is None else check_int("steps", steps, low=1)
    H = REPRO["H"] if H is None else check_int("H", H, low=1)
    lengths = [check_int("lengths", T, low=4) for T in lengths]
    specs = {m: {"H": H, **spec} for m, spec in methods.items()}
    out = {"tasks": list(task_names), "methods": list(methods), "lengths": lengths,
           "n_seeds": n_seeds, "steps": steps, "H": H, "dtype": np.dtype(REPRO["dtype"] if dtype is None else dtype).name,
           "rate": {}, "successes": {},
           "interval": {}, "median_steps": {}, "seconds": {}}
    for name in task_names:
        opts = REPRO_TASKS[check_choice("task_names", name, tuple(REPRO_TASKS))]

        def make(T, name=name, opts=opts):
            return tasks.make(name, N=REPRO["n_val"], T=T, seed=REPRO["val_seed"], **opts)

        g = seedgrid.grid(make, lengths, specs, list(range(n_seeds)), steps=steps,
                          batch_size=REPRO["batch_size"], val_every=REPRO["val_every"],
                          until_success=True, dtype=REPRO["dtype"] if dtype is None else dtype)
        rows = {(r["method"], r["T"]): r for r in g.table(z=z)}
        for key, fn in (("rate", lambda r: r["rate"]), ("successes", lambda r: r["successes"]),
                        ("median_steps", lambda r: r["median_steps"])):
            out[key][name] = {m: np.array([fn(rows[m, T]) for T in lengths]) for m in methods}
        out["interval"][name] = {m: (np.array([rows[m, T]["lo"] for T in lengths]),
                                     np.array([rows[m, T]["hi"] for T in lengths]))
                                 for m in methods}
        out["seconds"][name] = g.wall_time
    return out


def format_reproduction(table):
    """The table as text: one row per task and method, 'k/n [lo, hi]' per length."""
    Ts = table["lengths"]
    head = f"{'task':15s} {'method':15s} " + " ".join(f"{'T = ' + str(T):>17s}" for T in Ts)
    lines = [head]
    for task in table["tasks"]:
        for m in table["methods"]:
            k = table["successes"][task][m]
            lo, hi = table["interval"][task][m]
            cells = " ".join(f"{int(k[i]):d}/{table['n_seeds']} [{lo[i]:.2f}, {hi[i]:.2f}]".rjust(17)
                             for i in range(len(Ts)))
            lines.append(f"{task:15s} {m:15s} {cells}")
    return "\n".join(lines)
