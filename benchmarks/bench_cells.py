"""Our cells' forward + full BPTT against torch.nn and JAX, in float64: how the plain numpy
cells compare with the frameworks' CPU kernels at a mid size and at a tiny one.

Workload: loss = 0.5 * sum(h**2) over all steps (so dL/dh = h); one call is the forward, the
loss and the backward, with the gradients of all weights, of the input and of the initial
state. Cells: Elman tanh RNN, LSTM, GRU in the reset-after form of torch.nn.GRU. Sizes:
W1 (N=32, T=100, D=32, H=128) and W1-small (N=1, T=50, D=8, H=16). Every implementation
runs on one thread (numpy's OpenBLAS, torch, XLA), so that the comparison does not depend
on who else wants the second core.

Targets, per cell: our time / torch time <= 0.8 at W1 and <= 0.25 at W1-small. The ratios
are medians over --rounds interleaved rounds of one run (common.interleaved): each round
times ours, torch and JAX once each, in a rotating order, after a short pause. The peers
run in their own processes (peers.py) and time themselves. Before timing, every peer's
loss and gradients must equal ours to a relative 1e-8 on the same weights and data.

Prints markdown (with `uptime` under each table) and writes results/cells.json.
Run: python3 benchmarks/bench_cells.py [--rounds 11] [--no-peers]; exit code 1 if the
cross-check fails, 2 if a target is missed.

--fast-vs-plain instead times each cell's fast form (rnn_core/cells/fast.py) against its plain
loop over the step functions, at both sizes, in process CPU time (time.process_time, so that
other processes' load counts less): medians of interleaved rounds, each round's fast / plain
ratio, and the spread of those ratios. A fast form is kept only where it wins.
--cpu-vs-torch times ours against torch.nn the same way, both in this one process (for a
loaded machine, where the wall-time table above measures the load more than the code).
"""
import os

for _k, _v in {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",   # before numpy loads
               "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"}.items():
    os.environ.setdefault(_k, _v)

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import common  # noqa: E402
from common import md_table, median, ms  # noqa: E402

TARGETS = {"W1": 0.8, "W1-small": 0.25}       # our time / torch time, float64, each cell
CROSSCHECK_TOL = 1e-8


def ours_take(cell, size):
    """take() for our cell: one untimed call, then one timing sample of forward + backward."""
    mod, opts, x, state0, params = common.make_case(cell, size)

    def run():
        h, _, cache = mod.forward(x, state0, params, **opts)
        mod.backward(h, cache)                                  # dL/dh = h
    inner = common.calibrate(run)

    def take():
        run()
        return common.sample(run, inner)
    return take


def cpu_sample(run, inner):
    """One timing sample in process CPU time: the mean per call over `inner` calls."""
    t0 = time.process_time()
    for _ in range(inner):
        run()
    return (time.process_time() - t0) / inner


def paired(times_a, times_b):
    """Per-round ratios a / b -> 'median (IQR; range)' and the median."""
    import numpy as np
    q = np.array(times_a) / np.array(times_b)
    q1, q3 = np.percentile(q, [25, 75])
    return f"{np.median(q):.3f} ({q1:.3f} to {q3:.3f}; {q.min():.3f} to {q.max():.3f})", float(np.median(q)), q3


def cpu_interleaved(runs, rounds):
    """{name: run} -> {name: [CPU seconds per call, one per round]}, the order alternating."""
    inner = {n: max(1, common.calibrate(run, target=0.1)) for n, run in runs.items()}
    names, times = list(runs), {n: [] for n in runs}
    for r in range(rounds):
        for n in (names if r % 2 == 0 else names[::-1]):
            runs[n]()                                          # untimed: warm caches and scratch
            times[n].append(cpu_sample(runs[n], inner[n]))
    return times


def cpu_vs_torch(rounds):
    """Ours against torch.nn in process CPU time, both in this process; prints a table."""
    import peers
    print("## Ours against torch.nn: forward + full BPTT, process CPU time, one process\n")
    rows = []
    for size in common.SIZES:
        for cell in common.CELL_OPTS:
            mod, opts, x, state0, params = common.make_case(cell, size)

            def ours():
                h, _, cache = mod.forward(x, state0, params, **opts)
                mod.backward(h, cache)
            theirs, _ = peers.torch_build(cell, x, state0, common.fused_weights(cell, params))
            t = cpu_interleaved({"ours": ours, "torch": theirs}, rounds)
            text, q, _ = paired(t["ours"], t["torch"])
            rows.append([size, cell, ms(median(t["ours"])), ms(median(t["torch"])), text,
                         f"<= {TARGETS[size]}", "met" if q <= TARGETS[size] else "MISSED"])
            print(f"  {size}/{cell}: {rows[-1][2:]}", file=sys.stderr, flush=True)
    print(md_table(["size", "cell", "ours ms", "torch ms",
                    f"ours / torch, median (IQR; range) of {rounds} rounds", "target", "verdict"], rows))
    print(f"\n`{common.uptime()}`\n")


