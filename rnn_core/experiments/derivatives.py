"""The activations' derivatives and what they do to gradients: f and f' with their
saturation regions, E|f'| under a Gaussian pre-activation, and the ReLU Jacobian's paths
(notebook 04).

Activations by name as in rnn_core.nn.activations; every function that draws numbers takes
`seed` and gives the same numbers for the same arguments.
"""
import numpy as np

from ..nn import activations, matrices
from ..cells import elman
from ..validate import check_choice, check_int, check_positive

ACTIVATION_NAMES = ("sigmoid", "tanh", "relu", "linear")


def trajectory_derivatives(activation, family, rho, H, n, input_scale, seed):
    """f'(a_t) along an Elman trajectory of n steps (N = 1): an (n, H) array, and W_h."""
    params = elman.init_params(H, H, seed=seed)
    params["W_h"] = matrices.family(family, H, rho, seed)
    x = input_scale * np.random.default_rng(seed + 7).standard_normal((1, n, H))
    h, _, _ = elman.forward(x, {"h": np.zeros((1, H))}, params, activation=activation)
    return activations.get(activation).df_from_out(h[0]), params["W_h"]


def activation_curves(lo=-6.0, hi=6.0, n=1201, saturation=0.1):
    """f and f' on a grid, gamma measured on a fine grid, and the saturation regions.

    A point is saturated when f'(a) < saturation * gamma (for ReLU: f'(a) = 0, the unit is
    off). Returns a dict keyed by activation name: a, f, df, gamma (analytic),
    gamma_grid (max of f' on 400001 points of [-20, 20]) and saturated (bool mask).
    """
    a = np.linspace(lo, hi, n)
    fine = np.linspace(-20.0, 20.0, 400001)
    out = {}
    for name in ACTIVATION_NAMES:
        act = activations.get(name)
        df = act.df(a)
        out[name] = dict(a=a, f=act.f(a), df=df, gamma=act.gamma,
                         gamma_grid=float(np.max(np.abs(act.df(fine)))),
                         saturated=df < saturation * act.gamma, saturation=saturation)
    return out


def mean_derivative_curves(spreads=None, means=(0.0, 2.0)):
    """E|f'(a)| against the spread of a ~ N(mean, spread^2), per activation and mean.

    Returns a dict: spreads, means, and values[name] of shape (len(means), len(spreads)).
    """
    spreads = np.logspace(-2, 1.3, 67) if spreads is None else np.asarray(spreads, float)
    values = {name: np.array([[activations.mean_abs_derivative(name, m, s) for s in spreads]
                              for m in means]) for name in ACTIVATION_NAMES}
    gammas = {name: activations.gamma(name) for name in ACTIVATION_NAMES}
    return dict(spreads=spreads, means=tuple(means), values=values, gammas=gammas)


def preactivation_stats(activation, mean=0.0, spread=1.0, n=20000, seed=0):
    """Samples a ~ N(mean, spread^2) and what the activation does to them.

    Returns a dict: samples (n,), the grid and f'(grid) for drawing, mean_abs_df (E|f'|
    over the Gaussian, by quadrature), sample_mean_abs_df (over the samples), the fraction
    saturated (f' < gamma / 10), gamma and the settings.
    """
    check_choice("activation", activation, ACTIVATION_NAMES)
    spread = check_positive("spread", spread)
    act = activations.get(activation)
    samples = float(mean) + spread * np.random.default_rng(seed).standard_normal(
        check_int("n", n, low=2))
    lo, hi = min(-6.0, mean - 4 * spread), max(6.0, mean + 4 * spread)
    grid = np.linspace(lo, hi, 801)
    d = act.df(samples)
    return dict(activation=activation, mean=float(mean), spread=float(spread),
                gamma=act.gamma, samples=samples, grid=grid, df_grid=act.df(grid),
                mean_abs_df=activations.mean_abs_derivative(activation, mean, spread),
                sample_mean_abs_df=float(np.mean(np.abs(d))),
                saturated=float(np.mean(d < 0.1 * act.gamma)))


def relu_paths(H=8, L=3, rho=1.0, family="orthogonal", input_scale=1.0, seed=0):
    """The ReLU Jacobian product against W_h^l and |W_h|^l, entry by entry (Galvan's thesis, eq 1.72).

    With f' in {0, 1}, P = prod_{i=1..L} D_i W_h keeps only the paths through active units.
    Each entry is a sum over paths of path costs, so |P_ij| <= (|W_h|^L)_ij (every path,
    with |cost|). |(W_h^L)_ij| is not a bound: with some paths switched off, what they
    cancelled can show. Returns a dict with P, W_h^L, |W_h|^L, the masks (L, H), counts,
    dead_steps (steps at which no unit is active: one makes P exactly 0) and `example`, the
    entry (i, j) where |P_ij| exceeds |(W_h^L)_ij| the most, or None if no entry exceeds it.
    """
    H, L = check_int("H", H, low=1), check_int("L", L, low=1)
    dfs, W_h = trajectory_derivatives("relu", family, rho, H, L, input_scale, seed)
    P = np.eye(H)
    for i in range(L):
        P = (dfs[i][:, None] * W_h) @ P
    power = np.linalg.matrix_power(W_h, L)
    abs_power = np.linalg.matrix_power(np.abs(W_h), L)
    above = np.abs(P) > np.abs(power) * (1 + 1e-9)
    excess = np.where(above, np.abs(P) - np.abs(power), -np.inf)
    example = tuple(int(k) for k in np.unravel_index(np.argmax(excess), P.shape)) if above.any() else None
    return dict(P=P, power=power, abs_power=abs_power, masks=dfs, L=L, H=H, example=example,
                within_abs_bound=bool(np.all(np.abs(P) <= abs_power * (1 + 1e-12) + 1e-300)),
                n_above_power=int(above.sum()),
                dead_steps=int(np.sum(~dfs.any(axis=1))),
                active_fraction=float(dfs.mean()))


def relu_paths_survey(n=500, H=8, L=3, rho=1.0, family="orthogonal", input_scale=1.0, seed=0):
    """relu_paths over the n draws of seeds seed, seed + 1, ..., seed + n - 1 (W_h and inputs).

    Returns a dict: n, seeds (n,), the per-draw within_abs_bound, n_above_power and
    dead_steps (arrays of n), and first_above, the first seed whose product has an entry
    above |(W_h^L)_ij| (None if no draw has one).
    """
    n = check_int("n", n, low=1)
    seeds = np.arange(int(seed), int(seed) + n)
    runs = [relu_paths(H, L, rho, family, input_scale, int(s)) for s in seeds]
    n_above = np.array([r["n_above_power"] for r in runs])
    hits = np.flatnonzero(n_above > 0)
    return dict(n=n, seeds=seeds, H=H, L=L,
                within_abs_bound=np.array([r["within_abs_bound"] for r in runs]),
                n_above_power=n_above,
                dead_steps=np.array([r["dead_steps"] for r in runs]),
                first_above=int(seeds[hits[0]]) if hits.size else None)
