"""train.fit's time to success on an easy setting of every task, for every cell: the claim
(train.fit's docstring, the README) that a small model learns each task in seconds on 2
cores. Target: every run succeeds, the slowest in under TARGET_S seconds. No peer: the
frameworks have no fit of ours to compare with.

The settings are the ones train.fit's docstring lists (validation set: the task with
seed=123, N=300, or the first 4096 validation characters for text; momentum, clip=1.0,
batch 32, a validation every 25 steps, stop at the first that succeeds). Each (task, cell)
runs with fit seeds 0, 1 and 2; the table gives the median wall time to success, the
median number of updates and the median time per update, and how many seeds succeeded.
Prints markdown and writes benchmarks/results/fit.json. Needs numpy and rnn_core only.
Run: python3 benchmarks/bench_fit.py [--seeds 3]
"""
import argparse
import json
import os
import sys

# Training is many small products: one BLAS thread, as in the tests and the notebooks
# (two threads stall on small matrices when the other core is busy). Set before numpy.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np  # noqa: E402

import common  # noqa: E402  (benchmarks/common.py; puts the checkout on sys.path)
from rnn_core.training import tasks, train  # noqa: E402

EASY = dict(optimizer="momentum", clip=1.0, until_success=True, val_every=25, batch_size=32)
GATED_LR = 0.1
# (label, validation task, H, Elman lr, steps cap)
SETTINGS = [
    ("adding T=10", lambda: tasks.adding(300, 10, seed=123), 32, 0.05, 3000),
    ("memory T=10, symbol in steps 0-1", lambda: tasks.memory(300, 10, seed=123, position=(0, 2)),
     16, 0.1, 3000),
    ("temporal order T=10", lambda: tasks.temporal_order(300, 10, seed=123), 32, 0.05, 3000),
    ("latch T=10", lambda: tasks.latch(300, 10, seed=123), 8, 0.1, 3000),
    ("copy T=7, 2 symbols, length 2",
     lambda: tasks.copy(300, 7, seed=123, n_symbols=2, length=2), 32, 0.05, 3000),
    ("text: bpc < 3.5, T=32", lambda: tasks.text(128, 32, seed=None), 64, 0.05, 3000),
]
CELLS = [("rnn", {}), ("lstm", {}), ("gru", {"form": "cudnn"})]
TARGET_S = 4.0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3)
    args = ap.parse_args(argv)
    info = common.machine_info()
    print("# fit: time to success on an easy setting of each task\n")
    print(common.machine_line(info) + f"; fit seeds 0-{args.seeds - 1}, medians.\n")
    rows, raw = [], []
    for label, make, H, lr, cap in SETTINGS:
        val = make()
        for cell, opts in CELLS:
            runs = []
            for seed in range(args.seeds):
                _, hist = train.fit(cell, val, H=H, steps=cap, seed=seed,
                                    lr=lr if cell == "rnn" else GATED_LR, **EASY, **opts)
                runs.append(dict(seed=seed, succeeded=hist.succeeded, steps=hist.steps_run,
                                 seconds=hist.wall_time, best_error=hist.best_error))
            raw.append(dict(task=label, cell=cell, H=H, runs=runs))
            ok = [r for r in runs if r["succeeded"]]
            med = (lambda k: float(np.median([r[k] for r in ok]))) if ok else None
            rows.append(f"| {label} | {cell} | {H} | {len(ok)}/{len(runs)} | "
                        + (f"{med('seconds'):.2f} | {med('steps'):.0f} | "
                           f"{1e3 * np.median([r['seconds'] / r['steps'] for r in ok]):.1f} |"
                           if ok else "- | - | - |"))
            print(f"  {label:36s} {cell:5s} {rows[-1].split('|')[4].strip()} succeeded",
                  file=sys.stderr, flush=True)
    print("| task (easy setting) | cell | H | succeeded | time to success s | updates | ms per update |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    print(f"\n`{common.uptime()}`\n")
    slowest = max((max(r["seconds"] for r in x["runs"]), x["task"], x["cell"]) for x in raw)
    ok = all(r["succeeded"] for x in raw for r in x["runs"]) and slowest[0] < TARGET_S
    print(f"Slowest single run: {slowest[0]:.2f} s ({slowest[1]}, {slowest[2]}); target: every "
          f"run succeeds, the slowest in under {TARGET_S:g} s: {'met' if ok else 'MISSED'}.")
    os.makedirs(common.RESULTS, exist_ok=True)
    with open(os.path.join(common.RESULTS, "fit.json"), "w") as f:
        json.dump({"machine": info, "uptime_end": common.uptime(), "runs": raw}, f, indent=1)
    print("raw numbers: benchmarks/results/fit.json")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
