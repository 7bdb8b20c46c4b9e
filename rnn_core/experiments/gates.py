"""The LSTM's and the GRUs' gradient flow and where memory lives (notebook 05); learning
across a lag is in success_rates.

Conventions as in `gradflow`: log10 norms indexed by lag l = T - k for a loss at the last
step T; the networks are those of gradflow.networks (every recurrent block rho * B_j for a
seeded base B_j with rho(B_j) = 1, inputs x = input_scale * N(0, 1), input weights
N(0, 1/D), zero biases except the LSTM's forget bias); every function takes `seed`.
Shapes batch-first: x (N, T, D), h (N, T, H). GRU parameters of the sources' form carry
the keys W_u, W_r, W_c (H, H + D) and b_u, b_r, b_c (H,), as cells.gru.
"""
import functools

import numpy as np

from .. import cells, gradflow
from ..nn.activations import sigmoid
from ..validate import check_choice, check_int, check_positive, check_sequence

# ----------------------------------------------------------------------------------------
# The cell explorer
# ----------------------------------------------------------------------------------------

# The explorer's cells: name -> (cell, options of gradflow.sweeps.sweep).
EXPLORER_CELLS = {"rnn (tanh)": ("rnn", {}), "lstm": ("lstm", {}),
                  "gru (sources)": ("gru", {"form": "sources"}),
                  "gru (cudnn)": ("gru", {"form": "cudnn"})}
# The first picture: the LSTM with its forget gate biased open (sigmoid(3) = 0.95) next to
# the tanh RNN, both at rho = 1 with inputs of scale 1. H = 32 and 11 values of rho keep a
# redraw within notebook 03's latency targets (benchmarks/bench_widgets.py).
DEFAULTS = dict(cell="lstm", T=200, rho=1.0, forget_bias=3.0, input_scale=1.0, H=32, seed=0)
EXPLORER_RHOS = np.round(np.linspace(0.0, 2.0, 11), 12)          # the explorer's rho grid


@functools.lru_cache(maxsize=32)
def _cell_sweep(cell, form, forget_bias, T, input_scale, H, seed):
    """gradflow.sweeps.sweep over EXPLORER_RHOS for one cell, cached (a Sweep is read-only)."""
    kw = {"form": form} if cell == "gru" else {}
    if cell == "lstm":
        kw["forget_bias"] = forget_bias
    return gradflow.sweeps.sweep(EXPLORER_RHOS, H=H, T=T, input_scale=input_scale, seed=seed,
                                 cell=cell, **kw)


def explorer_data(cell=DEFAULTS["cell"], T=DEFAULTS["T"], rho=DEFAULTS["rho"],
                  forget_bias=DEFAULTS["forget_bias"], input_scale=DEFAULTS["input_scale"],
                  H=DEFAULTS["H"], seed=DEFAULTS["seed"]):
    """What the cell explorer shows for these settings.

    cell: a key of EXPLORER_CELLS; rho must lie on EXPLORER_RHOS (the slider's grid);
    forget_bias is used by the LSTM only. Returns a dict: "sweep", the cell's gradflow.sweeps.Sweep
    over EXPLORER_RHOS; "reference", the tanh RNN's Sweep with the same T, input scale, H
    and seed (None when the cell is the tanh RNN); "rho_index", the row of rho; and the
    settings themselves.
    """
    check_choice("cell", cell, tuple(EXPLORER_CELLS))
    T = check_int("T", T, low=1)
    k = np.flatnonzero(np.isclose(EXPLORER_RHOS, rho, rtol=0, atol=1e-9))
    if k.size != 1:
        raise ValueError(f"rho: expected one of {list(EXPLORER_RHOS)}, received {rho!r}")
    input_scale = check_positive("input_scale", input_scale, allow_zero=True)
    name, opts = EXPLORER_CELLS[cell]
    fb = float(forget_bias)
    if not np.isfinite(fb):
        raise ValueError(f"forget_bias: expected a finite number, received {forget_bias!r}")
    sweep = _cell_sweep(name, opts.get("form"), fb if name == "lstm" else None, T,
                        float(input_scale), H, seed)
    ref = None if name == "rnn" else _cell_sweep("rnn", None, None, T, float(input_scale), H, seed)
    return dict(sweep=sweep, reference=ref, rho_index=int(k[0]), cell=cell, T=T,
                rho=float(EXPLORER_RHOS[k[0]]), forget_bias=fb, input_scale=float(input_scale))


