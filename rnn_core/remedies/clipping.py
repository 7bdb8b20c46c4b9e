"""Gradient clipping, one rule for the whole package: Pascanu, Mikolov & Bengio (2013),
Algorithm 1, if ||g|| >= c then g <- c g / ||g|| (it fires AT ||g|| = c), and clipping by
value, every entry into [-c, c].

norm_scale and value_clip are the two rules on arrays (a norm per run or per row, checked
nowhere); every trainer, experiment and widget of the package calls them. The tree
functions (global_norm, clip_global_norm, clip_value) apply them to gradient trees as
optim.py defines them, and check their arguments unless check=False. The global norm is
the 2-norm of all entries taken together, as if the tree were one vector.
"""
import numpy as np

from .optim import check_tree, leaves, tree_map


def norm_scale(norm, c):
    """Algorithm 1's factor: c / norm where norm >= c and norm > 0, else 1. Unchecked.

    norm, c: floats or arrays that broadcast (one threshold per run or per row; c = inf
    never fires). Returns (scale, fired) as float64 and bool arrays (0-d for scalars).
    """
    norm = np.asarray(norm, dtype=np.float64)
    fired = (norm >= c) & (norm > 0) & np.isfinite(c)
    return np.where(fired, c / np.where(fired, norm, 1.0), 1.0), fired


def value_clip(g, c):
    """Every entry of g into [-c, c]; c broadcasts against g (a scalar, or one per run).
    Unchecked. Returns (clipped g, changed: bool array of g's shape)."""
    return np.clip(g, -c, c), np.abs(g) > c


def check_threshold(name, c):
    """A clipping threshold: a finite real c > 0, as a float. Errors name `name`."""
    if isinstance(c, bool) or not isinstance(c, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name}: expected a real threshold, received {type(c).__name__} {c!r}")
    if not (np.isfinite(c) and c > 0):
        raise ValueError(f"{name}: expected a finite threshold > 0, received {c}")
    return float(c)


def global_norm(grads, check=True):
    """||g||_2 over every entry of the tree, in float64 and without overflow for huge entries."""
    if check:
        check_tree("grads", grads)
    arrays = leaves(grads)
    big = max((float(np.abs(a).max(initial=0.0)) for a in arrays), default=0.0)
    if big == 0.0:
        return 0.0
    # scaling by the largest entry keeps the squares in range (norms of 1e200 stay finite)
    total = sum(float(np.sum((a.astype(np.float64) / big) ** 2)) for a in arrays)
    return big * float(np.sqrt(total))


def clip_global_norm(grads, c, check=True):
    """Algorithm 1 on a tree: if ||g|| >= c then g <- c g / ||g|| (same direction, norm c).

    Returns (clipped grads, new arrays; the norm before clipping; clipped: bool).
    """
    if check:
        c = check_threshold("c", c)
    norm = global_norm(grads, check)
    scale, fired = norm_scale(norm, c)
    scale = float(scale)                   # a Python float keeps float32 grads float32
    return tree_map(lambda g, path: g * scale, grads), norm, bool(fired)


def clip_value(grads, c, check=True):
    """Clip every entry to [-c, c]. Returns (grads, number of entries that were changed)."""
    if check:
        c = check_threshold("c", c)
        check_tree("grads", grads)
    pairs = [value_clip(g, c) for g in leaves(grads)]     # in tree_map's order
    n = sum(int(np.count_nonzero(changed)) for _, changed in pairs)
    out = iter(g for g, _ in pairs)
    return tree_map(lambda g, path: next(out), grads), n


def clip(grads, norm, c=None, c_value=None):
    """The trainers' one clipping call, unchecked: by global norm at c, then by value at
    c_value (None: off). norm: ||grads||, already measured. Returns (grads, clipped: bool,
    entries changed by value)."""
    fired, n_val = False, 0
    if c is not None:
        scale, fired = norm_scale(norm, c)
        scale, fired = float(scale), bool(fired)
        grads = tree_map(lambda g, path: g * scale, grads)
    if c_value is not None:
        grads, n_val = clip_value(grads, c_value, check=False)
    return grads, fired, n_val
