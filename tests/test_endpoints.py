"""Count and bed-day endpoints against closed forms, and the size of the one-sided tests."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import TRIAL, doc

from sim import api
from sim.analysis import counts as ct
from sim.config import scenario_from_dict

RATE = 2 / 365  # readmissions per day: 2 a year


def counting_trial(n: int, frailty: float, hazard_ratio: float, **changes):
    """Constant hazard, stays of no length, no deaths or losses: a patient's readmissions
    in the year are Poisson(2 z HR), z the gamma frailty (mean 1, variance ``frailty``)."""
    d = doc(
        TRIAL,
        **{
            "seed": 5,
            "feed": {
                "kind": "trial",
                "n_patients": n,
                "recruitment_days": 0,
                "allocation": {"control": 1, "peer": 1},
                "follow_up_days": 365,
            },
            "outcomes": {
                "primary_horizon_days": 365,
                "endpoints": {"readmission_count": {}, "bed_days": {}},
            },
            "readmission.baseline": {"dist": "exponential", "rate_per_day": RATE},
            "population.frailty_variance": frailty,
            "competing": {},
            "acute_care": {"p_ward": 1, "ward": {"length_of_stay": {"dist": "fixed", "days": 0}}},
            "arms.peer.peer_support": {"schedule": "fixed", "n_sessions": 1},
            # from the offer, for longer than the follow-up: the same ratio all year
            "arms.peer.effect": {
                "mechanism": "itt",
                "hazard_ratio": hazard_ratio,
                "window_days": 400,
            },
            **changes,
        },
    )
    return scenario_from_dict(d)


def test_the_rate_ratio_recovers_the_hazard_ratio_without_frailty() -> None:
    r = api.run(counting_trial(20_000, 0.0, 0.7), replications=1, jobs=1)
    row = r.trial[r.trial["arm"] == "peer"].iloc[0]
    se = (math.log(row.rr_ci_high) - math.log(row.rr_ci_low)) / (2 * 1.959964)
    assert abs(math.log(row.rate_ratio) - math.log(0.7)) < 3 * se, (row.rate_ratio, se)
    # the means are the Poisson means, within their own sampling error
    control = r.patients[r.patients["arm"] == "control"]["readmissions"]
    assert abs(control.mean() - 2.0) < 3 * math.sqrt(2.0 / len(control))


def test_with_gamma_frailty_counts_follow_the_negative_binomial_variance() -> None:
    theta = 0.5
    r = api.run(counting_trial(20_000, theta, 1.0), replications=1, jobs=1)
    y = r.patients[r.patients["arm"] == "control"]["readmissions"].to_numpy(float)
    n, m = len(y), 2.0
    var = m + theta * m**2  # negative binomial: mean + theta mean^2 = 4
    s2 = y.var(ddof=1)
    se_s2 = math.sqrt((np.mean((y - y.mean()) ** 4) - s2**2) / n)
    assert abs(s2 - var) < 3 * se_s2, (s2, var, se_s2)
    assert abs(y.mean() - m) < 3 * math.sqrt(var / n)
    # trial.csv reports the same SD, and the fitted dispersion is theta within its error
    row = r.trial[r.trial["arm"] == "control"].iloc[0]
    assert row.readmissions_sd == pytest.approx(math.sqrt(s2))
    peer = r.trial[r.trial["arm"] == "peer"].iloc[0]
    assert abs(peer.nb_dispersion - theta) < 0.05  # SE of alpha-hat at n = 20,000: ~0.01


@pytest.mark.slow
def test_one_sided_tests_hold_their_size_over_2000_null_trials() -> None:
    # no effect, overdispersed counts (frailty 1), 100 patients an arm, 180 days; the
    # one-sided tests at 5% reject 5% of null trials: within 1.5 points (3 SE at 2,000)
    s = counting_trial(
        200,
        1.0,
        1.0,
        **{
            "feed.follow_up_days": 180,
            "outcomes": {
                "primary_horizon_days": 180,
                "endpoints": {
                    "first_readmission": {"alternative": "less"},
                    "readmission_count": {"test": "negative_binomial", "alternative": "less"},
                    "bed_days": {"test": "welch_t", "alternative": "less"},
                },
            },
            "acute_care.ward.length_of_stay": {"dist": "exponential", "mean_days": 10},
        },
    )
    r = api.run(s, replications=2000)
    peer = r.trial[r.trial["arm"] == "peer"]
    sizes = {
        "negative binomial": (peer["count_p"] < 0.05).mean(),
        "bed-days Welch": (peer["bed_days_p"] < 0.05).mean(),
        "Cox": (peer["hr_p"] < 0.05).mean(),
    }
    p = r.patients
    for test in ("t_test", "welch_t", "mann_whitney"):
        pv = [
            ct.compare_means(
                g.loc[g["arm"] == "peer", "readmissions"],
                g.loc[g["arm"] == "control", "readmissions"],
                test,
                "less",
            ).p_value
            for _, g in p.groupby("replication")
        ]
        sizes[f"count {test}"] = float(np.mean(np.array(pv) < 0.05))
    print(sizes)
    for name, size in sizes.items():
        assert abs(size - 0.05) <= 0.015, (name, size)
    summary = r.trial_summary.set_index(["arm", "statistic"])
    assert summary.loc[("peer", "power_count"), "mean"] == pytest.approx(sizes["negative binomial"])
