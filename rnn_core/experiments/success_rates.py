"""Success rate against sequence length over seeds: the Elman RNN, the LSTM and the GRU at
one parameter budget (notebook 05), and the remedies of Pascanu et al.'s table (notebook 07).

Every (task, T, method, seed) is one run of train.fit that stops at its first success,
and a whole table is one seedgrid.grid (equal to separate fits run for run). A run
succeeds when a validation on held-out sequences meets the task's criterion. The seeds are
the caller's (a list, or a count from a first seed), so the same arguments give the same
table (wall times excepted); rates come
with 95 % Wilson intervals (training.many.seedgrid.wilson), never with standard errors,
which have zero length at 0/n and n/n.
"""

import numpy as np

from .. import cells
from ..training.many import seedgrid
from ..training import tasks
from ..validate import check_choice, check_int

# ----------------------------------------------------------------------------------------
# The cells at one parameter budget
# ----------------------------------------------------------------------------------------

LAG_CELLS = ("rnn", "lstm", "gru")


def model_size(cell, D, H, O):
    """Parameters of a cell (the GRU in the sources' form) with its affine readout (O, H), (O,)."""
    return sum(int(np.prod(s)) for s in cells.get(cell).param_shapes(D, H).values()) + O * H + O


def matched_sizes(budget, D, O, cells_=LAG_CELLS):
    """For each cell the hidden size H whose parameter count (cell + readout) is nearest to
    `budget`: {cell: H}."""
    budget = check_int("budget", budget, low=1)
    return {c: min(range(1, 257), key=lambda H: (abs(model_size(c, D, H, O) - budget), H))
            for c in cells_}


# The two tasks, as rnn_core.training.tasks generates them: (generator, keyword arguments, D, O, what).
LAG_TASKS = {
    "memory": (lambda N, T, seed: tasks.memory(N=N, T=T, seed=seed, position=(0, 2)),
               4, 2, "memory (Galvan's thesis): does the sequence contain symbol c? "
                     "c in the first two steps of half the sequences, 4 symbols; "
                     "success: validation accuracy >= 0.99"),
    "adding": (lambda N, T, seed: tasks.adding(N=N, T=T, seed=seed),
               2, 1, "adding (two-halves variant): the sum of two marked values U(0, 1), one in "
                     "each half; success: validation MSE < 0.04 (a constant scores 1/6)"),
}


def lag_rates(task, lengths, budget, seeds, steps=300, lr=None, batch_size=32, n_val=300,
              val_seed=123, cells_=LAG_CELLS, z=1.96):
    """Success rate against sequence length for the Elman RNN (tanh), the LSTM (forget bias
    1, as cells.lstm.init_params) and the GRU (sources' form), every seed of `seeds` (a
    sequence of distinct ints >= 0, for instance range(16 * SEED, 16 * SEED + 16)) trained at
    once, with the Wilson score interval of every rate.

    task: a key of LAG_TASKS; lengths: the T values; budget: the parameter count (cell +
    readout) every cell is matched to (matched_sizes). Training as fit's easy settings:
    momentum 0.9, clipping at global norm 1, minibatches of batch_size fresh sequences,
    validation on n_val sequences (seed val_seed) every 25 steps, stop at the first success or
    after `steps` updates; lr (default 0.1, and 0.05 for the Elman RNN on adding, as fit's
    docstring). One seedgrid.grid over lengths x cells x seeds.
    Returns a dict: "rate" {cell: (len(lengths),)} the success rate; "successes"; "interval"
    {cell: (lo, hi)}, each (len(lengths),), the Wilson interval at z (1.96: 95 %) of
    successes / len(seeds); "seeds" (the list); "H", "n_params" {cell: int}; "median_steps"
    {cell: (len(lengths),)}; "records" (one per run); "wall_time"; settings.
    """
    seeds = list(seeds)
    if not seeds:
        raise ValueError("seeds: expected at least one seed, received an empty sequence")
    seeds = [check_int("seeds", s, low=0) for s in seeds]
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds: expected distinct seeds, received {seeds}")
    res = _lag_grid(task, lengths, budget, seeds, steps, lr, batch_size, n_val, val_seed, cells_)
    n = len(seeds)
    res["seeds"] = seeds
    res["interval"] = {}
    for c in res["cells"]:
        bounds = np.array([seedgrid.wilson(int(k), n, z) for k in res["successes"][c]])
        res["interval"][c] = (bounds[:, 0], bounds[:, 1])
    return res


