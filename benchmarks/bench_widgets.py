"""Latency of the notebooks' explorers (03, 05, 07, 08): from a control change to the new PNG,
and the call chain of notebook 03's.

For every control (T, activation, W_h family, input scale) set a new value and time until
the explorer has recomputed the sweep, redrawn the figure and put the new PNG into its
image widget (the observer runs synchronously, so this is the time of the assignment).
Changes of T, at T near 200 and near 1000, use values not seen before; a change of
activation or family cycles through the options, so after one round the pixels of the
colour bar and panel (c) are reused: the first visits of the options (full draws, which
happen in the first round only, at T ~200) are reported apart, as their median. Several rounds; the median of each round and the median
of the rounds are printed with `uptime`. Targets: 100 ms at T = 200, 250 ms at T = 1000.

The cell explorer of notebook 05 (widgets.gates.cell_explorer) is timed the same way: T,
input scale and forget bias (LSTM) take values not seen before, so each of their changes
computes a new sweep (the cache in experiments.gates keeps the ones seen); rho moves along
its grid and never recomputes (the sweep covers every rho); a change of cell is timed on its
first visit at each T (a new sweep of that cell, the tanh RNN's reference kept) and on
later visits (the sweep cached) apart. Same targets.

Notebook 07's cliff explorer (learning rate, clipping threshold) and notebook 08's sampler
(temperature, prime text; a GRU language model of the notebook's size, H = 128, with
untrained seeded weights: the latency does not depend on the weights) are timed the same way,
each change a value not seen before; no target is set for them in the issues.

The call chain of one change of T is measured with sys.setprofile, restricted to rnn_core:
calls, functions and modules, and the order in which control passes between modules.

With --cpu every change is timed by this process's CPU time (time.process_time) instead of
the wall clock: on a machine shared with other work the wall clock measures the load as well.

Usage: python benchmarks/bench_widgets.py [--repeats N] [--rounds R] [--cpu]
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

from rnn_core.plots import render  # noqa: E402
from rnn_core import widgets

TARGETS_MS = {200: 100.0, 1000: 250.0}
# A pause before each timed change, as between two moves of a student's slider: OpenBLAS
# threads keep spinning for about 0.2 s after a matmul and would otherwise steal the CPU
# from the drawing of the next change on a 2-core machine.
PAUSE_S = 0.3


CLOCK = {"now": time.perf_counter}             # main's --cpu sets time.process_time


def _timed(ex, name, value):
    time.sleep(PAUSE_S)
    png = ex.last_png
    t0 = CLOCK["now"]()
    ex.controls[name].value = value
    dt = CLOCK["now"]() - t0
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


def cell_round(ex, repeats, offset):
    """{case: [seconds]} for one round of the cell explorer (values unseen before: `offset`
    moves them from round to round)."""
    out = {}
    for T in TARGETS_MS:
        c = ex.controls
        c["cell"].value, c["rho"].value = "lstm", 1.0
        c["forget bias"].value, c["input scale"].value = 3.0, 1.0
        c["T"].value = T
        start = T + 1 + offset if T < 1000 else T - repeats - 1 - offset
        out[f"T ~{T}: change of T (lstm)"] = [_timed(ex, "T", v) for v in range(start, start + repeats)]
        scales = 10.0 ** (-1.0 + 1.5 * (np.arange(repeats) + 0.37 * offset + 0.5) / repeats)
        out[f"T ~{T}: input scale (lstm)"] = [_timed(ex, "input scale", float(v)) for v in scales]
        biases = 0.5 + 5.0 * (np.arange(repeats) + 0.29 * offset + 0.5) / repeats
        out[f"T ~{T}: forget bias (lstm)"] = [_timed(ex, "forget bias", float(v)) for v in biases]
        rhos = [0.0, 0.4, 0.8, 1.2, 1.6, 2.0, 1.0, 0.6, 1.4]
        out[f"T ~{T}: rho (lstm)"] = [_timed(ex, "rho", rhos[i % len(rhos)]) for i in range(repeats)]
        options = list(c["cell"].options)
        firsts, later = [], []
        now = (c["T"].value, c["input scale"].value)
        ex_seen.update({("lstm", *now, c["forget bias"].value), ("rnn (tanh)", *now, None)})
        for i in range(repeats + len(options)):
            v = options[(options.index(c["cell"].value) + 1) % len(options)]
            key = (v, *now, c["forget bias"].value if v == "lstm" else None)
            (later if key in ex_seen else firsts).append(_timed(ex, "cell", v))
            ex_seen.add(key)
        out[f"T ~{T}: cell, first visit (new sweep)"] = firsts
        out[f"T ~{T}: cell, later visits (sweep cached)"] = later
    return out


ex_seen = set()


def cell_explorer_table(repeats, rounds):
    """Rows of the notebook-05 explorer's latency table (median per round, median of rounds)."""
    from rnn_core.widgets import gates as wg
    ex = wg.cell_explorer()
    per_round = [{k: 1e3 * statistics.median(v) for k, v in cell_round(ex, repeats, r).items() if v}
                 for r in range(rounds)]
    ex.close()
    rows = []
    for case in per_round[0]:
        vals = [r[case] for r in per_round if case in r]
        T = int(case.split("~")[1].split(":")[0])
        m = statistics.median(vals)
        rows.append(dict(change=case, rounds_ms=[round(v, 1) for v in vals], median_ms=round(m, 1),
                         target_ms=TARGETS_MS[T], meets_target=bool(m <= TARGETS_MS[T])))
    return rows


