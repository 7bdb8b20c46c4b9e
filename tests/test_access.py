"""Running without an install: the Binder and GitHub Actions files parse and name the pinned
stack, every notebook opens with the Colab cell, and that cell does nothing off Colab.

None of Binder, Colab or GitHub Actions can run from here; what can be checked is that
their configuration says what the repository means: Binder installs exactly the pins of
requirements.txt and then the package without dependencies; the workflow runs `make test`
on Python 3.11; the Colab cell installs only on Colab, never Jupyter or ipywidgets, and
off Colab imports nothing but `sys` and prints nothing.
"""
import importlib.util
import json
import os
import re
import subprocess
import sys
import types
from pathlib import Path

import pytest
import yaml  # PyYAML: installed by the pinned stack (jupyterlab -> jupyter_server -> jupyter_events)

from test_environment import PIN, _norm, requirement_pins

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _load_colab_cell():
    spec = importlib.util.spec_from_file_location("colab_cell", ROOT / "tools" / "colab_cell.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


colab = _load_colab_cell()
# Packages the Colab cell must never install: Colab's own front end and kernel.
COLAB_OWN = re.compile(r"jupyter|ipywidgets|widgetsnbextension|ipykernel|notebook|ipython", re.I)


# ---- Binder ----------------------------------------------------------------------------

def test_binder_installs_exactly_the_pins_of_requirements_txt():
    lines = [l.split("#")[0].strip() for l in (ROOT / "binder" / "requirements.txt").read_text().splitlines()]
    pins = {}
    for line in filter(None, lines):
        m = PIN.match(line)
        assert m, f"binder/requirements.txt: expected NAME==VERSION, received {line!r}"
        pins[_norm(m.group(1))] = m.group(2)
    assert pins == requirement_pins()


def test_binder_uses_python_3_11_and_no_root_configuration_competes():
    assert (ROOT / "binder" / "runtime.txt").read_text().strip() == "python-3.11"
    # repo2docker reads binder/ alone when it exists; a second environment file there would
    # take precedence over requirements.txt and install something else.
    names = {p.name for p in (ROOT / "binder").iterdir()}
    assert names == {"requirements.txt", "runtime.txt", "postBuild"}, sorted(names)


def test_binder_post_build_installs_the_package_without_dependencies():
    post = ROOT / "binder" / "postBuild"
    assert os.access(post, os.X_OK), "binder/postBuild must be executable (repo2docker runs it)"
    text = post.read_text()
    assert text.startswith("#!/bin/bash\n") and "set -euo pipefail" in text
    commands = [l.strip() for l in text.splitlines() if l.strip() and not l.lstrip().startswith("#")]
    installs = [c for c in commands if "pip install" in c]
    assert installs == ["python -m pip install --no-cache-dir --no-deps -e ."], commands
    result = subprocess.run(["bash", "-n", str(post)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


# ---- GitHub Actions --------------------------------------------------------------------

def test_workflow_runs_make_test_through_ci_run_on_python_3_11():
    wf = yaml.safe_load((ROOT / ".github" / "workflows" / "test.yml").read_text())
    triggers = wf.get("on", wf.get(True))          # YAML 1.1 reads the key `on` as True
    assert {"push", "pull_request"} <= set(triggers), triggers
    (job,) = wf["jobs"].values()
    assert job["runs-on"].startswith("ubuntu"), job["runs-on"]
    assert re.fullmatch(r"python:3\.11-bookworm", job["container"]), job["container"]
    runs = [s["run"] for s in job["steps"] if "run" in s]
    assert runs == [".ci/run"], runs
    assert any(s.get("uses", "").startswith("actions/checkout@") for s in job["steps"])
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci and "apt-get install" in ci and "chromium" in ci
    assert os.access(ROOT / ".ci" / "run", os.X_OK)


# ---- Colab -----------------------------------------------------------------------------

@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_the_first_code_cell_is_the_current_colab_cell(path):
    cells = json.loads(path.read_text())["cells"]
    code = [c for c in cells if c["cell_type"] == "code"]
    first = code[0]
    assert first.get("id") == colab.CELL_ID, (
        f"{path.name}: the first code cell is not the Colab cell; run python tools/colab_cell.py")
    assert "".join(first["source"]) == colab.cell_source(), (
        f"{path.name}: the Colab cell is out of date; run python tools/colab_cell.py")
    assert first["outputs"] == [], f"{path.name}: the Colab cell printed {first['outputs']}"
    assert colab.CHECK_TAG in first["metadata"].get("tags", [])
    assert sum(c.get("id") == colab.CELL_ID for c in cells) == 1
    # The notebook still opens with its title, and the imports come right after the cell.
    assert cells[0]["cell_type"] == "markdown" and "".join(cells[0]["source"]).startswith("# ")
    assert "import rnn_core as rc" in "".join(code[1]["source"]), f"{path.name}: imports moved"


def _run_isolated(code):
    """Run code in a fresh `python -I` and return its stdout."""
    r = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True,
                       timeout=60, env={k: v for k, v in os.environ.items() if "COLAB" not in k})
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_the_colab_cell_is_a_no_op_elsewhere():
    """Off Colab, in a fresh interpreter: no module imported, nothing printed, no process run."""
    probe = (
        "import sys, io, contextlib\n"
        "src = SRC\n"
        "before = set(sys.modules); out = io.StringIO(); ns = {}\n"
        "with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):\n"
        "    exec(compile(src, 'colab-cell', 'exec'), ns)\n"
        "new = sorted(set(sys.modules) - before)\n"
        "print(repr((new, out.getvalue(), sorted(k for k in ns if k != '__builtins__'))))\n"
    ).replace("SRC", repr(colab.cell_source()))
    new, printed, names = eval(_run_isolated(probe))
    assert new == [] and printed == "" and names == ["sys"], (new, printed, names)


def test_the_colab_cell_installs_the_package_on_colab_and_nothing_of_colabs_own(monkeypatch):
    """With google.colab imported (as in Colab's kernel), the cell runs pip exactly once:
    --no-deps, the package from the repository of tools/colab_cell.py; the pins of numpy
    and matplotlib only when they are missing."""
    calls = []
    monkeypatch.setattr(subprocess, "run", lambda cmd, **kw: calls.append((cmd, kw)))
    monkeypatch.setitem(sys.modules, "google", types.ModuleType("google"))
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    exec(compile(colab.cell_source(), "colab-cell", "exec"), {})
    (cmd, kw), = calls                       # numpy and matplotlib are present here
    assert cmd[:4] == [sys.executable, "-m", "pip", "install"] and kw == {"check": True}
    assert "--no-deps" in cmd
    assert cmd[-1] == f"rnn_core @ git+https://github.com/{colab.REPOSITORY}@{colab.BRANCH}"
    others = [a for a in cmd[4:] if not a.startswith(("-", "rnn_core @ "))]
    assert others == [], f"the cell installs more than the package on Colab: {others}"

    # A runtime without matplotlib gets its pin, with its dependencies, in a call of its own.
    calls.clear()
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "matplotlib" else real(name, *a))
    exec(compile(colab.cell_source(), "colab-cell", "exec"), {})
    assert [c[0][4:] for c in calls] == [["-q", colab.pins()["matplotlib"]],
                                        ["-q", "--no-deps", cmd[-1]]]
    assert not COLAB_OWN.search(calls[0][0][-1])
    assert colab.pins()["matplotlib"] == f"matplotlib=={requirement_pins()['matplotlib']}"


MASTERS = sorted((ROOT / "homework").glob("*/*.ipynb"))


@pytest.mark.parametrize("path", MASTERS, ids=lambda p: p.stem)
def test_every_homework_master_opens_with_the_current_homework_cell(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    first = next(c for c in nb["cells"] if c["cell_type"] == "code")
    assert "".join(first["source"]) == colab.homework_cell_source(path.stem), (
        f"{path.name}: the homework's first cell is out of date; run python tools/colab_cell.py")


def test_the_homework_cell_on_colab_installs_without_deps_and_saves_the_tests(monkeypatch, tmp_path):
    """With google.colab imported and the notebook from Colab's _message: pip runs once, with
    --no-deps, the package and only the missing pins of otter's set (never numpy, pandas or
    Colab's front end); the notebook and tests/q*.py are written as otter reads them."""
    calls = []
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(subprocess, "run", lambda cmd, **kw: calls.append(cmd))
    nb = {"cells": [], "metadata": {"otter": {"tests": {"q1": {"name": "q1", "points": 2, "suites": []}}}}}
    message = types.ModuleType("google.colab._message")
    message.blocking_request = lambda what, timeout_sec=None: {"ipynb": nb} if what == "get_ipynb" else None
    google_colab = types.ModuleType("google.colab")
    google_colab._message = message
    for name, module in (("google", types.ModuleType("google")), ("google.colab", google_colab),
                         ("google.colab._message", message)):
        monkeypatch.setitem(sys.modules, name, module)
    fake_otter = types.ModuleType("otter")        # the unit tests' venv need not hold otter
    fake_otter.Notebook = lambda path: ("grader", path)
    monkeypatch.setitem(sys.modules, "otter", fake_otter)
    real = importlib.util.find_spec
    missing = lambda name: name in ("otter", "fica") or real(name) is None
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if missing(name) else real(name, *a))
    ns = {}
    exec(compile(colab.homework_cell_source("hw1_bptt"), "homework-cell", "exec"), ns)
    cmd, = calls
    assert cmd[:4] == [sys.executable, "-m", "pip", "install"] and "--no-deps" in cmd
    assert cmd[-1] == colab.package_url()
    pins = colab.pins(ROOT / "requirements-homework.txt")
    want = [pins[dist] for module, dist in colab.HOMEWORK_MAY_LACK if missing(module)]
    assert [a for a in cmd[4:-1] if not a.startswith("-")] == want
    assert not any(COLAB_OWN.search(a) or a.startswith(("numpy", "pandas")) for a in cmd[4:])
    assert json.loads((tmp_path / "hw1_bptt.ipynb").read_text()) == nb
    saved = {}
    exec((tmp_path / "tests" / "q1.py").read_text(), saved)
    assert saved["OK_FORMAT"] is True and saved["test"] == nb["metadata"]["otter"]["tests"]["q1"]
    assert ns["grader"] == ("grader", "hw1_bptt.ipynb")


def test_the_tool_is_idempotent_and_moves_a_stray_colab_cell_first():
    nb = {"cells": [{"cell_type": "markdown", "metadata": {}, "source": "# title"},
                    {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": 1,
                     "source": ["import rnn_core as rc"]}]}
    assert colab.update_notebook(nb) is True
    assert [c.get("id") == colab.CELL_ID for c in nb["cells"]] == [False, True, False]
    assert colab.update_notebook(nb) is False              # a second run changes nothing
    # An old version of the cell, moved below the imports, is replaced by one cell, first.
    stray = nb["cells"].pop(1)
    stray.update(source=[colab.MARKER, " old version"], outputs=[{"output_type": "stream"}])
    nb["cells"].append(stray)
    assert colab.update_notebook(nb) is True
    assert [c.get("id") for c in nb["cells"]].count(colab.CELL_ID) == 1
    first = nb["cells"][1]
    assert first["id"] == colab.CELL_ID and first["source"] == colab.cell_source()
    assert first["outputs"] == [] and first["execution_count"] is None
    # An old version in first place is refreshed in place, its tags kept.
    first.update(source="# On Google Colab only: old", outputs=[{"output_type": "stream"}])
    first["metadata"]["tags"] = ["keep-me"]
    assert colab.update_notebook(nb) is True and colab.update_notebook(nb) is False
    assert first["source"] == colab.cell_source() and first["outputs"] == []
    assert first["metadata"]["tags"] == sorted(["keep-me", colab.CHECK_TAG])


def test_readme_links_are_the_tools_and_cover_every_notebook():
    text = (ROOT / "README.md").read_text()
    assert colab.update_readme(text, NOTEBOOKS) == text, (
        "README.md: the Colab and Binder links are out of date; run python tools/colab_cell.py")
    section = text.split("## Run without installing", 1)[1].split("\n## ", 1)[0]
    for path in NOTEBOOKS:
        assert colab.colab_url(path) in section and colab.binder_url(path) in section, path.name
    # One address everywhere: no link in the README names another repository.
    slugs = set(re.findall(r"colab\.research\.google\.com/github/([^/]+/[^/]+)/", text))
    slugs |= set(re.findall(r"mybinder\.org/v2/gh/([^/]+/[^/]+)/", text))
    assert slugs == {colab.REPOSITORY}, slugs
    assert "## For instructors" in text and ".github/workflows/test.yml" in text
