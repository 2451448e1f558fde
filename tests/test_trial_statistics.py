"""The trial statistics are honest: size, coverage, recovery of the input, frailty drift.

Statistical tests with fixed seeds. Tolerances follow from the sampling error:
with R trials, a rejection rate of 5% has SE sqrt(0.05 * 0.95 / R) = 0.49 points at
R = 2,000, so the issue's 1.5 points is about 3 SE; coverage likewise.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import TRIAL, doc

from sim import api
from sim.analysis.survival import cox_hazard_ratio
from sim.analysis.trial import trial_summary
from sim.config import scenario_from_dict
from sim.events import READMISSION
from sim.model.engine import simulate_replication

pytestmark = [pytest.mark.statistical, pytest.mark.slow]

CORE_SIZE = {
    "feed": {
        "kind": "trial",
        "n_patients": 441,
        "recruitment_days": 478,
        "allocation": {"control": 220, "peer": 221},
        "follow_up_days": 365,
    },
    "outcomes": {"primary_horizon_days": 365},
    "readmission.baseline": {"dist": "weibull", "shape": 0.57, "scale_days": 1307},
    "competing": {"death_per_year": 0.01, "loss_to_follow_up_per_year": 0.016},
}


def test_null_effect_has_nominal_size_and_coverage() -> None:
    s = scenario_from_dict(
        doc(TRIAL, seed=777, **CORE_SIZE, **{"arms.1.effect": {"mechanism": "none"}})
    )
    result = api.run(s, replications=2000, jobs=2)
    summary = trial_summary(result.trial, s)
    row = summary[(summary["arm"] == "peer") & (summary["horizon_days"] == 365)].set_index(
        "statistic"
    )
    for test in ("or", "hr"):
        assert abs(row.loc[f"power_{test}", "mean"] - 0.05) <= 0.015, row.loc[f"power_{test}"]
        assert abs(row.loc[f"coverage_{test}", "mean"] - 0.95) <= 0.015, row.loc[f"coverage_{test}"]


def _large_trial(frailty: float, ratio: float, seed: int):
    """20,000 per arm, exponential baseline, ITT ratio for the whole follow-up."""
    d = doc(
        TRIAL,
        seed=seed,
        **{
            "feed": {
                "kind": "trial",
                "n_patients": 40_000,
                "recruitment_days": 4000,
                "allocation": {"control": 1, "peer": 1},
                "follow_up_days": 365,
            },
            "outcomes": {"primary_horizon_days": 365},
            "readmission.baseline": {"dist": "exponential", "rate_per_day": 0.003},
            "competing": {},
            "population.frailty_variance": frailty,
            "acute_care.ward.capacity": None,
            "arms.1": {
                "name": "peer",
                "peer_support": {"n_sessions": 0},
                "effect": {"mechanism": "itt", "hazard_ratio": ratio, "window_days": 400},
            },
        },
    )
    s = scenario_from_dict(d)
    names, events = simulate_replication(s, 0)
    n = 40_000
    entry, first, arm = np.zeros(n), np.full(n, np.inf), np.zeros(n, bool)
    for a, pid, ep, t, ev, _ in events:
        if ev == "entry":
            entry[pid], arm[pid] = t, names[a] == "peer"
        elif ev == READMISSION and ep == 0:
            first[pid] = t
    first -= entry
    return first, arm


def test_cox_recovers_the_input_ratio_without_frailty() -> None:
    first, arm = _large_trial(0.0, 0.7, seed=31)
    event = first <= 365
    est = cox_hazard_ratio(np.minimum(first, 365), event, arm)
    assert abs(math.log(est.ratio) - math.log(0.7)) <= 2 * est.log_se, est


def test_frailty_drifts_the_population_ratio_toward_one() -> None:
    # mean-1 gamma frailty, variance theta: the population hazard ratio at time t is
    # c (1 + theta H0(t)) / (1 + theta c H0(t)), which rises from c toward 1 as the
    # frail are readmitted first. A trial measures that, not the input c.
    theta, c, rate = 2.0, 0.5, 0.003
    first, arm = _large_trial(theta, c, seed=32)

    def window_hr(t0: float, t1: float):
        at_risk = first > t0  # still readmission-free at t0: a Cox fit from t0
        t = np.minimum(first[at_risk], t1) - t0
        return cox_hazard_ratio(t, first[at_risk] <= t1, arm[at_risk])

    early, late = window_hr(0, 60), window_hr(60, 365)
    whole = window_hr(0, 365)

    def population_hr(t: float) -> float:
        h = rate * t
        return c * (1 + theta * h) / (1 + theta * c * h)

    # early: close to the input ratio (population ratio 0.50 at day 0, 0.58 at day 60)
    assert (
        population_hr(0) - 3 * early.ratio * early.log_se
        <= early.ratio
        <= population_hr(60) + 3 * early.ratio * early.log_se
    )
    # late: between the population ratios at its ends (0.58 at day 60, 0.76 at day 365)
    assert (
        population_hr(60) - 3 * late.ratio * late.log_se
        <= late.ratio
        <= population_hr(365) + 3 * late.ratio * late.log_se
    )
    # the drift is far beyond sampling error, and the whole-year ratio excludes the input
    assert math.log(late.ratio) - math.log(early.ratio) > 5 * math.hypot(late.log_se, early.log_se)
    assert whole.ci_low > c
