"""The cells' own equations, run the way gradflow needs them: a forward that keeps what the
step back reads for every step, and the step back.

Nothing here restates an equation: each function calls the cell's own step functions
(elman.recurrence through radii.states, elman.carry; lstm.recurrence, lstm.carry_factors,
lstm.carry; cells.gru.STEPS[form]: its step, local factors and step back).
They take any leading axes, so the same code serves
  - gradient_norms and the Jacobians: the network's own recurrent weights W (G*H, H)
    against states (N, H);
  - the sweep over rho: one set of recurrent weights per rho, W (R, G*H, H) against
    states (R, N, H), with inputs xw (T, N, G*H) shared by every rho.
Shapes: xw (T, ..., G*H) = x_t W_x^T + b for every step, time-major; G = 1 (Elman), 3 (GRU)
or 4 (LSTM) blocks stacked in the cell's gate order; b_h the cuDNN GRU's recurrent-side
bias (3H,), None otherwise. A state is (h,) or (h, c), each (..., N, H).
"""
import numpy as np

from ..nn import activations
from .. import cells
from ..cells import sequence
from . import radii

elman_carry = cells.elman.carry
lstm_recurrence, lstm_carry = cells.lstm.recurrence, cells.lstm.carry

GATED = ("lstm", "gru")


def weights(cell, params, opts):
    """The cell's stacked weights: (W_h (G*H, H), W_x (G*H, D), b (G*H,), b_h or None)."""
    if cell == "rnn":
        return params["W_h"], params["W_x"], params["b"], None
    if cell == "lstm":
        return (*cells.lstm.stack_gates(params), None)
    return cells.gru.stack_gates(params, opts["form"])


def inputs(x, W_x, b):
    """xw (T, N, G*H): the input part of every step's pre-activations, in one matmul."""
    return sequence.project(x, W_x, b)


def run(cell, xw, state0, W, b_h, opts, rho=None):
    """The forward pass: a trace (dict of time-major arrays (T, ..., .)) for `back`.

    state0: (h0,) or (h0, c0), each (..., N, H). The Elman RNN runs through the sweep's
    overflow-safe forward (radii.states, which calls elman.recurrence), with W 2-d.
    rho (R, 1, 1), LSTM only: the recurrent weights are rho * W for one shared W (G*H, H),
    and since h_{t-1} enters the LSTM only through W_h h_{t-1} = W (rho h_{t-1}), the step
    gets rho h_{t-1} and W: one (R*N, H) @ (H, 4H) matmul per step instead of R small ones.
    """
    T = xw.shape[0]
    if cell == "rnn":
        act = activations.get(opts["activation"])
        hs = radii.states(W, np.ones(1), xw, act, state0[0])[:, 0]        # (T, N, H)
        return {"dfa": act.df_from_out(hs)}
    h = state0[0]
    shape = np.broadcast_shapes(h.shape, W.shape[:-2] + (1, 1))          # (..., N, H)
    if rho is not None:
        shape = np.broadcast_shapes(shape, rho.shape)
    H = shape[-1]
    if cell == "lstm":
        c = state0[1]
        ss = np.empty((T,) + shape[:-1] + (3 * H,), xw.dtype)
        gs, tcs, cps = (np.empty((T,) + shape, xw.dtype) for _ in range(3))
        for t in range(T):
            cps[t] = c
            h, c, (ss[t], gs[t], tcs[t]) = lstm_recurrence(xw[t], h if rho is None else rho * h,
                                                           c, W)
        return {"s": ss, "g": gs, "tc": tcs, "c_prev": cps}
    step, local, _ = cells.gru.STEPS[opts["form"]]
    hps, ns, ms = (np.empty((T,) + shape, xw.dtype) for _ in range(3))
    ss = np.empty((T,) + shape[:-1] + (2 * H,), xw.dtype)
    for t in range(T):
        hps[t] = h
        h, (ss[t], ns[t], ms[t]) = step(xw[t], h, W, b_h)
    # the GRU's step back reads only its local factors: for all steps at once
    return dict(zip(("K_x", "K_h", "P"), local(hps, (ss, ns, ms))))


def back(cell, trace, t, dstate, W, opts, rho=None):
    """One step back from step t: dstate (dh_t,) or (dh_t, dc_t) -> (dxw_t, dstate_prev).

    rho as in `run` (LSTM): dL/dh_{t-1} = rho (dz W), the chain rule through rho h_{t-1}.
    t is an int or a slice of steps (then every trace array is cut to it, and dstate must
    broadcast against the cut: the Jacobians of many steps in one call). For the LSTM,
    dc_t is the gradient arriving through C_{t+1} (the state's C part), as in lstm.carry.
    """
    if cell == "rnn":
        da, dh_prev = elman_carry(dstate[0], trace["dfa"][t], W)
        return da, (dh_prev,)
    if cell == "lstm":
        s = trace["s"][t]                          # _local per step: small arrays stay in cache
        A, B = cells.lstm.carry_factors(s, trace["g"][t], trace["tc"][t], trace["c_prev"][t])
        dz, dh_prev, dc_prev = lstm_carry(dstate[0], dstate[1], A, B, s[..., :A.shape[-1]], W)
        return dz, (dh_prev if rho is None else rho * dh_prev, dc_prev)
    step_back = cells.gru.STEPS[opts["form"]][2]
    da_x, _, dh_prev = step_back(dstate[0], (trace["K_x"][t], trace["K_h"][t], trace["P"][t]), W)
    return da_x, (dh_prev,)


def covector_step(cell, trace, W, opts, T, H, lead, rho=None):
    """The carrier's step (logspace.carry_back) for a gated cell: covectors v (M, S) with
    M = prod(lead) rows, S = [dL/dh; dL/dC] (or dL/dh), carried through step T - 1 - j by
    `back`. lead: the leading axes of the trace's states, (N,) or (R, N)."""
    def step(v, j, out):
        S = v.shape[-1]
        vv, oo = v.reshape(lead + (S,)), out.reshape(lead + (S,))
        parts = tuple(vv[..., i * H:(i + 1) * H] for i in range(S // H))
        _, prev = back(cell, trace, T - 1 - j, parts, W, opts, rho)
        for i, p in enumerate(prev):
            oo[..., i * H:(i + 1) * H] = p

    return step
