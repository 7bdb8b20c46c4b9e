"""Grade a folder of submissions offline: `make grade SUBMISSIONS=dir`.

Every entry of the folder is one submission (a notebook file, or a folder holding one) and
gets exactly one row of the gradebook, graded or with the reason it could not be. The tests
are otter-grader 7.0.0's (the bundles `make homework` built, checked against SHA256SUMS), but
they never run in the student's kernel. Each submission is graded by two processes, each in a
sandbox of its own (tools/grade_sandbox.py: bubblewrap, a uid of its own, no network, one
cgroup for its memory and processes):

1. the student's process (tools/grade_student.py) runs the notebook's code cells in order, in
   a folder holding nothing but the notebook: no test, no bundle, no solution, no other
   submission, no repository;
2. the harness (tools/grade_harness.py), fresh, imports a pristine numpy and rnn_core, calls
   the student's functions through a pipe (each call in a forked child of the student's
   process, which can only send back data: tools/grade_wire.py), and runs every test case
   itself, the public ones first. It alone writes the results, on a pipe only this process
   reads: a submission can patch its own numpy, raise what it likes or forge any file, and
   still reach the score only through the values its functions return.

Outputs, in --out:
    gradebook.csv   submission, assignment, status, q1..qN, total, possible, seconds, limits,
                    flags, reason
    feedback/<submission>.txt   points per question, each public test's result and its report
                    when it failed, and "hidden test N: passed" or "failed", nothing more

`flags` lists what the instructor should read: what a static scan of the student's code found
(reading files, patching a module, processes, ctypes...), and answers whose calls entered the
rnn_core function the question's tests compare with. Without root, bwrap or util-linux the
grader refuses to grade (the message names what is missing) unless --unsafe is given.
"""
import argparse
import ast
import csv
import itertools
import json
import os
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

# homework_build writes SHA256SUMS; its sha256 is the one this checks them with. tools/ is on
# sys.path when this runs as a script; the line makes it so when it is loaded by file path.
sys.path.insert(0, str(Path(__file__).resolve().parent))
from homework_build import sha256  # noqa: E402
import grade_sandbox  # noqa: E402
import grade_wire as wire  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "build" / "homework"
# The package the tests import and compare with: its folder is the only part of the repository
# a sandbox sees, and the flag for answers that call its implementation looks inside it.
PACKAGE = "rnn_core"

# What the static scan flags: (label, regex over the code cells' source).
SUSPICIOUS = (
    ("reads or writes files", r"\bopen\s*\(|\bPath\s*\(|\bshutil\.|\bos\.(remove|unlink|rename|replace|rmdir|walk|listdir|scandir|chmod)|\bglob\b|\bfromfile\b|\bloadtxt\b"),
    ("mentions the tests or the bundle", r"tests/|autograder|\.zip\b|otter_config|results\.(json|pkl)|solutions"),
    ("uses otter's internals", r"\botter\b(?!\.Notebook)|\bChecker\b|GradingResults|\bdoctest\b"),
    ("patches a module", r"^\s*(np|numpy|rc|rnn_core|otter|builtins|doctest|pickle|sys|os)(\.\w+)+\s*=[^=]|\bsetattr\s*\(|\bsetprofile\b|\bsettrace\b"),
    ("uses ctypes, signals or exits", r"\bctypes\b|os\.kill|os\._exit|sys\.exit|\bexit\s*\(|\bquit\s*\(|\bsignal\."),
    ("starts processes or threads", r"os\.fork|subprocess|multiprocessing|threading|os\.system|os\.exec|os\.spawn|Popen"),
    ("imports dynamically", r"__import__|importlib|\bexec\s*\(|\beval\s*\(|\bcompile\s*\(|sys\.modules"),
)


