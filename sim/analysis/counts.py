"""Count and per-person endpoints of a two-arm trial: rate ratios, differences, tests.

Two implementations of the negative binomial rate ratio:

* the reference, statsmodels' ``NegativeBinomial`` (NB2, log link, log exposure as
  offset, maximum likelihood);
* a fast path for bulk use (thousands of simulated trials), exact for the case it
  covers, one binary covariate: each arm's log rate is then the root of its own score
  equation given the dispersion, so the likelihood is maximised over the dispersion
  alone (a bounded one-dimensional search), on the distinct (count, exposure) pairs
  weighted by how often they occur. The standard error comes from the observed
  information of all three parameters. tests/test_counts.py shows it agrees with
  statsmodels.

The Poisson rate ratio with an offset and one binary covariate has a closed form (the
ratio of the arms' events per unit of exposure; SE sqrt(1/Y1 + 1/Y0)), checked
against statsmodels' Poisson GLM.

Tests of a difference (``t_test``, ``welch_t``, ``mann_whitney``) are scipy's. Every
test takes ``alternative``: ``two-sided``, ``less`` (the compared arm lower than the
reference) or ``greater``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sim.analysis.survival import Estimate

__all__ = [
    "Difference",
    "negative_binomial",
    "negative_binomial_statsmodels",
    "poisson",
    "poisson_statsmodels",
    "wald_p",
    "compare_means",
    "Ratio",
    "ratio_of_means",
    "mean_cumulative",
]

_LOG_ALPHA = (-12.0, 5.0)  # dispersion searched in [6e-6, 148]


def wald_p(z: float, alternative: str) -> float:
    """P-value of a Wald statistic ``z`` (compared arm against reference)."""
    if not math.isfinite(z):
        return math.nan
    if alternative == "less":
        return 0.5 * math.erfc(-z / math.sqrt(2.0))  # P(Z <= z)
    if alternative == "greater":
        return 0.5 * math.erfc(z / math.sqrt(2.0))
    return math.erfc(abs(z) / math.sqrt(2.0))


# --------------------------------------------------------------- negative binomial
def _compress(y: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (count, exposure) pairs and how often each occurs."""
    pairs, w = np.unique(np.stack([y, t]), axis=1, return_counts=True)
    return pairs[0], pairs[1], w.astype(float)


def _log_rate(y, t, w, alpha: float, eta: float) -> float:
    """Root in eta of sum w (y - t e^eta) / (1 + alpha t e^eta) (Newton, from eta)."""
    for _ in range(50):
        mu = t * math.exp(eta)
        d = 1.0 + alpha * mu
        f = float(np.sum(w * (y - mu) / d))
        df = -float(np.sum(w * mu * (1.0 + alpha * y) / (d * d)))
        step = f / df
        eta -= step
        if abs(step) < 1e-12:
            break
    return eta


def _nb_loglik(y, t, w, alpha: float, eta: float) -> float:
    from scipy.special import gammaln

    r = 1.0 / alpha
    mu = t * math.exp(eta)
    return float(
        np.sum(
            w
            * (
                gammaln(y + r)
                - gammaln(r)
                - gammaln(y + 1.0)
                + y * np.log(alpha * mu)
                - (y + r) * np.log1p(alpha * mu)
            )
        )
    )


def negative_binomial(
    y: np.ndarray, exposure: np.ndarray, x: np.ndarray, alternative: str = "two-sided"
) -> tuple[Estimate, float]:
    """Rate ratio of ``y`` for ``x`` = 1 vs 0 by NB2 regression with log ``exposure`` offset.

    Returns the estimate (ratio, 95% CI, Wald p for ``alternative``, SE of the log
    ratio) and the dispersion alpha (variance = mu + alpha mu^2). NaN where the MLE
    does not exist (an arm with no events, or no patients).
    """
    from scipy import optimize
    from scipy.special import polygamma, psi

    y, t, x = np.asarray(y, float), np.asarray(exposure, float), np.asarray(x, bool)
    keep = t > 0
    y, t, x = y[keep], t[keep], x[keep]
    groups = [_compress(y[~x], t[~x]), _compress(y[x], t[x])]
    if any(g[0].size == 0 or np.sum(g[0] * g[2]) == 0 for g in groups):
        return Estimate.from_log(math.nan, math.nan), math.nan
    start = [math.log(np.sum(g[0] * g[2]) / np.sum(g[1] * g[2])) for g in groups]

    def profile(log_alpha: float) -> float:
        a = math.exp(log_alpha)
        return -sum(
            _nb_loglik(*g, a, _log_rate(*g, a, s)) for g, s in zip(groups, start, strict=True)
        )

    best = optimize.minimize_scalar(  # located roughly, then polished (_polish)
        profile, bounds=_LOG_ALPHA, method="bounded", options={"xatol": 1e-5}
    )
    alpha = math.exp(_polish(groups, start, best.x))
    etas = [_log_rate(*g, alpha, s) for g, s in zip(groups, start, strict=False)]
    # observed information of (eta0, eta1, alpha)
    info = np.zeros((3, 3))
    r = 1.0 / alpha
    for k, ((yy, tt, ww), eta) in enumerate(zip(groups, etas, strict=False)):
        mu = tt * math.exp(eta)
        d = 1.0 + alpha * mu
        info[k, k] = np.sum(ww * mu * (1.0 + alpha * yy) / d**2)
        info[k, 2] = info[2, k] = np.sum(ww * mu * (yy - mu) / d**2)
        a_term = psi(yy + r) - psi(r) - np.log(d)
        da = (polygamma(1, yy + r) - polygamma(1, r)) * (-(r**2)) - mu / d
        h_aa = (
            2 * a_term / alpha**3
            - da / alpha**2
            - (yy - mu) * (1 + 2 * alpha * mu) / (alpha**2 * d**2)
        )
        info[2, 2] -= np.sum(ww * h_aa)
    try:
        cov = np.linalg.inv(info)
    except np.linalg.LinAlgError:
        return Estimate.from_log(math.nan, math.nan), alpha
    var = cov[0, 0] + cov[1, 1] - 2 * cov[0, 1]
    beta = etas[1] - etas[0]
    se = math.sqrt(var) if var > 0 else math.nan
    return _estimate(beta, se, alternative), alpha


