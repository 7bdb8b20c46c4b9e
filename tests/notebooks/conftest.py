"""tests/notebooks runs on two workers (make test-notebooks): its costliest runs start first,
so that neither worker is left with a long one at the end while the other has nothing to do.

A test's cost is its notebook's run time (run_times.SECONDS) times the passes it makes: the
run-order test re-runs the cells twice after its first pass for 01 to 04, once for the
others (test_run_order.BOTH_ORDERS), and the portability test's run under numpy's baseline
SIMD loops and OpenBLAS's Sandybridge kernel takes about 1.5 times as long. Only the order depends on these numbers, never a result:
a stale entry costs time, not correctness.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run_times import SECONDS, DEFAULT_S  # noqa: E402

RUN_ORDER = "test_checked_outputs_do_not_depend_on_the_order_of_runs"
PORTABILITY, SLOWER = "test_checked_outputs_match_under", 1.5
BOTH_ORDERS = ("01_", "02_", "03_", "04_")      # as test_run_order.BOTH_ORDERS


def _cost(item):
    path = item.callspec.params.get("path") if hasattr(item, "callspec") else None
    if path is None:
        return 0.0
    passes = 1 if item.originalname != RUN_ORDER else 3 if path.stem.startswith(BOTH_ORDERS) else 2
    return SECONDS.get(path.stem, DEFAULT_S) * passes * (SLOWER if item.originalname == PORTABILITY else 1)


def pytest_collection_modifyitems(items):
    items.sort(key=_cost, reverse=True)           # stable: equal costs keep their order
