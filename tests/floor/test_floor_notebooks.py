"""Every notebook, top to bottom, on the floor stack of requirements-floor.txt (numpy 2.0,
matplotlib 3.8, ipywidgets 7.7, ipykernel 6.5, threadpoolctl 3.1): no error and nothing on
stderr, explorers included. Run by `make test-floor` inside .venv-floor.

No error must hold at any seed, so the notebooks run at seeds.FLOOR_SEED (one of the test
seeds, tests/notebooks/seeds.py), not at their stored seed: this run is also that seed's run
of the seed test, every assert of every notebook at a seed its prose was not written from.
Two notebooks run at a time (JOBS), the longest first, each in a fresh kernel."""
import asyncio
import re
import sys
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "notebooks"))
import seeds  # noqa: E402

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
JOBS = 2
PINS = dict(re.match(r"([\w-]+)==(\S+)", line).groups()
            for line in (ROOT / "requirements-floor.txt").read_text().splitlines()
            if re.match(r"[\w-]+==", line))


def test_this_is_the_floor_stack():
    for name in ("numpy", "matplotlib", "ipywidgets", "ipykernel", "threadpoolctl"):
        assert metadata.version(name) == PINS[name], (name, metadata.version(name), PINS[name])


def _run_at_floor_seed(path):
    """seeds.run in a worker thread, which then closes the event loop nbclient gave it.

    nbclient's synchronous calls run on the calling thread's asyncio loop, made for a thread
    that has none; left open, its self-pipe sockets reach the garbage collector at the end of
    the session (six ResourceWarnings, errors under pytest's filterwarnings)."""
    try:
        return seeds.run(path, seeds.FLOOR_SEED)
    finally:
        try:
            loop = asyncio.get_event_loop_policy().get_event_loop()
        except RuntimeError:                   # this thread never got a loop
            loop = None
        if loop is not None and not loop.is_running():
            loop.close()
        asyncio.set_event_loop(None)            # the thread's next run makes a new one


@pytest.fixture(scope="module")
def runs():
    """Every notebook's run at FLOOR_SEED, started at once on JOBS threads, longest first."""
    pool = ThreadPoolExecutor(JOBS)
    order = sorted(NOTEBOOKS, key=lambda p: p.stat().st_size, reverse=True)
    futures = {p: pool.submit(_run_at_floor_seed, p) for p in order}
    try:
        yield futures
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs_on_the_floor_stack(runs, path):
    result = runs[path].result()
    description = seeds.describe(path, result) + " on the floor stack"
    assert result["error"] is None, description
    assert not result["stderr"], description
    widgets = sum(1 for c in result["nb"].cells for o in c.get("outputs", [])
                  if "application/vnd.jupyter.widget-view+json" in o.get("data", {}))
    print(f"{description}, {widgets} widget views")