def _lag_grid(task, lengths, budget, seeds, steps, lr, batch_size, n_val, val_seed, cells_):
    """The training behind lag_rates, over the list `seeds`."""
    check_choice("task", task, tuple(LAG_TASKS))
    make, D, O, what = LAG_TASKS[task]
    sizes = matched_sizes(budget, D, O, cells_)
    methods = {}
    for c in cells_:
        rate = lr if lr is not None else (0.05 if (c == "rnn" and task == "adding") else 0.1)
        methods[c] = dict(cell=c, H=sizes[c], lr=rate)
    n = len(seeds)
    g = seedgrid.grid(lambda T: make(n_val, T, val_seed), list(lengths), methods, seeds,
                      steps=steps, batch_size=batch_size, optimizer="momentum", momentum=0.9,
                      clip=1.0, val_every=25, until_success=True)
    table = {(r["method"], r["T"]): r for r in g.table()}
    L = [int(T) for T in lengths]
    pick = lambda c, key: np.array([table[(c, T)][key] for T in L], float)
    return dict(task=task, title=f"{task} task", description=what, lengths=L, cells=list(cells_),
                rate={c: pick(c, "rate") for c in cells_},
                successes={c: pick(c, "successes").astype(int) for c in cells_},
                median_steps={c: pick(c, "median_steps") for c in cells_},
                H=sizes, n_params={c: model_size(c, D, sizes[c], O) for c in cells_},
                lr={c: methods[c]["lr"] for c in cells_}, n_seeds=n, steps=steps,
                batch_size=batch_size, budget=budget, records=g.records, wall_time=g.wall_time)


def format_lag_intervals(res):
    """lag_rates' result as a text table: successes / seeds and the 95 % Wilson interval."""
    head = f"{'T':>4s} " + " ".join(f"{c + ' (H=' + str(res['H'][c]) + ')':>19s}" for c in res["cells"])
    lines = [head]
    for j, T in enumerate(res["lengths"]):
        lines.append(f"{T:4d} " + " ".join(
            f"{res['successes'][c][j]:>2d}/{res['n_seeds']} [{res['interval'][c][0][j]:.2f}, "
            f"{res['interval'][c][1][j]:.2f}]".rjust(19) for c in res["cells"]))
    return "\n".join(lines)


def lag_comparisons(res, j=-1):
    """Every pair of cells at the length lengths[j] of a lag_rates result: a list of dicts
    "pair" (cell a, cell b), "successes" (k_a, k_b), "p" (seedgrid.fisher_exact) and "overlap"
    (whether the two Wilson intervals overlap)."""
    n, out = res["n_seeds"], []
    cells_ = res["cells"]
    for i, a in enumerate(cells_):
        for b in cells_[i + 1:]:
            ka, kb = int(res["successes"][a][j]), int(res["successes"][b][j])
            (la, ha), (lb, hb) = ((res["interval"][c][0][j], res["interval"][c][1][j]) for c in (a, b))
            out.append(dict(pair=(a, b), successes=(ka, kb), p=seedgrid.fisher_exact(ka, n, kb, n),
                            overlap=bool(la <= hb and lb <= ha)))
    return out


# ----------------------------------------------------------------------------------------
# Pascanu et al.'s remedies
# ----------------------------------------------------------------------------------------

