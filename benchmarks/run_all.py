"""Run every benchmark (what `make bench` runs) and collect their tables in results/REPORT.md.

Runs bench_cells.py, bench_sweep.py, bench_widgets.py, bench_fit.py, bench_notebooks.py and
bench_multirun.py, each as its own
process with this interpreter, one after the other, echoing their output. From each one's
stdout (progress goes to stderr) the report keeps everything, headings nested one level,
and puts `uptime` (time and load) under every table that does not already carry it. A script that
fails is reported with its exit code and the run goes on; the exit code is that of the
first failure, or 0.
OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE, if set, are unset together for these processes
only (see common.py); each script reports the BLAS kernel that ran.
Run: python3 benchmarks/run_all.py [script ...]   (default: all of them)
"""
import os
import subprocess
import sys
import time

import common

SCRIPTS = ("bench_cells.py", "bench_sweep.py", "bench_widgets.py", "bench_fit.py", "bench_notebooks.py",
           "bench_multirun.py")


def report_lines(lines, uptime=common.uptime):
    """A script's stdout lines as they come, for the report: headings nested one level,
    blank lines around tables, and `uptime` after every table that the script does not
    follow with a load line of its own before its next table or heading (uptime() is
    called when the table ends, so it shows the load of that moment)."""
    keep, in_table, pending = [], False, None

    def add(*new):
        for line in new:
            if line or (keep and keep[-1]):          # no double blank lines
                keep.append(line)

    def flush():
        nonlocal pending
        if pending:
            add("", pending, "")
            pending = None
    for line in lines:
        s = line.rstrip()
        if in_table and not s.startswith("|"):       # a table just ended
            in_table, pending = False, f"`{uptime()}`"
            add("")
        if "load average" in s:
            pending = None
        if s.startswith("#"):
            flush()
            add("", "#" + s, "")
        elif s.startswith("|"):
            if not in_table:
                flush()
                add("")
            in_table = True
            keep.append(s)
        else:
            add(s)
    if in_table:
        pending = f"`{uptime()}`"
    flush()
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
        report += [f"## {script}: exit code {code}, {secs:.0f} s", "", *lines, ""]
    report.append(f"Total: {time.perf_counter() - t0:.0f} s.")
    os.makedirs(common.RESULTS, exist_ok=True)
    path = os.path.join(common.RESULTS, "REPORT.md")
    with open(path, "w") as f:
        f.write("\n".join(report) + "\n")
    print(f"\nwrote {os.path.relpath(path)}", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
