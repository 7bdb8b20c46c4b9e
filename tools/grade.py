"""Grade a folder of submissions offline with otter-grader: `make grade SUBMISSIONS=dir`.

Every entry of the folder is one submission (a notebook file, or a folder holding one) and
gets exactly one row of the gradebook, graded or with the reason it could not be. Each
submission is graded by `otter run` (no Docker, no setup.sh, no network) against the bundle
`make homework` built, in a sandbox of its own:

- its own temporary folder, holding a copy of the bundle (checked against SHA256SUMS before
  and after), the submission, and its HOME, TMPDIR and Jupyter/IPython/matplotlib folders;
- when run as root (as here and in CI), its own Linux namespaces (util-linux `unshare`):
  a mount namespace where every file system is read-only except its own folder, so it can
  change nothing else (not the bundle, the build, the masters, another submission's folder);
  a PID namespace, so it sees and can signal only its own processes, and all of them (a fork,
  a daemon, the kernel) die with the namespace; a network namespace with only loopback (the
  kernel talks to otter there), so no network; and no capabilities (`setpriv`), so it cannot
  undo any of this. Without root: its own process session, and the folder and hash checks;
- every process it leaves is killed, by session, namespace and a marker in its environment,
  when otter returns or the wall-clock timeout expires;
- limits set in the child before exec: address space (RLIMIT_AS), file size (RLIMIT_FSIZE,
  against huge outputs written to disk), no core dumps, CPU time.

Two submissions run at a time (--workers 2, one per core). Outputs, in --out:
    gradebook.csv   submission, assignment, status, q1..qN, total, possible, seconds,
                    flags, reason
    feedback/<submission>.txt   per question points, and the public tests' report

`flags` lists what a static scan of the submission's code found that the instructor should
look at (reading the tests or the bundle, patching numpy or otter, ctypes, fork, exit...):
otter runs the tests inside the student's kernel, so a submission that patches the test
machinery can lie about its own score. It cannot change anyone else's (see homework/README.md).
"""
import argparse
import ast
import csv
import json
import os
import re
import resource
import secrets
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

# homework_build writes SHA256SUMS; its sha256 is the one this checks them with. tools/ is on
# sys.path when this runs as a script; the line makes it so when it is loaded by file path.
sys.path.insert(0, str(Path(__file__).resolve().parent))
from homework_build import sha256  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "build" / "homework"
# Run inside `unshare --mount --pid --net --fork`: loopback up, the work folder bound onto
# itself, every other mount read-only, then exec the command without any capability.
SANDBOX = r"""set -e
work=$1; shift
ip link set lo up
mount --bind "$work" "$work"
for m in $(awk '{print $2}' /proc/self/mounts); do
  case "$m" in /proc|/proc/*|"$work") continue;; esac
  mount -o remount,bind,ro "$m" 2>/dev/null || { echo "sandbox: cannot make $m read-only" >&2; exit 97; }
done
exec setpriv --no-new-privs --inh-caps=-all --bounding-set=-all -- "$@"
"""
MARKER = "HOMEWORK_GRADE_TOKEN"

# What the static scan flags: (label, regex over the code cells' source).
SUSPICIOUS = (
    ("reads or writes files", r"\bopen\s*\(|\bPath\s*\(|\bshutil\.|\bos\.(remove|unlink|rename|replace|rmdir|walk|listdir|scandir|chmod)|\bglob\b"),
    ("mentions the tests or the bundle", r"tests/|autograder|\.zip\b|otter_config|results\.(json|pkl)"),
    ("uses otter's internals", r"\botter\b(?!\.Notebook)|\bChecker\b|GradingResults|\bdoctest\b"),
    ("patches a module", r"^\s*(np|numpy|rc|rnn_core|otter|builtins|doctest|pickle|sys|os)(\.\w+)+\s*=[^=]"),
    ("uses ctypes, signals or exits", r"\bctypes\b|os\.kill|os\._exit|sys\.exit|\bexit\s*\(|\bquit\s*\(|\bsignal\."),
    ("starts processes or threads", r"os\.fork|subprocess|multiprocessing|threading|os\.system|os\.exec|os\.spawn|Popen"),
    ("imports dynamically", r"__import__|importlib|\bexec\s*\(|\beval\s*\(|sys\.modules"),
)


