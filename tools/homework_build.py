"""Build the homework from the master notebooks: `make homework` runs this.

For every master homework/<name>/<name>.ipynb, `otter assign` (otter-grader 7.0.0) writes the
student notebook (public tests only), the autograder notebook (the solutions) and the
autograder zip (every test, hidden ones included). This script only makes otter's output
reproducible and lays it out for the instructor:

    build/homework/student/<name>.ipynb            hand these out
    build/homework/solutions/<name>-solutions.ipynb  for the instructor only
    build/homework/autograder/<name>-autograder.zip  what `make grade` grades with
    build/homework/SHA256SUMS                        the hashes `make grade` checks

Same masters and same otter give the same bytes: otter names its zip with a timestamp and
stamps its members with the build time, and the notebooks' new cells get random ids. Here the
zip is re-written under a fixed name with its members sorted, dated 1980-01-01 and with fixed
permissions, and every cell id becomes <name>-<index>.

Usage: python tools/homework_build.py [--out build/homework] [master.ipynb ...]
"""
import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXED_DATE = (1980, 1, 1, 0, 0, 0)


def masters():
    """homework/<name>/<name>.ipynb for every assignment folder, sorted."""
    found = sorted(p / f"{p.name}.ipynb" for p in (ROOT / "homework").iterdir() if p.is_dir())
    missing = [str(p) for p in found if not p.is_file()]
    if missing:
        raise SystemExit(f"homework_build: expected a master notebook at {missing[0]}")
    return found


def sha256(path):
    """The hex SHA256 of a file, read in 1 MiB blocks (SHA256SUMS; tools/grade.py checks with it)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def normalise_zip(src, dst):
    """Rewrite zip `src` as `dst`: members sorted, fixed dates and modes, deflated."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for name in sorted(zin.namelist()):
            if name.endswith("/"):
                continue
            info = zipfile.ZipInfo(name, FIXED_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            mode = 0o755 if name in ("run_autograder", "setup.sh") else 0o644
            info.external_attr = (0o100000 | mode) << 16
            info.create_system = 3
            zout.writestr(info, zin.read(name), compresslevel=9)


def normalise_notebook(src, dst, name):
    """Copy notebook `src` to `dst` with cell ids <name>-<index> and sorted JSON keys."""
    nb = json.loads(Path(src).read_text(encoding="utf-8"))
    for i, cell in enumerate(nb["cells"]):
        cell["id"] = f"{name}-{i:02d}"
    Path(dst).write_text(json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n",
                         encoding="utf-8")


def otter_env(home):
    """The environment for otter: Jupyter's, IPython's and matplotlib's state in `home` unless
    the caller (the Makefile's test targets) already chose where it goes."""
    env = dict(os.environ)
    for key, sub in (("JUPYTER_CONFIG_DIR", "jupyter-config"), ("JUPYTER_DATA_DIR", "jupyter-data"),
                     ("JUPYTER_RUNTIME_DIR", "jupyter-runtime"), ("IPYTHONDIR", "ipython"),
                     ("MPLCONFIGDIR", "matplotlib")):
        env.setdefault(key, str(Path(home) / sub))
    env["JUPYTER_PLATFORM_DIRS"] = "1"
    return env


def build_one(master, out, work):
    name = master.stem
    result = Path(work) / name
    cmd = [sys.executable, "-m", "otter", "assign", "--no-pdfs", "--no-run-tests",
           str(master), str(result)]
    proc = subprocess.run(cmd, cwd=master.parent, env=otter_env(work), capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"homework_build: otter assign failed on {master}:\n{proc.stdout}\n{proc.stderr}")
    zips = sorted((result / "autograder").glob(f"{name}-autograder_*.zip"))
    if len(zips) != 1:
        raise SystemExit(f"homework_build: expected one autograder zip from otter, found {zips}")
    normalise_zip(zips[0], out / "autograder" / f"{name}-autograder.zip")
    normalise_notebook(result / "student" / f"{name}.ipynb", out / "student" / f"{name}.ipynb", name)
    normalise_notebook(result / "autograder" / f"{name}.ipynb",
                       out / "solutions" / f"{name}-solutions.ipynb", name)
    extra = sorted(p.name for p in (result / "student").iterdir() if p.name != f"{name}.ipynb")
    if extra:   # tests.files is false in every master: the student folder is one notebook
        raise SystemExit(f"homework_build: otter wrote more than the notebook for students: {extra}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "build" / "homework"))
    ap.add_argument("masters", nargs="*", type=Path)
    args = ap.parse_args(argv)
    out = Path(args.out).resolve()
    chosen = [p.resolve() for p in args.masters] or masters()
    shutil.rmtree(out, ignore_errors=True)
    for sub in ("student", "solutions", "autograder"):
        (out / sub).mkdir(parents=True)
    with tempfile.TemporaryDirectory(prefix="homework-build-") as work:
        for master in chosen:
            build_one(master, out, work)
    files = sorted(p for p in out.rglob("*") if p.is_file())
    lines = [f"{sha256(p)}  {p.relative_to(out).as_posix()}" for p in files]
    (out / "SHA256SUMS").write_text("\n".join(lines) + "\n")
    print(f"homework_build: {len(chosen)} assignments in {out}")
    for line in lines:
        print("  " + line.split("  ", 1)[1])


if __name__ == "__main__":
    main()
