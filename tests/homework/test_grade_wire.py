"""What crosses between a student's process and the grading harness (tools/grade_wire.py), and
how the harness applies a call's in-place changes (cheap: runs in the unit part too)."""
import importlib.util
import os
import sys
from pathlib import Path

import numpy as np
import pytest

TOOLS = Path(__file__).resolve().parents[2] / "tools"
sys.path.insert(0, str(TOOLS))
import grade_wire as wire  # noqa: E402

spec = importlib.util.spec_from_file_location("grade_harness", TOOLS / "grade_harness.py")
harness = importlib.util.module_from_spec(spec)
spec.loader.exec_module(harness)


def test_values_cross_unchanged():
    rng = np.random.default_rng(7)
    value = {"W": rng.standard_normal((3, 2)), "n": np.int64(4), "x": np.float32(0.5), "t": (1, 2.5, None),
             "flags": np.array([True, False]), "z": 1 + 2j, "s": "tanh", 3: [float("nan"), b"\x00"],
             "rng": np.random.default_rng(3)}
    back = wire.decode(wire.encode(value))
    assert back.keys() == value.keys()
    assert back["W"].dtype == np.float64 and np.array_equal(back["W"], value["W"])
    assert type(back["n"]) is np.int64 and type(back["x"]) is np.float32 and back["x"] == np.float32(0.5)
    assert back["t"] == (1, 2.5, None) and back["z"] == 1 + 2j and back["s"] == "tanh"
    assert np.isnan(back[3][0]) and back[3][1] == b"\x00" and back["flags"].dtype == bool
    assert back["rng"].random() == np.random.default_rng(3).random()


@pytest.mark.parametrize("bad", [np.array([object()]), object(), lambda: 1])
def test_objects_do_not_cross(bad):
    with pytest.raises(wire.WireError):
        wire.encode(bad)


@pytest.mark.parametrize("node", [{"t": "pickle", "v": ""}, {"t": "nd", "dtype": "|O", "shape": [1], "v": ""},
                                  {"t": "rng", "v": {"t": "dict", "v": [["bit_generator", "os.system"]]}},
                                  [1, 2], {"t": "fn", "v": 0}])
def test_a_reply_cannot_become_code(node):
    with pytest.raises(wire.WireError):
        wire.decode(node)


def test_frames_are_bounded():
    r, w = os.pipe()
    os.write(w, (wire.FRAME_LIMIT + 1).to_bytes(4, "big"))
    with pytest.raises(wire.WireError, match="limit"):
        wire.recv(r)
    os.write(w, (5).to_bytes(4, "big") + b"[1,2]")
    with pytest.raises(wire.WireError, match="not an object"):
        wire.recv(r)
    os.close(w)
    assert wire.recv(r) is None
    os.close(r)


def test_callables_cross_as_callbacks():
    seen = []
    node = wire.encode([lambda: 2.0], callback=lambda fn: seen.append(fn) or len(seen) - 1)
    stubs = wire.decode(node, stub=lambda handle: ("stub", handle))
    assert stubs == [("stub", 0)] and seen[0]() == 2.0


def test_in_place_changes_come_back():
    grads = {"W": np.ones((2, 2)), "b": np.zeros(2)}
    W, state = grads["W"], [np.zeros(3)]
    new = ({"W": 2 * np.ones((2, 2)), "b": np.zeros(2), "m": np.ones(1)}, [np.arange(3.0)])
    harness.copy_back([grads, state], list(new))
    assert grads["W"] is W and np.all(W == 2), "an array updated in place stays the caller's array"
    assert set(grads) == {"W", "b", "m"} and np.array_equal(state[0], np.arange(3.0))
