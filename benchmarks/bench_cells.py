"""Speed and memory of our cells' forward + full BPTT against PyTorch and JAX.

Workload (the issue's): loss = 0.5 * sum(h**2) over all steps, so dL/dh = h; one call is
forward, the loss and backward with the gradients of all weights, the input and the
initial state. Cells: Elman tanh RNN, LSTM, GRU in the reset-after ("cudnn", torch.nn.GRU)
form, and our seeds-form GRU (no peer). float64 and float32, at
W1 (N=32, T=100, D=32, H=128) and W1-small (N=1, T=50, D=8, H=16).

Each implementation's time is the median (and IQR) of --rounds samples; a sample is the
mean of enough back-to-back calls to last ~20 ms (1 call at W1). Rounds are interleaved
in blocks: each case's rounds are cut into BLOCKS blocks, and in each block ours, torch and
JAX (rotating order) take their share of samples back to back, each after a short pause and
one untimed call. The peers run in their own processes (peer_torch.py, peer_jax.py) and
time themselves; only one process computes at a time. speed ratio = peer time / our time
(> 1: we are faster).

Sections: machine, cross-check (float64 gradients equal torch's and JAX's), times and
ratios, matmul rate and lower bound (matmul FLOPs / large-matmul rate), targets, where our
time goes (matmuls, tanh, the rest; per-call overhead at W1-small; one BLAS thread against
the default), peak memory against T (full BPTT grows linearly; truncated BPTT with k=25
stays bounded).
Writes results/cells.md and results/cells.json. Run: python3 benchmarks/bench_cells.py
"""
import argparse
import json
import os
import sys
import time

import numpy as np

import common
from common import md_table, ms, fmt_time, stats

DTYPES = ("float64", "float32")
TARGETS = {"W1": 0.8, "W1-small": 0.25}    # float64: our speed >= this x torch.nn
BOUND_AIM = 3.0                             # W1: our time within 3x the matmul lower bound
CROSSCHECK_TOL = 1e-8
MEMORY_T = (50, 100, 200, 400)
# Interleaving: each case's rounds are cut into BLOCKS blocks; in each block every
# implementation takes its share of samples back to back, after a pause of SETTLE seconds
# and one untimed call. Switching process after every sample would make each one pay for
# the previous one's BLAS/OpenMP threads, which spin-wait for up to ~0.2 s after their
# last task (OpenBLAS, KMP_BLOCKTIME): measured 21 -> 32 ms (ours) and 21 -> 53 ms (torch)
# for the RNN at W1 when alternating call by call.
BLOCKS = 3
SETTLE = 0.25
TRUNCATE_K = 25


def progress(text):
    print(text, file=sys.stderr, flush=True)


def out(text=""):
    print(text, flush=True)
    REPORT.append(text)


REPORT = []


# ---------------------------------------------------------------- sections
def machine_section(info, peer_infos):
    out("## Machine")
    rows = [["nproc (affinity)", f"{info['nproc']} ({info['affinity']})"], ["CPU", info["cpu"]],
            ["load average at start (1, 5, 15 min)", ", ".join(map(str, info["loadavg"]))],
            ["Python", info["python"]], ["numpy", info["numpy"]],
            ["numpy BLAS", f"{info['blas']} {info['blas_version']} ({info['blas_config']})".strip()],
            ["numpy BLAS threads", f"{info['blas_threads']} (from {info['blas_threads_from']})"]]
    if info["env"]:
        rows.append(["thread env", ", ".join(f"{k}={v}" for k, v in info["env"].items())])
    for name, i in peer_infos.items():
        if not i.get("available"):
            rows.append([name, i.get("note", "unavailable")])
        elif name == "torch":
            rows += [["torch", i["version"]],
                     ["torch threads (default)", f"{i['threads']} (interop {i['interop_threads']})"]]
        else:
            rows += [["jax", f"{i['version']} (jaxlib {i['jaxlib']}, {', '.join(i['devices'])})"],
                     ["jax threads", i["threads"] + (f"; XLA_FLAGS={i['xla_flags']}" if i["xla_flags"] else "")]]
    out(md_table(["", ""], rows))
    out()


