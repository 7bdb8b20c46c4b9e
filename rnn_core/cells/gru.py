"""GRU in two forms: the sources' (the lecture notes, Cho et al. 2014) and cuDNN's.

form="sources" (the default; eqs 1.43-1.47 of the lecture notes), gates reading [h_{t-1}; x_t]:
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
matrix in the sources' form and the product W_hn h_{t-1} + b_hn after it in cuDNN's, so
the two compute different functions unless r = 1. The update gates are mirror images:
z = 1 - u. Cho et al. themselves write the interpolation with u and 1 - u swapped
(h_t = u h_{t-1} + (1 - u) h~_t), and Galvan's thesis (eq 2.9) puts a sigmoid where the
candidate needs tanh. OPTIONS: form, "sources" or "cudnn"; the cache keeps it for
backward, and params of the other form are refused with the keys that were expected.

Shapes (batch-first, as everywhere in rnn_core): x (N, T, D), h (N, T, H), one step's
x_t (N, D). The state is a dict {"h": (N, H)}. Inside, the gates are stacked (two sigmoid
gates, then the candidate: u, r, c or r, z, n) into W_x (3H, D) and W_h (3H, H), so all
input projections are one matmul before the loop.
The equations live in public functions, three per form, that never check their arguments
(STEPS[form] gives (recurrence, carry_factors, carry)):
    recurrence_sources(xw_t, h_prev, W_h, b_h) -> (h_t, (s, n, m))
    recurrence_cudnn(xw_t, h_prev, W_h, b_h) -> (h_t, (s, n, m))
        xw_t = x_t W_x^T + b_x (..., N, 3H); h_prev (..., N, H); W_h (3H, H) or stacked
        (..., 3H, H), broadcasting under np.matmul; b_h (3H,) for cudnn, None for sources.
        s = the two sigmoid gates (..., N, 2H), n = the candidate, m = r * h_{t-1}
        (sources) or W_hn h_{t-1} + b_hn (cudnn).
    carry_factors_sources(h_prev, (s, n, m)) -> (K_x, K_h, P)
    carry_factors_cudnn(h_prev, (s, n, m)) -> (K_x, K_h, P)
        the factors of the step's backward that do not depend on the incoming gradient,
        K_x, K_h (..., N, 3H) (one array in the sources' form), P (..., N, 2H) or (..., N, H);
        any leading axes, so a sequence computes them for a block of steps at once.
    carry_sources(dh_t, (K_x, K_h, P), W_h) -> (da_x, da_h, dh_prev)
    carry_cudnn(dh_t, (K_x, K_h, P), W_h) -> (da_x, da_h, dh_prev)
        da_x, da_h (..., N, 3H): gradients of the input- and recurrent-side pre-activations.
The sequence forward and backward are loops over them. forward, backward, step_forward and
step_backward check their arguments unless called with check=False (see elman.py).
"""
import numpy as np

from ..nn import init
from ..nn.activations import sigmoid
from ..validate import (check_array, check_int, check_options, check_params, check_sequence,
                        check_state, check_state0)
from . import fast, sequence

STATE_KEYS = ("h",)
OPTIONS = {"form": "sources"}
FORMS = ("sources", "cudnn")
CHOICES = {"form": FORMS}
GATES = {"sources": "urc", "cudnn": "rzn"}   # stacking order: sigmoid gates, then the candidate


def options(opts):
    """opts checked against OPTIONS -> the full options dict (what check=False calls take)."""
    return check_options("gru", opts, OPTIONS, CHOICES)


def param_shapes(D, H, **opts):
    """The parameter dict's keys and shapes for the given form."""
    form = options(opts)["form"]
    if form == "sources":
        HD = None if D is None or H is None else H + D
        return {f"{p}_{g}": (H, HD) if p == "W" else (H,) for g in "urc" for p in "Wb"}
    return {**{f"W_i{g}": (H, D) for g in "rzn"}, **{f"W_h{g}": (H, H) for g in "rzn"},
            **{f"b_{s}{g}": (H,) for s in "ih" for g in "rzn"}}


