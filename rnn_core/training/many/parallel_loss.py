"""The K runs' readout, losses and gradients: parallel.py's passes made a training step.

loss_and_grads is fit's loss and gradients (train.loss_and_grads) for K runs at once (each
run on its own batch, with its own regulariser weight), evaluate is train.evaluate for K
runs, and global_norms is clipping.global_norm per run. Shapes as in parallel.py:
(K, T, N, .) inside, outputs y (K, N, O) many-to-one or (K, T, N, O) many-to-many.

Losses: the MSE and the many-to-one cross-entropy of losses.py are computed for all runs
at once (losses.mse's and losses.softmax_cross_entropy's operations, per run); other
losses (masks, many-to-many) run losses.py's functions run by run (train.data_loss).
"""
import numpy as np

from ...remedies import regularizer
from ...cells import elman
from .parallel import transposed, backward, forward, rows
from ..tasks import LOWER_IS_BETTER

CHUNK = 2 ** 22          # validation forward: at most this many gate entries per chunk of runs


# ----------------------------------------------------------------------------------------
# Readout and losses
# ----------------------------------------------------------------------------------------

def _readout(h, F, many_to_many):
    """y = h W_y^T + b_y per run: (K, T, N, O) for many-to-many, else (K, N, O) at the last step."""
    hr = h if many_to_many else h[:, -1]
    if many_to_many:
        return hr, hr @ transposed(F["W_y"])[:, None] + F["b_y"][:, None, None, :]
    return hr, hr @ transposed(F["W_y"]) + F["b_y"][:, None, :]


def _per_run_y(y, k, many_to_many):
    """Run k's outputs in fit's batch-first layout: (N, O) or (N, T, O)."""
    return y[k].transpose(1, 0, 2) if many_to_many else y[k]


def _mse(y, target):
    """losses.mse of every run at once: y, target (K, N, O) -> (loss (K,), dy (K, N, O))."""
    N = y.shape[1]
    diff = y - target
    with np.errstate(over="ignore"):
        loss = 0.5 * (diff.astype(np.float64) ** 2).reshape(len(y), -1).sum(axis=1) / N
    return loss, diff / N


