"""Truncated BPTT window by window, and the layer compositions built from any cell.

Every cell module (cells.CELLS: elman as 'rnn', lstm, gru, gated_feedback) has one
interface: STATE_KEYS, OPTIONS, param_shapes(D, H, **opts), init_params, zero_state,
step_forward / step_backward, forward(x, state0, params, check=True, **opts) ->
(h, state_T, cache) and backward(dh, cache, dstate_T=None, truncate=None, check=True) ->
(dx, dstate0, grads).
Every function here takes the cell by name and passes **opts (activation, the GRU's
form) straight on to it. Backward functions here return that same 3-tuple; the
truncated drivers, which run forward and backward together, return a Truncated tuple
whose first field is that 3-tuple.

Check once at the edge, compute unchecked inside: each distinct argument is checked by
the cell's public forward on its first use (the first window, each direction, each
layer); later windows and every backward call the cells with check=False.

Shapes: x (N, T, D), h (N, T, H), states are dicts of (N, H) arrays; dh is an
(N, T, H) array, a dict {t: (N, H)} (chosen steps only; negative t counts from the end)
or None, as in every cell (cells/sequence.py). A bidirectional layer nests everything per
direction, {"fwd": ..., "bwd": ...}, and outputs h (N, T, 2H). A stack of M layers uses
lists of M dicts, layer 0 first. A state that is None (or a list entry that is None)
means zeros.

layer_cells wraps these compositions in the cell interface (stacked_cell,
bidirectional_cell), so that train.fit trains a stack or a bidirectional layer as a cell.
"""
from contextlib import contextmanager
from typing import NamedTuple

import numpy as np

from . import sequence
from . import get as get_cell
from ..validate import check_array, check_int, check_sequence, check_state

DIRECTIONS = ("fwd", "bwd")


# ----------------------------------------------------------------------------------------
# Truncated BPTT, one window at a time
# ----------------------------------------------------------------------------------------

class Truncated(NamedTuple):
    """What both truncated drivers return."""
    backward: tuple      # (dx (N, T, D), dstate0, grads): the one backward convention
    state_T: dict        # the final state, to carry into a next chunk
    loss: float          # the loss summed over the windows (0.0 for truncated_bptt)
    loss_grads: dict     # the loss's own parameters' gradients, summed ({} for truncated_bptt)


def truncated_bptt(cell, x, state0, params, dh, truncate, dstate_T=None, **opts):
    """Truncated BPTT with window `truncate` that keeps only one window's cache alive.

    x (N, T, D); dh the upstream dL/dh_t (array, {t: array} or None). Runs forward over
    [0, k), backward over it, adds up the weight gradients, carries the final state (a
    plain array, so no gradient flows back through it) into [k, 2k), and so on.
    Returns Truncated((dx, dstate0, grads), state_T, 0.0, {}). Equals
    cell.backward(dh, cache, truncate=k) after a full forward, in O(k N H) memory for the
    cache instead of O(T N H); k >= T is full BPTT. dstate_T: optional gradient arriving
    at the final state (enters the last window).
    """
    N, T, _ = check_sequence("x", x)
    if isinstance(dh, np.ndarray):
        check_array("dh", dh, (N, T, None), x.dtype)     # before the first window runs
    steps = {}

    def window_dh(h_w, start):
        stop = start + h_w.shape[1]
        if start == 0 and isinstance(dh, np.ndarray):   # H is known once the first window ran
            check_array("dh", dh, (N, T, h_w.shape[2]), x.dtype)
        elif start == 0:
            steps.update(sequence.check_upstream("dh", dh, N, T, h_w.shape[2], x.dtype))
        if isinstance(dh, np.ndarray):    # sliced per window: no per-step objects for all T
            return 0.0, dh[:, start:stop], {}
        return 0.0, {t - start: g for t, g in steps.items() if start <= t < stop}, {}

    return _windows(cell, x, state0, params, window_dh, truncate, dstate_T, opts)


def truncated_bptt_loss(cell, x, state0, params, loss, truncate, dstate_T=None, **opts):
    """Truncated BPTT where a loss callback turns each window's states into gradients.

    loss(h_window, start) -> (value, dh_window) or (value, dh_window, loss_grads):
    h_window (N, k', H) holds the states of steps start .. start+k'-1, dh_window is dL/dh
    for them (an array, a dict {t: array} counted within the window, or None), and
    loss_grads is a dict of gradients of the loss's own parameters (a readout, say).
    Returns Truncated((dx, dstate0, grads), state_T, total loss, loss_grads summed over
    the windows). This is the training step of a character language model.
    """
    if not callable(loss):
        raise TypeError(f"loss: expected a callable loss(h_window, start), received "
                        f"{type(loss).__name__}")
    check_sequence("x", x)
    return _windows(cell, x, state0, params, loss, truncate, dstate_T, opts)