def other_explorers_table(repeats, rounds):
    """Rows for the cliff explorer (notebook 07) and the sampler (notebook 08): median ms of
    `repeats` new values per control and round, and the median of the rounds."""
    from rnn_core.experiments import language
    from rnn_core.widgets import language as wl
    from rnn_core.widgets import remedies as wr
    chars, _, _ = language.text_ids()
    params = language.init_lm("gru", len(chars), 128, seed=0)
    cases = {
        "cliff (07): learning rate": (wr.cliff_explorer, "learning rate",
                                      lambda i: 0.05 + 0.01 * i),
        "cliff (07): clipping threshold": (wr.cliff_explorer, "clipping threshold",
                                           lambda i: 0.2 + 0.05 * i),
        "sampler (08): temperature": (lambda: wl.sampler("gru", params, chars, prime="Mr. Darcy "),
                                      "temperature", lambda i: 0.1 + 0.05 * i),
        "sampler (08): prime text": (lambda: wl.sampler("gru", params, chars, prime="Mr. Darcy "),
                                     "prime", lambda i: "Mr. Darcy " + "abcdefghijklmnop"[:i + 1]),
    }
    rows = []
    for case, (build, control, value) in cases.items():
        ex = build()
        per_round = []
        for r in range(rounds):
            vals = [value(r * repeats + i) for i in range(repeats)]
            per_round.append(1e3 * statistics.median(_timed(ex, control, v) for v in vals))
        ex.close()
        rows.append(dict(change=case, rounds_ms=[round(v, 1) for v in per_round],
                         median_ms=round(statistics.median(per_round), 1)))
    return rows


def call_chain():
    """Calls, functions and modules of rnn_core in one change of T, and the module order."""
    ex = widgets.vanishing.explorer()
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
    top = ("rnn_core.widgets", "rnn_core.experiments", "rnn_core.plots", "rnn_core.plots.render")
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
    p.add_argument("--cpu", action="store_true", help="time by process CPU time, not wall time")
    args = p.parse_args(argv)
    if args.cpu:
        CLOCK["now"] = time.process_time
    chain = call_chain()
    ex = widgets.vanishing.explorer()
    rounds, firsts = [], []
    for _ in range(args.rounds):
        med, first = one_round(ex, args.repeats)
        rounds.append(med)
        firsts.append(first)
    uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print("## Explorer latency (notebook 03)\n")
    print(f"From a new control value to the new PNG ({len(ex.last_png) // 1024} KiB, "
          f"{render.DPI} dpi); median of {args.repeats} changes per round, {args.rounds} "
          f"rounds; {'process CPU time' if args.cpu else 'wall time'}.\n")
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
    cell_rows = cell_explorer_table(args.repeats, args.rounds)
    print("\n## Cell explorer latency (notebook 05)\n")
    print("| change | " + " | ".join(f"round {i + 1} (ms)" for i in range(args.rounds))
          + " | median (ms) | target (ms) | meets |")
    print("|---|" + "---|" * (args.rounds + 3))
    for r in cell_rows:
        cells = [f"{v:.0f}" for v in r["rounds_ms"]] + [""] * (args.rounds - len(r["rounds_ms"]))
        print(f"| {r['change']} | " + " | ".join(cells) + f" | {r['median_ms']:.0f} | "
              f"{r['target_ms']:.0f} | {'yes' if r['meets_target'] else 'no'} |")
    other_rows = other_explorers_table(max(3, args.repeats // 3), args.rounds)
    print("\n## Cliff explorer (notebook 07) and sampler (notebook 08)\n")
    print("| change | " + " | ".join(f"round {i + 1} (ms)" for i in range(args.rounds))
          + " | median (ms) |")
    print("|---|" + "---|" * (args.rounds + 1))
    for r in other_rows:
        print(f"| {r['change']} | " + " | ".join(f"{v:.0f}" for v in r["rounds_ms"])
              + f" | {r['median_ms']:.0f} |")
    uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
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
        cell_explorer_rows=cell_rows, other_explorer_rows=other_rows,
        chain=chain, uptime=uptime, cpus=os.cpu_count(), python=platform.python_version(),
        numpy=np.__version__, matplotlib=matplotlib.__version__,
        machine=platform.machine()), indent=2) + "\n")
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
