"""Run the hostile submissions of tests/homework/test_grading.py through the grader as it was
before the rebuild (commit 5811df0, the "today's grader" of issue 21) and through the current
one, and apply to each gradebook the very check the batch applies (test_grading.HOLES).

A check that passes against the old grader proves nothing: every row of the table must say
"fails on old: yes". Run by hand (about 3 minutes on 2 cores; root and bwrap needed for the
current grader), not in make test:

    sudo PYTHONPATH=$PWD OPENBLAS_NUM_THREADS=1 .venv/bin/python tests/homework/against_old_grader.py

What it does:
1. `git archive 5811df0` into a temporary folder, and there the old build
   (`tools/homework_build.py` of that commit, on its own masters and its own rnn_core), since
   the old grader grades only its own bundles (other questions, other tests).
2. The hostile submissions written by test_grading.write_submissions from that old build: the
   same hostile cells, put in the old assignment's notebooks (the cells read the answers they
   define from the build they are given, so each attack is the same, in the old assignment).
3. The old tools/grade.py as a script, with one change made from outside: the kernel it starts
   gets PYTHONPATH=<old tree>, so that it imports the old rnn_core and its tests find the API
   they were written for (in the issue, the project's rnn_core was installed in the venv from
   the repository, so rnn_core.__file__ was the repository's, as here). Its limits are its
   defaults where they matter (--memory 3: GiB of address space per process, the setting the
   issue found the three children in; at 1 GiB the old Jupyter kernel's own 0.9 GiB of address
   space leaves a child nothing to allocate), with a longer wall clock and CPU limit than the
   batch's (an old `otter run` starts a Jupyter kernel: about 15 s a notebook here).
4. The same submissions, from the current build, through the current grader (--no-current
   skips it).

Not run against the old grader, on purpose: the fork bomb (the old sandbox runs as root, whose
RLIMIT_NPROC the kernel does not enforce, and sets no process limit: it would fill the shared
machine's process table), the unbounded allocation, the infinite loop and the crashes (not
holes the issue names; the current batch checks them).
"""
import argparse
import csv
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OLD = "5811df0"
BASELINE = ["solved_hw1_bptt", "blank_hw1_bptt"]   # other_submissions reads the solved one
SKIPPED = ["fork_bomb", "memory_bomb", "infinite_loop", "os_exit", "sys_exit", "segfault",
           "kill_self", "fork_outlives", "thread_outlives", "huge_output", "writes_elsewhere",
           "planted_q1"]

# The old grade.py as a script, its kernel pointed at the old tree's rnn_core. Its sandbox,
# limits, scan and scoring are untouched.
WRAPPER = r"""
import runpy, subprocess, sys
old = sys.argv[1]
sys.argv = [old + "/tools/grade.py"] + sys.argv[2:]
_Popen = subprocess.Popen
class Popen(_Popen):
    def __init__(self, *args, **kwargs):
        env = kwargs.get("env")
        if env is not None and "HOMEWORK_GRADE_TOKEN" in env:
            kwargs["env"] = dict(env, PYTHONPATH=old)
        super().__init__(*args, **kwargs)
subprocess.Popen = Popen
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def load_tests():
    sys.path.insert(0, str(ROOT / "tests" / "homework"))
    spec = importlib.util.spec_from_file_location("test_grading", ROOT / "tests" / "homework" / "test_grading.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def old_tree(where):
    """The old commit's files and its build, in `where`."""
    if not (where / "tools" / "grade.py").is_file():
        where.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", OLD], check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(where)], input=archive, check=True)
    build = where / "build" / "homework"
    if not (build / "SHA256SUMS").is_file():
        env = dict(os.environ, PYTHONPATH=str(where), OPENBLAS_NUM_THREADS="1")
        subprocess.run([sys.executable, "tools/homework_build.py", "--out", str(build)], cwd=where,
                       env=env, check=True, capture_output=True)
    return build


def rows_of(gradebook):
    with open(gradebook, newline="") as f:
        return {r["submission"]: r for r in csv.DictReader(f)}


def verdicts(tests, build, batch, cases):
    """{case: None if the check passes, else the first line of why it fails}."""
    out = {}
    for name in cases:
        try:
            tests.HOLES[name](build, batch, name)
            out[name] = None
        except Exception as err:   # an AssertionError, or a KeyError on a row the grader lacks
            line = traceback.extract_tb(err.__traceback__)[-1].line
            out[name] = f"{type(err).__name__} at `{line}`"[:200]
    return out


