"""GRU in two forms: the seeds' (Cho et al. 2014) and the one cuDNN and PyTorch use.

form="seeds" (the default; seed 000, eqs 1.43-1.47), gates reading [h_{t-1}; x_t]:
    u_t = sigmoid(W_u [h_{t-1}; x_t] + b_u)              update gate
    r_t = sigmoid(W_r [h_{t-1}; x_t] + b_r)              reset gate
    h~_t = tanh(W_c [r_t * h_{t-1}; x_t] + b_c)          reset applied BEFORE the matrix
    h_t = (1 - u_t) * h_{t-1} + u_t * h~_t
  params W_u, W_r, W_c (H, H + D), columns [:H] acting on the h-part and [H:] on x_t;
  b_u, b_r, b_c (H,).

form="cudnn" (torch.nn.GRU, cuDNN), separate input and recurrent weights and biases:
    r_t = sigmoid(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)
    z_t = sigmoid(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
    n_t = tanh(W_in x_t + b_in + r_t * (W_hn h_{t-1} + b_hn))   reset applied AFTER the matrix
    h_t = (1 - z_t) * n_t + z_t * h_{t-1}
  params W_ir, W_iz, W_in (H, D); W_hr, W_hz, W_hn (H, H); b_ir, b_iz, b_in, b_hr, b_hz,
  b_hn (H,). torch's weight_ih_l0 is [W_ir; W_iz; W_in] and weight_hh_l0 is
  [W_hr; W_hz; W_hn], with the biases stacked the same way.

The forms differ in two places. The reset gate multiplies h_{t-1} before the recurrent
matrix in the seeds' form and the product W_hn h_{t-1} + b_hn after it in cuDNN's, so
the two compute different functions unless r = 1. The update gates are mirror images:
z = 1 - u. Cho et al. themselves write the interpolation with u and 1 - u swapped
(h_t = u h_{t-1} + (1 - u) h~_t), and seed 002's eq 2.9 puts a sigmoid where the
candidate needs tanh. Pass form= to init_params, step_forward and forward; the cache keeps
it for backward, and params of the other form are refused with the keys that were expected.

Shapes (batch-first, as everywhere in rnn_core): x (N, T, D), h (N, T, H), one step's
x_t (N, D). The state is a dict {"h": (N, H)}. Inside, the gates are stacked (two sigmoid
gates, then the candidate: u, r, c or r, z, n) into (3H, D) and (3H, H) matrices, so all
input projections are one matmul before the loop. Same interface as elman.py (cells/__init__.py lists the cells).
"""
import numpy as np

from .. import init
from ..activations import sigmoid
from ..validate import check_array, check_choice, check_int, check_params, check_sequence, check_state

STATE_KEYS = ("h",)
FORMS = ("seeds", "cudnn")
GATES = {"seeds": "urc", "cudnn": "rzn"}   # stacking order: sigmoid gates, then the candidate


def param_shapes(D, H, form="seeds"):
    """The parameter dict's keys and shapes for the given form."""
    check_choice("form", form, FORMS)
    if form == "seeds":
        HD = None if D is None or H is None else H + D
        return {f"{p}_{g}": (H, HD) if p == "W" else (H,) for g in "urc" for p in "Wb"}
    return {**{f"W_i{g}": (H, D) for g in "rzn"}, **{f"W_h{g}": (H, H) for g in "rzn"},
            **{f"b_{s}{g}": (H,) for s in "ih" for g in "rzn"}}


def init_params(D, H, seed=0, form="seeds", dtype=np.float64):
    """Parameters for input size D and hidden size H: orthogonal recurrent parts, N(0, 1/D)
    input parts, zero biases. Returns a dict with the keys of param_shapes(D, H, form)."""
    D = check_int("D", D, low=1)
    H = check_int("H", H, low=1)
    check_choice("form", form, FORMS)
    params = {}
    for j, g in enumerate(GATES[form]):
        W_hg = init.orthogonal(H, seed + 2 * j, dtype)                         # (H, H)
        W_xg = init.gaussian((H, D), 1 / np.sqrt(D), seed + 2 * j + 1, dtype)  # (H, D)
        if form == "seeds":
            params["W_" + g], params["b_" + g] = np.concatenate([W_hg, W_xg], axis=1), np.zeros(H, dtype)
        else:
            params["W_i" + g], params["W_h" + g] = W_xg, W_hg
            params["b_i" + g], params["b_h" + g] = np.zeros(H, dtype), np.zeros(H, dtype)
    return params


