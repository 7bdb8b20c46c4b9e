"""multirun.fit_many: K training runs as one stacked computation, against K sequential fits
and against the same batched work in PyTorch and JAX, in one process and one run.

Workload (issue 11): the adding task at T = 20, hidden size H = 32, batch N = 32 per run,
plain SGD, the Elman RNN (tanh) unless the table says otherwise. All on one thread.
  1. Throughput (updates per second, summed over runs) of fit_many with K = 32 against 32
     train.fit runs one after another, float64: the same runs, batches and updates (their
     results are equal, tests/test_multirun.py). Target: >= 2x (the earlier 3x is out of
     reach at N = 32, benchmarks/README.md). Also the LSTM and the GRU.
     Wall-clock and, beside it, process CPU time (which leaves out waiting for a core on a
     loaded machine; both sides of a round run the same way).
  2. The Elman speed-up at K = 32 against the batch size N = 8, 16, 20 (notebook 07's
     reproduction trains with N = 20, notebook 06's grid with 32) and 32, and the run length
     (20 updates per run as in table 1, and 100: the start of each run, init_model and the
     final validation, is the same work on both sides), process CPU time. Beside it the
     floors of one update (T tanh passes; the passes no update can skip, tanh included)
     and the ceiling: sequential time / passes floor, the speed-up if nothing else cost.
  3. Time per update of all K runs at K = 1, 8, 32, 128, float64 and float32:
       fit_many     the whole trainer (batches drawn per run, losses, norms, histories);
       core         the same batched work the peers do: forward, BPTT and the SGD update of
                    K stacked models on fixed batches (parallel_loss.loss_and_grads + update);
       torch        batched matmuls (torch.bmm) over the K runs, autograd, torch 2.13 CPU;
       jax          jax.vmap over runs of a lax.scan cell, grad and update under jax.jit;
       tanh floor   np.tanh alone on the T (K, N, H) pre-activations of one update: the
                    part of the forward pass numpy cannot batch away (and np.exp on the
                    same arrays beside it, for comparison).
     Ratios are our time / peer time (above 1: the peer is faster), medians of rounds that
     interleave the implementations (common.interleaved). Before timing, one update of each
     peer is compared with ours in float64 (worst relative difference of the parameters).
Prints markdown (with `uptime` before and after) and writes benchmarks/results/multirun.json.
Run: python3 benchmarks/bench_multirun.py [--rounds 5] [--quick]
"""
import argparse
import json
import os
import sys
import time

for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false "
                                   "intra_op_parallelism_threads=1")
import numpy as np  # noqa: E402

import common  # noqa: E402  (benchmarks/common.py; puts the checkout on sys.path)
from rnn_core.training.many import multirun, parallel, parallel_loss  # noqa: E402
from rnn_core.training import tasks, train

T, H, N, LR = 20, 32, 32, 0.05
VAL = dict(N=64, T=T, seed=123)


def make_val():
    return tasks.adding(**VAL)


# ---------------------------------------------------------------- ours
def sequential(cell, K, steps, dtype=np.float64, n=N):
    """K fits one after another; returns seconds per update (summed over runs)."""
    val = make_val()
    t0 = time.perf_counter()
    for s in range(K):
        train.fit(cell, val, H, steps=steps, batch_size=n, lr=LR, seed=s, val_every=steps)
    return (time.perf_counter() - t0) / (K * steps)


def batched(cell, K, steps, dtype=np.float64, n=N):
    """One fit_many of K runs; returns seconds per update of all K runs."""
    val = make_val()
    t0 = time.perf_counter()
    multirun.fit_many(cell, val, H, list(range(K)), steps=steps, batch_size=n, lr=LR,
                      val_every=steps, dtype=dtype)
    return (time.perf_counter() - t0) / steps


def setup(cell, K, dtype):
    """Fixed batches and stacked params of K runs (fit_many's own start), for core and peers."""
    val = make_val()
    mod = parallel.CELLS[cell]
    opts = mod.options({})
    ps = [train.init_model(cell, val.D, H, 1, seed=s) for s in range(K)]
    F = {**parallel.fuse(mod, opts, parallel.stack([p["cell"] for p in ps])),
         **parallel.stack([p["out"] for p in ps])}
    F = {k: v.astype(dtype) for k, v in F.items()}
    batches = [val.resample(N, seed=1000 + s) for s in range(K)]
    batches = [tasks.Task(b.name, b.x.astype(dtype), b.y.astype(dtype), b.mask, b.loss, b.n_out,
                          b.many_to_many, b.metric, b.threshold, b.options) for b in batches]
    xs = np.stack([b.x.transpose(1, 0, 2) for b in batches])        # (K, T, N, D)
    ys = np.stack([b.y for b in batches])                             # (K, N, 1)
    return mod, opts, F, batches, xs, ys


