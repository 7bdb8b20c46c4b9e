"""Shared pieces of the cell benchmarks: the sizes, the data, FLOP counts, timing
statistics, markdown tables, machine information and the peer-worker protocol.

Imported by bench_cells.py (our cells, run in the main process) and by peer_torch.py
and peer_jax.py (each peer runs in its own process and times itself). Needs only numpy
and rnn_core; torch and jax are imported by the peer scripts alone.
"""
import ctypes
import json
import os
import platform
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
RESULTS = os.path.join(HERE, "results")
if ROOT not in sys.path:                      # run as a script from a checkout
    sys.path.insert(0, ROOT)

# The two sizes: batch N, steps T, input size D, hidden size H.
SIZES = {"W1": dict(N=32, T=100, D=32, H=128),
         "W1-small": dict(N=1, T=50, D=8, H=16)}

# Benchmarked implementations of ours: name -> (rnn_core module, forward options).
# "gru" is the reset-after form of cuDNN and torch.nn.GRU; "gru-seeds" is the form of the
# seeds (reset before the matrix), which has no torch or JAX counterpart.
OURS = {"rnn": ("elman", {"activation": "tanh"}),
        "lstm": ("lstm", {}),
        "gru": ("gru", {"form": "cudnn"}),
        "gru-seeds": ("gru", {"form": "seeds"})}
PEER_CELLS = ("rnn", "lstm", "gru")          # the cells every peer implements

# Gate blocks per cell: the recurrent and input matrices are G stacked (H, .) blocks.
GATES = {"rnn": 1, "lstm": 4, "gru": 3, "gru-seeds": 3}


def flops(cell, N, T, D, H):
    """Matmul FLOPs of forward + full BPTT for one sequence batch (elementwise work ignored).

    Each of the G gate blocks is an (H, D) input matrix and an (H, H) recurrent matrix.
    A product of (m, k) by (k, n) costs 2*m*n*k FLOPs. Per sequence batch:
      forward   x W_x^T            2*(N*T)*(G*H)*D
                h W_h^T            2*(N*T)*(G*H)*H   (T products of (N, H) by (H, G*H))
      backward  dW_x = da^T x      2*(G*H)*(N*T)*D
                dW_h = da^T h      2*(G*H)*(N*T)*H
                dx   = da W_x      2*(N*T)*(G*H)*D
                dh   = da W_h      2*(N*T)*(G*H)*H
    total = 6 * N * T * G * H * (D + H).
    The seeds-form GRU multiplies (r * h) by its candidate block instead of h: same count.
    """
    return 6 * N * T * GATES[cell] * H * (D + H)


def make_case(cell, size, dtype, seed=0):
    """Inputs, initial state and parameters (rnn_core layout) shared by ours and the peers.

    x ~ N(0, 1) of shape (N, T, D); initial states ~ 0.1 N(0, 1), so that the gradient of
    the initial state is checked too; parameters from the cell's init_params, with small
    random biases so that no bias gradient hides behind a zero.
    """
    import importlib
    s = SIZES[size] if isinstance(size, str) else size
    N, T, D, H = s["N"], s["T"], s["D"], s["H"]
    module, opts = OURS[cell]
    mod = importlib.import_module(f"rnn_core.{module}")
    rng = np.random.default_rng(seed)
    form = {"form": opts["form"]} if "form" in opts else {}
    params = {k: v.astype(dtype) for k, v in mod.init_params(D, H, seed=seed, **form).items()}
    for k, v in params.items():
        if v.ndim == 1:
            params[k] = (0.1 * rng.standard_normal(v.shape)).astype(dtype)
    x = rng.standard_normal((N, T, D)).astype(dtype)
    state0 = {k: (0.1 * rng.standard_normal((N, H))).astype(dtype) for k in mod.STATE_KEYS}
    return mod, opts, x, state0, params


# ---------------------------------------------------------------- timing statistics
def stats(times):
    """Median, quartiles and IQR (seconds) of a list of per-call times."""
    t = np.asarray(times, float)
    q1, med, q3 = np.percentile(t, [25, 50, 75])
    return {"median": float(med), "q1": float(q1), "q3": float(q3), "iqr": float(q3 - q1),
            "n": int(t.size)}


def calibrate(fn, target=0.02, cap=1000):
    """Calls per timing sample so that one sample lasts about `target` seconds (>= 1)."""
    t0 = time.perf_counter()
    fn()
    dt = time.perf_counter() - t0
    return int(max(1, min(cap, round(target / max(dt, 1e-7)))))


