"""Seeded tasks: five synthetic ones that need long memory (adding, temporal order, memory,
copy, latch), two of notebook 06 (lookahead, which needs the future, and two_timescales)
and next-character prediction on a shipped text (text, the character LM).

Every generator returns a `Task` with inputs x (N, T, D) float64 and targets y:
  - regression, many-to-one (adding):       y (N, O) float64, loss "mse"
  - classification, many-to-one:            y (N,) int64 class ids, loss "xent"
  - classification, many-to-many (copy):    y (N, T) int64 and mask (N, T) of the steps
                                            that carry a loss
  - language model, many-to-many (text):    y (N, T) int64 next characters, mask all ones,
                                            metric "bpc" (bits per character)
A model's prediction `pred` has the shape of its readout: (N, O) for many-to-one, (N, T, O)
for many-to-many (logits or probabilities for classification; integer class ids of the
shape of y are accepted too, except for "bpc", which needs logits). `task.score(pred)` is
the task's metric (MSE or bits per character, lower is better, or accuracy, higher is
better), `task.error(pred)` is always lower-is-better (MSE, bpc or 1 - accuracy) and
`task.success(pred)` compares the metric with the task's threshold.
Same seed, same data: each generator uses only np.random.default_rng(seed). A seed may
also be a numpy Generator, which the batch is drawn from (train.fit's one stream per run).
"""
import functools
from dataclasses import dataclass, field

import numpy as np

from . import corpus
from .task_checks import bits, check_common, check_pred, check_threshold, labels, one_hot
from ..validate import check_choice, check_int, check_positive

LOWER_IS_BETTER = ("mse", "bpc")        # metrics that succeed below the threshold

# ----------------------------------------------------------------------------- the Task record


@dataclass(frozen=True, eq=False)
class Task:
    """One seeded batch of a task and how to judge predictions on it."""
    name: str                 # generator name in GENERATORS
    x: np.ndarray             # (N, T, D) float64
    y: np.ndarray             # (N, O) float64, (N,) int64 or (N, T) int64
    mask: np.ndarray | None   # (N, T) float64 0/1 for many-to-many, else None
    loss: str                 # "mse" or "xent"
    n_out: int                # O: readout size (number of classes for "xent")
    many_to_many: bool        # readout at every step (True) or the last step only
    metric: str               # "mse" or "bpc" (success if < threshold), "accuracy" (if >=)
    threshold: float
    options: dict = field(default_factory=dict)   # generator keyword arguments, for resample

    @property
    def kind(self):
        """'regression' or 'classification', plus 'many-to-one' or 'many-to-many'."""
        kind = "regression" if self.loss == "mse" else "classification"
        return f"{kind}, {'many-to-many' if self.many_to_many else 'many-to-one'}"

    @property
    def N(self):
        return self.x.shape[0]

    @property
    def T(self):
        return self.x.shape[1]

    @property
    def D(self):
        return self.x.shape[2]

    def resample(self, N, seed):
        """A fresh batch of N sequences from the same generator and settings; seed: an int,
        or a numpy Generator to draw from."""
        return GENERATORS[self.name](N=N, seed=seed, **self.options)

    def score(self, pred):
        """The task metric: mean squared error (regression), bits per character (text: pred
        are logits (N, T, V)) or accuracy (classification)."""
        if self.metric == "mse":
            pred = check_pred(pred, self.y.shape, float_only=True)
            with np.errstate(over="ignore"):    # a diverged model scores inf, without a warning
                return float(np.mean((pred - self.y) ** 2))
        if self.metric == "bpc":
            pred = check_pred(pred, self.y.shape + (self.n_out,), float_only=True)
            return float((bits(pred, self.y) * self.mask).sum() / self.mask.sum())
        hit = (labels(pred, self.y.shape, self.n_out) == self.y).astype(np.float64)
        if self.mask is None:
            return float(hit.mean())
        return float((hit * self.mask).sum() / self.mask.sum())

    def error(self, pred):
        """Lower is better: the MSE, the bpc, or 1 - accuracy."""
        s = self.score(pred)
        return s if self.metric in LOWER_IS_BETTER else 1.0 - s

    def success(self, pred):
        """True if the metric passes the threshold (MSE or bpc < threshold, accuracy >=)."""
        s = self.score(pred)
        return bool(s < self.threshold if self.metric in LOWER_IS_BETTER else s >= self.threshold)

    def exact(self):
        """The exact answer in prediction format: targets (regression), one-hot scores
        (classification), or logits 60 on the right character and 0 elsewhere (bpc: the
        right character gets probability 1 - (V - 1) e^-60, about 1e-24 bits from exact)."""
        if self.metric == "mse":
            return self.y.copy()
        if self.metric == "bpc":
            return 60.0 * np.eye(self.n_out)[self.y]
        return np.eye(self.n_out)[self.y]


