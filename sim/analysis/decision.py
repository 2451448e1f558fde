"""Decision analysis: discounting, incremental analysis, net benefit, acceptability and
the value of information. Pure functions of arrays of costs and effects.

Conventions follow the health-economics literature and its tools (BCEA, dampack, the
``voi`` package):

* **Discounting** at an annual rate r: an amount at time t years is worth
  (1 + r)^-t now; a constant stream of a per year over [t0, t1] is worth
  a ((1 + r)^-t0 - (1 + r)^-t1) / ln(1 + r) (the continuous-time form, as an event
  simulation's costs accrue continuously). NICE's reference case uses 3.5% for costs
  and effects alike (NICE, *Guide to the methods of technology appraisal*, 2013, 6.2.19;
  kept in the 2022 health technology evaluations manual, 4.5.1).
* **Incremental analysis** (Drummond et al., *Methods for the Economic Evaluation of
  Health Care Programmes*, 4th ed. 2015, ch. 4): strategies ordered by cost; a strategy
  that costs more and gains no more than another is *dominated*; one whose ICER exceeds
  that of the next more effective strategy on the frontier is *extendedly dominated*;
  ICERs are reported only between successive frontier strategies. A strategy that costs
  less and gains more than the comparator is *dominant*, never given a negative ICER.
* **Net monetary benefit** NMB = lambda * effect - cost at willingness to pay lambda.
* **Acceptability** (CEAC): the share of samples in which each strategy has the
  highest NMB; the **frontier** (CEAF): at each lambda, the strategy with the highest
  expected NMB and the share of samples in which it is the best.
* **EVPI** per person: E[max_k NMB_k] - max_k E[NMB_k]; for a population, times the
  discounted number of people the decision affects over its horizon.
* **EVPPI** of a parameter (or a group): E_phi[max_k E(NMB_k | phi)] - max_k E[NMB_k],
  the inner conditional expectation estimated by a regression metamodel of each
  strategy's NMB on phi fitted to the PSA samples (Strong, Oakley and Brennan, *Med
  Decis Making* 2014;34:311-326): here a generalized additive model (statsmodels'
  ``GLMGam`` with cubic B-splines), its standard error by drawing the model's
  coefficients from their approximate posterior.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "NICE_DISCOUNT_RATE",
    "discount_factor",
    "discounted_stream",
    "discounted_population",
    "incremental_analysis",
    "versus_baseline",
    "net_benefit",
    "ceac",
    "ceaf",
    "evpi",
    "Evppi",
    "evppi",
]

NICE_DISCOUNT_RATE = 0.035  # costs and QALYs (NICE methods guide 2013, 6.2.19; manual 2022, 4.5.1)


# ----------------------------------------------------------------------- discounting
def discount_factor(years: np.ndarray | float, rate: float) -> np.ndarray | float:
    """(1 + rate)^-years: what an amount at ``years`` from now is worth now."""
    return (1.0 + rate) ** -np.asarray(years, float) if rate else np.ones_like(years, float)


def discounted_stream(
    per_year: np.ndarray | float, start: np.ndarray | float, end: np.ndarray | float, rate: float
) -> np.ndarray | float:
    """Present value of a constant stream of ``per_year`` from ``start`` to ``end`` (years).

    The integral of per_year (1 + rate)^-t over [start, end]: per_year (end - start)
    undiscounted; otherwise per_year ((1+r)^-start - (1+r)^-end) / ln(1 + r).
    """
    a, t0, t1 = np.asarray(per_year, float), np.asarray(start, float), np.asarray(end, float)
    if rate == 0:
        return a * (t1 - t0)
    delta = math.log1p(rate)
    return a * (np.exp(-delta * t0) - np.exp(-delta * t1)) / delta


def discounted_population(per_year: float, horizon_years: int, rate: float) -> float:
    """People a decision affects over its horizon, each year's cohort discounted.

    A cohort of ``per_year`` people in each of the years 0, 1, ..., horizon - 1, the
    cohort of year t discounted by (1 + rate)^-t.
    """
    if horizon_years < 1:
        raise ValueError("horizon_years must be at least 1")
    return float(per_year * np.sum(discount_factor(np.arange(horizon_years), rate)))


# --------------------------------------------------------------- incremental analysis
def incremental_analysis(
    strategies: Sequence[str], cost: Sequence[float], effect: Sequence[float]
) -> pd.DataFrame:
    """Strategies ordered by cost with their dominance status and frontier ICERs.

    Returns one row per strategy (ordered by cost, then by effect, highest first):
    ``strategy``, ``cost``, ``effect``, ``status`` (``reference``: the cheapest
    undominated; ``frontier``; ``dominated``; ``extendedly dominated``), ``compared_with``
    (the previous frontier strategy, for frontier rows; the dominating strategy, for
    dominated rows), ``incremental_cost``, ``incremental_effect`` and ``icer`` (frontier
    rows only: always positive).
    """
    frame = pd.DataFrame({"strategy": list(strategies), "cost": cost, "effect": effect})
    if frame["strategy"].duplicated().any():
        raise ValueError("strategy names must be unique")
    frame = frame.sort_values(["cost", "effect"], ascending=[True, False], kind="stable")
    frame = frame.reset_index(drop=True)
    status = pd.Series("", index=frame.index, dtype=object)
    by = pd.Series("", index=frame.index, dtype=object)
    c, e = frame["cost"].to_numpy(float), frame["effect"].to_numpy(float)
    # strongly dominated: another costs no more and gains at least as much (one strictly)
    for i in range(len(frame)):
        better = (c <= c[i]) & (e >= e[i]) & ((c < c[i]) | (e > e[i]))
        if better.any():
            status[i] = "dominated"
            j = int(np.flatnonzero(better)[np.argmax(e[better])])
            by[i] = frame.loc[j, "strategy"]
    # extendedly dominated: on the remaining frontier, an ICER above the next one's
    live = [i for i in range(len(frame)) if status[i] == ""]
    changed = True
    while changed and len(live) > 2:
        changed = False
        icers = [(c[b] - c[a]) / (e[b] - e[a]) for a, b in zip(live, live[1:], strict=False)]
        for k in range(len(icers) - 1):
            if icers[k] > icers[k + 1]:
                i = live[k + 1]
                status[i] = "extendedly dominated"
                by[i] = f"{frame.loc[live[k], 'strategy']} and {frame.loc[live[k + 2], 'strategy']}"
                live.pop(k + 1)
                changed = True
                break
    out = frame.assign(
        status=status,
        compared_with=by,
        incremental_cost=np.nan,
        incremental_effect=np.nan,
        icer=np.nan,
    )
    for k, i in enumerate(live):
        if k == 0:
            out.loc[i, "status"] = "reference"
            continue
        j = live[k - 1]
        out.loc[i, "status"] = "frontier"
        out.loc[i, "compared_with"] = frame.loc[j, "strategy"]
        dc, de = c[i] - c[j], e[i] - e[j]
        out.loc[i, ["incremental_cost", "incremental_effect", "icer"]] = (dc, de, dc / de)
    return out


def versus_baseline(cost: float, effect: float, base_cost: float, base_effect: float) -> str:
    """A strategy against a baseline in words: ``dominant`` (cheaper and more
    effective), ``dominated`` (dearer and less effective), ``equal``, or the ICER with
    its sense (``ICER 12,345 (more effective, dearer)`` or ``... (less effective,
    cheaper)``, the money saved per unit of effect given up).
    """
    dc, de = cost - base_cost, effect - base_effect
    if dc == 0 and de == 0:
        return "equal"
    if dc <= 0 and de >= 0:
        return "dominant"
    if dc >= 0 and de <= 0:
        return "dominated"
    sense = "more effective, dearer" if de > 0 else "less effective, cheaper"
    return f"ICER {dc / de:,.0f} ({sense})"


# ------------------------------------------------------------------ net benefit
def net_benefit(cost: np.ndarray, effect: np.ndarray, wtp: float) -> np.ndarray:
    """Net monetary benefit: wtp * effect - cost (same shape as the inputs)."""
    return wtp * np.asarray(effect, float) - np.asarray(cost, float)


def ceac(
    cost: np.ndarray,
    effect: np.ndarray,
    wtp: Sequence[float],
    strategies: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Acceptability: for each willingness to pay (rows) the share of samples in which
    each strategy (columns) has the highest net benefit.

    ``cost`` and ``effect`` are (samples, strategies); ties go to the first strategy.
    Rows sum to one. The frame's index is the threshold (``willingness_to_pay``), its
    columns the strategies (``strategies``, default 0, 1, ...).
    """
    c, e = np.asarray(cost, float), np.asarray(effect, float)
    k = c.shape[1]
    out = np.empty((len(wtp), k))
    for w, lam in enumerate(wtp):
        best = np.argmax(net_benefit(c, e, lam), axis=1)
        out[w] = np.bincount(best, minlength=k) / len(best)
    names = list(strategies) if strategies is not None else list(range(k))
    if len(names) != k:
        raise ValueError(f"{len(names)} strategy names for {k} strategies")
    index = pd.Index([float(lam) for lam in wtp], name="willingness_to_pay")
    return pd.DataFrame(out, index=index, columns=pd.Index(names, name="strategy"))