def _check(params, form):
    """Validate the form and the parameter dict; returns (D, H, dtype)."""
    check_choice("form", form, FORMS)
    other = FORMS[1 - FORMS.index(form)]
    if isinstance(params, dict) and set(params) == set(param_shapes(1, 1, other)):
        raise ValueError(f"params: expected the keys of the form={form!r} GRU "
                         f"{sorted(param_shapes(1, 1, form))}, received the keys of the "
                         f"form={other!r} GRU {sorted(params)}; pass form={other!r}")
    key = "W_u" if form == "seeds" else "W_ir"
    W = params.get(key) if isinstance(params, dict) else None
    ok = isinstance(W, np.ndarray) and W.ndim == 2 and 0 < W.shape[0] and 0 < W.shape[1]
    if form == "seeds":
        ok = ok and W.shape[0] < W.shape[1]
        H, D = (W.shape[0], W.shape[1] - W.shape[0]) if ok else (None, None)
    else:
        H, D = W.shape if ok else (None, None)
    dtype = check_params("params", params, param_shapes(D, H, form))
    if not ok:
        want = "(H, H + D)" if form == "seeds" else "(H, D)"
        raise ValueError(f"params[{key!r}]: expected shape {want} with H, D >= 1, received {W.shape}")
    return D, H, dtype


def _stack(params, H, form):
    """Gates stacked: returns W_h (3H, H), W_x (3H, D), b_x (3H,), b_h (3H,) or None (seeds)."""
    if form == "seeds":
        W = np.concatenate([params["W_" + g] for g in "urc"])   # (3H, H + D)
        return W[:, :H], W[:, H:], np.concatenate([params["b_" + g] for g in "urc"]), None
    return tuple(np.concatenate([params[f"{p}{g}"] for g in "rzn"])
                 for p in ("W_h", "W_i", "b_i", "b_h"))


def _seeds_cell(xa, h, W_h, b_h):
    """Seeds form. xa (N, 3H) = x-parts + biases of u, r, c; b_h is None (no separate biases).

    Returns h_t and (s, n, m): gates [u, r] (N, 2H), candidate h~ (N, H), m = r * h_{t-1}.
    """
    H = h.shape[1]
    s = sigmoid(xa[:, :2 * H] + h @ W_h[:2 * H].T)
    u, r = s[:, :H], s[:, H:]
    m = r * h                                       # reset before the matrix
    n = np.tanh(xa[:, 2 * H:] + m @ W_h[2 * H:].T)
    return (1 - u) * h + u * n, s, n, m


def _seeds_cell_back(dh, h, s, n, m, W_h):
    """Backward of _seeds_cell: dL/dh_t (N, H) -> (da_x, da_h (N, 3H), dL/dh_{t-1})."""
    H = h.shape[1]
    u, r = s[:, :H], s[:, H:]
    dn = dh * u * (1 - n * n)                       # candidate pre-activation
    dm = dn @ W_h[2 * H:]                           # dL/d(r * h_{t-1})
    ds = np.concatenate([dh * (n - h), dm * h], axis=1) * s * (1 - s)   # u, r pre-activations
    da = np.concatenate([ds, dn], axis=1)           # one pre-activation per gate: x- and h-parts share it
    return da, da, dh * (1 - u) + dm * r + ds @ W_h[:2 * H]


def _cudnn_cell(xa, h, W_h, b_h):
    """cuDNN form. xa (N, 3H) = x-projections + b_i of r, z, n; b_h (3H,).

    Returns h_t and (s, n, m): gates [r, z] (N, 2H), candidate n (N, H), m = W_hn h_{t-1} + b_hn.
    """
    H = h.shape[1]
    hw = h @ W_h.T + b_h                            # (N, 3H)
    s = sigmoid(xa[:, :2 * H] + hw[:, :2 * H])
    r, z = s[:, :H], s[:, H:]
    m = hw[:, 2 * H:]
    n = np.tanh(xa[:, 2 * H:] + r * m)              # reset after the matrix
    return (1 - z) * n + z * h, s, n, m


def _cudnn_cell_back(dh, h, s, n, m, W_h):
    """Backward of _cudnn_cell: dL/dh_t (N, H) -> (da_x, da_h (N, 3H), dL/dh_{t-1})."""
    H = h.shape[1]
    r, z = s[:, :H], s[:, H:]
    dn = dh * (1 - z) * (1 - n * n)                 # input-side candidate pre-activation
    ds = np.concatenate([dn * m, dh * (h - n)], axis=1) * s * (1 - s)   # r, z pre-activations
    da_h = np.concatenate([ds, dn * r], axis=1)     # recurrent side: the n-part is gated by r
    return np.concatenate([ds, dn], axis=1), da_h, dh * z + da_h @ W_h


_CELLS = {"seeds": (_seeds_cell, _seeds_cell_back), "cudnn": (_cudnn_cell, _cudnn_cell_back)}


def step_forward(x_t, state, params, form="seeds"):
    """One step. x_t (N, D), state {"h": (N, H)} -> (state {"h": h_t (N, H)}, cache)."""
    D, H, dtype = _check(params, form)
    check_array("x_t", x_t, (None, D), dtype)
    h_prev = check_state("state", state, {"h": (x_t.shape[0], H)}, dtype)[0]
    W_h, W_x, b_x, b_h = _stack(params, H, form)
    h, s, n, m = _CELLS[form][0](x_t @ W_x.T + b_x, h_prev, W_h, b_h)
    return {"h": h}, (form, x_t, h_prev, s, n, m, W_h, W_x)


