"""Benchmark of gradflow's sweep and gradient_norms, the numbers behind the explorers.

Claims it checks:
  - the Elman headline sweep (41 values of rho in [0.5, 1.5], H = 64, T = 200, tanh,
    float64, N = 1) against the same computation in JAX (lax.scan forward and backward,
    batched over rho, jit-compiled, run in this process on one thread), as our / JAX
    from interleaved rounds of one run; target: our median <= 10 ms;
  - the same sweep for the LSTM (against JAX: lax.scan forward, jax.vjp of one step
    backward) and both GRU forms (no peer): the time it adds to an explorer's redraw;
  - gradient_norms for the LSTM at T = 5000, H = 4: target < 0.2 s (issue 8);
  - with --plain-fast: the Elman sweep's fast forward (gradflow.radii_fast) against the
    plain one (the cell's own step, radii.states), alone and in the whole forward and
    backward (radii.sweep_logs, fast=True against fast=False), as process CPU time at one
    BLAS thread, interleaved rounds; printed as the CPU is and again, in a subprocess, with
    NPY_DISABLE_CPU_FEATURES switching AVX-512 off. The fast form stays only if it wins.
Prints markdown with `uptime` under every table; JAX is skipped, with the reason, if it
cannot be imported. Run: python3 benchmarks/bench_sweep.py [--rounds 20] [--plain-fast]
"""
import argparse
import os
import subprocess
import sys
import time

# JAX on one thread, like numpy's small matmuls here; set before jax is imported.
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")

import numpy as np  # noqa: E402

import common  # noqa: E402  (benchmarks/common.py; puts the checkout on sys.path)
from rnn_core import gradflow  # noqa: E402
from rnn_core.nn import matrices
from rnn_core.cells import lstm  # noqa: E402

HEADLINE = dict(H=64, T=200, family="orthogonal", input_scale=1.0, N=1, seed=0)
RHOS = np.linspace(0.5, 1.5, 41)
TARGET_SWEEP = 0.010
TARGET_LSTM_NORMS = 0.2


def ours(**kw):
    return lambda: gradflow.sweeps.sweep(RHOS, **HEADLINE, **kw).log10_norm


def make_jax():
    """The headline Elman sweep in JAX: the same network (sweep_setup's inputs), the same
    maths (W_h = rho B, tanh, covector renormalised every step); returns (version, run)."""
    import jax
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    from jax import lax

    H = HEADLINE["H"]
    x, _, params, u = gradflow.networks.sweep_setup(1.0, **HEADLINE)
    B = jnp.asarray(matrices.base(HEADLINE["family"], H, HEADLINE["seed"]))
    xw = jnp.asarray((x[0] @ params["W_x"].T + params["b"])[:, None])     # (T, 1, H)
    r = jnp.asarray(RHOS)[:, None, None]

    @jax.jit
    def run(B, xw, u):
        def forward(h, xw_t):
            h = jnp.tanh(r * (h @ B.T) + xw_t)
            return h, h
        _, hs = lax.scan(forward, jnp.zeros((RHOS.size, 1, H)), xw)
        d = r * (1.0 - hs * hs)

        def backward(v, d_t):
            v = (v * d_t) @ B
            n = jnp.linalg.norm(v, axis=-1)
            return v / n[..., None], jnp.log10(n)
        _, steps = lax.scan(backward, jnp.broadcast_to(u, (RHOS.size, 1, H)), d[::-1])
        return jnp.concatenate([jnp.zeros((1, RHOS.size)), jnp.cumsum(steps[..., 0], axis=0)]).T

    args = (B, xw, jnp.asarray(u))
    run(*args).block_until_ready()                # compile
    return jax.__version__, lambda: np.asarray(run(*args).block_until_ready())


