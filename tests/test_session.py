"""rnn_core.session: the notebooks' setup cell puts numpy's BLAS on one thread."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CALL = "rc.session.blas_threads(1)"


def test_blas_threads_sets_the_count_in_a_running_process():
    # a fresh interpreter with two BLAS threads, as a student's kernel on two cores starts
    code = ("import os, rnn_core.session as s; b = s.blas_thread_counts(); "
            "s.blas_threads(1); a = s.blas_thread_counts(); print(b, a)")
    env = {"PATH": "/usr/bin:/bin", "OPENBLAS_NUM_THREADS": "2"}
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    before, after = out.strip().split("} {")
    assert "2" in before and set(eval("{" + after).values()) == {1}, out


@pytest.mark.parametrize("bad, error", [(0, ValueError), (1.5, TypeError), (True, TypeError)])
def test_blas_threads_names_a_bad_count(bad, error):
    from rnn_core import session
    with pytest.raises(error, match=r"^n: expected an integer"):
        session.blas_threads(bad)


def test_every_notebook_sets_the_tested_thread_count_in_its_setup_cell():
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        code = [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
        assert CALL in "".join(code[1]["source"]), f"{path.name}: the setup cell lacks {CALL}"
