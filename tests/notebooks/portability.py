"""Checked outputs under other CPUs' numerics: numpy dispatch settings and OpenBLAS kernels.

A checked output (a cell tagged nbval-check-output) must print the same on every correct
machine. This machine can imitate others: numpy picks its SIMD loops at import and
`NPY_DISABLE_CPU_FEATURES` switches the widest ones off, and OpenBLAS picks its kernel by
CPU unless `OPENBLAS_CORETYPE` names one. Each notebook runs top to bottom in a fresh kernel
under a setting, and its checked cells' text (streams and text/plain, sanitised as nbval
sanitises them with tests/nbval_sanitize.cfg) is compared with the stored outputs.

Used by tests/notebooks/test_portability.py (make test-notebooks) and, for a survey of every
setting, from the command line:

    python tests/notebooks/portability.py [--jobs 2] [SETTING ...] [-- notebooks/07_*.ipynb]

which prints one row per setting: checked outputs compared and the differences.
"""
import argparse
import configparser
import copy
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
CHECK = "nbval-check-output"

# The settings a portable output must survive. Each is added to the tests' own environment
# (one BLAS thread) and to what the caller's environment holds; OPENBLAS_CORETYPE and
# OPENBLAS_L2_SIZE are removed first, so that "as is" means the kernel OpenBLAS picks itself.
# numpy 2.4 names its x86 dispatch targets X86_V3 (AVX2), X86_V4 (AVX-512), AVX512_ICL and
# AVX512_SPR, above the baseline X86_V2 (SSE4.2); `numpy.show_runtime()` lists those found.
SETTINGS = {
    "as-is": {},
    "no-avx512": {"NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR"},
    "baseline": {"NPY_DISABLE_CPU_FEATURES": "X86_V3 X86_V4 AVX512_ICL AVX512_SPR"},
    "haswell": {"OPENBLAS_CORETYPE": "Haswell", "OPENBLAS_L2_SIZE": "512"},
    "sandybridge": {"OPENBLAS_CORETYPE": "Sandybridge"},
    "two-threads": {"OPENBLAS_NUM_THREADS": "2"},
}
# What make test-notebooks runs besides nbval's own run: two more numpy dispatch settings
# and two more OpenBLAS kernels, each numpy setting paired with one kernel (numpy's loops
# and OpenBLAS's kernels are chosen independently, so one run checks both: two runs per
# notebook instead of four). A checked output that moves under a pair fails; the survey
# above, one setting at a time, says which half moved it.
PAIRS = {
    "no-avx512+haswell": ("no-avx512", "haswell"),
    "baseline+sandybridge": ("baseline", "sandybridge"),
}
for _pair, (_numpy, _blas) in PAIRS.items():
    SETTINGS[_pair] = {**SETTINGS[_numpy], **SETTINGS[_blas]}
PORTABILITY = tuple(PAIRS)


def environment(setting):
    env = {k: v for k, v in os.environ.items()
           if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "NPY_DISABLE_CPU_FEATURES")}
    env["OPENBLAS_NUM_THREADS"] = "1"
    env.pop("MPLBACKEND", None)                      # the kernel draws inline, as a student's does
    env.update(SETTINGS[setting])
    return env


def _sanitizers():
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "tests" / "nbval_sanitize.cfg")
    return [(re.compile(cfg[s]["regex"]), cfg[s]["replace"]) for s in cfg.sections()]


SANITIZERS = _sanitizers()


def text(outputs):
    """What nbval compares of a cell's outputs: streams and text/plain, sanitised."""
    parts = []
    for o in outputs:
        if o.get("output_type") == "stream":
            parts.append(o["text"])
        elif "data" in o and "text/plain" in o["data"]:
            parts.append(o["data"]["text/plain"])
        elif o.get("output_type") == "error":
            parts.append(f"{o['ename']}: {o['evalue']}")
    out = "".join(parts)
    for regex, replace in SANITIZERS:
        out = regex.sub(replace, out)
    return out


def run(path, setting):
    """Execute the notebook at path under setting; returns [(cell index, stored, got)] of the
    checked cells that differ, the number compared, and the seconds taken."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    stored = {i: text(c.outputs) for i, c in enumerate(nb.cells)
              if c.cell_type == "code" and CHECK in c.metadata.get("tags", [])}
    fresh = copy.deepcopy(nb)
    start = time.perf_counter()
    client = NotebookClient(fresh, timeout=300, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(path.parent)}})
    with client.setup_kernel(env=environment(setting)):
        for i, cell in enumerate(fresh.cells):
            if cell.cell_type == "code":
                client.execute_cell(cell, i)
    seconds = time.perf_counter() - start
    got = {i: text(fresh.cells[i].outputs) for i in stored}
    diffs = [(i, stored[i], got[i]) for i in stored if got[i] != stored[i]]
    return diffs, len(stored), seconds


def numpy_features(setting):
    """The SIMD extensions numpy's dispatch finds under setting (to confirm it took effect)."""
    code = ("from numpy._core._multiarray_umath import __cpu_features__ as f, __cpu_dispatch__ "
            "as d, __cpu_baseline__ as b; print(' '.join(b + [k for k in d if f.get(k)]))")
    return subprocess.run([sys.executable, "-c", code], env=environment(setting),
                          capture_output=True, text=True).stdout.strip()


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # Checked below, not with choices=: argparse (3.11) checks an empty list against choices
    # and refused the call without arguments, which means every setting.
    ap.add_argument("settings", nargs="*", help=f"any of {', '.join(SETTINGS)} (default: all)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--notebooks", nargs="*", type=Path, default=NOTEBOOKS)
    args = ap.parse_args(argv)
    unknown = [x for x in args.settings if x not in SETTINGS]
    if unknown:
        ap.error(f"settings: expected any of {', '.join(SETTINGS)}, received {', '.join(unknown)}")
    args.settings = args.settings or list(SETTINGS)
    jobs = [(s, p.resolve()) for p in args.notebooks for s in args.settings]
    rows = {s: [0, 0, 0.0] for s in args.settings}

    def one(job):
        setting, path = job
        diffs, n, seconds = run(path, setting)
        row = rows[setting]
        row[0] += n
        row[1] += len(diffs)
        row[2] += seconds
        print(f"{setting}: {path.name}: {n} checked, {len(diffs)} differ, {seconds:.0f} s", flush=True)
        for i, want, got in diffs:
            print(f"--- {setting}: {path.name} cell {i}\n stored: {want!r}\n    got: {got!r}", flush=True)

    with ThreadPoolExecutor(args.jobs) as pool:
        list(pool.map(one, jobs))
    print(f"\n{'setting':12s} {'numpy SIMD found':40s} {'compared':>8s} {'differ':>6s} {'s':>6s}")
    for setting, (n, d, s) in rows.items():
        simd = numpy_features(setting).split()
        print(f"{setting:12s} {' '.join(simd):40s} "
              f"{n:8d} {d:6d} {s:6.0f}")
    return int(any(d for _, d, _ in rows.values()))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
