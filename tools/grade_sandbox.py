"""The sandbox tools/grade.py runs a submission in (and, apart from it, the test harness).

Each sandbox is bubblewrap (`bwrap`) started by root through a short chain:
`unshare --mount` (a private mount namespace in which the stack's folders are bind-mounted
under a staging tmpfs, since the sandbox's uid may not traverse the paths they live under,
such as /root), then `setpriv` to a host uid of its own, unused by anyone (so no process of the
sandbox is root on the host, and two sandboxes cannot signal each other), then bwrap with every
namespace new (user, PID, network with no interface but loopback, IPC, UTS, cgroup), no
capability, no further user namespace, a new session, and death with its parent. Inside, the
root is an empty tmpfs with read-only binds of /usr, the Python install, the venv and rnn_core's
package folder, the grading scripts, a fresh /proc (whose /proc/sys bwrap covers read-only),
a minimal /dev, a private /tmp, and at most one writable folder.

Limits: one cgroup per sandbox (v2 when its memory and pids controllers can be enabled, else
v1's memory and pids hierarchies) bounds the memory and the number of processes of everything
in it; without a writable cgroup, RLIMIT_NPROC of the sandbox's own uid and RLIMIT_AS per
process stand in. Every process also has RLIMIT_AS (85 % of the sandbox's memory: a MemoryError
rather than the OOM killer for one large allocation), RLIMIT_CPU, RLIMIT_FSIZE, no core dumps.
"""
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TOOLS = Path(__file__).resolve().parent
SCRIPTS = ("grade_wire.py", "grade_student.py", "grade_harness.py")
INSIDE_SCRIPTS = "/grading/scripts"   # paths no Python install uses
INSIDE_WORK = "/grading/work"
INSIDE_UID = 1000
# A host uid per sandbox, from a range no account uses: 1e9 + (grader pid mod 1e6) * 1000 + n.
UID_BASE = 1_000_000_000
AS_SHARE = 0.85
# Stage the stack's folders in a private mount namespace, then drop to the sandbox's uid.
STAGE = r"""set -e
uid=$1; stage=$2; shift 2
mount -t tmpfs -o mode=0755,size=64k grade-stage "$stage"
i=0
while [ "$1" != "--" ]; do
  if [ -d "$1" ]; then mkdir "$stage/$i"; else touch "$stage/$i"; fi
  mount --bind "$1" "$stage/$i"
  i=$((i + 1)); shift
done
shift
exec setpriv --reuid="$uid" --regid="$uid" --clear-groups -- "$@"
"""


def rnn_core_dir(package="rnn_core"):
    """The folder of the package the tests import (read-only inside the sandbox)."""
    import importlib.util
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"grade: expected the package {package!r} installed in {sys.prefix}")
    return Path(list(spec.submodule_search_locations)[0]).resolve()