def make_jax_lstm():
    """The headline LSTM sweep in JAX: sweep_setup's network (every recurrent block rho B_j,
    forget bias 1), lax.scan forward, and a backward scan of jax.vjp of one step applied to
    the covector [dL/dh; dL/dC], renormalised every step. Returns run() -> log10 norms (R, T+1)."""
    import jax
    import jax.numpy as jnp
    from jax import lax

    H = HEADLINE["H"]
    x, _, params, u = gradflow.networks.sweep_setup(1.0, **HEADLINE, cell="lstm")
    W_h, W_x, b, _ = gradflow.traces.weights("lstm", params, {})   # W_h = B (rho = 1)
    xw = jnp.asarray((x[0] @ W_x.T + b)[:, None])                   # (T, 1, 4H)
    W = jnp.asarray(RHOS)[:, None, None] * jnp.asarray(W_h)         # (R, 4H, H)

    def step(state, xw_t):
        h, c = state
        z = xw_t + h @ jnp.swapaxes(W, -1, -2)
        f, i, o = (jax.nn.sigmoid(z[..., k * H:(k + 1) * H]) for k in range(3))
        c = f * c + i * jnp.tanh(z[..., 3 * H:])
        return (o * jnp.tanh(c), c)

    @jax.jit
    def run(xw, u):
        zero = jnp.zeros((RHOS.size, 1, H))
        _, states = lax.scan(lambda s, x: (step(s, x), s), (zero, zero), xw)   # states before each step

        def backward(v, inp):
            (h, c), xw_t = inp
            _, vjp = jax.vjp(lambda s: step(s, xw_t), (h, c))
            dh, dc = vjp(v)[0]
            n = jnp.sqrt(jnp.sum(dh * dh, -1) + jnp.sum(dc * dc, -1))
            return (dh / n[..., None], dc / n[..., None]), jnp.log10(n)
        v0 = (jnp.broadcast_to(u, (RHOS.size, 1, H)), zero)
        rev = jax.tree_util.tree_map(lambda a: a[::-1], (states, xw))
        _, steps = lax.scan(backward, v0, rev)
        return jnp.concatenate([jnp.zeros((1, RHOS.size)), jnp.cumsum(steps[..., 0], axis=0)]).T

    args = (xw, jnp.asarray(u))
    run(*args).block_until_ready()
    return lambda: np.asarray(run(*args).block_until_ready())


def lstm_norms():
    x = np.random.default_rng(0).standard_normal((1, 5000, 4))
    params = lstm.init_params(4, 4)
    return lambda: gradflow.jacobians.gradient_norms("lstm", x, None, params)


def take(fn):
    return lambda: (fn(), common.sample(fn, 1))[1]


NO_AVX512 = "AVX512_SPR AVX512_ICL X86_V4"


def cpu_take(fn):
    """One untimed call, then the process CPU time of one call (time.process_time)."""
    def run():
        fn()
        t0 = time.process_time()
        fn()
        return time.process_time() - t0
    return run


def plain_vs_fast(rounds):
    """The sweep's forward and whole pass, fast form against plain, as markdown."""
    from rnn_core.gradflow import networks, radii
    from rnn_core.nn import activations
    rows = []
    for act in ("tanh", "sigmoid"):
        a = activations.get(act)
        for T in (200, 1000):
            H = HEADLINE["H"]
            rhos = np.linspace(0.5, max(1.5, 1.5 / a.gamma), 41)        # the explorer's rhos
            xw, _, u = networks.cached_inputs("rnn", None, H, T, 1, H, 0.01, 0.0, None, 0,
                                              np.dtype(np.float64))
            B = matrices.base("orthogonal", H, 0)
            cases = {"forward plain": lambda: radii.derivatives(B, rhos, xw, a, fast=False),
                     "forward fast": lambda: radii.derivatives(B, rhos, xw, a),
                     "sweep plain": lambda: radii.sweep_logs(B, rhos, xw, a, u, fast=False),
                     "sweep fast": lambda: radii.sweep_logs(B, rhos, xw, a, u)}
            t = common.interleaved({k: cpu_take(f) for k, f in cases.items()}, rounds, settle=0.02)
            for what in ("forward", "sweep"):
                p, f = t[f"{what} plain"], t[f"{what} fast"]
                rows.append((act, T, what, f"{common.ms(common.median(p))} ({common.ms(common.iqr(p))})",
                             f"{common.ms(common.median(f))} ({common.ms(common.iqr(f))})",
                             f"{common.median(p) / common.median(f):.2f}"))
    head = ("activation", "T", "part", "plain ms (IQR)", "fast ms (IQR)", "plain / fast")
    return common.md_table(head, rows)


