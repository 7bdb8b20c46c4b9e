"""Stage 1 of grading (tools/grade.py), inside the student's sandbox, with no test present.

Runs the submission's code cells in order, as a kernel would (a failing cell is noted and the
next one runs; otter is a stub, so `grader.check` does nothing), then serves the harness:
`lookup` says whether each name is a function, a value (sent as data) or missing, and `call`
runs one student function in a forked child (so a crash, a patch or a leftover of one call
cannot touch the next) whose only way out is the reply relayed here. The child records which
functions of rnn_core's package directory the call entered, for the flag that asks whether an
answer calls the library's own implementation.

Usage (tools/grade.py only):
    python grade_student.py CELLS.json REQUEST_FD REPLY_FD RNN_CORE_DIR [--sandboxed]
"""
import json
import os
import resource
import select
import signal
import socket
import sys
import threading
import time
import types

import grade_wire as wire


def stubs():
    """An `otter` whose Notebook does nothing, so the handed-out cells run without the tests."""
    class Quiet:
        def __getattr__(self, name):
            return lambda *args, **kwargs: None
    otter = types.ModuleType("otter")
    otter.Notebook = lambda *args, **kwargs: Quiet()
    sys.modules["otter"] = otter
    return {"__name__": "__main__", "__builtins__": __builtins__, "display": lambda *a, **k: None}


def run_cells(cells, ns, sandboxed):
    """Run every cell; [(cell index, exception type name)] of those that raised. In the
    sandbox, what a cell started dies with it (a fork bomb's processes hold the slots of the
    process limit that the calls' forks need)."""
    main, errors = os.getpid(), []
    for index, source in cells:
        try:
            exec(compile(source, f"<cell {index}>", "exec"), ns)
        except BaseException as err:   # SystemExit and KeyboardInterrupt too: the next cell runs
            errors.append([index, type(err).__name__[:80]])
        if os.getpid() != main:        # a child forked by a cell never becomes the server
            os._exit(0)
        if sandboxed:
            kill_the_others()
        reap()
    return errors


def kill_the_others():
    """SIGKILL every other process this uid may signal: inside the sandbox's PID namespace,
    the processes the cells started (never run outside it: that would be every process of
    the user)."""
    for _ in range(1000):
        try:
            os.kill(-1, signal.SIGKILL)
        except ProcessLookupError:
            return
        reap()


def reap():
    """Collect the cells' children that have ended: a zombie still holds a slot of the
    sandbox's process limit, which the calls' forks need."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def describe(ns, names):
    out = {}
    for name in names:
        if name not in ns:
            out[name] = {"kind": "missing"}
        elif callable(ns[name]) and not isinstance(ns[name], type):
            out[name] = {"kind": "function"}
        else:
            try:
                out[name] = {"kind": "value", "v": wire.encode(ns[name])}
            except wire.WireError:
                out[name] = {"kind": "unreadable", "type": type(ns[name]).__name__[:80]}
    return out


def call_in_child(sock, fn, request, package):
    """In the forked child: decode the arguments, call, send the result (or the error) on `sock`."""
    def stub(handle):
        def callback(*args, **kwargs):
            wire.send(sock.fileno(), {"op": "callback", "id": handle, "args": wire.encode(list(args)),
                                      "kwargs": wire.encode(kwargs)})
            answer = wire.recv(sock.fileno())
            if answer is None or answer.get("op") != "return":
                raise RuntimeError("the grader's callback failed")
            return wire.decode(answer["v"])
        return callback

    entered = set()

    def profile(frame, event, arg):
        if event == "call" and frame.f_code.co_filename.startswith(package):
            entered.add(f"{os.path.relpath(frame.f_code.co_filename, package)}:{frame.f_code.co_qualname}")

    args, kwargs = wire.decode(request["args"], stub), wire.decode(request["kwargs"], stub)
    sys.setprofile(profile)
    threading.setprofile(profile)
    try:
        value = fn(*args, **kwargs)
        sys.setprofile(None)
        # the grader's own callbacks among the arguments go back as a bare handle: the
        # harness keeps its function (only arrays, dicts, lists and generators copy back)
        reply = {"op": "result", "v": wire.encode(value), "args": wire.encode(args, wire.UNCHANGED),
                 "kwargs": wire.encode(kwargs, wire.UNCHANGED)}
    except BaseException as err:
        sys.setprofile(None)
        reply = {"op": "error", "type": type(err).__name__[:80], "message": str(err)[:500]}
    reply["rnn_core"] = sorted(entered)[:50]
    wire.send(sock.fileno(), reply)


def serve_call(ns, request, req_fd, reply_fd, package):
    """Fork, relay the child's frames to the harness and its callback answers back, until the
    child's result, its death or the call's timeout."""
    fn = ns.get(request.get("name"))
    if not callable(fn):
        wire.send(reply_fd, {"op": "error", "type": "NameError", "message": f"{request.get('name')!r} is not defined"})
        return
    ours, theirs = socket.socketpair()
    reap()
    try:
        pid = os.fork()
    except OSError as err:
        ours.close()
        theirs.close()
        wire.send(reply_fd, {"op": "error", "type": "ProcessLimit", "message": f"cannot fork the call ({err})"})
        return
    if pid == 0:
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        resource.setrlimit(resource.RLIMIT_AS, (hard, hard))   # the room the cells could not take
        ours.close()
        os.close(req_fd)
        os.close(reply_fd)
        try:
            call_in_child(theirs, fn, request, package)
        finally:
            os._exit(0)
    theirs.close()
    deadline = time.monotonic() + float(request.get("timeout", 60))
    try:
        while True:
            left = deadline - time.monotonic()
            ready = select.select([ours, req_fd], [], [], max(left, 0))[0] if left > 0 else []
            if not ready:
                wire.send(reply_fd, {"op": "error", "type": "TimeoutError",
                                     "message": f"the call took longer than {request.get('timeout')} s"})
                return
            if req_fd in ready:
                wire.send(ours.fileno(), wire.recv(req_fd))
            if ours in ready:
                message = wire.recv(ours.fileno())
                if message is None:
                    _, status = os.waitpid(pid, 0)
                    pid = 0
                    wire.send(reply_fd, {"op": "error", "type": "ProcessDied",
                                         "message": f"the call ended its process ({_status_text(status)})"})
                    return
                wire.send(reply_fd, message)
                if message.get("op") in ("result", "error"):
                    return
    finally:
        ours.close()
        if pid:
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass


def _status_text(status):
    if os.WIFSIGNALED(status):
        return f"signal {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exit code {os.WEXITSTATUS(status)}"


def main():
    cells_path, req_fd, reply_fd, package = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    sandboxed = sys.argv[5:] == ["--sandboxed"]
    with open(cells_path, encoding="utf-8") as f:
        cells = json.load(f)
    ns = stubs()
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    os.dup2(null, 2)
    errors = run_cells(cells, ns, sandboxed)
    wire.send(reply_fd, {"op": "ready", "errors": errors[:50]})
    while True:
        request = wire.recv(req_fd)
        if request is None or request.get("op") == "bye":
            return
        if request.get("op") == "lookup":
            wire.send(reply_fd, {"op": "names", "v": describe(ns, request.get("names", []))})
        elif request.get("op") == "call":
            serve_call(ns, request, req_fd, reply_fd, package)


if __name__ == "__main__":
    main()