def core_step(mod, opts, F, batches, xs, ws=None):
    """One SGD update of all K runs in place: the work the peers do. ws: the workspace
    fit_many keeps across its steps (None: fresh arrays every call)."""
    data = ("mse", np.stack([b.y for b in batches]))
    _, _, grads, _ = parallel_loss.loss_and_grads(mod, opts, xs, data, F, None, None, False,
                                                  train.data_loss, ws)
    for k in F:
        F[k] -= F[k].dtype.type(LR) * grads[k]


def tanh_floor(K, dtype, f=np.tanh):
    """T passes of the ufunc f (np.tanh, or np.exp to compare) over one (K, N, H) array."""
    a = np.random.default_rng(0).standard_normal((K, N, H)).astype(dtype)
    out = np.empty_like(a)

    def run():
        for _ in range(T):
            f(a, out=out)
    return run


def floor_update(K, n, dtype=np.float64):
    """The work no stacked Elman update can skip, per update of K runs at batch n, in
    fit_many's layout and order (each step's operands fresh from the step before):
      tanh    T tanh passes over one hot (K, n, H) array;
      passes  the forward (T steps of [h, x, 1] [W_h, W_x, b]^T and the tanh into the next
              row), f'(a) = 1 - h^2, the backward (T steps of dL/dh * f'(a) and its product
              with W_h) and the weight gradients over the T n rows: the core without its
              readout, loss, finite checks and bookkeeping.
    Returns the two callables."""
    r = np.random.default_rng(0)
    C = H + 3
    Z = r.standard_normal((K, T + 1, n, C)).astype(dtype)
    Wc = (0.2 * r.standard_normal((K, C, H))).astype(dtype)
    W_h = (0.2 * r.standard_normal((K, H, H))).astype(dtype)
    da = np.empty((K, T, n, H), dtype)
    a, m, carry = (np.empty((K, n, H), dtype) for _ in range(3))
    a[...] = r.standard_normal(a.shape)
    G = np.empty((K, H, C), dtype)

    def tanh():
        for _ in range(T):
            np.tanh(a, out=m)

    def passes():
        for t in range(T):
            np.matmul(Z[:, t], Wc, out=m)
            np.tanh(m, out=Z[:, t + 1, :, :H])
        np.multiply(Z[:, 1:, :, :H], Z[:, 1:, :, :H], out=da)
        np.subtract(1, da, out=da)
        carry[...] = 1
        for t in range(T - 1, -1, -1):
            np.multiply(carry, da[:, t], out=da[:, t])
            np.matmul(da[:, t], W_h, out=carry)
        np.matmul(np.swapaxes(da.reshape(K, T * n, H), -1, -2),
                  Z[:, :T].reshape(K, T * n, C), out=G)
    return tanh, passes


# ---------------------------------------------------------------- peers (Elman tanh)
def torch_peer(F, xs, ys, dtype):
    import torch
    torch.set_num_threads(1)
    td = torch.float64 if dtype == np.float64 else torch.float32
    P = {k: torch.tensor(v, dtype=td, requires_grad=True) for k, v in F.items()}
    x, y = torch.tensor(xs, dtype=td), torch.tensor(ys, dtype=td)
    K, T_, N_, D = x.shape
    Hh = F["W_h"].shape[-1]

    def step():
        xw = torch.bmm(x.reshape(K, T_ * N_, D), P["W_x"].transpose(1, 2)).reshape(K, T_, N_, Hh)
        xw = xw + P["b"][:, None, None, :]
        h = torch.zeros(K, N_, Hh, dtype=td)
        WhT = P["W_h"].transpose(1, 2)
        for t in range(T_):
            h = torch.tanh(xw[:, t] + torch.bmm(h, WhT))
        out = torch.bmm(h, P["W_y"].transpose(1, 2)) + P["b_y"][:, None, :]
        loss = 0.5 * ((out - y) ** 2).sum() / N_           # summed over runs: each run's own
        grads = torch.autograd.grad(loss, list(P.values()))
        with torch.no_grad():
            for p, g in zip(P.values(), grads):
                p -= LR * g

    def params():
        return {k: v.detach().numpy().astype(np.float64) for k, v in P.items()}
    return step, params


