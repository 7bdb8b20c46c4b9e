"""LSTM with a forget gate (eqs 1.37-1.42 of the lecture notes): gates read [h_{t-1}; x_t].

    f_t = sigmoid(W_f [h_{t-1}; x_t] + b_f)      forget gate
    i_t = sigmoid(W_i [h_{t-1}; x_t] + b_i)      input gate
    o_t = sigmoid(W_o [h_{t-1}; x_t] + b_o)      output gate
    C~_t = tanh(W_C [h_{t-1}; x_t] + b_C)        candidate
    C_t = f_t * C_{t-1} + i_t * C~_t,   h_t = o_t * tanh(C_t)

Shapes (batch-first, as everywhere in rnn_core): x (N, T, D), h (N, T, H), one step's
x_t (N, D); every W_[.] is (H, H + D), with columns [:H] acting on h_{t-1} and [H:] on
x_t; every b_[.] is (H,). The state is a dict {"h": (N, H), "c": (N, H)}. OPTIONS: none.

The direct path dC_t/dC_{t-1} = diag(f_t) is the constant error carousel: while f_t stays
near 1 the cell carries its gradient across many steps without the repeated factor
diag(f'(a)) W_h that makes an Elman RNN's gradient vanish. Hochreiter & Schmidhuber's 1997
cell had no forget gate (f_t = 1 always); Gers et al. added it in 2000.

Inside, the four gates are stacked in the order (f, i, o, C) into one (4H, H + D) matrix
(stack_gates): W_h (4H, H) acts on h_{t-1} and W_x (4H, D) on x_t, so a step costs one
(4H, H) matmul and the input projections of all steps are one matmul before the loop.
The equations live in public functions that never check their arguments:
    recurrence(xw_t, h_prev, c_prev, W_h) -> (h_t, c_t, (s, g, tc))
        xw_t = x_t W_x^T + b (..., N, 4H); h_prev, c_prev (..., N, H); W_h (4H, H) or
        stacked (..., 4H, H), broadcasting under np.matmul against h_prev.
        s = [f, i, o] (..., N, 3H), g = C~_t, tc = tanh(C_t) (..., N, H).
    carry_factors(s, g, tc, c_prev) -> (A, B): the factors of the step's backward that do
        not depend on the incoming gradients, A (..., N, H) and B (..., N, 4H); any leading
        axes, so a sequence computes them for a block of steps at once.
    carry(dh_t, dc_t, A, B, f, W_h) -> (dz_t, dh_prev, dc_prev)
        dz_t = dL/d[z_f, z_i, z_o, z_C] (..., N, 4H), the pre-activations' gradient.
The sequence forward and backward are loops over them. forward, backward, step_forward and
step_backward check their arguments unless called with check=False (see elman.py).
"""
import numpy as np

from ..nn import init
from ..nn.activations import sigmoid
from ..validate import (check_array, check_int, check_options, check_params, check_sequence,
                        check_state, check_state0)
from . import fast, sequence

STATE_KEYS = ("h", "c")
OPTIONS = {}
CHOICES = {}
GATES = ("f", "i", "o", "C")   # stacking order: the three sigmoid gates, then the tanh candidate


def options(opts):
    """opts checked against OPTIONS -> the full options dict (what check=False calls take)."""
    return check_options("lstm", opts, OPTIONS, CHOICES)




def param_shapes(D, H, **opts):
    """The parameter dict's keys and shapes."""
    options(opts)
    HD = None if D is None or H is None else H + D
    return {f"{p}_{g}": (H, HD) if p == "W" else (H,) for g in GATES for p in "Wb"}


def init_params(D, H, seed=0, dtype=np.float64, forget_bias=1.0, **opts):
    """Parameters for input size D and hidden size H.

    Each W_[.]: an orthogonal h-part and an N(0, 1/D) x-part. b_f = forget_bias, other
    biases 0. A positive forget bias opens the forget gate (f ~ sigmoid(1) = 0.73) at the
    start of training, so the carousel keeps the cell and its gradient from the first step
    instead of having to learn to remember.
    """
    options(opts)
    D = check_int("D", D, low=1)
    H = check_int("H", H, low=1)
    if not np.isfinite(forget_bias):
        raise ValueError(f"forget_bias: expected a finite number, received {forget_bias}")
    params = {}
    for j, g in enumerate(GATES):
        params["W_" + g] = np.concatenate([init.orthogonal(H, seed + 2 * j, dtype),
                                           init.gaussian((H, D), 1 / np.sqrt(D), seed + 2 * j + 1, dtype)],
                                          axis=1)
        params["b_" + g] = np.full(H, forget_bias if g == "f" else 0.0, dtype)
    return params


