"""Synthetic tasks: determinism, content, success criteria, errors."""
import numpy as np
import pytest

from rnn_core.training import tasks

# (generator, T, extra options): one short setting per task
SETTINGS = [
    (tasks.adding, 12, {}),
    (tasks.temporal_order, 20, {}),
    (tasks.memory, 10, {"position": (0, 2)}),
    (tasks.copy, 9, {"n_symbols": 3, "length": 3}),
    (tasks.latch, 8, {"L": 2}),
]
IDS = [s[0].__name__ for s in SETTINGS]


@pytest.mark.parametrize("gen,T,opts", SETTINGS, ids=IDS)
def test_deterministic_under_seed(gen, T, opts):
    a, b, c = gen(64, T, seed=5, **opts), gen(64, T, seed=5, **opts), gen(64, T, seed=6, **opts)
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.y, b.y)
    assert not np.array_equal(a.x, c.x)


@pytest.mark.parametrize("gen,T,opts", SETTINGS, ids=IDS)
def test_shapes_and_kind(gen, T, opts):
    task = gen(16, T, seed=0, **opts)
    assert task.x.shape[:2] == (16, T) and task.x.dtype == np.float64
    assert (task.N, task.T) == (16, T)
    if task.loss == "mse":
        assert task.y.shape == (16, task.n_out) and task.y.dtype == np.float64
        assert task.kind == "regression, many-to-one"
    elif task.many_to_many:
        assert task.y.shape == (16, T) and task.mask.shape == (16, T)
        assert task.kind == "classification, many-to-many"
    else:
        assert task.y.shape == (16,) and task.y.dtype == np.int64 and task.mask is None
        assert task.kind == "classification, many-to-one"
    again = task.resample(16, seed=0)
    np.testing.assert_array_equal(again.x, task.x)


@pytest.mark.parametrize("gen,T,opts", SETTINGS, ids=IDS)
def test_success_accepts_exact_answer_and_rejects_constants(gen, T, opts):
    task = gen(500, T, seed=1, **opts)
    assert task.success(task.exact())
    if task.loss == "mse":
        best_constant = np.full_like(task.y, task.y.mean())        # the best constant guess
        assert not task.success(best_constant)
        assert task.error(task.exact()) == 0.0
    else:
        for c in range(task.n_out):                                 # every constant class
            assert not task.success(np.full_like(task.y, c))
        assert not task.success(np.zeros(task.y.shape + (task.n_out,)))   # constant logits
        assert task.score(task.y.copy()) == 1.0                     # class ids are accepted
        assert task.error(task.exact()) == 0.0


@pytest.mark.parametrize("gen,T,opts", SETTINGS, ids=IDS)
def test_too_short_T_raises_naming_T(gen, T, opts):
    with pytest.raises(ValueError, match="T: expected T >="):
        gen(4, 1 if gen is not tasks.memory else 0, seed=0, **opts)


def test_adding_content():
    task = tasks.adding(200, 10, seed=3)
    values, marks = task.x[..., 0], task.x[..., 1]
    assert (marks.sum(axis=1) == 2).all()
    assert (marks[:, :5].sum(axis=1) == 1).all() and (marks[:, 5:].sum(axis=1) == 1).all()
    np.testing.assert_allclose(task.y[:, 0], (values * marks).sum(axis=1))
    assert 0 <= values.min() and values.max() <= 1
    assert task.score(task.y + 0.1) == pytest.approx(0.01)         # MSE
    assert tasks.adding(4, 2, seed=0).x.shape == (4, 2, 2)         # shortest T


def test_temporal_order_content():
    T = 30
    task = tasks.temporal_order(300, T, seed=4)
    ids = task.x.argmax(axis=-1)
    assert (task.x.sum(axis=-1) == 1).all()
    assert (ids[:, 0] == 7).all() and (ids[:, -1] == 6).all()     # E ... B
    relevant = np.argwhere((ids == 4) | (ids == 5))                # X or Y
    assert len(relevant) == 2 * 300
    t = relevant[:, 1].reshape(300, 2)
    assert (3 <= t[:, 0]).all() and (t[:, 0] <= 6).all()           # [0.1 T, 0.2 T]
    assert (15 <= t[:, 1]).all() and (t[:, 1] <= 18).all()         # [0.5 T, 0.6 T]
    s = ids[np.arange(300)[:, None], t] - 4
    np.testing.assert_array_equal(task.y, 2 * s[:, 0] + s[:, 1])
    assert set(task.y) == {0, 1, 2, 3}
    assert tasks.temporal_order(3, 4, seed=0).x.shape == (3, 4, 8)  # shortest T


def test_memory_content_and_position():
    task = tasks.memory(400, 20, seed=2, symbol=1, position=(0, 3), n_symbols=5)
    ids = task.x.argmax(axis=-1)
    has = (ids == 1).any(axis=1)
    np.testing.assert_array_equal(has, task.y == 1)
    assert task.y.sum() == 200                                      # balanced
    where = np.argmax(ids == 1, axis=1)[has]
    assert where.max() <= 2 and len(set(where)) == 3
    late = tasks.memory(100, 20, seed=2, position=-1)
    assert (late.x[late.y == 1, -1, 0] == 1).all()                  # the last step
    with pytest.raises(ValueError, match="position"):
        tasks.memory(10, 5, seed=0, position=(3, 9))
    with pytest.raises(ValueError, match="symbol"):
        tasks.memory(10, 5, seed=0, symbol=4, n_symbols=4)