def read_sums(build):
    sums = {}
    for line in (build / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split("  ", 1)
        sums[name] = digest
    return sums


def tree_hashes(paths):
    """{path: sha256} of every file under `paths` (the instructor's files)."""
    out = {}
    for base in paths:
        for p in sorted(Path(base).rglob("*")):
            if p.is_file() and "__pycache__" not in p.parts and ".ipynb_checkpoints" not in p.parts:
                out[str(p)] = sha256(p)
    return out


# ---------------------------------------------------------------------------- the submission

class Ungradable(Exception):
    """A submission that cannot be graded; the message is the gradebook's reason."""


def find_notebook(entry):
    """The notebook file of a submission entry (a file, or a folder with one .ipynb)."""
    if entry.is_symlink():
        raise Ungradable("a symbolic link, not a file")
    if entry.is_dir():
        nbs = sorted(p for p in entry.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
        if len(nbs) != 1:
            raise Ungradable(f"expected one .ipynb in the folder, found {len(nbs)}")
        return nbs[0]
    if entry.suffix != ".ipynb":
        raise Ungradable(f"expected a .ipynb file, received {entry.name!r}")
    return entry


def read_notebook(path, max_bytes):
    size = path.stat().st_size
    if size == 0:
        raise Ungradable("empty file")
    if size > max_bytes:
        raise Ungradable(f"file of {size} bytes, above the limit of {max_bytes}")
    try:
        import nbformat
        nb = nbformat.reads(path.read_text(encoding="utf-8"), as_version=4)
        nbformat.validate(nb)
    except Exception as err:   # any parse or schema error: the reason names it
        raise Ungradable(f"not a valid notebook ({type(err).__name__}: {str(err).splitlines()[0][:160]})")
    return nb


def assignment_of(nb, known):
    """The assignment a notebook belongs to, from otter's metadata or its init cell."""
    name = (nb.metadata.get("otter") or {}).get("assignment_name")
    if name in known:
        return name
    for cell in nb.cells:
        m = re.search(r'otter\.Notebook\("([\w\-]+)\.ipynb"\)', cell.source)
        if cell.cell_type == "code" and m and m.group(1) in known:
            return m.group(1)
    raise Ungradable(f"cannot tell which assignment this is (expected one of {sorted(known)})")


def scan(nb, handed_out=frozenset()):
    """The labels of SUSPICIOUS that the student's code matches (cells that are not exactly
    as handed out), and a syntax note."""
    source = "\n".join(c.source for c in nb.cells
                       if c.cell_type == "code" and c.source not in handed_out)
    found = [label for label, rx in SUSPICIOUS if re.search(rx, source, flags=re.M)]
    try:
        ast.parse("\n".join(l for l in source.splitlines() if not l.lstrip().startswith(("%", "!"))))
    except SyntaxError:
        found.append("code with syntax errors")
    return found


# ---------------------------------------------------------------------------- processes

def _pids():
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def _matches(pid, token):
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            return f"{MARKER}={token}".encode() in f.read().split(b"\0")
    except OSError:
        return False


def kill_everything(pgid, token):
    """SIGKILL the submission's session (with it the PID namespace's init, and so the whole
    namespace) and every process whose environment carries its token, until none is left (forks may race with the first pass)."""
    for _ in range(50):
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        left = [pid for pid in _pids() if pid != os.getpid() and _matches(pid, token)]
        if not left:
            return
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        time.sleep(0.05)


def _limits(mem_bytes, fsize_bytes, cpu_seconds):
    """The child's limits, set before exec and inherited by everything it starts."""
    def apply():
        os.setsid()
        resource.setrlimit(resource.RLIMIT_AS, (mem_bytes, mem_bytes))
        resource.setrlimit(resource.RLIMIT_FSIZE, (fsize_bytes, fsize_bytes))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds))
    return apply


def sandbox_works():
    """Whether this process can build the namespaces (root, unshare, setpriv and ip present)."""
    if os.geteuid() != 0 or not all(shutil.which(t) for t in ("unshare", "setpriv", "ip")):
        return False
    with tempfile.TemporaryDirectory() as work:
        probe = subprocess.run(["unshare", "--mount", "--pid", "--net", "--fork", "--kill-child",
                                "--mount-proc", "--propagation", "private", "sh", "-c", SANDBOX,
                                "sandbox", work, "sh", "-c", f"touch {work}/ok && ! touch /probe"],
                               capture_output=True, timeout=30)
        return probe.returncode == 0 and os.path.exists(f"{work}/ok")


# ---------------------------------------------------------------------------- one submission