# ----------------------------------------------------------------------------------------
# The LSTM: the carousel, the 1997 cell, the forget bias
# ----------------------------------------------------------------------------------------

# A bias of 40 with zero weights makes float64's sigmoid exactly 1 (from 37 up): the gate
# of Hochreiter & Schmidhuber's 1997 cell, which had none.
OPEN_BIAS = 40.0


def without_forget_gate(params):
    """LSTM params with the forget gate removed, as in the 1997 cell: f_t = 1 exactly
    (W_f = 0, b_f = OPEN_BIAS). A new dict; the other arrays are copied."""
    out = {k: v.copy() for k, v in params.items()}
    out["W_f"][:] = 0.0
    out["b_f"][:] = OPEN_BIAS
    return out


def lstm_gates(x_t, state, params):
    """The LSTM's gates at one step, from the equations: {"f", "i", "o", "C~"}, each (N, H).
    x_t (N, D), state {"h", "c": (N, H)}."""
    hx = np.concatenate([state["h"], x_t], axis=1)              # [h_{t-1}; x_t] (N, H + D)
    gate = lambda g: hx @ params["W_" + g].T + params["b_" + g]
    return {"f": sigmoid(gate("f")), "i": sigmoid(gate("i")), "o": sigmoid(gate("o")),
            "C~": np.tanh(gate("C"))}


def carousel_jacobian(H=4, D=3, N=2, forget_bias=1.0, seed=0):
    """One LSTM step's measured Jacobian d[h_t; C_t]/d[h_{t-1}; C_{t-1}] and its blocks.

    A seeded LSTM (cells.lstm.init_params), a random state and input. Returns a dict: "J"
    (N, 2H, 2H) from gradflow.jacobians.jacobian_step; "CC" = J[:, H:, H:], dC_t/dC_{t-1};
    "f" (N, H) the forget gate; "gap" = max |CC - diag(f)|; "hC" = J[:, :H, H:],
    dh_t/dC_{t-1}, and "hC_diag" (N, H) = o_t tanh'(C_t) f_t, its value from the equations
    (C_{t-1} reaches h_t only through C_t), with "hC_gap" = max |hC - diag(hC_diag)|; the
    spectral norms "norm_hh", "norm_hC", "norm_Ch" (N,) of dh_t/dh_{t-1}, dh_t/dC_{t-1}
    and dC_t/dh_{t-1}; and "offdiag_hh", "offdiag_Ch" (N,): the largest off-diagonal
    entry of the two blocks out of h_{t-1}, through which every W enters.
    """
    params = cells.lstm.init_params(D, H, seed=seed, forget_bias=forget_bias)
    rng = np.random.default_rng([seed, 5])
    state = {"h": np.tanh(rng.standard_normal((N, H))), "c": rng.standard_normal((N, H))}
    x_t = rng.standard_normal((N, D))
    J = gradflow.jacobians.jacobian_step("lstm", x_t, state, params)                 # (N, 2H, 2H)
    gates = lstm_gates(x_t, state, params)
    f = gates["f"]
    C_t = f * state["c"] + gates["i"] * gates["C~"]                                 # (N, H)
    hC_diag = gates["o"] * (1.0 - np.tanh(C_t) ** 2) * f
    blocks = dict(hh=J[:, :H, :H], hC=J[:, :H, H:], Ch=J[:, H:, :H], CC=J[:, H:, H:])
    idx = np.arange(H)

    def diag_gap(A, d):
        full = np.zeros_like(A)
        full[:, idx, idx] = d
        return float(np.abs(A - full).max())

    def offdiag(A):
        B = np.abs(A).copy()
        B[:, idx, idx] = 0.0
        return B.max(axis=(1, 2))

    norm = lambda A: np.linalg.norm(A, ord=2, axis=(1, 2))
    return dict(J=J, CC=blocks["CC"], f=f, gap=diag_gap(blocks["CC"], f), H=H,
                hC=blocks["hC"], hC_diag=hC_diag, hC_gap=diag_gap(blocks["hC"], hC_diag),
                norm_hh=norm(blocks["hh"]), norm_hC=norm(blocks["hC"]), norm_Ch=norm(blocks["Ch"]),
                offdiag_hh=offdiag(blocks["hh"]), offdiag_Ch=offdiag(blocks["Ch"]))


FORGET_BIASES = (0.0, 1.0, 3.0, 5.0)


