"""The homework's first cell on a simulated Google Colab, offline: a fresh venv with a
Colab-like stack, a fake `google.colab`, the student notebook's own first cell, then
`grader.check` on every question. Run by hand (not in make test: see the cost below):

    python tests/homework/colab_simulation.py --prepare   # once, with the network: the wheels
    python tests/homework/colab_simulation.py [--all]     # offline, from those wheels only

What is simulated, and how:
- Colab's runtime: a fresh venv (the interpreter of this one) with COLAB_STACK installed from
  the wheelhouse: the versions a Colab runtime had in 2025 as far as this project knows them
  (numpy 2.0.2 and ipywidgets 7.7.1 are also requirements-floor.txt's; IPython 7.34.0,
  ipykernel 6.17.1 and pandas 2.2.2 were Colab's), without otter or its small dependencies;
- `google.colab`: a package on PYTHONPATH, imported before the first cell as Colab's kernel
  does, with `_message.blocking_request("get_ipynb")` answering with the notebook, and the
  IPython shell an instance of `google.colab._shell.Shell`, which is how otter 7.0.0 tells it
  runs on Colab (`"google.colab" in str(get_ipython())`): so otter refuses tests kept in the
  notebook's metadata here, as it does on Colab;
- the network: none. pip runs with PIP_NO_INDEX and PIP_FIND_LINKS=the wheelhouse, and git
  rewrites the cell's https://github.com/OWNER/REPOSITORY (tools/colab_cell.py's placeholder)
  to this repository (GIT_CONFIG_GLOBAL with url.insteadOf), so the cell's own `pip install
  "rnn_core @ git+https://github.com/OWNER/REPOSITORY@main"` clones and builds the local
  branch main.

Checked: the first cell runs without error; rnn_core then imports from the venv (not from
this repository); each question's grader.check fails on the blank notebook and passes once the
solutions' answer cells have run (the notebook top to bottom, as a student runs it); every
package of COLAB_STACK keeps its version.

Not simulated: Colab's real front end (the `get_ipynb` message, its display of otter's
output), its exact current package set, Python version and pip, GitHub itself (a public
repository's clone over https), and the time its pip takes there.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WHEELHOUSE = ROOT / "build" / "colab-wheelhouse"
BUILD = ROOT / "build" / "homework"
COLAB_STACK = ["numpy==2.0.2", "pandas==2.2.2", "ipywidgets==7.7.1", "ipython==7.34.0",
               "ipykernel==6.17.1", "matplotlib==3.10.0", "nbformat==5.10.4", "nbconvert==7.16.6",
               "jinja2==3.1.6", "pyyaml==6.0.2", "requests==2.32.3", "click==8.1.8",
               "threadpoolctl==3.6.0"]
BUILD_TOOLS = ["setuptools>=77", "wheel"]   # pip's isolated build of rnn_core from the clone

FAKE = {
    "google/colab/__init__.py": '"""A stand-in for Colab\'s google.colab (tests/homework/colab_simulation.py)."""\n',
    "google/colab/_message.py": (
        "import json, os\n"
        "def blocking_request(request, timeout_sec=5, parent=None):\n"
        "    assert request == 'get_ipynb', request\n"
        "    with open(os.environ['COLAB_SIM_NOTEBOOK']) as f:\n"
        "        return {'ipynb': json.load(f)}\n"),
    "google/colab/_shell.py": (
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "class Shell(InteractiveShell):\n"
        "    '''Colab's kernel shell is google.colab._shell.Shell: otter looks for that name.'''\n"),
}

DRIVER = r"""
import json, os, sys, time
import google.colab                      # Colab's kernel has imported it before any cell
from google.colab._shell import Shell
shell = Shell.instance()
nb = json.load(open(os.environ["COLAB_SIM_NOTEBOOK"]))
code = [c for c in nb["cells"] if c["cell_type"] == "code"]
out = {"cells_failed": []}
t0 = time.monotonic()
first = shell.run_cell("".join(code[0]["source"]))
out["first_cell"], out["first_cell_seconds"] = first.success, round(time.monotonic() - t0, 1)
if not first.success:
    out["error"] = repr(first.error_in_exec or first.error_before_exec)
else:
    for i, cell in enumerate(code[1:], 1):
        if not shell.run_cell("".join(cell["source"])).success:
            out["cells_failed"].append(i)
    shell.run_cell("import rnn_core, otter, IPython; _where = rnn_core.__file__; _interp = grader.interpreter")
    out["rnn_core"] = shell.user_ns["_where"]
    out["otter_sees"] = str(shell.user_ns["_interp"])
    out["checks"] = {}
    for q in nb["metadata"]["otter"]["tests"]:
        shell.run_cell(f"_r = grader.check({q!r})")
        r = shell.user_ns.get("_r")
        out["checks"][q] = None if r is None else bool(r.passed_all_public)
print("COLAB-SIM " + json.dumps(out))
"""


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def cell_pins():
    sys.path.insert(0, str(ROOT / "tools"))
    import colab_cell
    p = colab_cell.pins(ROOT / "requirements-homework.txt")
    return [p[dist] for _, dist in colab_cell.HOMEWORK_MAY_LACK], colab_cell