def init_params(D, H, seed=0, dtype=np.float64, **opts):
    """Parameters for input size D and hidden size H: orthogonal recurrent parts, N(0, 1/D)
    input parts, zero biases. Returns a dict with the keys of param_shapes(D, H, **opts)."""
    form = options(opts)["form"]
    D = check_int("D", D, low=1)
    H = check_int("H", H, low=1)
    params = {}
    for j, g in enumerate(GATES[form]):
        W_hg = init.orthogonal(H, seed + 2 * j, dtype)                         # (H, H)
        W_xg = init.gaussian((H, D), 1 / np.sqrt(D), seed + 2 * j + 1, dtype)  # (H, D)
        if form == "sources":
            params["W_" + g], params["b_" + g] = np.concatenate([W_hg, W_xg], axis=1), np.zeros(H, dtype)
        else:
            params["W_i" + g], params["W_h" + g] = W_xg, W_hg
            params["b_i" + g], params["b_h" + g] = np.zeros(H, dtype), np.zeros(H, dtype)
    return params


def zero_state(N, H, dtype=np.float64, **opts):
    """The zero state {"h": (N, H)}."""
    options(opts)
    return sequence.zero_state(STATE_KEYS, check_int("N", N, low=1), check_int("H", H, low=1), dtype)


# ----------------------------------------------------------------------------------------
# The equations, once per form
# ----------------------------------------------------------------------------------------

def recurrence_sources(xw_t, h_prev, W_h, b_h=None, sigmoid=sigmoid):
    """The GRU step in the sources' form; xw_t holds the x-parts + biases of [u, r, c]:

        u_t, r_t = sigmoid(xw_u + W_hu h_{t-1}), sigmoid(xw_r + W_hr h_{t-1})
        h~_t = tanh(xw_c + W_hc (r_t * h_{t-1}))
        h_t = (1 - u_t) * h_{t-1} + u_t * h~_t

    Any leading axes. Returns h_t and the step cache (s = [u, r], h~_t, r_t * h_{t-1}). Unchecked.
    """
    H = h_prev.shape[-1]
    W_ur, W_c = W_h[..., :2 * H, :], W_h[..., 2 * H:, :]
    s = sigmoid(xw_t[..., :2 * H] + h_prev @ W_ur.swapaxes(-1, -2))
    u, r = s[..., :H], s[..., H:]
    m = r * h_prev                                            # reset before the matrix
    n = np.tanh(xw_t[..., 2 * H:] + m @ W_c.swapaxes(-1, -2))
    return (1 - u) * h_prev + u * n, (s, n, m)


def carry_factors_sources(h_prev, step_cache):
    """The factors of carry_sources that the incoming gradient does not change:

        K = [(h~_t - h_{t-1}) u'(a_u), h_{t-1} r'(a_r), u_t (1 - h~_t^2)]   [dh_t, dm, dh_t] -> da
        P = [1 - u_t, r_t]                                                 [dh_t, dm] -> dh_{t-1}
    with sigmoid'(a) = s (1 - s). Any leading axes. Returns (K, K, P): one K (..., N, 3H)
    for both sides, as the x- and h-parts of a gate share its pre-activation; P (..., N, 2H).
    """
    s, n, _ = step_cache
    H = n.shape[-1]
    K = np.empty(n.shape[:-1] + (3 * H,), n.dtype)   # written in place: no concatenation
    np.subtract(1, s, out=K[..., :2 * H])
    K[..., :2 * H] *= s                               # sigmoid' of u, r
    K[..., :H] *= n - h_prev
    K[..., H:2 * H] *= h_prev
    np.multiply(n, n, out=K[..., 2 * H:])
    np.subtract(1, K[..., 2 * H:], out=K[..., 2 * H:])
    K[..., 2 * H:] *= s[..., :H]
    P = s.copy()
    np.subtract(1, s[..., :H], out=P[..., :H])
    return K, K, P


