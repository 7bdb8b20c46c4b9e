"""Latency of the notebook-03 explorer: from a control change to the new PNG, and its call chain.

For every control (T, activation, W_h family, input scale) set a new value and time until
the explorer has recomputed the sweep, redrawn the figure and put the new PNG into its
image widget (the observer runs synchronously, so this is the time of the assignment).
Changes of T, at T near 200 and near 1000, use values not seen before; a change of
activation or family cycles through the options, so after one round the pixels of the
colour bar and panel (c) are reused: the first visits of the options (full draws, which
happen in the first round only, at T ~200) are reported apart, as their median. Several rounds; the median of each round and the median
of the rounds are printed with `uptime`. Targets: 100 ms at T = 200, 250 ms at T = 1000.

The call chain of one change of T is measured with sys.setprofile, restricted to rnn_core:
calls, functions and modules, and the order in which control passes between modules.

Usage: python benchmarks/bench_widgets.py [--repeats N] [--rounds R]
Prints markdown tables and writes benchmarks/results/widgets.json.
"""
import argparse
import collections
import json
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import matplotlib  # noqa: E402
import numpy as np  # noqa: E402

from rnn_core import render, widgets  # noqa: E402

TARGETS_MS = {200: 100.0, 1000: 250.0}
# A pause before each timed change, as between two moves of a student's slider: OpenBLAS
# threads keep spinning for about 0.2 s after a matmul and would otherwise steal the CPU
# from the drawing of the next change on a 2-core machine.
PAUSE_S = 0.3


def _timed(ex, name, value):
    time.sleep(PAUSE_S)
    png = ex.last_png
    t0 = time.perf_counter()
    ex.controls[name].value = value
    dt = time.perf_counter() - t0
    assert ex.last_error is None, ex.last_error
    assert ex.last_png != png
    return dt


def one_round(ex, repeats):
    """{case: median ms} for one round, and {case: first-visit ms} of the switches."""
    out, first = {}, {}
    for T in TARGETS_MS:
        ex.controls["T"].value = T
        start = T + 1 if T < 1000 else T - repeats - 1
        out[f"T ~{T}: change of T"] = [_timed(ex, "T", v) for v in range(start, start + repeats)]
        scales = [0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 0.01]
        out[f"T ~{T}: input scale"] = [_timed(ex, "input scale", scales[i % len(scales)])
                                       for i in range(repeats)]
        for name in ("activation", "W_h family"):
            options = list(ex.controls[name].options)
            start = options.index(ex.controls[name].value)
            seq = [options[(start + 1 + i) % len(options)] for i in range(repeats + len(options))]
            full_before = ex.pixels.n_full
            times = []
            for v in seq:
                before = ex.pixels.n_full
                times.append((_timed(ex, name, v), ex.pixels.n_full > before))
            first[f"T ~{T}: {name} (first visit, full draw)"] = [t for t, full in times if full]
            out[f"T ~{T}: {name}"] = [t for t, _ in times]
            assert ex.pixels.n_full >= full_before
        ex.controls["activation"].value = "tanh"
        ex.controls["W_h family"].value = "orthogonal"
        ex.controls["input scale"].value = 0.01
    med = {k: 1e3 * statistics.median(v) for k, v in out.items()}
    firsts = {k: 1e3 * statistics.median(v) for k, v in first.items() if v}
    return med, firsts


def call_chain():
    """Calls, functions and modules of rnn_core in one change of T, and the module order."""
    ex = widgets.explorer()
    ex.controls["T"].value = 201
    calls = []

    def prof(frame, event, arg):
        if event == "call":
            mod = frame.f_globals.get("__name__", "")
            if mod.startswith("rnn_core"):
                calls.append((mod, frame.f_code.co_name))

    sys.setprofile(prof)
    ex.controls["T"].value = 202
    sys.setprofile(None)
    ex.close()
    by_module = collections.Counter(m for m, _ in calls)
    order = [calls[0][0]] + [b for (a, _), (b, _) in zip(calls, calls[1:]) if a != b]
    top = ("rnn_core.widgets", "rnn_core.experiments", "rnn_core.plots", "rnn_core.render")
    # the path between the packages of the chain: widgets -> experiments -> (gradflow ...)
    # -> plots -> render, with the sweep's own modules folded into one step
    folded = []
    for m in order:
        m = next((t for t in top if m == t or m.startswith(t + ".")),
                 "the sweep (gradflow, matrices, activations, validate)")
        if not folded or folded[-1] != m:
            folded.append(m)
    return dict(calls=len(calls), functions=len(set(calls)), modules=len(by_module),
                calls_by_module=dict(by_module), path=folded)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=9)
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args(argv)
    chain = call_chain()
    ex = widgets.explorer()
    rounds, firsts = [], []
    for _ in range(args.rounds):
        med, first = one_round(ex, args.repeats)
        rounds.append(med)
        firsts.append(first)
    uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print("## Explorer latency (notebook 03)\n")
    print(f"From a new control value to the new PNG ({len(ex.last_png) // 1024} KiB, "
          f"{render.DPI} dpi); median of {args.repeats} changes per round, {args.rounds} "
          "rounds.\n")
    print("| change | " + " | ".join(f"round {i + 1} (ms)" for i in range(args.rounds))
          + " | median (ms) | target (ms) | meets |")
    print("|---|" + "---|" * (args.rounds + 3))
    rows = []
    for case in rounds[0]:
        vals = [r[case] for r in rounds]
        T = int(case.split("~")[1].split(":")[0])
        m = statistics.median(vals)
        rows.append(dict(change=case, rounds_ms=[round(v, 1) for v in vals],
                         median_ms=round(m, 1), target_ms=TARGETS_MS[T],
                         meets_target=bool(m <= TARGETS_MS[T])))
        print(f"| {case} | " + " | ".join(f"{v:.0f}" for v in vals)
              + f" | {m:.0f} | {TARGETS_MS[T]:.0f} | {'yes' if m <= TARGETS_MS[T] else 'no'} |")
    first_rows = []
    for case in firsts[0]:
        vals = [f[case] for f in firsts if case in f]
        T = int(case.split("~")[1].split(":")[0])
        m = statistics.median(vals)
        first_rows.append(dict(change=case, median_ms=round(m, 1), target_ms=TARGETS_MS[T],
                               meets_target=bool(m <= TARGETS_MS[T])))
        cells = [f"{v:.0f}" for v in vals] + [""] * (args.rounds - len(vals))
        print(f"| {case} | " + " | ".join(cells)
              + f" | {m:.0f} | {TARGETS_MS[T]:.0f} | {'yes' if m <= TARGETS_MS[T] else 'no'} |")
    print(f"\n`uptime` at the end: {uptime}; cpus: {os.cpu_count()}")
    print(f"\n## Call chain of one change of T\n\n{chain['calls']} calls through "
          f"{chain['functions']} functions in {chain['modules']} modules of rnn_core; by module: "
          + ", ".join(f"{m.removeprefix('rnn_core.')} {n}" for m, n in
                      sorted(chain["calls_by_module"].items(), key=lambda kv: -kv[1])))
    print("path: " + " -> ".join(m.removeprefix("rnn_core.") for m in chain["path"]))
    ex.close()
    out = ROOT / "benchmarks" / "results" / "widgets.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(dict(
        repeats=args.repeats, rounds=args.rounds, rows=rows, first_visits=first_rows,
        chain=chain, uptime=uptime, cpus=os.cpu_count(), python=platform.python_version(),
        numpy=np.__version__, matplotlib=matplotlib.__version__,
        machine=platform.machine()), indent=2) + "\n")
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