def _alpha_score(groups, start, log_alpha: float) -> float:
    """d/d(alpha) of the log-likelihood profiled over each arm's log rate (by the
    envelope theorem, the partial derivative at the arms' maximising log rates)."""
    from scipy.special import psi

    alpha = math.exp(log_alpha)
    r = 1.0 / alpha
    total = 0.0
    for (y, t, w), s in zip(groups, start, strict=True):
        mu = t * math.exp(_log_rate(y, t, w, alpha, s))
        d = 1.0 + alpha * mu
        a_term = psi(y + r) - psi(r) - np.log(d)
        total += float(np.sum(w * (-a_term / alpha**2 + (y - mu) / (alpha * d))))
    return total


def _polish(groups, start, log_alpha: float) -> float:
    """The maximising log dispersion to full precision, from the bounded search's.

    A minimum is located only to about the square root of the machine precision (the
    likelihood is flat there), so the search's answer moved in the eighth digit with
    the last bits of NumPy's vectorised ``log`` and ``exp``, which differ between
    processors. The root of the score is located to the last bits: found by Brent's
    method in a bracket around the search's answer. At a bound, the bound itself.
    """
    from scipy import optimize

    score = lambda x: _alpha_score(groups, start, x)  # noqa: E731 - a one-line closure
    lo_bound, hi_bound = _LOG_ALPHA
    lo = _bracket_edge(score, log_alpha, lo_bound, -1.0)
    if lo is None:  # the likelihood falls all the way down to the lower bound
        return lo_bound
    hi = _bracket_edge(score, log_alpha, hi_bound, 1.0)
    if hi is None:  # it rises all the way up to the upper bound
        return hi_bound
    return optimize.brentq(score, lo, hi, xtol=1e-14, rtol=4 * np.finfo(float).eps)


def _bracket_edge(score, x0: float, bound: float, toward: float) -> float | None:
    """From ``x0`` toward ``bound`` (``toward``: +1 up, -1 down), 1e-5 away, then ten
    times further each time: the first point where the likelihood rises back toward
    ``x0``, or None if the bound comes first."""
    step = 1e-5
    while True:
        x = min(x0 + step, bound) if toward > 0 else max(x0 - step, bound)
        if toward * score(x) < 0:
            return x
        if x == bound:
            return None
        step *= 10


def _estimate(beta: float, se: float, alternative: str) -> Estimate:
    e = Estimate.from_log(beta, se)
    if alternative == "two-sided" or not math.isfinite(e.ratio):
        return e
    return Estimate(e.ratio, e.ci_low, e.ci_high, wald_p(beta / se, alternative), e.log_se)


def negative_binomial_statsmodels(
    y: np.ndarray, exposure: np.ndarray, x: np.ndarray, alternative: str = "two-sided"
) -> tuple[Estimate, float]:
    """The same by statsmodels ``NegativeBinomial`` (NB2) with an intercept."""
    import statsmodels.api as sm

    y, t, x = np.asarray(y, float), np.asarray(exposure, float), np.asarray(x, bool)
    X = sm.add_constant(x.astype(float))
    model = sm.NegativeBinomial(y, X, exposure=t, loglike_method="nb2")
    rough = model.fit(disp=0, maxiter=500)  # BFGS: robust from statsmodels' own start
    fit = model.fit(start_params=rough.params, method="newton", disp=0, maxiter=100)
    return _estimate(float(fit.params[1]), float(fit.bse[1]), alternative), float(fit.params[2])


