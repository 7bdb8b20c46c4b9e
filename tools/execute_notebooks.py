"""Re-execute the committed notebooks in place with this environment (`make notebooks`).

What a contributor runs after changing a notebook or what it draws, so that the outputs
on GitHub are what the pinned stack computes. Each notebook runs top to bottom in a fresh
kernel from notebooks/ (as Restart & Run All does), and is written back clean: execution
counts 1..n, no execution timestamps, no saved widget state (the widget cells keep their
view reference, and the static figure beside each widget carries the picture).

Run: python tools/execute_notebooks.py [notebooks/03_vanishing_exploding.ipynb ...]
"""
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]


def execute(path):
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3", record_timing=False,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    nb.metadata.pop("widgets", None)                     # saved widget state: never committed
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.metadata.pop("execution", None)
    nbformat.validate(nb)
    nbformat.write(nb, path)


def main(argv):
    paths = [Path(a).resolve() for a in argv] or sorted((ROOT / "notebooks").glob("*.ipynb"))
    for path in paths:
        execute(path)
        print(f"executed {path.relative_to(ROOT)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
