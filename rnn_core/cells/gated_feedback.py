"""Gated-feedback RNN with tanh units (Chung et al. 2015; eq. 2.10 of Galvan's thesis).

Layers j = 1..L, with h_t^0 = x_t. Every layer i at t-1 feeds every layer j at t through
a scalar global reset gate, one per pair (i, j) and batch item:

    g^{i->j} = sigmoid(w_g^{i->j} . h_t^{j-1} + u_g^{i->j} . h*_{t-1})
    h_t^j    = tanh(W^{j-1->j} h_t^{j-1} + sum_i g^{i->j} U^{i->j} h_{t-1}^i + b^j)

where h*_t = [h_t^1; ...; h_t^L] concatenates all layers' states (size S = H_1 + ... +
H_L). The gates have no bias, as in the equation.

State: {"h": h* (N, S)}, the layers concatenated in order; split_layers(h, H) cuts it
into [h^1 (N, H_1), ..., h^L (N, H_L)]. H is one size for all layers or a list of L.
Shapes: x (N, T, D) batch-first as everywhere; forward returns the top layer's states
h^L (N, T, H_L), or with output="all" every layer's, h*_t (N, T, S).

OPTIONS:
    L       the number of layers, default 2; where H is a list, len(H); where there are
            params, read off them (and checked against them when given).
    output  "top" (h^L, the default) or "all" (h*): what forward returns, and so the
            last axis of backward's dh.

Parameter keys (layers count from 1, as in the equations; i is the sending layer at t-1,
j the receiving layer at t):
    "W_j"      W^{j-1->j}    (H_j, H_{j-1}), with H_0 = D: layer j reads layer j-1 (x for j=1)
    "U_i_j"    U^{i->j}      (H_j, H_i)
    "w_g_i_j"  w_g^{i->j}    (H_{j-1},): size D for j = 1
    "u_g_i_j"  u_g^{i->j}    (S,)
    "b_j"      b^j           (H_j,)

The interface is every cell's (cells/__init__.py): STATE_KEYS, OPTIONS, options,
param_shapes, init_params, zero_state, step_forward, step_backward, forward, backward. The
equations live in two public functions that never check their arguments, and the sequence
loops call them once per step:
    recurrence(xin_t, hstar_prev, rec) -> (hstar_t, g_t)
        xin_t = (a_t, s_t), layer 1's input terms W^{0->1} x_t + b^1 (..., H_1) and
        [w_g^{i->1} . x_t]_i (..., L), computed for all steps by one matmul before the
        loop; hstar_prev = h*_{t-1} (..., S); rec = recurrent_weights(params), every other
        weight (matrices multiply as h @ swapaxes(W, -1, -2), so stacked weights with
        leading axes broadcast). Returns h*_t (..., S) and the gates g_t (..., L, L) with
        g_t[..., j-1, i-1] = g^{i->j}.
    carry(dhstar_t, hstar_prev, hstar_t, g_t, rec) -> (da_t, ds_t, dhstar_prev)
        dhstar_t = dL/dh*_t (..., S); da_t (..., S) is dL/d(each layer's tanh argument),
        layers concatenated; ds_t (..., L, L) is dL/d(gate pre-activation), indexed like
        g_t; dhstar_prev = dL/dh*_{t-1}. Layer 1's input terms receive da_t[..., :H_1]
        and ds_t[..., 0, :].
forward, backward, step_forward and step_backward check their arguments unless called
with check=False (see elman.py; then opts are taken as given, L read off params).
Inside, h*_t for all t lives in one time-major array (T+1, N, S), row 0 being state0.
"""
import numpy as np

from ..nn import init
from ..nn.activations import sigmoid
from ..validate import (as_float_array, check_array, check_int, check_options, check_params,
                        check_sequence, check_state, check_state0)
from . import sequence

STATE_KEYS = ("h",)
OPTIONS = {"L": 2, "output": "top"}
CHOICES = {"output": ("top", "all")}        # L: any integer >= 1, checked by options


