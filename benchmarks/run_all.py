"""Run every benchmark script and collect their markdown tables into results/REPORT.md.

Runs bench_cells.py, bench_sweep.py, bench_widgets.py and bench_fit.py (those that exist),
each as its own subprocess with this interpreter, streaming their output. From each script's stdout it
keeps the markdown: headings, tables and the caption line just above a table. A script that
fails is reported with its exit code and the run goes on. Exit code: 0 if all succeeded.
Run: python3 benchmarks/run_all.py   (what `make bench` runs); extra arguments are passed
to bench_cells.py, e.g. --quick.
"""
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results")
SCRIPTS = ("bench_cells.py", "bench_sweep.py", "bench_widgets.py", "bench_fit.py")


def run(script, args=()):
    """Run one script, echoing its stdout live; returns (exit code, stdout, seconds)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, os.path.join(HERE, script), *args],
                            cwd=os.path.dirname(HERE), stdout=subprocess.PIPE, text=True, bufsize=1)
    lines = []
    for line in proc.stdout:
        sys.stdout.write(line)
        sys.stdout.flush()
        lines.append(line.rstrip("\n"))
    return proc.wait(), lines, time.perf_counter() - t0


def markdown(lines):
    """Headings, tables, and the non-empty line right above each table (its caption)."""
    keep = []
    for i, line in enumerate(lines):
        s = line.strip()
        nxt = lines[i + 1].strip() if i + 1 < len(lines) else ""
        if s.startswith("#") or s.startswith("|"):
            if s.startswith("#") and keep and keep[-1] != "":
                keep.append("")
            keep.append(s)
            if s.startswith("|") and not nxt.startswith("|"):
                keep.append("")                     # a blank line ends the table
        elif s and nxt.startswith("|"):
            keep.append(s)
    return keep


def main(argv=None):
    args = sys.argv[1:] if argv is None else argv
    t0 = time.perf_counter()
    report = ["# Benchmark report", "",
              f"{time.strftime('%Y-%m-%d %H:%M')}; `python3 benchmarks/run_all.py`. "
              f"Per-script results (full text and JSON) are next to this file.", ""]
    status = 0
    for script in SCRIPTS:
        if not os.path.exists(os.path.join(HERE, script)):
            print(f"note: benchmarks/{script} is not there: skipped", flush=True)
            report += [f"## {script}", "", "not present: skipped", ""]
            continue
        print(f"\n=== {script} ===", flush=True)
        code, lines, secs = run(script, args if script == "bench_cells.py" else ())
        status = status or code
        report += [f"## {script}", "", f"exit code {code}, {secs:.0f} s", ""]
        report += [("##" + s if s.startswith("#") else s) for s in markdown(lines)]  # nest headings
        report.append("")
    total = time.perf_counter() - t0
    report.append(f"Total: {total:.0f} s.")
    os.makedirs(RESULTS, exist_ok=True)
    path = os.path.join(RESULTS, "REPORT.md")
    with open(path, "w") as f:
        f.write("\n".join(report) + "\n")
    print(f"\nwrote {os.path.relpath(path)} ({total:.0f} s in all)", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
