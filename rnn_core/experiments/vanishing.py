"""Gradient norms of the Elman RNN against lag and rho, the bounds, the decay rates,
transient growth and the commutation gap: the data of notebook 03 (the activations'
derivatives of notebook 04 are in `derivatives`)."""

import numpy as np

from ..nn import activations, matrices
from .. import gradflow
from ..cells import elman
from ..validate import check_choice, check_int
from .derivatives import ACTIVATION_NAMES, trajectory_derivatives

# The explorer's first picture (notebook 03 and the README): with inputs this small the
# tanh units stay in their linear range below rho = 1, so both regimes appear and the
# rate turns positive at rho = 1.025, next to the threshold 1/gamma = 1; raising the
# input scale (the slider's only direction) then shows saturation moving the crossover.
DEFAULTS = dict(H=64, T=200, activation="tanh", family="orthogonal", input_scale=0.01, seed=0)
N_RHOS = 41


def explorer_rhos(activation, n=N_RHOS):
    """n spectral radii from 0.5 to max(1.5, 1.5 / gamma): both rho = 1 and rho = 1/gamma."""
    return np.linspace(0.5, max(1.5, 1.5 / activations.gamma(activation)), n)


def explorer_sweep(T=DEFAULTS["T"], activation=DEFAULTS["activation"],
                   family=DEFAULTS["family"], input_scale=DEFAULTS["input_scale"],
                   H=DEFAULTS["H"], seed=DEFAULTS["seed"]):
    """The sweep the explorer draws for these settings (also the headline figure's data).

    The defaults are DEFAULTS, the explorer's first picture. Returns a gradflow.sweeps.Sweep.
    """
    return gradflow.sweeps.sweep(explorer_rhos(activation), H=H, T=T, activation=activation,
                                 family=family, input_scale=input_scale, seed=seed)


# ----------------------------------------------------------------------------------------
# Notebook 03: the lecture notes' rule (eq. 1.33) against measurements
# ----------------------------------------------------------------------------------------

# (label, activation, family, rho, input_scale): each case tests "vanishes iff rho <= 1".
RULE_CASES = (
    ("tanh, orthogonal, rho 0.9", "tanh", "orthogonal", 0.9, 1.0),
    ("relu, orthogonal, rho 2", "relu", "orthogonal", 2.0, 1.0),
    ("sigmoid, orthogonal, rho 2", "sigmoid", "orthogonal", 2.0, 1.0),
    ("sigmoid, orthogonal, rho 3", "sigmoid", "orthogonal", 3.0, 1.0),
    ("linear, orthogonal, rho 1", "linear", "orthogonal", 1.0, 1.0),
    ("linear, nonnormal, rho 0.9", "linear", "nonnormal", 0.9, 1.0),
    ("tanh, orthogonal, rho 1.5, inputs x10", "tanh", "orthogonal", 1.5, 10.0),
)
# A change of the gradient norm by less than this many decades counts as neither.
DECADES = 1.0
_OPPOSITE = {"vanishes": "explodes", "explodes": "vanishes"}


def outcome(change_log10, decades=DECADES):
    """'vanishes', 'explodes' or 'stays' for a change of log10 ||dL/dh|| over some lag."""
    return "vanishes" if change_log10 < -decades else (
        "explodes" if change_log10 > decades else "stays")


def rule_cases(cases=RULE_CASES, T=200, H=64, short_lag=30, seed=0):
    """Test the lecture notes' rule (eq. 1.33: vanishes iff lambda_max <= 1) against gradients.

    For each case: the rule's prediction, the measured change of log10 ||dL/dh_k|| at lag
    `short_lag` and at lag T, the largest growth over all lags, whether the rule held at
    each of the two lags (holds_short: not the opposite outcome; holds_T: the predicted
    outcome), and rule_holds = both. Returns a list of dicts, one per case, with the curve
    log10 ||dL/dh_{T-l}|| / ||dL/dh_T||, l = 0..T.
    """
    T = check_int("T", T, low=1)
    short_lag = check_int("short_lag", short_lag, low=1, high=T)
    rows = []
    for label, act, fam, rho, scale in cases:
        s = gradflow.sweeps.sweep([rho], H=H, T=T, activation=act, family=fam, input_scale=scale,
                                  seed=seed)
        curve = s.log10_norm[0] - s.log10_norm[0, 0]
        rule = "vanishes" if rho <= 1 else "explodes"
        short, full = outcome(curve[short_lag]), outcome(curve[-1])
        rows.append(dict(case=label, activation=act, family=fam, rho=float(rho),
                         input_scale=float(scale), gamma=s.gamma,
                         sigma_max=float(s.sigma_max[0]), rule=rule,
                         change_short=float(curve[short_lag]), change_T=float(curve[-1]),
                         max_growth=float(curve.max()), lag_of_max=int(np.argmax(curve)),
                         measured_short=short, measured_T=full,
                         holds_short=(short != _OPPOSITE[rule]), holds_T=(full == rule),
                         rule_holds=(full == rule and short != _OPPOSITE[rule]),
                         rate=float(s.rate[0]), curve=curve, lags=s.lags, T=T,
                         short_lag=short_lag, decades=DECADES))
    return rows


