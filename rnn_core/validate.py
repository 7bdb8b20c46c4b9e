"""Input checks shared by every module: clear errors instead of silent broadcasting.

Every check raises TypeError (wrong type or dtype) or ValueError (wrong shape, value or
key set), and every message names the argument, what was expected and what was received.
"""
import numpy as np

FLOAT_DTYPES = (np.float32, np.float64)


def as_float_array(name, arr, dtype=None):
    """Check that `arr` is a float32/float64 ndarray (of `dtype`, if given) and return it."""
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"{name}: expected a numpy.ndarray, received {type(arr).__name__}")
    if arr.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{name}: expected dtype float32 or float64, received {arr.dtype}")
    if dtype is not None and arr.dtype != dtype:
        raise TypeError(f"{name}: expected dtype {np.dtype(dtype)} (the dtype of the other "
                        f"arrays), received {arr.dtype}")
    return arr


def check_shape(name, arr, shape):
    """Check `arr.shape` against `shape`, where a None entry matches any size."""
    ok = arr.ndim == len(shape) and all(s is None or s == a for s, a in zip(shape, arr.shape))
    if not ok:
        want = "(" + ", ".join("any" if s is None else str(s) for s in shape) + ")"
        raise ValueError(f"{name}: expected shape {want}, received {arr.shape}")


def check_finite(name, arr):
    """Reject NaN and infinity, which would otherwise spread silently through the sequence."""
    if not np.isfinite(arr).all():
        bad = int(arr.size - np.isfinite(arr).sum())
        raise ValueError(f"{name}: expected finite values, received {bad} NaN or inf "
                         f"entries out of {arr.size}")


def check_array(name, arr, shape, dtype=None):
    """Type, dtype, shape and finiteness of one array in a single call; returns it."""
    as_float_array(name, arr, dtype)
    check_shape(name, arr, shape)
    check_finite(name, arr)
    return arr


def check_sequence(name, x, D=None, dtype=None):
    """A batch-first input sequence (N, T, D) with T >= 1; returns (N, T, D)."""
    as_float_array(name, x, dtype)
    if x.ndim != 3:
        raise ValueError(f"{name}: expected a 3-d array of shape (N, T, D), received shape {x.shape}")
    N, T, D_in = x.shape
    if T == 0:
        raise ValueError(f"{name}: expected a sequence length T >= 1, received T = 0 (shape {x.shape})")
    if N == 0:
        raise ValueError(f"{name}: expected a batch size N >= 1, received N = 0 (shape {x.shape})")
    if D is not None and D_in != D:
        raise ValueError(f"{name}: expected input size D = {D} (from the parameters), "
                         f"received shape {x.shape}")
    check_finite(name, x)
    return N, T, D_in


def check_params(name, params, shapes, dtype=None):
    """Check a parameter dict: exactly the keys of `shapes`, each array of that shape."""
    if not isinstance(params, dict):
        raise TypeError(f"{name}: expected a dict of arrays, received {type(params).__name__}")
    missing = sorted(set(shapes) - set(params))
    extra = sorted(set(params) - set(shapes))
    if missing or extra:
        raise ValueError(f"{name}: expected keys {sorted(shapes)}, received {sorted(params)}"
                         + (f" (missing {missing})" if missing else "")
                         + (f" (unexpected {extra})" if extra else ""))
    if dtype is None:
        dtype = as_float_array(f"{name}[{next(iter(shapes))!r}]", params[next(iter(shapes))]).dtype
    for key, shape in shapes.items():
        check_array(f"{name}[{key!r}]", params[key], shape, dtype)
    return dtype


def check_choice(name, value, choices):
    """An option that must be one of a fixed set of names."""
    if value not in choices:
        raise ValueError(f"{name}: expected one of {sorted(choices)}, received {value!r}")
    return value