# ----------------------------------------------------------------------------------------
# Sizes, options and parameters
# ----------------------------------------------------------------------------------------

def options(opts):
    """opts checked against OPTIONS -> the full dict; L stays None unless it was given."""
    full = check_options("gated_feedback", {k: v for k, v in opts.items() if k != "L"},
                         OPTIONS, CHOICES)
    full["L"] = check_int("L", opts["L"], low=1) if "L" in opts else None
    return full




def _sizes(H, L):
    """Layer sizes [H_1, ..., H_L] from an int or a list (L None: 2, or len(H) for a list)."""
    if isinstance(H, (list, tuple)):
        if not H or (L is not None and len(H) != L):
            want = f"L = {L}" if L is not None else "at least 1"
            raise ValueError(f"H: expected an int or a list of {want} sizes, received "
                             f"{len(H)} sizes {list(H)}")
        return [check_int(f"H[{j}]", h, low=1) for j, h in enumerate(H)]
    return [check_int("H", H, low=1)] * (OPTIONS["L"] if L is None else L)


def param_shapes(D, H, **opts):
    """The parameter dict's keys and shapes; H is one size for all layers or a list of L."""
    opts = options(opts)
    return _shapes(check_int("D", D, low=1), _sizes(H, opts["L"]))


def init_params(D, H, seed=0, dtype=np.float64, **opts):
    """Parameters for input size D and hidden sizes H (int or list of L).

    W^{j-1->j} ~ N(0, 1/H_{j-1}); U^{j->j} orthogonal, U^{i->j} ~ N(0, 1/H_i) for i != j;
    w_g ~ N(0, 1/H_{j-1}), u_g ~ N(0, 1/S), so the gates start near 1/2; b = 0.
    """
    shapes = param_shapes(D, H, **opts)
    rng = np.random.default_rng(check_int("seed", seed, low=0))
    params = {}
    for key, shape in shapes.items():          # a fixed key order, so a seed fixes everything
        if key.startswith("b_"):
            params[key] = np.zeros(shape, dtype)
        elif key.startswith("U_") and key.split("_")[1] == key.split("_")[2]:
            params[key] = init.orthogonal(shape[0], int(rng.integers(2**31)), dtype)
        else:
            params[key] = (rng.standard_normal(shape) / np.sqrt(shape[-1])).astype(dtype)
    return params


def zero_state(N, H, dtype=np.float64, **opts):
    """The all-zero state {"h": h* (N, S)}, S = H_1 + ... + H_L."""
    opts = options(opts)
    return {"h": np.zeros((check_int("N", N, low=1), sum(_sizes(H, opts["L"]))), dtype)}


def split_layers(h, H, **opts):
    """h* (..., S) -> [h^1 (..., H_1), ..., h^L (..., H_L)], views of h (not copies)."""
    Hs = _sizes(H, options(opts)["L"])
    as_float_array("h", h)
    if h.ndim == 0 or h.shape[-1] != sum(Hs):
        raise ValueError(f"h: expected a last axis of size S = {sum(Hs)} (layer sizes {Hs}), "
                         f"received shape {h.shape}")
    return np.split(h, np.cumsum(Hs)[:-1], axis=-1)


def _shapes(D, Hs):
    """Keys and shapes for input size D (None: any) and layer sizes Hs."""
    L, S = len(Hs), sum(Hs)
    sizes = [D] + list(Hs)                              # sizes[j] = H_j, with H_0 = D
    shapes = {}
    for j in range(1, L + 1):
        shapes[f"W_{j}"] = (sizes[j], sizes[j - 1])
        for i in range(1, L + 1):
            shapes[f"U_{i}_{j}"] = (sizes[j], sizes[i])
            shapes[f"w_g_{i}_{j}"] = (sizes[j - 1],)
            shapes[f"u_g_{i}_{j}"] = (S,)
        shapes[f"b_{j}"] = (sizes[j],)
    return shapes