def fast_vs_plain(rounds):
    """Each cell's fast form against its plain loop, in process CPU time; prints a table."""
    from rnn_core.cells import fast

    print("## Fast form against the plain loop: forward + full BPTT, process CPU time\n")
    rows = []
    min_size = dict(fast.MIN_SIZE)
    for size in common.SIZES:
        for cell in common.CELL_OPTS:
            if cell not in min_size:
                rows.append([size, cell, "-", "-", "-", "no fast form"])
                continue
            mod, opts, x, state0, params = common.make_case(cell, size)

            def run():
                h, _, cache = mod.forward(x, state0, params, **opts)
                mod.backward(h, cache)

            def use(form):
                fast.ENABLED = form == "fast"
                fast.MIN_SIZE = {**min_size, cell: 0}

            times = cpu_interleaved({"plain": lambda: (use("plain"), run()),
                                     "fast": lambda: (use("fast"), run())}, rounds)
            fast.ENABLED, fast.MIN_SIZE = True, min_size
            text, q, q3 = paired(times["fast"], times["plain"])
            rows.append([size, cell, ms(median(times["plain"])), ms(median(times["fast"])), text,
                         "fast wins" if q < 1 and q3 < 1 else "no gain"])
            print(f"  {size}/{cell}: {rows[-1][2:]}", file=sys.stderr, flush=True)
    print(md_table(["size", "cell", "plain ms", "fast ms",
                    f"fast / plain, median (IQR; range) of {rounds} rounds", "verdict"], rows))
    print(f"\n`{common.uptime()}`\n")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=11)
    ap.add_argument("--no-peers", action="store_true", help="time ours only")
    ap.add_argument("--fast-vs-plain", action="store_true",
                    help="time the cells' fast forms against their plain loops instead")
    ap.add_argument("--cpu-vs-torch", action="store_true",
                    help="time ours against torch.nn in process CPU time instead")
    args = ap.parse_args(argv)
    if args.fast_vs_plain or args.cpu_vs_torch:
        print(common.machine_line(common.machine_info()) + "\n")
        print(f"`{common.uptime()}`\n")
        (fast_vs_plain if args.fast_vs_plain else cpu_vs_torch)(args.rounds)
        return 0
    info = common.machine_info()
    print("# Cells: forward + full BPTT, float64, one thread each\n")
    print(common.machine_line(info) + "\n")

    peers, peer_info = {}, {}
    for name in ([] if args.no_peers else ["torch", "jax"]):
        w = common.Worker(name)
        peer_info[name] = w.call("info")
        if peer_info[name]["available"]:
            peers[name] = w
        else:
            print(f"note: {peer_info[name]['note']}")
            w.close()
    results, cross = [], []
    try:
        if peers:
            rows = []
            for name, w in peers.items():
                for r in w.call("crosscheck")["rows"]:
                    r["peer"], r["ok"] = name, max(r["loss_err"], r["grad_err"]) < CROSSCHECK_TOL
                    cross.append(r)
                    rows.append([name, r["cell"], r["size"], f"{r['loss_err']:.0e}",
                                 f"{r['grad_err']:.0e} ({r['worst']})", "ok" if r["ok"] else "FAIL"])
            print("## Cross-check: the peers compute what we compute\n")
            print(md_table(["peer", "cell", "size", "loss rel err", "worst gradient rel err",
                            f"< {CROSSCHECK_TOL:g}"], rows))
            print(f"\n`{common.uptime()}`\n", flush=True)
            if not all(r["ok"] for r in cross):
                return 1
        for size in common.SIZES:
            for cell in common.CELL_OPTS:
                key = f"{size}/{cell}"
                impls, first = {"ours": ours_take(cell, size)}, {}
                for name, w in peers.items():
                    first[name] = w.call("setup", key=key, cell=cell, size=size)["first_call"]
                    impls[name] = lambda w=w: w.call("take", key=key)["seconds"]
                times = common.interleaved(impls, args.rounds)
                results.append({"size": size, "cell": cell, "times": times, "first_call": first})
                print(f"  {key:14s} " + "  ".join(f"{n} {ms(median(t))} ms" for n, t in times.items()),
                      file=sys.stderr, flush=True)
    finally:
        for w in peers.values():
            w.close()

    print(f"## Time per call and ratios (medians of {args.rounds} interleaved rounds)\n")
    head = ["size", "cell", "ours ms (IQR)"]
    if "torch" in peers:
        head += ["torch ms", "ours / torch", "target", "verdict"]
    if "jax" in peers:
        head += ["jax jit ms", "ours / jax", "jax first call ms"]
    rows, missed = [], []
    for r in results:
        t = r["times"]
        row = [r["size"], r["cell"], f"{ms(median(t['ours']))} ({ms(common.iqr(t['ours']))})"]
        if "torch" in t:
            q = median(t["ours"]) / median(t["torch"])
            r["ours_over_torch"], r["met"] = q, q <= TARGETS[r["size"]]
            if not r["met"]:
                missed.append(f"{r['size']} {r['cell']}")
            row += [ms(median(t["torch"])), f"{q:.3f}", f"<= {TARGETS[r['size']]}",
                    "met" if r["met"] else "MISSED"]
        if "jax" in t:
            r["ours_over_jax"] = median(t["ours"]) / median(t["jax"])
            row += [ms(median(t["jax"])), f"{r['ours_over_jax']:.2f}", ms(r["first_call"]["jax"])]
        rows.append(row)
    print(md_table(head, rows))
    print(f"\n`{common.uptime()}`\n")
    if missed:
        print(f"targets missed: {', '.join(missed)}")
    elif "torch" in peers:
        print("all six targets met")
    os.makedirs(common.RESULTS, exist_ok=True)
    with open(os.path.join(common.RESULTS, "cells.json"), "w") as f:
        json.dump({"machine": info, "uptime_end": common.uptime(), "peers": peer_info,
                   "rounds": args.rounds, "crosscheck": cross, "results": results,
                   "date": time.strftime("%Y-%m-%d %H:%M")}, f, indent=1)
    return 2 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