def carry_sources(dh_t, local, W_h):
    """BPTT's carry through recurrence_sources (unchecked): dL/dh_t arrives;
    local = carry_factors_sources(...) = (K, K, P).

        dm = (dh_t u_t (1 - h~_t^2)) W_hc        dL/d(r_t * h_{t-1}), through the candidate
        da = K * [dh_t, dm, dh_t]                the pre-activations of [u, r, c]
        dh_{t-1} = dh_t (1 - u_t) + dm r_t + da_[u, r] W_h[u, r]

    Returns (da_x, da_h, dh_prev) with da_x is da_h, (..., N, 3H); dh_prev (..., N, H).
    """
    K, _, P = local
    H = dh_t.shape[-1]
    dm = (dh_t * K[..., 2 * H:]) @ W_h[..., 2 * H:, :]
    da = K * np.concatenate([dh_t, dm, dh_t], axis=-1)
    return da, da, dh_t * P[..., :H] + dm * P[..., H:] + da[..., :2 * H] @ W_h[..., :2 * H, :]


def recurrence_cudnn(xw_t, h_prev, W_h, b_h, sigmoid=sigmoid):
    """The GRU step in cuDNN's form; xw_t holds the x-projections + b_i of [r, z, n]:

        r_t, z_t = sigmoid(xw_r + W_hr h_{t-1} + b_hr), sigmoid(xw_z + W_hz h_{t-1} + b_hz)
        n_t = tanh(xw_n + r_t * (W_hn h_{t-1} + b_hn))
        h_t = (1 - z_t) * n_t + z_t * h_{t-1}

    Any leading axes. Returns h_t and the step cache (s = [r, z], n_t, W_hn h_{t-1} + b_hn).
    Unchecked.
    """
    H = h_prev.shape[-1]
    hw = h_prev @ W_h.swapaxes(-1, -2) + b_h               # (..., N, 3H)
    s = sigmoid(xw_t[..., :2 * H] + hw[..., :2 * H])
    r, z = s[..., :H], s[..., H:]
    m = hw[..., 2 * H:]
    n = np.tanh(xw_t[..., 2 * H:] + r * m)                     # reset after the matrix
    return (1 - z) * n + z * h_prev, (s, n, m)


def carry_factors_cudnn(h_prev, step_cache):
    """The factors of carry_cudnn that the incoming gradient does not change:

        K_x = [m_t r'(a_r), (h_{t-1} - n_t) z'(a_z), (1 - z_t)(1 - n_t^2)]   [da_n, dh_t, dh_t] -> da_x
        K_h = K_x with its n-part times r_t        the recurrent side: r_t gates m_t
    with sigmoid'(a) = s (1 - s) and m_t = W_hn h_{t-1} + b_hn. Any leading axes.
    Returns (K_x, K_h (..., N, 3H), z_t (..., N, H), a view of the step cache).
    """
    s, n, m = step_cache
    H = n.shape[-1]
    r, z = s[..., :H], s[..., H:]
    K_x = np.empty(n.shape[:-1] + (3 * H,), n.dtype)  # written in place: no concatenation
    np.subtract(1, s, out=K_x[..., :2 * H])
    K_x[..., :2 * H] *= s                              # sigmoid' of r, z
    K_x[..., :H] *= m
    K_x[..., H:2 * H] *= h_prev - n
    np.multiply(n, n, out=K_x[..., 2 * H:])
    np.subtract(1, K_x[..., 2 * H:], out=K_x[..., 2 * H:])
    K_x[..., 2 * H:] *= 1 - z
    K_h = K_x.copy()
    K_h[..., 2 * H:] *= r
    return K_x, K_h, z