def _layer_count(params):
    """L read off the bias keys b_1, b_2, ... (unchecked)."""
    L = 0
    while f"b_{L + 1}" in params:
        L += 1
    return L


def _check_params(params, L):
    """Validate params (and L, if given, against them); returns (D, [H_1..H_L], dtype)."""
    if not isinstance(params, dict):
        raise TypeError(f"params: expected a dict of arrays, received {type(params).__name__}")
    found = _layer_count(params)
    if found == 0:
        raise ValueError(f"params: expected keys b_1 .. b_L (one bias per layer), received "
                         f"{sorted(params)}")
    if L is not None and L != found:
        raise ValueError(f"L: expected the layer count of params, {found} (keys b_1 .. "
                         f"b_{found}), received L = {L}")
    Hs = []
    for j in range(1, found + 1):
        b = params[f"b_{j}"]
        if not isinstance(b, np.ndarray) or b.ndim != 1 or b.size == 0:
            got = b.shape if isinstance(b, np.ndarray) else type(b).__name__
            raise ValueError(f"params['b_{j}']: expected a non-empty (H_{j},) array, received {got}")
        Hs.append(b.shape[0])
    W_1 = params.get("W_1")
    D = W_1.shape[1] if isinstance(W_1, np.ndarray) and W_1.ndim == 2 else None
    dtype = check_params("params", params, _shapes(D, Hs))
    return D, Hs, dtype


def recurrent_weights(params):
    """The weights recurrence reads, per receiving layer j (0-based), and the layer sizes:
    W[j] (H_j, H_{j-1}) and b[j] (H_j,); U[j] = [U^{1->j} ... U^{L->j}] (H_j, S); the gate
    weights stacked over senders i, Wg[j] (L, H_{j-1}) and Ug[j] (L, S)."""
    L = _layer_count(params)
    js = range(1, L + 1)
    Hs = [params[f"b_{j}"].shape[0] for j in js]
    return {"W": [params[f"W_{j}"] for j in js],
            "b": [params[f"b_{j}"] for j in js],
            "U": [np.concatenate([params[f"U_{i}_{j}"] for i in js], axis=1) for j in js],
            "Wg": [np.stack([params[f"w_g_{i}_{j}"] for i in js]) for j in js],
            "Ug": [np.stack([params[f"u_g_{i}_{j}"] for i in js]) for j in js],
            "Hs": Hs, "off": np.cumsum([0] + Hs)}


def _T(W):
    """W^T on the last two axes, so that stacked weights broadcast under matmul."""
    return np.swapaxes(W, -1, -2)


# ----------------------------------------------------------------------------------------
# The equations, once
# ----------------------------------------------------------------------------------------

def recurrence(xin_t, hstar_prev, rec):
    """One step of every layer, bottom-up:

        g^{i->j} = sigmoid(w_g^{i->j} . h_t^{j-1} + u_g^{i->j} . h*_{t-1})
        h_t^j    = tanh(W^{j-1->j} h_t^{j-1} + sum_i g^{i->j} U^{i->j} h_{t-1}^i + b^j)

    xin_t = (layer 1's W^{0->1} x_t + b^1 (..., H_1), [w_g^{i->1} . x_t]_i (..., L)),
    hstar_prev = h*_{t-1} (..., S). Returns h*_t (..., S) and g_t (..., L, L). Unchecked.
    """
    W, b, U, Wg, Ug, Hs = (rec[k] for k in ("W", "b", "U", "Wg", "Ug", "Hs"))
    a, s = xin_t
    hs, gs = [], []
    for j in range(len(Hs)):
        if j > 0:                                          # h_t^{j-1}, computed just above
            a = hs[-1] @ _T(W[j]) + b[j]
            s = hs[-1] @ _T(Wg[j])
        g = sigmoid(s + hstar_prev @ _T(Ug[j]))            # (..., L): g^{i->j}, one per sender i
        gated = hstar_prev * np.repeat(g, Hs, axis=-1)     # [g^{i->j} h_{t-1}^i]_i (..., S)
        hs.append(np.tanh(a + gated @ _T(U[j])))           # h_t^j (..., H_j)
        gs.append(g)
    return np.concatenate(hs, axis=-1), np.stack(gs, axis=-2)