def poisson(
    y: np.ndarray, exposure: np.ndarray, x: np.ndarray, alternative: str = "two-sided"
) -> Estimate:
    """Rate ratio by Poisson regression with log ``exposure`` offset (closed form)."""
    y, t, x = np.asarray(y, float), np.asarray(exposure, float), np.asarray(x, bool)
    y1, y0 = float(y[x].sum()), float(y[~x].sum())
    t1, t0 = float(t[x].sum()), float(t[~x].sum())
    if min(y1, y0) == 0 or min(t1, t0) == 0:
        return Estimate.from_log(math.nan, math.nan)
    return _estimate(math.log((y1 / t1) / (y0 / t0)), math.sqrt(1 / y1 + 1 / y0), alternative)


def poisson_statsmodels(
    y: np.ndarray, exposure: np.ndarray, x: np.ndarray, alternative: str = "two-sided"
) -> Estimate:
    """The same by statsmodels' Poisson GLM."""
    import statsmodels.api as sm

    y, t, x = np.asarray(y, float), np.asarray(exposure, float), np.asarray(x, bool)
    fit = sm.GLM(
        y, sm.add_constant(x.astype(float)), family=sm.families.Poisson(), offset=np.log(t)
    ).fit()
    return _estimate(float(fit.params[1]), float(fit.bse[1]), alternative)


# ------------------------------------------------------------------ differences
@dataclass(frozen=True)
class Difference:
    """Difference in means (compared arm minus reference) with its 95% CI, and a p-value."""

    value: float
    ci_low: float
    ci_high: float
    p_value: float


def compare_means(
    a: np.ndarray, b: np.ndarray, test: str, alternative: str = "two-sided"
) -> Difference:
    """Compare per-person values ``a`` (compared arm) with ``b`` (reference).

    The difference and its 95% CI come from Student's t-test (``t_test``) or Welch's
    (``welch_t``, ``mann_whitney``); the p-value from the test named, for
    ``alternative``.
    """
    from scipy import stats

    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) < 2 or len(b) < 2:
        return Difference(math.nan, math.nan, math.nan, math.nan)
    diff = float(a.mean() - b.mean())
    if np.var(a) == 0 and np.var(b) == 0:  # no spread: the t statistic is undefined
        return Difference(diff, math.nan, math.nan, math.nan)
    res = stats.ttest_ind(a, b, equal_var=test == "t_test")
    ci = res.confidence_interval(0.95)
    if test == "mann_whitney":
        p = float(stats.mannwhitneyu(a, b, alternative=alternative).pvalue)
    elif alternative == "less":
        p = float(stats.t.cdf(res.statistic, res.df))
    elif alternative == "greater":
        p = float(stats.t.sf(res.statistic, res.df))
    else:
        p = float(res.pvalue)
    return Difference(diff, float(ci.low), float(ci.high), p)


@dataclass(frozen=True)
class Ratio:
    """Ratio of means (compared arm over reference) with its 95% CI."""

    value: float
    ci_low: float
    ci_high: float


def ratio_of_means(a: np.ndarray, b: np.ndarray) -> Ratio:
    """The ratio of the mean of ``a`` (compared arm) to the mean of ``b`` (reference).

    Its 95% CI on the log scale by the delta method, the two arms independent:
    ``SE(log R)^2 = s_a^2 / (n_a m_a^2) + s_b^2 / (n_b m_b^2)``, back-transformed (so it
    stays positive, as a ratio of bed-days must). NaN where either mean is 0 or an arm
    has fewer than two people.
    """
    from scipy.special import ndtri

    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) < 2 or len(b) < 2:
        return Ratio(math.nan, math.nan, math.nan)
    ma, mb = float(a.mean()), float(b.mean())
    if ma <= 0 or mb <= 0:
        return Ratio(math.nan, math.nan, math.nan)
    se = math.sqrt(a.var(ddof=1) / (len(a) * ma**2) + b.var(ddof=1) / (len(b) * mb**2))
    z = float(ndtri(0.975))
    r = ma / mb
    return Ratio(r, r * math.exp(-z * se), r * math.exp(z * se))


# --------------------------------------------------------- mean cumulative count
def mean_cumulative(event_times: np.ndarray, follow_up: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Mean cumulative number of events per person at each grid time, under censoring.

    The Nelson-Aalen estimator for recurrent events: the sum, over event times s up to
    t, of 1 / (patients still observed at s), a patient being observed until their
    ``follow_up`` ends (Nelson 1995; Cook and Lawless 2007, section 3.2).
    """
    times = np.sort(np.asarray(event_times, float))
    follow = np.sort(np.asarray(follow_up, float))
    at_risk = len(follow) - np.searchsorted(follow, times, side="left")
    steps = np.cumsum(1.0 / np.maximum(at_risk, 1))
    upto = np.searchsorted(times, grid, side="right")
    out = np.zeros(len(grid))
    out[upto > 0] = steps[upto[upto > 0] - 1]
    return out
