"""Gated-feedback RNN with tanh units (Chung et al. 2015; seed 002, eq 2.10).

Layers j = 1..L, with h_t^0 = x_t. Every layer i at t-1 feeds every layer j at t through
a scalar global reset gate, one per pair (i, j) and batch item:

    g^{i->j} = sigmoid(w_g^{i->j} . h_t^{j-1} + u_g^{i->j} . h*_{t-1})
    h_t^j    = tanh(W^{j-1->j} h_t^{j-1} + sum_i g^{i->j} U^{i->j} h_{t-1}^i + b^j)

where h*_{t-1} = [h_{t-1}^1; ...; h_{t-1}^L] concatenates all layers' states (size S =
H_1 + ... + H_L). The gates have no bias, as in the equation.

Parameter keys (layers count from 1, as in the equations; i is the sending layer at t-1,
j the receiving layer at t):
    "W_j"      W^{j-1->j}    (H_j, H_{j-1}), with H_0 = D: layer j reads layer j-1 (x for j=1)
    "U_i_j"    U^{i->j}      (H_j, H_i)
    "w_g_i_j"  w_g^{i->j}    (H_{j-1},): size D for j = 1
    "u_g_i_j"  u_g^{i->j}    (S,)
    "b_j"      b^j           (H_j,)
States are dicts {"h1": (N, H_1), ..., "hL": (N, H_L)}, keyed by layer like the params.
Shapes: x (N, T, D), layer j's states h^j (N, T, H_j); batch-first as everywhere.
Inside, h*_t for all t lives in one time-major array (T+1, N, S), row 0 being state0.
"""
import re

import numpy as np

from .. import init
from ..activations import sigmoid
from ..validate import check_array, check_int, check_params, check_sequence, check_state


def param_shapes(D, H, L):
    """The parameter dict's keys and shapes; H is one size for all layers or a list of L."""
    D = check_int("D", D, low=1)
    return _shapes(D, _sizes(H, check_int("L", L, low=1)))


def init_params(D, H, L, seed=0, dtype=np.float64):
    """Parameters for input size D, hidden sizes H (int or list of L) and L layers.

    W^{j-1->j} ~ N(0, 1/H_{j-1}); U^{j->j} orthogonal, U^{i->j} ~ N(0, 1/H_i) for i != j;
    w_g ~ N(0, 1/H_{j-1}), u_g ~ N(0, 1/S), so the gates start near 1/2; b = 0.
    """
    shapes = param_shapes(D, H, L)
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


def zero_state(N, H, L, dtype=np.float64):
    """The all-zero state {"h1": (N, H_1), ..., "hL": (N, H_L)}."""
    N = check_int("N", N, low=1)
    return {f"h{j}": np.zeros((N, Hj), dtype)
            for j, Hj in enumerate(_sizes(H, check_int("L", L, low=1)), 1)}


def forward(x, state0, params, all_layers=False):
    """Run the gated-feedback RNN over a sequence. x (N, T, D), state0 {"h1": ..., "hL": ...}.

    Returns the top layer's h^L (N, T, H_L) (with all_layers=True, the list
    [h^1, ..., h^L]), the final state dict and the cache for backward.
    """
    D, Hs, dtype = _check(params)
    L, off = len(Hs), np.cumsum([0] + Hs)
    N, T, _ = check_sequence("x", x, D, dtype)
    W, b, U, Wg, Ug = _unpack(params, Hs)
    hstar = np.empty((T + 1, N, off[-1]), dtype)       # h*_t, time-major; row 0 is state0
    hstar[0] = _check_state("state0", state0, N, Hs, dtype)
    gs = [np.empty((T, N, L), dtype) for _ in range(L)]  # gs[j][t, :, i] = g^{i->j} at t
    xT = x.transpose(1, 0, 2)                           # (T, N, D)
    xw, xg = xT @ W[0].T + b[0], xT @ Wg[0].T           # layer 1's input terms, all steps at once
    for t in range(T):
        prev = hstar[t]                                  # h*_{t-1} (N, S)
        for j in range(L):
            if j == 0:
                a_in, g_in = xw[t], xg[t]
            else:
                inp = hstar[t + 1, :, off[j - 1]:off[j]]  # h_t^{j-1}, computed just above
                a_in, g_in = inp @ W[j].T + b[j], inp @ Wg[j].T
            g = gs[j][t] = sigmoid(g_in + prev @ Ug[j].T)          # (N, L), one per sender i
            gated = prev * np.repeat(g, Hs, axis=1)                  # g^{i->j} h_{t-1}^i (N, S)
            hstar[t + 1, :, off[j]:off[j + 1]] = np.tanh(a_in + gated @ U[j].T)
    hs = [hstar[1:, :, off[j]:off[j + 1]].transpose(1, 0, 2) for j in range(L)]  # (N, T, H_j)
    state_T = {f"h{j + 1}": hstar[T, :, off[j]:off[j + 1]].copy() for j in range(L)}
    cache = {"x": x, "hstar": hstar, "gs": gs, "params": params, "Hs": Hs}
    return (hs if all_layers else hs[-1]), state_T, cache


