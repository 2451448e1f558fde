"""QALYs and discounted costs over the measured period, against closed forms."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import ECONOMICS, TRIAL, doc

from sim import api
from sim.analysis.decision import discounted_stream
from sim.config import scenario_from_dict

COSTS = {"peer_worker_hour": 40.0}


def scenario(rate: float, **changes):
    econ = {**ECONOMICS, "discount_rate_costs": rate, "discount_rate_qalys": rate}
    return scenario_from_dict(doc(TRIAL, economics=econ, costs=COSTS, **changes))


def metric(result, arm: str, name: str) -> float:
    m = result.metrics
    return float(m[(m["arm"] == arm) & (m["metric"] == name)]["value"].iloc[0])


def test_without_readmissions_qalys_are_the_discounted_person_time() -> None:
    # no readmission, death or loss: patient i is followed from entry e_i for 365 days at
    # utility 0.7, discounted to the trial's start: 0.7 sum_i D(e_i, e_i + 365)
    s = scenario(
        0.035,
        **{
            "readmission.baseline": {"dist": "exponential", "rate_per_day": 0.0},
            "competing": {},
        },
    )
    r = api.run(s, replications=1, jobs=1)
    for arm in ("control", "peer"):
        entry = r.patients[r.patients["arm"] == arm]["entry_day"].to_numpy() / 365.25
        want = float(np.sum(discounted_stream(0.7, entry, entry + 365 / 365.25, 0.035)))
        assert metric(r, arm, "qalys_discounted") == pytest.approx(want, rel=1e-12)


def test_undiscounted_qalys_and_costs_add_up_the_time_in_each_state() -> None:
    s = scenario(0.0)
    r = api.run(s, replications=1, jobs=1)
    years = s.end_day / 365.25
    for arm in ("control", "peer"):
        p = r.patients[r.patients["arm"] == arm]
        person_years = p["follow_up_days"].sum() / 365.25
        ward = (
            (metric(r, arm, "ward_bed_days_per_year") + metric(r, arm, "out_of_area_days_per_year"))
            * years
            / 365.25
        )
        crt = metric(r, arm, "crt_days_per_year") * years / 365.25
        want = 0.7 * person_years + (0.4 - 0.7) * ward + (0.55 - 0.7) * crt
        assert metric(r, arm, "qalys_discounted") == pytest.approx(want, rel=1e-9)
        total = metric(r, arm, "cost_total_per_year") * years
        assert metric(r, arm, "cost_discounted") == pytest.approx(total, rel=1e-9)


def test_discounting_lowers_both_and_costs_need_unit_costs() -> None:
    plain, discounted = (api.run(scenario(rate), replications=1, jobs=1) for rate in (0.0, 0.035))
    for name in ("qalys_discounted", "cost_discounted"):
        assert metric(discounted, "peer", name) < metric(plain, "peer", name)
    no_costs = scenario_from_dict(doc(TRIAL, economics=ECONOMICS))
    m = api.run(no_costs, replications=1, jobs=1).metrics
    assert "qalys_discounted" in set(m["metric"]) and "cost_discounted" not in set(m["metric"])
