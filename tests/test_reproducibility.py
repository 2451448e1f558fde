"""Layers 3 and 6: same seed, same tables; serial equals parallel; common random numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers import SERVICE, TRIAL, scenario

from sim import api
from sim.rng import BLOCK, PatientBank

OUTCOMES = [
    "risk_group",
    "entry_day",
    "first_readmission_day",
    "follow_up_days",
    "readmissions",
    "acute_days",
    "died",
    "lost",
    "ward_days",
    "out_of_area",
]


def test_same_seed_same_tables() -> None:
    s = scenario(TRIAL)
    a, b = api.run(s, replications=2, jobs=1), api.run(s, replications=2, jobs=1)
    pd.testing.assert_frame_equal(a.patients, b.patients)
    pd.testing.assert_frame_equal(a.metrics, b.metrics)


def test_other_seed_other_tables() -> None:
    a = api.run(scenario(TRIAL), replications=1, jobs=1)
    b = api.run(scenario(TRIAL, seed=12), replications=1, jobs=1)
    assert not a.patients["first_readmission_day"].equals(b.patients["first_readmission_day"])


@pytest.mark.slow
@pytest.mark.parametrize("base", [TRIAL, SERVICE], ids=["trial", "service"])
def test_serial_equals_parallel(base: dict) -> None:
    s = scenario(base)
    serial = api.run(s, replications=4, jobs=1, events=True)
    parallel = api.run(s, replications=4, jobs=2, events=True)
    pd.testing.assert_frame_equal(serial.patients, parallel.patients)
    pd.testing.assert_frame_equal(serial.metrics, parallel.metrics)
    pd.testing.assert_frame_equal(serial.summary, parallel.summary)
    pd.testing.assert_frame_equal(serial.events, parallel.events)


def test_replication_does_not_depend_on_which_others_run() -> None:
    s = scenario(TRIAL)
    both = api.run(s, replications=2, jobs=1).patients
    second = api.replicate(s, 1)["patients"]
    pd.testing.assert_frame_equal(
        both[both["replication"] == 1].reset_index(drop=True), second.reset_index(drop=True)
    )


def test_patient_draws_do_not_depend_on_arms_or_sessions() -> None:
    # the same patient id gets the same numbers whatever the arms offer
    few = PatientBank(scenario(TRIAL), 0)
    many = PatientBank(scenario(TRIAL, **{"arms.1.peer_support.n_sessions": 25}), 0)
    for pid in (0, 5, BLOCK + 3):
        a, b = few.patient(pid), many.patient(pid)
        assert (a.budget, a.frailty, a.engagement, a.los_ward) == (
            b.budget,
            b.frailty,
            b.engagement,
            b.los_ward,
        )
        for e in (0, 3, 12):
            assert a.session_uniforms(e) == b.session_uniforms(e)[:10]
    # episodes beyond the pre-drawn block come from the patient's own overflow stream
    p, q = few.patient(7), many.patient(7)
    p.extend_to(9)
    q.extend_to(9)
    assert p.budget == q.budget and len(p.budget) == 10


def test_zero_session_policy_reproduces_usual_care_patient_for_patient() -> None:
    # service: every policy sees the same patients; an offer of 0 sessions with a
    # dose-response effect changes nothing
    s = scenario(
        SERVICE,
        **{
            "peer_workers.count": None,
            "arms": [
                {"name": "usual"},
                {
                    "name": "zero",
                    "peer_support": {"n_sessions": 0},
                    "effect": {"mechanism": "dose_response", "hazard_ratio_at_full_dose": 0.3},
                },
            ],
        },
    )
    p = api.run(s, replications=2, jobs=1).patients
    usual = p[p["arm"] == "usual"].reset_index(drop=True)[OUTCOMES]
    zero = p[p["arm"] == "zero"].reset_index(drop=True)[OUTCOMES]
    assert len(usual) > 100
    pd.testing.assert_frame_equal(usual, zero)


def test_zero_session_arm_reproduces_control_in_a_trial() -> None:
    zero = scenario(
        TRIAL,
        **{
            "arms.1": {
                "name": "peer",
                "peer_support": {"n_sessions": 0},
                "effect": {"mechanism": "dose_response", "hazard_ratio_at_full_dose": 0.3},
            },
        },
    )
    control = scenario(TRIAL, **{"arms.1": {"name": "peer"}})
    a = api.run(zero, replications=1, jobs=1).patients[OUTCOMES]
    b = api.run(control, replications=1, jobs=1).patients[OUTCOMES]
    pd.testing.assert_frame_equal(a, b)


@pytest.mark.parametrize("mechanism", ["itt", "dose_response"])
def test_stronger_effect_never_brings_a_readmission_forward(mechanism: str) -> None:
    def effect(ratio: float) -> dict:
        if mechanism == "itt":
            return {
                "mechanism": "itt",
                "hazard_ratio": ratio,
                "window_days": 200,
                "half_life_days": 60,
            }
        return {"mechanism": "dose_response", "hazard_ratio_at_full_dose": ratio}

    def first_readmissions(ratio: float) -> np.ndarray:
        s = scenario(SERVICE, **{"peer_workers.count": None, "arms.1.effect": effect(ratio)})
        p = api.run(s, replications=2, jobs=1).patients
        p = p[p["arm"] == "peer"]
        return p["first_readmission_day"].fillna(np.inf).to_numpy()

    weak, strong = first_readmissions(0.8), first_readmissions(0.4)
    assert np.all(strong >= weak - 1e-9)
    assert np.sum(strong > weak) > 20, "the stronger effect does delay some readmissions"
