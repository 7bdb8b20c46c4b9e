"""The seeded networks the sweep runs, one per spectral radius rho, for every cell.

How rho scales the recurrent weights (the same rule for every cell):
  every recurrent block of the cell is rho * B_j, where B_j = matrices.base(family, H,
  seed, block=j) is a fixed seeded base with rho(B_j) = 1, one per block, in the cell's
  gate order; everything else (input weights, biases, inputs) stays fixed as rho moves.
    rnn           W_h = rho * B, with B = matrices.base(family, H, seed) (no block index, as
                  matrices.family(family, H, rho, seed) and every earlier sweep)
    lstm          the h-parts W_f[:, :H], W_i[:, :H], W_o[:, :H], W_C[:, :H] = rho * B_0..B_3
    gru sources   the h-parts W_u[:, :H], W_r[:, :H], W_c[:, :H] = rho * B_0..B_2
    gru cudnn     W_hr, W_hz, W_hn = rho * B_0..B_2
  So every block has spectral radius exactly rho, and rho = 0 cuts the recurrence (the
  gates then see x_t only). Sweep.scaled names the blocks, Sweep.block_sigma_max gives
  sigma_max of each.
The rest, seeded: x = input_scale * N(0, 1) (N, T, D); input weights N(0, 1/D) for every
block (the rows of one (G*H, D) draw, G blocks; for the Elman RNN exactly the W_x of earlier
sweeps); every bias = bias, except the LSTM's forget-gate bias b_f = forget_bias (default
1.0, as lstm.init_params) and the cuDNN GRU's recurrent-side biases b_h = 0; zero initial
state; dL/dh_T = u, a seeded unit vector (dL/dC_T = 0). D defaults to H.
"""
import functools

import numpy as np

from .. import cells
from ..nn import matrices
from ..validate import check_choice, check_int, check_positive
from . import traces
from .jacobians import start_vector
from .logspace import frozen

BLOCKS = {"rnn": 1, "lstm": 4, "gru": 3}


