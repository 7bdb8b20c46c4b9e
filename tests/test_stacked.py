"""The stacked passes and their pieces against the plain forms they stand for: the Elman
step written out in place against elman.recurrence/carry, tanh through exp against np.tanh,
the stacked losses against losses.py, the per-run norms against clipping.global_norm."""
import numpy as np
import pytest

from rnn_core.nn import activations, losses
from rnn_core.remedies import clipping
from rnn_core.training.many import parallel, parallel_fast, parallel_loss
from rnn_core.training import tasks, train
from rnn_core.cells import elman


def stacked_elman(K=3, N=4, D=2, H=5, T=6, seed=0):
    rng = np.random.default_rng(seed)
    F = {"W_h": 0.7 * rng.standard_normal((K, H, H)), "W_x": rng.standard_normal((K, H, D)),
         "b": 0.1 * rng.standard_normal((K, H))}
    return F, rng.standard_normal((K, T, N, D))


@pytest.mark.parametrize("activation", list(activations.ACTIVATIONS))
def test_elman_plain_forward_is_the_cells_step_and_the_fast_form_equals_it(activation):
    F, x = stacked_elman()
    act = activations.ACTIVATIONS[activation]
    ws = {}
    parallel_fast.elman_forward(2 * x[::-1], F, act, ws)   # a reused workspace keeps only the
    fast = parallel_fast.elman_forward(x, F, act, ws)[..., :F["W_h"].shape[-1]]   # constants
    hs = parallel.elman_forward(x, F, act, {})
    h = np.zeros_like(hs[:, 0])
    assert np.all(hs[:, 0] == 0) and np.all(fast[:, 0] == 0)
    for t in range(x.shape[1]):                   # the cell's own step, run by run
        xw = x[:, t] @ np.swapaxes(F["W_x"], -1, -2) + F["b"][:, None, :]
        h = elman.recurrence(xw, h, F["W_h"], act.f)
        assert np.array_equal(hs[:, t + 1], h)
        assert np.max(np.abs(fast[:, t + 1] - h)) <= 1e-14 * max(1, np.abs(h).max())


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("truncate", [None, 2])
def test_fast_passes_equal_the_plain_loops(cell, truncate):
    # the fast form's branch against the plain loops over the cells' steps: states, the total
    # dL/dh_t (Elman: what Omega holds fixed) and every gradient
    mod = parallel.CELLS[cell]
    opts = mod.options({})
    K, N, D, H, T = 3, 4, 2, 5, 6
    ps = [mod.init_params(D, H, seed=s) for s in range(K)]
    F = parallel.fuse(mod, opts, parallel.stack(ps))
    rng = np.random.default_rng(4)
    x = rng.standard_normal((K, T, N, D))
    dh = {t: rng.standard_normal((K, N, H)) for t in (1, T - 1)}
    out = {}
    for fast in (False, True):
        h, cache = parallel.forward(mod, opts, x, F, {}, fast=fast)
        grads, g = parallel.backward(mod, opts, dh, cache, F, truncate, keep_g=cell == "rnn", ws={})
        out[fast] = h.copy(), {k: v.copy() for k, v in grads.items()}, None if g is None else g.copy()
    (h0, g0, a0), (h1, g1, a1) = out[False], out[True]
    tol = 0 if cell != "rnn" else 1e-14                # the LSTM's, the GRU's: the same operations
    np.testing.assert_allclose(h1, h0, rtol=tol, atol=tol)
    for k in F:
        np.testing.assert_allclose(g1[k], g0[k], rtol=1e-13 if tol else 0, atol=1e-14 if tol else 0)
    if cell == "rnn":
        np.testing.assert_allclose(a1, a0, rtol=1e-13, atol=1e-14)


def test_bounded_states_carry_a_nan_to_the_last_step():
    # what lets _loss_and_grads check h_T only: run 1's NaN input at step 0 reaches h_T
    F, x = stacked_elman()
    x[1, 0, 2, 0] = np.nan
    F["W_h"][1, :, 0] = 0.0                       # even through a zero column: NaN * 0 = NaN
    with np.errstate(invalid="ignore"):
        hs = parallel.elman_forward(x, F, activations.ACTIVATIONS["tanh"], {})
    assert np.isnan(hs[1, -1, 2]).all() and np.isfinite(hs[[0, 2]]).all()  # item 2 of run 1
    assert list(parallel_loss.finite_rows(hs[:, -1])) == [True, False, True]


def test_stacked_losses_equal_losses_py_run_by_run():
    rng = np.random.default_rng(0)
    y, t = rng.standard_normal((3, 5, 2)), rng.standard_normal((3, 5, 2))
    loss, dy = parallel_loss._mse(y, t)
    logits, ids = 3 * rng.standard_normal((3, 5, 4)), rng.integers(0, 4, (3, 5))
    xl, dl = parallel_loss._xent(logits, ids)
    for k in range(3):
        a, da = losses.mse(y[k], t[k])
        assert loss[k] == pytest.approx(a, rel=1e-15) and np.allclose(dy[k], da, rtol=1e-15)
        b, db = losses.softmax_cross_entropy(logits[k], ids[k])
        assert xl[k] == pytest.approx(b, rel=1e-14) and np.allclose(dl[k], db, rtol=1e-14)


def test_global_norms_equal_clipping_global_norm_per_run():
    rng = np.random.default_rng(1)
    g = {"W": rng.standard_normal((4, 6, 3)), "b": rng.standard_normal((4, 3))}
    g["W"][1] *= 1e200                            # huge: the scaled formula keeps it finite
    g["b"][2, 0] = np.nan
    g["W"][3, 0, 0] = np.inf
    norm, ok = parallel_loss.global_norms({k: v.reshape(4, -1) for k, v in g.items()})
    assert list(ok) == [True, True, False, False]
    for k in (0, 1):
        ref = clipping.global_norm({key: v[k] for key, v in g.items()})
        assert np.isfinite(norm[k]) and norm[k] == pytest.approx(ref, rel=1e-14)