def ceaf(
    cost: np.ndarray, effect: np.ndarray, wtp: Sequence[float]
) -> tuple[np.ndarray, np.ndarray]:
    """The frontier: for each wtp, the strategy with the highest expected net benefit
    (its index) and the share of samples in which it is the best.
    """
    c, e = np.asarray(cost, float), np.asarray(effect, float)
    shares = ceac(c, e, wtp).to_numpy()
    chosen = np.array([int(np.argmax(net_benefit(c, e, lam).mean(axis=0))) for lam in wtp])
    return chosen, shares[np.arange(len(wtp)), chosen]


# ----------------------------------------------------------- value of information
def evpi(nb: np.ndarray) -> float:
    """Expected value of perfect information per person: E[max_k NB] - max_k E[NB].

    ``nb`` is (samples, strategies) of net benefit per person.
    """
    nb = np.asarray(nb, float)
    return float(np.mean(nb.max(axis=1)) - nb.mean(axis=0).max())


def _gcv_fit(gam, y: np.ndarray, smoother):
    """The GAM fit whose penalty weight minimises generalized cross-validation.

    None when statsmodels refuses every weight (it raises on a fit it finds perfect).

    A grid of weights, 0 and 10^-4 ... 10^8 times the variance of ``y`` (statsmodels'
    own ``select_penweight`` fails in 0.15: it reads an attribute the model lacks).
    """
    import warnings

    from statsmodels.tools.sm_exceptions import PerfectSeparationError

    scale = float(np.var(y)) or 1.0
    best = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # near-singular bases at the weakest penalties
        for w in (0.0, *(scale * 10.0**k for k in range(-4, 9))):
            try:
                fit = gam(y, exog=np.ones((len(y), 1)), smoother=smoother, alpha=w).fit()
            except (PerfectSeparationError, np.linalg.LinAlgError):
                continue  # statsmodels refuses a fit it finds perfect, or singular
            gcv = float(fit.gcv)
            if math.isfinite(gcv) and (best is None or gcv < best[0]):
                best = (gcv, fit)
    return None if best is None else best[1]


