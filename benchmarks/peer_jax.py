"""JAX peer: the Elman tanh RNN, the LSTM and the GRU (reset-after, torch's form) as a
lax.scan over time under jax.jit, with jax.value_and_grad of loss = 0.5 * sum(h**2)
with respect to the weights, the input and the initial state.

Written as a JAX user would: the input projection for all steps is one matmul before the
scan, and the fused recurrent matrix (torch's layout, common.fused_weights) is one
matmul per step. Timed compiled (median after warm-up) and on the first call, which
includes tracing and compilation. Run by bench_cells.py as a worker process
(`peer_jax.py --serve`); run alone it prints the float64 cross-check against rnn_core.
jax is optional: without it the worker reports itself unavailable.
"""
import os
import sys
import time

import numpy as np

import common

try:
    import jax
    jax.config.update("jax_enable_x64", True)   # float64 cases really run in float64
    import jax.numpy as jnp
    from jax import lax
except ImportError:                              # the benchmark prints a note and skips it
    jax = None

_cases = {}


def loss_fn(cell):
    """loss(w, x, s0) for one cell; w in the fused layout, x (N, T, D), s0 a tuple of (N, H)."""
    def loss(w, x, s0):
        b = w["b_ih"] if cell == "gru" else w["b_ih"] + w["b_hh"]     # gru keeps b_hh inside r*()
        a = jnp.einsum("ntd,gd->tng", x, w["w_ih"]) + b                # (T, N, G*H), one matmul
        w_hhT = w["w_hh"].T

        def rnn(s, a_t):
            h = jnp.tanh(a_t + s[0] @ w_hhT)
            return (h,), h

        def lstm(s, a_t):
            h, c = s
            i, f, g, o = jnp.split(a_t + h @ w_hhT, 4, axis=-1)
            c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
            h = jax.nn.sigmoid(o) * jnp.tanh(c)
            return (h, c), h

        def gru(s, a_t):
            h = s[0]
            a_r, a_z, a_n = jnp.split(a_t, 3, axis=-1)
            h_r, h_z, h_n = jnp.split(h @ w_hhT + w["b_hh"], 3, axis=-1)
            r, z = jax.nn.sigmoid(a_r + h_r), jax.nn.sigmoid(a_z + h_z)
            h = (1 - z) * jnp.tanh(a_n + r * h_n) + z * h
            return (h,), h

        _, hs = lax.scan({"rnn": rnn, "lstm": lstm, "gru": gru}[cell], tuple(s0), a)
        return 0.5 * jnp.sum(hs * hs)
    return loss


def make(cell, x, state0, fused):
    """A fresh jitted value_and_grad and its arguments (a new jit object compiles anew)."""
    f = jax.jit(jax.value_and_grad(loss_fn(cell), argnums=(0, 1, 2)))
    args = ({k: jnp.asarray(v) for k, v in fused.items()}, jnp.asarray(x),
            tuple(jnp.asarray(state0[k]) for k in ("h", "c") if k in state0))
    return f, args


def grads(cell, x, state0, fused):
    f, args = make(cell, x, state0, fused)
    loss, (gw, gx, gs) = f(*args)
    g = {**{k: np.asarray(v) for k, v in gw.items()}, "x": np.asarray(gx), "h0": np.asarray(gs[0])}
    if cell == "lstm":
        g["c0"] = np.asarray(gs[1])
    return float(loss), g


# ---------------------------------------------------------------- worker commands
def info():
    if jax is None:
        return {"available": False, "note": "jax is not installed: JAX peer skipped"}
    import jaxlib
    return {"available": True, "version": jax.__version__,
            "jaxlib": getattr(jaxlib, "__version__", "?"),
            "devices": [str(d) for d in jax.devices()],
            "threads": f"XLA CPU intra-op pool, default = all {os.cpu_count()} cores",
            "xla_flags": os.environ.get("XLA_FLAGS", "")}


def setup(key, cell, size, dtype):
    _, _, x, state0, params = common.make_case(cell, size, np.dtype(dtype))
    f, args = make(cell, x, state0, common.fused_weights(cell, params))
    t0 = time.perf_counter()
    jax.block_until_ready(f(*args))        # first call: trace + compile + run
    first = time.perf_counter() - t0
    run = lambda: jax.block_until_ready(f(*args))                          # noqa: E731
    run()                                  # warm-up
    _cases[key] = (run, common.calibrate(run))
    return {"inner": _cases[key][1], "first_call": first}


def time_case(key, rounds=1, warmup=True):
    """`rounds` timing samples of case `key` after one untimed call (if warmup)."""
    run, inner = _cases[key]
    if warmup:
        run()
    return {"times": [common.sample(run, inner) for _ in range(rounds)]}


def crosscheck():
    """W1-small only: each shape compiles anew (seconds), and torch checks W1 as well."""
    t0 = time.perf_counter()
    rows = common.crosscheck_against(grads, sizes=("W1-small",))
    return {"rows": rows, "seconds": time.perf_counter() - t0}


HANDLERS = {"info": info, "setup": setup, "time": time_case, "crosscheck": crosscheck}

if __name__ == "__main__":
    if "--serve" in sys.argv:
        common.serve(HANDLERS)
    elif jax is None:
        print(info()["note"])
    else:
        for r in crosscheck()["rows"]:
            print(f"{r['cell']:5s} {r['size']:9s} loss rel err {r['loss_err']:.1e}  "
                  f"worst grad rel err {r['grad_err']:.1e} ({r['worst']})")