def crosscheck_section(peers):
    out("## Cross-check (float64, same weights and data)")
    out("Relative errors max|ours - peer| / max|ours| of the loss and of every gradient "
        "(weights, x, initial state); the worst array is named.")
    rows, ok, res = [], True, {}
    for name, p in peers.items():
        reply = p.call("crosscheck")
        if not reply["ok"]:
            out(f"- {name}: cross-check failed to run: {reply['error']}")
            ok = ok and name != "torch"
            continue
        res[name] = reply["rows"]
        for r in reply["rows"]:
            good = max(r["loss_err"], r["grad_err"]) < CROSSCHECK_TOL
            ok = ok and good
            rows.append([name, r["cell"], r["size"], f"{r['loss_err']:.1e}",
                         f"{r['grad_err']:.1e} ({r['worst']})", "ok" if good else "FAIL"])
    if "torch" not in res:
        out("cross-check skipped: torch is not installed")
    else:
        out("cross-check ok" if ok else f"cross-check FAILED (tolerance {CROSSCHECK_TOL:g})")
    if rows:
        out(md_table(["peer", "cell", "size", "loss rel err", "worst grad rel err", f"< {CROSSCHECK_TOL:g}"], rows))
    out()
    return {"ok": ok and "torch" in res, "rows": res}


def matmul_rate(n=2048, rounds=7):
    """Median FLOP/s of an n x n @ n x n numpy matmul, per dtype."""
    rates = {}
    for dt in DTYPES:
        a = np.random.default_rng(0).standard_normal((n, n)).astype(dt)
        a @ a                                                      # warm-up
        t = [common.sample(lambda: a @ a, 1) for _ in range(rounds)]
        rates[dt] = {**stats(t), "flops_per_s": 2 * n ** 3 / float(np.median(t)), "size": n}
    return rates


def ours_call(cell, size, dtype):
    """One call of our workload: forward, the loss 0.5 * sum(h**2) and backward with dL/dh = h."""
    mod, opts, x, state0, params = common.make_case(cell, size, np.dtype(dtype))

    def run():
        h, _, cache = mod.forward(x, state0, params, **opts)
        loss = 0.5 * np.sum(h * h)
        mod.backward(h, cache)
        return loss
    return run


# ours as a worker process too (`bench_cells.py --serve`), to time it with another BLAS
# thread count: OPENBLAS_NUM_THREADS must be set before numpy loads OpenBLAS
_cases = {}


def _serve_info():
    return {"available": True, "blas_threads": common.blas_threads()[0]}


def _serve_setup(key, cell, size, dtype):
    run = ours_call(cell, size, dtype)
    run()
    _cases[key] = (run, common.calibrate(run))
    return {"inner": _cases[key][1]}


def _serve_time(key, rounds=1, warmup=True):
    run, inner = _cases[key]
    if warmup:
        run()
    return {"times": [common.sample(run, inner) for _ in range(rounds)]}


def best_rate(before, after):
    """The machine is shared: keep, per dtype, the faster of the rates measured before and
    after the timing (each a median), and record both."""
    return {dt: {**max(before[dt], after[dt], key=lambda r: r["flops_per_s"]),
                 "before": before[dt]["flops_per_s"], "after": after[dt]["flops_per_s"]}
            for dt in DTYPES}


