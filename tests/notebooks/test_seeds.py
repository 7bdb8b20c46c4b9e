"""Every notebook runs top to bottom at each seed of seeds.TEST_SEEDS (none of them the stored
one): every assert in it holds, no cell raises, nothing reaches stderr. The notebooks' claims
are asserts computed from what they show, so a claim that only the stored seed makes true
fails here. The checked outputs stay those of the stored seed (nbval and the portability
runs); this test compares none. Run by make test-notebooks, two runs at a time, at the seeds
of seeds.NOTEBOOK_SEEDS; seeds.FLOOR_SEED is run by make test-floor (tests/floor), whose one
run of every notebook on the oldest stack is at that seed, and seeds.BROWSER_SEED by make
test-browser (tests/browser), whose Run All of every notebook in JupyterLab is at that seed."""
import sys
from pathlib import Path

import pytest

pytest.importorskip("nbclient")
sys.path.insert(0, str(Path(__file__).resolve().parent))
import seeds  # noqa: E402

# The long notebooks first, so that neither worker is left with one at the end.
NOTEBOOKS = sorted(seeds.NOTEBOOKS, key=lambda p: p.stat().st_size, reverse=True)


def test_every_notebook_has_one_seed_line_and_it_is_not_a_test_seed():
    import nbformat
    for path in seeds.NOTEBOOKS:
        _, stored = seeds.seed_cell(nbformat.read(path, as_version=4))
        assert stored not in seeds.TEST_SEEDS, (path.name, stored, seeds.TEST_SEEDS)


def test_every_test_seed_is_run_by_make_test():
    assert len(set(seeds.TEST_SEEDS)) >= 3, seeds.TEST_SEEDS
    assert seeds.FLOOR_SEED in seeds.TEST_SEEDS, (seeds.FLOOR_SEED, seeds.TEST_SEEDS)
    assert set(seeds.NOTEBOOK_SEEDS) | {seeds.FLOOR_SEED, seeds.BROWSER_SEED} == set(seeds.TEST_SEEDS)
    assert seeds.FLOOR_SEED != seeds.BROWSER_SEED
    tests = Path(__file__).resolve().parents[1]
    floor = (tests / "floor" / "test_floor_notebooks.py").read_text()
    assert "seeds.FLOOR_SEED" in floor, "tests/floor no longer runs the notebooks at FLOOR_SEED"
    browser = (tests / "browser" / "test_explorer_browser.py").read_text()
    assert "seeds.BROWSER_SEED" in browser, "tests/browser no longer runs the notebooks at BROWSER_SEED"


def test_the_seed_line_is_what_the_run_changes():
    import nbformat
    nb = nbformat.read(seeds.NOTEBOOKS[0], as_version=4)
    index, _ = seeds.seed_cell(nb)
    changed = seeds.with_seed(nb, 12345)
    assert "SEED = 12345" in changed.cells[index].source
    assert seeds.seed_cell(changed) == (index, 12345)


@pytest.mark.parametrize("seed", seeds.NOTEBOOK_SEEDS)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_holds_at_seed(path, seed):
    result = seeds.run(path, seed)
    print(seeds.describe(path, result))
    assert result["error"] is None, seeds.describe(path, result)
    assert not result["stderr"], seeds.describe(path, result)
