"""Shared test set-up: import rnn_core from this checkout, and a seeded generator.

Warnings are errors for every test: see filterwarnings in pyproject.toml.
"""
import pathlib
import sys

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:       # run from a checkout without `pip install -e .`
    sys.path.insert(0, str(ROOT))


@pytest.fixture
def rng():
    """A fresh, seeded generator per test, so tests do not depend on their order."""
    return np.random.default_rng(1234)