def _xent(logits, targets):
    """losses.softmax_cross_entropy of every run at once, many-to-one and without a mask:
    logits (K, N, C), targets (K, N) ints -> (loss (K,), dlogits (K, N, C))."""
    N = logits.shape[1]
    z = logits - logits.max(axis=-1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
    idx = targets[..., None]
    picked = np.take_along_axis(logp, idx, axis=-1)[..., 0]
    dlogits = np.exp(logp)
    np.put_along_axis(dlogits, idx, np.take_along_axis(dlogits, idx, -1) - 1, -1)
    loss = -picked.sum(axis=1, dtype=np.float64) / N
    return loss, (dlogits / N).astype(logits.dtype, copy=False)


def _losses(y, data, h_ok, many_to_many, data_loss):
    """Every run's data loss and dL/dy. data: ("mse" or "xent", targets (K, N[, O])) for
    the stacked losses, or ("batches", [Task per run]) for data_loss run by run."""
    kind, targets = data
    if kind == "mse":
        loss, dy = _mse(y, targets)
    elif kind == "xent":
        loss, dy = _xent(y, targets)
    else:
        loss, dy = np.full(len(y), np.nan), np.zeros_like(y)
        for k in np.flatnonzero(h_ok):          # the losses of losses.py, run by run
            loss[k], d = data_loss(targets[k], _per_run_y(y, k, many_to_many))
            dy[k] = d.transpose(1, 0, 2) if many_to_many else d
        return loss, dy
    return np.where(h_ok, loss, np.nan), dy


def _bounded(mod, opts):
    """True where the states are bounded (|h| <= 1): then h_t is non-finite only as NaN,
    which every later step carries on (NaN * w is NaN, also for w = 0), so h_T finite
    means every h_t finite, the check fit makes. Not for relu and linear (relu(-inf) = 0)."""
    return mod is not elman or opts["activation"] in ("tanh", "sigmoid")


def finite_rows(a):
    """(K, ...) -> (K,) bool: every entry of run k is finite. A sum is finite only if all
    its terms are; only runs whose sum is not (overflow or a non-finite entry) are
    checked entry by entry."""
    axes = tuple(range(1, a.ndim))
    with np.errstate(over="ignore", invalid="ignore"):
        ok = np.isfinite(a.sum(axis=axes))
    if not ok.all():
        bad = np.flatnonzero(~ok)
        ok[bad] = np.isfinite(a[bad]).all(axis=axes)
    return ok


def loss_and_grads(mod, opts, xs, data, F, truncate, omega, many_to_many, data_loss, ws=None):
    """Every run's loss on its own batch and the gradient of loss + w Omega (train's
    loss_and_grads, stacked). data: see _losses; omega: None or (weights (K,), mode).

    Returns (loss (K,), omega (K,), grads like F, h_ok (K,) bool: states finite)."""
    K = xs.shape[0]
    h, cache = forward(mod, opts, xs, F, ws)
    h_ok = finite_rows(h[:, -1] if _bounded(mod, opts) else h)
    hr, y = _readout(h, F, many_to_many)
    with np.errstate(over="ignore", invalid="ignore"):
        loss, dy = _losses(y, data, h_ok, many_to_many, data_loss)
        dhr = dy @ (F["W_y"][:, None] if many_to_many else F["W_y"])
        gout = {"W_y": transposed(rows(dy) if many_to_many else dy) @ (rows(hr) if many_to_many else hr),
                "b_y": (rows(dy) if many_to_many else dy).sum(axis=1)}
    T = h.shape[1]
    dh = {t: dhr[:, t] for t in range(T)} if many_to_many else {T - 1: dhr}
    keep_g = omega is not None
    grads, g = backward(mod, opts, dh, cache, F, truncate, keep_g, ws)
    om = np.zeros(K)
    on = np.flatnonzero(omega[0] > 0) if keep_g else []
    if len(on):                   # Omega of the runs that weigh it only (grid stacks others)
        weights, mode = omega
        act = cache["act"]
        with np.errstate(all="ignore"):
            tm = lambda a: a[on].transpose(1, 0, 2, 3)            # noqa: E731  (T, K_on, N, .)
            value, gom = regularizer.time_major_omega(tm(g), tm(xs), cache["hs"][on, 0], tm(h),
                                            {k: F[k][on] for k in ("W_h", "W_x", "b")}, act, mode)
        om[on] = np.where(h_ok[on], value, 0.0)
        for k in gom:
            w = weights[on].astype(grads[k].dtype).reshape((len(on),) + (1,) * (grads[k].ndim - 1))
            grads[k] = grads[k].copy()    # a fresh array as np.where made: the same norms, bit for bit
            grads[k][on] += w * gom[k]
    grads.update(gout)
    return loss, om, grads, h_ok


def evaluate(mod, opts, task, x_val, F, data_loss, ws=None):
    """train.evaluate for every run: a list of (loss, score, error, success)."""
    K = F["W_h"].shape[0]
    T, N, _ = x_val.shape[1:]
    per_run = T * N * F["W_h"].shape[1]
    chunk = max(1, CHUNK // per_run)
    out = []
    for k0 in range(0, K, chunk):
        Fc = {k: v[k0:k0 + chunk] for k, v in F.items()}
        with np.errstate(all="ignore"):
            h, _ = forward(mod, opts, x_val, Fc, ws)
            _, y = _readout(h, Fc, task.many_to_many)
        for k in range(y.shape[0]):
            yk = _per_run_y(y, k, task.many_to_many)
            if not np.isfinite(yk).all():
                worst = float("inf") if task.metric in LOWER_IS_BETTER else 0.0
                out.append((float("inf"), worst, float("inf"), False))
                continue
            loss, _ = data_loss(task, yk)
            out.append((loss, task.score(yk), task.error(yk), task.success(yk)))
    return out


def global_norms(flat):
    """optim.global_norm per run: flat {key: (A, n)} -> (norm (A,) float64, finite (A,)
    bool: every entry of the run's gradient is finite). The sum of squares in float64 is
    one np.vecdot per key; runs where it is not finite (huge or non-finite entries) get
    optim.global_norm's formula, scaled by the largest entry, so that huge gradients keep
    a finite norm."""
    wide = {k: a if a.dtype == np.float64 else a.astype(np.float64) for k, a in flat.items()}
    with np.errstate(over="ignore", invalid="ignore"):
        total = sum(np.vecdot(a, a) for a in wide.values())
        norm = np.sqrt(total)
        ok = np.isfinite(total)
        bad = np.flatnonzero(~ok)
        if len(bad):
            sub = {k: a[bad] for k, a in wide.items()}
            ok[bad] = np.all([np.isfinite(a).all(axis=1) for a in sub.values()], axis=0)
            big = np.max([np.abs(a).max(axis=1, initial=0.0) for a in sub.values()], axis=0)
            safe = np.where(big > 0, big, 1.0)[:, None]
            scaled = sum(((a / safe) ** 2).sum(axis=1) for a in sub.values())
            norm[bad] = np.where(big > 0, big * np.sqrt(scaled), 0.0)
    return norm, ok