def carry(dhstar_t, hstar_prev, hstar_t, g_t, rec):
    """BPTT's carry through one step of every layer, top layer first:

        dL/da_t^j = (dL/dh_t^j + dL/dh_t^j through layer j+1's input) * (1 - (h_t^j)^2)
        dL/ds^{i->j} = (dL/da_t^j . U^{i->j} h_{t-1}^i) g^{i->j} (1 - g^{i->j})
        dL/dh_{t-1}^i = sum_j g^{i->j} U^{i->j}^T dL/da_t^j + sum_j dL/ds^{i->j} u_g^{i->j}[i]

    with s^{i->j} the gate's pre-activation. Returns (da_t (..., S), ds_t (..., L, L),
    dh*_{t-1} (..., S)). Unchecked.
    """
    W, U, Wg, Ug, Hs, off = (rec[k] for k in ("W", "U", "Wg", "Ug", "Hs", "off"))
    L = len(Hs)
    da = np.empty(dhstar_t.shape, dhstar_t.dtype)
    ds = np.empty(dhstar_t.shape[:-1] + (L, L), dhstar_t.dtype)
    dprev = np.zeros(dhstar_t.shape, dhstar_t.dtype)
    from_above = 0.0                                       # dL/dh_t^j through layer j+1's input
    for j in range(L - 1, -1, -1):
        sl = slice(off[j], off[j + 1])
        h = hstar_t[..., sl]
        da_j = da[..., sl] = (dhstar_t[..., sl] + from_above) * (1.0 - h * h)   # tanh' = 1 - h^2
        g = g_t[..., j, :]
        dgated = da_j @ U[j]                                           # (..., S)
        dg = np.add.reduceat(dgated * hstar_prev, off[:-1], axis=-1)   # dL/dg^{i->j} (..., L)
        ds_j = ds[..., j, :] = dg * g * (1.0 - g)                      # sigmoid' = g (1 - g)
        dprev += dgated * np.repeat(g, Hs, axis=-1) + ds_j @ Ug[j]
        if j > 0:
            from_above = da_j @ W[j] + ds_j @ Wg[j]                    # dL/dh_t^{j-1}
    return da, ds, dprev


def _input_terms(x_tm, rec):
    """Layer 1's input terms for time-major x (T, N, D) (or one step (N, D)): (a, s)."""
    return x_tm @ _T(rec["W"][0]) + rec["b"][0], x_tm @ _T(rec["Wg"][0])


def _input_grad(da, ds, rec):
    """dL/dx from layer 1's terms: da[..., :H_1] W^{0->1} + sum_i ds^{i->1} w_g^{i->1}."""
    return da[..., :rec["Hs"][0]] @ rec["W"][0] + ds[..., 0, :] @ rec["Wg"][0]