def _signed(x, digits=0):
    """x rounded for printing with its sign, never '-0' (so printed tables are stable)."""
    v = round(float(x), digits)
    return f"{(0.0 if v == 0 else v):+.{digits}f}"


def format_rule_table(rows):
    """The rows of `rule_cases` as a fixed-width text table (rounded, for printing).

    Per lag: the measured outcome, the change of log10 ||dL/dh_k|| and whether the rule
    held there, so a rule that fails only at the short lag shows as such.
    """
    lag = rows[0]["short_lag"]
    T = rows[0]["T"]
    verdict = lambda ok: "holds" if ok else "FAILS"
    head = (f"{'case':38s} {'sigma_max':>9s} {'rule says':>9s} "
            f"{'at lag ' + str(lag):>20s} {'at lag ' + str(T):>21s}")
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r['case']:38s} {r['sigma_max']:9.2f} {r['rule']:>9s} "
                     f"{r['measured_short']:>8s} {_signed(r['change_short']):>5s} "
                     f"{verdict(r['holds_short']):>5s} "
                     f"{r['measured_T']:>8s} {_signed(r['change_T']):>6s} "
                     f"{verdict(r['holds_T']):>5s}")
    lines.append(f"(per lag: outcome, change of log10 ||dL/dh_k||, and the rule's verdict; "
                 f"'stays' = within {DECADES:g} decade)")
    return "\n".join(lines)


def bounds_vs_measured(settings=(("tanh", "gaussian", 0.9), ("sigmoid", "orthogonal", 3.0)),
                       T=100, H=64, input_scale=1.0, seed=0):
    """The measured Jacobian norms against the singular-value bound and Hochreiter's bound.

    For each (activation, family, rho): log10 ||dh_T/dh_k||_2 (exact, gradflow), the
    gradient's log10 ||dL/dh_k|| / ||dL/dh_T||, the bound l log10(gamma sigma_max) and
    Hochreiter's l log10(H gamma ||W_h||_max), over lags l = 0..T. Returns a list of dicts.
    """
    out = []
    for act, fam, rho in settings:
        W_h = matrices.family(fam, H, rho, seed)
        s = gradflow.sweeps.sweep([rho], H=H, T=T, activation=act, family=fam,
                                  input_scale=input_scale, seed=seed)
        lags = s.lags
        out.append(dict(activation=act, family=fam, rho=float(rho), T=T, H=H, lags=lags,
                        gradient=s.log10_norm[0] - s.log10_norm[0, 0],
                        jacobian=np.asarray(gradflow.sweeps.exact_spectral_norms(
                            rho, H, T, act, fam, input_scale, seed)),
                        singular_value=np.asarray(gradflow.bounds.singular_value_bound(W_h, act, lags)),
                        hochreiter=np.asarray(gradflow.bounds.hochreiter_bound(W_h, act, lags)),
                        sigma_max=matrices.sigma_max(W_h),
                        max_entry=float(np.abs(W_h).max())))
    return out


def rate_sweeps(activation_names=ACTIVATION_NAMES, family="orthogonal", T=200, H=64,
                input_scale=1.0, seed=0):
    """One sweep per activation over its explorer rhos: for the decay rate against rho."""
    return [gradflow.sweeps.sweep(explorer_rhos(a), H=H, T=T, activation=a, family=family,
                                  input_scale=input_scale, seed=seed) for a in activation_names]


RATE_TOL = 1e-6   # a rate within this of 0 (per step) is rounding, not growth (linear, rho = 1)