def carry_cudnn(dh_t, local, W_h):
    """BPTT's carry through recurrence_cudnn (unchecked): dL/dh_t arrives;
    local = carry_factors_cudnn(...) = (K_x, K_h, z_t).

        da_n = dh_t (1 - z_t)(1 - n_t^2)         the candidate's input-side pre-activation
        da_x = K_x * [da_n, dh_t, dh_t],   da_h = K_h * [da_n, dh_t, dh_t]      [r, z, n]
        dh_{t-1} = dh_t z_t + da_h W_h

    Returns (da_x, da_h (..., N, 3H), dh_prev (..., N, H)).
    """
    K_x, K_h, z = local
    H = dh_t.shape[-1]
    v = np.concatenate([dh_t * K_x[..., 2 * H:], dh_t, dh_t], axis=-1)
    da_h = K_h * v
    return K_x * v, da_h, dh_t * z + da_h @ W_h


STEPS = {"sources": (recurrence_sources, carry_factors_sources, carry_sources),
         "cudnn": (recurrence_cudnn, carry_factors_cudnn, carry_cudnn)}


# ----------------------------------------------------------------------------------------
# One step
# ----------------------------------------------------------------------------------------

def _check(params, form):
    """Validate the parameter dict of `form`; returns (D, H, dtype)."""
    other = FORMS[1 - FORMS.index(form)]
    if isinstance(params, dict) and set(params) == set(param_shapes(1, 1, form=other)):
        raise ValueError(f"params: expected the keys of the form={form!r} GRU "
                         f"{sorted(param_shapes(1, 1, form=form))}, received the keys of the "
                         f"form={other!r} GRU {sorted(params)}; pass form={other!r}")
    key = "W_u" if form == "sources" else "W_ir"
    W = params.get(key) if isinstance(params, dict) else None
    ok = isinstance(W, np.ndarray) and W.ndim == 2 and 0 < W.shape[0] and 0 < W.shape[1]
    if form == "sources":
        ok = ok and W.shape[0] < W.shape[1]
        H, D = (W.shape[0], W.shape[1] - W.shape[0]) if ok else (None, None)
    else:
        H, D = W.shape if ok else (None, None)
    dtype = check_params("params", params, param_shapes(D, H, form=form))
    if not ok:
        want = "(H, H + D)" if form == "sources" else "(H, D)"
        raise ValueError(f"params[{key!r}]: expected shape {want} with H, D >= 1, received {W.shape}")
    return D, H, dtype


def stack_gates(params, form):
    """Gates stacked: returns W_h (3H, H), W_x (3H, D), b_x (3H,), b_h (3H,) or None (sources)."""
    if form == "sources":
        H = params["b_u"].shape[0]
        W = np.concatenate([params["W_" + g] for g in "urc"])   # (3H, H + D)
        return (np.ascontiguousarray(W[:, :H]), np.ascontiguousarray(W[:, H:]),
                np.concatenate([params["b_" + g] for g in "urc"]), None)
    return tuple(np.concatenate([params[f"{p}{g}"] for g in "rzn"])
                 for p in ("W_h", "W_i", "b_i", "b_h"))




def step_forward(x_t, state, params, check=True, **opts):
    """One step. x_t (N, D), state {"h": (N, H)} or None -> (state {"h": h_t (N, H)}, cache).

    check=False: nothing is checked, state is a state dict.
    """
    if not check:
        return _step_forward(x_t, state, params, {**OPTIONS, **opts})
    opts = options(opts)
    D, H, dtype = _check(params, opts["form"])
    check_array("x_t", x_t, (None, D), dtype)
    if state is None:
        state = sequence.zero_state(STATE_KEYS, x_t.shape[0], H, dtype)
    check_state("state", state, {"h": (x_t.shape[0], H)}, dtype)
    return _step_forward(x_t, state, params, opts)


