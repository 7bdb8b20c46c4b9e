"""Each notebook's run time, for the order in which the notebook tests start their runs (the
costliest first, so that neither of two workers is left with a long one at the end): used by
tests/notebooks/conftest.py and by tests/nbval_timing.py for nbval's run. SECONDS: nbval's
times on a quiet 2-core machine, 2026-12-07; a notebook not listed counts DEFAULT_S. Only the
order depends on these numbers, never a result: a stale entry costs time, not correctness.
"""
SECONDS = {"01_rnn_forward": 1.4, "02_bptt": 2.1, "03_vanishing_exploding": 3.1,
           "04_activations": 2.7, "05_lstm_gru": 5.6, "06_deep_bidirectional": 3.5,
           "07_remedies": 10.5, "08_char_language_model": 13.6}
DEFAULT_S = 5.0
