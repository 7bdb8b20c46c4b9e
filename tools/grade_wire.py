"""The wire between the grading harness and a student's process (tools/grade.py).

The harness never runs a student's code: it calls the student's functions through a pipe, so
what crosses is data, encoded here as JSON with tagged nodes, and decoded without pickle (a
student's reply can only become None, bool, int, float, complex, str, bytes, a list, tuple or
dict of those, a numeric numpy array or scalar, a numpy Generator, or a callback handle).
A frame is a 4-byte big-endian length, then that many bytes of UTF-8 JSON.
"""
import base64
import json
import os
import struct

import numpy as np

FRAME_LIMIT = 64 << 20          # bytes of one frame: a larger reply is refused, not read
DEPTH_LIMIT = 32                # nesting of lists, tuples and dicts
KINDS = "biufc"                 # numpy dtype kinds that cross: bool, ints, floats, complex
GENERATORS = ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64")


class WireError(Exception):
    """A value that cannot cross, or a frame that is not one."""


def UNCHANGED(fn):
    """encode's callback for values sent back: a callable becomes handle -1, which `decode`
    with `stub=KEEP` reads as KEEP (the receiver keeps what it sent)."""
    return -1


class _Keep:
    """What a returned callable decodes to on the side that sent it: keep your own."""

    def __repr__(self):
        return "KEEP"


KEEP = _Keep()


def keep(handle):
    """decode's stub for values sent back (see UNCHANGED)."""
    return KEEP


def encode(obj, callback=None, depth=0):
    """`obj` as JSON-able nodes; `callback(fn) -> int` turns a callable into a handle."""
    if depth > DEPTH_LIMIT:
        raise WireError(f"nesting deeper than {DEPTH_LIMIT}")
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, int) and not isinstance(obj, np.integer):
        return obj
    if isinstance(obj, float) and not isinstance(obj, np.floating):
        return {"t": "float", "v": repr(obj)}          # keeps nan, inf and every bit
    if isinstance(obj, complex) and not isinstance(obj, np.complexfloating):
        return {"t": "complex", "v": [repr(obj.real), repr(obj.imag)]}
    if isinstance(obj, bytes):
        return {"t": "bytes", "v": base64.b64encode(obj).decode()}
    if isinstance(obj, (np.ndarray, np.generic)):
        arr = np.asarray(obj)
        if arr.dtype.kind not in KINDS:
            raise WireError(f"a numpy value of dtype {arr.dtype} (expected bool, int, float or complex)")
        return {"t": "nd" if isinstance(obj, np.ndarray) else "sc", "dtype": arr.dtype.str,
                "shape": list(arr.shape), "v": base64.b64encode(np.ascontiguousarray(arr).tobytes()).decode()}
    if isinstance(obj, np.random.Generator):
        return {"t": "rng", "v": encode(obj.bit_generator.state, callback, depth + 1)}
    if isinstance(obj, (list, tuple)):
        return {"t": "list" if isinstance(obj, list) else "tuple",
                "v": [encode(x, callback, depth + 1) for x in obj]}
    if isinstance(obj, dict):
        return {"t": "dict", "v": [[encode(k, callback, depth + 1), encode(v, callback, depth + 1)]
                                   for k, v in obj.items()]}
    if callable(obj) and callback is not None:
        return {"t": "fn", "v": callback(obj)}
    raise WireError(f"a value of type {type(obj).__name__}")


def decode(node, stub=None, depth=0):
    """The value `encode` made; `stub(handle) -> callable` turns a callback handle back."""
    if depth > DEPTH_LIMIT:
        raise WireError(f"nesting deeper than {DEPTH_LIMIT}")
    if node is None or isinstance(node, (bool, int, str)):
        return node
    if not isinstance(node, dict) or not isinstance(node.get("t"), str):
        raise WireError(f"a node of type {type(node).__name__}")
    t, v = node["t"], node.get("v")
    if t == "float":
        return float(v)
    if t == "complex":
        return complex(float(v[0]), float(v[1]))
    if t == "bytes":
        return base64.b64decode(v)
    if t in ("nd", "sc"):
        dtype = np.dtype(node["dtype"])
        if dtype.kind not in KINDS:
            raise WireError(f"a numpy value of dtype {dtype}")
        shape = tuple(int(n) for n in node["shape"])
        arr = np.frombuffer(base64.b64decode(v), dtype=dtype).reshape(shape).copy()
        return arr if t == "nd" else arr[()]
    if t == "rng":
        state = decode(v, None, depth + 1)
        name = state.get("bit_generator") if isinstance(state, dict) else None
        if name not in GENERATORS:
            raise WireError(f"a generator named {name!r} (expected one of {GENERATORS})")
        bits = getattr(np.random, name)()
        bits.state = state
        return np.random.Generator(bits)
    if t in ("list", "tuple"):
        items = [decode(x, stub, depth + 1) for x in v]
        return items if t == "list" else tuple(items)
    if t == "dict":
        return {decode(k, stub, depth + 1): decode(x, stub, depth + 1) for k, x in v}
    if t == "fn" and stub is not None and isinstance(v, int):
        return stub(v)
    raise WireError(f"a node tagged {t!r}")


def send(fd, message):
    """Write one frame (a JSON-able dict) to file descriptor `fd`."""
    data = json.dumps(message).encode()
    if len(data) > FRAME_LIMIT:
        raise WireError(f"a frame of {len(data)} bytes (the limit is {FRAME_LIMIT})")
    view = memoryview(struct.pack(">I", len(data)) + data)
    while view:
        view = view[os.write(fd, view):]


def recv(fd):
    """Read one frame from `fd`; None at end of file."""
    head = _read_exactly(fd, 4)
    if head is None:
        return None
    (size,) = struct.unpack(">I", head)
    if size > FRAME_LIMIT:
        raise WireError(f"a frame of {size} bytes (the limit is {FRAME_LIMIT})")
    body = _read_exactly(fd, size)
    if body is None:
        raise WireError("a frame cut short")
    try:
        message = json.loads(body)
    except (ValueError, RecursionError) as err:
        raise WireError(f"a frame that is not JSON ({type(err).__name__})")
    if not isinstance(message, dict):
        raise WireError(f"a frame holding {type(message).__name__}, not an object")
    return message


def _read_exactly(fd, n):
    parts, got = [], 0
    while got < n:
        part = os.read(fd, min(n - got, 1 << 20))
        if not part:
            if got:
                raise WireError("a frame cut short")
            return None
        parts.append(part)
        got += len(part)
    return b"".join(parts)