def jax_peer(F, xs, ys, dtype):
    import jax
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    jd = jnp.float64 if dtype == np.float64 else jnp.float32
    P = {k: jnp.asarray(v, dtype=jd) for k, v in F.items()}
    x, y = jnp.asarray(xs, dtype=jd), jnp.asarray(ys, dtype=jd)
    N_, Hh = xs.shape[2], F["W_h"].shape[-1]

    def loss_one(p, x1, y1):                               # one run: x1 (T, N, D), y1 (N, 1)
        xw = x1 @ p["W_x"].T + p["b"]

        def body(h, xw_t):
            h = jnp.tanh(xw_t + h @ p["W_h"].T)
            return h, None
        h, _ = jax.lax.scan(body, jnp.zeros((N_, Hh), jd), xw)
        out = h @ p["W_y"].T + p["b_y"]
        return 0.5 * jnp.sum((out - y1) ** 2) / N_

    @jax.jit
    def update(P, x, y):
        g = jax.vmap(jax.grad(loss_one))(P, x, y)
        return jax.tree_util.tree_map(lambda p, gi: p - LR * gi, P, g)

    state = {"P": P}

    def step():
        state["P"] = update(state["P"], x, y)
        state["P"]["W_h"].block_until_ready()

    def params():
        return {k: np.asarray(v, np.float64) for k, v in state["P"].items()}
    return step, params


PEERS = {"torch": torch_peer, "jax": jax_peer}


def available(name):
    try:
        __import__(name)
        return True
    except ImportError:
        return False


def crosscheck(K=4):
    """Worst relative difference between one update of each peer and of ours (float64)."""
    out = {}
    for name, make in PEERS.items():
        if not available(name):
            continue
        mod, opts, F, batches, xs, ys = setup("rnn", K, np.float64)
        step, params = make(F, xs, ys, np.float64)
        step()
        core_step(mod, opts, F, batches, xs)
        theirs = params()
        out[name] = max(float(np.max(np.abs(F[k] - theirs[k])) / np.max(np.abs(F[k]))) for k in F)
    return out


def take(fn, inner):
    return lambda: (fn(), common.sample(fn, inner))[1]


# ---------------------------------------------------------------- tables
def cpu_too(fn, cpu):
    """fn's wall-clock result, with the process CPU time of the call appended to cpu: on a
    shared machine CPU time leaves out the time spent waiting for a core."""
    def run():
        c0 = time.process_time()
        t = fn()
        cpu.append(time.process_time() - c0)
        return t
    return run


def throughput_table(rounds, steps, cells):
    rows, raw = [], {}
    for cell in cells:
        K = 32
        cpu = {"seq": [], "bat": []}
        impls = {"32 sequential fits": cpu_too(lambda c=cell: sequential(c, K, steps), cpu["seq"]),
                 "fit_many K=32": cpu_too(lambda c=cell: batched(c, K, steps), cpu["bat"])}
        times = common.interleaved(impls, rounds)
        seq, bat = (common.median(times[n]) for n in impls)
        cseq = common.median(cpu["seq"]) / (K * steps)
        cbat = common.median(cpu["bat"]) / steps
        raw[cell] = {"wall": times, "cpu": cpu}
        rows.append([cell, f"{1 / seq:.0f}", f"{K / bat:.0f}", f"{seq * K / bat:.2f}x",
                     f"{common.iqr(times['fit_many K=32']) / bat:.0%}",
                     f"{1 / cseq:.0f}", f"{K / cbat:.0f}", f"{cseq * K / cbat:.2f}x"])
    return rows, raw


def batch_table(rounds, settings):
    """The K = 32 Elman speed-up against the batch size N and the run length (updates per
    run: each run's start, K init_model calls, and its final validation cost the same on
    both sides, so short runs dilute the speed-up), process CPU time."""
    K, rows, raw = 32, [], {}
    for n, steps in settings:
        cpu = {"seq": [], "fit_many": []}
        impls = {"seq": cpu_too(lambda n=n, s=steps: sequential("rnn", K, s, n=n), cpu["seq"]),
                 "fit_many": cpu_too(lambda n=n, s=steps: batched("rnn", K, s, n=n),
                                     cpu["fit_many"])}
        for name, fn in zip(("tanh floor", "passes floor"), floor_update(K, n)):
            impls[name] = take(fn, common.calibrate(fn, 0.05, 200))
        times = common.interleaved(impls, rounds)
        seq, bat = (common.median(cpu[k]) / (K * steps) for k in ("seq", "fit_many"))
        tf, pf = (common.median(times[k]) / K for k in ("tanh floor", "passes floor"))
        spread = [a / b for a, b in zip(cpu["seq"], cpu["fit_many"])]
        raw[f"N={n},steps={steps}"] = {"wall": times, "cpu": cpu}
        rows.append([n, steps, f"{1e3 * seq:.3f}", f"{1e3 * bat:.3f}", f"{seq / bat:.2f}x",
                     f"{min(spread):.2f}x to {max(spread):.2f}x", f"{1e3 * tf:.3f}",
                     f"{1e3 * pf:.3f}", f"{seq / pf:.2f}x"])
        print(f"  done N={n} steps={steps}", file=sys.stderr)
    return rows, raw