def time_cases(peers, info, rounds, sizes):
    """Interleaved timing of every (size, dtype, cell) case; returns a list of result dicts."""
    torch_info = peers["torch"].info if "torch" in peers else {}
    extra = None                                         # torch at numpy's BLAS thread count
    if torch_info and info["blas_threads"] and info["blas_threads"] != torch_info["threads"]:
        extra = info["blas_threads"]
    results = []
    for size in sizes:
        for dt in DTYPES:
            for cell in common.OURS:
                run = ours_call(cell, size, dt)
                run()
                inner = common.calibrate(run)

                def ours(k):
                    run()                                  # untimed, like the peers' warm-up
                    return [common.sample(run, inner) for _ in range(k)]
                impls = {"ours": ours}
                res = {"size": size, "dtype": dt, "cell": cell, "inner": {"ours": inner},
                       "flops": common.flops(cell, **common.SIZES[size])}
                key = f"{size}/{dt}/{cell}"
                for name, p in peers.items():
                    if cell not in common.PEER_CELLS:
                        continue
                    r = p.call("setup", key=key, cell=cell, size=size, dtype=dt)
                    if not r["ok"]:
                        out(f"note: {name} {key}: {r['error']}")
                        continue
                    res["inner"][name] = r["inner"]
                    if "first_call" in r:
                        res[f"{name}_first_call"] = r["first_call"]
                    impls[name] = (lambda k, p=p: p.call("time", key=key, rounds=k)["times"])
                    if name == "torch" and extra:
                        impls[f"torch@{extra}"] = (
                            lambda k, p=p: p.call("time", key=key, rounds=k, threads=extra)["times"])
                names = list(impls)
                times = {n: [] for n in names}
                blocks = np.array_split(np.arange(rounds), min(BLOCKS, rounds))
                for b, block in enumerate(blocks):         # interleaved blocks, rotating order
                    for n in names[b % len(names):] + names[:b % len(names)]:
                        if len(names) > 1:
                            time.sleep(SETTLE)             # let the last process's threads stop spinning
                        times[n] += impls[n](len(block))   # one untimed call, then the samples
                res["times"] = times
                res["stats"] = {n: stats(t) for n, t in times.items()}
                results.append(res)
                s = res["stats"]
                progress(f"  {key:26s} " + "  ".join(f"{n} {ms(s[n]['median'])} ms" for n in names))
    return results, extra


def ratio(res, peer):
    s = res["stats"]
    return s[peer]["median"] / s["ours"]["median"] if peer in s else None


def fmt_ratio(r):
    return "-" if r is None else f"{r:.2f}"


def speed_section(results, rates, extra):
    out("## Forward + full BPTT: time per call and speed ratio")
    out("Median (IQR) in ms over the rounds; ratio = peer time / our time (> 1: we are "
        "faster). JAX: compiled = jit'd lax.scan + value_and_grad after warm-up; first call "
        "includes tracing and compilation (one sample). gru = reset-after (cudnn) form, "
        "gru-seeds = the seeds' form (no peer).")
    for size in common.SIZES:
        for dt in DTYPES:
            rows = []
            for res in (r for r in results if r["size"] == size and r["dtype"] == dt):
                s = res["stats"]
                row = [res["cell"], fmt_time(s["ours"])]
                row += [fmt_time(s["torch"]) if "torch" in s else "-", fmt_ratio(ratio(res, "torch"))]
                if extra:
                    row += [fmt_time(s[f"torch@{extra}"]) if f"torch@{extra}" in s else "-",
                            fmt_ratio(ratio(res, f"torch@{extra}"))]
                row += [fmt_time(s["jax"]) if "jax" in s else "-", fmt_ratio(ratio(res, "jax"))]
                fc = res.get("jax_first_call")
                row += ["-" if fc is None else ms(fc),
                        "-" if fc is None else f"{fc / s['ours']['median']:.1f}"]
                rows.append(row)
            head = ["cell", "ours ms", "torch ms", "torch/ours"]
            if extra:
                head += [f"torch@{extra} thr ms", f"torch@{extra}/ours"]
            head += ["jax jit ms", "jax/ours", "jax 1st call ms", "jax 1st/ours"]
            N, T, D, H = common.SIZES[size].values()
            out(f"\n### {size} (N={N}, T={T}, D={D}, H={H}), {dt}")
            out(md_table(head, rows))
    out()
    out("## Lower bound: matmul FLOPs / large-matmul rate")
    out("FLOPs = 6 N T G H (D + H) for forward + full BPTT (G gate blocks: rnn 1, lstm 4, "
        "gru 3; formula and derivation in common.flops). Rate: median of "
        + ", ".join(f"{dt} {rates[dt]['flops_per_s'] / 1e9:.1f} GFLOP/s" for dt in DTYPES)
        + f" ({rates['float64']['size']}x{rates['float64']['size']} numpy matmul, the faster "
        "of the medians measured before and after the timing). "
        "x from bound = our time / bound.")
    rows = []
    for res in results:
        bound = res["flops"] / rates[res["dtype"]]["flops_per_s"]
        res["bound"] = bound
        ours = res["stats"]["ours"]["median"]
        row = [res["size"], res["dtype"], res["cell"], f"{res['flops'] / 1e6:.3g}", ms(bound), ms(ours),
               f"{ours / bound:.1f}"]
        for peer in ("torch", "jax"):
            row.append(f"{res['stats'][peer]['median'] / bound:.1f}" if peer in res["stats"] else "-")
        rows.append(row)
    out(md_table(["size", "dtype", "cell", "MFLOP", "bound ms", "ours ms", "ours x bound",
                  "torch x bound", "jax x bound"], rows))
    out()


