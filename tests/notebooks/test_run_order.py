"""The notebooks print the same checked numbers in any order of running their cells.

A student re-runs cells out of order all the time. Each notebook is executed once top to
bottom in one kernel (Restart & Run All), and then, in the same kernel, its code cells are
run again in a shuffled order and again in reverse. Every cell tagged nbval-check-output
must print what it printed in the first pass. This fails when a cell draws from a generator
that another cell advanced, or reads a name that a later cell rebinds. A notebook whose first
pass takes longer than SLOW_S (the ones that train) is re-run in the shuffled order only, so
that the part stays within a few minutes; the notebooks run two at a time (make test-notebooks).
"""
import copy
import json
import os
import random
import re
import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
CHECK = "nbval-check-output"
SLOW_S = 10.0
FIGURE = re.compile(r"<Figure size [^>]*>")


def _text(outputs):
    """What nbval compares: streams and text/plain, figure sizes sanitised, no images."""
    parts = []
    for o in outputs:
        if o.get("output_type") == "stream":
            parts.append(o["text"])
        elif "data" in o and "text/plain" in o["data"]:
            parts.append(FIGURE.sub("<Figure>", o["data"]["text/plain"]))
        elif o.get("output_type") == "error":
            parts.append(f"{o['ename']}: {o['evalue']}")
    return "".join(parts)


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
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                                     resources={"metadata": {"path": str(path.parent)}})
    code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    checked = [i for i in code if CHECK in nb.cells[i].metadata.get("tags", [])]
    assert checked, f"{path.name}: no checked cell"
    shuffled = code[:]
    random.Random(path.name).shuffle(shuffled)
    with client.setup_kernel(env=env):
        start = time.perf_counter()
        first = _run(client, nb.cells, code)
        slow = time.perf_counter() - start > SLOW_S
        again = {}
        for order in ((shuffled,) if slow else (shuffled, code[::-1])):
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
