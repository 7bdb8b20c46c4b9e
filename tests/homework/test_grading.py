"""The homework path end to end: masters -> otter assign -> student notebooks and bundles ->
a batch of submissions (right, blank, planted mistakes, saved by other tools, hostile) -> the
gradebook.

One build (build/homework, made by `make homework`, or here if it is missing or stale) and
one batch: every submission is graded once, four at a time (half of them wait on limits), by tools/grade.py in its sandbox.
The gradebook, the time of each submission and of the batch are printed (pytest -rP shows them).
Each hostile submission checks the harm it attempts did not happen; several are built so that
the harm would show as points (a notebook that defines correct answers only if it could write
/proc/sys, read the solutions or another submission, or keep three children alive past the
sandbox's memory), so a score of zero is the proof. The checks of the holes issue 21 found
(HOLES) are run against the grader of commit 5811df0 by tests/homework/against_old_grader.py,
where every one of them fails.
"""
import copy
import csv
import hashlib
import importlib.util
import json
import os
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
# Limits of the test batch: a graded notebook takes 1-3 s on a quiet machine and the CPU limit
# ends the infinite loop (at 13 s of wall clock there, 4 workers on 2 cores); the wall clock
# leaves room for a busy machine (make test runs this part beside the book part; at a load of
# 17 a submission that forks three children took 26 s). The sandbox's memory is less than
# three children's below.
TIMEOUT, CPU, CALL_TIMEOUT, MEMORY, PIDS, WORKERS = 60.0, 5, 10.0, 1 << 30, 64, 4
# hw1's first answer written with rnn_core's own Elman step (the flag for answers that call the
# implementation the tests compare with). The only rnn_core module path of these tests.
CALLS_RNN_CORE = (
    "def rnn_step_forward(x_t, h_prev, W_h, W_x, b):\n"
    "    h_t = rc.cells.elman.step_forward(x_t, {'h': h_prev}, {'W_h': W_h, 'W_x': W_x, 'b': b})[0]['h']\n"
    "    return h_t, (x_t, h_prev, h_t, W_h, W_x)\n")
SYSCTLS = ("kernel/core_pattern", "vm/swappiness", "kernel/hostname", "kernel/panic")