def missing():
    """What the sandbox lacks on this machine, as a sentence; None when it can be built."""
    if os.geteuid() != 0:
        return (f"the sandbox needs root (to create its cgroups, stage its mounts and switch to a "
                f"uid of its own); running as uid {os.geteuid()}")
    for tool, package in (("bwrap", "bubblewrap"), ("unshare", "util-linux"), ("setpriv", "util-linux")):
        if not shutil.which(tool):
            return f"{tool} is not installed (Debian package {package})"
    with tempfile.TemporaryDirectory(prefix="grade-probe-") as top:
        box = Sandbox(Path(top), uid=UID_BASE + (os.getpid() % 1_000_000) * 1000 + 999,
                      memory=1 << 30, pids=16, cpu=10, cgroup_mode=None)
        proc = box.spawn(["/bin/sh", "-c", "echo ok"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, err = proc.communicate(timeout=30)
        box.close()
        if proc.returncode != 0 or out.strip() != b"ok":
            return f"bwrap cannot build the sandbox here: {err.decode(errors='replace').strip()[:300]}"
    return None


# ---------------------------------------------------------------------------- cgroups

def _cgroup_roots():
    """{'v2': folder} or {'v1': {'memory': folder, 'pids': folder}} for this process's cgroups."""
    mounts = [l.split() for l in Path("/proc/self/mounts").read_text().splitlines()]
    mine = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for c in controllers.split(",") if controllers else [""]:
            mine[c] = path
    roots = {}
    for m in mounts:
        if m[2] == "cgroup2" and "" in mine:
            roots.setdefault("v2", Path(m[1] + mine[""]))
        elif m[2] == "cgroup":
            for c in ("memory", "pids"):
                if c in m[3].split(",") and c in mine:
                    roots.setdefault("v1", {})[c] = Path(m[1] + mine[c])
    return roots


def cgroup_mode():
    """'v2' or 'v1' when a cgroup with a memory and a pids limit can be made here, else None
    (measured: a cgroup is created, limited and removed)."""
    if os.geteuid() != 0:
        return None
    roots = _cgroup_roots()
    for mode in ("v2", "v1"):
        if mode not in roots or (mode == "v1" and len(roots["v1"]) < 2):
            continue
        try:
            probe = Cgroup(mode, roots[mode], f"grade-probe-{os.getpid()}", 1 << 30, 16)
            probe.remove()
            return mode
        except OSError:
            continue
    return None


class Cgroup:
    """One memory limit and one process limit over every process placed in it."""

    def __init__(self, mode, root, name, memory, pids):
        self.mode = mode
        if mode == "v2":
            controllers = (root / "cgroup.controllers").read_text().split()
            if not {"memory", "pids"} <= set(controllers):
                raise OSError(f"cgroup v2 at {root} offers {controllers}, not memory and pids")
            subtree = (root / "cgroup.subtree_control").read_text().split()
            if not {"memory", "pids"} <= set(subtree):
                (root / "cgroup.subtree_control").write_text("+memory +pids")
            self.dirs = [root / name]
            self.dirs[0].mkdir()
            self._write(self.dirs[0] / "memory.max", memory)
            self._write(self.dirs[0] / "memory.swap.max", 0, optional=True)
            self._write(self.dirs[0] / "pids.max", pids)
        else:
            self.dirs = [root["memory"] / name, root["pids"] / name]
            for d in self.dirs:
                d.mkdir()
            self._write(self.dirs[0] / "memory.limit_in_bytes", memory)
            self._write(self.dirs[0] / "memory.memsw.limit_in_bytes", memory, optional=True)
            self._write(self.dirs[1] / "pids.max", pids)

    @staticmethod
    def _write(path, value, optional=False):
        try:
            path.write_text(str(value))
        except OSError:
            if not optional:
                raise

    def join(self):
        """Put the calling process in (from a child before exec)."""
        for d in self.dirs:
            (d / "cgroup.procs").write_text(str(os.getpid()))

    def _read(self, name, key=None):
        for d in self.dirs:
            if (d / name).exists():
                text = (d / name).read_text()
                if key is None:
                    return int(text.split()[0])
                for line in text.splitlines():
                    if line.split()[:1] == [key]:
                        return int(line.split()[1])
        return None

    def stats(self):
        """Peak memory (bytes), processes the OOM killer ended, forks the process limit refused."""
        if self.mode == "v2":
            return {"peak": self._read("memory.peak"), "oom_kills": self._read("memory.events", "oom_kill"),
                    "forks_refused": self._read("pids.events", "max")}
        return {"peak": self._read("memory.max_usage_in_bytes"),
                "oom_kills": self._read("memory.oom_control", "oom_kill"),
                "forks_refused": self._read("pids.events", "max")}

    def pids(self):
        out = set()
        for d in self.dirs:
            try:
                out |= {int(p) for p in (d / "cgroup.procs").read_text().split()}
            except OSError:
                pass
        return out

    def remove(self):
        for d in self.dirs:
            for _ in range(100):
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)


# ---------------------------------------------------------------------------- one sandbox

class Sandbox:
    """A process tree under one uid, one cgroup (when there is one) and the limits."""

    def __init__(self, top, uid, memory, pids, cpu, cgroup_mode, unsafe=False, fsize=64 << 20):
        self.top, self.uid, self.unsafe = Path(top), uid, unsafe
        self.memory, self.pids, self.cpu, self.fsize = memory, pids, cpu, fsize
        self.cgroup = (Cgroup(cgroup_mode, _cgroup_roots()[cgroup_mode], f"grade-{uid}", memory, pids)
                       if cgroup_mode and not unsafe else None)
        self.procs, self.stages, self.final = [], [], None

    def _preexec(self):
        cgroup = self.cgroup
        # One process may take AS_SHARE of the sandbox's memory: one large allocation is a
        # MemoryError in its cell, several processes together meet the cgroup's OOM killer.
        # CPU: SIGXCPU at the soft limit (named in the reason), SIGKILL a second later.
        # The hard limit is the whole memory: a call's fork raises its soft limit to it, so
        # a notebook that filled its share still has room to answer.
        address_space = int(self.memory * AS_SHARE) if self.cgroup else self.memory
        limits = ((resource.RLIMIT_AS, address_space, self.memory), (resource.RLIMIT_CPU, self.cpu, self.cpu + 1),
                  (resource.RLIMIT_FSIZE, self.fsize, self.fsize), (resource.RLIMIT_CORE, 0, 0))
        # RLIMIT_NPROC counts the sandbox uid's processes: the limit without a cgroup, and a
        # backstop well above the cgroup's otherwise, so that the cgroup's is the one reached
        # (and counted) even while a previous sandbox of the same uid is still being torn
        # down (with a margin of 8 the backstop was reached first in about one batch in four)
        nproc = None if self.unsafe else self.pids * (4 if cgroup else 1)

        def apply():
            if cgroup is not None:
                cgroup.join()
            for what, soft, hard in limits:
                resource.setrlimit(what, (soft, hard))
            if nproc is not None:   # counts the processes of the sandbox's own uid (root is exempt)
                resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
        return apply

    def script(self, name):
        """The path of one of SCRIPTS as the sandbox sees it."""
        return str(TOOLS / name) if self.unsafe else f"{INSIDE_SCRIPTS}/{name}"

    def work(self, host_folder):
        """The path of the writable folder as the sandbox sees it."""
        return str(host_folder) if self.unsafe else INSIDE_WORK

    def argv(self, command, writable=None, inside_writable=INSIDE_WORK, package_dir=None):
        """The command line that runs `command` (paths as seen inside) in the sandbox."""
        if self.unsafe:
            return command
        # the staging mount point: in the system's temporary folder, which the sandbox's uid can
        # traverse (bwrap binds from it after the switch to that uid); empty outside the namespace
        stage = Path(tempfile.mkdtemp(prefix=f"grade-stage-{self.uid}-"))
        os.chmod(stage, 0o755)
        self.stages.append(stage)
        sources, binds = [], []

        def staged(src, dest, kind="--ro-bind"):
            binds.extend([kind, str(stage / str(len(sources))), str(dest)])
            sources.append(str(src))

        for prefix in sorted({Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve()}):
            staged(prefix, prefix)
        test_home = Path(sys.prefix) / "test-home"   # the Makefile's Jupyter/IPython state: not the sandbox's
        if test_home.is_dir():
            binds.extend(["--tmpfs", str(test_home.resolve())])
        pkg = package_dir or rnn_core_dir()
        staged(pkg, pkg)
        for script in SCRIPTS:
            staged(TOOLS / script, f"{INSIDE_SCRIPTS}/{script}")
        if writable is not None:
            staged(writable, inside_writable, "--bind")
        system = []
        for name in ("bin", "lib", "lib32", "lib64", "libx32", "sbin"):
            p = Path("/") / name
            if p.is_symlink():
                system += ["--symlink", os.readlink(p), str(p)]
            elif p.is_dir():
                system += ["--ro-bind", str(p), str(p)]
        env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": "/tmp", "TMPDIR": "/tmp",
               "LANG": "C.UTF-8", "MPLBACKEND": "Agg", "MPLCONFIGDIR": "/tmp/matplotlib",
               "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "PYTHONNOUSERSITE": "1",
               "PYTHONDONTWRITEBYTECODE": "1",
               # the package found outside is the one imported inside, even when the venv's
               # editable install points elsewhere (a git worktree, or PYTHONPATH outside)
               "PYTHONPATH": str(pkg.parent)}
        bwrap = ["bwrap", "--unshare-all", "--unshare-user", "--disable-userns", "--uid", str(INSIDE_UID),
                 "--gid", str(INSIDE_UID), "--hostname", "grading", "--die-with-parent", "--new-session",
                 "--ro-bind", "/usr", "/usr", *system, "--proc", "/proc", "--dev", "/dev",
                 "--tmpfs", "/tmp", *binds, "--chdir", inside_writable if writable else "/tmp", "--clearenv"]
        for key, value in env.items():
            bwrap += ["--setenv", key, value]
        return ["unshare", "--mount", "--propagation", "private", "sh", "-c", STAGE, "stage",
                str(self.uid), str(stage), *sources, "--", *bwrap, "--", *command]

    def spawn(self, command, writable=None, pass_fds=(), **popen):
        """Start `command` in the sandbox; `writable` is the host folder seen as INSIDE_WORK."""
        if writable is not None and not self.unsafe:
            os.chown(writable, self.uid, self.uid)
        env = None if not self.unsafe else {**os.environ, "OPENBLAS_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
        proc = subprocess.Popen(self.argv(command, writable), pass_fds=pass_fds, env=env,
                                preexec_fn=self._preexec(), start_new_session=True, close_fds=True, **popen)
        self.procs.append(proc)
        return proc

    def kill(self):
        """SIGKILL every process of the sandbox: the bwrap at its top (its PID namespace dies
        with it), what is left in its cgroup, and any process of its uid, until none is left."""
        for proc in self.procs:
            for target in (lambda: os.killpg(proc.pid, signal.SIGKILL), lambda: proc.kill()):
                try:
                    target()
                except (ProcessLookupError, PermissionError, OSError):
                    pass
        for _ in range(250):
            for proc in self.procs:
                proc.poll()   # reap: a zombie still shows its uid
            left = (self.cgroup.pids() if self.cgroup else set()) | (set() if self.unsafe else _pids_of_uid(self.uid))
            if not left:
                break
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            time.sleep(0.01)
        for proc in self.procs:
            proc.wait()

    def close(self):
        """Kill what is left, read the cgroup's counters, remove it; returns the counters."""
        if self.final is None:
            self.kill()
            self.final = self.cgroup.stats() if self.cgroup else {}
            if self.cgroup:
                self.cgroup.remove()
            for stage in self.stages:
                shutil.rmtree(stage, ignore_errors=True)
        return self.final


def _pids_of_uid(uid):
    out = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/status") as f:
                    fields = dict(line.split(":", 1) for line in f if ":" in line)
                if int(fields["Uid"].split()[0]) == uid and not fields["State"].strip().startswith("Z"):
                    out.add(int(entry))
            except (OSError, KeyError, ValueError):
                pass
    return out