def _windows(cell, x, state0, params, loss, truncate, dstate_T, opts):
    """The shared window loop: the first window's forward checks the arguments."""
    mod = get_cell(cell)
    k = check_int("truncate", truncate, low=1)
    N, T, _ = x.shape
    dx = np.empty_like(x)
    total, grads, loss_grads, dstate0, state = 0.0, {}, {}, None, state0
    full_opts = mod.options(opts)
    for start in range(0, T, k):
        stop = min(start + k, T)
        if start == 0:
            with _context(f"window [{start}, {stop})"):
                h_w, state, cache = mod.forward(x[:, start:stop], state, params, **opts)
            if dstate_T is not None:
                check_state("dstate_T", dstate_T, {key: v.shape for key, v in state.items()},
                            x.dtype)
        else:
            h_w, state, cache = mod.forward(x[:, start:stop], state, params, check=False, **full_opts)
        value, dh_w, lg = _loss_output(loss(h_w, start))
        dh_w = sequence.check_upstream(f"loss's dh_window (steps {start}..{stop - 1})", dh_w,
                                   N, stop - start, h_w.shape[2], x.dtype)
        dx[:, start:stop], dstate, g = mod.backward(
            dh_w, cache, dstate_T if stop == T else None, None, check=False)
        del cache, h_w                    # this window's cache dies before the next forward
        dstate0 = dstate if start == 0 else dstate0
        _accumulate(grads, g)
        _accumulate(loss_grads, lg)
        total += float(value)
    return Truncated((dx, dstate0, grads), state, total, loss_grads)


def _loss_output(out):
    """(value, dh_window) or (value, dh_window, loss_grads) -> all three."""
    if not isinstance(out, tuple) or len(out) not in (2, 3):
        got = f"a tuple of {len(out)}" if isinstance(out, tuple) else type(out).__name__
        raise TypeError(f"loss: expected loss(h_window, start) to return (value, dh_window) or "
                        f"(value, dh_window, loss_grads), received {got}")
    return out if len(out) == 3 else (*out, {})


def _accumulate(total, grads):
    """total += grads keywise, in place; a key seen for the first time starts from a copy."""
    for key, g in grads.items():
        if key in total:
            total[key] += g
        else:
            total[key] = np.array(g, copy=True)


# ----------------------------------------------------------------------------------------
# Bidirectional layer (eqs 1.48-1.50 of the lecture notes)
# ----------------------------------------------------------------------------------------

def bidirectional_init(cell, D, H, seed=0, **opts):
    """Independent parameters per direction: {"fwd": params, "bwd": params}.

    opts go to the cell's init_params (W_h='orthogonal', rho, dtype, form, ...).
    """
    mod = get_cell(cell)
    seed = check_int("seed", seed, low=0)
    s_fwd, s_bwd = (int(s) for s in np.random.default_rng(seed).integers(2**31, size=2))
    return {"fwd": mod.init_params(D, H, seed=s_fwd, **opts),
            "bwd": mod.init_params(D, H, seed=s_bwd, **opts)}


def bidirectional_forward(cell, x, state0, params, **opts):
    """Bidirectional layer, eqs 1.48-1.50 of the lecture notes: h_t = [h_fwd_t ; h_bwd_t].

    The forward direction reads x_1 .. x_T; the backward direction is a second,
    independent cell that reads x_T .. x_1, and its outputs are reversed back so that
    index t of both halves belongs to step t. h_bwd_t depends on x_t .. x_T, so the layer
    is unusable where the future is unknown: language modelling, seq2seq decoders.
    x (N, T, D); params {"fwd": ..., "bwd": ...}; state0 the same, or None (zeros).
    Returns h (N, T, 2H), state_T {"fwd": state after x_T, "bwd": state after x_1}, cache.
    """
    mod = get_cell(cell)
    state0 = {"fwd": None, "bwd": None} if state0 is None else state0
    _check_nested("state0", state0, DIRECTIONS)
    _check_nested("params", params, DIRECTIONS)
    check_sequence("x", x)
    with _context("direction 'fwd'"):
        h_f, sT_f, cache_f = mod.forward(x, state0["fwd"], params["fwd"], **opts)
    with _context("direction 'bwd'"):
        h_b, sT_b, cache_b = mod.forward(x[:, ::-1], state0["bwd"], params["bwd"], **opts)
    h = np.concatenate([h_f, h_b[:, ::-1]], axis=2)           # (N, T, 2H), a new array
    cache = {"cell": mod, "shape": h.shape, "dtype": h.dtype, "fwd": cache_f, "bwd": cache_b,
             "T": x.shape[1], "state_shapes": {d: {k: v.shape for k, v in s.items()}
                              for d, s in (("fwd", sT_f), ("bwd", sT_b))}}
    return h, {"fwd": sT_f, "bwd": sT_b}, cache