class Grader:
    def __init__(self, build, out, timeout, memory, cpu, workers):
        self.build, self.out = Path(build), Path(out)
        self.timeout, self.memory, self.cpu, self.workers = timeout, memory, cpu, workers
        self.sums = read_sums(self.build)
        self.bundles = {Path(n).name[: -len("-autograder.zip")]: self.build / n
                        for n in self.sums if n.startswith("autograder/")}
        self.questions = {}
        for name, bundle in self.bundles.items():
            if sha256(bundle) != self.sums[f"autograder/{name}-autograder.zip"]:
                raise SystemExit(f"grade: {bundle} does not match SHA256SUMS: rebuild with make homework")
            import zipfile
            with zipfile.ZipFile(bundle) as z:
                self.questions[name] = sorted(Path(n).stem for n in z.namelist() if n.startswith("tests/"))
        self.handed_out = {}
        for name in self.bundles:
            student = json.loads((self.build / "student" / f"{name}.ipynb").read_text(encoding="utf-8"))
            self.handed_out[name] = frozenset("".join(c["source"]) for c in student["cells"]
                                              if c["cell_type"] == "code")
        self.sandbox = sandbox_works()

    def grade(self, entry):
        t0 = time.monotonic()
        row = {"submission": entry.name, "assignment": "", "status": "error", "total": "",
               "possible": "", "flags": "", "reason": ""}
        try:
            nb_path = find_notebook(entry)
            nb = read_notebook(nb_path, 64 << 20)
            row["assignment"] = assignment_of(nb, self.bundles)
            row["flags"] = "; ".join(scan(nb, self.handed_out[row["assignment"]]))
            scores, public = self._run(row["assignment"], nb_path)
            row.update(scores)
            row["status"] = "graded"
        except Ungradable as err:
            row["reason"] = str(err)
        except Exception as err:   # a bug of ours must still leave the row, with its reason
            row["reason"] = f"grader error: {type(err).__name__}: {err}"
        row["seconds"] = f"{time.monotonic() - t0:.1f}"
        self._feedback(entry.name, row, public if row["status"] == "graded" else "")
        return row

    def _run(self, name, nb_path):
        token = secrets.token_hex(16)
        top = Path(tempfile.mkdtemp(prefix=f"grade-{name}-"))
        try:
            os.chmod(top, 0o700)
            bundle = top / "bundle.zip"
            shutil.copyfile(self.bundles[name], bundle)
            os.chmod(bundle, 0o444)
            want = self.sums[f"autograder/{name}-autograder.zip"]
            if sha256(bundle) != want:
                raise Ungradable("the copy of the bundle does not match SHA256SUMS")
            work = top / "work"
            for sub in ("", "home", "tmp", "out", "submission"):
                (work / sub).mkdir(exist_ok=True)
            sub = work / "submission" / f"{name}.ipynb"
            shutil.copyfile(nb_path, sub)
            home = work / "home"
            env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(home),
                   "TMPDIR": str(work / "tmp"), "LANG": "C.UTF-8", MARKER: token,
                   "JUPYTER_PLATFORM_DIRS": "1", "JUPYTER_CONFIG_DIR": str(home / "jupyter-config"),
                   "JUPYTER_DATA_DIR": str(home / "jupyter-data"),
                   "JUPYTER_RUNTIME_DIR": str(home / "jupyter-runtime"),
                   "IPYTHONDIR": str(home / "ipython"), "MPLCONFIGDIR": str(home / "matplotlib"),
                   "XDG_CONFIG_HOME": str(home / "config"), "XDG_CACHE_HOME": str(home / "cache"),
                   "XDG_DATA_HOME": str(home / "data"), "MPLBACKEND": "Agg",
                   "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "PYTHONNOUSERSITE": "1",
                   "PYTHONDONTWRITEBYTECODE": "1"}
            cmd = [sys.executable, "-m", "otter", "run", "--no-logo", "-a", str(bundle),
                   "-o", str(work / "out"), str(sub)]
            if self.sandbox:
                cmd = ["unshare", "--mount", "--pid", "--net", "--fork", "--kill-child",
                       "--mount-proc", "--propagation", "private", "sh", "-c", SANDBOX,
                       "sandbox", str(work), *cmd]
            with open(top / "otter.log", "wb") as log:
                proc = subprocess.Popen(cmd, cwd=work, env=env, stdin=subprocess.DEVNULL,
                                        stdout=log, stderr=subprocess.STDOUT, close_fds=True,
                                        preexec_fn=_limits(self.memory, 256 << 20, self.cpu))
                try:
                    proc.wait(timeout=self.timeout)
                    timed_out = False
                except subprocess.TimeoutExpired:
                    timed_out = True
                finally:
                    kill_everything(proc.pid, token)
                    proc.wait()
            if sha256(bundle) != want:
                raise Ungradable("the submission changed its copy of the autograder bundle")
            if timed_out:
                raise Ungradable(f"timed out after {self.timeout:g} s (wall clock)")
            results = work / "out" / "results.json"
            if proc.returncode != 0 or not results.is_file():
                log = (top / "otter.log").read_bytes()
                if b"DeadKernelError" in log:
                    raise Ungradable(f"the kernel died (a crash, os._exit, a signal, or the CPU "
                                     f"limit of {self.cpu} s per process)")
                if b"MemoryError" in log[-4000:]:
                    raise Ungradable(f"out of memory (the limit is {self.memory / 2 ** 30:g} GiB "
                                     f"per process)")
                raise Ungradable(f"otter run exited with {_exit_text(proc.returncode)}: "
                                 f"{_last_error(log[-4000:].decode('utf-8', 'replace'))}")
            return self._scores(name, results)
        finally:
            shutil.rmtree(top, ignore_errors=True)

    def _scores(self, name, results):
        try:
            data = json.loads(results.read_text(encoding="utf-8"))
            by_name = {t["name"]: t for t in data["tests"]}
            scores, total, possible = {}, 0.0, 0.0
            for q in self.questions[name]:
                t = by_name[q]
                s, m = float(t["score"]), float(t["max_score"])
                if not 0.0 <= s <= m:
                    raise ValueError(f"{q}: score {s} outside [0, {m}]")
                scores[q] = f"{s:g}"
                total, possible = total + s, possible + m
            public = by_name.get("Public Tests", {}).get("output", "")
        except (ValueError, KeyError, TypeError) as err:
            raise Ungradable(f"otter's results.json is not readable ({type(err).__name__}: {err})")
        scores.update(total=f"{total:g}", possible=f"{possible:g}")
        return scores, public

    def _feedback(self, submission, row, public):
        lines = [f"Submission: {submission}", f"Assignment: {row['assignment'] or '?'}"]
        if row["status"] == "graded" or "total" in row and row["total"] != "":
            for q in self.questions.get(row["assignment"], []):
                lines.append(f"  {q}: {row.get(q, '')} points")
            lines.append(f"Total: {row['total']} / {row['possible']}")
            lines += ["", "Public tests (the hidden tests' details are not shown):", public]
        else:
            lines.append(f"Not graded: {row['reason']}")
        fb = self.out / "feedback" / (re.sub(r"[^\w.\-]", "_", submission) + ".txt")
        fb.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _exit_text(rc):
    if rc is not None and rc < 0:
        try:
            return f"signal {signal.Signals(-rc).name}"
        except ValueError:
            return f"signal {-rc}"
    return f"code {rc}"


