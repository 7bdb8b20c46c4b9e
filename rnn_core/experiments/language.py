"""The data behind notebook 08's language-model figures: the count-table baselines its
bits-per-character curves are drawn against, chosen on the validation part and scored on
the test part.

The model, its training, bpc and the three-way split of the text (text_splits) live in
training.language; the names notebook 08 calls through this module (text_splits,
init_lm, hidden_for_budget, bpc, train_lm, gradient_check) are imported from there.
Shapes: character ids (L,) int64 in [0, V).
"""
import numpy as np

from ..training.language import (bpc, gradient_check, hidden_for_budget,  # noqa: F401
                                 init_lm, text_splits, train_lm)
from ..training.tasks import text_ids  # noqa: F401
from ..validate import check_indices, check_int, check_positive

# The add-alpha values the validation part chooses from (order 0 also tries alpha = 0).
ALPHAS = (1.0, 0.3, 0.1, 0.03, 0.01, 0.003, 0.001)


def contexts(ids, V, order):
    """The id of the `order` characters before each of ids[order:], base V: (L - order,)."""
    c = np.zeros(len(ids) - order, np.int64)
    for j in range(order):
        c = c * V + ids[j:len(ids) - order + j]
    return c


def count_table_bpc(train, ids, V, order, alpha):
    """Bits per character on ids of the add-alpha smoothed table of counts of train:
    p(c | the previous `order` characters) = (n(context, c) + alpha) / (n(context) + alpha V).

    order 0 is the character frequencies (alpha = 0 allowed when every scored character
    occurs in train). The first `order` characters of ids (no full context) are not scored.
    Counts are sparse (sorted keys), so any order whose V ** (order + 1) fits in int64 costs
    a sort of train. Returns (bpc, number of characters scored).
    """
    V = check_int("V", V, low=1)
    order = check_int("order", order, low=0, high=int(62 / np.log2(max(V, 2))) - 1)
    alpha = check_positive("alpha", alpha, allow_zero=order == 0)
    train = check_indices("train", np.asarray(train), (None,), high=V).astype(np.int64)
    ids = check_indices("ids", np.asarray(ids), (None,), high=V).astype(np.int64)
    if len(ids) <= order or len(train) <= order:
        raise ValueError(f"ids: expected more than order = {order} ids, received {len(ids)}")
    pair_train = contexts(train, V, order) * V + train[order:]
    ctx = contexts(ids, V, order)
    n_ctx = lookup(np.unique(pair_train // V, return_counts=True), ctx)
    n_pair = lookup(np.unique(pair_train, return_counts=True), ctx * V + ids[order:])
    if alpha == 0 and not n_pair.all():
        raise ValueError("alpha: expected > 0, as some characters of ids never occur in "
                         "train, received 0")
    p = (n_pair + alpha) / (n_ctx + alpha * V)
    return float(-np.log2(p).mean()), len(p)


def lookup(table, keys):
    """The counts of keys in table = (sorted unique keys, counts); 0 for absent keys."""
    known, counts = table
    i = np.minimum(np.searchsorted(known, keys), len(known) - 1)
    return np.where(known[i] == keys, counts[i], 0)


def count_tables(train, val, test, V, alphas=ALPHAS, max_order=8):
    """Tables of counts of order 0, 1, 2, ... chosen on val and scored on test.

    For each order the smoothing alpha with the lowest validation bpc (order 0 also tries
    alpha = 0, the plain frequencies, when every character occurs in train); orders grow
    until one does not improve on the one before (on validation), which is the last one
    built. Returns {"order": [k, ...], "alpha": [...], "val": [bpc, ...], "test": [bpc, ...],
    "chosen": the index of the lowest validation bpc, "grid": {k: [val bpc per alpha]},
    "alphas": alphas}.
    """
    alphas = tuple(check_positive("alphas", a) for a in alphas)
    max_order = check_int("max_order", max_order, low=1)
    out = {"order": [], "alpha": [], "val": [], "test": [], "grid": {}, "alphas": alphas}
    for k in range(max_order + 1):
        grid = [count_table_bpc(train, val, V, k, a)[0] for a in alphas]
        best = int(np.argmin(grid))
        alpha, score = alphas[best], grid[best]
        if k == 0 and len(np.unique(np.asarray(train))) == V:
            zero = count_table_bpc(train, val, V, 0, 0.0)[0]
            alpha, score = (0.0, zero) if zero <= score else (alpha, score)
        out["grid"][k] = grid
        out["order"].append(k)
        out["alpha"].append(alpha)
        out["val"].append(score)
        out["test"].append(count_table_bpc(train, test, V, k, alpha)[0])
        if k > 0 and score >= out["val"][-2]:
            break
    out["chosen"] = int(np.argmin(out["val"]))
    return out


def table_name(order, alpha):
    """How the figures and prints name a table: 'previous 2 characters, add-0.03'."""
    if order == 0:
        return "character frequencies" + (f", add-{alpha:g}" if alpha else "")
    return f"previous {order} character{'s' if order > 1 else ''}, add-{alpha:g}"


def baselines(tables, part="val", up_to=None):
    """{table name: bpc on part ("val" or "test")} of count_tables' tables of order 0 to
    up_to (default: the chosen one), for the bpc figures."""
    if part not in ("val", "test"):
        raise ValueError(f"part: expected 'val' or 'test', received {part!r}")
    up_to = tables["order"][tables["chosen"]] if up_to is None else check_int("up_to", up_to, low=0)
    return {table_name(k, a): b for k, a, b in zip(tables["order"], tables["alpha"], tables[part])
            if k <= up_to}


# Section 3's comparison of window orders (and exercise 6's): the GRU and optimiser settings.
ORDER_RUN = {"cell": "gru", "H": 64, "N": 32, "lr": 5e-3, "val_every": 50}


def order_cost(seed, T, steps=300):
    """What a random window order costs: the validation bpc after `steps` updates of the GRU of
    ORDER_RUN trained on windows of length T at random positions, each from a zero state,
    minus that of the same model trained on consecutive windows with the state carried.
    Positive when carrying the state helps. Two training runs (about 2 s at T = 8 and 4 s at
    T = 32 on one core); notebook 08's exercise 6 checks a student's number against it."""
    seed = check_int("seed", seed, low=0)
    T = check_int("T", T, low=1)
    steps = check_int("steps", steps, low=1)
    final = {order: train_lm(seed=seed, T=T, steps=steps, order=order, **ORDER_RUN).val_bpc[-1]
             for order in ("carried", "shuffled")}
    return float(final["shuffled"] - final["carried"])