def zero_state(N, H, dtype=np.float64, **opts):
    """The zero state {"h", "c": (N, H)}."""
    options(opts)
    return sequence.zero_state(STATE_KEYS, check_int("N", N, low=1), check_int("H", H, low=1), dtype)


# ----------------------------------------------------------------------------------------
# The equations, once
# ----------------------------------------------------------------------------------------

def recurrence(xw_t, h_prev, c_prev, W_h, sigmoid=sigmoid):
    """The LSTM step; z = W_h h_{t-1} + W_x x_t + b (xw_t = W_x x_t + b) holds the
    pre-activations of [f, i, o, C~]:

        f_t, i_t, o_t = sigmoid(z_f), sigmoid(z_i), sigmoid(z_o)
        C~_t = tanh(z_C)
        C_t = f_t * C_{t-1} + i_t * C~_t
        h_t = o_t * tanh(C_t)

    Any leading axes. Returns h_t, C_t and the step cache (s = [f, i, o], C~_t, tanh C_t).
    sigmoid: activations.sigmoid, or a loop's unsilenced one (the same values). Unchecked.
    """
    H = c_prev.shape[-1]
    z = xw_t + h_prev @ W_h.swapaxes(-1, -2)             # (..., N, 4H)
    s = sigmoid(z[..., :3 * H])
    f, i, o = s[..., :H], s[..., H:2 * H], s[..., 2 * H:]
    g = np.tanh(z[..., 3 * H:])
    c = f * c_prev + i * g
    tc = np.tanh(c)
    h = o * tc
    return h, c, (s, g, tc)


def carry_factors(s, g, tc, c_prev, out=None):
    """The factors of carry that the incoming gradients do not change:

        A = o_t (1 - tanh^2 C_t)                                  dh_t -> dC_t
        B = [C_{t-1} f'(z_f), C~_t i'(z_i), tanh C_t o'(z_o), i_t (1 - C~_t^2)]
            with sigmoid'(z) = s (1 - s): [dC_t, dC_t, dh_t, dC_t] -> dz_t

    out: an optional (..., N, 4H) array to write B into. Returns (A, B). Unchecked.
    """
    H = g.shape[-1]
    A = s[..., 2 * H:] * (1 - tc * tc)
    B = np.empty(g.shape[:-1] + (4 * H,), g.dtype) if out is None else out   # written in place
    np.multiply(s, 1 - s, out=B[..., :3 * H])                 # sigmoid' of f, i, o
    B[..., :H] *= c_prev
    B[..., H:2 * H] *= g
    B[..., 2 * H:3 * H] *= tc
    np.multiply(s[..., H:2 * H], 1 - g * g, out=B[..., 3 * H:])
    return A, B


def carry(dh_t, dc_t, A, B, f, W_h):
    """BPTT's carry through one step: dL/dh_t and dL/dC_t (through C_{t+1}) arrive.

        dC = dc_t + dh_t A                 the carry plus the path through h_t = o tanh(C_t)
        dz = B * [dC, dC, dh_t, dC]        the pre-activations of [f, i, o, C~]
        dh_{t-1} = dz W_h,   dC_{t-1} = dC * f_t      the carousel: diag(f_t)

    A, B = carry_factors(...) of this step; f = f_t. Returns (dz (..., N, 4H), dh_prev,
    dc_prev). Unchecked.
    """
    dc = dc_t + dh_t * A
    dz = B * np.concatenate([dc, dc, dh_t, dc], axis=-1)
    return dz, dz @ W_h, dc * f




# ----------------------------------------------------------------------------------------
# One step
# ----------------------------------------------------------------------------------------

def _check(params):
    """Validate the parameter dict; returns (D, H, dtype) read off W_f."""
    W = params.get("W_f") if isinstance(params, dict) else None
    ok = isinstance(W, np.ndarray) and W.ndim == 2 and 0 < W.shape[0] < W.shape[1]
    H, D = (W.shape[0], W.shape[1] - W.shape[0]) if ok else (None, None)
    dtype = check_params("params", params, param_shapes(D, H))
    if not ok:
        raise ValueError(f"params['W_f']: expected shape (H, H + D) with H, D >= 1, received {W.shape}")
    return D, H, dtype


