"""Shared test set-up: import rnn_core from this checkout, a seeded generator, and the
longest tests first.

Warnings are errors for every test: see filterwarnings in pyproject.toml.
"""
import gc
import pathlib
import sys

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:       # run from a checkout without `pip install -e .`
    sys.path.insert(0, str(ROOT))

# The unit tests that take seconds, longest first (CPU seconds on a quiet machine). They run
# before all others, so that with two workers (make test-unit) neither is left running one
# of them while the other has nothing to do: the short tests fill in around them. Named by
# function, so a test keeps its place when its file moves.
LONGEST_FIRST = (
    "test_rerunning_a_cell_closes_the_explorer_it_replaces",    # 30 explorers, ~10 s
    "test_gallery_figures_are_legible_and_written",             # 14 figures, ~7 s
    "test_explorer_is_legible_on_the_control_grid",             # 48 settings, ~6 s
    "test_readme_example_runs_and_says_what_it_prints",         # ~2 s
)


def pytest_collection_modifyitems(items):
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.originalname, len(rank)))   # stable: else as collected


def pytest_collection_finish(session):
    """Leave what collection made (modules, test items, imported packages) out of the
    collector's full passes: it lives as long as the session, and walking its ~10^5 objects
    again at every full pass cost about 1.4 s of CPU per run. Garbage the tests make is still
    collected (gc.collect() included)."""
    gc.collect()
    gc.freeze()


@pytest.fixture
def rng():
    """A fresh, seeded generator per test, so tests do not depend on their order."""
    return np.random.default_rng(1234)
