"""Benchmark of the gradient-norm sweep behind the explorer: gradflow.sweep at the headline
size (41 values of rho in [0.5, 1.5], H = 64, T = 200, tanh, float64, N = 1), forward and
log-space backward included, against two plain numpy versions and JAX (lax.scan under jit),
plus the on-demand exact spectral norms. For scale it also times the sweep's core alone
(gradflow.batched._sweep_logs) and the floor of any numpy version: the 400 (41, 64) @ (64, 64)
matmuls and 200 exp2 of (41, 64) that the sweep cannot avoid, with nothing else.

Prints markdown (machine, timings with ratios, agreement) and writes the raw numbers to
benchmarks/results/sweep.json. Standalone: needs numpy and rnn_core; JAX is optional (timed
in a subprocess of this script) and skipped, with the reason, if it cannot be imported.
Run: python3 benchmarks/bench_sweep.py [--rounds 30]
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
if ROOT not in sys.path:                          # run as a script from a checkout
    sys.path.insert(0, ROOT)

from rnn_core import activations, gradflow, matrices  # noqa: E402
from common import machine_info  # noqa: E402  (benchmarks/common.py)

HEADLINE = dict(H=64, T=200, activation="tanh", family="orthogonal", input_scale=1.0, N=1, seed=0)
RHOS = np.linspace(0.5, 1.5, 41)
TARGET_MS = 10.0


# ----------------------------------------------------------------------------------------
# Machine
# ----------------------------------------------------------------------------------------

def machine():
    info = machine_info()                         # shared with bench_cells.py
    info["loadavg_start"] = info.pop("loadavg")
    return info


# ----------------------------------------------------------------------------------------
# The implementations
# ----------------------------------------------------------------------------------------

def inputs():
    """The headline sweep's own seeded inputs: base B, xw (T, N, H), u (H,)."""
    H, T, N = HEADLINE["H"], HEADLINE["T"], HEADLINE["N"]
    x, W_x, b, u = gradflow.sweeps._inputs(H, T, N, H, 1.0, 0.0, HEADLINE["seed"], np.dtype(np.float64))
    B = np.array(matrices.base(HEADLINE["family"], H, HEADLINE["seed"]))
    xw = np.ascontiguousarray((x.reshape(N * T, H) @ W_x.T + b).reshape(N, T, H).transpose(1, 0, 2))
    return B, xw, u


def ours():
    return gradflow.sweep(RHOS, **HEADLINE).log10_norm


def ours_cold():
    matrices._base.cache_clear()                  # rebuild the base matrix and its spectrum,
    gradflow.sweeps._sweep_inputs.cache_clear()          # and the seeded inputs, too
    return gradflow.sweep(RHOS, **HEADLINE).log10_norm


def plain_numpy(B, xw, u):
    """The straightforward version: W_h per rho, batched matmul, np.tanh, norm every step."""
    T, N, H = xw.shape
    W = RHOS[:, None, None] * B                   # (R, H, H)
    h = np.zeros((RHOS.size, N, H))
    hs = np.empty((T, RHOS.size, N, H))
    for t in range(T):
        h = hs[t] = np.tanh(h @ W.transpose(0, 2, 1) + xw[t])
    v = np.broadcast_to(u, h.shape).copy()
    logs = np.zeros((T + 1, RHOS.size, N))
    for j, t in enumerate(range(T - 1, -1, -1)):
        v = (v * (1 - hs[t] ** 2)) @ W
        n = np.linalg.norm(v, axis=2)
        v /= n[:, :, None]
        logs[j + 1] = logs[j] + np.log10(n)
    return logs.mean(axis=2).T


