"""Optimisers, learning-rate schedules and gradient clipping, as pure functions.

Parameters and gradients are dicts of float arrays, possibly nested (dicts, lists or
tuples of them, e.g. {"cell": {...}, "out": {...}} or one dict per stacked layer); a
gradient tree has exactly the structure and shapes of its parameter tree. Every function
returns new trees and never modifies its arguments. The global norm is the 2-norm of all
gradient entries taken together, as if the tree were flattened into one vector.
"""
import numpy as np

from ..validate import as_float_array, check_finite, check_int, check_positive

# ----------------------------------------------------------------------------- trees


def _map(fn, tree, *others, names=("grads",), path=""):
    """Apply fn(leaf, *other_leaves, path=...) over trees of one structure.

    names: what to call each tree in `others` in an error message (which also gives the path).
    """
    if isinstance(tree, dict):
        for o, nm in zip(others, names):
            if not isinstance(o, dict) or set(o) != set(tree):
                got = sorted(o) if isinstance(o, dict) else type(o).__name__
                raise ValueError(f"{nm}{path}: expected keys {sorted(tree)}, received {got}")
        return {k: _map(fn, tree[k], *(o[k] for o in others), names=names, path=f"{path}[{k!r}]")
                for k in tree}
    if isinstance(tree, (list, tuple)):
        for o, nm in zip(others, names):
            if not isinstance(o, (list, tuple)) or len(o) != len(tree):
                got = f"length {len(o)}" if isinstance(o, (list, tuple)) else type(o).__name__
                raise ValueError(f"{nm}{path}: expected a sequence of length {len(tree)}, "
                                 f"received {got}")
        out = [_map(fn, t, *(o[j] for o in others), names=names, path=f"{path}[{j}]")
               for j, t in enumerate(tree)]
        return type(tree)(out)
    return fn(tree, *others, path=path)


def leaves(tree):
    """The arrays of a tree, in a fixed order (dict insertion order, then list order)."""
    out = []
    _map(lambda a, path: out.append(a), tree)
    return out


def n_params(tree):
    """The number of trainable numbers (array elements) in a params tree."""
    return int(sum(a.size for a in leaves(tree)))


def _check_leaf(label, other=False):
    """Leaf check: a finite float array; with other=True, the second leaf must match the first."""
    def check(a, *others, path):
        if not other:
            as_float_array(f"{label}{path}", a)
            check_finite(f"{label}{path}", a)
            return a
        for o in others:
            as_float_array(f"{label}{path}", o, a.dtype)
            if o.shape != a.shape:
                raise ValueError(f"{label}{path}: expected shape {a.shape} (of params{path}), "
                                 f"received {o.shape}")
            check_finite(f"{label}{path}", o)
        return a
    return check


def _check_pair(params, grads):
    """params is a tree of finite float arrays and grads matches it leaf by leaf."""
    _map(_check_leaf("params"), params)
    _map(_check_leaf("grads", other=True), params, grads, names=("grads",))


def zeros_like(tree):
    """A tree of zeros with the structure, shapes and dtypes of `tree` (a fresh velocity)."""
    return _map(lambda a, path: np.zeros_like(a), tree)

# ----------------------------------------------------------------------------- optimisers


def sgd(params, grads, lr):
    """One SGD step, theta <- theta - lr * g. Returns the new params tree."""
    lr = check_positive("lr", lr)
    _check_pair(params, grads)
    return _map(lambda p, g, path: p - lr * g, params, grads)


def momentum(params, grads, velocity, lr, gamma=0.9):
    """Heavy-ball momentum (eqs. 1.60-1.61 of Galvan's thesis): v <- gamma v + lr g; theta -= v.

    velocity: a tree like params, or None for zeros (the first step). gamma in [0, 1).
    Returns (new params, new velocity).
    """
    lr = check_positive("lr", lr)
    gamma = check_positive("gamma", gamma, allow_zero=True)
    if gamma >= 1:
        raise ValueError(f"gamma: expected a momentum coefficient in [0, 1), received {gamma}")
    if velocity is None:
        velocity = zeros_like(params)
    _check_pair(params, grads)
    _map(_check_leaf("velocity", other=True), params, velocity, names=("velocity",))
    v_new = _map(lambda v, g, path: gamma * v + lr * g, velocity, grads)
    return _map(lambda p, v, path: p - v, params, v_new), v_new

# ----------------------------------------------------------------------------- schedules


def _step_index(k):
    return check_int("k", k, low=0)


def constant(lr0):
    """lr(k) = lr0."""
    lr0 = check_positive("lr0", lr0)
    return lambda k: (_step_index(k), lr0)[1]


def exponential(lr0, decay):
    """Exponential annealing, lr(k) = lr0 * decay^k, with decay in (0, 1]."""
    lr0 = check_positive("lr0", lr0)
    decay = check_positive("decay", decay)
    if decay > 1:
        raise ValueError(f"decay: expected a factor in (0, 1], received {decay}")
    return lambda k: lr0 * decay ** _step_index(k)


def linear(lr0, lr_end, steps):
    """Linear annealing from lr0 at k = 0 to lr_end at k = steps, constant afterwards."""
    lr0 = check_positive("lr0", lr0)
    lr_end = check_positive("lr_end", lr_end, allow_zero=True)
    steps = check_int("steps", steps, low=1)
    return lambda k: lr0 + (lr_end - lr0) * min(_step_index(k), steps) / steps


def step(lr0, drop, every):
    """Step decay, lr(k) = lr0 * drop^(k // every), with drop in (0, 1]."""
    lr0 = check_positive("lr0", lr0)
    drop = check_positive("drop", drop)
    if drop > 1:
        raise ValueError(f"drop: expected a factor in (0, 1], received {drop}")
    every = check_int("every", every, low=1)
    return lambda k: lr0 * drop ** (_step_index(k) // every)

# ----------------------------------------------------------------------------- clipping


def global_norm(grads):
    """||g||_2 over every entry of the tree, in float64 and without overflow for huge entries."""
    arrays = leaves(_map(_check_leaf("grads"), grads))
    big = max((float(np.abs(a).max(initial=0.0)) for a in arrays), default=0.0)
    if big == 0.0:
        return 0.0
    # scaling by the largest entry keeps the squares in range (norms of 1e200 stay finite)
    total = sum(float(np.sum((a.astype(np.float64) / big) ** 2)) for a in arrays)
    return big * float(np.sqrt(total))


def _check_threshold(c):
    if isinstance(c, bool) or not isinstance(c, (int, float, np.integer, np.floating)):
        raise TypeError(f"c: expected a real threshold, received {type(c).__name__} {c!r}")
    if not (np.isfinite(c) and c > 0):
        raise ValueError(f"c: expected a finite threshold > 0, received {c}")
    return float(c)


def clip_global_norm(grads, c):
    """Algorithm 2 of Galvan's thesis: if ||g|| >= c then g <- c g / ||g|| (same direction, norm c).

    Returns (clipped grads, the norm before clipping, clipped: bool).
    """
    c = _check_threshold(c)
    norm = global_norm(grads)
    clipped = norm >= c and norm > 0
    scale = c / norm if clipped else 1.0
    return _map(lambda g, path: g * scale, grads), norm, bool(clipped)


def clip_value(grads, c):
    """Clip every entry to [-c, c]. Returns (grads, number of entries that were changed)."""
    c = _check_threshold(c)
    _map(_check_leaf("grads"), grads)
    n = sum(int(np.count_nonzero(np.abs(g) > c)) for g in leaves(grads))
    return _map(lambda g, path: np.clip(g, -c, c), grads), n
