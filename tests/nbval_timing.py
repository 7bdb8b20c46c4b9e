"""pytest plugin for `make test-notebooks`: each notebook's run time, summed over its cells.

Loaded with `-p tests.nbval_timing`; nbval reports one test per cell, and instructors
want one number per notebook (kernel start-up included, as setup of the first cell).
"""
from collections import defaultdict

_seconds = defaultdict(float)
_cells = defaultdict(set)


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