def plain_shared(B, xw, u):
    """Straightforward as well, but with one (R*N, H) @ (H, H) matmul per step for every rho
    (W_h = rho B), as a careful first version would write it: np.tanh, norm every step."""
    T, N, H = xw.shape
    R = RHOS.size
    r = RHOS[:, None, None]
    h = np.zeros((R, N, H))
    hs = np.empty((T, R, N, H))
    for t in range(T):
        h = hs[t] = np.tanh(r * (h.reshape(R * N, H) @ B.T).reshape(R, N, H) + xw[t])
    v = np.broadcast_to(u, h.shape).copy()
    logs = np.zeros((T + 1, R, N))
    for j, t in enumerate(range(T - 1, -1, -1)):
        v = r * ((v * (1 - hs[t] ** 2)).reshape(R * N, H) @ B).reshape(R, N, H)
        n = np.linalg.norm(v, axis=2)
        v /= n[:, :, None]
        logs[j + 1] = logs[j] + np.log10(n)
    return logs.mean(axis=2).T


def core(B, xw, u):
    """Only the forward pass and the log-space norms: gradflow.batched._sweep_logs, no Sweep fields."""
    return gradflow.batched._sweep_logs(B, RHOS, xw, activations.get("tanh"), u).mean(axis=2).T


def floor(B, xw, u):
    """The floor of any numpy version: the sweep's 400 matmuls and 200 exp2, nothing else."""
    T, N, H = xw.shape
    a = np.full((RHOS.size * N, H), 0.1)
    z, w = np.empty_like(a), np.empty_like(a)
    for t in range(T):
        np.dot(a, B, z)                           # forward: the matmul and the exp2
        np.exp2(z, z)
        np.dot(a, B, w)                           # backward: the matmul
    return z, w


def make_jax_sweep():
    """The same sweep in JAX: lax.scan forward and backward, batched over rho, jit-compiled."""
    import jax
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    from jax import lax

    def run(B, rhos, xw, u):
        T, N, H = xw.shape
        r = rhos[:, None, None]

        def forward(h, xw_t):                     # h (R, N, H)
            h = jnp.tanh(r * (h @ B.T) + xw_t)
            return h, h

        _, hs = lax.scan(forward, jnp.zeros((rhos.shape[0], N, H)), xw)
        d = r * (1.0 - hs * hs)                   # (T, R, N, H): rho f'(a_t), from the outputs

        def backward(v, d_t):
            v = (v * d_t) @ B
            n = jnp.linalg.norm(v, axis=-1)       # (R, N)
            return v / n[..., None], jnp.log10(n)

        v0 = jnp.broadcast_to(u, (rhos.shape[0], N, H))
        _, steps = lax.scan(backward, v0, d[::-1])
        logs = jnp.concatenate([jnp.zeros((1,) + steps.shape[1:]), jnp.cumsum(steps, axis=0)])
        return logs.mean(axis=2).T                # (R, T+1)

    return jax, jax.jit(run)


# ----------------------------------------------------------------------------------------
# Timing
# ----------------------------------------------------------------------------------------

def summary(times, cpu=None):
    """Statistics in ms of wall-clock times (and of this process's CPU times, if given)."""
    t = np.asarray(times) * 1e3
    out = {"median_ms": float(np.median(t)), "min_ms": float(t.min()),
           "p90_ms": float(np.percentile(t, 90)), "rounds": int(t.size), "all_ms": t.round(4).tolist()}
    if cpu is not None:
        c = np.asarray(cpu) * 1e3
        out.update(cpu_median_ms=float(np.median(c)), cpu_all_ms=c.round(4).tolist())
    return out


def timed(fn):
    """(wall seconds, result); the CPU seconds of the call are left in timed.cpu."""
    c0, t0 = time.process_time(), time.perf_counter()
    out = fn()
    timed.cpu = time.process_time() - c0
    return time.perf_counter() - t0, out