def rate_table(sweeps, rho=1.5):
    """Per sweep: the rho nearest `rho` and its rate, and the first rho with a rate > RATE_TOL.

    Each line also gives the sweep's rho range, so tables over different ranges say so, and
    the rho actually used (the grid may not hold `rho` itself). Returns text lines (rounded,
    for printing) labelled by activation and input scale.
    """
    lines = [f"{'activation':10s} {'input scale':>11s} {'rho range':>10s} {'at rho':>7s} "
             f"{'rate':>6s} {'rate > 0 from rho':>18s}"]
    for sw in sweeps:
        rhos = np.asarray(sw.rhos)
        k = int(np.argmin(np.abs(rhos - rho)))
        pos = np.flatnonzero(np.asarray(sw.rate) > RATE_TOL)
        first = "never" if pos.size == 0 else f"{rhos[pos[0]]:.2f}"
        span = f"{rhos.min():.1f}-{rhos.max():.1f}"
        lines.append(f"{sw.activation:10s} {sw.input_scale:11g} {span:>10s} {rhos[k]:7.2f} "
                     f"{_signed(sw.rate[k], 2):>6s} {first:>18s}")
    return "\n".join(lines)


def rate_signs(sweeps, rho=1.5):
    """Per sweep, whether the gradient grows or shrinks at the rho nearest `rho`.

    Only the sign of the rate, which (unlike its digits) does not depend on the platform's
    rounding when the forward dynamics are chaotic. Returns text lines for printing.
    """
    lines = []
    for sw in sweeps:
        k = int(np.argmin(np.abs(np.asarray(sw.rhos) - rho)))
        r = float(sw.rate[k])
        verdict = "grows" if r > RATE_TOL else ("shrinks" if r < -RATE_TOL else "stays")
        lines.append(f"{sw.activation}, input scale {sw.input_scale:g}, rho {sw.rhos[k]:.2f}: "
                     f"{verdict}")
    return "\n".join(lines)


def input_scale_sweeps(scales=(0.01, 0.1, 1.0, 10.0), activation="tanh", family="orthogonal",
                       rhos=None, T=200, H=64, seed=0):
    """One sweep per input scale: how saturation moves the threshold of a nonlinear RNN."""
    rhos = np.linspace(0.5, 3.0, 26) if rhos is None else np.asarray(rhos, float)
    return [gradflow.sweeps.sweep(rhos, H=H, T=T, activation=activation, family=family,
                                  input_scale=s, seed=seed) for s in scales]


def transient_growth_curves(rho=0.9, L=200, H=64, families=("nonnormal", "gaussian",
                                                              "orthogonal"), seed=0):
    """log10 ||W_h^l||_2 for l = 0..L, one curve per family at the same rho.

    Returns a dict: lags, rho, and per family its curve, sigma_max and rho ** l's log10.
    """
    lags = np.arange(L + 1)
    curves = {}
    for fam in families:
        W_h = matrices.family(fam, H, rho, seed)
        curves[fam] = dict(curve=np.asarray(gradflow.jacobians.transient_growth(W_h, L)),
                           sigma_max=matrices.sigma_max(W_h))
    return dict(lags=lags, rho=float(rho), H=H, curves=curves,
                eigen_line=lags * np.log10(rho))



def _log10_or_floor(x):
    """log10 of a norm, gradflow.logspace.LOG10_FLOOR for an exact zero (ReLU with every unit off)."""
    return float(np.log10(x)) if x > 0 else gradflow.logspace.LOG10_FLOOR


COMMUTATION_ORDERS = ("notes", "blog")


