"""Optimisers and learning-rate schedules, as pure functions over trees of arrays.

Parameters and gradients are dicts of float arrays, possibly nested (dicts, lists or
tuples of them, e.g. {"cell": {...}, "out": {...}} or one dict per stacked layer); a
gradient tree has exactly the structure and shapes of its parameter tree. Every function
returns new trees and never modifies its arguments. Public functions check their
arguments unless check=False (what the trainers pass inside their loops, having checked
once at the edge); tree_map is the one walk over trees. Clipping is in clipping.py.
"""
import numpy as np

from ..validate import as_float_array, check_finite, check_int, check_positive

# ----------------------------------------------------------------------------- trees


def tree_map(fn, tree, *others, names=("grads",), path=""):
    """Apply fn(leaf, *other_leaves, path=...) over trees of one structure.

    names: what to call each tree in `others` in an error message (which also gives the path).
    """
    if isinstance(tree, dict):
        for o, nm in zip(others, names):
            if not isinstance(o, dict) or set(o) != set(tree):
                got = sorted(o) if isinstance(o, dict) else type(o).__name__
                raise ValueError(f"{nm}{path}: expected keys {sorted(tree)}, received {got}")
        return {k: tree_map(fn, tree[k], *(o[k] for o in others), names=names, path=f"{path}[{k!r}]")
                for k in tree}
    if isinstance(tree, (list, tuple)):
        for o, nm in zip(others, names):
            if not isinstance(o, (list, tuple)) or len(o) != len(tree):
                got = f"length {len(o)}" if isinstance(o, (list, tuple)) else type(o).__name__
                raise ValueError(f"{nm}{path}: expected a sequence of length {len(tree)}, "
                                 f"received {got}")
        out = [tree_map(fn, t, *(o[j] for o in others), names=names, path=f"{path}[{j}]")
               for j, t in enumerate(tree)]
        return type(tree)(out)
    return fn(tree, *others, path=path)


def leaves(tree):
    """The arrays of a tree, in a fixed order (dict insertion order, then list order)."""
    out = []
    tree_map(lambda a, path: out.append(a), tree)
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


def check_tree(name, tree, like=None):
    """tree is a tree of finite float arrays (errors name `name` and the path); with like,
    it must match that params tree leaf by leaf (keys, shapes and dtype)."""
    if like is None:
        tree_map(_check_leaf(name), tree)
    else:
        tree_map(_check_leaf(name, other=True), like, tree, names=(name,))


def _check_pair(params, grads):
    """params is a tree of finite float arrays and grads matches it leaf by leaf."""
    check_tree("params", params)
    check_tree("grads", grads, like=params)


def zeros_like(tree):
    """A tree of zeros with the structure, shapes and dtypes of `tree` (a fresh velocity)."""
    return tree_map(lambda a, path: np.zeros_like(a), tree)

# ----------------------------------------------------------------------------- optimisers


def sgd(params, grads, lr, check=True):
    """One SGD step, theta <- theta - lr * g. Returns the new params tree."""
    if check:
        lr = check_positive("lr", lr)
        _check_pair(params, grads)
    return tree_map(lambda p, g, path: p - lr * g, params, grads)


def momentum(params, grads, velocity, lr, gamma=0.9, check=True):
    """Heavy-ball momentum (eqs. 1.60-1.61 of Galvan's thesis): v <- gamma v + lr g; theta -= v.

    velocity: a tree like params, or None for zeros (the first step). gamma in [0, 1).
    Returns (new params, new velocity).
    """
    if check:
        lr = check_positive("lr", lr)
        gamma = check_momentum("gamma", gamma)
    if velocity is None:
        velocity = zeros_like(params)
    if check:
        _check_pair(params, grads)
        check_tree("velocity", velocity, like=params)
    v_new = tree_map(lambda v, g, path: gamma * v + lr * g, velocity, grads)
    return tree_map(lambda p, v, path: p - v, params, v_new), v_new


def check_momentum(name, gamma):
    """A momentum coefficient in [0, 1), as a float. Errors name `name`."""
    gamma = check_positive(name, gamma, allow_zero=True)
    if gamma >= 1:
        raise ValueError(f"{name}: expected a momentum coefficient in [0, 1), received {gamma}")
    return gamma


def adam(params, grads, m, v, k, lr, beta1=0.9, beta2=0.999, eps=1e-8, check=True):
    """One Adam update (Kingma & Ba 2015), k = 1, 2, ... the update number.

    m <- beta1 m + (1 - beta1) g;  v <- beta2 v + (1 - beta2) g^2;
    theta <- theta - lr * (m / (1 - beta1^k)) / (sqrt(v / (1 - beta2^k)) + eps).
    m, v None at the first update. Returns new (params, m, v); nothing is modified.
    """
    if check:
        lr = check_positive("lr", lr)
        k = check_int("k", k, low=1)
        _check_pair(params, grads)
    if m is None:
        m, v = zeros_like(params), zeros_like(params)
    m = tree_map(lambda a, g, path: beta1 * a + (1 - beta1) * g, m, grads)
    v = tree_map(lambda a, g, path: beta2 * a + (1 - beta2) * (g * g), v, grads)
    c1, c2 = 1 - beta1 ** k, 1 - beta2 ** k
    new = tree_map(lambda p, a, b, path: (p - lr * (a / c1) / (np.sqrt(b / c2) + eps)).astype(p.dtype),
                   params, m, v)
    return new, m, v


OPTIMIZERS = ("sgd", "momentum", "adam")


def update(params, grads, state, k, lr, optimizer="sgd", gamma=0.9, check=True):
    """One update by `optimizer` (OPTIMIZERS), the one step every trainer takes.

    state: None at the first update, then what the previous call returned (momentum's
    velocity, Adam's (m, v)); k = 0, 1, ... the update number; gamma: momentum's
    coefficient. Returns (new params, new state).
    """
    if optimizer == "sgd":
        return sgd(params, grads, lr, check), None
    if optimizer == "momentum":
        return momentum(params, grads, state, lr, gamma, check)
    m, v = (None, None) if state is None else state
    new, m, v = adam(params, grads, m, v, k + 1, lr, check=check)
    return new, (m, v)


def weight_decay(params, l2=0.0, l1=0.0):
    """The gradient of l2/2 ||W||^2 + l1 |W|_1 over the weight matrices (the keys starting
    with "W"; no biases, no embeddings), as a tree like params (zeros elsewhere). Unchecked."""
    def grad(a, path):
        key = path.rsplit("[", 1)[-1].strip("]'")
        return l2 * a + l1 * np.sign(a) if key.startswith("W") else np.zeros_like(a)
    return tree_map(grad, params)

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
