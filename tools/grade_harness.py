"""Stage 2 of grading (tools/grade.py), in a sandbox of its own that no student code enters.

It imports a pristine numpy and rnn_core (the handed-out notebook's import lines), waits until
the student's process has run the notebook, asks it for the names the tests use, and defines
each student function as a proxy that calls it over the pipe and decodes the reply as plain
data (tools/grade_wire.py). Then it runs every test case as otter 7.0.0 does (one doctest per
case, in one shared environment), the public cases of every question first, then the hidden
ones (so what a student's code sees of a hidden case's inputs cannot reach a public case's
message). Only this process writes the results, on a file descriptor the grader holds.

Usage (tools/grade.py only): python grade_harness.py REQUEST_FD REPLY_FD RESULTS_FD < job.json
"""
import ast
import builtins
import doctest
import io
import json
import os
import re
import select
import sys
import types
from contextlib import redirect_stderr, redirect_stdout

import numpy as np

import grade_wire as wire

MESSAGE_LIMIT = 3000


class AnswerError(Exception):
    """What a student's function raised, when it is not a built-in exception."""


class StudentGone(Exception):
    """The student's process stopped answering: every later call fails at once."""


class Student:
    """The student's process, seen through the pipe."""

    def __init__(self, req_fd, reply_fd, call_timeout):
        self.req, self.reply, self.timeout = req_fd, reply_fd, call_timeout
        self.callbacks, self.entered, self.gone = [], set(), None

    def receive(self, timeout):
        if not select.select([self.reply], [], [], timeout)[0]:
            raise StudentGone(f"no reply within {timeout:g} s")
        try:
            message = wire.recv(self.reply)
        except (wire.WireError, ValueError) as err:
            raise StudentGone(f"an unreadable reply ({err})")
        if message is None:
            raise StudentGone("the student's process ended")
        return message

    def register(self, fn):
        self.callbacks.append(fn)
        return len(self.callbacks) - 1

    def ask(self, message, timeout):
        if self.gone:
            raise StudentGone(self.gone)
        try:
            wire.send(self.req, message)
            return self.receive(timeout)
        except (StudentGone, OSError) as err:
            self.gone = str(err)
            raise StudentGone(self.gone)

    def lookup(self, names):
        reply = self.ask({"op": "lookup", "names": sorted(names)}, self.timeout)
        return reply.get("v", {}) if reply.get("op") == "names" else {}

    def call(self, name, args, kwargs):
        message = {"op": "call", "name": name, "timeout": self.timeout,
                   "args": wire.encode(list(args), self.register), "kwargs": wire.encode(kwargs, self.register)}
        reply = self.ask(message, self.timeout + 10)
        while reply.get("op") == "callback":
            reply = self.ask(self.run_callback(reply), self.timeout + 10)
        self.entered.update(str(e) for e in reply.get("rnn_core", []) if isinstance(e, str))
        if reply.get("op") == "result":
            try:
                copy_back(list(args), wire.decode(reply["args"], wire.keep))
                copy_back(kwargs, wire.decode(reply["kwargs"], wire.keep))
                return wire.decode(reply["v"])
            except (wire.WireError, KeyError, TypeError, ValueError) as err:
                raise AnswerError(f"{name} returned a value the grader cannot read ({err})")
        if reply.get("op") == "error":
            raise exception(str(reply.get("type")), str(reply.get("message", "")))
        self.gone = "an unexpected reply"
        raise StudentGone(self.gone)

    def run_callback(self, request):
        try:
            fn = self.callbacks[int(request["id"])]
            value = fn(*wire.decode(request["args"]), **wire.decode(request["kwargs"]))
            return {"op": "return", "v": wire.encode(value, self.register)}
        except Exception as err:
            return {"op": "raise", "type": type(err).__name__}

    def proxy(self, name):
        def answer(*args, **kwargs):
            return self.call(name, args, kwargs)
        answer.__name__ = answer.__qualname__ = name
        return answer


def exception(type_name, message):
    """The built-in exception a student's function raised, or an AnswerError naming it."""
    cls = getattr(builtins, type_name, None)
    if isinstance(cls, type) and issubclass(cls, Exception):
        try:
            return cls(message)
        except Exception:
            pass
    return AnswerError(f"{type_name}: {message}")


def copy_back(orig, new):
    """Apply to `orig` what the student's function did to its copy `new` (in-place updates of
    arrays, dicts, lists and generators); True when done in place."""
    if new is wire.KEEP:                      # a callable the harness passed: keep it
        return True
    if isinstance(orig, np.ndarray) and isinstance(new, np.ndarray):
        if orig.shape != new.shape or not orig.flags.writeable:
            return False
        np.copyto(orig, new, casting="unsafe")
        return True
    if isinstance(orig, np.random.Generator) and isinstance(new, np.random.Generator):
        orig.bit_generator.state = new.bit_generator.state
        return True
    if isinstance(orig, dict) and isinstance(new, dict):
        for key in [k for k in orig if k not in new]:
            del orig[key]
        for key, value in new.items():
            if key not in orig or not copy_back(orig[key], value):
                orig[key] = value
        return True
    if isinstance(orig, (list, tuple)) and type(orig) is type(new) and len(orig) == len(new):
        for i, (a, b) in enumerate(zip(orig, new)):
            if not copy_back(a, b) and isinstance(orig, list):
                orig[i] = b
        return True
    return False


