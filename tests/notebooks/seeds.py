"""Every notebook at seeds other than its stored one: every assert holds, nothing errs.

A notebook's setup cell holds one line `SEED = <n>` (the stored seed, 0), and every random
draw below it follows from SEED. A student changes that line first. This module runs a
notebook top to bottom in a fresh kernel with that line replaced by `SEED = s`, and reports
the first cell that raised (an assert whose claim failed at that seed, or any error), what
the run wrote on stderr (a warning that leaked), and the time it took.

Used by tests/notebooks/test_seeds.py (make test-notebooks: NOTEBOOK_SEEDS), by tests/floor
(make test-floor: FLOOR_SEED, on the oldest stack), by tests/browser (make test-browser:
BROWSER_SEED, Run All in JupyterLab) and, for a
survey over many seeds, from the command line:

    python tests/notebooks/seeds.py [--jobs 2] [--seeds 1 2 3 ...] [notebooks/07_*.ipynb ...]

which prints one line per notebook and seed, and a table of the failures.
"""
import argparse
import copy
import os
import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
SEED_LINE = re.compile(r"^SEED = (\d+)[ \t]*(#.*)?$", re.M)

# The seeds make test runs every notebook at, besides the stored seed that nbval and the
# portability runs check. None of them is a seed the notebooks' prose was written from;
# `python tests/notebooks/seeds.py --seeds ...` surveys as many more as you like. The floor
# part (tests/floor) runs every notebook once anyway, on the oldest stack, and needs only
# that nothing fails, which must hold at any seed: it runs them at FLOOR_SEED, so that its
# run is that seed's run too. The browser part (tests/browser) likewise runs every notebook
# once, Run All in JupyterLab as a student who changed the seed would, at BROWSER_SEED, and
# fails on any error or stderr output. make test-notebooks runs the rest (NOTEBOOK_SEEDS).
TEST_SEEDS = (17, 29, 41)
FLOOR_SEED = 41
BROWSER_SEED = 29
NOTEBOOK_SEEDS = tuple(s for s in TEST_SEEDS if s not in (FLOOR_SEED, BROWSER_SEED))


def seed_cell(nb):
    """The index of the one code cell that sets SEED, and the stored seed."""
    found = [(i, int(m.group(1))) for i, c in enumerate(nb.cells) if c.cell_type == "code"
             for m in SEED_LINE.finditer(c.source)]
    if len(found) != 1:
        raise ValueError(f"expected one line 'SEED = <n>' in the notebook's code, found {len(found)}")
    return found[0]


def with_seed(nb, seed, clear=True):
    """A copy of nb whose SEED line reads `SEED = seed`, outputs cleared (unless clear is
    False: the browser test keeps the static figures a student's copy shows)."""
    index, _ = seed_cell(nb)
    fresh = copy.deepcopy(nb)
    cell = fresh.cells[index]
    cell.source = SEED_LINE.sub(lambda m: f"SEED = {seed}" + (f"  {m.group(2)}" if m.group(2) else ""),
                                cell.source, count=1)
    for c in fresh.cells:
        if c.cell_type == "code" and clear:
            c.outputs = []
    return fresh


def environment():
    """The tests' environment for a notebook kernel: one BLAS thread, inline drawing."""
    env = dict(os.environ)
    env["OPENBLAS_NUM_THREADS"] = "1"
    env.pop("MPLBACKEND", None)
    return env


def run(path, seed, timeout=300):
    """Run the notebook at path with SEED = seed. Returns a dict: seed, seconds, error (None,
    or (cell index, first line of the error)), stderr ([(cell index, text)]), and nb, the
    notebook as run."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = with_seed(nbformat.read(path, as_version=4), seed)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    error = None
    start = time.perf_counter()
    with client.setup_kernel(env=environment()):
        for i, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            try:
                client.execute_cell(cell, i)
            except CellExecutionError:
                err = next((o for o in cell.outputs if o.get("output_type") == "error"), None)
                what = f"{err['ename']}: {err['evalue']}" if err else "error"
                error = (i, what.strip().splitlines()[0][:400] if what.strip() else what)
                break
    seconds = time.perf_counter() - start
    stderr = [(i, "".join(o.get("text", ""))[:300]) for i, c in enumerate(nb.cells)
              if c.cell_type == "code" for o in c.get("outputs", []) if o.get("name") == "stderr"]
    return {"seed": seed, "seconds": seconds, "error": error, "stderr": stderr, "nb": nb}


def describe(path, result):
    line = f"{path.name} SEED = {result['seed']}: {result['seconds']:.0f} s, "
    if result["error"]:
        line += f"FAILED at cell {result['error'][0]}: {result['error'][1]}"
    else:
        line += "every cell ran"
    if result["stderr"]:
        line += f"; stderr in cells {[i for i, _ in result['stderr']]}: {result['stderr'][0][1]!r}"
    return line


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("notebooks", nargs="*", type=Path, default=NOTEBOOKS)
    ap.add_argument("--seeds", nargs="+", type=int, default=list(TEST_SEEDS))
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args(argv)
    jobs = [(p.resolve(), s) for p in args.notebooks for s in args.seeds]
    failures = []

    def one(job):
        path, seed = job
        result = run(path, seed)
        print(describe(path, result), flush=True)
        if result["error"] or result["stderr"]:
            failures.append((path.name, seed, result))

    with ThreadPoolExecutor(args.jobs) as pool:
        list(pool.map(one, jobs))
    print(f"\n{len(jobs)} runs, {len(failures)} failed")
    for name, seed, result in sorted(failures, key=lambda f: (f[0], f[1])):
        print(f"  {name} SEED = {seed}: {result['error'] or result['stderr'][0]}")
    return int(bool(failures))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
