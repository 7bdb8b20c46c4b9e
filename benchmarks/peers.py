"""The peers of bench_cells.py: torch.nn.RNN(tanh) / LSTM / GRU and the same three cells as
a JAX lax.scan under jit, each computing the loss 0.5 * sum(h**2) over all steps and its
gradients with respect to the weights, the input and the initial state.

The JAX cells are written as a JAX user would: the input projection for all steps is one
matmul before the scan, and the fused recurrent matrix (torch's layout) one matmul per step.
Both peers run on one thread, like ours (bench_cells.py sets the thread variables).
Run by bench_cells.py as a worker (`peers.py --serve torch|jax`, see common.serve); run
alone (`python3 benchmarks/peers.py`), it prints each peer's float64 cross-check.
A peer that is not installed reports itself unavailable and the benchmark skips it.
"""
import sys
import time

import numpy as np

import common


# ---------------------------------------------------------------- torch
def torch_build(cell, x, state0, fused):
    """run() -> loss for one case, and the tensors whose .grad it fills."""
    import torch
    torch.set_num_threads(1)
    D, H = fused["w_ih"].shape[1], fused["w_hh"].shape[1]
    kw = {"nonlinearity": "tanh"} if cell == "rnn" else {}
    net = getattr(torch.nn, cell.upper())(D, H, batch_first=True, **kw).double()
    with torch.no_grad():
        for k, arr in fused.items():
            getattr(net, {"w_ih": "weight_ih_l0", "w_hh": "weight_hh_l0",
                          "b_ih": "bias_ih_l0", "b_hh": "bias_hh_l0"}[k]).copy_(torch.from_numpy(arr))
    xt = torch.tensor(x, requires_grad=True)
    s0 = [torch.tensor(state0[k][None], requires_grad=True) for k in ("h", "c") if k in state0]
    leaves = {"w_ih": net.weight_ih_l0, "w_hh": net.weight_hh_l0, "b_ih": net.bias_ih_l0,
              "b_hh": net.bias_hh_l0, "x": xt, "h0": s0[0], **({"c0": s0[1]} if cell == "lstm" else {})}

    def run():
        for t in leaves.values():
            t.grad = None
        out, _ = net(xt, tuple(s0) if cell == "lstm" else s0[0])
        loss = 0.5 * (out * out).sum()
        loss.backward()
        return loss
    return run, leaves


def torch_grads(cell, x, state0, fused):
    run, leaves = torch_build(cell, x, state0, fused)
    loss = float(run().detach())
    return loss, {k: t.grad.numpy().reshape(t.shape[1:] if k in ("h0", "c0") else t.shape)
                  for k, t in leaves.items()}


def torch_info():
    import torch
    torch.set_num_threads(1)
    return {"version": torch.__version__, "threads": torch.get_num_threads()}


# ---------------------------------------------------------------- JAX
def jax_loss(cell):
    """loss(w, x, s0): w in the fused layout, x (N, T, D), s0 a tuple of (N, H)."""
    import jax
    import jax.numpy as jnp

    def rnn(w_hhT, b_hh, s, a_t):
        h = jnp.tanh(a_t + s[0] @ w_hhT)
        return (h,), h

    def lstm(w_hhT, b_hh, s, a_t):
        h, c = s
        i, f, g, o = jnp.split(a_t + h @ w_hhT, 4, axis=-1)
        c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
        h = jax.nn.sigmoid(o) * jnp.tanh(c)
        return (h, c), h

    def gru(w_hhT, b_hh, s, a_t):
        h = s[0]
        a_r, a_z, a_n = jnp.split(a_t, 3, axis=-1)
        h_r, h_z, h_n = jnp.split(h @ w_hhT + b_hh, 3, axis=-1)
        r, z = jax.nn.sigmoid(a_r + h_r), jax.nn.sigmoid(a_z + h_z)
        h = (1 - z) * jnp.tanh(a_n + r * h_n) + z * h
        return (h,), h

    step = {"rnn": rnn, "lstm": lstm, "gru": gru}[cell]

    def loss(w, x, s0):
        b = w["b_ih"] if cell == "gru" else w["b_ih"] + w["b_hh"]   # the GRU keeps b_hh inside r * ()
        a = jnp.einsum("ntd,gd->tng", x, w["w_ih"]) + b               # (T, N, G*H), one matmul
        w_hhT = w["w_hh"].T
        _, hs = jax.lax.scan(lambda s, a_t: step(w_hhT, w["b_hh"], s, a_t), tuple(s0), a)
        return 0.5 * jnp.sum(hs * hs)
    return loss


def jax_build(cell, x, state0, fused):
    """run() -> (loss, grads) compiled, and the seconds of the first call (trace + compile)."""
    import jax
    import jax.numpy as jnp
    f = jax.jit(jax.value_and_grad(jax_loss(cell), argnums=(0, 1, 2)))
    args = ({k: jnp.asarray(v) for k, v in fused.items()}, jnp.asarray(x),
            tuple(jnp.asarray(state0[k]) for k in ("h", "c") if k in state0))
    t0 = time.perf_counter()
    jax.block_until_ready(f(*args))
    first = time.perf_counter() - t0
    return (lambda: jax.block_until_ready(f(*args))), first


def jax_grads(cell, x, state0, fused):
    run, _ = jax_build(cell, x, state0, fused)
    loss, (gw, gx, gs) = run()
    g = {**{k: np.asarray(v) for k, v in gw.items()}, "x": np.asarray(gx), "h0": np.asarray(gs[0])}
    if cell == "lstm":
        g["c0"] = np.asarray(gs[1])
    return float(loss), g


def jax_info():
    import jax
    jax.config.update("jax_enable_x64", True)          # float64 really runs in float64
    return {"version": jax.__version__, "devices": [str(d) for d in jax.devices()]}


# ---------------------------------------------------------------- worker
PEERS = {"torch": (torch_info, torch_build, torch_grads), "jax": (jax_info, jax_build, jax_grads)}
_cases = {}


def handlers(name):
    info_fn, build, grads = PEERS[name]

    def info():
        try:
            return {"available": True, **info_fn()}
        except ImportError as e:
            return {"available": False, "note": f"{name} is not installed ({e}): {name} peer skipped"}

    def setup(key, cell, size):
        _, _, x, state0, params = common.make_case(cell, size)
        built = build(cell, x, state0, common.fused_weights(cell, params))
        run, first = built if name == "jax" else (built[0], None)
        run()                                          # warm-up
        _cases[key] = (run, common.calibrate(run))
        return {"inner": _cases[key][1], "first_call": first}

    def take(key):
        run, inner = _cases[key]
        run()                                          # untimed, as for ours
        return {"seconds": common.sample(run, inner)}

    def crosscheck():
        return {"rows": common.crosscheck(grads)}
    return {"info": info, "setup": setup, "take": take, "crosscheck": crosscheck}


if __name__ == "__main__":
    if "--serve" in sys.argv:
        common.serve(handlers(sys.argv[sys.argv.index("--serve") + 1]))
    else:
        for name in PEERS:
            h = handlers(name)
            i = h["info"]()
            if not i["available"]:
                print(i["note"])
                continue
            for r in h["crosscheck"]()["rows"]:
                print(f"{name:5s} {r['cell']:4s} {r['size']:8s} loss rel err {r['loss_err']:.1e}, "
                      f"worst grad rel err {r['grad_err']:.1e} ({r['worst']})")