def bidirectional_backward(dh, cache, dstate_T=None):
    """Backward of bidirectional_forward. dh (N, T, 2H) array, {t: (N, 2H)} or None;
    dstate_T optional, nested like state_T (entries may be None).

    Returns dx (N, T, D), dstate0 {"fwd": ..., "bwd": ...} and grads {"fwd": ..., "bwd": ...}.
    """
    mod, (N, T, H2) = cache["cell"], cache["shape"]
    H = H2 // 2
    dh = sequence.check_upstream("dh", dh, N, T, H2, cache["dtype"])
    dstate_T = {"fwd": None, "bwd": None} if dstate_T is None else dstate_T
    _check_nested("dstate_T", dstate_T, DIRECTIONS)
    for d in DIRECTIONS:
        if dstate_T[d] is not None:
            check_state(f"dstate_T[{d!r}]", dstate_T[d], cache["state_shapes"][d], cache["dtype"])
    dx_f, ds_f, g_f = mod.backward({t: g[:, :H] for t, g in dh.items()}, cache["fwd"],
                                   dstate_T["fwd"], check=False)
    dx_b, ds_b, g_b = mod.backward({T - 1 - t: g[:, H:] for t, g in dh.items()},  # its own time order
                                   cache["bwd"], dstate_T["bwd"], check=False)
    return dx_f + dx_b[:, ::-1], {"fwd": ds_f, "bwd": ds_b}, {"fwd": g_f, "bwd": g_b}


# ----------------------------------------------------------------------------------------
# Stacked layers (eq 1.51 of the lecture notes)
# ----------------------------------------------------------------------------------------

def stacked_init(cell, D, H, M, seed=0, **opts):
    """Parameters of M stacked layers: a list of M param dicts, layer 0 first.

    H: one hidden size for every layer, or a list of M sizes. Layer 0 reads x (size D),
    layer j reads layer j-1's states (size H[j-1]). opts go to the cell's init_params.
    """
    mod = get_cell(cell)
    sizes = layer_sizes(D, H, M)
    seed = check_int("seed", seed, low=0)
    seeds = np.random.default_rng(seed).integers(2**31, size=M)
    return [mod.init_params(sizes[j], sizes[j + 1], seed=int(seeds[j]), **opts) for j in range(M)]


def stacked_forward(cell, x, states0, params_list, all_layers=False, **opts):
    """M stacked layers, eq 1.51 of the lecture notes: layer j reads layer j-1's h_t.

    x (N, T, D); params_list a list of M param dicts; states0 a list of M state dicts
    (entries may be None), or None: zeros for every layer.
    Returns h_top (N, T, H_M) (or, with all_layers=True, the list of every layer's h:
    new arrays, never the cache's), the list of final states and the cache.
    """
    mod = get_cell(cell)
    M = check_list("params_list", params_list)
    states0 = [None] * M if states0 is None else states0
    check_list("states0", states0, M, "one state dict per layer, as many as params_list")
    check_sequence("x", x)
    hs, states_T, caches, inp = [], [], [], x
    for j in range(M):
        _check_layer(mod, j, params_list[j], states0[j], inp.shape[2], opts)
        with _context(f"layer {j}"):
            inp, s_T, c = mod.forward(inp, states0[j], params_list[j], **opts)
        hs.append(inp)
        states_T.append(s_T)
        caches.append(c)
    cache = {"cell": mod, "caches": caches, "shapes": [h.shape for h in hs], "dtype": x.dtype,
             "T": x.shape[1],
             "state_shapes": [{k: v.shape for k, v in s.items()} for s in states_T]}
    return ([h.copy() for h in hs] if all_layers else hs[-1]), states_T, cache