def run_doctest(name, body, env):
    """otter 7.0.0's run_doctest (otter/test_files/ok_test.py): (passed, report)."""
    examples = doctest.DocTestParser().parse(body, name)
    test = doctest.DocTest([e for e in examples if isinstance(e, doctest.Example)], env, name,
                           None, None, body)
    runner = doctest.DocTestRunner(verbose=True)
    out = io.StringIO()
    with redirect_stdout(out), redirect_stderr(out):
        runner.run(test, clear_globs=False)
    with open(os.devnull, "w") as f, redirect_stderr(f), redirect_stdout(f):
        result = runner.summarize(verbose=True)
    return result.failed == 0, out.getvalue()


def free_names(bodies, env):
    """Names the test code reads but never binds, and that the harness does not define."""
    loaded, bound = set(), set()
    for body in bodies:
        source = "\n".join(e.source for e in doctest.DocTestParser().get_examples(body))
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Name):
                (loaded if isinstance(node.ctx, ast.Load) else bound).add(node.id)
            elif isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)):
                bound.add(node.name)
            elif isinstance(node, ast.arg):
                bound.add(node.arg)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                bound.update((a.asname or a.name).split(".")[0] for a in node.names)
    return loaded - bound - set(dir(builtins)) - set(env)


def references(body, env, package, prefix):
    """The functions of the package that a test case names (rnn_core's reference
    implementations), as 'path/inside/the/package.py:qualname'."""
    found = set()
    for base, chain in re.findall(r"\b([A-Za-z_]\w*)((?:\.[A-Za-z_]\w*)+)", body):
        obj = env.get(base)
        if not (isinstance(obj, types.ModuleType) and obj.__name__.split(".")[0] == prefix):
            continue
        for attr in chain.split(".")[1:]:
            obj = getattr(obj, attr, None)
        code = getattr(obj, "__code__", None)
        if code is not None and code.co_filename.startswith(package):
            found.add(f"{os.path.relpath(code.co_filename, package)}:{code.co_qualname}")
    return found


def main():
    req_fd, reply_fd, out_fd = (int(a) for a in sys.argv[1:4])
    job = json.load(sys.stdin)
    env = {"__name__": "__main__"}
    exec(compile(job["setup"], "<setup>", "exec"), env)
    package = os.path.dirname(sys.modules[job["package"]].__file__)
    student = Student(req_fd, reply_fd, job["call_timeout"])
    try:
        ready = student.receive(job["ready_timeout"])
    except StudentGone as err:
        wire.send(out_fd, {"op": "stage1", "problem": str(err)})
        return
    errors = ready.get("errors") if isinstance(ready.get("errors"), list) else []
    errors = [e for e in errors[:50] if isinstance(e, list) and len(e) == 2 and isinstance(e[0], int)
              and isinstance(e[1], str) and re.fullmatch(r"\w{1,80}", e[1])]
    wire.send(out_fd, {"op": "ready", "errors": errors})
    cases = job["cases"]
    names = free_names([c["body"] for c in cases], env)
    try:
        found = student.lookup(names) if names else {}
    except StudentGone:
        found = {}
    for name, info in found.items():
        if name in names and isinstance(info, dict):
            if info.get("kind") == "function":
                env[name] = student.proxy(name)
            elif info.get("kind") == "value":
                try:
                    env[name] = wire.decode(info.get("v"))
                except (wire.WireError, TypeError, ValueError, KeyError):
                    pass
    for case in sorted(cases, key=lambda c: c["hidden"]):   # stable: public first, in order
        student.entered = set()
        try:
            passed, report = run_doctest(f"{case['question']} {case['index']}", case["body"], env)
        except Exception as err:   # doctest itself failing: the case fails
            passed, report = False, f"{type(err).__name__}: {err}"
        refs = references(case["body"], env, package, job["package"])
        wire.send(out_fd, {"op": "case", "question": case["question"], "index": case["index"],
                           "hidden": case["hidden"], "points": case["points"], "passed": passed,
                           "report": "" if case["hidden"] else report[-MESSAGE_LIMIT:],
                           "calls_reference": sorted(student.entered & refs)})
    wire.send(out_fd, {"op": "done"})
    try:
        wire.send(req_fd, {"op": "bye"})
    except OSError:
        pass


if __name__ == "__main__":
    main()