def backward(dh, cache, dstate_T=None):
    """BPTT through the gated-feedback RNN.

    dh: dL/dh^L of the top layer (N, T, H_L), or a list of L arrays, one per layer (None
    for a layer without a loss). dstate_T: optional {"h1": ..., "hL": ...}, a gradient
    arriving at the final state.
    Returns dx (N, T, D), dstate0 {"h1": ..., "hL": ...} and grads keyed like params.
    """
    x, hstar, gs, params, Hs = (cache[k] for k in ("x", "hstar", "gs", "params", "Hs"))
    L, off = len(Hs), np.cumsum([0] + Hs)
    T, N, S = hstar.shape[0] - 1, hstar.shape[1], hstar.shape[2]
    dtype = hstar.dtype
    dhs = _check_dh(dh, N, T, Hs, dtype)
    W, _, U, Wg, Ug = _unpack(params, Hs)
    carry = np.zeros((N, S), dtype)                     # dL/dh*_t arriving from step t+1
    if dstate_T is not None:
        carry = _check_state("dstate_T", dstate_T, N, Hs, dtype).copy()
    dfs = 1.0 - hstar[1:] ** 2                          # tanh'(a_t) from h_t (T, N, S)
    das = [np.empty((T, N, Hj), dtype) for Hj in Hs]    # dL/da_t^j
    dss = [np.empty((T, N, L), dtype) for _ in Hs]      # dL/d(gate pre-activation)
    dxT = np.empty((T, N, x.shape[2]), dtype)
    for t in range(T - 1, -1, -1):
        prev, dprev = hstar[t], np.zeros((N, S), dtype)
        from_above = 0.0                                 # dL/dh_t^j via layer j+1's input
        for j in range(L - 1, -1, -1):
            sl = slice(off[j], off[j + 1])
            d = carry[:, sl] + from_above + (0.0 if dhs[j] is None else dhs[j][:, t])
            da = das[j][t] = d * dfs[t, :, sl]                        # (N, H_j)
            g = gs[j][t]
            dgated = da @ U[j]                                       # (N, S)
            dg = np.add.reduceat(dgated * prev, off[:-1], axis=1)    # dL/dg^{i->j} (N, L)
            ds = dss[j][t] = dg * g * (1.0 - g)
            dprev += dgated * np.repeat(g, Hs, axis=1) + ds @ Ug[j]
            from_above = da @ W[j] + ds @ Wg[j]                      # dL/dh_t^{j-1} (N, H_{j-1})
        dxT[t] = from_above
        carry = dprev
    grads = _weight_grads(x, hstar, gs, das, dss, Hs)
    dstate0 = {f"h{j + 1}": carry[:, off[j]:off[j + 1]].copy() for j in range(L)}
    return np.ascontiguousarray(dxT.transpose(1, 0, 2)), dstate0, grads


