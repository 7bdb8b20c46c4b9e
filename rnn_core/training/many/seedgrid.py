"""Tables of experiments over seeds: grid (lengths x methods x seeds), Grid, and the statistics
that compare them: wilson, fisher_exact, mean_difference, sign_test.

grid(task, lengths, methods, seeds) runs one multirun.fit_many per length and group of
methods that share a cell (and every other setting that is not per run), and returns a
Grid: one record per run and a table of success rates with their spread (the standard
error and the Wilson score interval, which wilson computes).
"""
import math
import time
from dataclasses import dataclass

import numpy as np

from . import multirun
from ..tasks import Task
from ...validate import check_int, check_positive

PER_RUN = ("lr", "schedule", "momentum", "clip", "clip_value", "omega_weight")


@dataclass
class Grid:
    """What grid returns: one record per run (method, T, seed, succeeded, steps_to_success,
    final_error, stop_reason, steps_run) and the settings it was called with."""
    records: list
    methods: list
    lengths: list
    seeds: list
    wall_time: float = 0.0

    def runs(self, method, T):
        return [r for r in self.records if r["method"] == method and r["T"] == T]

    def rate(self, method, T):
        """(successes, runs) of one cell of the table."""
        rs = self.runs(method, T)
        return sum(r["succeeded"] for r in rs), len(rs)

    def table(self, z=1.96):
        """One dict per (method, T): successes, n, rate, its standard error sqrt(p(1-p)/n),
        the Wilson score interval (lo, hi) at z (1.96: 95 %), which stays inside [0, 1] and
        is not empty at rates 0 and 1, and the median steps to success of the successful
        runs (NaN if none)."""
        out = []
        for m in self.methods:
            for T in self.lengths:
                k, n = self.rate(m, T)
                lo, hi = wilson(k, n, z)
                steps = [r["steps_to_success"] for r in self.runs(m, T) if r["succeeded"]]
                out.append({"method": m, "T": T, "successes": k, "n": n, "rate": k / n,
                            "stderr": math.sqrt(k / n * (1 - k / n) / n), "lo": lo, "hi": hi,
                            "median_steps": float(np.median(steps)) if steps else float("nan")})
        return out


def wilson(k, n, z=1.96):
    """The Wilson score interval (lo, hi) for k successes in n trials."""
    k, n = check_int("k", k, low=0), check_int("n", n, low=1)
    if k > n:
        raise ValueError(f"k: expected at most n = {n} successes, received {k}")
    z = check_positive("z", z)
    p, z2 = k / n, z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def fisher_exact(k1, n1, k2, n2):
    """Two-sided p-value of Fisher's exact test: k1 successes in n1 runs against k2 in n2.

    Given the total k1 + k2, the count of the first group is hypergeometric; the p-value is
    the probability of every split at most as likely as the observed one (with scipy's
    relative tolerance of 1e-7 for ties). Returns a float in (0, 1].
    """
    n1, n2 = check_int("n1", n1, low=1), check_int("n2", n2, low=1)
    k1, k2 = check_int("k1", k1, low=0, high=n1), check_int("k2", k2, low=0, high=n2)
    total = k1 + k2
    prob = lambda a: math.comb(n1, a) * math.comb(n2, total - a) / math.comb(n1 + n2, total)
    observed = prob(k1)
    splits = range(max(0, total - n2), min(n1, total) + 1)
    return min(1.0, sum(prob(a) for a in splits if prob(a) <= observed * (1 + 1e-7)))


# t quantiles of 0.975 for 1..10 degrees of freedom; more use the normal 1.96 (a 2 % margin
# at 11 and shrinking): conservative enough for a mean of >= 8 seeds.
_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228)