def stack_gates(params):
    """The four gates as one matrix: returns W_h (4H, H), W_x (4H, D), b (4H,)."""
    H = params["b_f"].shape[0]
    W = np.concatenate([params["W_" + g] for g in GATES])   # (4H, H + D)
    b = np.concatenate([params["b_" + g] for g in GATES])
    return np.ascontiguousarray(W[:, :H]), np.ascontiguousarray(W[:, H:]), b




def step_forward(x_t, state, params, check=True, **opts):
    """One step. x_t (N, D), state {"h", "c": (N, H)} or None -> (state {"h": h_t, "c": C_t}, cache).

    check=False: nothing is checked, state is a state dict.
    """
    if not check:
        return _step_forward(x_t, state, params, opts)
    opts = options(opts)
    D, H, dtype = _check(params)
    check_array("x_t", x_t, (None, D), dtype)
    if state is None:
        state = sequence.zero_state(STATE_KEYS, x_t.shape[0], H, dtype)
    check_state("state", state, _shapes(x_t.shape[0], H), dtype)
    return _step_forward(x_t, state, params, opts)


def _step_forward(x_t, state, params, opts):
    """step_forward's body, unchecked. The cache holds copies, never the returned arrays."""
    W_h, W_x, b = stack_gates(params)
    h_prev, c_prev = state["h"], state["c"]
    h, c, (s, g, tc) = recurrence(x_t @ W_x.T + b, h_prev, c_prev, W_h)
    return {"h": h, "c": c}, (h_prev.copy(), x_t, s, carry_factors(s, g, tc, c_prev), W_h, W_x)


def step_backward(dstate, cache, check=True):
    """Backward of one step. dstate {"h", "c": (N, H)} -> (dx_t, {"h", "c": dL/d(state_prev)}, grads)."""
    if check:
        A = cache[3][0]
        check_state("dstate", dstate, _shapes(*A.shape), A.dtype)
    return _step_backward(dstate, cache)


def _step_backward(dstate, cache):
    """step_backward's body, unchecked."""
    h_prev, x_t, s, (A, B), W_h, W_x = cache
    H = A.shape[-1]
    dz, dh_prev, dc_prev = carry(dstate["h"], dstate["c"], A, B, s[..., :H], W_h)
    return dz @ W_x, {"h": dh_prev, "c": dc_prev}, _grads(dz, h_prev, x_t)


# ----------------------------------------------------------------------------------------
# A sequence
# ----------------------------------------------------------------------------------------

def forward(x, state0, params, check=True, **opts):
    """Run the LSTM over a sequence. x (N, T, D), state0 {"h", "c": (N, H)} or None (zeros).

    Returns h (N, T, H), the final state {"h", "c": (N, H)} and the cache for backward;
    h and the state are new arrays, so editing them cannot change what backward computes.
    check=False: nothing is checked, state0 is a state dict.
    """
    if not check:
        return _forward(x, state0, params, opts)
    opts = options(opts)
    D, H, dtype = _check(params)
    check_sequence("x", x, D, dtype)
    state0 = check_state0("state0", state0, STATE_KEYS, x, H, dtype)
    return _forward(x, state0, params, opts)


def _forward(x, state0, params, opts):
    """forward's body, unchecked: the input projection is one matmul, then a loop over recurrence."""
    N, T, _ = x.shape
    H = params["b_f"].shape[0]
    if fast.wanted("lstm", N, H):
        return fast.lstm_forward(x, state0, params, GATES)
    W_h, W_x, b = stack_gates(params)
    gates, tcs, hs, cs = sequence.buffers(x.dtype, (T, N, 4 * H), (T, N, H), (T + 1, N, H), (T + 1, N, H))
    sequence.project(x, W_x, b, out=gates)                    # (T, N, 4H): xw_t until step t
    ss, gs = gates[..., :3 * H], gates[..., 3 * H:]           # then [f, i, o] and C~_t
    hs[0], cs[0] = state0["h"], state0["c"]                   # row 0 = state0, row t+1 = step t
    with np.errstate(over="ignore"):                          # once, for loop_sigmoid
        for t in range(T):                                    # recurrence reads xw_t = gates[t] first
            hs[t + 1], cs[t + 1], (ss[t], gs[t], tcs[t]) = recurrence(gates[t], hs[t], cs[t], W_h,
                                                                      sequence.loop_sigmoid)
    cache = {"x": x, "hs": hs, "cs": cs, "ss": ss, "gs": gs, "tcs": tcs, "W_h": W_h, "W_x": W_x}
    return sequence.batch_first(hs[1:]), {"h": hs[-1].copy(), "c": cs[-1].copy()}, cache