def _weight_grads(x, hstar, gs, das, dss, Hs):
    """All weight gradients as one matmul per layer after the time loop."""
    L, off = len(Hs), np.cumsum([0] + Hs)
    T, N, S = hstar.shape[0] - 1, hstar.shape[1], hstar.shape[2]
    prev = hstar[:-1].reshape(T * N, S)                 # h*_{t-1} for every t
    grads = {}
    for j in range(L):
        inp = x.transpose(1, 0, 2) if j == 0 else hstar[1:, :, off[j - 1]:off[j]]
        inp = inp.reshape(T * N, -1)                    # h_t^{j-1} (T N, H_{j-1})
        da, ds = das[j].reshape(T * N, Hs[j]), dss[j].reshape(T * N, L)
        gated = prev * np.repeat(gs[j].reshape(T * N, L), Hs, axis=1)
        dU, dWg, dUg = da.T @ gated, ds.T @ inp, ds.T @ prev   # (H_j, S), (L, H_{j-1}), (L, S)
        grads[f"W_{j + 1}"] = da.T @ inp
        grads[f"b_{j + 1}"] = da.sum(axis=0)
        for i in range(L):
            grads[f"U_{i + 1}_{j + 1}"] = dU[:, off[i]:off[i + 1]]
            grads[f"w_g_{i + 1}_{j + 1}"] = dWg[i]
            grads[f"u_g_{i + 1}_{j + 1}"] = dUg[i]
    return grads


def _unpack(params, Hs):
    """Per receiving layer j (0-based): W, b, U = [U^{1->j} ... U^{L->j}] (H_j, S), and the
    gate weights stacked over senders, Wg (L, H_{j-1}) and Ug (L, S)."""
    L = len(Hs)
    rng = range(1, L + 1)
    W = [params[f"W_{j}"] for j in rng]
    b = [params[f"b_{j}"] for j in rng]
    U = [np.concatenate([params[f"U_{i}_{j}"] for i in rng], axis=1) for j in rng]
    Wg = [np.stack([params[f"w_g_{i}_{j}"] for i in rng]) for j in rng]
    Ug = [np.stack([params[f"u_g_{i}_{j}"] for i in rng]) for j in rng]
    return W, b, U, Wg, Ug


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


def _sizes(H, L):
    """Layer sizes [H_1, ..., H_L] from an int or a list of L ints."""
    if isinstance(H, (list, tuple)):
        if len(H) != L:
            raise ValueError(f"H: expected an int or a list of L = {L} sizes, received "
                             f"{len(H)} sizes {list(H)}")
        return [check_int(f"H[{j}]", h, low=1) for j, h in enumerate(H)]
    return [check_int("H", H, low=1)] * L


def _check(params):
    """Validate params; returns (D, [H_1..H_L], dtype), L read off the keys b_1 .. b_L."""
    if not isinstance(params, dict):
        raise TypeError(f"params: expected a dict of arrays, received {type(params).__name__}")
    L = sum(1 for key in params if re.fullmatch(r"b_\d+", key))
    if L == 0 or any(f"b_{j}" not in params for j in range(1, L + 1)):
        raise ValueError(f"params: expected keys b_1 .. b_L (one bias per layer), received "
                         f"{sorted(params)}")
    Hs = []
    for j in range(1, L + 1):
        b = params[f"b_{j}"]
        if not isinstance(b, np.ndarray) or b.ndim != 1 or b.size == 0:
            got = b.shape if isinstance(b, np.ndarray) else type(b).__name__
            raise ValueError(f"params['b_{j}']: expected a non-empty (H_{j},) array, received {got}")
        Hs.append(b.shape[0])
    W_1 = params.get("W_1")
    D = W_1.shape[1] if isinstance(W_1, np.ndarray) and W_1.ndim == 2 else None
    dtype = check_params("params", params, _shapes(D, Hs))
    return D, Hs, dtype


def _check_state(name, state, N, Hs, dtype):
    """A state dict {"h1": (N, H_1), ...}; returns h* (N, S), the layers concatenated."""
    shapes = {f"h{j}": (N, Hj) for j, Hj in enumerate(Hs, start=1)}
    return np.concatenate(check_state(name, state, shapes, dtype), axis=1)


def _check_dh(dh, N, T, Hs, dtype):
    """dh for the top layer, or a list of one entry (or None) per layer; returns the list."""
    L = len(Hs)
    if isinstance(dh, list):
        if len(dh) != L:
            raise ValueError(f"dh: expected an array for the top layer or a list of L = {L} "
                             f"arrays (None allowed), received a list of {len(dh)}")
        return [None if d is None else check_array(f"dh[{j}]", d, (N, T, Hs[j]), dtype)
                for j, d in enumerate(dh)]
    return [None] * (L - 1) + [check_array("dh", dh, (N, T, Hs[-1]), dtype)]