def main_plain_fast(rounds):
    disabled = os.environ.get("NPY_DISABLE_CPU_FEATURES")
    print(f"## The sweep's forward: plain and fast ({'NPY_DISABLE_CPU_FEATURES=' + repr(disabled) if disabled else 'the CPU as it is'})\n")
    print(f"41 rho (the explorer's), H = 64, N = 1, input scale 0.01, float64; process CPU "
          f"seconds (time.process_time), median of {rounds} interleaved rounds, "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}.\n")
    print(f"{common.uptime()}\n")
    print(plain_vs_fast(rounds))
    print(f"\n{common.uptime()}\n")
    sys.stdout.flush()
    if not disabled:
        env = dict(os.environ, NPY_DISABLE_CPU_FEATURES=NO_AVX512)
        subprocess.run([sys.executable, __file__, "--plain-fast", "--rounds", str(rounds)],
                       env=env, check=True)
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=20, help="interleaved rounds (>= 5)")
    ap.add_argument("--plain-fast", action="store_true",
                    help="only the fast forward against the plain one (radii_fast)")
    args = ap.parse_args(argv)
    rounds = max(5, args.rounds)
    if args.plain_fast:
        return main_plain_fast(rounds)
    info = common.machine_info()
    cases = {"rnn tanh": ours(activation="tanh"), "lstm": ours(cell="lstm"),
             "gru sources": ours(cell="gru"), "gru cudnn": ours(cell="gru", form="cudnn"),
             "lstm gradient_norms T=5000 H=4": lstm_norms()}
    note = None
    try:
        version, jax_run = make_jax()
        cases["jax rnn tanh"] = jax_run
        cases["jax lstm"] = make_jax_lstm()
        note = f"JAX {version}, XLA_FLAGS={os.environ['XLA_FLAGS']}"
    except Exception as exc:                      # not installed, or broken: say why
        note = f"JAX skipped: {type(exc).__name__}: {exc}"
    times = common.interleaved({k: take(fn) for k, fn in cases.items()}, rounds, settle=0.05)
    med = {k: common.median(v) for k, v in times.items()}

    print("# The gradient-norm sweep\n")
    print(common.machine_line(info) + f". {note}.\n")
    print(f"Median of {rounds} interleaved rounds (ms; IQR in brackets). 41 rho, H = 64, "
          f"T = 200, float64, N = 1; our / peer from the same run.\n")
    rows = []
    for k in cases:
        peer = {"rnn tanh": "jax rnn tanh", "lstm": "jax lstm"}.get(k)
        ratio = f"{med[k] / med[peer]:.2f}" if peer in med else ""
        target = {"rnn tanh": f"<= {1e3 * TARGET_SWEEP:g} ms",
                  "lstm gradient_norms T=5000 H=4": f"< {1e3 * TARGET_LSTM_NORMS:g} ms"}.get(k, "")
        met = ""
        if target:
            limit = TARGET_SWEEP if k == "rnn tanh" else TARGET_LSTM_NORMS
            met = "met" if med[k] <= limit else "NOT met"
        rows.append((k, common.ms(med[k]), f"({common.ms(common.iqr(times[k]))})", ratio, target, met))
    print(common.md_table(("case", "median ms", "IQR ms", "our / JAX", "target", ""), rows))
    for ours_, peer in (("rnn tanh", "jax rnn tanh"), ("lstm", "jax lstm")):
        if peer in cases:
            diff = np.max(np.abs(cases[ours_]() - cases[peer]()))
            print(f"\nAgreement, {ours_}: max |log10 norm difference| ours vs JAX over all rows "
                  f"and lags: {diff:.1e}")
    print(f"\n{common.uptime()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
