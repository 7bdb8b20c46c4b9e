"""pytest plugin for `make test-notebooks`: each notebook's run time, summed over its cells.

Loaded with `-p tests.nbval_timing`; nbval reports one test per cell, and instructors
want one number per notebook (kernel start-up included, as setup of the first cell).
It also puts the costliest notebooks first (tests/notebooks/run_times.py), each notebook's
cells in their order, so that `--dist loadfile` starts the long ones first and neither
worker is left with one at the end.
"""
from collections import defaultdict
from pathlib import Path

from tests.notebooks.run_times import DEFAULT_S, SECONDS

_seconds = defaultdict(float)
_cells = defaultdict(set)


def pytest_collection_modifyitems(items):
    def cost(item):
        path = Path(item.nodeid.partition("::")[0])
        return -SECONDS.get(path.stem, DEFAULT_S) if path.suffix == ".ipynb" else 0.0
    items.sort(key=cost)                       # stable: a notebook's cells keep their order


def pytest_runtest_logreport(report):
    path, _, cell = report.nodeid.partition("::")
    if path.endswith(".ipynb"):
        _seconds[path] += report.duration
        _cells[path].add(cell)


def pytest_terminal_summary(terminalreporter):
    if not _seconds:
        return
    tr = terminalreporter
    tr.write_sep("=", "notebook run times")
    for path in sorted(_seconds):
        tr.write_line(f"{_seconds[path]:7.1f} s  {len(_cells[path]):3d} cells  {path}")
    tr.write_line(f"{sum(_seconds.values()):7.1f} s  total")