def summary(row):
    if row is None:
        return "no row"
    if row["status"] != "graded":
        return f"error: {row['reason'][:90]}"
    text = f"{row['total']}/{row['possible']}"
    if row.get("limits"):
        text += f"; {row['limits']}"
    if row["flags"]:
        text += f"; flags: {row['flags']}"
    return text


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", default=None, help="folder for the old tree and the gradebooks (a temporary one)")
    ap.add_argument("--no-current", action="store_true", help="grade with the old grader only")
    ap.add_argument("--reuse-old", action="store_true",
                    help="take the old grader's gradebook from an earlier run in --work (same submissions)")
    ap.add_argument("--json", default=None, help="write the table as JSON here too")
    args = ap.parse_args(argv)
    tests = load_tests()
    cases = sorted(tests.HOLES)
    work = Path(args.work or tempfile.mkdtemp(prefix="against-old-"))
    t0 = time.monotonic()
    old_build = old_tree(work / "old")
    print(f"old tree and build of {OLD}: {work / 'old'} ({time.monotonic() - t0:.0f} s)", flush=True)
    sysctls = {k: Path("/proc/sys", k).read_text() for k in tests.SYSCTLS}
    entries = {(n if n.startswith(("variant_", "solved_", "blank_")) else f"hostile_{n}") for n in cases}
    entries |= set(BASELINE)

    results = {}
    for which in ("old", "current"):
        if which == "current" and args.no_current:
            continue
        build = old_build if which == "old" else tests.BUILD
        if which == "current" and tests._stale():
            tests.build_tool.main(["--out", str(build)])
        subs, out = work / f"submissions-{which}", work / f"grades-{which}"
        if which == "old" and args.reuse_old and (out / "gradebook.csv").is_file():
            rows = rows_of(out / "gradebook.csv")
            batch = {"error": None, "rows": rows, "out": out, "subs": subs, "sysctls": sysctls}
            results[which] = {"rows": rows, "checks": verdicts(tests, build, batch, cases)}
            print(f"old grader: the gradebook of an earlier run, {out}", flush=True)
            continue
        subs.mkdir(parents=True, exist_ok=True)
        for p in subs.iterdir():
            p.unlink()
        tests.write_submissions(build, subs, only=entries)
        t1 = time.monotonic()
        if which == "old":
            proc = subprocess.run([sys.executable, "-c", WRAPPER, str(work / "old"), str(subs), "--build",
                                   str(old_build), "--out", str(out), "--timeout", "180", "--cpu", "60",
                                   "--memory", "3", "--workers", "2"],
                                  capture_output=True, text=True)
            if proc.returncode != 0:
                raise SystemExit(f"the old grader failed: {proc.stderr[-3000:]}")
        else:
            tests.grade_tool.grade_folder(subs, build, out, timeout=tests.TIMEOUT, cpu=tests.CPU,
                                          workers=tests.WORKERS, memory=tests.MEMORY, pids=tests.PIDS,
                                          call_timeout=tests.CALL_TIMEOUT)
        print(f"{which} grader: {len(entries)} submissions in {time.monotonic() - t1:.0f} s", flush=True)
        batch = {"error": None, "rows": rows_of(out / "gradebook.csv"), "out": out, "subs": subs,
                 "sysctls": sysctls}
        results[which] = {"rows": batch["rows"], "checks": verdicts(tests, build, batch, cases)}

    print("\n| hostile case | old grader (5811df0) | current grader | check fails on old? | why it fails on old |")
    print("| --- | --- | --- | --- | --- |")
    table, all_fail = [], True
    for name in cases:
        entry = next(e for e in entries if e == name or e == f"hostile_{name}") + ".ipynb"
        old_v = results["old"]["checks"][name]
        cur = results.get("current")
        cur_text = summary(cur["rows"].get(entry)) if cur else "not run"
        if cur:
            cur_text += " (check passes)" if cur["checks"][name] is None else f" (CHECK FAILS: {cur['checks'][name]})"
        all_fail &= old_v is not None
        table.append({"case": name, "old": summary(results["old"]["rows"].get(entry)), "current": cur_text,
                      "fails_on_old": old_v is not None, "why": old_v})
        print(f"| {name} | {table[-1]['old']} | {cur_text} | {'yes' if old_v else 'NO'} | {old_v or ''} |")
    print(f"\nnot run against the old grader: {', '.join(SKIPPED)} (see the docstring)")
    print(f"total {time.monotonic() - t0:.0f} s; work folder {work}")
    if args.json:
        Path(args.json).write_text(json.dumps(table, indent=1) + "\n")
    if not all_fail:
        raise SystemExit("some checks pass against the old grader: they prove nothing")
    if results.get("current") and any(v is not None for v in results["current"]["checks"].values()):
        raise SystemExit("some checks fail against the current grader")


if __name__ == "__main__":
    main()
