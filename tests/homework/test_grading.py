"""The homework path end to end: masters -> otter assign -> student notebooks and bundles ->
a batch of submissions (right, blank, one planted mistake, hostile) -> the gradebook.

One build (build/homework, made by `make homework`, or here if it is missing or stale) and
one batch: every submission is graded once, two at a time, by tools/grade.py. The gradebook,
the time of each submission and of the batch are printed (pytest -s or -rP shows them).
"""
import copy
import csv
import hashlib
import importlib.util
import json
import re
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "build" / "homework"
MASTERS = sorted(p / f"{p.name}.ipynb" for p in (ROOT / "homework").iterdir() if p.is_dir())
NAMES = [m.stem for m in MASTERS]
HW1 = "hw1_bptt"
# Grading limits of the test batch: wall clock generous enough for a loaded machine (a
# normal submission takes 10-15 s quiet and up to ~70 s at load 10 on 2 cores), CPU time
# low enough that the infinite loop ends on the CPU limit (a normal kernel uses ~5 s).
TIMEOUT, CPU = 240.0, 30


def _load(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


build_tool, grade_tool = _load("homework_build"), _load("grade")


def _stale():
    sums = BUILD / "SHA256SUMS"
    if not sums.is_file():
        return True
    newest = max(p.stat().st_mtime for p in [*MASTERS, ROOT / "tools" / "homework_build.py"])
    return sums.stat().st_mtime < newest or any(
        not (BUILD / "student" / f"{n}.ipynb").is_file() for n in NAMES)


@pytest.fixture(scope="session")
def build():
    if _stale():
        build_tool.main(["--out", str(BUILD)])
    return BUILD


def nb(path):
    return json.loads(Path(path).read_text(encoding="utf-8"))


def solved(build, name):
    """The student notebook with every answer cell replaced by the solutions' cell."""
    student = nb(build / "student" / f"{name}.ipynb")
    sol = nb(build / "solutions" / f"{name}-solutions.ipynb")
    assert len(student["cells"]) == len(sol["cells"])
    for i, cell in enumerate(student["cells"]):
        if "otter_answer_cell" in cell["metadata"].get("tags", []):
            cell["source"] = sol["cells"][i]["source"]
    return student


def with_cell(notebook, source, at=4):
    out = copy.deepcopy(notebook)
    out["cells"].insert(at, {"cell_type": "code", "execution_count": None, "id": "hostile",
                             "metadata": {}, "outputs": [], "source": source})
    return out


HOSTILE = {
    # name: (cell source, placed into the solved notebook (True) or the blank one (False))
    "infinite_loop": ("while True:\n    pass", True),
    "os_exit": ("import os\nos._exit(3)", True),
    "sys_exit": ("import sys\nsys.exit('bye')", True),
    "segfault": ("import ctypes\nctypes.string_at(0)", True),
    "kill_self": ("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)", True),
    "fork_outlives": ("import os, time\nif os.fork() == 0:\n    time.sleep(10 ** 6)", True),
    "thread_outlives": ("import threading, time\nthreading.Thread(target=time.sleep, args=(10 ** 6,)).start()", True),
    "huge_output": ("for _i in range(200000):\n    print('spam ' * 40)", True),
    "writes_elsewhere": (
        "import glob, os, pathlib\n"
        "for _p in glob.glob('../../*.zip') + glob.glob('/tmp/grade-*/bundle.zip') + "
        f"glob.glob({str(BUILD)!r} + '/autograder/*.zip'):\n"
        "    for _f in (lambda p: open(p, 'wb').write(b'x'), os.remove):\n"
        "        try:\n            _f(_p)\n        except OSError as e:\n            print(e)\n"
        f"for _d in ('..', '../..', {str(ROOT / 'homework')!r}, '/tmp'):\n"
        "    try:\n        pathlib.Path(_d, 'planted.txt').write_text('x')\n"
        "    except OSError as e:\n        print(e)", True),
    "patch_numpy": ("import numpy as np\nnp.allclose = lambda *a, **k: True", False),
    "patch_framework": ("import doctest\n"
                        "doctest.DocTestRunner.summarize = lambda self, verbose=None: doctest.TestResults(0, 1)",
                        False),
    "reads_hidden_tests": ("import glob\nfor _p in glob.glob('**/tests/*.py', recursive=True) + glob.glob('tests/*.py'):\n"
                           "    print(open(_p).read()[:200])", False),
    "memory_bomb": ("import numpy as np\n_hog = []\nwhile True:\n    _hog.append(np.ones(2 ** 24))", True),
}


@pytest.fixture(scope="session")
def batch(build, tmp_path_factory):
    subs = tmp_path_factory.mktemp("submissions")
    expected = {}
    for name in NAMES:
        (subs / f"solved_{name}.ipynb").write_text(json.dumps(solved(build, name)))
        (subs / f"blank_{name}.ipynb").write_bytes((build / "student" / f"{name}.ipynb").read_bytes())
    wrong = solved(build, HW1)
    cell = next(c for c in wrong["cells"] if "def rnn_step_forward" in "".join(c["source"]))
    src = "".join(cell["source"])
    assert "np.tanh(" in src
    cell["source"] = src.replace("np.tanh(", "1 / (1 + np.exp(-(").replace(" + b)", " + b)))")
    (subs / "planted_q1.ipynb").write_text(json.dumps(wrong))
    blank1 = nb(build / "student" / f"{HW1}.ipynb")
    for name, (source, answers) in HOSTILE.items():
        base = solved(build, HW1) if answers else blank1
        (subs / f"hostile_{name}.ipynb").write_text(json.dumps(with_cell(base, source)))
    (subs / "hostile_empty.ipynb").write_bytes(b"")
    (subs / "hostile_not_json.ipynb").write_text("{this is not a notebook")
    (subs / "hostile_bad_schema.ipynb").write_text(json.dumps({"cells": 3, "nbformat": 4}))
    (subs / "hostile_not_a_notebook.txt").write_text("my answers are in my head")
    out = tmp_path_factory.mktemp("grades")
    guarded = grade_tool.tree_hashes([build, ROOT / "homework"])
    t0 = time.monotonic()
    try:
        rows, seconds = grade_tool.grade_folder(subs, build, out, timeout=TIMEOUT, cpu=CPU, workers=2)
    except (SystemExit, Exception) as err:   # pytest would run a failed session fixture again
        return {"error": f"{type(err).__name__}: {err}"}
    wall = time.monotonic() - t0
    load = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else "?"
    print(f"\nbatch of {len(rows)} submissions graded in {seconds:.1f} s (load {' '.join(load)}):")
    print((out / "gradebook.csv").read_text())
    return {"error": None, "rows": {r["submission"]: r for r in rows}, "entries": sorted(p.name for p in subs.iterdir()),
            "out": out, "seconds": wall, "guarded": guarded}


def points(build, name):
    with zipfile.ZipFile(build / "autograder" / f"{name}-autograder.zip") as z:
        cfg = {}
        for n in sorted(z.namelist()):
            if n.startswith("tests/"):
                g = {}
                exec(z.read(n).decode(), g)
                cfg[g["test"]["name"]] = float(g["test"]["points"])
    return cfg


# ---------------------------------------------------------------------------- the build

def test_build_is_deterministic(build, tmp_path):
    again = tmp_path / "again"
    build_tool.main(["--out", str(again), str(ROOT / "homework" / "hw2_vanishing" / "hw2_vanishing.ipynb")])
    for rel in ("student/hw2_vanishing.ipynb", "solutions/hw2_vanishing-solutions.ipynb",
                "autograder/hw2_vanishing-autograder.zip"):
        assert (again / rel).read_bytes() == (build / rel).read_bytes(), f"{rel} differs between builds"
    with zipfile.ZipFile(build / "autograder" / "hw2_vanishing-autograder.zip") as z:
        assert {i.date_time for i in z.infolist()} == {build_tool.FIXED_DATE}


def test_every_question_has_points_and_public_and_hidden_tests(build):
    for name in NAMES:
        with zipfile.ZipFile(build / "autograder" / f"{name}-autograder.zip") as z:
            tests = [n for n in z.namelist() if n.startswith("tests/")]
            assert len(tests) >= 3, f"{name}: expected at least 3 questions, received {tests}"
            for n in tests:
                g = {}
                exec(z.read(n).decode(), g)
                cases = g["test"]["suites"][0]["cases"]
                hidden = [c["hidden"] for c in cases]
                assert g["test"]["points"] > 0 and False in hidden and True in hidden, (name, n, hidden)


def _solution_lines(master):
    """Lines of code between BEGIN/END SOLUTION, and the hidden tests' lines, of a master."""
    sol, hidden = set(), set()
    for cell in nb(master)["cells"]:
        src = "".join(cell["source"])
        if cell["cell_type"] != "code":
            continue
        if src.startswith("# HIDDEN"):
            hidden |= {l.strip() for l in src.splitlines()[1:] if len(l.strip()) > 12}
        inside = False
        for line in src.splitlines():
            if "# END SOLUTION" in line:
                inside = False
            if inside and len(line.strip()) > 8:
                sol.add(line.strip())
            if "# BEGIN SOLUTION" in line:
                inside = True
    return sol, hidden


def test_no_solution_and_no_hidden_test_reaches_the_students(build):
    for master in MASTERS:
        sol, hidden = _solution_lines(master)
        assert sol and hidden, master
        text = (build / "student" / f"{master.stem}.ipynb").read_text()
        decoded = json.dumps(nb(build / "student" / f"{master.stem}.ipynb"))
        for line in sol:
            assert line not in text and json.dumps(line)[1:-1] not in decoded, (master.stem, line)
        # hidden tests are stored reformatted as doctests: compare their distinctive seeds
        seeds = {m for l in hidden for m in re.findall(r"default_rng\(\d+\)", l)}
        assert seeds, master
        for s in seeds:
            assert s not in text, (master.stem, s)
        with zipfile.ZipFile(build / "autograder" / f"{master.stem}-autograder.zip") as z:
            bundle = "".join(z.read(n).decode() for n in z.namelist() if n.startswith("tests/"))
        assert all(s in bundle for s in seeds), "the bundle must carry the hidden tests"


RUN_NOTEBOOK = """
import json, sys, nbformat
from nbclient import NotebookClient
path = sys.argv[1]
node = nbformat.read(path, as_version=4)
NotebookClient(node, timeout=120, kernel_name="python3", resources={"metadata": {"path": sys.argv[2]}}).execute()
errors = [o["ename"] for c in node.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
print(json.dumps({"verdict": "".join(o.get("text", "") for o in node.cells[-1].outputs).strip(), "errors": errors}))
"""


def test_public_tests_pass_on_the_solutions(build, tmp_path):
    """Run each solved student notebook in a kernel, as a student would (in a process of its
    own, two at a time), and ask otter's grader.check whether the public tests pass."""
    from concurrent.futures import ThreadPoolExecutor

    def run(name):
        work = tmp_path / name
        work.mkdir()
        notebook = solved(build, name)
        (work / f"{name}.ipynb").write_text(json.dumps(notebook))
        qs = sorted(points(build, name))
        notebook["cells"].append({"cell_type": "code", "execution_count": None, "id": "verdict",
                                  "metadata": {}, "outputs": [], "source":
                                  f"print({{q: grader.check(q).passed_all_public for q in {qs!r}}})"})
        (work / "run.ipynb").write_text(json.dumps(notebook))
        proc = subprocess.run([sys.executable, "-c", RUN_NOTEBOOK, str(work / "run.ipynb"), str(work)],
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-2000:]
        return name, qs, json.loads(proc.stdout.strip().splitlines()[-1])

    with ThreadPoolExecutor(2) as pool:
        for name, qs, got in pool.map(run, NAMES):
            assert got["verdict"] == str({q: True for q in qs}) and not got["errors"], (name, got)


# ---------------------------------------------------------------------------- the batch

def test_every_submission_has_exactly_one_row(batch):
    assert batch["error"] is None, batch["error"]
    assert sorted(batch["rows"]) == batch["entries"]
    with open(batch["out"] / "gradebook.csv", newline="") as f:
        assert sorted(r["submission"] for r in csv.DictReader(f)) == batch["entries"]
    for name, row in batch["rows"].items():
        assert row["status"] in ("graded", "error"), row
        assert row["status"] == "graded" or row["reason"], f"{name}: an error row needs a reason"
        fb = batch["out"] / "feedback" / (re.sub(r"[^\w.\-]", "_", name) + ".txt")
        assert fb.is_file(), f"no feedback for {name}"


def test_solutions_score_full_marks_and_blanks_zero(build, batch):
    assert batch["error"] is None, batch["error"]
    for name in NAMES:
        full = sum(points(build, name).values())
        row = batch["rows"][f"solved_{name}.ipynb"]
        assert row["status"] == "graded" and float(row["total"]) == full == float(row["possible"]), row
        blank = batch["rows"][f"blank_{name}.ipynb"]
        assert blank["status"] == "graded" and float(blank["total"]) == 0.0, blank
        assert not row["flags"] and not blank["flags"], (row["flags"], blank["flags"])


def test_a_planted_mistake_loses_exactly_its_question(build, batch):
    assert batch["error"] is None, batch["error"]
    pts = points(build, HW1)
    row, right = batch["rows"]["planted_q1.ipynb"], batch["rows"][f"solved_{HW1}.ipynb"]
    assert float(row["q1"]) == 0.0
    assert all(float(row[q]) == float(right[q]) == pts[q] for q in pts if q != "q1")
    assert float(row["total"]) == sum(pts.values()) - pts["q1"]


def test_hostile_submissions_are_graded_or_reported(build, batch):
    assert batch["error"] is None, batch["error"]
    rows, full = batch["rows"], sum(points(build, HW1).values())
    died = ("os_exit", "segfault", "kill_self")
    for name in died:
        r = rows[f"hostile_{name}.ipynb"]
        assert r["status"] == "error" and "kernel died" in r["reason"], r
    loop = rows["hostile_infinite_loop.ipynb"]
    assert loop["status"] == "error" and re.search(r"CPU limit|timed out", loop["reason"]), loop
    for name in ("sys_exit", "fork_outlives", "thread_outlives", "writes_elsewhere"):
        r = rows[f"hostile_{name}.ipynb"]
        assert r["status"] == "graded" and float(r["total"]) == full, r
    assert float(rows["hostile_reads_hidden_tests.ipynb"]["total"]) == 0.0
    for name, flag in (("patch_numpy", "patches a module"), ("patch_framework", "patches a module"),
                       ("reads_hidden_tests", "reads or writes files"), ("writes_elsewhere", "reads or writes files"),
                       ("os_exit", "exits"), ("segfault", "ctypes"), ("fork_outlives", "starts processes")):
        assert flag in rows[f"hostile_{name}.ipynb"]["flags"], (name, rows[f"hostile_{name}.ipynb"]["flags"])
    for name in ("huge_output", "memory_bomb"):   # the print and the MemoryError stay in the cell
        r = rows[f"hostile_{name}.ipynb"]
        assert r["status"] == "graded" and float(r["total"]) == full, r
    assert rows["hostile_empty.ipynb"]["reason"] == "empty file"
    for name in ("not_json", "bad_schema"):
        assert rows[f"hostile_{name}.ipynb"]["reason"].startswith("not a valid notebook")
    assert "expected a .ipynb file" in rows["hostile_not_a_notebook.txt"]["reason"]


def test_nothing_outside_a_submission_changed(build, batch):
    assert batch["error"] is None, batch["error"]
    assert grade_tool.tree_hashes([build, ROOT / "homework"]) == batch["guarded"]
    sums = grade_tool.read_sums(build)
    for rel, digest in sums.items():
        assert hashlib.sha256((build / rel).read_bytes()).hexdigest() == digest, rel
    assert not list((ROOT / "homework").rglob("planted.txt")) and not Path("/tmp/planted.txt").exists()


def test_installed_otter_keeps_the_notebook_stack_pins():
    from importlib import metadata
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if "==" in line:
            name, version = line.split("==")
            assert metadata.version(name) == version, f"{name}: pinned {version}, installed {metadata.version(name)}"
    assert metadata.version("otter-grader") == "7.0.0"
    check = subprocess.run([sys.executable, "-m", "pip", "check"], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


def _closure(roots):
    """{normalised name: installed version} of `roots` and everything they require."""
    from importlib import metadata
    from packaging.requirements import Requirement
    seen, todo = {}, [(r, ()) for r in roots]
    while todo:
        name, extras = todo.pop()
        key = re.sub(r"[-_.]+", "-", name).lower()
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        if (key, extras) in seen:
            continue
        seen[(key, extras)] = dist.version
        for spec in dist.requires or []:
            req = Requirement(spec)
            if req.marker is None or any(req.marker.evaluate({"extra": e}) for e in ("",) + extras):
                todo.append((req.name, tuple(sorted(req.extras))))
    return {k: v for (k, _), v in seen.items()}


def test_requirements_homework_pins_exactly_what_otter_adds():
    from test_requirements import pins
    base, _ = pins("requirements.txt")
    hw, _ = pins("requirements-homework.txt")
    added = {k: v for k, v in _closure(["otter-grader"]).items() if k not in _closure(list(base))}
    assert added == hw, f"otter brings {sorted(set(added) ^ set(hw))} differently from the pins"
