"""The sequence loops equal the plain equations looped over the steps, in both forms: the
plain loops over each cell's step functions and the fast form of cells/fast.py, each forced
here at every size through fast.ENABLED and fast.MIN_SIZE.

The reference is built from the public step functions only (step_forward / step_backward,
which call each cell's readable step equations), with the upstream gradient added where it
arrives and the carries dropped at the truncation cuts; the sequence forward and backward
must give the same numbers to 1e-12.
"""
import numpy as np
import pytest

from rnn_core.cells import sequence, elman, fast, gru, lstm

CELLS = {"rnn-tanh": (elman, {"activation": "tanh"}), "rnn-relu": (elman, {"activation": "relu"}),
         "lstm": (lstm, {}), "gru-cudnn": (gru, {"form": "cudnn"}),
         "gru-sources": (gru, {"form": "sources"})}
ATOL = 1e-12


def force(monkeypatch, form):
    """Run every cell's sequence passes in `form` ("fast" or "plain") at every size."""
    monkeypatch.setattr(fast, "ENABLED", form == "fast")
    monkeypatch.setattr(fast, "MIN_SIZE", {cell: 0 for cell in fast.MIN_SIZE})


@pytest.fixture(params=["fast", "plain"])
def path(request, monkeypatch):
    """Which sequence loops the cells run: cells/fast.py's (where a cell has one) or the plain."""
    force(monkeypatch, request.param)
    return request.param


def problem(name, N, T, D, H, rng):
    mod, opts = CELLS[name]
    params = {k: 0.7 * v + 0.3 * rng.standard_normal(v.shape)
              for k, v in mod.init_params(D, H, seed=1, **opts).items()}
    x = rng.standard_normal((N, T, D))
    state0 = {k: 0.5 * rng.standard_normal((N, H)) for k in mod.STATE_KEYS}
    return mod, opts, params, x, state0


def looped_steps(mod, opts, x, state0, params, dh, dstate_T, truncate):
    """Forward and BPTT from step_forward / step_backward alone: (h, state_T, dx, dstate0, grads)."""
    N, T, _ = x.shape
    state, caches, hs = state0, [], []
    for t in range(T):
        state, cache = mod.step_forward(x[:, t], state, params, **opts)
        caches.append(cache)
        hs.append(state["h"])
    dstate = {k: dstate_T[k].copy() for k in mod.STATE_KEYS}
    dx, total = np.zeros_like(x), {k: np.zeros_like(v) for k, v in params.items()}
    for t in range(T - 1, -1, -1):
        if t in dh:
            dstate["h"] = dstate["h"] + dh[t]
        dx[:, t], dstate, grads = mod.step_backward(dstate, caches[t])
        total = {k: total[k] + grads[k] for k in total}
        if sequence.cut(t, truncate):
            dstate = {k: np.zeros_like(v) for k, v in dstate.items()}
    return np.stack(hs, axis=1), state, dx, dstate, total


@pytest.mark.parametrize("name", CELLS)
@pytest.mark.parametrize("truncate", [None, 4])
@pytest.mark.parametrize("one_step_blocks", [False, True])
def test_sequence_loops_equal_the_step_equations(name, truncate, one_step_blocks, path, rng,
                                                 monkeypatch):
    N, T, D, H = 3, 10, 4, 5
    mod, opts, params, x, state0 = problem(name, N, T, D, H, rng)
    dh = {t: rng.standard_normal((N, H)) for t in (0, 3, 4, 9)}
    dstate_T = {k: rng.standard_normal((N, H)) for k in mod.STATE_KEYS}
    if one_step_blocks:                            # the backward's local factors a step at a time
        monkeypatch.setattr(sequence, "BLOCK_BYTES", 1)
    h_ref, state_ref, dx_ref, ds_ref, g_ref = looped_steps(mod, opts, x, state0, params, dh,
                                                           dstate_T, truncate)
    h, state_T, cache = mod.forward(x, state0, params, **opts)
    has_fast = {elman: "rnn", lstm: "lstm", gru: "gru"}[mod] in fast.MIN_SIZE and opts.get("form") != "sources"
    assert (path == "fast" and has_fast) == (cache.get("fast", False) or cache.get("ws") is not None)
    dx, dstate0, grads = mod.backward(dh, cache, dstate_T=dstate_T, truncate=truncate)
    np.testing.assert_allclose(h, h_ref, rtol=0, atol=ATOL)
    for k in mod.STATE_KEYS:
        np.testing.assert_allclose(state_T[k], state_ref[k], rtol=0, atol=ATOL, err_msg=k)
        np.testing.assert_allclose(dstate0[k], ds_ref[k], rtol=0, atol=ATOL, err_msg=k)
    np.testing.assert_allclose(dx, dx_ref, rtol=0, atol=ATOL)
    assert set(grads) == set(g_ref)
    for k in grads:
        np.testing.assert_allclose(grads[k], g_ref[k], rtol=0, atol=ATOL, err_msg=k)


@pytest.mark.parametrize("name", CELLS)
def test_dense_and_dict_upstream_give_the_same_numbers(name, path, rng):
    # the loops read dh_t as views of an (N, T, H) array or as the dict's arrays: same bits
    N, T, D, H = 2, 6, 3, 4
    mod, opts, params, x, state0 = problem(name, N, T, D, H, rng)
    dense = rng.standard_normal((N, T, H))
    h, _, cache = mod.forward(x, state0, params, **opts)
    a = mod.backward(dense, cache)
    b = mod.backward({t: dense[:, t].copy() for t in range(T)}, cache)
    np.testing.assert_array_equal(a[0], b[0])
    for i in (1, 2):
        for k in a[i]:
            np.testing.assert_array_equal(a[i][k], b[i][k], err_msg=k)


def test_the_benchmark_sizes_take_the_forms_measured_faster():
    # benchmarks/bench_cells.py --fast-vs-plain: the fast form wins at N * H = 4096, loses at 16
    for cell in ("rnn", "lstm", "gru"):
        assert fast.wanted(cell, 32, 128) and not fast.wanted(cell, 1, 16)


@pytest.mark.parametrize("name", ["lstm", "gru-cudnn"])
def test_reused_backward_scratch_is_never_returned(name, rng, monkeypatch):
    # the in-place backward keeps its scratch from call to call: what one call returned
    # must not move when the next call (another cache, the same shapes) reuses it
    force(monkeypatch, "fast")
    N, T, D, H = 2, 5, 3, 4
    mod, opts, params, x, state0 = problem(name, N, T, D, H, rng)
    h, _, cache = mod.forward(x, state0, params, **opts)
    first = mod.backward(h, cache)
    kept = (first[0].copy(), {k: v.copy() for k, v in first[1].items()},
            {k: v.copy() for k, v in first[2].items()})
    h2, _, cache2 = mod.forward(2 * x, state0, params, **opts)
    mod.backward(3 * h2, cache2)
    np.testing.assert_array_equal(first[0], kept[0])
    for i in (1, 2):
        for k in first[i]:
            np.testing.assert_array_equal(first[i][k], kept[i][k], err_msg=k)