def forget_bias_curves(biases=FORGET_BIASES, rho=1.0, T=200, H=32, N=4, input_scale=1.0,
                       seed=0, with_1997=True):
    """The LSTM's gradient through C against lag, and its cell state, for each forget bias.

    For each bias (and, with_1997, the cell without a forget gate, f = 1): the network of
    gradflow.networks.sweep_setup(rho, cell="lstm", forget_bias=b) over N sequences. Returns a list
    of dicts, one per variant: "label", "forget_bias" (None for 1997), "lags",
    "log10_c" and "log10_h" (T+1,): log10 ||dL/dC_{T-l}|| and ||dL/dh_{T-l}|| averaged (as
    logs) over the sequences; "mean_f" the mean forget gate; "log10_f" the mean of log10
    f_t (the direct path's slope in decades per step); "slope_c" the fitted slope of
    log10_c over lags [T/4, T]; "abs_c" (T,) the mean |C_t| over units and sequences;
    "saturated" (T,) the fraction of units with |tanh C_t| > 0.99.
    """
    out = []
    variants = [(float(b), f"forget bias {b:g}") for b in biases]
    if with_1997:
        variants.append((None, "no forget gate (1997)"))
    for b, label in variants:
        x, state0, params, u = gradflow.networks.sweep_setup(
            rho, H=H, T=T, N=N, input_scale=input_scale, seed=seed, cell="lstm",
            forget_bias=1.0 if b is None else b)
        if b is None:
            params = without_forget_gate(params)
        g = gradflow.jacobians.gradient_norms("lstm", x, state0, params, u)
        fs, cs = _lstm_trajectory(x, state0, params)
        lags = np.asarray(g.lags)
        fit = lags >= T // 4
        log_c = np.asarray(g.log10_norm_c).mean(axis=0)
        log_c[0] = np.nan                                   # dL/dC_T = 0: no gradient there yet
        slope = np.polyfit(lags[fit], log_c[fit], 1)[0] if fit.sum() >= 2 and T >= 4 else np.nan
        out.append(dict(label=label, forget_bias=b, lags=lags, log10_c=log_c,
                        log10_h=np.asarray(g.log10_norm_h).mean(axis=0),
                        mean_f=float(fs.mean()), log10_f=float(np.log10(fs).mean()),
                        slope_c=float(slope), abs_c=np.abs(cs).mean(axis=(0, 2)),
                        saturated=(np.abs(np.tanh(cs)) > 0.99).mean(axis=(0, 2)),
                        rho=float(rho), T=T, H=H, input_scale=float(input_scale)))
    return out


def _lstm_trajectory(x, state0, params):
    """Forget gates and cell states of a whole sequence: (f (N, T, H), C (N, T, H))."""
    state = {k: v.copy() for k, v in state0.items()}
    fs, cs = [], []
    for t in range(x.shape[1]):
        fs.append(lstm_gates(x[:, t], state, params)["f"])
        state, _ = cells.lstm.step_forward(x[:, t], state, params)
        cs.append(state["c"])
    return np.stack(fs, axis=1), np.stack(cs, axis=1)


# ----------------------------------------------------------------------------------------
# The GRU in two forms, and the sources' two slips
# ----------------------------------------------------------------------------------------

def cudnn_from_sources(params):
    """cuDNN-form GRU params that compute the sources' GRU wherever its reset gate is 1.

    The update gate is mirrored (z = 1 - u, since sigmoid(-a) = 1 - sigmoid(a): W_hz,
    W_iz, b_iz = -W_u's h-part, -W_u's x-part, -b_u); the reset gate and the candidate
    keep their weights, split into h- and x-parts; the recurrent-side biases are 0.
    params: the sources' form {W_u, W_r, W_c (H, H + D), b_u, b_r, b_c (H,)}.
    """
    H = params["b_u"].shape[0]
    out = {}
    for src, dst, sign in (("u", "z", -1.0), ("r", "r", 1.0), ("c", "n", 1.0)):
        W = params["W_" + src]
        out["W_h" + dst] = sign * W[:, :H]
        out["W_i" + dst] = sign * W[:, H:]
        out["b_i" + dst] = sign * params["b_" + src]
        out["b_h" + dst] = np.zeros(H, W.dtype)
    return {k: np.ascontiguousarray(v) for k, v in out.items()}


def relabel_update(params):
    """Sources'-form GRU params with the update gate relabelled u -> 1 - u: W_u and b_u
    negated (sigmoid(-a) = 1 - sigmoid(a)). A new dict of copies."""
    out = {k: v.copy() for k, v in params.items()}
    out["W_u"], out["b_u"] = -params["W_u"], -params["b_u"]
    return out