def sample(fn, inner):
    """One timing sample: the mean time per call over `inner` back-to-back calls."""
    t0 = time.perf_counter()
    for _ in range(inner):
        fn()
    return (time.perf_counter() - t0) / inner


def ms(t):
    return f"{1e3 * t:.3g}" if t < 1 else f"{1e3 * t:.0f}"


def fmt_time(st):
    """'median ms (IQR ms)' of a stats dict."""
    return f"{ms(st['median'])} ({ms(st['iqr'])})"


def md_table(headers, rows):
    """A GitHub markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


# ---------------------------------------------------------------- machine information
def blas_threads():
    """numpy's BLAS thread count: threadpoolctl if installed, else ask OpenBLAS via ctypes."""
    try:
        import threadpoolctl
        info = [d for d in threadpoolctl.threadpool_info() if d.get("user_api") == "blas"]
        if info:
            return int(info[0]["num_threads"]), f"threadpoolctl: {info[0].get('internal_api')}"
    except ImportError:
        pass
    try:
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f if "openblas" in line.lower()}
        for path in libs:
            lib = ctypes.CDLL(path)
            for sym in ("openblas_get_num_threads", "openblas_get_num_threads64_",
                        "scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads"):
                if hasattr(lib, sym):
                    return int(getattr(lib, sym)()), f"OpenBLAS {sym}()"
    except OSError:
        pass
    return None, "unknown (install threadpoolctl to see it)"


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def numpy_info():
    """numpy version, its BLAS (name, version, configuration) and BLAS thread count."""
    blas = {}
    try:
        blas = dict(np.show_config(mode="dicts")["Build Dependencies"]["blas"])
    except Exception:                          # numpy < 1.25 has no mode="dicts"
        pass
    n, how = blas_threads()
    return {"numpy": np.__version__, "blas": blas.get("name", "unknown"),
            "blas_version": blas.get("version", ""),
            "blas_config": blas.get("openblas configuration", ""),
            "blas_threads": n, "blas_threads_from": how}


def machine_info():
    env = {k: os.environ[k] for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                      "MKL_NUM_THREADS", "XLA_FLAGS") if k in os.environ}
    return {"nproc": os.cpu_count(), "affinity": len(os.sched_getaffinity(0)),
            "loadavg": [round(v, 2) for v in os.getloadavg()],
            "cpu": cpu_model(), "python": platform.python_version(),
            "platform": platform.platform(), "env": env, **numpy_info()}


# ---------------------------------------------------------------- peer-worker protocol
# A peer script run with --serve reads one JSON request per line on stdin and writes one
# JSON reply per line on stdout. Only one process computes at a time (the others wait on
# a pipe), so the main process can interleave ours and the peers round by round while
# each process times its own calls.
def serve(handlers):
    """The worker side: dispatch {"cmd": name, ...} to handlers[name](**kwargs)."""
    out = sys.stdout
    sys.stdout = sys.stderr                   # stray prints must not corrupt the protocol
    for line in sys.stdin:
        req = json.loads(line)
        cmd = req.pop("cmd")
        if cmd == "quit":
            break
        try:
            reply = {"ok": True, **handlers[cmd](**req)}
        except Exception as e:               # report, keep serving
            reply = {"ok": False, "error": f"{type(e).__name__}: {e}"}
        out.write(json.dumps(reply) + "\n")
        out.flush()


