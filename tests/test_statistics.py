"""Layer 5: statistical oracles. Fixed seeds; tolerances of 4 standard errors.

Each test simulates a large cohort with one feature switched on and compares the
simulated cumulative incidence with its closed form. The standard error of a
proportion p from n patients is sqrt(p (1 - p) / n); 4 SE makes a false failure
about 1 in 16,000 per comparison, while a wrong model (a wrong shape, a multiplier
applied at the wrong time) misses by tens of SE at these sizes.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import TRIAL, doc
from scipy import stats

from sim.config import scenario_from_dict
from sim.events import READMISSION, SESSION
from sim.model.engine import simulate_replication

pytestmark = pytest.mark.statistical

N = 20_000
Z = 4.0


def cohort(baseline: dict, arm: dict | None = None, **changes) -> dict:
    """A single-arm trial of N patients, no competing events, unlimited capacity."""
    arm = arm or {"name": "a"}
    return doc(
        TRIAL,
        **{
            "seed": 2024,
            "feed": {
                "kind": "trial",
                "n_patients": N,
                "recruitment_days": 20_000,
                "allocation": {arm["name"]: 1},
                "follow_up_days": 400,
            },
            "outcomes": {"primary_horizon_days": 365},
            "readmission.baseline": baseline,
            "competing": {},
            "acute_care.ward.capacity": None,
            "arms": [arm],
            **changes,
        },
    )


def first_readmission_days(document: dict) -> np.ndarray:
    s = scenario_from_dict(document)
    _, events = simulate_replication(s, 0)
    entry = {e[1]: e[3] for e in events if e[4] == "entry"}
    first = np.full(len(entry), np.inf)
    for e in events:
        if e[4] == READMISSION and e[2] == 0:
            first[e[1]] = e[3] - entry[e[1]]
    return first


def assert_incidence(first: np.ndarray, t: float, expected: float) -> None:
    observed = float(np.mean(first <= t))
    se = math.sqrt(expected * (1 - expected) / len(first))
    assert abs(observed - expected) <= Z * se, (
        f"F({t:g}) = {observed:.4f}, expected {expected:.4f} (SE {se:.4f})"
    )


def test_exponential_baseline() -> None:
    rate = 0.0015
    first = first_readmission_days(cohort({"dist": "exponential", "rate_per_day": rate}))
    for t in (30, 120, 365):
        assert_incidence(first, t, 1 - math.exp(-rate * t))


def test_weibull_baseline() -> None:
    k, scale = 0.57, 1307.0
    first = first_readmission_days(cohort({"dist": "weibull", "shape": k, "scale_days": scale}))
    for t in (7, 30, 90, 365):
        assert_incidence(first, t, 1 - math.exp(-((t / scale) ** k)))


def test_loglogistic_baseline() -> None:
    k, scale = 1.5, 600.0
    first = first_readmission_days(cohort({"dist": "loglogistic", "shape": k, "scale_days": scale}))
    for t in (30, 120, 365):
        assert_incidence(first, t, 1 - 1 / (1 + (t / scale) ** k))


def test_piecewise_multiplier_window() -> None:
    # ITT ratio 0.2 for the first 120 days after the offer, then 1:
    # H(t) = 0.2 H0(min(t, 120)) + (H0(t) - H0(120))+. A strong ratio makes the window's
    # end visible: a window 20% too long moves F(180) by about 7 SE.
    k, scale, ratio, window = 0.57, 1307.0, 0.2, 120.0
    arm = {
        "name": "a",
        "peer_support": {"n_sessions": 0},
        "effect": {"mechanism": "itt", "hazard_ratio": ratio, "window_days": window},
    }
    first = first_readmission_days(
        cohort({"dist": "weibull", "shape": k, "scale_days": scale}, arm)
    )

    def h0(t: float) -> float:
        return (t / scale) ** k

    for t in (60, 120, 150, 180, 365):
        cum = ratio * h0(min(t, window)) + max(h0(t) - h0(window), 0.0)
        assert_incidence(first, t, 1 - math.exp(-cum))


def test_gamma_frailty_population_survival() -> None:
    # mean-1 gamma frailty with variance theta: S(t) = (1 + theta H0(t)) ** (-1 / theta)
    theta, rate = 1.5, 0.003
    first = first_readmission_days(
        cohort(
            {"dist": "exponential", "rate_per_day": rate}, **{"population.frailty_variance": theta}
        )
    )
    for t in (30, 180, 365):
        assert_incidence(first, t, 1 - (1 + theta * rate * t) ** (-1 / theta))


def test_risk_groups_mix() -> None:
    rate = 0.002
    groups = [
        {"name": "low", "share": 0.7, "hazard_ratio": 1.0},
        {"name": "high", "share": 0.3, "hazard_ratio": 3.0},
    ]
    first = first_readmission_days(
        cohort({"dist": "exponential", "rate_per_day": rate}, **{"population.risk_groups": groups})
    )
    for t in (30, 365):
        s = 0.7 * math.exp(-rate * t) + 0.3 * math.exp(-3 * rate * t)
        assert_incidence(first, t, 1 - s)


def test_death_competes_with_readmission() -> None:
    # both constant: readmission first with probability r / (r + d), by t: r/(r+d)(1-e^-(r+d)t)
    r, d_year = 0.002, 0.5
    d = d_year / 365.25
    first = first_readmission_days(
        cohort(
            {"dist": "exponential", "rate_per_day": r}, **{"competing": {"death_per_year": d_year}}
        )
    )
    for t in (90, 365):
        assert_incidence(first, t, r / (r + d) * (1 - math.exp(-(r + d) * t)))


def test_attendance_is_beta_binomial() -> None:
    # no readmission, no disengagement: sessions attended ~ 0 w.p. p_never, else
    # BetaBinomial(10, alpha, beta)
    a, b, p_never, n = 2.0, 1.5, 0.2, 10
    arm = {"name": "a", "peer_support": {"n_sessions": n}}
    document = cohort(
        {"dist": "exponential", "rate_per_day": 0.0},
        arm,
        **{
            "attendance": {"engagement": {"alpha": a, "beta": b}, "p_never_engage": p_never},
        },
    )
    s = scenario_from_dict(document)
    _, events = simulate_replication(s, 0)
    attended = np.zeros(N, dtype=int)
    for e in events:
        if e[4] == SESSION and e[5] == "attended":
            attended[e[1]] += 1
    for j in range(n + 1):
        expected = (1 - p_never) * stats.betabinom.pmf(j, n, a, b) + (p_never if j == 0 else 0)
        observed = float(np.mean(attended == j))
        se = math.sqrt(expected * (1 - expected) / N)
        assert abs(observed - expected) <= Z * se, (j, observed, expected)
