"""Every checked output is what another correct machine prints: other numpy SIMD loops, other
OpenBLAS kernels.

Each notebook runs in a fresh kernel under each setting of portability.PORTABILITY that the
run-order test does not already cover (it runs under RUN_ORDER_SETTING and compares its first
pass with the stored outputs too), and its checked cells must print what is stored. Each
setting pairs a numpy dispatch setting with an OpenBLAS kernel: numpy's baseline loops with
the Sandybridge kernel here, numpy without its AVX-512 loops with OpenBLAS's Haswell kernel
and a 512 KiB L2 in the run-order test. Run by
make test-notebooks, two notebooks at a time; `python tests/notebooks/portability.py` surveys
every setting, thread counts included, and prints a table.
"""
import sys
from pathlib import Path

import pytest

pytest.importorskip("nbclient")
sys.path.insert(0, str(Path(__file__).resolve().parent))
import portability  # noqa: E402

# The run-order test re-runs a notebook's cells up to three times in one kernel: it takes the
# pair that costs least (numpy's AVX2 loops and the Haswell kernel run near this machine's
# native speed), and this test's single run takes numpy's baseline loops with Sandybridge's
# kernel, which made notebook 08's run-order test 97 s instead of about 30 on a quiet machine.
RUN_ORDER_SETTING = "no-avx512+haswell"
SETTINGS = [s for s in portability.PORTABILITY if s != RUN_ORDER_SETTING]
# The long notebooks first, so that neither worker is left with one at the end.
NOTEBOOKS = sorted(portability.NOTEBOOKS, key=lambda p: p.stat().st_size, reverse=True)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
@pytest.mark.parametrize("setting", SETTINGS)
def test_checked_outputs_match_under(setting, path):
    diffs, n, _ = portability.run(path, setting)
    assert n, f"{path.name}: no checked cell"
    assert not diffs, f"{path.name} under {setting} ({portability.SETTINGS[setting]}):\n" + "\n".join(
        f"cell {i}:\n--- stored:\n{want}\n--- printed:\n{got}" for i, want, got in diffs)
