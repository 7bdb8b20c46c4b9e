"""What every benchmark shares: the machine and its load, interleaved timing, markdown tables,
and the cell benchmark's cases (sizes, data, weights in the peers' layout) and worker protocol.

Imported by the bench_*.py scripts and by peers.py. Needs numpy and rnn_core only;
threadpoolctl, if installed, tells which BLAS library and kernel numpy runs.
"""
import json
import os
import platform
import subprocess
import sys
import time

# OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are set on some machines to protect old OpenBLAS
# builds, and they slow a current numpy. A benchmark unsets both together, for its own
# processes only (before numpy loads), and machine_info reports the kernel that then runs.
UNSET = {k: os.environ.pop(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if k in os.environ}

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
RESULTS = os.path.join(HERE, "results")
if ROOT not in sys.path:                      # run as a script from a checkout
    sys.path.insert(0, ROOT)

# A pause before each implementation's turn in a round: OpenBLAS, OpenMP and XLA threads
# spin for up to ~0.2 s after their last task and would otherwise slow whoever runs next.
SETTLE = 0.25


# ---------------------------------------------------------------- machine and load
def uptime():
    """`uptime`'s line (time, load averages), printed beside every table."""
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "load average: " + ", ".join(f"{v:.2f}" for v in os.getloadavg())


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def blas_info():
    """numpy's BLAS as threadpoolctl sees it: library, version, kernel, threads."""
    try:
        import threadpoolctl
    except ImportError:
        return {"blas": "unknown (install threadpoolctl to see it)"}
    for d in threadpoolctl.threadpool_info():
        if d.get("user_api") == "blas":
            return {"blas": d.get("internal_api"), "blas_version": d.get("version"),
                    "blas_kernel": d.get("architecture"), "blas_threads": d.get("num_threads")}
    return {"blas": "none found by threadpoolctl"}


def machine_info():
    """CPU, Python, numpy and its BLAS, thread settings, load: a dict (JSON-able)."""
    env = {k: os.environ[k] for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "XLA_FLAGS",
                                      "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if k in os.environ}
    return {"cpu": cpu_model(), "nproc": os.cpu_count(), "python": platform.python_version(),
            "numpy": np.__version__, **blas_info(), "env": env,
            "loadavg": [round(v, 2) for v in os.getloadavg()], "uptime": uptime()}


def machine_line(info):
    """One line naming the machine, numpy's BLAS kernel and the thread settings."""
    blas = f"{info.get('blas')} {info.get('blas_version') or ''}".strip()
    if info.get("blas_kernel"):
        blas += f", kernel {info['blas_kernel']}, {info.get('blas_threads')} thread(s)"
    env = "; ".join(f"{k}={v}" for k, v in info["env"].items()) or "no thread variables set"
    if UNSET:
        env += "; unset for this run: " + ", ".join(f"{k}={v}" for k, v in UNSET.items())
    return (f"{info['cpu']}, {info['nproc']} cores; Python {info['python']}, numpy {info['numpy']} "
            f"({blas}); {env}")


# ---------------------------------------------------------------- timing
def calibrate(fn, target=0.02, cap=1000):
    """Calls per timing sample so that one sample lasts about `target` seconds (>= 1)."""
    t0 = time.perf_counter()
    fn()
    return int(max(1, min(cap, round(target / max(time.perf_counter() - t0, 1e-7)))))


def sample(fn, inner):
    """One timing sample: the mean time per call over `inner` back-to-back calls."""
    t0 = time.perf_counter()
    for _ in range(inner):
        fn()
    return (time.perf_counter() - t0) / inner


def interleaved(impls, rounds, settle=SETTLE):
    """Time several implementations of one workload in interleaved rounds.

    impls: {name: take()}, where take() makes one untimed call and returns one timing
    sample in seconds. Each round gives every implementation one turn, in an order that
    rotates from round to round, each after a pause of `settle` seconds, so that a burst of
    load hits all of them alike. Returns {name: [seconds per round]}.
    """
    names = list(impls)
    times = {n: [] for n in names}
    for r in range(rounds):
        for n in names[r % len(names):] + names[:r % len(names)]:
            time.sleep(settle)
            times[n].append(impls[n]())
    return times


def median(ts):
    return float(np.median(ts))


def iqr(ts):
    q1, q3 = np.percentile(ts, [25, 75])
    return float(q3 - q1)


def ms(t):
    """Seconds as milliseconds with 3 significant digits (whole ms from 100 ms)."""
    return f"{1e3 * t:.0f}" if t >= 0.1 else f"{1e3 * t:.3g}"


def md_table(headers, rows):
    """A GitHub markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    return "\n".join(lines + ["| " + " | ".join(str(c) for c in r) + " |" for r in rows])


# ---------------------------------------------------------------- the cell benchmark's cases
# Batch N, steps T, input size D, hidden size H.
SIZES = {"W1": dict(N=32, T=100, D=32, H=128), "W1-small": dict(N=1, T=50, D=8, H=16)}
# Our cells as the peers compute them: the GRU in the reset-after form of torch.nn.GRU.
CELL_OPTS = {"rnn": {"activation": "tanh"}, "lstm": {}, "gru": {"form": "cudnn"}}


def make_case(cell, size, seed=0):
    """float64 inputs, initial state and parameters (rnn_core layout) shared by all.

    x ~ N(0, 1) (N, T, D); initial states ~ 0.1 N(0, 1), so that their gradient is compared
    too; parameters from the cell's init_params, with small random biases so that no bias
    gradient hides behind a zero.
    """
    from rnn_core.cells import CELLS
    s = SIZES[size]
    mod, opts = CELLS[cell], CELL_OPTS[cell]
    rng = np.random.default_rng(seed)
    init_opts = {k: v for k, v in opts.items() if k != "activation"}
    params = mod.init_params(s["D"], s["H"], seed=seed, **init_opts)
    params = {k: (0.1 * rng.standard_normal(v.shape) if v.ndim == 1 else v) for k, v in params.items()}
    x = rng.standard_normal((s["N"], s["T"], s["D"]))
    state0 = {k: 0.1 * rng.standard_normal((s["N"], s["H"])) for k in mod.STATE_KEYS}
    return mod, opts, x, state0, params


def fused_weights(cell, p):
    """Our parameters in torch.nn.RNN/LSTM/GRU's layout: w_ih (G*H, D), w_hh (G*H, H),
    b_ih, b_hh (G*H,). The LSTM's W_f etc. act on [h; x] (columns :H recurrent, H: input),
    in torch's gate order i, f, g (= C~), o; torch's b_hh is zero where we have one bias."""
    if cell == "rnn":
        return {"w_ih": p["W_x"], "w_hh": p["W_h"], "b_ih": p["b"], "b_hh": np.zeros_like(p["b"])}
    if cell == "lstm":
        H = p["b_f"].shape[0]
        W = np.concatenate([p[f"W_{g}"] for g in "ifCo"])             # (4H, H + D)
        b = np.concatenate([p[f"b_{g}"] for g in "ifCo"])
        return {"w_ih": np.ascontiguousarray(W[:, H:]), "w_hh": np.ascontiguousarray(W[:, :H]),
                "b_ih": b, "b_hh": np.zeros_like(b)}
    return {k: np.concatenate([p[f"{pre}{g}"] for g in "rzn"])
            for k, pre in (("w_ih", "W_i"), ("w_hh", "W_h"), ("b_ih", "b_i"), ("b_hh", "b_h"))}


def unfuse_grads(cell, g):
    """A peer's gradients in our keys (the inverse of fused_weights; the gradient of
    torch's extra zero bias equals that of b_ih and is dropped)."""
    H = g["w_hh"].shape[1]
    blk = lambda j: slice(j * H, (j + 1) * H)                             # noqa: E731
    if cell == "rnn":
        return {"W_x": g["w_ih"], "W_h": g["w_hh"], "b": g["b_ih"]}
    if cell == "lstm":
        return {**{f"W_{k}": np.concatenate([g["w_hh"][blk(j)], g["w_ih"][blk(j)]], axis=1)
                   for j, k in enumerate("ifCo")},
                **{f"b_{k}": g["b_ih"][blk(j)] for j, k in enumerate("ifCo")}}
    return {f"{pre}{k}": g[src][blk(j)] for j, k in enumerate("rzn")
            for pre, src in (("W_i", "w_ih"), ("W_h", "w_hh"), ("b_i", "b_ih"), ("b_h", "b_hh"))}


def crosscheck(peer_grads, sizes=tuple(SIZES)):
    """Worst relative error max|ours - peer| / max|ours| of the loss 0.5 sum(h^2) and of all
    its gradients (weights, x, initial state), per cell and size.

    peer_grads(cell, x, state0, fused) -> (loss, {w_ih, w_hh, b_ih, b_hh, x, h0[, c0]}).
    """
    rows = []
    for size in sizes:
        for cell in CELL_OPTS:
            mod, opts, x, state0, params = make_case(cell, size)
            h, _, cache = mod.forward(x, state0, params, **opts)
            dx, dstate0, grads = mod.backward(h, cache)                 # dL/dh = h
            ours = {**grads, "x": dx, **{f"{k}0": v for k, v in dstate0.items()}}
            loss, pg = peer_grads(cell, x, state0, fused_weights(cell, params))
            theirs = {**unfuse_grads(cell, pg), **{k: pg[k] for k in ("x", "h0", "c0") if k in pg}}
            errs = {k: float(np.max(np.abs(a - theirs[k])) / np.max(np.abs(a))) for k, a in ours.items()}
            worst = max(errs, key=errs.get)
            rows.append({"cell": cell, "size": size, "worst": worst, "grad_err": errs[worst],
                         "loss_err": abs(loss - 0.5 * float(np.sum(h * h))) / (0.5 * float(np.sum(h * h)))})
    return rows


# ---------------------------------------------------------------- worker protocol
# A worker (peers.py --serve NAME) reads one JSON request per line on stdin and writes one
# JSON reply per line on stdout. Only one process computes at a time (the others wait on a
# pipe), so the main process can interleave ours and the peers while each times itself.
def serve(handlers):
    """The worker side: dispatch {"cmd": name, ...} to handlers[name](**kwargs)."""
    out, sys.stdout = sys.stdout, sys.stderr  # stray prints must not corrupt the protocol
    for line in sys.stdin:
        req = json.loads(line)
        cmd = req.pop("cmd")
        if cmd == "quit":
            break
        try:
            reply = {"ok": True, **handlers[cmd](**req)}
        except Exception as e:                # report it and keep serving
            reply = {"ok": False, "error": f"{type(e).__name__}: {e}"}
        out.write(json.dumps(reply) + "\n")
        out.flush()


class Worker:
    """The main-process side: `peers.py --serve NAME` as a subprocess."""

    def __init__(self, name):
        self.name = name
        self.proc = subprocess.Popen([sys.executable, os.path.join(HERE, "peers.py"), "--serve", name],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)

    def call(self, cmd, **kw):
        self.proc.stdin.write(json.dumps({"cmd": cmd, **kw}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"peer {self.name} exited (see its stderr above)")
        reply = json.loads(line)
        if not reply.pop("ok"):
            raise RuntimeError(f"peer {self.name}, {cmd}: {reply['error']}")
        return reply

    def close(self):
        try:
            self.proc.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
            self.proc.stdin.flush()
            self.proc.wait(timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
