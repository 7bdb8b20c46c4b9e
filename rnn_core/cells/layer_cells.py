"""A stack or a bidirectional layer as one cell: what train.fit trains and costs measures.

stacked_cell(cell, M) and bidirectional_cell(cell) return an object with the cell interface
of cells/ (STATE_KEYS, OPTIONS, options, param_shapes, init_params, zero_state, forward and
backward, with check=False for internal callers), built from the compositions of `layers`, so that
train.fit, train.evaluate and the costs take a stack or a bidirectional layer wherever
they take a cell. The inner cell's options are fixed when the composition is built; its
state is one flat dict of (N, H) arrays, as fit expects: keys f"{key}{j}" per layer j of a
stack ("h0", "h1", "c0", ...) and f"{key}_fwd", f"{key}_bwd" per direction. Parameters: a
list of M dicts (layers.stacked_init) or {"fwd": ..., "bwd": ...}
(layers.bidirectional_init); gradients have the same structure.

Shapes: x (N, T, D), h (N, T, H) (a bidirectional layer's h is (N, T, 2H)).
"""
from types import SimpleNamespace

import numpy as np

from . import sequence
from . import get as get_cell
from .layers import (DIRECTIONS, bidirectional_backward, bidirectional_forward,
                     bidirectional_init, check_list, layer_sizes, stacked_forward, stacked_init)
from ..validate import check_int, check_state


def _composite(name, keys, options, param_shapes, init_params, zero_state, checked_forward,
               unchecked_forward, checked_backward, unchecked_backward):
    """A namespace with the cell interface (a cell is a module: this is its stand-in):
    forward(x, state0, params, check=True) and backward(dh, cache, dstate_T=None,
    truncate=None, check=True) run the checked or the unchecked version."""
    def forward(x, state0, params, check=True):
        if not check:
            return unchecked_forward(x, state0, params, {})
        return checked_forward(x, state0, params)

    def backward(dh, cache, dstate_T=None, truncate=None, check=True):
        if not check:
            T = cache["T"]
            return unchecked_backward(sequence.steps(dh, T), cache, dstate_T, truncate)
        return checked_backward(dh, cache, dstate_T, truncate)

    return SimpleNamespace(name=name, __name__=name, STATE_KEYS=keys, OPTIONS={},
                           options=options, param_shapes=param_shapes,
                           init_params=init_params, zero_state=zero_state, forward=forward,
                           backward=backward)


def _fixed_options(name):
    def options(opts):
        if opts:
            raise ValueError(f"opts: expected no options ({name} fixed its cell's options when "
                             f"it was built), received {sorted(opts)}")
        return {}
    return options


def _flat_state(name, state, keys, layout):
    """A flat state dict {key: (N, H)} -> the nested form `layout` maps keys to (None: zeros)."""
    if state is None:
        return None
    if not isinstance(state, dict) or set(state) != set(keys):
        got = sorted(state) if isinstance(state, dict) else type(state).__name__
        raise ValueError(f"{name}: expected a dict with keys {sorted(keys)}, received {got}")
    return layout(state)


def stacked_cell(cell, M, **opts):
    """M stacked layers of `cell` (eq 1.51 of the lecture notes) as one cell.

    opts: the inner cell's options (activation, form), fixed here. forward(x, state0, params)
    returns the top layer's h (N, T, H_M); states are flat dicts {f"{key}{j}": (N, H_j)};
    params a list of M dicts. backward(..., truncate=k) truncates every layer at the same
    window boundaries.
    """
    mod = get_cell(cell)
    M = check_int("M", M, low=1)
    full = mod.options(opts)
    keys = tuple(f"{k}{j}" for j in range(M) for k in mod.STATE_KEYS)

    def nest(state):
        return [{k: state[f"{k}{j}"] for k in mod.STATE_KEYS} for j in range(M)]

    def flatten(states):
        return {f"{k}{j}": s[k] for j, s in enumerate(states) for k in mod.STATE_KEYS}

    def param_shapes(D, H):
        sizes = layer_sizes(D, H, M)
        return [mod.param_shapes(sizes[j], sizes[j + 1], **opts) for j in range(M)]

    def init_params(D, H, seed=0, dtype=np.float64, **init_opts):
        return stacked_init(cell, D, H, M, seed=seed, dtype=dtype, **opts, **init_opts)

    def zero_state(N, H, dtype=np.float64):
        sizes = layer_sizes(1, H, M)[1:]
        return flatten([mod.zero_state(N, sizes[j], dtype, **opts) for j in range(M)])

    def forward(x, state0, params):
        states0 = _flat_state("state0", state0, keys, nest)
        check_list("params", params, M, f"one param dict per layer, M = {M}")
        h, states_T, cache = stacked_forward(cell, x, states0, params, **opts)
        return h, flatten(states_T), cache

    def _forward(x, state0, params, _opts):
        inp, states_T, caches = x, [], []
        for j, s0 in enumerate(nest(state0)):
            inp, s_T, c = mod.forward(inp, s0, params[j], check=False, **full)
            states_T.append(s_T)
            caches.append(c)
        return inp, flatten(states_T), {"caches": caches, "N": x.shape[0], "T": x.shape[1]}

    def backward(dh, cache, dstate_T=None, truncate=None):
        if not isinstance(cache, dict) or "caches" not in cache or "shapes" not in cache:
            raise ValueError("cache: expected the cache returned by this stack's forward")
        N, T, H = cache["shapes"][-1]
        dh = sequence.check_upstream("dh", dh, N, T, H, cache["dtype"])
        if dstate_T is not None:
            _flat_state("dstate_T", dstate_T, keys, nest)
            for j, ds in enumerate(nest(dstate_T)):
                check_state(f"dstate_T (layer {j})", ds, cache["state_shapes"][j], cache["dtype"])
        return _backward(dh, cache, dstate_T, sequence.check_truncate(truncate))

    def _backward(dh, cache, dstate_T, truncate):
        caches = cache["caches"]
        dstates_T = [None] * M if dstate_T is None else nest(dstate_T)
        dstates0, grads, d = [None] * M, [None] * M, dh
        for j in range(M - 1, -1, -1):      # d: dL/dh_t^j from above (the loss, or layer j+1)
            dx, dstates0[j], grads[j] = mod.backward(d, caches[j], dstates_T[j], truncate, check=False)
            d = sequence.steps(dx, dx.shape[1])
        return dx, flatten(dstates0), grads

    return _composite(f"stacked_cell({cell!r}, {M})", keys, _fixed_options("stacked_cell"),
                      param_shapes, init_params, zero_state, forward, _forward, backward,
                      _backward)