class Peer:
    """The main-process side: a peer script running as a worker subprocess."""

    def __init__(self, name, script, env=None):
        self.name = name
        self.proc = subprocess.Popen([sys.executable, os.path.join(HERE, script), "--serve"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, bufsize=1, env={**os.environ, **(env or {})})

    def call(self, cmd, **kw):
        self.proc.stdin.write(json.dumps({"cmd": cmd, **kw}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"peer {self.name} exited (see its stderr above)")
        return json.loads(line)

    def close(self):
        try:
            self.proc.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
            self.proc.stdin.flush()
            self.proc.wait(timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()


# ---------------------------------------------------------------- weights in the peers' layout
def fused_weights(cell, params):
    """Our parameters in torch.nn.RNN/LSTM/GRU's fused layout (also used by the JAX peer).

    Returns numpy arrays w_ih (G*H, D), w_hh (G*H, H), b_ih (G*H,), b_hh (G*H,).
    rnn:  W_x, W_h, b; torch's second bias b_hh is zero.
    lstm: our W_f etc. are (H, H + D) acting on [h; x], so columns :H are the recurrent
          part and H: the input part; torch's gate order is i, f, g (= C~), o; b_hh = 0.
    gru:  torch's weight_ih_l0 = [W_ir; W_iz; W_in], weight_hh_l0 = [W_hr; W_hz; W_hn].
    """
    p = params
    if cell == "rnn":
        return {"w_ih": p["W_x"], "w_hh": p["W_h"], "b_ih": p["b"], "b_hh": np.zeros_like(p["b"])}
    if cell == "lstm":
        H = p["b_f"].shape[0]
        W = np.concatenate([p[f"W_{g}"] for g in "ifCo"])             # (4H, H + D)
        b = np.concatenate([p[f"b_{g}"] for g in "ifCo"])
        return {"w_ih": np.ascontiguousarray(W[:, H:]), "w_hh": np.ascontiguousarray(W[:, :H]),
                "b_ih": b, "b_hh": np.zeros_like(b)}
    if cell == "gru":
        return {"w_ih": np.concatenate([p["W_ir"], p["W_iz"], p["W_in"]]),
                "w_hh": np.concatenate([p["W_hr"], p["W_hz"], p["W_hn"]]),
                "b_ih": np.concatenate([p["b_ir"], p["b_iz"], p["b_in"]]),
                "b_hh": np.concatenate([p["b_hr"], p["b_hz"], p["b_hn"]])}
    raise ValueError(f"cell: expected one of {PEER_CELLS}, received {cell!r}")


def unfuse_grads(cell, g):
    """The inverse of fused_weights for gradients: a peer's dw_ih etc. in our keys.

    The gradient of a bias that we do not have (torch's zero b_hh for rnn and lstm) equals
    the gradient of b_ih, so it is dropped.
    """
    H = g["w_hh"].shape[1]
    if cell == "rnn":
        return {"W_x": g["w_ih"], "W_h": g["w_hh"], "b": g["b_ih"]}
    if cell == "lstm":
        out = {}
        for j, k in enumerate("ifCo"):
            blk = slice(j * H, (j + 1) * H)
            out[f"W_{k}"] = np.concatenate([g["w_hh"][blk], g["w_ih"][blk]], axis=1)
            out[f"b_{k}"] = g["b_ih"][blk]
        return out
    out = {}
    for j, k in enumerate("rzn"):
        blk = slice(j * H, (j + 1) * H)
        out[f"W_i{k}"], out[f"W_h{k}"] = g["w_ih"][blk], g["w_hh"][blk]
        out[f"b_i{k}"], out[f"b_h{k}"] = g["b_ih"][blk], g["b_hh"][blk]
    return out


def ours_reference(cell, size, dtype=np.float64, seed=0):
    """Our loss 0.5 * sum(h**2) and all its gradients (params, x, initial states), numpy."""
    mod, opts, x, state0, params = make_case(cell, size, dtype, seed)
    h, _, cache = mod.forward(x, state0, params, **opts)
    dx, dstate0, grads = mod.backward(h, cache)            # dL/dh = h
    return 0.5 * float(np.sum(h * h)), {**grads, "x": dx, **{f"{k}0": v for k, v in dstate0.items()}}


def compare(ours, theirs):
    """Worst relative error max|a - b| / max|a| over the arrays of two gradient dicts."""
    worst, where = 0.0, None
    for k, a in ours.items():
        b = np.asarray(theirs[k], dtype=np.float64)
        err = float(np.max(np.abs(a - b)) / max(np.max(np.abs(a)), 1e-300))
        if err > worst:
            worst, where = err, k
    return worst, where


def crosscheck_against(peer_grads_fn, sizes=("W1-small", "W1"), cells=PEER_CELLS):
    """Compare a peer's float64 loss and gradients with ours on the same weights and data.

    peer_grads_fn(cell, x, state0, fused) -> (loss, {"w_ih",.., "x", "h0"[, "c0"]}).
    Returns rows {cell, size, loss_err, grad_err, worst} with relative errors.
    """
    rows = []
    for size in sizes:
        for cell in cells:
            _, _, x, state0, params = make_case(cell, size, np.float64)
            loss, ref = ours_reference(cell, size)
            ploss, pg = peer_grads_fn(cell, x, state0, fused_weights(cell, params))
            theirs = {**unfuse_grads(cell, pg), **{k: pg[k] for k in ("x", "h0", "c0") if k in pg}}
            gerr, where = compare(ref, theirs)
            rows.append({"cell": cell, "size": size, "loss_err": abs(ploss - loss) / abs(loss),
                         "grad_err": gerr, "worst": where})
    return rows