def test_copy_content():
    task = tasks.copy(50, 11, seed=1, n_symbols=4, length=3)
    ids = task.x.argmax(axis=-1)
    np.testing.assert_array_equal(task.y[:, -3:], ids[:, :3])       # recall = the first symbols
    assert (ids[:, 11 - 3 - 1] == 5).all()                          # delimiter
    assert not task.y[:, :-3].any() and (task.mask[:, -3:] == 1).all() and not task.mask[:, :-3].any()
    guess = np.eye(5)[task.y].copy()
    guess[0, -1] = np.eye(5)[(task.y[0, -1] % 4) + 1]               # one wrong symbol of 150
    assert task.score(guess) == pytest.approx(149 / 150)
    with pytest.raises(ValueError, match=r"T: expected T >= 7"):
        tasks.copy(5, 6, seed=0, length=3)


def test_latch_content():
    task = tasks.latch(100, 12, seed=0, L=3, noise=0.5)
    np.testing.assert_array_equal(task.x[:, :3, 0], np.repeat((2.0 * task.y - 1)[:, None], 3, axis=1))
    assert task.x[:, 3:].std() == pytest.approx(0.5, rel=0.1)
    with pytest.raises(ValueError, match=r"T: expected T >= 4"):
        tasks.latch(5, 3, seed=0, L=3)


def test_make_by_name_and_errors():
    assert tasks.make("latch", 4, 5, seed=1).name == "latch"
    with pytest.raises(ValueError, match="name"):
        tasks.make("parity", 4, 5)
    with pytest.raises(TypeError, match="seed"):
        tasks.adding(4, 6, seed=None)
    with pytest.raises(ValueError, match="N"):
        tasks.adding(0, 6)
    with pytest.raises(ValueError, match="threshold"):
        tasks.memory(4, 6, threshold=1.5)
    task = tasks.adding(4, 6)
    with pytest.raises(ValueError, match=r"pred: expected shape \(4, 1\)"):
        task.score(np.zeros(4))
    with pytest.raises(TypeError, match="pred"):
        task.score([0.0] * 4)


# ------------------------------------------------------------------ text (character LM)

def test_text_windows_are_next_character_pairs_from_the_right_part():
    chars, train, val = tasks.text_ids("pride_and_prejudice_vol1", 0.1)
    assert list(chars) == tasks.text_vocab() and len(chars) == 74
    v = tasks.text(4, 16, seed=None)                           # consecutive, from val's start
    ids = v.x.argmax(axis=-1)
    np.testing.assert_array_equal(v.x.sum(axis=-1), 1.0)       # one-hot
    np.testing.assert_array_equal(ids.reshape(-1), val[:64])
    np.testing.assert_array_equal(v.y.reshape(-1), val[1:65])
    np.testing.assert_array_equal(v.y[:, :-1], ids[:, 1:])     # y is x shifted by one
    assert v.kind == "classification, many-to-many" and v.n_out == 74 and v.metric == "bpc"
    t = tasks.text(4, 16, seed=3, part="train")
    train_str = "".join(chars[i] for i in train)
    for row in t.x.argmax(axis=-1):                            # each window is in the train part
        assert "".join(chars[i] for i in row) in train_str
    r = v.resample(4, seed=3)                                  # training windows, whatever v is
    np.testing.assert_array_equal(r.x, t.x)
    np.testing.assert_array_equal(r.y, t.y)
    np.testing.assert_array_equal(tasks.text(4, 16, seed=3).y, tasks.text(4, 16, seed=3).y)
    assert not np.array_equal(tasks.text(4, 16, seed=3).y, tasks.text(4, 16, seed=4).y)


def test_text_bpc_accepts_exact_answer_and_rejects_constants():
    task = tasks.text(32, 50, seed=None)
    assert task.success(task.exact()) and task.score(task.exact()) < 1e-9
    V = task.n_out
    zeros = np.zeros(task.y.shape + (V,))
    assert task.score(zeros) == pytest.approx(np.log2(V), rel=1e-12)    # uniform: log2 V bits
    _, train, _ = tasks.text_ids("pride_and_prejudice_vol1", 0.1)
    freq = np.bincount(train, minlength=V) / train.size
    unigram = np.broadcast_to(np.log(np.maximum(freq, 1e-300)), zeros.shape).copy()
    assert 4.2 < task.score(unigram) < 4.7 and not task.success(unigram)
    # bpc by hand for one step: -log2 softmax(pred)[y]
    pred = np.random.default_rng(0).standard_normal(zeros.shape)
    lp = pred - np.log(np.exp(pred).sum(-1, keepdims=True))
    want = -np.take_along_axis(lp, task.y[..., None], -1).mean() / np.log(2)
    assert task.score(pred) == pytest.approx(want, rel=1e-12)
    with pytest.raises(TypeError, match="pred: expected a float dtype, received int64"):
        task.score(task.y.copy())                               # class ids give no bpc
    with pytest.raises(ValueError, match=r"pred: expected shape \(32, 50, 74\)"):
        task.score(zeros[..., :10])


def test_text_errors_name_the_argument():
    with pytest.raises(ValueError, match="part: expected one of"):
        tasks.text(2, 8, part="test")
    with pytest.raises(ValueError, match=r"T: expected N \* T \+ 1 <= 23127.*'val'.*N = 1000, T = 100"):
        tasks.text(1000, 100, seed=None)
    with pytest.raises(ValueError, match="T: expected T >= 1"):
        tasks.text(2, 0, seed=1)
    with pytest.raises(ValueError, match="val_fraction: expected a number in"):
        tasks.text(2, 8, val_fraction=1.5)
    with pytest.raises(ValueError, match="name: expected one of"):
        tasks.text(2, 8, name="moby_dick")
    with pytest.raises(ValueError, match="threshold: expected a finite number > 0"):
        tasks.text(2, 8, threshold=0)
