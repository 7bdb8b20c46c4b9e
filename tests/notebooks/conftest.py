"""tests/notebooks runs on two workers (make test-notebooks): its costliest runs start first,
so that neither worker is left with a long one at the end while the other has nothing to do.

A test's cost is its notebook's run time (SECONDS: nbval's times on a quiet 2-core machine,
2026-12-07; a notebook not listed counts DEFAULT_S) times the passes it makes: the run-order
test re-runs the cells twice after its first pass for 01 to 04, once for the others
(test_run_order.BOTH_ORDERS). Only the order depends on these numbers, never a result: a
stale entry costs time, not correctness.
"""
SECONDS = {"01_rnn_forward": 1.4, "02_bptt": 2.1, "03_vanishing_exploding": 3.1,
           "04_activations": 2.7, "05_lstm_gru": 5.6, "06_deep_bidirectional": 3.5,
           "07_remedies": 10.5, "08_char_language_model": 13.6}
DEFAULT_S = 5.0
RUN_ORDER = "test_checked_outputs_do_not_depend_on_the_order_of_runs"
BOTH_ORDERS = ("01_", "02_", "03_", "04_")      # as test_run_order.BOTH_ORDERS


def _cost(item):
    path = item.callspec.params.get("path") if hasattr(item, "callspec") else None
    if path is None:
        return 0.0
    passes = 1 if item.originalname != RUN_ORDER else 3 if path.stem.startswith(BOTH_ORDERS) else 2
    return SECONDS.get(path.stem, DEFAULT_S) * passes


def pytest_collection_modifyitems(items):
    items.sort(key=_cost, reverse=True)           # stable: equal costs keep their order