def stacked_backward(dh, cache, dstates_T=None):
    """Backward of stacked_forward.

    dh: dL/dh of the top layer (array (N, T, H_M), dict {t: (N, H_M)} or None), or a list
    of M of those when losses also read lower layers (None for a layer without a loss).
    dstates_T: optional list of M state-gradient dicts (None entries allowed).
    Returns dx (N, T, D), the list of M dstate0 dicts and the list of M grads dicts.
    """
    mod, caches, shapes, dtype = cache["cell"], cache["caches"], cache["shapes"], cache["dtype"]
    M = len(caches)
    dhs = dh if isinstance(dh, list) else [None] * (M - 1) + [dh]
    check_list("dh", dhs, M, "one array, dict or None per layer")
    dstates_T = [None] * M if dstates_T is None else dstates_T
    check_list("dstates_T", dstates_T, M, "one state-gradient dict or None per layer")
    for j, ds in enumerate(dstates_T):
        if ds is not None:
            check_state(f"dstates_T[{j}]", ds, cache["state_shapes"][j], dtype)
    dstates0, grads = [None] * M, [None] * M
    from_above = None                       # dL/dh_j arriving from layer j+1's input
    for j in range(M - 1, -1, -1):
        name = "dh" if not isinstance(dh, list) else f"dh[{j}]"
        d = sequence.check_upstream(name, dhs[j], *shapes[j], dtype)
        if from_above is not None:
            from_above += sequence.dense(d, *shapes[j], dtype)
            d = sequence.steps(from_above, shapes[j][1])
        from_above, dstates0[j], grads[j] = mod.backward(d, caches[j], dstates_T[j], check=False)
    return from_above, dstates0, grads


# ----------------------------------------------------------------------------------------
# Checks shared by the compositions
# ----------------------------------------------------------------------------------------

@contextmanager
def _context(where):
    """Prefix errors raised inside a sub-cell with the window, direction or layer they belong to."""
    try:
        yield
    except (TypeError, ValueError) as err:
        raise type(err)(f"{where}: {err}") from err


def _check_nested(name, value, keys):
    """A dict with exactly the keys `keys` (one entry per direction)."""
    if not isinstance(value, dict) or set(value) != set(keys):
        got = sorted(value) if isinstance(value, dict) else type(value).__name__
        raise ValueError(f"{name}: expected a dict with keys {sorted(keys)} (one entry per "
                         f"direction), received {got}")


def check_list(name, value, length=None, what=None):
    """A list (one entry per layer), of `length` entries if given; returns its length.

    Shared with layer_cells, whose stacks take the same lists."""
    if not isinstance(value, list):
        raise TypeError(f"{name}: expected a list with one entry per layer, received "
                        f"{type(value).__name__}")
    if length is not None and len(value) != length:
        raise ValueError(f"{name}: expected a list of {length} entries ({what}), received "
                         f"{len(value)}")
    if not value:
        raise ValueError(f"{name}: expected at least one layer, received an empty list")
    return len(value)


def _check_layer(mod, j, params, state, D, opts):
    """Layer j's parameters must read size D (x for j = 0, layer j-1's H otherwise)."""
    if not isinstance(params, dict):
        raise TypeError(f"params_list[{j}]: expected a dict of arrays, received "
                        f"{type(params).__name__}")
    h = state.get("h") if isinstance(state, dict) else None
    if isinstance(h, np.ndarray) and h.ndim == 2:
        H, where = h.shape[1], f'states0[{j}]["h"]'
    else:                                  # every cell's first parameter has H rows
        first = params.get(next(iter(mod.param_shapes(1, 1, **opts))))
        if not isinstance(first, np.ndarray) or first.ndim == 0:
            return                         # the cell's own forward names what is wrong
        H, where = first.shape[0], f"params_list[{j}]"
    reads = "x" if j == 0 else f"layer {j - 1}'s states"
    for key, shape in mod.param_shapes(D, H, **opts).items():
        got = params.get(key)
        if isinstance(got, np.ndarray) and got.shape != tuple(shape):
            raise ValueError(f"params_list[{j}][{key!r}]: expected shape {tuple(shape)} for "
                             f"layer {j}, which reads {reads} of size D = {D} and has H = {H} "
                             f"(from {where}), received {got.shape}")


def layer_sizes(D, H, M):
    """[D, H_0, ..., H_{M-1}] from an int H or a list of M sizes (checked)."""
    D = check_int("D", D, low=1)
    M = check_int("M", M, low=1)
    if isinstance(H, (list, tuple)):
        if len(H) != M:
            raise ValueError(f"H: expected an int or a list of M = {M} sizes, received "
                             f"{len(H)} sizes {list(H)}")
        return [D] + [check_int(f"H[{j}]", h, low=1) for j, h in enumerate(H)]
    return [D] + [check_int("H", H, low=1)] * M
