"""PyTorch CPU peer: nn.RNN(tanh) / nn.LSTM / nn.GRU with batch_first=True, forward and
backward of loss = 0.5 * sum(h**2), with gradients of the weights, the input and the
initial state (what our backward returns).

Run by bench_cells.py as a worker process (`peer_torch.py --serve`, see common.serve);
it times its own calls. Run alone, it prints the float64 cross-check against rnn_core.
torch is optional: without it the worker reports itself unavailable.
"""
import sys
import time

import numpy as np

import common

try:
    import torch
except ImportError:                       # the benchmark prints a note and skips this peer
    torch = None

DEFAULT_THREADS = torch.get_num_threads() if torch is not None else None
MODULES = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}
_cases = {}


def build(cell, x, state0, fused, dtype):
    """The torch module loaded with our weights, and the tensors of one case."""
    D, H = fused["w_ih"].shape[1], fused["w_hh"].shape[1]
    kw = {"nonlinearity": "tanh"} if cell == "rnn" else {}
    net = getattr(torch.nn, MODULES[cell])(D, H, batch_first=True, **kw).to(dtype)
    with torch.no_grad():
        for name, arr in fused.items():
            getattr(net, {"w_ih": "weight_ih_l0", "w_hh": "weight_hh_l0",
                          "b_ih": "bias_ih_l0", "b_hh": "bias_hh_l0"}[name]).copy_(torch.from_numpy(arr))
    xt = torch.tensor(x, requires_grad=True)
    s0 = [torch.tensor(state0[k][None], requires_grad=True) for k in ("h", "c") if k in state0]
    leaves = list(net.parameters()) + [xt] + s0

    def run():
        for t in leaves:
            t.grad = None
        out, _ = net(xt, s0[0] if cell != "lstm" else tuple(s0))
        loss = 0.5 * (out * out).sum()
        loss.backward()
        return loss
    return net, xt, s0, run


def grads(cell, x, state0, fused):
    """Loss and gradients in the fused layout (w_ih, w_hh, b_ih, b_hh, x, h0[, c0])."""
    net, xt, s0, run = build(cell, x, state0, fused, torch.float64)
    loss = run()
    g = {"w_ih": net.weight_ih_l0.grad, "w_hh": net.weight_hh_l0.grad,
         "b_ih": net.bias_ih_l0.grad, "b_hh": net.bias_hh_l0.grad, "x": xt.grad, "h0": s0[0].grad[0]}
    if cell == "lstm":
        g["c0"] = s0[1].grad[0]
    return float(loss.detach()), {k: v.numpy() for k, v in g.items()}


# ---------------------------------------------------------------- worker commands
def info():
    if torch is None:
        return {"available": False, "note": "torch is not installed: PyTorch peer skipped"}
    return {"available": True, "version": torch.__version__, "threads": DEFAULT_THREADS,
            "interop_threads": torch.get_num_interop_threads(),
            "mkldnn": bool(torch.backends.mkldnn.is_available()),
            "parallel_info": torch.__config__.parallel_info().splitlines()[:6]}


def setup(key, cell, size, dtype):
    _, _, x, state0, params = common.make_case(cell, size, np.dtype(dtype))
    _, _, _, run = build(cell, x, state0, common.fused_weights(cell, params),
                         {"float64": torch.float64, "float32": torch.float32}[dtype])
    run()                                  # warm-up
    _cases[key] = (run, common.calibrate(run))
    return {"inner": _cases[key][1]}


def time_case(key, rounds=1, warmup=True, threads=None):
    """`rounds` timing samples of case `key` after one untimed call (if warmup), with
    torch.set_num_threads(threads) if given."""
    run, inner = _cases[key]
    torch.set_num_threads(threads or DEFAULT_THREADS)
    try:
        if warmup:
            run()
        return {"times": [common.sample(run, inner) for _ in range(rounds)]}
    finally:
        torch.set_num_threads(DEFAULT_THREADS)


def crosscheck():
    t0 = time.perf_counter()
    rows = common.crosscheck_against(grads)
    return {"rows": rows, "seconds": time.perf_counter() - t0}


HANDLERS = {"info": info, "setup": setup, "time": time_case, "crosscheck": crosscheck}

if __name__ == "__main__":
    if "--serve" in sys.argv:
        common.serve(HANDLERS)
    elif torch is None:
        print(info()["note"])
    else:
        for r in crosscheck()["rows"]:
            print(f"{r['cell']:5s} {r['size']:9s} loss rel err {r['loss_err']:.1e}  "
                  f"worst grad rel err {r['grad_err']:.1e} ({r['worst']})")