def _step_forward(x_t, state, params, opts):
    """step_forward's body, unchecked. The cache holds a copy of h_{t-1}, never the returned h_t."""
    form = opts["form"]
    W_h, W_x, b_x, b_h = stack_gates(params, form)
    h_prev = state["h"].copy()
    h, step_cache = STEPS[form][0](x_t @ W_x.T + b_x, h_prev, W_h, b_h)
    return {"h": h}, (form, x_t, h_prev, step_cache, W_h, W_x)


def step_backward(dstate, cache, check=True):
    """Backward of one step. dstate {"h": dL/dh_t (N, H)} -> (dx_t, {"h": dh_prev}, grads)."""
    if check:
        h_prev = cache[2]
        check_state("dstate", dstate, {"h": h_prev.shape}, h_prev.dtype)
    return _step_backward(dstate, cache)


def _step_backward(dstate, cache):
    """step_backward's body, unchecked."""
    form, x_t, h_prev, step_cache, W_h, W_x = cache
    _, factors, back = STEPS[form]
    da_x, da_h, dh_prev = back(dstate["h"], factors(h_prev, step_cache), W_h)
    return da_x @ W_x, {"h": dh_prev}, _grads(form, da_x, da_h, h_prev, step_cache[2], x_t)


# ----------------------------------------------------------------------------------------
# A sequence
# ----------------------------------------------------------------------------------------

def forward(x, state0, params, check=True, **opts):
    """Run the GRU over a sequence. x (N, T, D), state0 {"h": (N, H)} or None (zeros).

    Returns h (N, T, H), the final state {"h": (N, H)} and the cache for backward; h and
    the state are new arrays, so editing them cannot change what backward computes.
    check=False: nothing is checked, state0 is a state dict.
    """
    if not check:
        return _forward(x, state0, params, {**OPTIONS, **opts})
    opts = options(opts)
    D, H, dtype = _check(params, opts["form"])
    check_sequence("x", x, D, dtype)
    state0 = check_state0("state0", state0, STATE_KEYS, x, H, dtype)
    return _forward(x, state0, params, opts)


def _forward(x, state0, params, opts):
    """forward's body, unchecked: the input projection is one matmul, then a loop over the
    form's recurrence."""
    form = opts["form"]
    N, T, _ = x.shape
    if form == "cudnn" and fast.wanted("gru", N, params["b_ir"].shape[0]):
        return fast.gru_cudnn_forward(x, state0, params)
    W_h, W_x, b_x, b_h = stack_gates(params, form)
    H = W_h.shape[1]
    gates, ms, hs = sequence.buffers(x.dtype, (T, N, 3 * H), (T, N, H), (T + 1, N, H))
    sequence.project(x, W_x, b_x, out=gates)                  # (T, N, 3H): xw_t until step t
    ss, ns = gates[..., :2 * H], gates[..., 2 * H:]           # then the two gates and the candidate
    hs[0] = state0["h"]                                       # hs[0] = h_0, hs[t+1] = h_t
    step = STEPS[form][0]
    with np.errstate(over="ignore"):                          # once, for loop_sigmoid
        for t in range(T):                                    # the step reads xw_t = gates[t] first
            hs[t + 1], (ss[t], ns[t], ms[t]) = step(gates[t], hs[t], W_h, b_h, sequence.loop_sigmoid)
    cache = {"form": form, "x": x, "hs": hs, "ss": ss, "ns": ns, "ms": ms, "W_h": W_h, "W_x": W_x}
    return sequence.batch_first(hs[1:]), {"h": hs[-1].copy()}, cache


