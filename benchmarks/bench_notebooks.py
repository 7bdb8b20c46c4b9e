"""Each notebook's run time, top to bottom in a fresh kernel (as Restart & Run All and nbval do).

Claims backed: notebooks 01-06 each run in under 30 s and together in under 90 s; 07 and 08
each in under 45 s, and the series 01-08 in under 150 s, on 2 cores. Each round executes
every notebook once, in order, in a fresh kernel with one BLAS thread (as `make test` runs
them), and times it from the kernel's start to the last cell's end; the table gives the
median and the spread over rounds, and `uptime` under it. Nothing is written back.

Run: python3 benchmarks/bench_notebooks.py [--rounds 3] [notebooks ...]; exit code 2 if a
budget is missed.
"""
import argparse
import json
import os
import sys
import time
from pathlib import Path

import common
from common import md_table, median

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results"
# Seconds each notebook may take (issues #10 and #11), and the series budgets.
BUDGET = {"01": 30, "02": 30, "03": 30, "04": 30, "05": 30, "06": 30, "07": 45, "08": 45}
SERIES = {("01", "06"): 90, ("01", "08"): 150}


def run_once(path):
    import nbformat
    from nbclient import NotebookClient
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute(env=dict(os.environ, OPENBLAS_NUM_THREADS="1"))
    return time.perf_counter() - start


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("notebooks", nargs="*")
    args = ap.parse_args(argv)
    paths = [Path(p) for p in args.notebooks] or sorted((ROOT / "notebooks").glob("*.ipynb"))
    times = {p.name: [] for p in paths}
    for r in range(args.rounds):
        for p in paths:
            times[p.name].append(run_once(p))
            print(f"round {r + 1}: {p.name} {times[p.name][-1]:.1f} s", file=sys.stderr)
    info = common.machine_info()
    print("# Notebook run times (fresh kernel, top to bottom, one BLAS thread)\n")
    print(common.machine_line(info) + "\n")
    rows, missed, med = [], [], {}
    for name, ts in times.items():
        key = name[:2]
        med[key] = median(ts)
        budget = BUDGET.get(key)
        ok = budget is None or med[key] < budget
        if not ok:
            missed.append(name)
        rows.append([name, f"{med[key]:.1f}", f"{min(ts):.1f}-{max(ts):.1f}",
                     "-" if budget is None else f"< {budget}", "met" if ok else "MISSED"])
    for (a, b), budget in SERIES.items():
        keys = [k for k in med if a <= k <= b]
        if len(keys) == int(b) - int(a) + 1:
            total = sum(med[k] for k in keys)
            ok = total < budget
            if not ok:
                missed.append(f"{a}-{b}")
            rows.append([f"series {a}-{b}", f"{total:.1f}", "", f"< {budget}",
                         "met" if ok else "MISSED"])
    print(md_table(["notebook", "median s", "range s", "budget s", "target"], rows))
    print(f"\n{args.rounds} rounds; {common.uptime()}")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "notebooks.json").write_text(json.dumps({"times": times, "machine": info},
                                                       indent=1))
    return 2 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