def prepare():
    """Download (the network needed once) every wheel the simulation installs."""
    WHEELHOUSE.mkdir(parents=True, exist_ok=True)
    pins, _ = cell_pins()
    sh([sys.executable, "-m", "pip", "download", "-q", "-d", str(WHEELHOUSE), *COLAB_STACK, *BUILD_TOOLS])
    sh([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", str(WHEELHOUSE), *pins])
    print(f"{len(list(WHEELHOUSE.iterdir()))} files in {WHEELHOUSE}")


def versions(py):
    out = sh([str(py), "-m", "pip", "list", "--format", "json"]).stdout
    return {d["name"].lower().replace("_", "-"): d["version"] for d in json.loads(out)}


def notebook_for(name, answered):
    """The student notebook, with the solutions' answer cells if `answered`."""
    student = json.loads((BUILD / "student" / f"{name}.ipynb").read_text())
    if answered:
        sol = json.loads((BUILD / "solutions" / f"{name}-solutions.ipynb").read_text())
        for i, cell in enumerate(student["cells"]):
            if "otter_answer_cell" in cell["metadata"].get("tags", []):
                cell["source"] = sol["cells"][i]["source"]
    return student


def simulate(names, keep):
    if not WHEELHOUSE.is_dir():
        raise SystemExit(f"no wheelhouse at {WHEELHOUSE}: run with --prepare once (it needs the network)")
    pins, colab_cell = cell_pins()
    work = Path(tempfile.mkdtemp(prefix="colab-sim-"))
    times, ok = {}, True
    try:
        t0 = time.monotonic()
        venv = work / "colab"
        base = getattr(sys, "_base_executable", sys.executable)
        sh([base, "-m", "venv", str(venv)])
        py = venv / "bin" / "python"
        offline = {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(WHEELHOUSE), "PIP_DISABLE_PIP_VERSION_CHECK": "1",
                   "PIP_NO_CACHE_DIR": "1"}
        env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(work / "home"), "LANG": "C.UTF-8",
               "MPLBACKEND": "Agg", "OPENBLAS_NUM_THREADS": "1", **offline}
        sh([str(py), "-m", "pip", "install", "-q", *COLAB_STACK], env=env)
        times["Colab-like venv"] = time.monotonic() - t0
        before = versions(py)
        assert not any(p.split("==")[0].lower() in before for p in pins), "the Colab stack already has otter's pins"
        for rel, text in FAKE.items():
            (work / "fake" / rel).parent.mkdir(parents=True, exist_ok=True)
            (work / "fake" / rel).write_text(text)
        git_config = work / "gitconfig"
        git_config.write_text(f'[url "file://{ROOT}"]\n\tinsteadOf = https://github.com/{colab_cell.REPOSITORY}\n'
                              "[safe]\n\tdirectory = *\n")
        env.update(PYTHONPATH=str(work / "fake"), GIT_CONFIG_GLOBAL=str(git_config), GIT_CONFIG_NOSYSTEM="1")
        runs = [(n, True) for n in names] + [(names[0], False)]
        for name, answered in runs:
            content = work / f"content-{name}-{'solved' if answered else 'blank'}"   # Colab's /content
            content.mkdir()
            nb_path = work / f"{name}-{answered}.ipynb"
            nb_path.write_text(json.dumps(notebook_for(name, answered)))
            t1 = time.monotonic()
            proc = subprocess.run([str(py), "-c", DRIVER], cwd=content, capture_output=True, text=True,
                                  env=dict(env, COLAB_SIM_NOTEBOOK=str(nb_path)), timeout=900)
            label = f"{name} {'solved' if answered else 'blank'}"
            times[label] = time.monotonic() - t1
            line = [l for l in proc.stdout.splitlines() if l.startswith("COLAB-SIM ")]
            if proc.returncode != 0 or not line:
                print(f"{label}: the driver failed\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
                ok = False
                continue
            got = json.loads(line[0][len("COLAB-SIM "):])
            saved = sorted(p.name for p in (content / "tests").glob("q*.py")) if (content / "tests").is_dir() else []
            want = answered
            good = (got["first_cell"] and got.get("otter_sees") == "IPythonInterpreter.COLAB"
                    and str(venv) in got.get("rnn_core", "") and got.get("checks")
                    and all(v is want for v in got["checks"].values())
                    and (content / f"{name}.ipynb").is_file() and len(saved) == len(got["checks"]))
            ok &= bool(good)
            print(f"{label}: {'ok' if good else 'FAILED'}: first cell {'ran' if got['first_cell'] else 'failed: ' + got.get('error', '')}; "
                  f"({got['first_cell_seconds']} s); otter sees {got.get('otter_sees')}; rnn_core from {got.get('rnn_core')}; "
                  f"grader.check passes: {got.get('checks')}; cells that raised: {got['cells_failed']}; "
                  f"tests saved: {saved}")
        after = versions(py)
        moved = {k: (v, after.get(k)) for k, v in before.items() if after.get(k) != v}
        added = sorted(f"{k}=={v}" for k, v in after.items() if k not in before)
        print(f"Colab's packages that moved: {moved or 'none'}; installed by the first cell: {added}")
        ok &= not moved
        for label, seconds in times.items():
            print(f"  {label}: {seconds:.0f} s")
    finally:
        if keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    if not ok:
        raise SystemExit("the Colab simulation failed")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--prepare", action="store_true", help="download the wheels (needs the network)")
    ap.add_argument("--all", action="store_true", help="every assignment (default: hw1_bptt only)")
    ap.add_argument("--keep", action="store_true", help="keep the venv and the folders")
    args = ap.parse_args(argv)
    if args.prepare:
        prepare()
        return
    names = sorted(p.name for p in (ROOT / "homework").iterdir() if p.is_dir()) if args.all else ["hw1_bptt"]
    simulate(names, args.keep)


if __name__ == "__main__":
    main()