def targets_section(results):
    out("## Targets (float64)")
    rows, summary = [], []
    for res in results:
        if res["dtype"] != "float64" or res["cell"] not in common.PEER_CELLS:
            continue
        r = ratio(res, "torch")
        need = TARGETS[res["size"]]
        met = None if r is None else r >= need
        rows.append([res["size"], res["cell"], f"speed >= {need} x torch.nn", fmt_ratio(r),
                     "-" if met is None else ("met" if met else "MISSED")])
        summary.append({"size": res["size"], "cell": res["cell"], "target": f"torch/ours >= {need}",
                        "value": r, "met": met})
        if res["size"] == "W1":
            xb = res["stats"]["ours"]["median"] / res["bound"]
            rows.append([res["size"], res["cell"], f"within {BOUND_AIM:g}x of the bound (aim)",
                         f"{xb:.1f}x", "met" if xb <= BOUND_AIM else "missed"])
            summary.append({"size": "W1", "cell": res["cell"], "target": f"x bound <= {BOUND_AIM}",
                            "value": xb, "met": xb <= BOUND_AIM})
    out(md_table(["size", "cell", "target", "measured", ""], rows))
    out()
    return summary


def _median_time(fn, rounds=9):
    fn()
    inner = common.calibrate(fn, target=0.01)
    return float(np.median([common.sample(fn, inner) for _ in range(rounds)]))


def _tanh_via_exp(a, out):
    """tanh(a) = 2 / (1 + exp(-2a)) - 1 in place (a candidate, not what rnn_core uses)."""
    np.multiply(a, -2.0, out=out)
    np.exp(out, out=out)                                   # exp(+large) = inf -> -1: correct
    out += 1.0
    np.divide(2.0, out, out=out)
    out -= 1.0
    return out


# tanh evaluations per step per batch row, as multiples of H (sigmoid is computed through tanh)
TANH_PER_STEP = {"rnn": 1, "lstm": 5, "gru": 3, "gru-seeds": 3}