def bidirectional_cell(cell, **opts):
    """A bidirectional layer of `cell` (eqs 1.48-1.50 of the lecture notes) as one cell.

    opts: the inner cell's options, fixed here. forward(x, state0, params) returns
    h (N, T, 2H) = [h_fwd ; h_bwd]; states are flat dicts {f"{key}_fwd", f"{key}_bwd"};
    params {"fwd": ..., "bwd": ...}. Truncated BPTT is not defined for it (the two
    directions would cut at different steps): backward rejects truncate.
    """
    mod = get_cell(cell)
    full = mod.options(opts)
    keys = tuple(f"{k}_{d}" for d in DIRECTIONS for k in mod.STATE_KEYS)

    def nest(state):
        return {d: {k: state[f"{k}_{d}"] for k in mod.STATE_KEYS} for d in DIRECTIONS}

    def flatten(states):
        return {f"{k}_{d}": states[d][k] for d in DIRECTIONS for k in mod.STATE_KEYS}

    def param_shapes(D, H):
        return {d: mod.param_shapes(D, H, **opts) for d in DIRECTIONS}

    def init_params(D, H, seed=0, dtype=np.float64, **init_opts):
        return bidirectional_init(cell, D, H, seed=seed, dtype=dtype, **opts, **init_opts)

    def zero_state(N, H, dtype=np.float64):
        return flatten({d: mod.zero_state(N, H, dtype, **opts) for d in DIRECTIONS})

    def forward(x, state0, params):
        h, state_T, cache = bidirectional_forward(cell, x, _flat_state("state0", state0, keys,
                                                                       nest), params, **opts)
        return h, flatten(state_T), cache

    def _forward(x, state0, params, _opts):
        s0 = nest(state0)
        h_f, sT_f, cache_f = mod.forward(x, s0["fwd"], params["fwd"], check=False, **full)
        h_b, sT_b, cache_b = mod.forward(x[:, ::-1], s0["bwd"], params["bwd"], check=False, **full)
        h = np.concatenate([h_f, h_b[:, ::-1]], axis=2)
        cache = {"cell": mod, "shape": h.shape, "dtype": h.dtype, "fwd": cache_f,
                 "bwd": cache_b, "T": x.shape[1]}
        return h, flatten({"fwd": sT_f, "bwd": sT_b}), cache

    def backward(dh, cache, dstate_T=None, truncate=None):
        if truncate is not None:
            raise ValueError(f"truncate: expected None (truncated BPTT is not defined for a "
                             f"bidirectional layer), received {truncate!r}")
        dx, ds0, grads = bidirectional_backward(dh, cache, _flat_state("dstate_T", dstate_T,
                                                                       keys, nest))
        return dx, flatten(ds0), grads

    def _backward(dh, cache, dstate_T, truncate):
        if truncate is not None:
            raise ValueError(f"truncate: expected None (truncated BPTT is not defined for a "
                             f"bidirectional layer), received {truncate!r}")
        T, H = cache["shape"][1], cache["shape"][2] // 2
        ds = {"fwd": None, "bwd": None} if dstate_T is None else nest(dstate_T)
        dx_f, ds_f, g_f = mod.backward({t: g[:, :H] for t, g in dh.items()}, cache["fwd"],
                                       ds["fwd"], check=False)
        dx_b, ds_b, g_b = mod.backward({T - 1 - t: g[:, H:] for t, g in dh.items()},
                                       cache["bwd"], ds["bwd"], check=False)
        return dx_f + dx_b[:, ::-1], flatten({"fwd": ds_f, "bwd": ds_b}), {"fwd": g_f, "bwd": g_b}

    return _composite(f"bidirectional_cell({cell!r})", keys,
                      _fixed_options("bidirectional_cell"), param_shapes, init_params,
                      zero_state, forward, _forward, backward, _backward)