INTERPOLATIONS = ("sources", "cho")
CANDIDATES = ("tanh", "sigmoid")


def gru_variant(x, params, interpolation="sources", candidate="tanh", h0=None):
    """The sources' GRU, or one of its two slips, written out step by step (a reference).

        u_t = sigmoid(W_u [h_{t-1}; x_t] + b_u),  r_t = sigmoid(W_r [h_{t-1}; x_t] + b_r)
        h~_t = g(W_c [r_t * h_{t-1}; x_t] + b_c)      g = tanh, or the sigmoid of eq 2.9
        h_t = (1 - u_t) h_{t-1} + u_t h~_t            interpolation "sources"
        h_t = u_t h_{t-1} + (1 - u_t) h~_t            interpolation "cho" (Cho et al. 2014)

    x (N, T, D), params of the sources' form, h0 (N, H) or zeros. Returns h (N, T, H).
    With "sources" and "tanh" it is cells.gru.forward(form="sources").
    """
    check_choice("interpolation", interpolation, INTERPOLATIONS)
    check_choice("candidate", candidate, CANDIDATES)
    N, T, D = check_sequence("x", x)
    H = params["b_u"].shape[0]
    g = np.tanh if candidate == "tanh" else sigmoid
    h = np.zeros((N, H), x.dtype) if h0 is None else np.array(h0, dtype=x.dtype)
    out = np.empty((N, T, H), x.dtype)
    for t in range(T):
        hx = np.concatenate([h, x[:, t]], axis=1)
        u = sigmoid(hx @ params["W_u"].T + params["b_u"])
        r = sigmoid(hx @ params["W_r"].T + params["b_r"])
        n = g(np.concatenate([r * h, x[:, t]], axis=1) @ params["W_c"].T + params["b_c"])
        h = (1 - u) * h + u * n if interpolation == "sources" else u * h + (1 - u) * n
        out[:, t] = h
    return out


def gru_setup(H=8, D=4, N=16, T=50, bias_scale=0.5, input_scale=1.0, seed=0):
    """A seeded sources'-form GRU with nonzero biases, and inputs: (x (N, T, D), params)."""
    params = cells.gru.init_params(D, H, seed=seed, form="sources")
    rng = np.random.default_rng([seed, 7])
    for g in "urc":
        params["b_" + g] = bias_scale * rng.standard_normal(H)
    x = input_scale * rng.standard_normal((N, T, D))
    return x, params


RESET_SHIFTS = (-3.0, -1.0, 0.0, 1.0, 3.0, 6.0, OPEN_BIAS)


def _reset_gates(x, h, params):
    """The sources' reset gate along a run: r_t from h_{t-1} (h0 = 0) and x_t, (N, T, H)."""
    h_prev = np.concatenate([np.zeros_like(h[:, :1]), h[:, :-1]], axis=1)
    return sigmoid(np.concatenate([h_prev, x], axis=2) @ params["W_r"].T + params["b_r"])


def gru_form_gap(shifts=RESET_SHIFTS, H=8, D=4, N=16, T=50, seed=0):
    """How far apart the two GRU forms are on the same weights, as the reset gate opens.

    The sources' GRU of gru_setup, its reset bias shifted by each value in `shifts` (the
    seeded W_r kept, so r varies across units and steps; OPEN_BIAS saturates it to exactly
    1), against the cuDNN GRU with cudnn_from_sources of the same params. A last row
    "uniform" sets W_r = 0, b_r = 0: r = 1/2 for every unit. Returns a list of dicts:
    "shift", "r_mean", "r_min" of the sources' run, "max_gap" = max |h_sources - h_cudnn|
    over all steps and "rel_gap" = max_gap / max |h_sources|.
    """
    x, params = gru_setup(H, D, N, T, seed=seed)
    rows = []
    for shift in tuple(shifts) + ("uniform",):
        p = {k: v.copy() for k, v in params.items()}
        if shift == "uniform":
            p["W_r"][:], p["b_r"][:] = 0.0, 0.0
        else:
            p["b_r"] += shift
        hs = cells.gru.forward(x, None, p, form="sources")[0]
        hc = cells.gru.forward(x, None, cudnn_from_sources(p), form="cudnn")[0]
        r = _reset_gates(x, hs, p)
        gap = float(np.abs(hs - hc).max())
        rows.append(dict(shift=shift if shift == "uniform" else float(shift),
                         r_mean=float(r.mean()), r_min=float(r.min()), max_gap=gap,
                         rel_gap=gap / float(np.abs(hs).max())))
    return rows