def mean_difference(a, b):
    """Mean of a - b and the half-width of its 95 % interval (Welch's, with the t quantile
    of min(len(a), len(b)) - 1 degrees of freedom, which is conservative).

    a, b: 1-d samples (independent: different seeds or networks), at least 2 values each.
    Returns (difference of the means, half-width).
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.ndim != 1 or b.ndim != 1 or a.size < 2 or b.size < 2:
        raise ValueError(f"a, b: expected two 1-d samples of at least 2 values, received "
                         f"shapes {a.shape} and {b.shape}")
    df = min(a.size, b.size) - 1
    t = _T975[df - 1] if df <= len(_T975) else 1.96
    se = math.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)
    return float(a.mean() - b.mean()), t * se


def sign_test(a, b):
    """Exact two-sided sign test of paired samples a, b (1-d, same length; ties dropped).

    Returns (wins of a (a < b), wins of b, p-value): under "neither tends to be smaller"
    each untied pair goes either way with probability 1/2, and p is the probability of a
    split at least as uneven as the one seen. p = 1 when every pair is tied.
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"a, b: expected two 1-d samples of one length, received shapes "
                         f"{a.shape} and {b.shape}")
    wins_a, wins_b = int((a < b).sum()), int((b < a).sum())
    n, k = wins_a + wins_b, min(wins_a, wins_b)
    p = min(1.0, 2 * sum(math.comb(n, i) for i in range(k + 1)) / 2**n) if n else 1.0
    return wins_a, wins_b, p


def grid(task, lengths, methods, seeds, **shared):
    """Train every (length, method, seed) and return a Grid of their results.

    task: a callable T -> Task, the validation set for sequence length T (for instance
    `lambda T: tasks.adding(200, T, seed=123)`). lengths: the T values. methods: {name:
    {"cell": ..., "H": ..., and any other fit_many keyword}}; shared: fit_many keywords
    for every method (a method's own keys win). seeds: the seeds of every method and
    length. Methods that differ only in per-run settings (lr, schedule, momentum, clip,
    clip_value, omega_weight) share one fit_many call per length, so that, e.g., SGD,
    SGD with clipping and SGD with clipping and Omega train as one stack.
    """
    t0 = time.perf_counter()
    if not callable(task):
        raise TypeError(f"task: expected a callable T -> Task, received {type(task).__name__}")
    if not isinstance(methods, dict) or not methods:
        raise ValueError(f"methods: expected a non-empty dict {{name: fit_many keywords}}, "
                         f"received {methods!r}")
    if not isinstance(lengths, (list, tuple, range)) or not len(lengths):
        raise ValueError(f"lengths: expected a non-empty sequence of sequence lengths, received "
                         f"{lengths!r}")
    lengths = [check_int(f"lengths[{i}]", T, low=1) for i, T in enumerate(lengths)]
    seeds = multirun.check_seeds(seeds)
    groups = {}
    for name, spec in methods.items():
        if not isinstance(spec, dict) or "cell" not in spec or "H" not in spec:
            raise ValueError(f"methods[{name!r}]: expected a dict with at least 'cell' and 'H', "
                             f"received {spec!r}")
        kw = {**shared, **spec}
        key = repr(sorted((k, v) for k, v in kw.items() if k not in PER_RUN))
        groups.setdefault(key, []).append((name, kw))
    records = []
    for T in lengths:
        val = task(T)
        if not isinstance(val, Task):
            raise TypeError(f"task: expected a callable returning a tasks.Task, received "
                            f"{type(val).__name__} for T = {T}")
        for members in groups.values():
            kw = {k: v for k, v in members[0][1].items() if k not in PER_RUN}
            per = {p: [m[1].get(p, _DEFAULTS[p]) for m in members for _ in seeds]
                   for p in PER_RUN if any(p in m[1] for m in members)}
            cell, H = kw.pop("cell"), kw.pop("H")
            runs = multirun.fit_many(cell, val, H, [s for _ in members for s in seeds], **kw, **per)
            for i, row in enumerate(runs.summary()):
                records.append({"method": members[i // len(seeds)][0], "T": T, **row})
    return Grid(records, list(methods), lengths, seeds, time.perf_counter() - t0)


_DEFAULTS = {"lr": 0.1, "schedule": None, "momentum": 0.9, "clip": None, "clip_value": None,
             "omega_weight": 0.0}
