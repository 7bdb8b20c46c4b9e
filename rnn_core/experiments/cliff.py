"""The cliff: Pascanu, Mikolov & Bengio (2013)'s one-neuron RNN (their section 2.3), its
error surface, and gradient descent on it with and without clipping (notebook 07).

    x_t = w sigmoid(x_{t-1}) + b,   x_0 = 0.5,   L(w, b) = (sigmoid(x_T) - 0.7)^2,  T = 50.

cliff_loss_and_grad takes w and b as float arrays of ONE shape (a grid, a batch of starting
points, or 0-d arrays for one point; nothing broadcasts) and returns arrays of that shape.
Nothing here is random: the same arguments give the same numbers.
"""
import numpy as np

from ..nn import activations
from ..remedies import clipping, optim
from ..validate import as_float_array, check_finite, check_int, check_positive

CLIFF_T = 50
CLIFF_X0 = 0.5
CLIFF_TARGET = 0.7
CLIFF_W = (2.0, 8.0)           # the window of (w, b) the notebook draws
CLIFF_B = (-5.0, 0.0)
CLIFF_SLICE_W = 5.0            # the slice in b through the cliff
# starting points on the high plateau below the cliff (the first three are thrown at lr 0.3)
CLIFF_STARTS = ((4.4, -2.6), (4.4, -2.8), (4.8, -3.2), (5.2, -3.0), (4.8, -2.4))
_SIG = activations.get("sigmoid")


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
            scale, fired[:, k] = clipping.norm_scale(norm[:, k], c)    # Algorithm 1, per row
            p, _ = optim.update(p, g * scale[:, None], None, k, lr, "sgd", check=False)
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

    lr > 0; clip: global-norm threshold of clipping.norm_scale (on the 2-vector (dL/dw, dL/db)),
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


def leaves_window(run, w_range=CLIFF_W, b_range=CLIFF_B):
    """Which runs of a cliff_trajectories result leave the window w_range x b_range (the
    one the notebook draws) at some step: (S,) bool."""
    p = run["paths"]                                   # (S, steps + 1, 2)
    out = ((p[..., 0] < w_range[0]) | (p[..., 0] > w_range[1])
           | (p[..., 1] < b_range[0]) | (p[..., 1] > b_range[1]))
    return out.any(axis=1)
