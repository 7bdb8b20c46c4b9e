"""Run every benchmark (what `make bench` runs) and collect their tables in results/REPORT.md.

Runs bench_cells.py, bench_sweep.py, bench_widgets.py and bench_fit.py, each as its own
process with this interpreter, one after the other, echoing their output. From each one's
output the report keeps the headings, the tables and the line above each table, and puts
`uptime` (time and load) under every table that does not already carry it. A script that
fails is reported with its exit code and the run goes on; the exit code is that of the
first failure, or 0.
OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE, if set, are unset together for these processes
only (see common.py); each script reports the BLAS kernel that ran.
Run: python3 benchmarks/run_all.py [script ...]   (default: all four)
"""
import os
import subprocess
import sys
import time

import common

SCRIPTS = ("bench_cells.py", "bench_sweep.py", "bench_widgets.py", "bench_fit.py")


def report_lines(lines, uptime=common.uptime):
    """The report's part of a script's output lines, read as they come: headings (nested one
    level), tables with the line above each, and `uptime` under every table that the script
    does not follow with a load line itself (uptime() is called when the table ends)."""
    keep, prev, in_table, pending = [], "", False, None
    for line in lines:
        s = line.strip()
        if in_table and not s.startswith("|"):       # a table just ended
            in_table, pending = False, f"`{uptime()}`"
        if s and pending:
            keep += [] if "load average" in s else ["", pending, ""]
            pending = None
        if s.startswith("|"):
            if not in_table and prev and not prev.startswith("#"):
                keep += [prev, ""]                   # the caption above the table
            in_table = True
            keep.append(s)
        elif s.startswith("#"):
            keep += ["", "#" + s, ""]
        elif "load average" in s:
            keep += ["", s, ""]
        if s:
            prev = s
    if in_table or pending:
        keep += ["", pending or f"`{uptime()}`"]
    return keep


def run(script):
    """Run one script, echoing its stdout; returns (exit code, report lines, seconds)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, os.path.join(common.HERE, script)], cwd=common.ROOT,
                            stdout=subprocess.PIPE, text=True, bufsize=1)   # common.UNSET is gone

    def echo():
        for line in proc.stdout:
            sys.stdout.write(line)
            sys.stdout.flush()
            yield line
    keep = report_lines(echo())
    return proc.wait(), keep, time.perf_counter() - t0


def main(argv=None):
    scripts = (sys.argv[1:] if argv is None else argv) or SCRIPTS
    t0 = time.perf_counter()
    info = common.machine_info()
    report = ["# Benchmark report", "", f"{time.strftime('%Y-%m-%d %H:%M')}, `make bench`.",
              "", common.machine_line(info), "", f"`{info['uptime']}`", ""]
    status = 0
    for script in scripts:
        print(f"\n=== {script} ===", flush=True)
        code, lines, secs = run(script)
        status = status or code
        report += [f"## {script}: exit code {code}, {secs:.0f} s", *lines, ""]
    report.append(f"Total: {time.perf_counter() - t0:.0f} s.")
    os.makedirs(common.RESULTS, exist_ok=True)
    path = os.path.join(common.RESULTS, "REPORT.md")
    with open(path, "w") as f:
        f.write("\n".join(report) + "\n")
    print(f"\nwrote {os.path.relpath(path)}", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
