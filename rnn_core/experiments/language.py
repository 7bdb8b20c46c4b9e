"""The data behind notebook 08's language-model figures: the count-table baselines its
bits-per-character curves are drawn against.

The model, its training and bpc live in training.language, the text's ids in
training.tasks; the names notebook 08 calls through this module (text_ids, init_lm,
hidden_for_budget, bpc, train_lm, gradient_check) are imported from there.
"""
import numpy as np

from ..training.language import (bpc, gradient_check, hidden_for_budget,  # noqa: F401
                                 init_lm, train_lm)
from ..training.tasks import text_ids  # noqa: F401
from ..validate import check_int, check_positive


def count_table_bpc(train, val, V, order, alpha):
    """Validation bpc of the add-alpha smoothed table of counts of order 0, 1 or 2.

    order 0: p(c) from the training frequencies; order k: p(c | the previous k characters).
    The first `order` characters of val (no full context) are not scored.
    Returns (bpc, number of characters scored).
    """
    order = check_int("order", order, low=0, high=2)
    alpha = check_positive("alpha", alpha, allow_zero=order == 0)
    V = check_int("V", V, low=1)
    train, val = np.asarray(train, np.int64), np.asarray(val, np.int64)
    if len(val) <= order or len(train) <= order:
        raise ValueError(f"val: expected more than order = {order} ids, received {len(val)}")

    def contexts(ids):                           # the id of the previous `order` characters
        c = np.zeros(len(ids) - order, np.int64)
        for j in range(order):
            c = c * V + ids[j:len(ids) - order + j]
        return c

    counts = np.zeros((V ** order, V))
    np.add.at(counts, (contexts(train), train[order:]), 1.0)
    p = (counts + alpha) / (counts + alpha).sum(axis=1, keepdims=True)
    picked = p[contexts(val), val[order:]]
    return float(-np.log2(picked).mean()), len(picked)


def baselines(train, val, V):
    """The three count-table baselines, as tasks.text documents them: {name: bpc}."""
    return {"best constant": count_table_bpc(train, val, V, 0, 0.0)[0],
            "previous character (add-1)": count_table_bpc(train, val, V, 1, 1.0)[0],
            "previous two characters (add-0.1)": count_table_bpc(train, val, V, 2, 0.1)[0]}
