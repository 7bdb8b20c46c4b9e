"""Latency of the notebook-03 explorer: from a control change to the new PNG on screen.

For each activation, set controls["T"].value to a new value (a different one each time, so
nothing is reused from an earlier setting) and time until the explorer has recomputed the
sweep, redrawn the figure and put the new PNG into its Output widget (the observer runs
synchronously, so this is the time of the assignment). Median over REPEATS changes, near
T = 200 (the default) and near T = 1000 (the largest), against the targets of 150 ms and
400 ms. The split into sweep and drawing comes from timing the two halves separately.
A change of activation, which redraws everything, is timed too.

Usage: python benchmarks/bench_widgets.py [--repeats N]
Prints a markdown table and writes benchmarks/results/widgets.json.
"""
import argparse
import json
import os
import pathlib
import platform
import statistics
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import matplotlib  # noqa: E402
import numpy as np  # noqa: E402

from rnn_core import gradflow, plots, widgets  # noqa: E402

TARGETS_MS = {200: 150.0, 1000: 400.0}
# A pause before each timed change, as between two moves of a student's slider: OpenBLAS
# threads keep spinning for about 0.2 s after a matmul and would otherwise steal the CPU
# from the drawing of the next change on a 2-core machine.
PAUSE_S = 0.3
ACTIVATIONS = ("tanh", "sigmoid", "relu", "linear")


def _values(T, n):
    """n distinct sequence lengths next to T, within 1..1000."""
    return [T + 1 + i for i in range(n)] if T + n < 1000 else [T - 1 - i for i in range(n)]


def measure(ex, T, repeats):
    """Median seconds of (full update, sweep only, draw + PNG only) over `repeats` changes."""
    ex.controls["T"].value = T + 0 if T < 1000 else 1000
    full, sweep, draw = [], [], []
    for value in _values(T, repeats):
        png = ex.last_png
        time.sleep(PAUSE_S)
        t0 = time.perf_counter()
        ex.controls["T"].value = value
        full.append(time.perf_counter() - t0)
        assert ex.last_error is None, ex.last_error
        assert ex.last_png != png and ex.last_sweep.T == value
        kw = ex.settings()
        time.sleep(PAUSE_S)
        t0 = time.perf_counter()
        s = gradflow.sweep(**kw)
        t1 = time.perf_counter()
        fig = plots.explorer_figure(s, fig=ex._fig)
        widgets.png_bytes(fig, static=plots.explorer_static_parts(fig))
        t2 = time.perf_counter()
        sweep.append(t1 - t0)
        draw.append(t2 - t1)
    return statistics.median(full), statistics.median(sweep), statistics.median(draw)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=15)
    args = p.parse_args(argv)
    ex = widgets.explorer()
    rows = []
    for act in ACTIVATIONS:
        ex.controls["activation"].value = act
        for T, target in TARGETS_MS.items():
            full, sweep, draw = measure(ex, T, args.repeats)
            rows.append(dict(activation=act, T=T, median_ms=round(1e3 * full, 1),
                             sweep_ms=round(1e3 * sweep, 1), draw_png_ms=round(1e3 * draw, 1),
                             target_ms=target, meets_target=bool(1e3 * full <= target)))
    print("## Explorer latency (notebook 03)\n")
    print(f"Median of {args.repeats} changes of T, from the new value to the new PNG "
          f"({len(ex.last_png) // 1024} KiB, dpi {widgets.DPI}):")
    print("| activation | T | median (ms) | sweep (ms) | figure + PNG (ms) | target (ms) | meets |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['activation']} | ~{r['T']} | {r['median_ms']:.0f} | {r['sweep_ms']:.0f} | "
              f"{r['draw_png_ms']:.0f} | {r['target_ms']:.0f} | "
              f"{'yes' if r['meets_target'] else 'no'} |")
    # A change of activation redraws everything (new colour scale and spectrum): no reuse.
    ex.controls["T"].value = 200
    switch = []
    for i in range(args.repeats + 1):
        act = ACTIVATIONS[(i + 1) % len(ACTIVATIONS)]
        time.sleep(PAUSE_S)
        t0 = time.perf_counter()
        ex.controls["activation"].value = act
        switch.append(time.perf_counter() - t0)
        assert ex.last_error is None and ex.last_sweep.activation == act
    switch_ms = round(1e3 * statistics.median(switch), 1)
    print(f"\nchanging the activation at T = 200 (full redraw): median {switch_ms:.0f} ms "
          f"over {len(switch)} changes (target {TARGETS_MS[200]:.0f} ms)")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    print(f"\nload average at the end: {load}, cpus: {os.cpu_count()}")
    out = ROOT / "benchmarks" / "results" / "widgets.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(dict(
        repeats=args.repeats, rows=rows, activation_switch_median_ms=switch_ms,
        load_average=load, cpus=os.cpu_count(),
        python=platform.python_version(), numpy=np.__version__,
        matplotlib=matplotlib.__version__, machine=platform.machine()), indent=2) + "\n")
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
