"""The benchmarks' plumbing stays right as the package changes (speed itself is measured by
`make bench`, never here): the cases build with the current cells, the peers' weight layout
round-trips, the rounds interleave, and the report keeps every table with its load. (That
the peers compute what we compute is checked by `make bench` itself before it times.)"""
import os
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture(scope="module")
def bench():
    """benchmarks/common.py and run_all.py, imported without changing this process's env."""
    saved = dict(os.environ)
    sys.path.insert(0, str(BENCH))
    try:
        import common
        import run_all
    finally:
        sys.path.remove(str(BENCH))
        os.environ.clear()
        os.environ.update(saved)
    return common, run_all


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_peer_layout_round_trips(bench, cell):
    common, _ = bench
    _, _, x, state0, params = common.make_case(cell, "W1-small")
    back = common.unfuse_grads(cell, common.fused_weights(cell, params))
    assert sorted(back) == sorted(params)
    for k in params:
        np.testing.assert_array_equal(back[k], params[k], err_msg=k)
    assert x.shape == (1, 50, 8) and all(s.shape == (1, 16) for s in state0.values())


def test_interleaved_rounds_rotate_the_order(bench):
    common, _ = bench
    order = []
    common.interleaved({n: (lambda n=n: order.append(n) or 1.0) for n in "abc"}, 3, settle=0)
    assert order == list("abc" "bca" "cab")


def test_report_keeps_each_table_with_its_load(bench):
    _, run_all = bench
    out = ["# Cells", "machine", "", "a caption", "| a | b |", "|---|---|", "| 1 | 2 |", "",
           "`10:00 up 1 min, load average: 1.00`", "note", "| c |", "|---|", "a remark", "",
           "## Next", "| d |"]
    got = run_all.report_lines(out, uptime=lambda: "LOAD")
    assert got[:6] == ["## Cells", "", "machine", "", "a caption", ""]
    assert got.count("`LOAD`") == 2                      # the script's own load line is kept once
    assert got.count("`10:00 up 1 min, load average: 1.00`") == 1
    i = got.index("| c |")
    assert got[i - 2:i] == ["note", ""]                  # a blank line before every table
    assert got[i + 1:i + 8] == ["|---|", "", "a remark", "", "`LOAD`", "", "### Next"]
    assert got[-4:] == ["| d |", "", "`LOAD`", ""]
    assert "" not in [a for a, b in zip(got, got[1:]) if a == b]   # no double blank lines