# The methods of the table, as seedgrid.grid methods (fit keywords). All are minibatch SGD
# without momentum at a constant learning rate, like Pascanu et al.'s Fig. 7.
REPRO_METHODS = {
    "SGD": {"cell": "rnn", "lr": 0.1},
    "SGD+clip": {"cell": "rnn", "lr": 0.1, "clip": 1.0},
    "SGD+clip+Omega": {"cell": "rnn", "lr": 0.1, "clip": 1.0, "omega_weight": 2.0},
    "IRNN": {"cell": "rnn", "lr": 0.03, "clip": 1.0, "activation": "relu",
             "init": {"W_h": "identity"}},
    "LSTM": {"cell": "lstm", "lr": 1.0, "clip": 1.0},
}
# The task versions and success criteria (tasks.py's generators, validation seed 123):
REPRO_TASKS = {
    "temporal_order": {"threshold": 0.99},    # accuracy >= 99 % (Pascanu et al.: 99 % too)
    "adding": {"threshold": 0.1},             # MSE < 0.1, against 1/6 for a constant guess
}
REPRO = {"H": 16, "batch_size": 20, "steps": 200, "val_every": 20, "n_val": 100,
         "val_seed": 123, "dtype": np.float32}   # float32: faster than float64, for the time budget


def reproduction(lengths=(5, 10, 20), n_seeds=8, task_names=tuple(REPRO_TASKS),
                 methods=None, steps=None, H=None, z=1.96, dtype=None):
    """Success rate against sequence length for each method, on each task, with seeds.

    Every (task, T, method, seed) is one run of train.fit with until_success, trained
    batched by seedgrid.grid (equal to separate fits run for run). A run succeeds when a
    validation (every REPRO["val_every"] updates, on REPRO["n_val"] fresh sequences)
    meets the task's criterion within `steps` updates. dtype: what the runs compute in
    (REPRO["dtype"], float32, by default). methods: a subset of REPRO_METHODS
    by name, or a dict like it. Returns dict tasks, methods, lengths, n_seeds, steps,
    rate {task: {method: (len(lengths),)}}, successes (same, ints), interval {task:
    {method: (lo (L,), hi (L,))}} (Wilson at z), median_steps, seconds {task: wall time}.
    """
    steps = REPRO["steps"] if steps is None else check_int("steps", steps, low=1)
    criteria = {}
    for name in task_names:
        criteria[name] = (REPRO_TASKS[check_choice("task_names", name, tuple(REPRO_TASKS))], steps)
    out = _success_table(criteria, lengths, n_seeds, methods, H, z, dtype, range(n_seeds))
    out["steps"] = steps
    return out


def _success_table(criteria, lengths, n_seeds, methods, H, z, dtype, seeds):
    """The loop of reproduction and fair_reproduction: criteria {task: (generator options,
    steps)}; seeds: the seeds of every cell."""
    if methods is None:
        methods = REPRO_METHODS
    elif not isinstance(methods, dict):
        methods = {m: REPRO_METHODS[check_choice("methods", m, tuple(REPRO_METHODS))]
                   for m in methods}
    n_seeds = check_int("n_seeds", n_seeds, low=1)
    H = REPRO["H"] if H is None else check_int("H", H, low=1)
    lengths = [check_int("lengths", T, low=4) for T in lengths]
    dtype = REPRO["dtype"] if dtype is None else dtype
    specs = {m: {"H": H, **spec} for m, spec in methods.items()}
    out = {"tasks": list(criteria), "methods": list(methods), "lengths": lengths,
           "n_seeds": n_seeds, "seeds": list(seeds), "H": H, "dtype": np.dtype(dtype).name,
           "rate": {}, "successes": {}, "interval": {}, "median_steps": {}, "seconds": {}}
    for name, (opts, steps) in criteria.items():

        def make(T, name=name, opts=opts):
            return tasks.make(name, N=REPRO["n_val"], T=T, seed=REPRO["val_seed"], **opts)

        g = seedgrid.grid(make, lengths, specs, list(seeds), steps=steps,
                          batch_size=REPRO["batch_size"], val_every=REPRO["val_every"],
                          until_success=True, dtype=dtype)
        rows = {(r["method"], r["T"]): r for r in g.table(z=z)}
        for key, fn in (("rate", lambda r: r["rate"]), ("successes", lambda r: r["successes"]),
                        ("median_steps", lambda r: r["median_steps"])):
            out[key][name] = {m: np.array([fn(rows[m, T]) for T in lengths]) for m in methods}
        out["interval"][name] = {m: (np.array([rows[m, T]["lo"] for T in lengths]),
                                     np.array([rows[m, T]["hi"] for T in lengths]))
                                 for m in methods}
        out["seconds"][name] = g.wall_time
    return out


