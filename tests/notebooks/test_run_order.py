"""The notebooks print the same checked numbers in any order of running their cells.

A student re-runs cells out of order all the time. Each notebook is executed once top to
bottom in one kernel (Restart & Run All), and then, in the same kernel, its code cells are
run again in a shuffled order and again in reverse. Every cell tagged nbval-check-output
must print what it printed in the first pass. This fails when a cell draws from a generator
that another cell advanced, or reads a name that a later cell rebinds. Notebooks 01 to 04
(BOTH_ORDERS: a few seconds each) are re-run in both orders; 05 to 08, which train models and
take 8 to 17 s a pass, in the shuffled order only, so that the part stays within a few minutes.
The choice is by name, not by a timing, so that a busy machine tests the same orders. The
notebooks run two at a time (make test-notebooks).

The kernel runs under one of the portability settings (numpy without its AVX-512 loops,
with OpenBLAS's Haswell kernel and a 512 KiB L2: test_portability.py runs the other), and
the first pass must also print what is stored, so that this run doubles as that setting's
portability check.
"""
import copy
import json
import random
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

sys.path.insert(0, str(Path(__file__).resolve().parent))
import portability  # noqa: E402
from test_portability import RUN_ORDER_SETTING  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"), key=lambda p: p.stat().st_size,
                   reverse=True)                    # the long ones first: two workers share them
CHECK = "nbval-check-output"
BOTH_ORDERS = ("01_", "02_", "03_", "04_")      # re-run shuffled and reversed; the rest shuffled
_text = portability.text          # what nbval compares: streams and text/plain, sanitised


def _run(client, cells, order):
    """Execute cells[i] for i in order in the client's kernel; returns {i: printed text}."""
    out = {}
    for i in order:
        cell = copy.deepcopy(cells[i])
        client.execute_cell(cell, i)
        out[i] = _text(cell.outputs)
    return out


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_checked_outputs_do_not_depend_on_the_order_of_runs(path):
    nb = nbformat.read(path, as_version=4)
    env = portability.environment(RUN_ORDER_SETTING)
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                                     resources={"metadata": {"path": str(path.parent)}})
    code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    checked = [i for i in code if CHECK in nb.cells[i].metadata.get("tags", [])]
    assert checked, f"{path.name}: no checked cell"
    shuffled = code[:]
    random.Random(path.name).shuffle(shuffled)
    with client.setup_kernel(env=env):
        first = _run(client, nb.cells, code)
        moved = [i for i in checked if first[i] != _text(nb.cells[i].outputs)]
        assert not moved, (
            f"{path.name} under {RUN_ORDER_SETTING} ({portability.SETTINGS[RUN_ORDER_SETTING]}): "
            f"the checked output of cell(s) {moved} differs from the stored one; first cell "
            f"{moved[0]}:\n--- stored:\n{_text(nb.cells[moved[0]].outputs)}\n--- printed:\n{first[moved[0]]}")
        again = {}
        for order in ((shuffled, code[::-1]) if path.name.startswith(BOTH_ORDERS) else (shuffled,)):
            again = _run(client, nb.cells, order)
            changed = [i for i in checked if again[i] != first[i]]
            assert not changed, (
                f"{path.name}: re-running the cells in the order {order} changed the checked "
                f"output of cell(s) {changed}; first cell {changed[0]}:\n--- in order:\n"
                f"{first[changed[0]]}\n--- re-run:\n{again[changed[0]]}")


def test_the_checked_cells_are_the_ones_nbval_compares():
    for path in NOTEBOOKS:
        cells = json.loads(path.read_text())["cells"]
        assert any(CHECK in c.get("metadata", {}).get("tags", []) for c in cells), path.name