def test_finite_rows_sees_overflowing_sums_and_non_finite_entries():
    a = np.ones((4, 3, 2))
    a[1] = 1e308                                  # finite entries whose sum overflows
    a[2, 0, 1], a[3, 2, 0] = np.inf, np.nan
    assert list(parallel_loss.finite_rows(a)) == [True, True, False, False]


def test_loss_and_grads_vectorised_loss_equals_run_by_run():
    task = tasks.adding(10, 5, seed=0)
    batches = [task.resample(4, seed=s) for s in (1, 2)]
    xs = np.stack([b.x.transpose(1, 0, 2) for b in batches])
    ps = [train.init_model("rnn", 2, 3, 1, seed=s) for s in (0, 1)]
    o = elman.options({})
    F = {**parallel.fuse(elman, o, parallel.stack([p["cell"] for p in ps])),
         **parallel.stack([p["out"] for p in ps])}
    one = parallel_loss.loss_and_grads(elman, o, xs, ("batches", batches), F, None, None, False,
                                       train.data_loss)
    vec = parallel_loss.loss_and_grads(elman, o, xs, ("mse", np.stack([b.y for b in batches])),
                                       F, None, None, False, train.data_loss)
    assert np.array_equal(one[0], vec[0])
    for k in F:
        assert np.array_equal(one[2][k], vec[2][k])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("truncate", [None, 3])
def test_gru_fast_passes_equal_the_plain_loops_bit_for_bit_in_a_reused_workspace(dtype, truncate):
    # the sources' GRU (the cuDNN form has no fast form: fast=True runs its plain loop):
    # states, caches and gradients equal bit for bit, a workspace reused across calls
    # and batches of other sizes in between (stale buffers), dL/dh_t at every step
    from rnn_core.cells import gru
    opts = gru.options({})
    K, N, D, H, T = 4, 3, 2, 6, 9
    F = {k: v.astype(dtype) for k, v in
         parallel.fuse(gru, opts, parallel.stack([gru.init_params(D, H, seed=s) for s in range(K)])).items()}
    F["W_h"] *= 3                                               # saturating gates too
    rng = np.random.default_rng(1)
    ws = {}
    for rep in range(3):
        x = (3 * rng.standard_normal((K, T, N, D))).astype(dtype)
        dh = {t: rng.standard_normal((K, N, H)).astype(dtype) for t in range(T) if t % 3 != 1}
        out = {}
        for fast in (False, True):
            h, cache = parallel.forward(gru, opts, x, F, ws if fast else {}, fast=fast)
            got = {"h": h.copy(), **{k: np.array(cache[k]) for k in ("hs", "ss", "ns", "ms")}}
            grads, _ = parallel.backward(gru, opts, dh, cache, F, truncate, ws=ws if fast else {})
            out[fast] = {**got, **{k: v.copy() for k, v in grads.items()}}
        assert set(out[True]) == set(out[False])
        for k, v in out[False].items():
            assert out[True][k].dtype == v.dtype, k
            np.testing.assert_array_equal(out[True][k], v, err_msg=k)
        parallel.forward(gru, opts, x[:, :4, :2], F, ws)       # other shapes in between


def test_omega_is_computed_for_the_runs_that_weigh_it_only():
    # loss_and_grads with per-run Omega weights: the runs of weight 0 get what omega=None
    # gives them, bit for bit, those of weight w > 0 what the stack of those runs alone
    # gives, and a stack where no run weighs Omega (its Omega runs stopped) is omega=None
    task = tasks.temporal_order(10, 6, seed=0)
    batches = [task.resample(4, seed=s) for s in range(4)]
    xs = np.stack([b.x.transpose(1, 0, 2) for b in batches])
    ys = np.stack([b.y for b in batches])
    ps = [train.init_model("rnn", 8, 3, 4, seed=s) for s in range(4)]
    o = elman.options({})
    F = {**parallel.fuse(elman, o, parallel.stack([p["cell"] for p in ps])),
         **parallel.stack([p["out"] for p in ps])}
    run = lambda F, xs, ys, om: parallel_loss.loss_and_grads(  # noqa: E731
        elman, o, xs, ("xent", ys), F, None, om, False, train.data_loss, {})
    sub = lambda a, r: {k: v[r] for k, v in a.items()}         # noqa: E731
    w = np.array([0.0, 2.0, 0.0, 0.5])
    loss, om, grads, _ = run(F, xs, ys, (w, "immediate"))
    plain = run(F, xs, ys, None)
    alone = run(sub(F, [1, 3]), xs[[1, 3]], ys[[1, 3]], (w[[1, 3]], "immediate"))
    np.testing.assert_array_equal(loss, plain[0])
    np.testing.assert_array_equal(om[[0, 2]], 0.0)
    np.testing.assert_array_equal(om[[1, 3]], alone[1])
    assert (om[[1, 3]] > 0).all()
    for k in grads:
        np.testing.assert_array_equal(grads[k][[0, 2]], plain[2][k][[0, 2]])
        np.testing.assert_array_equal(grads[k][[1, 3]], alone[2][k])
    none = run(F, xs, ys, (np.zeros(4), "immediate"))
    np.testing.assert_array_equal(none[1], 0.0)
    for k in grads:
        np.testing.assert_array_equal(none[2][k], plain[2][k])