def jax_worker(rounds):
    """Time the JAX sweep in this (separate) process; print one JSON line."""
    try:
        jax, jsweep = make_jax_sweep()
        B, xw, u = inputs()
        args = [jax.numpy.asarray(a) for a in (B, RHOS, xw, u)]
        first, out = timed(lambda: jsweep(*args).block_until_ready())
        for _ in range(3):                        # warm-up after the compile
            jsweep(*args).block_until_ready()
        times, cpu = [], []
        for _ in range(rounds):
            times.append(timed(lambda: jsweep(*args).block_until_ready())[0])
            cpu.append(timed.cpu)
        print(json.dumps({"version": jax.__version__, "first": first, "times": times, "cpu": cpu,
                          "log10_norm": np.asarray(out).tolist()}))
    except Exception as exc:                      # not installed, or broken: say why
        print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}))
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=30, help="timed rounds per case (>= 20)")
    ap.add_argument("--jax-worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    rounds = max(20, args.rounds)
    if args.jax_worker:
        return jax_worker(rounds)
    info = machine()
    B, xw, u = inputs()

    cases = {"ours": ours, "ours_cold": ours_cold, "core": lambda: core(B, xw, u),
             "floor": lambda: floor(B, xw, u), "plain_shared": lambda: plain_shared(B, xw, u),
             "plain": lambda: plain_numpy(B, xw, u)}
    reference = ours()                            # warm-up, and the numbers to agree with
    for fn in cases.values():
        fn()
    times = {name: [] for name in cases}
    cpu = {name: [] for name in cases}
    order = np.random.default_rng(0)
    names = list(cases)
    for _ in range(rounds):                       # interleaved, so load changes hit every case,
        for name in order.permutation(names):     # in a new order each round: each case follows
            times[name].append(timed(cases[name])[0])   # the heavy ones (which evict the caches)
            cpu[name].append(timed.cpu)           # equally often
    results = {name: summary(times[name], cpu[name]) for name in cases}

    # JAX runs in its own process, so that XLA's worker threads cannot slow down the numpy
    # timings above (and numpy cannot disturb JAX's).
    jax_note, jax_out = None, None
    proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--jax-worker",
                           "--rounds", str(rounds)], capture_output=True, text=True)
    try:
        worker = json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        worker = {"error": f"JAX worker failed (exit {proc.returncode}): "
                           f"{proc.stderr.strip().splitlines()[-1:] or ''}"}
    if "error" in worker:
        jax_note = f"JAX skipped: {worker['error']}"
    else:
        results["jax"] = summary(worker["times"], worker["cpu"])
        results["jax_first_call"] = summary([worker["first"]])
        info["jax"] = worker["version"]
        jax_out = np.asarray(worker["log10_norm"])

    rho1 = 1.0
    one = [timed(lambda: gradflow.exact_spectral_norms(rho1, **{k: v for k, v in HEADLINE.items()
                                                                if k != "N"}))[0]
           for _ in range(5)]
    results["exact_one_rho"] = summary(one)
    t_all, exact_all = timed(lambda: np.array([
        gradflow.exact_spectral_norms(r, **{k: v for k, v in HEADLINE.items() if k != "N"})
        for r in RHOS]))
    results["exact_all_rhos"] = summary([t_all])

    agree = {"plain": float(np.abs(plain_numpy(B, xw, u) - reference).max()),
             "plain_shared": float(np.abs(plain_shared(B, xw, u) - reference).max()),
             "core": float(np.abs(core(B, xw, u) - reference).max()),
             "exact_minus_sweep_min": float((exact_all - reference).min())}
    if jax_out is not None:
        agree["jax"] = float(np.abs(jax_out - reference).max())
    info["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]

    # ---- markdown ----
    base = results["ours"]["median_ms"]
    print("# Sweep benchmark: gradient norm against lag for 41 values of rho")
    print(f"{time.strftime('%Y-%m-%d %H:%M')}; Elman RNN, H = 64, T = 200, N = 1, tanh, float64, "
          f"orthogonal W_h, input scale 1; forward + log-space backward; {rounds} interleaved rounds, "
          f"cases in a new random order each round.")
    print()
    print("## Machine")
    print("|  |  |\n|---|---|")
    print(f"| nproc | {info['nproc']} |")
    print(f"| CPU | {info['cpu']} |")
    print(f"| Python | {info['python']} |")
    print(f"| numpy | {info['numpy']} ({info['blas']}) |")
    if "jax" in info:
        print(f"| jax | {info['jax']} (CPU) |")
    print(f"| load average at start / end (1, 5, 15 min) | {', '.join(map(str, info['loadavg_start']))}"
          f" / {', '.join(map(str, info['loadavg_end']))} |")
    print()
    print("## Timings")
    print(f"Wall-clock median, min and 90th percentile in ms, and the median CPU time of this "
          f"process (all its threads), which other processes on the machine disturb less. The "
          f"last column is wall median / wall median of gradflow.sweep. Target for "
          f"gradflow.sweep: <= {TARGET_MS:g} ms median.")
    rows = [("gradflow.sweep (numpy; base matrix and seeded inputs cached, as in the explorer)", "ours"),
            ("gradflow.sweep, cold (base matrix, its spectrum and the inputs rebuilt each call)", "ours_cold"),
            ("  of which the forward pass and log-space norms alone (gradflow.batched._sweep_logs)", "core"),
            ("  floor: its 400 matmuls and 200 exp2 alone, nothing else", "floor"),
            ("plain numpy, one matmul per step for all rho (rho B, np.tanh, norm every step)", "plain_shared"),
            ("plain numpy (W_h per rho, batched matmul, np.tanh, norm every step)", "plain"),
            ("JAX lax.scan + jit, batched over rho, compiled (own process, after warm-up)", "jax"),
            ("JAX first call (trace + compile + run)", "jax_first_call"),
            ("exact_spectral_norms, one rho (SVD at every lag)", "exact_one_rho"),
            ("exact_spectral_norms, all 41 rhos (timed once)", "exact_all_rhos")]
    print("| what | median ms | min ms | p90 ms | CPU median ms | x gradflow.sweep |\n"
          "|---|---|---|---|---|---|")
    for label, key in rows:
        if key in results:
            r = results[key]
            cpu_ms = f"{r['cpu_median_ms']:.2f}" if "cpu_median_ms" in r else ""
            print(f"| {label} | {r['median_ms']:.2f} | {r['min_ms']:.2f} | {r['p90_ms']:.2f} | "
                  f"{cpu_ms} | {r['median_ms'] / base:.2f} |")
    if jax_note:
        print(f"\n{jax_note}")
    met = "met" if base <= TARGET_MS else "NOT met"
    load = info["loadavg_start"][0]
    print(f"\nTarget <= {TARGET_MS:g} ms: {met} ({base:.2f} ms wall median, "
          f"{results['ours']['min_ms']:.2f} ms best round, {results['ours']['cpu_median_ms']:.2f} ms "
          f"CPU median; load average {load:g} on {info['nproc']} cores at the start). Exact "
          f"spectral norms for the whole sweep cost {results['exact_all_rhos']['median_ms'] / base:.0f} "
          f"sweeps, which is why they are on demand.")
    print()
    print("## Agreement with gradflow.sweep (max |difference| of log10 norms, all rows and lags)")
    print("| other | max abs diff |\n|---|---|")
    print(f"| gradflow.batched._sweep_logs (averaged over N) | {agree['core']:.1e} |")
    print(f"| plain numpy, one matmul for all rho | {agree['plain_shared']:.1e} |")
    print(f"| plain numpy | {agree['plain']:.1e} |")
    if "jax" in agree:
        print(f"| JAX | {agree['jax']:.1e} |")
    print(f"| exact spectral norm - sweep norm, minimum (must be >= 0: ||P^T u|| <= ||P||_2) | "
          f"{agree['exact_minus_sweep_min']:.1e} |")

    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    out = {"config": {**HEADLINE, "rhos": RHOS.tolist(), "dtype": "float64", "rounds": rounds,
                      "target_ms": TARGET_MS},
           "machine": info, "timings": results, "agreement": agree, "jax_note": jax_note}
    with open(os.path.join(HERE, "results", "sweep.json"), "w") as f:
        json.dump(out, f, indent=1)
    print(f"\nraw numbers: benchmarks/results/sweep.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