def read_sums(build):
    sums = {}
    for line in (build / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split("  ", 1)
        sums[name] = digest
    return sums


def tree_hashes(paths):
    """{path: sha256} of every file under `paths` (the instructor's files)."""
    out = {}
    for base in paths:
        for p in sorted(Path(base).rglob("*")):
            if p.is_file() and "__pycache__" not in p.parts and ".ipynb_checkpoints" not in p.parts:
                out[str(p)] = sha256(p)
    return out


# ---------------------------------------------------------------------------- the submission

class Ungradable(Exception):
    """A submission that cannot be graded; the message is the gradebook's reason."""


def find_notebook(entry):
    """The notebook file of a submission entry (a file, or a folder with one .ipynb)."""
    if entry.is_symlink():
        raise Ungradable("a symbolic link, not a file")
    if entry.is_dir():
        nbs = sorted(p for p in entry.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
        if len(nbs) != 1:
            raise Ungradable(f"expected one .ipynb in the folder, found {len(nbs)}")
        return nbs[0]
    if entry.suffix != ".ipynb":
        raise Ungradable(f"expected a .ipynb file, received {entry.name!r}")
    return entry


def read_notebook(path, max_bytes):
    size = path.stat().st_size
    if size == 0:
        raise Ungradable("empty file")
    if size > max_bytes:
        raise Ungradable(f"file of {size} bytes, above the limit of {max_bytes}")
    try:
        import nbformat
        nb = nbformat.reads(path.read_text(encoding="utf-8"), as_version=4)
        nbformat.validate(nb)
    except Exception as err:   # any parse or schema error: the reason names it
        raise Ungradable(f"not a valid notebook ({type(err).__name__}: {str(err).splitlines()[0][:160]})")
    return nb


def assignment_of(nb, known):
    """The assignment a notebook belongs to, from otter's metadata or its init cell."""
    name = (nb.metadata.get("otter") or {}).get("assignment_name")
    if name in known:
        return name
    for cell in nb.cells:
        m = re.search(r'otter\.Notebook\("([\w\-]+)\.ipynb"\)', cell.source)
        if cell.cell_type == "code" and m and m.group(1) in known:
            return m.group(1)
    raise Ungradable(f"cannot tell which assignment this is (expected one of {sorted(known)})")


def scan(nb, handed_out=frozenset()):
    """The labels of SUSPICIOUS that the student's code matches (cells that are not exactly
    as handed out), and a syntax note. (Naming rnn_core in an answer is no flag: the measure
    questions call its cells and trainer on purpose; what the harness flags is an answer that
    enters the very function its question's tests compare against.)"""
    mine = [c for c in nb.cells if c.cell_type == "code" and c.source not in handed_out]
    source = "\n".join(c.source for c in mine)
    found = [label for label, rx in SUSPICIOUS if re.search(rx, source, flags=re.M)]
    try:
        ast.parse(strip_magics(source))
    except SyntaxError:
        found.append("code with syntax errors")
    return found


def strip_magics(source):
    """A cell without its IPython lines (%magic, !shell), which plain Python cannot run."""
    return "\n".join(l for l in source.splitlines() if not l.lstrip().startswith(("%", "!")))


def _otter_test_case_module():
    """otter 7.0.0's otter/test_files/abstract_test.py (TestCase, and TestFile's share of the
    points between cases), loaded by path: importing the otter package costs seconds."""
    import importlib.util
    spec = importlib.util.find_spec("otter")
    if spec is None:
        raise SystemExit("grade: expected otter-grader installed (make homework installs it)")
    path = Path(list(spec.submodule_search_locations)[0]) / "test_files" / "abstract_test.py"
    loaded = importlib.util.spec_from_file_location("otter_abstract_test", path)
    module = importlib.util.module_from_spec(loaded)
    sys.modules[loaded.name] = module   # dataclasses look their module up there
    loaded.loader.exec_module(module)
    return module


def test_cases(bundle):
    """[{question, index, hidden, points, body}] of a bundle's tests, read as otter 7.0.0's
    OKTestFile.from_spec reads them, with its own share of a question's points between cases."""
    import zipfile
    from textwrap import dedent
    otter_tests = _otter_test_case_module()
    cases = []
    with zipfile.ZipFile(bundle) as z:
        for member in sorted(n for n in z.namelist() if n.startswith("tests/") and n.endswith(".py")):
            spec = {}
            exec(z.read(member).decode(), spec)   # the instructor's bundle, hash-checked
            test = spec["test"]
            if len(test["suites"]) != 1 or test["suites"][0].get("type", "doctest") != "doctest":
                raise SystemExit(f"grade: {bundle}:{member}: expected one doctest suite, as otter requires")
            parsed = [otter_tests.TestCase(name=c.get("name", f"{test['name']} - {i + 1}"),
                                           body=dedent(c["code"]), hidden=c.get("hidden", True),
                                           points=c.get("points"), success_message=None,
                                           failure_message=None)
                      for i, c in enumerate(test["suites"][0]["cases"])]
            parsed = otter_tests.TestFile.resolve_test_file_points(test.get("points"), parsed)
            cases += [{"question": test["name"], "index": i, "hidden": bool(c.hidden),
                       "points": float(c.points), "body": c.body} for i, c in enumerate(parsed)]
    return cases


def setup_code(student_nb):
    """The import statements of the handed-out notebook's code cells (otter's excepted): what
    the harness runs, pristine, before the tests."""
    lines = []
    for cell in student_nb["cells"]:
        if cell["cell_type"] != "code" or "otter_answer_cell" in cell["metadata"].get("tags", []):
            continue
        try:
            tree = ast.parse(strip_magics("".join(cell["source"])))
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, (ast.Import, ast.ImportFrom)) and "otter" not in ast.unparse(node):
                lines.append(ast.unparse(node))
    return "\n".join([f"import {PACKAGE}", *lines])


def natural(name):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


# ---------------------------------------------------------------------------- one submission

class Grader:
    def __init__(self, build, out, timeout, memory, cpu, workers, unsafe=False, call_timeout=60.0,
                 pids=256):
        self.build, self.out = Path(build), Path(out)
        self.timeout, self.memory, self.cpu, self.workers = timeout, memory, cpu, workers
        self.unsafe, self.call_timeout, self.pids = unsafe, call_timeout, pids
        self.sums = read_sums(self.build)
        self.bundles = {Path(n).name[: -len("-autograder.zip")]: self.build / n
                        for n in self.sums if n.startswith("autograder/")}
        self.cases, self.questions, self.setup, self.handed_out = {}, {}, {}, {}
        for name, bundle in self.bundles.items():
            if sha256(bundle) != self.sums[f"autograder/{name}-autograder.zip"]:
                raise SystemExit(f"grade: {bundle} does not match SHA256SUMS: rebuild with make homework")
            self.cases[name] = test_cases(bundle)
            self.questions[name] = sorted({c["question"] for c in self.cases[name]}, key=natural)
            student = json.loads((self.build / "student" / f"{name}.ipynb").read_text(encoding="utf-8"))
            self.setup[name] = setup_code(student)
            self.handed_out[name] = frozenset("".join(c["source"]) for c in student["cells"]
                                              if c["cell_type"] == "code")
        self.problem = grade_sandbox.missing()
        if self.problem and not unsafe:
            raise SystemExit(f"grade: refusing to run untrusted notebooks without the sandbox: "
                             f"{self.problem}. Pass --unsafe to grade anyway (only notebooks you trust).")
        self.cgroup_mode = None if unsafe else grade_sandbox.cgroup_mode()
        self.package_dir = grade_sandbox.rnn_core_dir(PACKAGE)
        base = grade_sandbox.UID_BASE + (os.getpid() % 1_000_000) * 1000
        self._uids = (base + n % 998 for n in itertools.count(0, 2))

    def grade(self, entry):
        t0 = time.monotonic()
        row = {"submission": entry.name, "assignment": "", "status": "error", "total": "",
               "possible": "", "limits": "", "flags": "", "reason": ""}
        report = None
        try:
            nb_path = find_notebook(entry)
            nb = read_notebook(nb_path, 64 << 20)
            row["assignment"] = assignment_of(nb, self.bundles)
            flags = scan(nb, self.handed_out[row["assignment"]])
            report = self._run(row["assignment"], nb, row)
            flags += [f"{q} calls {PACKAGE}'s own {', '.join(sorted(refs))}"
                      for q, refs in report["calls_reference"].items()]
            row["flags"] = "; ".join(flags)
            row["status"] = "graded"
        except Ungradable as err:
            row["reason"] = str(err)
        except Exception as err:   # a bug of ours must still leave the row, with its reason
            row["reason"] = f"grader error: {type(err).__name__}: {err}"
        row["seconds"] = f"{time.monotonic() - t0:.1f}"
        self._feedback(entry.name, row, report)
        return row

    def _run(self, name, nb, row):
        """Run the two sandboxes; fill `row` with the scores; return the harness's report."""
        top = Path(tempfile.mkdtemp(prefix=f"grade-{name}-"))
        boxes, ours = [], []
        try:
            work = top / "work"
            work.mkdir()
            cells = [[i, strip_magics(c.source)] for i, c in enumerate(nb.cells) if c.cell_type == "code"]
            (work / "cells.json").write_text(json.dumps(cells), encoding="utf-8")
            req_r, req_w = os.pipe()
            rep_r, rep_w = os.pipe()
            res_r, res_w = os.pipe()
            ours = [req_r, req_w, rep_r, rep_w, res_w]
            student = grade_sandbox.Sandbox(top, next(self._uids), self.memory, self.pids, self.cpu,
                                            self.cgroup_mode, self.unsafe)
            harness = grade_sandbox.Sandbox(top, next(self._uids), self.memory, 64,
                                            self.cpu, self.cgroup_mode, self.unsafe)
            boxes = [student, harness]
            with open(top / "student.log", "wb") as slog, open(top / "harness.log", "wb") as hlog:
                student.spawn([sys.executable, student.script("grade_student.py"),
                               f"{student.work(work)}/cells.json", str(req_r), str(rep_w), str(self.package_dir),
                               *([] if self.unsafe else ["--sandboxed"])],
                              writable=work, pass_fds=(req_r, rep_w), stdin=subprocess.DEVNULL,
                              stdout=slog, stderr=slog)
                proc = harness.spawn([sys.executable, harness.script("grade_harness.py"),
                                      str(req_w), str(rep_r), str(res_w)],
                                     pass_fds=(req_w, rep_r, res_w), stdin=subprocess.PIPE,
                                     stdout=hlog, stderr=hlog)
            for fd in ours:
                os.close(fd)
            ours = []
            job = {"setup": self.setup[name], "cases": self.cases[name], "package": PACKAGE,
                   "call_timeout": self.call_timeout, "ready_timeout": self.timeout}
            try:
                proc.stdin.write(json.dumps(job).encode())
                proc.stdin.close()
            except BrokenPipeError:
                pass
            report, timed_out = self._collect(res_r, time.monotonic() + self.timeout)
            os.close(res_r)
            ended = None
            if report["stage1"] is not None:   # let its exit status arrive before the kill
                try:
                    ended = student.procs[0].wait(timeout=2)
                except subprocess.TimeoutExpired:
                    pass
            stats = student.close()
            harness.close()
            row["limits"] = _limits_text(stats)
            if report.get("stage1") is not None or timed_out and not report["cases"]:
                raise Ungradable(self._why_no_answers(ended, stats, timed_out))
            if not report["done"]:
                log = (top / "harness.log").read_text(errors="replace").strip().splitlines()
                print(f"grade: {name}: the harness ended early; its log ends with: {log[-3:]}", file=sys.stderr)
                raise Ungradable("grader error: the test harness ended before the last test case")
            scores = {q: 0.0 for q in self.questions[name]}
            possible = {q: 0.0 for q in self.questions[name]}
            for case in report["cases"]:
                possible[case["question"]] += case["points"]
                scores[case["question"]] += case["points"] if case["passed"] else 0.0
            row.update({q: f"{scores[q]:g}" for q in scores})
            row.update(total=f"{sum(scores.values()):g}", possible=f"{sum(possible.values()):g}")
            return report
        finally:
            for fd in ours:
                os.close(fd)
            for box in boxes:
                box.close()
            shutil.rmtree(top, ignore_errors=True)

    def _collect(self, fd, deadline):
        """The harness's frames until it is done, its pipe closes or the deadline passes."""
        report = {"cases": [], "errors": [], "stage1": None, "done": False, "calls_reference": {}}
        while not report["done"]:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                return report, True
            message = wire.recv(fd)
            if message is None:
                break
            op = message.get("op")
            if op == "stage1":
                report["stage1"] = str(message.get("problem"))
                break
            if op == "ready":
                report["errors"] = message.get("errors", [])
            elif op == "case":
                report["cases"].append(message)
                if message.get("calls_reference"):
                    report["calls_reference"].setdefault(message["question"], set()).update(message["calls_reference"])
            elif op == "done":
                report["done"] = True
        return report, False

    def _why_no_answers(self, code, stats, timed_out):
        """The reason when the student's process never got to the tests; `code` is its exit
        status, None when it was still running."""
        if stats.get("oom_kills"):
            return (f"out of memory: the notebook's processes were killed at the limit of "
                    f"{self.memory / 2 ** 30:g} GiB for the whole sandbox")
        if timed_out:
            return f"timed out after {self.timeout:g} s (wall clock) before the answers could be graded"
        if code is None:
            return ("the notebook's process wrote something other than the grader's messages on "
                    "the grader's pipe, or stopped answering")
        return f"the notebook's process ended before its answers could be graded ({_exit_text(code, self.cpu)})"

    def _feedback(self, submission, row, report):
        lines = [f"Submission: {submission}", f"Assignment: {row['assignment'] or '?'}"]
        if row["status"] != "graded":
            lines.append(f"Not graded: {row['reason']}")
        else:
            lines.append(f"Total: {row['total']} / {row['possible']}")
            failed = []
            for q in self.questions[row["assignment"]]:
                cases = [c for c in report["cases"] if c["question"] == q]
                lines.append(f"  {q}: {row[q]} / {sum(c['points'] for c in cases):g} points")
                for hidden in (False, True):
                    for n, c in enumerate(sorted((c for c in cases if c["hidden"] == hidden),
                                                 key=lambda c: c["index"]), 1):
                        verdict = "passed" if c["passed"] else "failed"
                        lines.append(f"    {'hidden' if hidden else 'public'} test {n}: {verdict}")
                        if not hidden and not c["passed"]:
                            failed.append((f"{q} public test {n}", c["report"]))
            errors = [f"cell {i} ({t})" for i, t in report["errors"]]   # checked by the harness
            if errors:
                lines += ["", "Cells that raised an error when the notebook ran top to bottom: "
                          + ", ".join(errors)]
            for title, text in failed:
                lines += ["", f"--- {title} ---", text]
        fb = self.out / "feedback" / (re.sub(r"[^\w.\-]", "_", submission) + ".txt")
        fb.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _limits_text(stats):
    parts = []
    if stats.get("peak") is not None:
        parts.append(f"peak {stats['peak'] / 2 ** 20:.0f} MiB")
    if stats.get("oom_kills"):
        n = stats["oom_kills"]
        parts.append(f"{n} {'process' if n == 1 else 'processes'} killed at the memory limit")
    if stats.get("forks_refused"):
        parts.append(f"{stats['forks_refused']} forks refused at the process limit")
    return "; ".join(parts)


def _exit_text(code, cpu):
    if code is None:
        return "no exit status"
    signo = -code if code < 0 else code - 128 if code > 128 else 0
    if signo:
        import signal
        try:
            name = signal.Signals(signo).name
        except ValueError:
            name = f"signal {signo}"
        if name == "SIGXCPU":
            return f"{name}: the CPU limit of {cpu} s per process"
        return f"killed by {name}"
    return f"exit code {code}"


# ---------------------------------------------------------------------------- the batch

def grade_folder(submissions, build=BUILD, out=None, timeout=300.0, memory=3 << 30, cpu=120,
                 workers=2, unsafe=False, call_timeout=60.0, pids=256):
    """Grade every entry of `submissions`; returns (rows, seconds). Writes gradebook.csv."""
    submissions, build = Path(submissions), Path(build)
    out = Path(out) if out else ROOT / "build" / "grades"
    if not submissions.is_dir():
        raise SystemExit(f"grade: SUBMISSIONS: expected a folder, received {submissions}")
    grader = Grader(build, out, timeout, memory, cpu, workers, unsafe, call_timeout, pids)
    shutil.rmtree(out, ignore_errors=True)
    (out / "feedback").mkdir(parents=True)
    guarded = [build, ROOT / "homework"]
    before = tree_hashes(guarded)
    entries = sorted(submissions.iterdir(), key=lambda p: p.name)
    t0 = time.monotonic()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        rows = list(pool.map(grader.grade, entries))
    seconds = time.monotonic() - t0
    after = tree_hashes(guarded)
    changed = sorted(set(before.items()) ^ set(after.items()))
    qs = sorted({q for qq in grader.questions.values() for q in qq}, key=natural)
    fields = ["submission", "assignment", "status", *qs, "total", "possible", "seconds", "limits",
              "flags", "reason"]
    with open(out / "gradebook.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        w.writeheader()
        for row in rows:
            w.writerow({k: row.get(k, "") for k in fields})
    if changed:
        raise SystemExit(f"grade: the instructor's files changed during grading: {changed[:5]}")
    return rows, seconds


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("submissions")
    ap.add_argument("--build", default=str(BUILD))
    ap.add_argument("--out", default=str(ROOT / "build" / "grades"))
    ap.add_argument("--timeout", type=float, default=300.0, help="wall-clock seconds per submission")
    ap.add_argument("--call-timeout", type=float, default=60.0,
                    help="wall-clock seconds for one call of a student's function")
    ap.add_argument("--cpu", type=int, default=120, help="CPU seconds per process")
    ap.add_argument("--memory", type=float, default=3.0,
                    help="GiB for the whole sandbox of a submission (and of address space per process)")
    ap.add_argument("--pids", type=int, default=256, help="processes in the sandbox of a submission")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--unsafe", action="store_true",
                    help="grade without the sandbox when it cannot be built (only notebooks you trust)")
    args = ap.parse_args(argv)
    rows, seconds = grade_folder(args.submissions, args.build, args.out, args.timeout,
                                 int(args.memory * (1 << 30)), args.cpu, args.workers, args.unsafe,
                                 args.call_timeout, args.pids)
    graded = sum(r["status"] == "graded" for r in rows)
    print(f"grade: {len(rows)} submissions ({graded} graded, {len(rows) - graded} with a reason) "
          f"in {seconds:.1f} s; gradebook {Path(args.out) / 'gradebook.csv'}")


if __name__ == "__main__":
    main()
