"""The fast estimators agree with statsmodels to 1e-6 (the issue's bar), on simulated data."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.analysis.survival import (
    cox_hazard_ratio,
    cox_hazard_ratio_statsmodels,
    kaplan_meier,
    kaplan_meier_statsmodels,
    odds_ratio,
    odds_ratio_statsmodels,
    rmst,
)


def data(seed: int, n: int = 400, ties: bool = False):
    rng = np.random.default_rng(seed)
    x = rng.random(n) < 0.5
    t = rng.weibull(0.6, n) * np.where(x, 1400.0, 1000.0)
    c = rng.uniform(100, 600, n)
    time = np.minimum(t, c)
    if ties:
        time = np.ceil(time / 7) * 7  # weekly records: many ties
    return time, t <= c, x


@pytest.mark.parametrize("seed", range(5))
def test_odds_ratio_agrees_with_logit(seed: int) -> None:
    time, event, x = data(seed)
    y = event & (time <= 365)
    fast, ref = odds_ratio(y, x), odds_ratio_statsmodels(y, x)
    for f, r in zip(
        (fast.ratio, fast.ci_low, fast.ci_high, fast.p_value),
        (ref.ratio, ref.ci_low, ref.ci_high, ref.p_value),
        strict=True,
    ):
        assert f == pytest.approx(r, rel=1e-6, abs=1e-9)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("ties", [False, True])
def test_cox_agrees_with_phreg(seed: int, ties: bool) -> None:
    time, event, x = data(seed, ties=ties)
    fast, ref = cox_hazard_ratio(time, event, x), cox_hazard_ratio_statsmodels(time, event, x)
    for f, r in zip(
        (fast.ratio, fast.ci_low, fast.ci_high, fast.p_value),
        (ref.ratio, ref.ci_low, ref.ci_high, ref.p_value),
        strict=True,
    ):
        assert f == pytest.approx(r, rel=1e-6, abs=1e-9)


@pytest.mark.parametrize("ties", [False, True])
def test_kaplan_meier_agrees_with_survfunc(ties: bool) -> None:
    time, event, _ = data(3, ties=ties)
    t, s, se = kaplan_meier(time, event)
    rt, rs, rse = kaplan_meier_statsmodels(time, event)
    np.testing.assert_allclose(t, rt, rtol=1e-12)
    np.testing.assert_allclose(s, rs, rtol=1e-9)
    np.testing.assert_allclose(se, rse, rtol=1e-6)


def test_rmst_of_exponential_without_censoring() -> None:
    # E[min(T, h)] = (1 - e^{-lh}) / l; SE of a mean of n such values ~ sd / sqrt(n)
    rng = np.random.default_rng(0)
    lam, h, n = 0.004, 365.0, 20000
    t = rng.exponential(1 / lam, n)
    expected = (1 - math.exp(-lam * h)) / lam
    se = np.minimum(t, h).std() / math.sqrt(n)
    assert abs(rmst(t, np.ones(n, bool), h) - expected) < 4 * se
    assert rmst(t, np.ones(n, bool), h) == pytest.approx(np.minimum(t, h).mean(), rel=1e-12)


def test_separation_gives_nan() -> None:
    y = np.array([1, 1, 0, 0], bool)
    assert math.isnan(odds_ratio(y, y).ratio)