def backward(dh, cache, dstate_T=None, truncate=None, check=True):
    """BPTT. dh: dL/dh_t as an (N, T, H) array, a dict {t: (N, H)} or None (see sequence).

    dstate_T: optional {"h", "c": (N, H)}, gradients arriving at the final state.
    truncate=k: gradients do not cross the boundaries of windows [0,k), [k,2k), ... (both
    the h and the C carry are cut); k >= T is full BPTT.
    Returns dx (N, T, D), dstate0 {"h", "c": (N, H)} and grads keyed like params.
    check=False: nothing is checked.
    """
    T, N, H = cache["tcs"].shape
    if not check:
        return _backward(sequence.steps(dh, T), cache, dstate_T, truncate)
    dtype = cache["tcs"].dtype
    dh = sequence.check_upstream("dh", dh, N, T, H, dtype)
    if dstate_T is not None:
        check_state("dstate_T", dstate_T, _shapes(N, H), dtype)
    return _backward(dh, cache, dstate_T, sequence.check_truncate(truncate))


def _backward(dh, cache, dstate_T, truncate):
    """backward's body, unchecked (dh a dict {t: (N, H)}, 0 <= t < T): a loop over carry, with
    carry_factors computed for a block of steps at once (sequence.blocks), writing B where
    dL/dz_t then replaces it; the weight gradients are matmuls after it."""
    if "fast" in cache:
        return fast.lstm_backward(dh, cache, dstate_T, truncate)
    x, hs, cs, tcs, W_h = (cache[key] for key in ("x", "hs", "cs", "tcs", "W_h"))
    T, N, H = tcs.shape
    if dstate_T is None:
        dh_t, dc_t = np.zeros((N, H), x.dtype), np.zeros((N, H), x.dtype)
    else:
        dh_t, dc_t = dstate_T["h"], dstate_T["c"]
    ss, gs = cache["ss"], cache["gs"]
    dzs = np.empty((T, N, 4 * H), x.dtype)                    # every step's dL/dz_t
    for t0, t1 in sequence.blocks(T, dzs[0].nbytes):
        A, _ = carry_factors(ss[t0:t1], gs[t0:t1], tcs[t0:t1], cs[t0:t1], out=dzs[t0:t1])
        for t in range(t1 - 1, t0 - 1, -1):
            g = dh.get(t)
            dzs[t], dh_t, dc_t = carry(dh_t if g is None else dh_t + g, dc_t, A[t - t0], dzs[t],
                                       ss[t, :, :H], W_h)
            if sequence.cut(t, truncate):
                dh_t, dc_t = np.zeros_like(dh_t), np.zeros_like(dc_t)
    dz = sequence.rows(dzs)                                        # (T*N, 4H)
    grads = _grads(dz, sequence.rows(hs[:-1]), sequence.x_rows(x))    # h_{t-1}: a view
    return sequence.backproject(dzs, cache["W_x"]), {"h": dh_t, "c": dc_t}, grads


def _grads(dz, h_prev, x):
    """All weight gradients. dz (M, 4H), h_prev (M, H), x (M, D) -> grads keyed like params."""
    dW = np.concatenate([dz.T @ h_prev, dz.T @ x], axis=1)    # (4H, H + D): [h_{t-1}; x_t]
    grads = {}
    for g, dW_g, db in zip(GATES, np.split(dW, 4), np.split(dz.sum(axis=0), 4)):
        grads["W_" + g], grads["b_" + g] = dW_g, db          # (H, H + D), (H,)
    return grads


def _shapes(N, H):
    """Shapes of the state dict {"h", "c"}."""
    return {"h": (N, H), "c": (N, H)}