# A fair adding criterion (notebook 07). A model that ignores the first marked value u1 can
# at best predict u2 + E[u1] = u2 + 1/2, whose MSE is Var(u1) = 1/12 ~ 0.083; MSE < 0.1
# lets it pass, MSE < 0.04 does not. The adding runs get more updates to reach it.
FAIR_TASKS = {"temporal_order": {"threshold": 0.99, "steps": 200},
              "adding": {"threshold": 0.04, "steps": 400}}
TASK_VERSIONS = {
    "temporal_order": "Hochreiter & Schmidhuber's experiment 6a, relevant symbols in "
                      "[0.1T, 0.2T] and [0.5T, 0.6T] (Pascanu et al.'s windows), 4 classes",
    "adding": "Le et al.'s version: values U(0, 1), one marker in each half, target the sum "
              "(Hochreiter & Schmidhuber and Pascanu et al. put both markers in the first half)",
}


def fair_reproduction(lengths=(5, 10, 20), n_seeds=8, first_seed=0, methods=None, H=None,
                      z=1.96, dtype=None):
    """reproduction with FAIR_TASKS: adding succeeds at MSE < 0.04 (below what any model
    ignoring the first marker can reach) within 400 updates, temporal order at accuracy
    >= 0.99 within 200. Seeds first_seed .. first_seed + n_seeds - 1.

    Returns reproduction's dict, with steps {task: updates}, threshold {task: float},
    versions {task: text} and baselines {T: adding_baselines of that T's validation set}.
    """
    first_seed = check_int("first_seed", first_seed, low=0)
    n = check_int("n_seeds", n_seeds, low=1)
    criteria = {name: ({"threshold": c["threshold"]}, c["steps"]) for name, c in FAIR_TASKS.items()}
    out = _success_table(criteria, lengths, n, methods, H, z, dtype,
                         range(first_seed, first_seed + n))
    out["steps"] = {name: c["steps"] for name, c in FAIR_TASKS.items()}
    out["threshold"] = {name: c["threshold"] for name, c in FAIR_TASKS.items()}
    out["versions"] = dict(TASK_VERSIONS)
    out["baselines"] = {T: adding_baselines(tasks.make("adding", N=REPRO["n_val"], T=T,
                                                       seed=REPRO["val_seed"]))
                        for T in out["lengths"]}
    return out


def adding_baselines(task):
    """What an adding validation set gives to predictors without a long memory (MSE):
    constant, the best constant (the set's mean target); ignore_first, the second marked
    value + 1/2, the best a model can do that ignores the first marker (expected MSE
    Var U(0, 1) = 1/12). Returns dict of floats."""
    if not isinstance(task, tasks.Task) or task.name != "adding":
        raise ValueError(f"task: expected an adding Task, received "
                         f"{getattr(task, 'name', type(task).__name__)!r}")
    marks = task.x[..., 1] > 0.5                                  # (N, T)
    last = task.x.shape[1] - 1 - np.argmax(marks[:, ::-1], axis=1)    # the second marker
    second = task.x[np.arange(task.N), last, 0]
    y = task.y[:, 0]
    return {"constant": float(np.mean((y - y.mean()) ** 2)),
            "ignore_first": float(np.mean((y - second - 0.5) ** 2))}


def format_reproduction(table):
    """The table as text: one row per task and method, 'k/n [lo, hi]' per length."""
    Ts = table["lengths"]
    head = f"{'task':15s} {'method':15s} " + " ".join(f"{'T = ' + str(T):>17s}" for T in Ts)
    lines = [head]
    for task in table["tasks"]:
        for m in table["methods"]:
            k = table["successes"][task][m]
            lo, hi = table["interval"][task][m]
            cells = " ".join(f"{int(k[i]):d}/{table['n_seeds']} [{lo[i]:.2f}, {hi[i]:.2f}]".rjust(17)
                             for i in range(len(Ts)))
            lines.append(f"{task:15s} {m:15s} {cells}")
    return "\n".join(lines)
