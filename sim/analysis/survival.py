"""Survival and binary-outcome estimators for two-arm comparisons.

Two implementations of each estimator:

* the reference, from statsmodels (``Logit``, ``PHReg``, ``SurvfuncRight``);
* a fast path in NumPy for bulk use (thousands of simulated trials), exact for the
  case it covers: a binary covariate. Logistic regression on one binary covariate is
  the saturated 2x2 model, whose MLE is the sample odds ratio with the Woolf
  standard error; the Cox partial likelihood with one binary covariate and Breslow
  ties is solved by Newton's method on risk-set counts. tests/test_survival.py shows
  the fast path agrees with statsmodels to 1e-6.

Times are days; ``event`` is 1 for a readmission, 0 for censoring.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = [
    "Estimate",
    "odds_ratio",
    "odds_ratio_statsmodels",
    "cox_hazard_ratio",
    "cox_hazard_ratio_statsmodels",
    "kaplan_meier",
    "kaplan_meier_statsmodels",
    "rmst",
]

Z975 = 1.959963984540054


def _norm_p(z: float) -> float:
    """Two-sided normal p-value."""
    return math.erfc(abs(z) / math.sqrt(2.0))


@dataclass(frozen=True)
class Estimate:
    """A ratio with its 95% Wald CI and two-sided p-value (NaN where undefined)."""

    ratio: float
    ci_low: float
    ci_high: float
    p_value: float
    log_se: float

    @classmethod
    def from_log(cls, beta: float, se: float) -> Estimate:
        """Ratio exp(beta) with CI exp(beta -+ 1.96 se) and Wald p."""
        if not (math.isfinite(beta) and math.isfinite(se) and se > 0):
            return cls(math.nan, math.nan, math.nan, math.nan, math.nan)
        return cls(
            math.exp(beta),
            math.exp(beta - Z975 * se),
            math.exp(beta + Z975 * se),
            _norm_p(beta / se),
            se,
        )


# ------------------------------------------------------------------------- odds ratio
def odds_ratio(y: np.ndarray, x: np.ndarray) -> Estimate:
    """Odds ratio of ``y`` (0/1) for ``x`` = 1 vs 0 by logistic regression (closed form)."""
    y, x = np.asarray(y, bool), np.asarray(x, bool)
    a = float(np.sum(y & x))  # events, exposed
    b = float(np.sum(~y & x))
    c = float(np.sum(y & ~x))
    d = float(np.sum(~y & ~x))
    if min(a, b, c, d) == 0:
        return Estimate.from_log(math.nan, math.nan)  # separation: the MLE does not exist
    return Estimate.from_log(math.log(a * d / (b * c)), math.sqrt(1 / a + 1 / b + 1 / c + 1 / d))


def odds_ratio_statsmodels(y: np.ndarray, x: np.ndarray) -> Estimate:
    """The same by statsmodels ``Logit`` with an intercept."""
    import statsmodels.api as sm

    exog = sm.add_constant(np.asarray(x, float))
    fit = sm.Logit(np.asarray(y, float), exog).fit(disp=0, tol=1e-12, maxiter=100)
    return Estimate.from_log(float(fit.params[1]), float(fit.bse[1]))


# ------------------------------------------------------------------------ Cox, binary x
def cox_hazard_ratio(time: np.ndarray, event: np.ndarray, x: np.ndarray) -> Estimate:
    """Cox hazard ratio for binary ``x`` (Breslow ties), by Newton's method.

    With one binary covariate the partial likelihood depends only on, at each distinct
    event time, the events d0, d1 and the numbers at risk n0, n1 in each group:
    l(b) = sum(d1 b - d log(n0 + n1 e^b)).
    """
    time, event, x = np.asarray(time, float), np.asarray(event, bool), np.asarray(x, bool)
    order = np.argsort(time, kind="stable")
    t, e, g = time[order], event[order], x[order]
    # numbers at risk just before each time: those with time >= t
    n1_total, n0_total = int(g.sum()), int((~g).sum())
    uniq, first = np.unique(t, return_index=True)
    at_risk1 = n1_total - np.concatenate(([0], np.cumsum(g)))[first]
    at_risk0 = n0_total - np.concatenate(([0], np.cumsum(~g)))[first]
    idx = np.searchsorted(uniq, t)
    d1 = np.bincount(idx, weights=(e & g), minlength=len(uniq))
    d0 = np.bincount(idx, weights=(e & ~g), minlength=len(uniq))
    keep = (d0 + d1) > 0
    d1, d, n0, n1 = d1[keep], (d0 + d1)[keep], at_risk0[keep], at_risk1[keep]
    if d1.sum() == 0 or d1.sum() == d.sum() or len(d) == 0:
        return Estimate.from_log(math.nan, math.nan)
    beta = 0.0
    info = math.nan
    for _ in range(50):
        eb = math.exp(beta)
        denom = n0 + n1 * eb
        frac = n1 * eb / denom
        score = float(np.sum(d1 - d * frac))
        info = float(np.sum(d * frac * (1 - frac)))
        if info <= 0:
            return Estimate.from_log(math.nan, math.nan)
        step = score / info
        beta += step
        if abs(step) < 1e-12:
            break
    eb = math.exp(beta)
    frac = n1 * eb / (n0 + n1 * eb)
    info = float(np.sum(d * frac * (1 - frac)))
    return Estimate.from_log(beta, 1 / math.sqrt(info))


def cox_hazard_ratio_statsmodels(time: np.ndarray, event: np.ndarray, x: np.ndarray) -> Estimate:
    """The same by statsmodels ``PHReg`` (Breslow ties)."""
    from statsmodels.duration.hazard_regression import PHReg

    exog = np.asarray(x, float).reshape(-1, 1)
    fit = PHReg(
        np.asarray(time, float), exog, status=np.asarray(event, float), ties="breslow"
    ).fit()
    return Estimate.from_log(float(fit.params[0]), float(fit.bse[0]))


# ----------------------------------------------------------------------- Kaplan-Meier
def kaplan_meier(time: np.ndarray, event: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Product-limit estimate: distinct event times, S(t) just after each, Greenwood SE."""
    time, event = np.asarray(time, float), np.asarray(event, bool)
    uniq, inverse = np.unique(time, return_inverse=True)
    deaths = np.bincount(inverse, weights=event, minlength=len(uniq))
    leaving = np.bincount(inverse, minlength=len(uniq))
    at_risk = len(time) - np.concatenate(([0], np.cumsum(leaving)[:-1]))
    keep = deaths > 0
    t, d, n = uniq[keep], deaths[keep], at_risk[keep].astype(float)
    surv = np.cumprod(1 - d / n)
    with np.errstate(divide="ignore", invalid="ignore"):  # n == d at the last time: SE undefined
        green = np.cumsum(d / (n * (n - d)))
        se = surv * np.sqrt(green)
    return t, surv, se


def kaplan_meier_statsmodels(time: np.ndarray, event: np.ndarray):
    """The same by statsmodels ``SurvfuncRight`` (times, S, SE)."""
    from statsmodels.duration.survfunc import SurvfuncRight

    sf = SurvfuncRight(np.asarray(time, float), np.asarray(event, float))
    return sf.surv_times, sf.surv_prob, sf.surv_prob_se


def rmst(time: np.ndarray, event: np.ndarray, horizon: float) -> float:
    """Restricted mean time to event over [0, horizon]: the area under the KM curve."""
    t, s, _ = kaplan_meier(time, event)
    inside = t < horizon
    knots = np.concatenate(([0.0], t[inside], [horizon]))
    heights = np.concatenate(([1.0], s[inside]))
    return float(np.sum(np.diff(knots) * heights))