def cho_swap(H=8, D=4, N=16, T=50, seed=0):
    """Cho et al.'s interpolation h_t = u h_{t-1} + (1 - u) h~ against the sources' form.

    On gru_setup's GRU: "gap_same_weights" = max |cho(params) - sources(params)|, and
    "gap_relabelled" = max |cho(relabel_update(params)) - sources(params)|; "scale" =
    max |h| of the sources' run. Also "gap_cell" = max |gru_variant - cells.gru.forward|
    for the sources' form (the reference matches the cell).
    """
    x, params = gru_setup(H, D, N, T, seed=seed)
    h = cells.gru.forward(x, None, params, form="sources")[0]
    return dict(gap_same_weights=float(np.abs(gru_variant(x, params, "cho") - h).max()),
                gap_relabelled=float(np.abs(gru_variant(x, relabel_update(params), "cho") - h).max()),
                gap_cell=float(np.abs(gru_variant(x, params) - h).max()),
                scale=float(np.abs(h).max()))


def sigmoid_candidate(T=400, H=8, D=4, N=32, seed=0):
    """The thesis's eq 2.9 (sigmoid candidate) against tanh, on gru_setup's GRU and inputs.

    Returns a dict per candidate ("tanh", "sigmoid"): "min", "max" of every state, "neg"
    the fraction of negative entries, "mean_t" (T,) the mean state per step, "lo_t", "hi_t"
    (T,) the 5th and 95th percentiles per step, "candidate_range" (min, max) of h~ itself.
    """
    x, params = gru_setup(H, D, N, T, seed=seed)
    out = {}
    for g in CANDIDATES:
        h = gru_variant(x, params, candidate=g)
        h_prev = np.concatenate([np.zeros((N, 1, H)), h[:, :-1]], axis=1)
        hx = np.concatenate([h_prev, x], axis=2)
        r = sigmoid(hx @ params["W_r"].T + params["b_r"])
        a = np.concatenate([r * h_prev, x], axis=2) @ params["W_c"].T + params["b_c"]
        cand = np.tanh(a) if g == "tanh" else sigmoid(a)
        flat = h.transpose(1, 0, 2).reshape(T, -1)
        out[g] = dict(min=float(h.min()), max=float(h.max()), neg=float((h < 0).mean()),
                      mean_t=flat.mean(axis=1), lo_t=np.percentile(flat, 5, axis=1),
                      hi_t=np.percentile(flat, 95, axis=1),
                      candidate_range=(float(cand.min()), float(cand.max())), T=T)
    return out


# ----------------------------------------------------------------------------------------
# Where memory lives: the connectivity heat map
# ----------------------------------------------------------------------------------------

CONNECTIVITY_ROWS = (("tanh RNN", "rnn", {}), ("LSTM, forget bias 1", "lstm", {"forget_bias": 1.0}),
                     ("LSTM, forget bias 3", "lstm", {"forget_bias": 3.0}),
                     ("GRU (sources)", "gru", {"form": "sources"}),
                     ("GRU (cudnn)", "gru", {"form": "cudnn"}))


def connectivity_map(rows=CONNECTIVITY_ROWS, T=100, H=32, rho=1.0, input_scale=1.0, seed=0):
    """log10 ||dh_T / dx_t||_F for every input step t, one row per cell (untrained).

    Every row is the seeded network of gradflow.networks.sweep_setup(rho, H, T, input_scale, seed,
    cell=...): the same construction (recurrent blocks rho * B_j, N(0, 1/D) input
    weights, the same input sequence x with D = H), one sequence. Returns a dict: "labels",
    "log10" (rows, T) from gradflow.jacobians.connectivity, "t" (T,) the input steps, and the
    settings.
    """
    out = []
    for label, cell, kw in rows:
        x, state0, params, _ = gradflow.networks.sweep_setup(rho, H=H, T=T, input_scale=input_scale,
                                                             seed=seed, cell=cell, **kw)
        opts = {"form": kw["form"]} if cell == "gru" else {}
        out.append(gradflow.jacobians.connectivity(cell, x, state0, params, **opts)[0])
    return dict(labels=[r[0] for r in rows], log10=np.array(out), t=np.arange(T), T=T, H=H,
                rho=float(rho), input_scale=float(input_scale), seed=seed)