def check_int(name, value, low=None, high=None):
    """A Python or numpy integer within [low, high]."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name}: expected an integer, received {type(value).__name__} {value!r}")
    if (low is not None and value < low) or (high is not None and value > high):
        lo = "-inf" if low is None else low
        hi = "inf" if high is None else high
        raise ValueError(f"{name}: expected an integer in [{lo}, {hi}], received {value}")
    return int(value)


def check_positive(name, value, allow_zero=False):
    """A finite real number > 0 (or >= 0 with allow_zero)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name}: expected a real number, received {type(value).__name__} {value!r}")
    ok = np.isfinite(value) and (value >= 0 if allow_zero else value > 0)
    if not ok:
        want = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name}: expected a finite number {want}, received {value}")
    return float(value)


def check_state(name, state, shapes, dtype=None):
    """A recurrent state (or its gradient): a dict with exactly the keys of `shapes`.

    Returns the arrays in the order of `shapes`, each checked like check_array.
    """
    if not isinstance(state, dict) or set(state) != set(shapes):
        got = sorted(state) if isinstance(state, dict) else type(state).__name__
        raise ValueError(f"{name}: expected a dict with keys {list(shapes)}, received {got}")
    return tuple(check_array(f"{name}[{key!r}]", state[key], shape, dtype)
                 for key, shape in shapes.items())


def check_indices(name, idx, shape=None, high=None):
    """An integer ndarray (of `shape`, None entries matching anything) with values in [0, high)."""
    if not isinstance(idx, np.ndarray):
        raise TypeError(f"{name}: expected a numpy.ndarray of integers, received {type(idx).__name__}")
    if idx.dtype == bool or not np.issubdtype(idx.dtype, np.integer):
        raise TypeError(f"{name}: expected an integer dtype, received {idx.dtype}")
    if shape is not None:
        ok = idx.ndim == len(shape) and all(s is None or s == a for s, a in zip(shape, idx.shape))
        if not ok:
            want = "(" + ", ".join("any" if s is None else str(s) for s in shape) + ")"
            raise ValueError(f"{name}: expected shape {want}, received {idx.shape}")
    if high is not None and idx.size and (idx.min() < 0 or idx.max() >= high):
        raise ValueError(f"{name}: expected values in [0, {high}), received values in "
                         f"[{idx.min()}, {idx.max()}]")
    return idx


def check_options(cell, opts, defaults, choices):
    """A cell's keyword options against its OPTIONS: returns `defaults` updated with `opts`.

    cell: the cell's name for messages; defaults: the cell's OPTIONS {name: default};
    choices: {name: allowed values}. An unknown key or a value outside its choices raises
    ValueError naming the option, the expected values and the received one.
    """
    unknown = sorted(set(opts) - set(defaults))
    if unknown:
        raise ValueError(f"{unknown[0]}: expected one of the {cell} cell's options "
                         f"{sorted(defaults)}, received the unknown option {unknown[0]!r}")
    full = {**defaults, **opts}
    for key, value in opts.items():
        check_choice(key, value, choices[key])
    return full


def check_batch_first(name, x, N, where):
    """x (N, T, D) must have the batch size N that `where` (a state's name) has.

    A time-major x (T, N, D) would otherwise be blamed on the state: say so instead.
    """
    if x.shape[0] != N:
        hint = (f"; it looks time-major (T, N, D): pass {name}.transpose(1, 0, 2)"
                if x.shape[1] == N else "")
        raise ValueError(f"{name}: expected a batch-first array (N, T, D) with N = {N} (from "
                         f"{where}), received shape {x.shape}{hint}")


def check_state0(name, state0, keys, x, H, dtype):
    """The initial state of a sequence x (N, T, D): None means zeros; returns the state dict.

    A dict is checked like check_state, after x's batch axis is compared with the state's,
    so that a time-major x is named as the culprit.
    """
    N = x.shape[0]
    if state0 is None:
        return {k: np.zeros((N, H), dtype) for k in keys}
    h = state0.get(keys[0]) if isinstance(state0, dict) else None
    if isinstance(h, np.ndarray) and h.ndim == 2 and h.shape[1] == H:
        check_batch_first("x", x, h.shape[0], f"{name}[{keys[0]!r}]")
    check_state(name, state0, {k: (N, H) for k in keys}, dtype)
    return state0
