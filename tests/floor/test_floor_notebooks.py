"""Every notebook, top to bottom, on the floor stack of requirements-floor.txt (numpy 2.0,
matplotlib 3.8, ipywidgets 7.7, ipykernel 6.5, threadpoolctl 3.1): no error and nothing on
stderr, explorers included. Run by `make test-floor` inside .venv-floor."""
import re
import time
from importlib import metadata
from pathlib import Path

import nbclient
import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
PINS = dict(re.match(r"([\w-]+)==(\S+)", line).groups()
            for line in (ROOT / "requirements-floor.txt").read_text().splitlines()
            if re.match(r"[\w-]+==", line))


def test_this_is_the_floor_stack():
    for name in ("numpy", "matplotlib", "ipywidgets", "ipykernel", "threadpoolctl"):
        assert metadata.version(name) == PINS[name], (name, metadata.version(name), PINS[name])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs_on_the_floor_stack(path):
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute()                       # raises CellExecutionError on the first error
    seconds = time.perf_counter() - start
    stderr = [(i, "".join(o.get("text", ""))[:300]) for i, c in enumerate(nb.cells)
              for o in c.get("outputs", []) if o.get("name") == "stderr"]
    assert not stderr, f"{path.name}: output on stderr: {stderr[:3]}"
    widgets = sum(1 for c in nb.cells for o in c.get("outputs", [])
                  if "application/vnd.jupyter.widget-view+json" in o.get("data", {}))
    print(f"{path.name}: ran in {seconds:.1f} s on the floor stack, {widgets} widget views")