def profile_section(results, rates):
    """Where our time goes at W1 (matmuls, tanh, the rest) and at W1-small (per-call overhead)."""
    out("## Where our time goes (float64)")
    rng = np.random.default_rng(0)
    rows, prof = [], {}
    N, T, D, H = common.SIZES["W1"].values()
    tanh_ns = {}
    a = rng.standard_normal((N, 4 * H))
    b = np.empty_like(a)
    tanh_ns["numpy"] = _median_time(lambda: np.tanh(a, out=b)) / a.size * 1e9
    with np.errstate(over="ignore"):
        tanh_ns["via exp"] = _median_time(lambda: _tanh_via_exp(a, b)) / a.size * 1e9
    for res in results:
        if res["size"] != "W1" or res["dtype"] != "float64":
            continue
        cell = res["cell"]
        G = common.GATES[cell]
        r = lambda *shape: rng.standard_normal(shape)                          # noqa: E731
        h, W_hT, da, W_h = r(N, H), r(G * H, H).T, r(N, G * H), r(G * H, H)
        rec = _median_time(lambda: [h @ W_hT for _ in range(T)] + [da @ W_h for _ in range(T)])
        X, W_xT, DA, HP, W_x = r(N * T, D), r(G * H, D).T, r(N * T, G * H), r(N * T, H), r(G * H, D)
        seq = _median_time(lambda: (X @ W_xT, DA.T @ HP, DA.T @ X, DA @ W_x))
        z = r(N, TANH_PER_STEP[cell] * H)
        zo = np.empty_like(z)
        tanh = _median_time(lambda: [np.tanh(z, out=zo) for _ in range(T)])
        total = res["stats"]["ours"]["median"]
        rest = total - rec - seq - tanh
        rec_flops = 4 * N * T * G * H * H
        prof[cell] = {"total": total, "recurrent_matmul": rec, "sequence_matmul": seq, "tanh": tanh,
                      "rest": rest, "recurrent_gflops": rec_flops / rec / 1e9,
                      "tanh_saving_via_exp": tanh * (1 - tanh_ns["via exp"] / tanh_ns["numpy"])}
        pct = lambda t: f"{ms(t)} ({100 * t / total:.0f}%)"                  # noqa: E731
        rows.append([cell, ms(total), pct(rec), f"{rec_flops / rec / 1e9:.0f}", pct(seq), pct(tanh),
                     pct(rest), ms(prof[cell]["tanh_saving_via_exp"]), ms(res["bound"])])
    out(f"W1, components timed alone. Recurrent = the 2T in-loop products (N, H)@(H, GH) and "
        f"(N, GH)@(GH, H), with their GFLOP/s (large matmul: "
        f"{rates['float64']['flops_per_s'] / 1e9:.0f}); sequence = the input projection and the "
        f"weight and input gradients, one matmul each; tanh = the cell's {{1, 5, 3}} x N x H tanh "
        f"per step (sigmoid is computed through tanh); rest = elementwise arithmetic, "
        f"allocation and Python.")
    out(md_table(["cell", "total ms", "recurrent matmul ms", "GFLOP/s", "sequence matmul ms",
                  "tanh ms", "rest ms", "tanh via exp saves ms", "bound ms"], rows))
    out(f"\nnumpy's float64 tanh costs {tanh_ns['numpy']:.1f} ns per element here (no SIMD "
        f"float64 tanh without AVX-512); tanh = 2 / (1 + exp(-2a)) - 1 with numpy's exp costs "
        f"{tanh_ns['via exp']:.1f} ns.")
    # W1-small: time per step against the cost of one numpy call on arrays this small
    Ns, Ts, Ds, Hs = common.SIZES["W1-small"].values()
    u, W = rng.standard_normal((Ns, Hs)), rng.standard_normal((Hs, 4 * Hs))
    ufunc = _median_time(lambda: [np.multiply(u, u) for _ in range(100)]) / 100
    mm = _median_time(lambda: [u @ W for _ in range(100)]) / 100
    rows = []
    for res in results:
        if res["size"] == "W1-small" and res["dtype"] == "float64":
            s = res["stats"]
            per_step = s["ours"]["median"] / Ts
            rows.append([res["cell"], f"{1e6 * per_step:.1f}", f"{per_step / ufunc:.0f}",
                         f"{1e6 * s['torch']['median'] / Ts:.1f}" if "torch" in s else "-",
                         f"{1e6 * s['jax']['median'] / Ts:.1f}" if "jax" in s else "-"])
    out(f"\nW1-small: time per step (forward + backward) against one numpy call on (1, {Hs}) "
        f"arrays ({1e6 * ufunc:.2f} us; a (1, {Hs}) @ ({Hs}, {4 * Hs}) matmul {1e6 * mm:.2f} us): "
        f"the arithmetic is negligible, the time is the number of numpy calls.")
    out(md_table(["cell", "ours us/step", "= numpy calls' worth", "torch us/step", "jax us/step"], rows))
    prof["tanh_ns_per_element"] = tanh_ns
    prof["numpy_call_us"] = 1e6 * ufunc
    prof["one_blas_thread"] = one_thread_section()
    return prof