def _weight_grads(x_tm, hstar, gs, das, dss, rec):
    """All weight gradients, one matmul per layer and kind, over every step at once.

    x_tm (T, N, D), hstar (T+1, N, S), gs and dss (T, N, L, L), das (T, N, S).
    """
    Hs, off = rec["Hs"], rec["off"]
    L = len(Hs)
    prev = sequence.rows(hstar[:-1])                           # h*_{t-1} for every t (T N, S)
    da = sequence.rows(das)
    grads = {}
    for j in range(L):
        inp = sequence.rows(x_tm if j == 0 else hstar[1:, :, off[j - 1]:off[j]])  # h_t^{j-1}
        da_j = da[:, off[j]:off[j + 1]]                                        # (T N, H_j)
        ds_j = dss[:, :, j, :].reshape(-1, L)                                  # (T N, L)
        gated = prev * np.repeat(gs[:, :, j, :].reshape(-1, L), Hs, axis=1)
        dU, dWg, dUg = da_j.T @ gated, ds_j.T @ inp, ds_j.T @ prev  # (H_j, S), (L, H_{j-1}), (L, S)
        grads[f"W_{j + 1}"] = da_j.T @ inp
        grads[f"b_{j + 1}"] = da_j.sum(axis=0)
        for i in range(L):
            grads[f"U_{i + 1}_{j + 1}"] = np.ascontiguousarray(dU[:, off[i]:off[i + 1]])
            grads[f"w_g_{i + 1}_{j + 1}"] = dWg[i].copy()
            grads[f"u_g_{i + 1}_{j + 1}"] = dUg[i].copy()
    return grads


# ----------------------------------------------------------------------------------------
# One step
# ----------------------------------------------------------------------------------------

def step_forward(x_t, state, params, check=True, **opts):
    """One step. x_t (N, D), state {"h": h*_{t-1} (N, S)} or None (zeros).

    Returns ({"h": h*_t (N, S)}, cache); the returned state is a new array.
    check=False: nothing is checked, state is a state dict.
    """
    if not check:
        return _step_forward(x_t, state, params, opts)
    opts = options(opts)
    D, Hs, dtype = _check_params(params, opts["L"])
    check_array("x_t", x_t, (None, D), dtype)
    if state is None:
        state = {"h": np.zeros((x_t.shape[0], sum(Hs)), dtype)}
    check_state("state", state, {"h": (x_t.shape[0], sum(Hs))}, dtype)
    return _step_forward(x_t, state, params, opts)


def _step_forward(x_t, state, params, opts):
    """step_forward's body, unchecked."""
    rec = recurrent_weights(params)
    hprev = state["h"].copy()                  # the cache owns it: editing state moves nothing
    hstar, g = recurrence(_input_terms(x_t, rec), hprev, rec)
    return {"h": hstar.copy()}, (x_t, hprev, hstar, g, rec)


def step_backward(dstate_t, cache, check=True):
    """Backward of one step. dstate_t {"h": dL/dh*_t (N, S)} -> (dx_t, {"h": dh*_{t-1}}, grads)."""
    if check:
        hstar = cache[2]
        check_state("dstate_t", dstate_t, {"h": hstar.shape}, hstar.dtype)
    return _step_backward(dstate_t, cache)


def _step_backward(dstate_t, cache):
    """step_backward's body, unchecked."""
    x_t, hprev, hstar, g, rec = cache
    da, ds, dprev = carry(dstate_t["h"], hprev, hstar, g, rec)
    grads = _weight_grads(x_t[None], np.stack([hprev, hstar]), g[None], da[None], ds[None], rec)
    return _input_grad(da, ds, rec), {"h": dprev}, grads


# ----------------------------------------------------------------------------------------
# A sequence
# ----------------------------------------------------------------------------------------

def forward(x, state0, params, check=True, **opts):
    """Run the gated-feedback RNN over x (N, T, D) from state0 {"h": (N, S)} or None (zeros).

    Returns h (N, T, H_L) (output="all": h* (N, T, S)), the final state {"h": h*_T (N, S)}
    and the cache for backward; h and the state are new arrays, so editing them cannot
    change what backward computes. check=False: nothing is checked, state0 is a state dict.
    """
    if not check:
        return _forward(x, state0, params, opts)
    opts = options(opts)
    D, Hs, dtype = _check_params(params, opts["L"])
    check_sequence("x", x, D, dtype)
    state0 = check_state0("state0", state0, STATE_KEYS, x, sum(Hs), dtype)
    return _forward(x, state0, params, opts)