def backward(dh, cache, dstate_T=None, truncate=None, check=True):
    """BPTT. dh: dL/dh_t as an (N, T, H) array, a dict {t: (N, H)} or None (see sequence).

    dstate_T: optional {"h": (N, H)}, a gradient arriving at the final state.
    truncate=k: gradients do not cross the boundaries of windows [0,k), [k,2k), ...;
    k >= T is full BPTT.
    Returns dx (N, T, D), dstate0 {"h": (N, H)} and grads keyed like params.
    check=False: nothing is checked.
    """
    T, N, H = cache["hs"][1:].shape
    if not check:
        return _backward(sequence.steps(dh, T), cache, dstate_T, truncate)
    dtype = cache["hs"].dtype
    dh = sequence.check_upstream("dh", dh, N, T, H, dtype)
    if dstate_T is not None:
        check_state("dstate_T", dstate_T, {"h": (N, H)}, dtype)
    return _backward(dh, cache, dstate_T, sequence.check_truncate(truncate))


def _backward(dh, cache, dstate_T, truncate):
    """backward's body, unchecked (dh a dict {t: (N, H)}, 0 <= t < T): a loop over the form's
    carry, with its carry_factors computed for a block of steps at once; the weight gradients
    are matmuls after it."""
    if "fast" in cache:
        return fast.gru_cudnn_backward(dh, cache, dstate_T, truncate)
    form, x, hs, W_h = cache["form"], cache["x"], cache["hs"], cache["W_h"]
    T, N, H = hs[1:].shape
    dh_t = np.zeros((N, H), hs.dtype) if dstate_T is None else dstate_T["h"]
    ss, ns, ms = cache["ss"], cache["ns"], cache["ms"]
    h_prev = hs[:-1]                                          # h_{t-1} for every t, a view
    # the sources' x- and h-parts share one pre-activation per gate, so one array serves both
    das_x, das_h = sequence.buffers(hs.dtype, (T, N, 3 * H), (T if form == "cudnn" else 0, N, 3 * H))
    das_h = das_x if form == "sources" else das_h
    _, factors, back = STEPS[form]
    for t0, t1 in sequence.blocks(T, das_x[0].nbytes):   # the last block first
        K_x, K_h, P = factors(h_prev[t0:t1], (ss[t0:t1], ns[t0:t1], ms[t0:t1]))
        for t in range(t1 - 1, t0 - 1, -1):
            g = dh.get(t)
            das_x[t], das_h[t], dh_t = back(dh_t if g is None else dh_t + g,
                                            (K_x[t - t0], K_h[t - t0], P[t - t0]), W_h)
            if sequence.cut(t, truncate):
                dh_t = np.zeros_like(dh_t)
    grads = _grads(form, sequence.rows(das_x), sequence.rows(das_h), sequence.rows(h_prev),
                   sequence.rows(ms), sequence.x_rows(x))
    return sequence.backproject(das_x, cache["W_x"]), {"h": dh_t}, grads


def _grads(form, da_x, da_h, h_prev, m, x):
    """All weight gradients as big matmuls over M = T*N rows.

    da_x, da_h (M, 3H): gradients of the input- and recurrent-side pre-activations;
    h_prev, m (M, H); x (M, D). Returns grads keyed like the params of `form`.
    """
    H = h_prev.shape[1]
    dW_x, db_x = np.split(da_x.T @ x, 3), np.split(da_x.sum(axis=0), 3)     # 3 x (H, D), (H,)
    grads = {}
    if form == "sources":   # the candidate's recurrent input is r * h_{t-1}, not h_{t-1}
        dW_h = np.split(np.concatenate([da_h[:, :2 * H].T @ h_prev, da_h[:, 2 * H:].T @ m]), 3)
        for g, dWh, dWx, db in zip("urc", dW_h, dW_x, db_x):
            grads["W_" + g], grads["b_" + g] = np.concatenate([dWh, dWx], axis=1), db
        return grads
    dW_h, db_h = np.split(da_h.T @ h_prev, 3), np.split(da_h.sum(axis=0), 3)
    for g, dWh, dWx, dbh, dbx in zip("rzn", dW_h, dW_x, db_h, db_x):
        grads["W_i" + g], grads["W_h" + g], grads["b_i" + g], grads["b_h" + g] = dWx, dWh, dbx, dbh
    return grads