def one_thread_section(rounds=9):
    """Ours at W1 float64 with numpy's default BLAS threads against one BLAS thread (a
    worker process started with OPENBLAS_NUM_THREADS=1), interleaved in blocks."""
    n = common.blas_threads()[0]
    if n == 1:
        return {}
    p = common.Peer("ours-1", "bench_cells.py",
                    env={"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"})
    try:
        got = p.call("info").get("blas_threads")
        rows, res = [], {}
        for cell in common.PEER_CELLS:
            key = f"W1/float64/{cell}"
            run = ours_call(cell, "W1", "float64")
            p.call("setup", key=key, cell=cell, size="W1", dtype="float64")
            t_def, t_one = [], []
            for b, block in enumerate(np.array_split(np.arange(rounds), BLOCKS)):
                for which in ((0, 1) if b % 2 == 0 else (1, 0)):
                    time.sleep(SETTLE)
                    if which == 0:
                        run()
                        t_def += [common.sample(run, 1) for _ in block]
                    else:
                        t_one += p.call("time", key=key, rounds=len(block))["times"]
            d, o = float(np.median(t_def)), float(np.median(t_one))
            res[cell] = {"default": d, "one_thread": o}
            rows.append([cell, ms(d), ms(o), f"{d / o:.2f}"])
    finally:
        p.close()
    out(f"\nW1 float64, our time with numpy's default {n} BLAS threads against one "
        f"(a worker with OPENBLAS_NUM_THREADS=1; it reports {got}). The in-loop products are "
        f"small, and a multi-threaded one has to wait for a core: when other processes load "
        f"the machine, that wait dominates.")
    out(md_table(["cell", f"ours, {n} BLAS threads ms", "ours, 1 BLAS thread ms",
                  "speed-up with 1 thread"], rows))
    out()
    return res