# ----------------------------------------------------------------------------- generators


def adding(N, T, seed=0, threshold=0.04):
    """The adding problem (Hochreiter & Schmidhuber 1997), in the two-halves variant.

    x (N, T, 2): channel 0 holds values ~ U(0, 1); channel 1 marks two positions, one drawn
    uniformly from the first half [0, T//2) and one from the second half [T//2, T).
    y (N, 1) = the sum of the two marked values, read at the last step (MSE).
    Success: MSE < threshold (0.04 by default). The best constant prediction, 1.0, scores
    Var(u1 + u2) = 1/6 ~ 0.167, so success needs the marked values, not a guess.
    """
    N, T, rng = check_common(N, T, seed, 2, "one marker in each half of the sequence")
    threshold = check_threshold(threshold, "mse")
    x, y = adding_batch(*adding_numbers(rng, N, T))
    return Task("adding", x, y, None, "mse", 1, False, "mse", threshold,
                {"T": T, "threshold": threshold})


def adding_numbers(rng, N, T):
    """adding's random numbers from the Generator rng, in its order: values (N, T) ~ U(0, 1),
    then the first mark (N,) in [0, T//2) and the second (N,) in [T//2, T). Unchecked."""
    values = rng.random((N, T))              # U(0, 1): uniform(0, 1)'s values, bit for bit
    return values, rng.integers(0, T // 2, size=N), rng.integers(T // 2, T, size=N)


def adding_batch(values, first, second):
    """adding's x (..., N, T, 2) and y (..., N, 1) from its numbers, any leading axes (one
    batch, or a stack of batches of many runs). Unchecked."""
    first, second = first[..., None], second[..., None]
    x = np.zeros(values.shape + (2,))
    x[..., 0] = values
    np.put_along_axis(x[..., 1], first, 1.0, axis=-1)           # the two marks
    np.put_along_axis(x[..., 1], second, 1.0, axis=-1)
    y = np.take_along_axis(values, first, -1) + np.take_along_axis(values, second, -1)
    return x, y


TEMPORAL_SYMBOLS = ("a", "b", "c", "d", "X", "Y", "B", "E")     # one-hot order of the inputs


def temporal_order(N, T, seed=0, threshold=0.99):
    """The temporal-order problem (Hochreiter & Schmidhuber 1997, experiment 6a), any length T.

    Symbols (one-hot, D = 8, in the order of TEMPORAL_SYMBOLS): the sequence starts with E,
    ends with B, and is otherwise filled with distractors a, b, c, d, except at two relevant
    positions holding X or Y: t1 drawn from [0.1 T, 0.2 T] and t2 from [0.5 T, 0.6 T]
    (rounded, and kept apart and inside the sequence), the windows of the original scaled
    with T. Four classes: XX=0, XY=1, YX=2, YY=3, read at the last step.
    Success: accuracy >= threshold (0.99); a constant guess scores about 0.25.
    """
    N, T, rng = check_common(N, T, seed, 4, "start symbol, two relevant positions and end symbol")
    threshold = check_threshold(threshold, "accuracy")
    ids, y = temporal_order_batch(*temporal_order_numbers(rng, N, T))
    return Task("temporal_order", one_hot(ids, 8), y, None, "xent", 4, False, "accuracy",
                threshold, {"T": T, "threshold": threshold})


def temporal_order_numbers(rng, N, T):
    """temporal_order's random numbers from the Generator rng, in its order: distractor ids
    (N, T) in [0, 4), t1 (N,), t2 (N,) (the relevant positions), s1 (N,), s2 (N,) (0 = X,
    1 = Y). Unchecked."""
    lo1 = max(1, round(0.1 * T))
    hi1 = max(lo1, round(0.2 * T))
    lo2 = max(hi1 + 1, round(0.5 * T))
    hi2 = min(max(lo2, round(0.6 * T)), T - 2)
    ids = rng.integers(0, 4, size=(N, T))                        # distractors a..d
    t1 = rng.integers(lo1, hi1 + 1, size=N)
    t2 = rng.integers(lo2, hi2 + 1, size=N)
    s1 = rng.integers(0, 2, size=N)                              # 0 = X, 1 = Y
    s2 = rng.integers(0, 2, size=N)
    return ids, t1, t2, s1, s2


def temporal_order_batch(ids, t1, t2, s1, s2):
    """temporal_order's symbol ids (..., N, T) (its x is their one-hot rows) and classes y
    (..., N) int64 from its numbers, any leading axes (one batch, or a stack of batches of
    many runs). Writes into ids. Unchecked."""
    ids[..., 0], ids[..., -1] = 7, 6                             # E ... B
    np.put_along_axis(ids, t1[..., None], (4 + s1)[..., None], axis=-1)
    np.put_along_axis(ids, t2[..., None], (4 + s2)[..., None], axis=-1)
    return ids, (2 * s1 + s2).astype(np.int64)


def memory(N, T, seed=0, symbol=0, position=None, n_symbols=4, threshold=0.99):
    """The memory task of Galvan's thesis: does the sequence contain the symbol c = `symbol`?

    x (N, T, n_symbols) one-hot. Every sequence is filled with the other symbols; in half
    of the sequences (a balanced, shuffled split) the symbol c replaces the entry at one
    position drawn uniformly from `position`: an int, or a window (lo, hi) meaning
    [lo, hi); None means anywhere, [0, T). position=(0, 1) puts c at the very start,
    the hardest case for a vanilla RNN. Negative window ends count from T, as in Python.
    y (N,) = 1 if c occurs, else 0, read at the last step. Success: accuracy >= threshold.
    """
    N, T, rng = check_common(N, T, seed, 1, "a position for the symbol")
    n_symbols = check_int("n_symbols", n_symbols, low=2)
    symbol = check_int("symbol", symbol, low=0, high=n_symbols - 1)
    threshold = check_threshold(threshold, "accuracy")
    window = memory_window(position, T)
    ids, y = memory_batch(*memory_numbers(rng, N, T, window, n_symbols), symbol, n_symbols)
    return Task("memory", one_hot(ids, n_symbols), y, None, "xent", 2, False, "accuracy",
                threshold, {"T": T, "symbol": symbol, "position": position,
                            "n_symbols": n_symbols, "threshold": threshold})


def memory_numbers(rng, N, T, window, n_symbols):
    """memory's random numbers from the Generator rng, in its order: the other symbols'
    draws (N, T) in [0, n_symbols - 1), the classes (N,) (a permutation of 0, 1, 0, ...),
    the symbol's positions (N,) in the window [lo, hi) (memory_window's). Unchecked."""
    draws = rng.integers(0, n_symbols - 1, size=(N, T))
    y = rng.permutation(np.arange(N) % 2)                        # balanced classes
    return draws, y, rng.integers(*window, size=N)


def memory_batch(draws, y, where, symbol, n_symbols):
    """memory's symbol ids (..., N, T) (its x is their one-hot rows) and classes y (..., N)
    int64 from its numbers, any leading axes (one batch, or a stack of batches of many
    runs). Unchecked."""
    others = np.delete(np.arange(n_symbols), symbol)
    ids = others[draws]
    y = y.astype(np.int64)
    here = np.take_along_axis(ids, where[..., None], -1)       # the symbol where y = 1
    np.put_along_axis(ids, where[..., None], np.where(y[..., None] == 1, symbol, here), -1)
    return ids, y


def memory_window(position, T):
    """[lo, hi) inside [0, T) from None, an int or a (lo, hi) pair; errors name 'position' or 'T'."""
    if position is None:
        return 0, T
    if isinstance(position, (int, np.integer)) and not isinstance(position, bool):
        position = (position, position + 1 if position != -1 else T)
    if not isinstance(position, (tuple, list)) or len(position) != 2:
        raise TypeError(f"position: expected None, an int or a pair (lo, hi), received {position!r}")
    lo, hi = (check_int("position", p) for p in position)
    lo, hi = (p + T if p < 0 else p for p in (lo, hi))
    if not 0 <= lo < hi <= T:
        raise ValueError(f"position: expected a non-empty window inside [0, T) with T = {T}, "
                         f"received {position!r}; raise T or move the window")
    return lo, hi


def copy(N, T, seed=0, n_symbols=8, length=5, threshold=0.99):
    """The copy (memorisation) task: read `length` symbols, wait, then write them back.

    Input ids (one-hot, D = n_symbols + 2): 0 = blank, 1..n_symbols = symbols,
    n_symbols + 1 = delimiter. Steps [0, length) hold the symbols, the delimiter sits at
    step T - length - 1, every other step is blank. Targets y (N, T): the symbols again at
    the last `length` steps, blank elsewhere; n_out = n_symbols + 1 classes.
    The mask selects the last `length` steps only, so the loss and the accuracy are about
    recall, not about the blanks, which any memoryless net can predict.
    Requires T >= 2 * length + 1. Success: per-symbol accuracy >= threshold.
    """
    n_symbols = check_int("n_symbols", n_symbols, low=1)
    length = check_int("length", length, low=1)
    N, T, rng = check_common(N, T, seed, 2 * length + 1, f"2 * length + 1 with length = {length}")
    threshold = check_threshold(threshold, "accuracy")
    symbols = rng.integers(1, n_symbols + 1, size=(N, length))
    ids = np.zeros((N, T), np.int64)
    ids[:, :length] = symbols
    ids[:, T - length - 1] = n_symbols + 1
    y = np.zeros((N, T), np.int64)
    y[:, T - length:] = symbols
    mask = np.zeros((N, T))
    mask[:, T - length:] = 1.0
    return Task("copy", one_hot(ids, n_symbols + 2), y, mask, "xent", n_symbols + 1, True,
                "accuracy", threshold, {"T": T, "n_symbols": n_symbols, "length": length,
                                        "threshold": threshold})


def latch(N, T, seed=0, L=3, noise=0.2, threshold=0.99):
    """The latch problem (Bengio, Simard & Frasconi 1994): the class is given at the start only.

    x (N, T, 1): for the first L steps the input is +1 (class 1) or -1 (class 0), after that
    Gaussian noise N(0, noise^2). The net must latch the class over T - L noisy steps.
    y (N,) the class (balanced, shuffled), read at the last step. Requires T >= L + 1.
    Success: accuracy >= threshold. (Bengio et al. trained the L initial inputs and used
    targets +-0.8 under MSE; here they are fixed and the loss is cross-entropy.)
    """
    L = check_int("L", L, low=1)
    N, T, rng = check_common(N, T, seed, L + 1, f"L + 1 with L = {L}: at least one step to latch over")
    noise = check_positive("noise", noise, allow_zero=True)
    threshold = check_threshold(threshold, "accuracy")
    y = rng.permutation(np.arange(N) % 2).astype(np.int64)
    x = noise * rng.standard_normal((N, T, 1))
    x[:, :L, 0] = (2.0 * y - 1.0)[:, None]
    return Task("latch", x, y, None, "xent", 2, False, "accuracy", threshold,
                {"T": T, "L": L, "noise": noise, "threshold": threshold})


# ----------------------------------------------------------------------------------------


def lookahead(N, T, seed=0, k=2, n_symbols=4, threshold=0.95):
    """Name the symbol k steps AHEAD: y_t = x_{t+k}, for every step t < T - k.

    x (N, T, n_symbols) one-hot random symbols; y (N, T) int64; mask (N, T) is 1 on the
    steps t < T - k (the last k steps have no answer). A model that reads x_1 .. x_t only
    can do no better than chance, 1 / n_symbols. Success: accuracy >= threshold.
    """
    k = check_int("k", k, low=1)
    N, T, rng = check_common(N, T, seed, k + 1, f"k + 1 with k = {k}")
    n_symbols = check_int("n_symbols", n_symbols, low=2)
    threshold = check_threshold(threshold, "accuracy")
    ids = rng.integers(0, n_symbols, size=(N, T))
    y = np.zeros((N, T), np.int64)
    y[:, :T - k] = ids[:, k:]
    mask = np.zeros((N, T))
    mask[:, :T - k] = 1.0
    return Task("lookahead", np.eye(n_symbols)[ids], y, mask, "xent", n_symbols, True,
                         "accuracy", threshold, {"T": T, "k": k, "n_symbols": n_symbols,
                                                 "threshold": threshold})


def two_timescales(N, T, seed=0, p_switch=0.1, threshold=0.95):
    """A fast signal read through a slow mode: y_t = [b_{t-1} > 0] XOR m_t, for t >= 1.

    x (N, T, 2): channel 0 a fresh random bit b_t = +-1 at every step (the fast signal);
    channel 1 a marker, +1 or -1 at the steps where the mode m_t (0 or 1, the slow signal)
    is set to 1 or 0: at t = 0, and wherever it flips, with probability p_switch per step.
    y (N, T) int64, mask 0 at t = 0. Success: accuracy >= threshold. Returns a Task with
    options["modes"]-free settings; the modes are recomputed from the markers.
    """
    N, T, rng = check_common(N, T, seed, 2, "a previous bit to read")
    p_switch = check_positive("p_switch", p_switch)
    if p_switch > 1:
        raise ValueError(f"p_switch: expected a probability in (0, 1], received {p_switch}")
    threshold = check_threshold(threshold, "accuracy")
    bits = rng.integers(0, 2, size=(N, T))
    flips = rng.random((N, T)) < p_switch
    flips[:, 0] = True                                   # the first mode is always announced
    m0 = rng.integers(0, 2, size=N)
    modes = (m0[:, None] + np.cumsum(flips, axis=1) - 1) % 2   # flips toggle the mode
    x = np.zeros((N, T, 2))
    x[:, :, 0] = 2.0 * bits - 1.0
    x[:, :, 1] = np.where(flips, 2.0 * modes - 1.0, 0.0)
    y = np.zeros((N, T), np.int64)
    y[:, 1:] = bits[:, :-1] ^ modes[:, 1:]
    mask = np.ones((N, T))
    mask[:, 0] = 0.0
    return Task("two_timescales", x, y, mask, "xent", 2, True, "accuracy", threshold,
                         {"T": T, "p_switch": p_switch, "threshold": threshold})


@functools.lru_cache(maxsize=4)
def _encoded(name, val_fraction):
    """text_ids, cached: the text is encoded once per process."""
    text = corpus.load(name)
    chars, index = corpus.build_vocab(text)
    train, val = corpus.split(corpus.encode(text, index), val_fraction)
    for a in (train, val):
        a.flags.writeable = False
    return tuple(chars), train, val


def text_ids(name=None, val_fraction=0.1):
    """(chars, train ids, validation ids) of a shipped text (None: corpus.DEFAULT), split
    contiguously, its last val_fraction the validation part; the id arrays are read-only."""
    name = corpus.DEFAULT if name is None else name
    return _encoded(name, corpus.check_fraction("val_fraction", val_fraction))


def text_vocab(name=None):
    """The characters of a shipped text, in id order, as `text` encodes them (a list)."""
    return list(text_ids(name)[0])


def text(N, T, seed=0, name=None, part="val", val_fraction=0.1, threshold=3.5):
    """Next-character prediction on a shipped text: the character language model.

    The text (corpus.load(name); default Volume I of Pride and Prejudice, V = 74
    characters) is split contiguously: its last val_fraction is the validation part.
    part "val" or "train" picks the part; seed=None takes N consecutive windows from its
    start (deterministic: the same validation set every time), an int seed N windows at
    random start positions. x (N, T, V) one-hot characters, y (N, T) the next character at
    every step, mask all ones, loss "xent", n_out = V, many-to-many.

    The metric is bits per character (bpc): the mean of -log2 p(next character) under the
    softmax of the logits; lower is better. Success: bpc < threshold. On the default text's
    validation part the best constant predictor (the character frequencies of the training
    part) scores 4.44 and smoothed tables of counts from the training part score 3.50
    (the previous character, add-one) and 2.72 (the previous two, add-0.1): the default
    3.5 asks for a model that uses the previous character at least as well as such a table.

    resample draws training windows at random, whatever the part of this batch: fit gets
    its validation set from part="val" and never trains on it.
    """
    name = corpus.DEFAULT if name is None else name
    check_choice("part", part, ("train", "val"))
    val_fraction = corpus.check_fraction("val_fraction", val_fraction)
    if seed is not None:
        N, T, seed = check_common(N, T, seed, 1, "at least one character to predict")
    else:
        N, T = check_int("N", N, low=1), check_int("T", T, low=1)
    threshold = check_positive("threshold", threshold)
    chars, train, val = _encoded(name, val_fraction)
    ids = train if part == "train" else val
    need = N * T + 1 if seed is None else T + 1
    if len(ids) < need:
        raise ValueError(f"T: expected {'N * T' if seed is None else 'T'} + 1 <= {len(ids)}, the "
                         f"characters of the {part!r} part of {name!r}, received N = {N}, T = {T}")
    inputs, targets = corpus.windows(ids, N, T, seed=seed)
    V = len(chars)
    return Task("text", one_hot(inputs, V), targets, np.ones((N, T)), "xent", V, True, "bpc",
                threshold, {"T": T, "name": name, "part": "train",
                            "val_fraction": val_fraction, "threshold": threshold})


GENERATORS = {"adding": adding, "temporal_order": temporal_order, "memory": memory,
              "copy": copy, "latch": latch, "lookahead": lookahead,
              "two_timescales": two_timescales, "text": text}


def make(name, N, T, seed=0, **options):
    """Any task by name (a key of GENERATORS)."""
    if name not in GENERATORS:
        raise ValueError(f"name: expected one of {sorted(GENERATORS)}, received {name!r}")
    return GENERATORS[name](N=N, T=T, seed=seed, **options)