def _forward(x, state0, params, opts):
    """forward's body, unchecked: layer 1's input terms are one matmul, then a loop over recurrence."""
    rec = recurrent_weights(params)
    N, T, _ = x.shape
    L, S = len(rec["Hs"]), rec["off"][-1]
    hstar = np.empty((T + 1, N, S), x.dtype)              # h*_t, time-major; row 0 is state0
    hstar[0] = state0["h"]
    gs = np.empty((T, N, L, L), x.dtype)                   # gs[t, :, j, i] = g^{i->j}
    x_tm = x.transpose(1, 0, 2)
    a, s = _input_terms(x_tm, rec)                         # (T, N, H_1), (T, N, L)
    for t in range(T):
        hstar[t + 1], gs[t] = recurrence((a[t], s[t]), hstar[t], rec)
    out = opts.get("output", "top")
    h = hstar[1:, :, S - rec["Hs"][-1]:] if out == "top" else hstar[1:]
    cache = {"x": x, "hstar": hstar, "gs": gs, "rec": rec, "output": out}
    return sequence.batch_first(h), {"h": hstar[T].copy()}, cache


def backward(dh, cache, dstate_T=None, truncate=None, check=True):
    """BPTT through the gated-feedback RNN.

    dh: dL/dh of what forward returned (h^L, or h* with output="all"), as an (N, T, H_out)
    array, a dict {t: (N, H_out)} for chosen steps ({-1: g} is many-to-one) or None.
    dstate_T: optional {"h": (N, S)}, a gradient arriving at the final state.
    truncate=k: gradients do not cross the boundaries of windows [0,k), [k,2k), ...
    Returns dx (N, T, D), dstate0 {"h": (N, S)} and grads keyed like params.
    check=False: nothing is checked.
    """
    if not check:
        return _backward(sequence.steps(dh, cache["hstar"].shape[0] - 1), cache, dstate_T, truncate)
    if not isinstance(cache, dict) or not {"x", "hstar", "gs", "rec", "output"} <= set(cache):
        raise ValueError("cache: expected the cache returned by gated_feedback.forward")
    hstar, rec = cache["hstar"], cache["rec"]
    T, N, S = hstar.shape[0] - 1, hstar.shape[1], hstar.shape[2]
    H_out = rec["Hs"][-1] if cache["output"] == "top" else S
    dh = sequence.check_upstream("dh", dh, N, T, H_out, hstar.dtype)
    if dstate_T is not None:
        check_state("dstate_T", dstate_T, {"h": (N, S)}, hstar.dtype)
    return _backward(dh, cache, dstate_T, sequence.check_truncate(truncate))


def _backward(dh, cache, dstate_T, truncate):
    """backward's body, unchecked (dh a dict {t: (N, H_out)}): a loop over carry, then the
    weight gradients."""
    x, hstar, gs, rec = cache["x"], cache["hstar"], cache["gs"], cache["rec"]
    T, N, S = hstar.shape[0] - 1, hstar.shape[1], hstar.shape[2]
    L = len(rec["Hs"])
    out = slice(S - rec["Hs"][-1], S) if cache["output"] == "top" else slice(0, S)
    dhstar = np.zeros((N, S), x.dtype) if dstate_T is None else dstate_T["h"].copy()
    das = np.empty((T, N, S), x.dtype)                     # dL/da_t, layers concatenated
    dss = np.empty((T, N, L, L), x.dtype)                  # dL/d(gate pre-activations)
    for t in range(T - 1, -1, -1):
        g = dh.get(t)
        if g is not None:
            dhstar[:, out] += g                            # dhstar is always our own array
        das[t], dss[t], dhstar = carry(dhstar, hstar[t], hstar[t + 1], gs[t], rec)
        if sequence.cut(t, truncate):
            dhstar = np.zeros_like(dhstar)
    x_tm = x.transpose(1, 0, 2)
    grads = _weight_grads(x_tm, hstar, gs, das, dss, rec)
    return sequence.batch_first(_input_grad(das, dss, rec)), {"h": dhstar}, grads