def commutation_gap(n_max=12, activation="tanh", family="orthogonal", rho=1.0, H=32,
                    input_scale=1.0, order="notes", seed=0):
    """How far pulling W_h out of the Jacobian product is from the product, for n = 1..n_max.

    order="notes", the lecture notes' eqs 1.31-1.32 (the transposed Jacobians, W_h^T on the
    left of each factor):
        true_n   = prod_{i=1..n} W_h^T diag(f'(a_i))   (i increasing to the right)
        pulled_n = (W_h^T)^n prod_{i=1..n} diag(f'(a_i))
    exact for n = 1. order="blog", the blog post's eqs 12-14 (diag(f') on the left):
        true_n   = prod_{i=1..n} diag(f'(a_i)) W_h     (dh_n/dh_0, later factors on the left)
        pulled_n = W_h^n prod_{i=1..n} diag(f'(a_i))
    which already differs at n = 1 (D_1 W_h against W_h D_1). f'(a_i) come from a real
    trajectory. Returns a dict with n, gap = ||true - pulled||_F / max(||true||_F,
    ||pulled||_F) (0 when both are 0), log10 of both spectral norms (log10_true,
    log10_pulled), the order and the formulas as text (true_label, pulled_label).
    """
    n_max = check_int("n_max", n_max, low=1)
    check_choice("order", order, COMMUTATION_ORDERS)
    dfs, W_h = trajectory_derivatives(activation, family, rho, H, n_max, input_scale, seed)
    true, Wn, Dprod = np.eye(H), np.eye(H), np.eye(H)
    gap, ltrue, lpulled = [], [], []
    for i in range(n_max):
        if order == "notes":
            true = true @ (W_h.T * dfs[i][None, :])        # ... W_h^T diag(f'(a_i))
            Wn = Wn @ W_h.T
        else:
            true = (dfs[i][:, None] * W_h) @ true           # diag(f'(a_i)) W_h ...
            Wn = W_h @ Wn
        Dprod = dfs[i][:, None] * Dprod                      # diagonal: the order is free
        pulled = Wn @ Dprod
        scale = max(np.linalg.norm(true), np.linalg.norm(pulled))
        gap.append(np.linalg.norm(true - pulled) / scale if scale > 0 else 0.0)
        ltrue.append(_log10_or_floor(np.linalg.norm(true, 2)))
        lpulled.append(_log10_or_floor(np.linalg.norm(pulled, 2)))
    labels = {"notes": ("prod W_h^T diag(f'(a_i))", "(W_h^T)^n prod diag(f'(a_i))"),
              "blog": ("prod diag(f'(a_i)) W_h", "W_h^n prod diag(f'(a_i))")}[order]
    return dict(n=np.arange(1, n_max + 1), gap=np.array(gap), log10_true=np.array(ltrue),
                log10_pulled=np.array(lpulled), activation=activation, rho=float(rho),
                order=order, true_label=labels[0], pulled_label=labels[1])


def state_statistics(rho, activation="tanh", family="orthogonal", input_scale=1.0, bias=0.0,
                     T=200, H=64, seed=0):
    """What the states of one sweep row do: how saturated the units are, and the rate.

    The network of gradflow.networks.sweep_setup(rho, ...) (the sweep's row for rho), except that
    bias="centred" sets b = -W_h (1/2) 1, which centres a sigmoid unit's pre-activation
    when the states sit at 1/2. Over the second half of the steps (t > T/2): mean |h_t|,
    the mean f'(a_t) and its root mean square over units and steps. The rate is
    gradflow.logspace.decay_rate of log10 ||dL/dh_k|| (dL/dh_T = the sweep's u, carried back in log
    space), the sweep's rate for that row when bias is a number; rms_estimate =
    log(rho * rms f'), the rate a random orthogonal W_h (all singular values rho) would
    give if each step scaled a spread-out gradient by the rms of f'. Returns a dict.
    """
    centred = isinstance(bias, str)
    if centred:
        check_choice("bias", bias, ("centred",))
    x, state0, params, u = gradflow.networks.sweep_setup(rho, H=H, T=T, family=family,
                                                         input_scale=input_scale,
                                                         bias=0.0 if centred else bias, seed=seed)
    if centred:
        params["b"] = -params["W_h"] @ np.full(H, 0.5)
    h, _, _ = elman.forward(x, state0, params, activation=activation)
    late = slice(T // 2 + 1, T)
    df = activations.get(activation).df_from_out(h[0, late])     # (steps, H)
    rms = float(np.sqrt(np.mean(df ** 2)))
    back = gradflow.jacobians.gradient_norms("rnn", x, state0, params, u, activation=activation)
    with np.errstate(divide="ignore"):
        estimate = float(np.log(rho * rms))
    return dict(rho=float(rho), activation=activation, family=family,
                input_scale=float(input_scale), bias=bias, T=T, H=H,
                mean_abs_h=float(np.mean(np.abs(h[0, late]))), mean_df=float(np.mean(df)),
                rms_df=rms, rate=float(gradflow.logspace.decay_rate(back.log10_norm[0], back.lags)),
                rms_estimate=estimate, gamma=activations.gamma(activation))