def step_backward(dstate, cache):
    """Backward of one step. dstate {"h": dL/dh_t (N, H)} -> (dx_t, {"h": dh_prev}, grads)."""
    form, x_t, h_prev, s, n, m, W_h, W_x = cache
    dh = check_state("dstate", dstate, {"h": h_prev.shape}, h_prev.dtype)[0]
    da_x, da_h, dh_prev = _CELLS[form][1](dh, h_prev, s, n, m, W_h)
    return da_x @ W_x, {"h": dh_prev}, _grads(form, da_x, da_h, h_prev, m, x_t)


def forward(x, state0, params, form="seeds"):
    """Run the GRU over a sequence. x (N, T, D), state0 {"h": (N, H)}.

    Returns h (N, T, H), the final state {"h": (N, H)} and the cache for backward.
    The input projection of all gates for all steps is one matmul before the loop.
    """
    D, H, dtype = _check(params, form)
    N, T, _ = check_sequence("x", x, D, dtype)
    h = check_state("state0", state0, {"h": (N, H)}, dtype)[0]
    W_h, W_x, b_x, b_h = _stack(params, H, form)
    xa = (x.reshape(N * T, D) @ W_x.T + b_x).reshape(N, T, 3 * H)
    ss = np.empty((T, N, 2 * H), dtype)             # time-major inside the loop
    hs, ns, ms = (np.empty((T, N, H), dtype) for _ in range(3))
    cell = _CELLS[form][0]
    for t in range(T):
        hs[t], ss[t], ns[t], ms[t] = cell(xa[:, t], h, W_h, b_h)
        h = hs[t]
    cache = {"form": form, "x": x, "h0": state0["h"], "hs": hs, "ss": ss, "ns": ns, "ms": ms,
             "W_h": W_h, "W_x": W_x}
    return hs.transpose(1, 0, 2), {"h": hs[-1].copy()}, cache


def backward(dh, cache, dstate_T=None, truncate=None):
    """BPTT. dh (N, T, H) holds dL/dh_t from the losses (zeros where a step has none).

    dstate_T: optional {"h": (N, H)}, a gradient arriving at the final state.
    truncate=k: gradients do not cross the boundaries of windows [0,k), [k,2k), ...;
    k >= T is full BPTT.
    Returns dx (N, T, D), dstate0 {"h": (N, H)} and grads keyed like params.
    """
    form, x, hs, W_h = cache["form"], cache["x"], cache["hs"], cache["W_h"]
    T, N, H = hs.shape
    D = x.shape[2]
    check_array("dh", dh, (N, T, H), hs.dtype)
    k = T if truncate is None else check_int("truncate", truncate, low=1)
    carry = np.zeros((N, H), hs.dtype)
    if dstate_T is not None:
        carry = check_state("dstate_T", dstate_T, {"h": (N, H)}, hs.dtype)[0]
    h_prev = np.concatenate([cache["h0"][None], hs[:-1]])   # (T, N, H)
    das_x, das_h = np.empty((T, N, 3 * H), hs.dtype), np.empty((T, N, 3 * H), hs.dtype)
    cell_back = _CELLS[form][1]
    for t in range(T - 1, -1, -1):
        das_x[t], das_h[t], carry = cell_back(dh[:, t] + carry, h_prev[t], cache["ss"][t],
                                              cache["ns"][t], cache["ms"][t], W_h)
        if t % k == 0 and t > 0:                             # window boundary: cut the carry
            carry = np.zeros_like(carry)
    da_x, da_h = das_x.reshape(T * N, 3 * H), das_h.reshape(T * N, 3 * H)
    grads = _grads(form, da_x, da_h, h_prev.reshape(T * N, H), cache["ms"].reshape(T * N, H),
                   x.transpose(1, 0, 2).reshape(T * N, D))
    dx = (da_x @ cache["W_x"]).reshape(T, N, D).transpose(1, 0, 2)
    return np.ascontiguousarray(dx), {"h": carry}, grads


def _grads(form, da_x, da_h, h_prev, m, x):
    """All weight gradients as big matmuls over M = T*N rows.

    da_x, da_h (M, 3H): gradients of the input- and recurrent-side pre-activations;
    h_prev, m (M, H); x (M, D). Returns grads keyed like the params of `form`.
    """
    H = h_prev.shape[1]
    dW_x, db_x = np.split(da_x.T @ x, 3), np.split(da_x.sum(axis=0), 3)     # 3 x (H, D), (H,)
    grads = {}
    if form == "seeds":   # the candidate's recurrent input is r * h_{t-1}, not h_{t-1}
        dW_h = np.split(np.concatenate([da_h[:, :2 * H].T @ h_prev, da_h[:, 2 * H:].T @ m]), 3)
        for g, dWh, dWx, db in zip("urc", dW_h, dW_x, db_x):
            grads["W_" + g], grads["b_" + g] = np.concatenate([dWh, dWx], axis=1), db
        return grads
    dW_h, db_h = np.split(da_h.T @ h_prev, 3), np.split(da_h.sum(axis=0), 3)
    for g, dWh, dWx, dbh, dbx in zip("rzn", dW_h, dW_x, db_h, db_x):
        grads["W_i" + g], grads["W_h" + g], grads["b_i" + g], grads["b_h" + g] = dWx, dWh, dbx, dbh
    return grads