def memory_section(T_values, k=TRUNCATE_K):
    """Peak tracemalloc bytes of forward + BPTT against T at W1's N, D, H (float64)."""
    N, D, H = (common.SIZES["W1"][s] for s in "NDH")
    out(f"## Peak memory of forward + BPTT against T (N={N}, D={D}, H={H}, float64, tracemalloc)")
    try:
        from rnn_core import costs
    except ImportError as e:
        out(f"skipped: rnn_core.costs is not available ({e})")
        return {}
    try:
        from rnn_core.layers import truncated_bptt   # noqa: F401 (costs uses it)
        have_tbptt = True
    except ImportError:
        have_tbptt = False
    res, rows = {}, []
    for cell in common.PEER_CELLS:
        res[cell] = {"full": costs.bptt_peak_memory(list(T_values), N, D, H, cell=cell).tolist()}
        if have_tbptt:
            res[cell]["truncated"] = costs.bptt_peak_memory(list(T_values), N, D, H, cell=cell,
                                                           truncate=k).tolist()
    mib = lambda b: f"{b / 2 ** 20:.2f}"                                          # noqa: E731
    for i, T in enumerate(T_values):
        row = [T] + [mib(res[c]["full"][i]) for c in res]
        if have_tbptt:
            row += [mib(res[c]["truncated"][i]) for c in res]
        rows.append(row)
    fits = []
    for mode in (["full", "truncated"] if have_tbptt else ["full"]):
        row = [f"slope KiB/step, r^2 ({mode})"]
        for c in res:
            f = costs.linear_fit(T_values, res[c][mode])
            res[c][f"{mode}_fit"] = f._asdict()
            row.append(f"{f.slope / 1024:.1f}, {f.r2:.4f}")
        fits.append(row)
    head = ["T"] + [f"{c} full MiB" for c in res]
    if have_tbptt:
        head += [f"{c} tBPTT k={k} MiB" for c in res]
    out(md_table(head, rows))
    out()
    out(md_table(["fit"] + list(res), fits))
    if not have_tbptt:
        out("\nnote: rnn_core.layers.truncated_bptt is not available yet: truncated rows skipped")
    out(f"\nFull BPTT keeps every step's cache, so its peak grows linearly in T (slope = bytes "
        f"per step). Truncated BPTT (layers.truncated_bptt, window k={k}) keeps one window's "
        f"cache: what still grows is dx (N, T, D) = {N * D * 8 / 1024:.0f} KiB/step, the input "
        f"gradient, which is the size of the input itself. gru here is the seeds form "
        f"(costs.bptt_peak_memory's default).")
    out()
    return res


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=15, help="timing rounds (>= 15 for the report)")
    ap.add_argument("--quick", action="store_true", help="smoke test: 3 rounds, W1-small only")
    ap.add_argument("--no-peers", action="store_true", help="time ours only")
    ap.add_argument("--no-memory", action="store_true", help="skip the memory section")
    args = ap.parse_args(argv)
    rounds = 3 if args.quick else args.rounds
    sizes = ["W1-small"] if args.quick else list(common.SIZES)
    t_start = time.perf_counter()
    REPORT.clear()
    out("# Cell benchmarks: forward + full BPTT of loss = 0.5 sum(h^2)")
    out(f"{time.strftime('%Y-%m-%d %H:%M')}; {rounds} rounds per case, interleaved in "
        f"{BLOCKS} blocks.\n")

    info = common.machine_info()
    peers, peer_infos = {}, {}
    for name, script in ([] if args.no_peers else [("torch", "peer_torch.py"), ("jax", "peer_jax.py")]):
        p = common.Peer(name, script)
        p.info = peer_infos[name] = p.call("info")
        if p.info.get("available"):
            peers[name] = p
        else:
            out(f"note: {p.info['note']}")
            p.close()
    try:
        machine_section(info, peer_infos)
        cross = crosscheck_section(peers) if peers else {"ok": None, "rows": {}}
        progress(f"[{time.perf_counter() - t_start:.0f} s] cross-check done")
        rates = matmul_rate()
        progress("timing (median ms per call):")
        results, extra = time_cases(peers, info, rounds, sizes)
        rates = best_rate(rates, matmul_rate())
        progress(f"[{time.perf_counter() - t_start:.0f} s] timing done")
    finally:
        for p in peers.values():
            p.close()
    if not extra and "torch" in peers:
        out(f"torch's default thread count equals numpy's BLAS thread count "
            f"({info['blas_threads']}): no second torch column.\n")
    speed_section(results, rates, extra)
    summary = targets_section(results) if "torch" in peers and not args.quick else []
    profile = {} if args.quick else profile_section(results, rates)
    progress(f"[{time.perf_counter() - t_start:.0f} s] profile done")
    memory = {} if args.no_memory else memory_section(MEMORY_T[:2] if args.quick else MEMORY_T)
    elapsed = time.perf_counter() - t_start
    out(f"bench_cells.py took {elapsed:.0f} s; load average at the end "
        f"{', '.join(f'{v:.2f}' for v in os.getloadavg())} (on {info['nproc']} CPUs).")

    os.makedirs(common.RESULTS, exist_ok=True)
    with open(os.path.join(common.RESULTS, "cells.md"), "w") as f:
        f.write("\n".join(REPORT) + "\n")
    with open(os.path.join(common.RESULTS, "cells.json"), "w") as f:
        json.dump({"machine": info, "peers": peer_infos,
                   "rounds": rounds, "crosscheck": cross, "matmul_rate": rates,
                   "results": results, "targets": summary, "profile": profile, "memory": memory,
                   "memory_T": list(MEMORY_T), "truncate_k": TRUNCATE_K,
                   "seconds": elapsed}, f, indent=1)
    return 0 if cross["ok"] is not False else 1


if __name__ == "__main__":
    if "--serve" in sys.argv:
        common.serve({"info": _serve_info, "setup": _serve_setup, "time": _serve_time})
    else:
        sys.exit(main())