@dataclass(frozen=True)
class Evppi:
    """EVPPI per person with the standard error of its metamodel estimate."""

    value: float
    se: float


def _gp_fit(x: np.ndarray, y: np.ndarray, seed: int, fit_rows: int = 300):
    """E(y | x) at the rows of ``x`` by Gaussian-process regression, and its covariance.

    As in Strong, Oakley and Brennan (*Med Decis Making* 2014;34:311-326): a squared
    exponential covariance with a length scale per input (inputs standardised) plus
    noise, hyperparameters by maximum likelihood (scikit-learn), estimated on at most
    ``fit_rows`` rows as they suggest and then used on all. Length scales are held at
    half an input's SD or more: a model's expected output does not wiggle faster than
    that in a parameter, and shorter scales fit the Monte Carlo noise (with few samples
    and several inputs, the process would otherwise pass through every point). The
    covariance is of the fitted function (the noise left out).
    """
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel

    n, p = x.shape
    xs = (x - x.mean(axis=0)) / x.std(axis=0)
    rows = np.random.default_rng(seed).choice(n, min(n, fit_rows), replace=False)
    kernel = ConstantKernel(1.0, (1e-4, 1e4)) * RBF(np.ones(p), (0.5, 1e3)) + WhiteKernel(
        0.1, (1e-8, 1e1)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # a scale at its bound is fine
        gp = GaussianProcessRegressor(
            kernel, normalize_y=True, n_restarts_optimizer=2, random_state=seed
        ).fit(xs[rows], y[rows])
    latent, noise = gp.kernel_.k1, gp.kernel_.k2.noise_level
    full = GaussianProcessRegressor(latent, alpha=noise, normalize_y=True, optimizer=None)
    mean, cov = full.fit(xs, y).predict(xs, return_cov=True)
    return mean, cov


def evppi(
    nb: np.ndarray,
    params: np.ndarray,
    df: int = 10,
    draws: int = 500,
    seed: int = 0,
    method: str = "auto",
) -> Evppi:
    """Expected value of partial perfect information of ``params`` (samples, p) per person.

    Each strategy's net benefit, relative to the first strategy's, is regressed on the
    parameters; the fitted values estimate E(NB_k | phi) (Strong, Oakley and Brennan,
    *Med Decis Making* 2014;34:311-326). ``method``:

    - ``gam``: an additive cubic B-spline GAM (statsmodels; ``df`` basis functions per
      parameter, penalty weight by generalized cross-validation). For one parameter, or
      a group whose effects add up: where they interact it understates the EVPPI.
    - ``gp``: Gaussian-process regression (:func:`_gp_fit`), which takes interactions
      between the group's parameters in.
    - ``auto`` (default): the GAM for one parameter, the Gaussian process for a group.

    The estimate is held between 0 and the EVPI (a metamodel fitted to few samples can
    stray past them). The standard error comes from ``draws`` draws of the fitted
    function from its approximate posterior (the GAM's coefficients, or the process's values, as a
    multivariate normal), from a generator seeded with ``seed``.
    """
    nb = np.asarray(nb, float)
    x = np.asarray(params, float)
    if x.ndim == 1:
        x = x[:, None]
    s, k = nb.shape
    inc = nb[:, 1:] - nb[:, [0]]  # net benefit relative to the first strategy
    fitted = np.zeros((s, k))
    sims = np.zeros((draws, s, k))
    rng = np.random.default_rng(seed)
    varying = np.ptp(x, axis=0) > 0
    xs = x[:, varying]
    if method == "auto":
        method = "gp" if xs.shape[1] > 1 else "gam"
    if method not in ("gam", "gp"):
        raise ValueError(f"method must be auto, gam or gp, not {method!r}")
    for j in range(k - 1):
        y = inc[:, j]
        if not varying.any() or np.ptp(y) == 0:
            fitted[:, j + 1] = y.mean()
            sims[:, :, j + 1] = y.mean()
            continue
        if method == "gp":
            mean, cov = _gp_fit(xs, y, seed)
            fitted[:, j + 1] = mean
            sims[:, :, j + 1] = _normal_draws(mean, cov, draws, rng)
            continue
        fit = _gam_fit(xs, y, df)
        if fit is None:  # the parameters determine y exactly: E(y | phi) is y
            fitted[:, j + 1] = y
            sims[:, :, j + 1] = y
            continue
        exog = fit.model.exog
        fitted[:, j + 1] = exog @ fit.params
        beta = _normal_draws(fit.params, fit.cov_params(), draws, rng)
        sims[:, :, j + 1] = beta @ exog.T
    value = float(np.mean(fitted.max(axis=1)) - fitted.mean(axis=0).max())
    per_draw = sims.max(axis=2).mean(axis=1) - sims.mean(axis=1).max(axis=1)
    # an estimate's error can carry it past the bounds 0 <= EVPPI <= EVPI: held to them
    return Evppi(min(max(value, 0.0), evpi(nb)), float(np.std(per_draw, ddof=1)))


def _normal_draws(mean, cov, draws: int, rng: np.random.Generator) -> np.ndarray:
    """``draws`` rows from a multivariate normal whose covariance is positive
    semi-definite up to rounding (its eigenvalues below 0 taken as 0)."""
    cov = np.asarray(cov, float)
    w, v = np.linalg.eigh((cov + cov.T) / 2)
    z = rng.standard_normal((draws, len(w)))
    return np.asarray(mean, float) + (z * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def _gam_fit(x: np.ndarray, y: np.ndarray, df: int):
    """The additive GAM of ``y`` on the columns of ``x`` (None if y is fitted exactly)."""
    from statsmodels.gam.api import BSplines, GLMGam

    df = min(df, max(4, len(y) // 4))  # no more basis functions than a few samples each
    smoother = BSplines(x, df=[df] * x.shape[1], degree=[3] * x.shape[1])
    return _gcv_fit(GLMGam, y, smoother)