def _last_error(tail):
    lines = [l.strip() for l in tail.splitlines() if l.strip()]
    errs = [l for l in lines if re.match(r"^[\w.]*(Error|Exception|Exit)\b", l)]
    return (errs[-1] if errs else (lines[-1] if lines else "no output"))[:200]


# ---------------------------------------------------------------------------- the batch

def grade_folder(submissions, build=BUILD, out=None, timeout=300.0, memory=3 << 30, cpu=120,
                 workers=2):
    """Grade every entry of `submissions`; returns (rows, seconds). Writes gradebook.csv."""
    submissions, build = Path(submissions), Path(build)
    out = Path(out) if out else ROOT / "build" / "grades"
    if not submissions.is_dir():
        raise SystemExit(f"grade: SUBMISSIONS: expected a folder, received {submissions}")
    shutil.rmtree(out, ignore_errors=True)
    (out / "feedback").mkdir(parents=True)
    grader = Grader(build, out, timeout, memory, cpu, workers)
    guarded = [build, ROOT / "homework"]
    before = tree_hashes(guarded)
    entries = sorted(submissions.iterdir(), key=lambda p: p.name)
    t0 = time.monotonic()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        rows = list(pool.map(grader.grade, entries))
    seconds = time.monotonic() - t0
    after = tree_hashes(guarded)
    changed = sorted(set(before.items()) ^ set(after.items()))
    qs = sorted({q for qq in grader.questions.values() for q in qq})
    fields = ["submission", "assignment", "status", *qs, "total", "possible", "seconds",
              "flags", "reason"]
    with open(out / "gradebook.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        w.writeheader()
        for row in rows:
            w.writerow({k: row.get(k, "") for k in fields})
    if changed:
        raise SystemExit(f"grade: the instructor's files changed during grading: {changed[:5]}")
    return rows, seconds


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("submissions")
    ap.add_argument("--build", default=str(BUILD))
    ap.add_argument("--out", default=str(ROOT / "build" / "grades"))
    ap.add_argument("--timeout", type=float, default=300.0, help="wall-clock seconds per submission")
    ap.add_argument("--cpu", type=int, default=120, help="CPU seconds per process")
    ap.add_argument("--memory", type=float, default=3.0, help="GiB of address space per process")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args(argv)
    rows, seconds = grade_folder(args.submissions, args.build, args.out, args.timeout,
                                 int(args.memory * (1 << 30)), args.cpu, args.workers)
    graded = sum(r["status"] == "graded" for r in rows)
    print(f"grade: {len(rows)} submissions ({graded} graded, {len(rows) - graded} with a reason) "
          f"in {seconds:.1f} s; gradebook {Path(args.out) / 'gradebook.csv'}")


if __name__ == "__main__":
    main()