def _real(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not np.isfinite(value):
        raise ValueError(f"{name}: expected a finite real number, received {value!r}")
    return float(value)


def check_cell(cell, activation, form, forget_bias):
    """The cell and its options: returns (cell, opts, forget_bias); each option belongs to one cell."""
    check_choice("cell", cell, tuple(BLOCKS))
    given = {"activation": activation, "form": form, "forget_bias": forget_bias}
    owner = {"activation": "rnn", "form": "gru", "forget_bias": "lstm"}
    for key, value in given.items():
        if value is not None and owner[key] != cell:
            raise ValueError(f"{key}: only cell={owner[key]!r} takes it, received {key}={value!r} "
                             f"with cell={cell!r}")
    if cell == "rnn":
        opts = {"activation": "tanh" if activation is None else activation}
        check_choice("activation", opts["activation"], cells.elman.CHOICES["activation"])
        return cell, opts, None
    if cell == "gru":
        opts = {"form": cells.gru.OPTIONS["form"] if form is None else form}
        check_choice("form", opts["form"], cells.gru.CHOICES["form"])
        return cell, opts, None
    return cell, {}, _real("forget_bias", 1.0 if forget_bias is None else forget_bias)


def check_setup(H, T, N, D, input_scale, bias, family, seed, dtype):
    H = check_int("H", H, low=1)
    T = check_int("T", T, low=1)
    N = check_int("N", N, low=1)
    D = H if D is None else check_int("D", D, low=1)
    input_scale = check_positive("input_scale", input_scale, allow_zero=True)
    bias = _real("bias", bias)
    check_choice("family", family, matrices.KINDS)
    seed = check_int("seed", seed, low=0)
    if np.dtype(dtype) not in (np.float32, np.float64):
        raise TypeError(f"dtype: expected float32 or float64, received {np.dtype(dtype)}")
    return H, T, N, D, input_scale, bias, seed, np.dtype(dtype)


def scaled_blocks(cell, opts):
    """The names of the parameter blocks that rho scales, in gate order."""
    if cell == "rnn":
        return ("W_h",)
    if cell == "lstm":
        return tuple(f"W_{g}[:, :H]" for g in cells.lstm.GATES)
    gates = cells.gru.GATES[opts["form"]]
    if opts["form"] == "cudnn":
        return tuple(f"W_h{g}" for g in gates)
    return tuple(f"W_{g}[:, :H]" for g in gates)


def bases(cell, family, H, seed):
    """(B (G*H, H) the stacked rho = 1 blocks, eigenvalues (G, H), sigma_max (G,))."""
    if cell == "rnn":
        keys = [dict()]
    else:
        keys = [dict(block=j) for j in range(BLOCKS[cell])]
    B = np.concatenate([matrices.base(family, H, seed, **k) for k in keys])
    spectra = [matrices.base_spectrum(family, H, seed, **k) for k in keys]
    return B, np.stack([ev for ev, _ in spectra]), np.array([s for _, s in spectra])


def inputs(cell, opts, H, T, N, D, input_scale, bias, forget_bias, seed, dtype):
    """x (N, T, D), W_x (G*H, D), b (G*H,), b_h (3H,) or None, u (H,): seeded, as above."""
    G = BLOCKS[cell]
    W_x = np.random.default_rng([seed, 1]).standard_normal((G * H, D)) / np.sqrt(D)
    x = input_scale * np.random.default_rng([seed, 2]).standard_normal((N, T, D))
    b = np.full(G * H, bias)
    if cell == "lstm":
        b[cells.lstm.GATES.index("f") * H:][:H] = forget_bias
    b_h = np.zeros(3 * H, dtype) if cell == "gru" and opts["form"] == "cudnn" else None
    return (x.astype(dtype), W_x.astype(dtype), b.astype(dtype), b_h,
            start_vector(H, seed, dtype))


@functools.lru_cache(maxsize=16)
def cached_inputs(cell, form, H, T, N, D, input_scale, bias, forget_bias, seed, dtype):
    """(xw (T, N, G*H) = x W_x^T + b, b_h, u) of `inputs`, cached and read-only: the
    explorer redraws with the same network many times."""
    opts = {"form": form} if cell == "gru" else {}
    x, W_x, b, b_h, u = inputs(cell, opts, H, T, N, D, input_scale, bias, forget_bias, seed, dtype)
    return frozen(traces.inputs(x, W_x, b)), (None if b_h is None else frozen(b_h)), frozen(u)


def params_for(cell, opts, W_h, W_x, b, b_h):
    """The cell's parameter dict from stacked blocks W_h (G*H, H), W_x (G*H, D), b (G*H,)."""
    if cell == "rnn":
        return {"W_h": W_h, "W_x": W_x, "b": b}
    H = W_h.shape[1]
    gates = cells.lstm.GATES if cell == "lstm" else cells.gru.GATES[opts["form"]]
    params = {}
    for j, g in enumerate(gates):
        rows = slice(j * H, (j + 1) * H)
        if cell == "gru" and opts["form"] == "cudnn":
            params.update({f"W_i{g}": W_x[rows].copy(), f"W_h{g}": W_h[rows].copy(),
                           f"b_i{g}": b[rows].copy(), f"b_h{g}": b_h[rows].copy()})
        else:
            params.update({f"W_{g}": np.concatenate([W_h[rows], W_x[rows]], axis=1),
                           f"b_{g}": b[rows].copy()})
    return params


def sweep_setup(rho, H=64, T=200, family="orthogonal", input_scale=1.0, N=1, D=None,
                bias=0.0, seed=0, dtype=np.float64, *, cell="rnn", activation=None, form=None,
                forget_bias=None):
    """The network of one row of `sweep` (same arguments): returns (x, state0, params, u).

    params in the cell's own layout, with every recurrent block rho * B_j (module
    docstring); state0 zeros; u the unit dL/dh_T. So gradient_norms(cell, x, state0,
    params, u, **opts) reproduces a sweep row (opts: activation for rnn, form for gru).
    activation is accepted and checked here only so that one keyword set serves both.
    """
    cell, opts, forget_bias = check_cell(cell, activation, form, forget_bias)
    rho = matrices.check_rhos("rho", rho)
    if rho.size != 1:
        raise ValueError(f"rho: expected one spectral radius, received {rho.size}")
    H, T, N, D, input_scale, bias, seed, dtype = check_setup(H, T, N, D, input_scale, bias,
                                                             family, seed, dtype)
    x, W_x, b, b_h, u = inputs(cell, opts, H, T, N, D, input_scale, bias, forget_bias, seed, dtype)
    B = bases(cell, family, H, seed)[0]
    params = params_for(cell, opts, (rho[0] * B).astype(dtype), W_x, b, b_h)
    state0 = {k: np.zeros((N, H), dtype) for k in cells.get(cell).STATE_KEYS}
    return x, state0, params, u