def per_k_table(rounds, Ks, steps):
    rows, raw = [], []
    peers = [p for p in PEERS if available(p)]
    for dtype in (np.float64, np.float32):
        for K in Ks:
            mod, opts, F, batches, xs, ys = setup("rnn", K, dtype)
            impls = {"fit_many": lambda K=K, d=dtype: batched("rnn", K, steps, d)}
            cs = lambda F=F, b=batches, x=xs, ws={}: core_step(mod, opts, F, b, x, ws)  # noqa: E731
            impls["core"] = take(cs, common.calibrate(cs, 0.1, 50))
            for p in peers:
                st, _ = PEERS[p]({k: v.copy() for k, v in F.items()}, xs, ys, dtype)
                st()                                                     # compile (jax)
                impls[p] = take(st, common.calibrate(st, 0.1, 200))
            tf = tanh_floor(K, dtype)
            impls["tanh floor"] = take(tf, common.calibrate(tf, 0.05, 200))
            ef = tanh_floor(K, dtype, np.exp)
            impls["exp floor"] = take(ef, common.calibrate(ef, 0.05, 200))
            times = common.interleaved(impls, rounds)
            med = {n: common.median(t) for n, t in times.items()}
            row = [np.dtype(dtype).name, K] + [common.ms(med[n]) for n in impls]
            row += [f"{med['core'] / med[p]:.2f}" for p in peers]
            row += [f"{1e6 * med['core'] / K:.0f}"]
            rows.append(row)
            raw.append({"dtype": np.dtype(dtype).name, "K": K, "times": times})
            print(f"  done {np.dtype(dtype).name} K={K}: " + ", ".join(
                f"{n} {common.ms(v)} ms" for n, v in med.items()), file=sys.stderr)
    headers = (["dtype", "K"] + [f"{n} ms" for n in impls]
               + [f"core / {p}" for p in peers] + ["core us per run-update"])
    return headers, rows, raw


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="fewer steps, rounds and sizes")
    args = ap.parse_args(argv)
    rounds = 3 if args.quick else args.rounds
    info = common.machine_info()
    print("# multirun: K training runs at once\n")
    print(common.machine_line(info) + "\n")
    print(f"load before: {common.uptime()}\n")
    check = crosscheck()
    print("peers against ours after one float64 update, worst relative difference of the "
          "parameters: " + (", ".join(f"{p} {e:.1e}" for p, e in check.items()) or "no peer installed")
          + "\n")
    steps = 10 if args.quick else 20
    cells = ["rnn"] if args.quick else ["rnn", "lstm", "gru"]
    rows, raw1 = throughput_table(rounds, steps, cells)
    print(f"## Throughput, adding T={T}, H={H}, N={N}, float64, {steps} SGD updates per run, "
          f"medians of {rounds} interleaved rounds\n")
    print(common.md_table(["cell", "32 sequential fits: updates/s", "fit_many K=32: updates/s",
                           "speed-up (target >= 2x)", "IQR/median", "sequential, CPU time: "
                           "updates/s", "fit_many, CPU time: updates/s", "speed-up, CPU time"],
                          rows))
    print(f"\nload: {common.uptime()}\n")
    settings = ([(20, steps), (20, 100), (32, 100)] if args.quick else
                [(8, steps), (16, steps), (20, steps), (32, steps), (8, 100), (16, 100), (20, 100),
                 (32, 100)])
    rows_n, raw_n = batch_table(rounds, settings)
    print(f"## Elman speed-up at K=32 against the batch size N and the run length, float64, "
          f"process CPU time, medians of {rounds} interleaved rounds\n")
    print(common.md_table(["N", "updates per run", "sequential fit: ms per run-update",
                           "fit_many: ms per run-update", "speed-up", "range over rounds",
                           "tanh floor: ms per run-update", "passes floor: ms per run-update",
                           "ceiling: sequential / passes floor"], rows_n))
    print("\nThe floors are wall-clock medians of the same rounds, per run (floor_update): T "
          "tanh passes, and the passes no stacked update can skip (forward with its tanh, "
          "f'(a), backward, weight gradients; the tanh included). The ceiling is the "
          "speed-up if everything else (readout, loss, batches, update, bookkeeping) were "
          "free.")
    print(f"\nload: {common.uptime()}\n")
    Ks = [1, 8, 32] if args.quick else [1, 8, 32, 128]
    headers, rows2, raw2 = per_k_table(rounds, Ks, steps)
    print(f"## Time per update of all K runs (Elman tanh), medians of {rounds} rounds\n")
    print(common.md_table(headers, rows2))
    print(f"\nload after: {common.uptime()}")
    os.makedirs(common.RESULTS, exist_ok=True)
    with open(os.path.join(common.RESULTS, "multirun.json"), "w") as f:
        json.dump({"machine": info, "uptime_end": common.uptime(), "crosscheck": check,
                   "throughput": raw1, "batch_size": raw_n, "per_k": raw2}, f, indent=1)
    print("raw numbers: benchmarks/results/multirun.json")


if __name__ == "__main__":
    main()