def _load(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


build_tool, grade_tool = _load("homework_build"), _load("grade")
sandbox_tool = sys.modules["grade_sandbox"]


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


def answer_sources(build, name):
    """The solutions' answer cells of assignment `name`, in order."""
    student = nb(build / "student" / f"{name}.ipynb")
    sol = nb(build / "solutions" / f"{name}-solutions.ipynb")
    return ["".join(sol["cells"][i]["source"]) for i, c in enumerate(student["cells"])
            if "otter_answer_cell" in c["metadata"].get("tags", [])]


def solved(build, name):
    """The student notebook with every answer cell replaced by the solutions' cell."""
    student = nb(build / "student" / f"{name}.ipynb")
    sol = nb(build / "solutions" / f"{name}-solutions.ipynb")
    assert len(student["cells"]) == len(sol["cells"])
    for i, cell in enumerate(student["cells"]):
        if "otter_answer_cell" in cell["metadata"].get("tags", []):
            cell["source"] = sol["cells"][i]["source"]
    return student


def with_cell(notebook, source, unanswered=False):
    """`notebook` with a code cell added before its first answer cell. `unanswered`: every
    answer cell is left without an answer (a comment), so that what the added cell defines is
    what every question's tests see, wherever they are run (otter 7.0.0, as the old grader ran
    it, tests each question with the variables as they were at its grader.check cell)."""
    out = copy.deepcopy(notebook)
    answers = [i for i, c in enumerate(out["cells"]) if "otter_answer_cell" in c["metadata"].get("tags", [])]
    if unanswered:
        for i in answers:
            out["cells"][i]["source"] = "# no answer"
    out["cells"].insert(answers[0], {"cell_type": "code", "execution_count": None, "id": "hostile",
                                     "metadata": {}, "outputs": [], "source": source})
    return out


def answer_names(build, name):
    return [m for src in answer_sources(build, name) for m in re.findall(r"^def (\w+)\(", src, flags=re.M)]


def hostile_cells(build, submissions):
    """name: (cell source, base notebook: 'solved', or 'blank': the student notebook with no
    answer). Cells marked REWARD define the correct answers only when the harm they try
    succeeds: their score is the proof."""
    reward = json.dumps("\n\n".join(answer_sources(build, HW1)))
    raising = "".join(f"def {f}(*a, **k):\n    raise AssertionError(_leak())\n" for f in answer_names(build, HW1))
    garbage = "".join(f"def {f}(*a, **k):\n    return None\n" for f in answer_names(build, HW1))
    return {
        "infinite_loop": ("while True:\n    pass", "solved"),
        "os_exit": ("import os\nos._exit(3)", "solved"),
        "sys_exit": ("import sys\nsys.exit('bye')", "solved"),
        "segfault": ("import ctypes\nctypes.string_at(0)", "solved"),
        "kill_self": ("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)", "solved"),
        "fork_outlives": ("import os, time\nif os.fork() == 0:\n    time.sleep(10 ** 6)", "solved"),
        "thread_outlives": ("import threading, time\nthreading.Thread(target=time.sleep, args=(10 ** 6,)).start()", "solved"),
        "huge_output": ("for _i in range(200000):\n    print('spam ' * 40)", "solved"),
        "writes_elsewhere": (
            "import glob, os, pathlib\n"
            f"for _p in glob.glob('../../*.zip') + glob.glob('/tmp/grade-*/*') + glob.glob({str(BUILD)!r} + '/*/*'):\n"
            "    for _f in (lambda p: open(p, 'wb').write(b'x'), os.remove):\n"
            "        try:\n            _f(_p)\n        except OSError as e:\n            print(e)\n"
            f"for _d in ('..', '../..', {str(ROOT / 'homework')!r}, '/tmp', {str(submissions)!r}):\n"
            "    try:\n        pathlib.Path(_d, 'planted.txt').write_text('x')\n"
            "    except OSError as e:\n        print(e)", "solved"),
        # REWARD: full marks on a grader whose sandbox lets these sysctls open for writing
        "proc_sys": (
            "_opened = []\n"
            f"for _k in {SYSCTLS!r}:\n"
            "    try:\n"
            "        with open('/proc/sys/' + _k, 'r+') as _f:\n"
            "            _v = _f.read()\n"
            "            if _k == 'vm/swappiness':\n"
            "                _f.seek(0)\n                _f.write(_v)\n"
            "        _opened.append(_k)\n"
            "    except OSError:\n        pass\n"
            f"if _opened:\n    exec({reward})", "blank"),
        # the hidden tests, wherever they can be found, raised as the answers' AssertionError
        "hidden_tests_leak": (
            "import glob\n"
            "def _leak():\n"
            "    found = []\n"
            "    for p in glob.glob('/tmp/**/tests/q*.py', recursive=True) + glob.glob('../**/tests/q*.py', recursive=True) + glob.glob('../../*/tests/q*.py'):\n"
            "        try:\n            found.append(open(p).read())\n"
            "        except OSError:\n            pass\n"
            "    return '\\n'.join(found) or 'no test found'\n" + raising, "blank"),
        # REWARD: the solutions, found next to rnn_core's source as the issue found them, and
        # read with np.fromfile (no open, glob or Path, which the old scan's file flag looked for)
        "solutions_via_package": (
            "import json, os, numpy as np, rnn_core\n"
            "_top = os.path.dirname(os.path.dirname(rnn_core.__file__))\n"
            f"_p = os.path.join(_top, 'build', 'homework', 'solutions', '{HW1}-solutions.ipynb')\n"
            "try:\n"
            "    _nb = json.loads(np.fromfile(_p, dtype=np.uint8).tobytes().decode())\n"
            "    exec('\\n'.join(''.join(c['source']) for c in _nb['cells'] if c['cell_type'] == 'code' and 'def ' in ''.join(c['source'])))\n"
            "except Exception:\n    pass", "blank"),
        # REWARD: the answers of another submission of the batch
        "other_submissions": (
            "import glob, itertools, json\n"
            f"for _p in itertools.islice(itertools.chain(glob.iglob({str(submissions)!r} + '/solved_*.ipynb'), glob.iglob('../../*/*.ipynb'), glob.iglob('/tmp/*/*/solved_*.ipynb')), 20):\n"
            "    try:\n"
            "        _defs = [''.join(c['source']) for c in json.load(open(_p))['cells'] if c['cell_type'] == 'code' and 'def ' in ''.join(c['source'])]\n"
            "        exec('\\n'.join(_defs))\n"
            "    except Exception:\n        pass", "blank"),
        # numpy's comparisons, the package's checkers and doctest made to pass everything, by
        # setattr only (the old scan flagged `np.allclose = ...` lines, not setattr)
        "patches_everything": (
            "import doctest, sys, numpy as np\n"
            "for _n in ('allclose', 'isclose', 'array_equal'):\n"
            "    setattr(np, _n, lambda *a, **k: True)\n"
            "for _m in [m for n, m in list(sys.modules.items()) if n.startswith('rnn_core')]:\n"
            "    for _n in list(vars(_m)):\n"
            "        if callable(getattr(_m, _n)) and ('check' in _n or 'grad' in _n):\n"
            "            setattr(_m, _n, lambda *a, **k: {'x': 0.0})\n"
            "setattr(doctest.DocTestRunner, 'summarize', lambda self, verbose=None: doctest.TestResults(0, 1))\n"
            + garbage, "blank"),
        # a child that outlives its cell (its own session) and, as soon as a results file
        # appears, rewrites it with every question at its maximum: otter run's own
        # (../results/results.json) and the old grader's copy (out/results.json, next to TMPDIR)
        "forged_results": (
            "import json, os, time\n"
            "if os.fork() == 0:\n"
            "    os.setsid()\n    os.closerange(0, 4096)\n"
            "    _paths = ['results.json', '../results/results.json', '../out/results.json',\n"
            "              os.path.join(os.environ.get('TMPDIR', '/tmp'), '..', 'out', 'results.json')]\n"
            "    _end = time.monotonic() + 120\n"
            "    while time.monotonic() < _end:\n"
            "        for _p in _paths:\n"
            "            try:\n"
            "                _d = json.load(open(_p))\n"
            "                if any(t.get('score') != t.get('max_score') for t in _d['tests']):\n"
            "                    for _t in _d['tests']:\n"
            "                        _t['score'] = _t.get('max_score')\n"
            "                    open(_p, 'w').write(json.dumps(_d))\n"
            "            except Exception:\n                pass\n"
            "        time.sleep(0.002)\n"
            "    os._exit(0)", "blank"),
        # the same child writing forged frames on every descriptor it inherited (the pipes)
        "forged_frames": (
            "import json, os, struct, time\n"
            "if os.fork() == 0:\n"
            "    _body = json.dumps({'op': 'case', 'question': 'q1', 'index': 0, 'hidden': False, 'points': 99, 'passed': True}).encode()\n"
            "    for _ in range(300):\n"
            "        for _fd in range(3, 20):\n"
            "            try:\n                os.write(_fd, struct.pack('>I', len(_body)) + _body)\n"
            "            except OSError:\n                pass\n"
            "        time.sleep(0.01)\n"
            "    os._exit(0)", "blank"),
        # REWARD: the answers only if three children could each fill and hold at once what
        # their own address space limit leaves them (at most 2 GiB): each is within any
        # per-process limit, all three together exceed it, and the sandbox's 1 GiB
        "three_children": (
            "import os, resource, time, numpy as np\n"
            "_kids = []\n"
            "for _ in range(3):\n"
            "    _pid = os.fork()\n"
            "    if _pid == 0:\n"
            "        _code = 1\n"
            "        try:\n"
            "            _limit = resource.getrlimit(resource.RLIMIT_AS)[0]\n"
            "            _limit = min(_limit if _limit > 0 else 2 ** 31, 2 ** 31)\n"
            "            _size = int(open('/proc/self/statm').read().split()[0]) * os.sysconf('SC_PAGE_SIZE')\n"
            "            _a = np.ones(max((_limit - _size - 2 ** 26) // 8, 1))\n"
            "            time.sleep(1.5)\n"
            "            _code = 0\n"
            "        finally:\n"
            "            os._exit(_code)\n"
            "    _kids.append(_pid)\n"
            "_codes = [os.waitpid(_pid, 0)[1] for _pid in _kids]\n"
            f"if _codes == [0, 0, 0]:\n    exec({reward})", "blank"),
        "fork_bomb": ("import os\nwhile True:\n    os.fork()", "solved"),
        "memory_bomb": ("import numpy as np\n_hog = []\nwhile True:\n    _hog.append(np.ones(2 ** 23))", "solved"),
    }


def variants(build):
    """Correct notebooks as other tools save them: each must get full marks."""
    out = {}
    for kernel in ("rnn-env", ".venv"):
        v = solved(build, HW1)
        v["metadata"]["kernelspec"] = {"name": kernel, "display_name": kernel, "language": "python"}
        out[f"kernel_{kernel.strip('.')}"] = v
    v = solved(build, HW1)
    del v["metadata"]["otter"]
    out["no_otter_metadata"] = v
    v = solved(build, HW1)
    v["nbformat_minor"] = 4
    for cell in v["cells"]:
        cell.pop("id", None)
    out["nbformat_4_4"] = v
    return out


def write_submissions(build, subs, only=None):
    """Every submission of the batch, written into `subs` (or those whose names, without the
    .ipynb, are in `only`). `build` gives the notebooks and the answers, so an older build
    gives the same submissions in its own assignment (tests/homework/against_old_grader.py)."""
    subs = Path(subs)
    keep = lambda name: only is None or name in only
    for name in NAMES:
        if keep(f"solved_{name}"):
            (subs / f"solved_{name}.ipynb").write_text(json.dumps(solved(build, name)))
        if keep(f"blank_{name}"):
            (subs / f"blank_{name}.ipynb").write_bytes((build / "student" / f"{name}.ipynb").read_bytes())
    if keep("planted_q1"):
        wrong = solved(build, HW1)
        cell = next(c for c in wrong["cells"] if "def rnn_step_forward" in "".join(c["source"]))
        src = "".join(cell["source"])
        assert "np.tanh(" in src
        cell["source"] = src.replace("np.tanh(", "1 / (1 + np.exp(-(").replace(" + b)", " + b)))")
        (subs / "planted_q1.ipynb").write_text(json.dumps(wrong))
    if keep("hostile_calls_rnn_core"):
        calls = solved(build, HW1)   # q1's answer cell written with rnn_core's own step
        next(c for c in calls["cells"] if "def rnn_step_forward" in "".join(c["source"]))["source"] = CALLS_RNN_CORE
        (subs / "hostile_calls_rnn_core.ipynb").write_text(json.dumps(calls))
    for name, v in variants(build).items():
        if keep(f"variant_{name}"):
            (subs / f"variant_{name}.ipynb").write_text(json.dumps(v))
    blank1 = nb(build / "student" / f"{HW1}.ipynb")
    for name, (source, base) in hostile_cells(build, subs).items():
        if keep(f"hostile_{name}"):
            notebook = with_cell(solved(build, HW1), source) if base == "solved" else with_cell(blank1, source, unanswered=True)
            (subs / f"hostile_{name}.ipynb").write_text(json.dumps(notebook))
    if only is None:
        (subs / "hostile_empty.ipynb").write_bytes(b"")
        (subs / "hostile_not_json.ipynb").write_text("{this is not a notebook")
        (subs / "hostile_bad_schema.ipynb").write_text(json.dumps({"cells": 3, "nbformat": 4}))
        (subs / "hostile_not_a_notebook.txt").write_text("my answers are in my head")


@pytest.fixture(scope="session")
def batch(build, tmp_path_factory):
    subs = tmp_path_factory.mktemp("submissions")
    write_submissions(build, subs)
    out = tmp_path_factory.mktemp("grades")
    guarded = grade_tool.tree_hashes([build, ROOT / "homework", subs])
    sysctls = {k: Path("/proc/sys", k).read_text() for k in SYSCTLS}
    t0 = time.monotonic()
    try:
        rows, seconds = grade_tool.grade_folder(subs, build, out, timeout=TIMEOUT, cpu=CPU, workers=WORKERS,
                                                memory=MEMORY, pids=PIDS, call_timeout=CALL_TIMEOUT)
    except (SystemExit, Exception) as err:   # pytest would run a failed session fixture again
        return {"error": f"{type(err).__name__}: {err}"}
    wall = time.monotonic() - t0
    load = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else "?"
    print(f"\nbatch of {len(rows)} submissions graded in {seconds:.1f} s (load {' '.join(load)}):")
    print((out / "gradebook.csv").read_text())
    return {"error": None, "rows": {r["submission"]: r for r in rows}, "entries": sorted(p.name for p in subs.iterdir()),
            "out": out, "seconds": wall, "guarded": guarded, "subs": subs, "sysctls": sysctls}


def feedback(batch, submission):
    return (batch["out"] / "feedback" / (re.sub(r"[^\w.\-]", "_", submission) + ".txt")).read_text()


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


CHECK_PUBLIC = r"""
import json, os, sys
os.chdir(sys.argv[1])
import otter
out = {}
for name in sys.argv[2:]:
    nb = json.load(open(name + ".ipynb"))
    grader = otter.Notebook(name + ".ipynb")
    ns = {"grader": grader}
    for cell in nb["cells"]:
        src = "".join(cell["source"])
        if cell["cell_type"] == "code" and "otter" not in src and "grader." not in src:
            exec(src, ns)
    out[name] = {q: grader.check(q, global_env=ns).passed_all_public for q in nb["metadata"]["otter"]["tests"]}
print(json.dumps(out))
"""


def test_public_tests_pass_on_the_solutions(build, tmp_path):
    """otter's grader.check, as a student calls it, on every solved student notebook: one Python
    process for all of them (a Jupyter kernel per notebook would add seconds and nothing that
    check computes)."""
    for name in NAMES:
        (tmp_path / f"{name}.ipynb").write_text(json.dumps(solved(build, name)))
    proc = subprocess.run([sys.executable, "-c", CHECK_PUBLIC, str(tmp_path), *NAMES],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    for name in NAMES:
        assert got[name] == {q: True for q in points(build, name)}, (name, got[name])


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


# The holes issue 21 found, one check each: tests/homework/against_old_grader.py runs the same
# submissions through the grader of commit 5811df0 and these same checks on its gradebook, and
# each must fail there (a check that passes against the broken grader proves nothing).
HOLES = {}


def hole(*names):
    def register(check):
        for name in names:
            HOLES[name] = check
        return check
    return register


def _row(batch, name):
    return batch["rows"][name if name.endswith((".ipynb", ".txt")) else f"hostile_{name}.ipynb"]


def _full(build):
    return sum(points(build, HW1).values())


@hole("variant_kernel_rnn-env", "variant_kernel_venv", "variant_no_otter_metadata")
def check_saved_by_other_tools(build, batch, name):
    """A correct notebook under another kernel name, without otter metadata (its first cell
    names the assignment) or as nbformat 4.4: full marks."""
    r = _row(batch, f"{name}.ipynb")
    assert r["status"] == "graded" and float(r["total"]) == _full(build), r


@hole("proc_sys")
def check_host_kernel_settings(build, batch, name):
    """A notebook that defines its answers only if /proc/sys opens for writing scores zero, and
    every sysctl it tried still reads as before."""
    r = _row(batch, name)
    assert r["status"] == "graded" and float(r["total"]) == 0.0, r
    for key, before in batch["sysctls"].items():
        assert Path("/proc/sys", key).read_text() == before, key


@hole("hidden_tests_leak")
def check_hidden_tests_stay_hidden(build, batch, name):
    """Answers that raise whatever test files they find: no hidden line in the feedback, zero."""
    text = feedback(batch, f"hostile_{name}.ipynb")
    leaked = [l for l in _hidden_lines(build, HW1) if l in text]
    assert not leaked, f"{len(leaked)} hidden test lines in the feedback, e.g. {leaked[:2]}"
    r = _row(batch, name)
    assert r["status"] == "graded" and float(r["total"]) == 0.0, r
    assert "no test found" in text, "the leaking answers' own message should reach the public report"
    assert re.search(r"hidden test 1: failed", text), text


@hole("solutions_via_package", "other_submissions")
def check_out_of_reach(build, batch, name):
    """Blank notebooks that exec whatever solution or solved submission they can read: zero,
    and flagged as reading files (np.fromfile included)."""
    r = _row(batch, name)
    assert r["status"] == "graded" and float(r["total"]) == 0.0, r
    assert "reads or writes files" in r["flags"], r["flags"]


@hole("patches_everything")
def check_patching_earns_nothing(build, batch, name):
    r = _row(batch, name)
    assert r["status"] == "graded" and float(r["total"]) == 0.0, r
    assert "patches a module" in r["flags"], r["flags"]


@hole("forged_results")
def check_forged_results(build, batch, name):
    r = _row(batch, name)
    assert r["total"] in ("", "0") and r["possible"] in ("", f"{_full(build):g}"), r
    assert "99" not in feedback(batch, f"hostile_{name}.ipynb")


@hole("three_children")
def check_one_memory_limit(build, batch, name):
    """Three forked children, each filling what its own address space limit leaves it (about
    0.6 GiB here, 85 % of the sandbox less the parent's size) and holding it while the others
    do, in a sandbox of 1 GiB: one at least is killed, so the answers the notebook defines only
    if all three survived never exist. (The issue's three children of 2 GiB against a 3 GiB
    limit per process, scaled down: page faults are slow here.)"""
    r = _row(batch, name)
    assert r["status"] == "graded" and float(r["total"]) == 0.0, r
    assert "killed at the memory limit" in r.get("limits", ""), r.get("limits")
    peak = float(re.search(r"peak (\d+) MiB", r["limits"]).group(1))
    assert peak <= MEMORY / 2 ** 20, r["limits"]


@hole("calls_rnn_core")
def check_calls_rnn_core_flagged(build, batch, name):
    r = _row(batch, name)
    assert r["status"] == "graded" and "q1 calls rnn_core's own" in r["flags"], r
    assert "calls rnn_core" not in batch["rows"][f"solved_{HW1}.ipynb"]["flags"]


@pytest.mark.parametrize("name", sorted(HOLES))
def test_hole_stays_closed(build, batch, name):
    assert batch["error"] is None, batch["error"]
    if name == "three_children" and grade_tool.grade_sandbox.cgroup_mode() is None:
        pytest.fail("no writable cgroup here: the memory of the sandbox is bounded per process only")
    HOLES[name](build, batch, name)


def test_other_attacks_on_the_new_design(build, batch):
    """Not holes of the old grader, which had no pipe and read nbformat 4.4 already: forged
    frames written on every inherited descriptor earn nothing, and a correct nbformat 4.4
    notebook gets full marks."""
    assert batch["error"] is None, batch["error"]
    check_forged_results(build, batch, "forged_frames")
    check_saved_by_other_tools(build, batch, "variant_nbformat_4_4")


def test_crashes_and_loops_are_reported(batch):
    assert batch["error"] is None, batch["error"]
    for name, why in (("os_exit", "exit code 3"), ("segfault", "SIGSEGV"), ("kill_self", "SIGKILL")):
        r = _row(batch, name)
        assert r["status"] == "error" and why in r["reason"], (name, r)
    loop = _row(batch, "infinite_loop")
    assert loop["status"] == "error" and re.search(r"CPU limit|timed out", loop["reason"]), loop
    assert _row(batch, "empty")["reason"] == "empty file"
    for name in ("not_json", "bad_schema"):
        assert _row(batch, name)["reason"].startswith("not a valid notebook")
    assert "expected a .ipynb file" in batch["rows"]["hostile_not_a_notebook.txt"]["reason"]


def test_leftovers_of_a_correct_notebook_cost_nothing(build, batch):
    """Exits caught by the cell, forks and threads that outlive it, huge output, one allocation
    past the limit (a MemoryError in its cell): full marks."""
    assert batch["error"] is None, batch["error"]
    full = sum(points(build, HW1).values())
    for name in ("sys_exit", "fork_outlives", "thread_outlives", "huge_output", "memory_bomb", "writes_elsewhere"):
        r = _row(batch, name)
        assert r["status"] == "graded" and float(r["total"]) == full, (name, r)


def _hidden_lines(build, name):
    """Lines of the hidden test cases that no public case of the assignment holds."""
    with zipfile.ZipFile(build / "autograder" / f"{name}-autograder.zip") as z:
        specs = []
        for n in sorted(z.namelist()):
            if n.startswith("tests/"):
                g = {}
                exec(z.read(n).decode(), g)
                specs += g["test"]["suites"][0]["cases"]
    lines = lambda cases: {l[4:].strip() for c in cases for l in c["code"].splitlines() if len(l[4:].strip()) > 20}
    return lines([c for c in specs if c["hidden"]]) - lines([c for c in specs if not c["hidden"]])


def test_no_feedback_shows_a_hidden_test(build, batch):
    """No entry's feedback, whatever its assignment, holds a line of a hidden test."""
    assert batch["error"] is None, batch["error"]
    secret = {n: _hidden_lines(build, n) for n in NAMES}
    assert all(secret.values()), "every assignment has hidden lines to look for"
    for entry in batch["rows"]:
        name = batch["rows"][entry]["assignment"] or HW1
        fb = feedback(batch, entry)
        leaked = [l for l in secret[name] if l in fb]
        assert not leaked, (entry, leaked[:3])


def test_a_fork_bomb_stops_at_the_process_limit(build, batch):
    assert batch["error"] is None, batch["error"]
    r = _row(batch, "fork_bomb")
    assert r["status"] == "graded" and float(r["total"]) == _full(build), r
    assert "forks refused at the process limit" in r["limits"], r["limits"]


def test_nothing_outside_a_submission_changed(build, batch):
    assert batch["error"] is None, batch["error"]
    assert grade_tool.tree_hashes([build, ROOT / "homework", batch["subs"]]) == batch["guarded"]
    sums = grade_tool.read_sums(build)
    for rel, digest in sums.items():
        assert hashlib.sha256((build / rel).read_bytes()).hexdigest() == digest, rel
    assert not list((ROOT / "homework").rglob("planted.txt")) and not Path("/tmp/planted.txt").exists()


def test_no_submission_but_the_infinite_loop_reached_the_wall_clock_limit(batch):
    """A sandbox that hangs shows as a submission stopped by the wall clock (TIMEOUT), not as
    a slow batch: the batch's time is printed, never checked (speed is measured in
    benchmarks/, and make test runs this part beside others). The infinite loop may end at
    either limit (test_crashes_and_loops_are_reported)."""
    assert batch["error"] is None, batch["error"]
    stopped = {name: r["reason"] for name, r in batch["rows"].items()
               if "timed out" in r["reason"] and "infinite_loop" not in name}
    assert not stopped, stopped


# ---------------------------------------------------------------------------- the sandbox

PROBE = r"""
import ctypes, json, os, socket
out = {"uid": os.getuid(), "root": sorted(os.listdir("/")), "tmp": os.listdir("/tmp"),
       "interfaces": [n for _, n in socket.if_nameindex()], "repo": None, "sys": {}}
for k in SYSCTLS:
    try:
        open("/proc/sys/" + k, "r+").close()
        out["sys"][k] = "opened"
    except OSError as e:
        out["sys"][k] = type(e).__name__
out["caps"] = [l.split()[1] for l in open("/proc/self/status") if l.startswith("CapEff")][0]
out["userns"] = ctypes.CDLL(None, use_errno=True).unshare(0x10000000)
try:
    socket.create_connection(("10.0.0.1", 80), timeout=1)
    out["net"] = "connected"
except OSError as e:
    out["net"] = type(e).__name__
out["repo"] = sorted(os.listdir(REPO)) if os.path.isdir(REPO) else None
out["build"] = os.path.exists(BUILD)
print(json.dumps(out), flush=True)
import sys
sys.stdin.read()
"""


def test_the_sandbox_is_closed(tmp_path):
    """What a process inside sees and can do, and its uid seen from the host."""
    problem = sandbox_tool.missing()
    assert problem is None, f"make test-homework needs the sandbox: {problem}"
    box = sandbox_tool.Sandbox(tmp_path, sandbox_tool.UID_BASE + 997, 1 << 30, 16, 10,
                               sandbox_tool.cgroup_mode())
    code = f"SYSCTLS, REPO, BUILD = {SYSCTLS!r}, {str(ROOT)!r}, {str(BUILD)!r}\n" + PROBE
    proc = box.spawn([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                     stderr=subprocess.PIPE)
    line = proc.stdout.readline()   # the probe then waits on stdin: every process is in place
    seen_uids = set()
    for pid in (box.cgroup.pids() if box.cgroup else ()):
        try:
            seen_uids.add(int(Path(f"/proc/{pid}/status").read_text().split("Uid:")[1].split()[0]))
        except (OSError, IndexError):
            pass
    out, err = proc.communicate(timeout=60)
    out = line + out
    box.close()
    assert proc.returncode == 0, err.decode()[-2000:]
    got = json.loads(out)
    assert got["uid"] != 0 and got["caps"] == "0000000000000000", got
    assert 0 not in seen_uids, f"a process of the sandbox runs as root on the host: {seen_uids}"
    assert set(got["sys"].values()) <= {"PermissionError", "OSError"}, got["sys"]
    assert got["interfaces"] == ["lo"] and got["net"] != "connected", got
    assert got["userns"] == -1, "the sandbox can make a user namespace"
    # /tmp shows only the first folder of the bound paths (the repository's venv and
    # rnn_core) when the repository itself lives under /tmp, as a fresh clone may
    bound = [ROOT] if ROOT.is_relative_to("/tmp") else []
    assert set(got["tmp"]) <= {p.relative_to("/tmp").parts[0] for p in bound} and not got["build"], got
    visible = {p.name for p in (sandbox_tool.rnn_core_dir(), Path(sys.prefix)) if p.parent == ROOT}
    assert got["repo"] is None or set(got["repo"]) == visible, got["repo"]


def test_the_grader_refuses_without_the_sandbox(monkeypatch):
    monkeypatch.setattr(sandbox_tool.shutil, "which", lambda tool: None if tool == "bwrap" else "/usr/bin/" + tool)
    assert "bwrap is not installed (Debian package bubblewrap)" in (sandbox_tool.missing() or "")
    monkeypatch.setattr(sandbox_tool.os, "geteuid", lambda: 1000)
    assert "needs root" in (sandbox_tool.missing() or "")
    with pytest.raises(SystemExit, match="--unsafe"):
        grade_tool.Grader(BUILD, BUILD / "unused", 10, 1 << 30, 5, 1)


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
    norm = lambda name: re.sub(r"[-_.]+", "-", name).lower()
    # one scan of the venv: metadata.distribution(name) lists site-packages again on each call
    installed = {norm(d.metadata["Name"]): d for d in metadata.distributions()}
    seen, todo = {}, [(r, ()) for r in roots]
    while todo:
        name, extras = todo.pop()
        key = norm(name)
        dist = installed.get(key)
        if dist is None:
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
    stack = _closure(list(base))   # once: inside the comprehension it ran once per package
    added = {k: v for k, v in _closure(["otter-grader"]).items() if k not in stack}
    assert added == hw, f"otter brings {sorted(set(added) ^ set(hw))} differently from the pins"
