"""Count endpoints: the fast paths agree with statsmodels and scipy; the MCF by hand."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from sim.analysis import counts as ct


def trial_counts(seed: int, theta: float, ratio: float, n: int = 200):
    """Counts of a two-arm trial, 10% followed for less than the full 270 days."""
    rng = np.random.default_rng(seed)
    x = np.r_[np.zeros(n, bool), np.ones(n, bool)]
    t = np.where(rng.random(2 * n) < 0.1, rng.uniform(20, 270, 2 * n), 270.0)
    z = rng.gamma(1 / theta, theta, 2 * n) if theta > 0 else 1.0
    y = rng.poisson(z * t / 270 * 1.3 * np.where(x, ratio, 1.0))
    return y, t, x


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("alternative", ["two-sided", "less", "greater"])
def test_negative_binomial_fast_path_agrees_with_statsmodels(seed: int, alternative: str) -> None:
    y, t, x = trial_counts(seed, theta=[0.3, 1.0, 3.0][seed % 3], ratio=0.7)
    fast, a_fast = ct.negative_binomial(y, t, x, alternative)
    ref, a_ref = ct.negative_binomial_statsmodels(y, t, x, alternative)
    # both solve the same likelihood equations to full precision (measured: 1e-12 or
    # closer); the tolerance leaves room for statsmodels' own stopping rule
    assert fast.ratio == pytest.approx(ref.ratio, rel=1e-9)
    assert fast.log_se == pytest.approx(ref.log_se, rel=1e-9)
    assert (fast.ci_low, fast.ci_high) == pytest.approx((ref.ci_low, ref.ci_high), rel=1e-9)
    assert fast.p_value == pytest.approx(ref.p_value, rel=1e-9, abs=1e-12)
    assert a_fast == pytest.approx(a_ref, rel=1e-9)


@pytest.mark.parametrize("seed", range(3))
def test_negative_binomial_dispersion_does_not_depend_on_where_the_search_stopped(
    seed: int,
) -> None:
    """The rough search's answer moves with the last bits of NumPy's log and exp, which
    differ between processors; the polished root must not move with it."""
    y, t, x = trial_counts(seed, theta=[0.3, 1.0, 3.0][seed], ratio=0.7)
    groups = [ct._compress(y[~x], t[~x]), ct._compress(y[x], t[x])]
    start = [float(np.log(np.sum(g[0] * g[2]) / np.sum(g[1] * g[2]))) for g in groups]
    _, alpha = ct.negative_binomial(y, t, x)
    for miss in (-1e-3, -1e-7, 0.0, 1e-7, 1e-3):
        polished = ct._polish(groups, start, np.log(alpha) + miss)
        assert np.exp(polished) == pytest.approx(alpha, rel=1e-13)


def test_negative_binomial_dispersion_at_the_bound_is_the_bound() -> None:
    """Counts less spread than Poisson: the likelihood rises toward no dispersion, and
    the answer is the search's lower bound itself, not a point the search stopped near."""
    x = np.r_[np.zeros(100, bool), np.ones(100, bool)]
    y = np.r_[np.tile([1.0, 2.0], 50), np.tile([1.0, 1.0, 2.0, 1.0], 25)]
    _, alpha = ct.negative_binomial(y, np.full(200, 270.0), x)
    assert alpha == np.exp(ct._LOG_ALPHA[0])


def test_negative_binomial_without_events_in_an_arm_is_undefined() -> None:
    y, t, x = trial_counts(1, 1.0, 0.7)
    y[x] = 0
    est, _ = ct.negative_binomial(y, t, x)
    assert np.isnan(est.ratio) and np.isnan(est.p_value)


@pytest.mark.parametrize("alternative", ["two-sided", "less"])
def test_poisson_closed_form_agrees_with_statsmodels(alternative: str) -> None:
    y, t, x = trial_counts(3, 0.0, 0.8)
    fast, ref = ct.poisson(y, t, x, alternative), ct.poisson_statsmodels(y, t, x, alternative)
    assert (fast.ratio, fast.log_se, fast.p_value) == pytest.approx(
        (ref.ratio, ref.log_se, ref.p_value), rel=1e-6
    )


@pytest.mark.parametrize("test", ["t_test", "welch_t", "mann_whitney"])
@pytest.mark.parametrize("alternative", ["two-sided", "less", "greater"])
def test_mean_comparisons_are_scipys(test: str, alternative: str) -> None:
    y, _, x = trial_counts(4, 1.0, 0.7)
    a, b = y[x].astype(float), y[~x].astype(float)
    got = ct.compare_means(a, b, test, alternative)
    if test == "mann_whitney":
        want = stats.mannwhitneyu(a, b, alternative=alternative).pvalue
    else:
        want = stats.ttest_ind(a, b, equal_var=test == "t_test", alternative=alternative).pvalue
    assert got.p_value == pytest.approx(want, rel=1e-10)
    assert got.value == pytest.approx(a.mean() - b.mean())
    ci = stats.ttest_ind(a, b, equal_var=test == "t_test").confidence_interval()
    assert (got.ci_low, got.ci_high) == pytest.approx((ci.low, ci.high))


def test_mean_cumulative_by_hand() -> None:
    # three patients observed 10, 10 and 4 days; events at days 1, 2 (both while all three
    # are observed), 5 and 8 (only two observed): 1/3 + 1/3 + 1/2 + 1/2
    got = ct.mean_cumulative(
        np.array([2.0, 1.0, 8.0, 5.0]), np.array([10.0, 4.0, 10.0]), np.array([0, 1, 4, 9])
    )
    assert got == pytest.approx([0, 1 / 3, 2 / 3, 5 / 3])


def test_mean_cumulative_without_censoring_is_the_mean_count() -> None:
    y, _, _ = trial_counts(5, 1.0, 1.0)
    times = np.repeat(np.arange(len(y)) % 100 + 0.5, y)  # any times within the follow-up
    got = ct.mean_cumulative(times, np.full(len(y), 270.0), np.array([270.0]))
    assert got[0] == pytest.approx(y.mean())
