"""Layer 2: fixed draws give an exact, asserted event sequence."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import TRIAL, doc

from sim.config import scenario_from_dict
from sim.model.engine import simulate_replication
from sim.rng import Draws


class FixedBank:
    """Gives every patient the same, chosen draws."""

    def __init__(self, scenario, replication, **draws):
        self.draws = draws

    def patient(self, pid: int) -> Draws:
        d = Draws()
        d.pid, d._bank = pid, self
        d.risk_group, d.frailty, d.engagement = 0, 1.0, self.draws.get("engagement", 1.0)
        d.death_e1 = d.loss_e1 = 1e9
        d.budget = [0.5, 0.5, 5.0]
        d.setting_u = [0.1, 0.9, 0.1]
        d.los_ward = [10.0, 10.0, 10.0]
        d.los_crt = [30.0, 30.0, 30.0]
        d._sessions = np.array([[0.5, 0.0, 0.99], [0.5] * 3, [0.5] * 3])  # (episode, session j)
        return d


def one_patient(**changes):
    d = doc(
        TRIAL,
        **{
            "feed": {
                "kind": "trial",
                "n_patients": 1,
                "recruitment_days": 0,
                "allocation": {"peer": 1},
                "follow_up_days": 400,
            },
            "readmission.baseline": {"dist": "exponential", "rate_per_day": 0.01},
            "competing": {},
            "acute_care.ward": {"capacity": None, "length_of_stay": {"dist": "fixed", "days": 10}},
            "acute_care.crt": {"length_of_stay": {"dist": "fixed", "days": 30}},
            "arms": [
                {
                    "name": "peer",
                    "peer_support": {"n_sessions": 3, "interval_days": 7},
                    "effect": {"mechanism": "itt", "hazard_ratio": 0.5, "window_days": 365},
                }
            ],
        },
    )
    d.update(changes)
    return scenario_from_dict(d)


def test_exact_event_sequence() -> None:
    s = one_patient()
    _, events = simulate_replication(s, 0, lambda sc, r, arm=None: FixedBank(sc, r, engagement=0.9))
    got = [(e[2], pytest.approx(e[3]), e[4], e[5]) for e in events]
    assert got == [
        (0, 0.0, "entry", "all"),
        (0, 0.0, "offer", ""),
        (0, 0.0, "support_start", ""),
        (0, 0.0, "session", "attended"),  # u 0.5 < engagement 0.9
        (0, 7.0, "session", "attended"),  # u 0.0
        (0, 14.0, "session", "missed"),  # u 0.99
        (0, 21.0, "support_end", "completed"),  # place held 3 intervals
        # budget 0.5 at rate 0.01 * ratio 0.5: day 100
        (0, 100.0, "readmission", "ward"),  # u 0.1 < p_ward 0.5
        (0, 100.0, "admission", "ward"),
        (0, 110.0, "discharge", ""),
        # new episode, no re-offer, ratio 1: 0.5 / 0.01 = 50 days later
        (1, 160.0, "readmission", "crt"),
        (1, 160.0, "admission", "crt"),
        (1, 190.0, "discharge", ""),
        # budget 5 would need 500 days: censored at the end of follow-up
        (2, 400.0, "end", ""),
    ]


def test_dose_response_exact() -> None:
    # dose-response, full effect (ratio 0.5) after 2 sessions. Attended at day 0 (ratio
    # 0.75 from then) and day 7 (ratio 0.5 from then); the missed third changes nothing.
    # Spent on [0, 7): 0.01 * 0.75 * 7 = 0.0525; remaining 0.4475 at 0.005/day = 89.5 days.
    d = one_patient().model_dump(mode="json")
    d["arms"][0]["effect"] = {
        "mechanism": "dose_response",
        "hazard_ratio_at_full_dose": 0.5,
        "full_dose_sessions": 2,
    }
    s = scenario_from_dict(d)
    _, events = simulate_replication(s, 0, lambda sc, r, arm=None: FixedBank(sc, r, engagement=0.9))
    readm = next(e for e in events if e[4] == "readmission")
    assert readm[3] == pytest.approx(7.0 + 0.4475 / 0.005)


def test_never_attending_gets_no_dose_response_benefit() -> None:
    d = one_patient().model_dump(mode="json")
    d["arms"][0]["effect"] = {"mechanism": "dose_response", "hazard_ratio_at_full_dose": 0.5}
    s = scenario_from_dict(d)
    _, events = simulate_replication(s, 0, lambda sc, r, arm=None: FixedBank(sc, r, engagement=0.0))
    readm = next(e for e in events if e[4] == "readmission")
    assert readm[3] == pytest.approx(50.0)


def _two_patients(capacity, overflow: str, workers=None):
    d = one_patient().model_dump(mode="json")
    d["feed"]["n_patients"] = 2
    d["acute_care"]["ward"].update(capacity=capacity, overflow=overflow)
    d["peer_workers"]["count"] = workers
    d["peer_workers"]["caseload_per_worker"] = 1
    d["peer_workers"]["weekly_session_hours"] = 1
    return scenario_from_dict(d)


def test_a_full_ward_queues_until_a_bed_is_released() -> None:
    # both patients (entering together) are readmitted at day 100 to the one bed: the
    # second waits until the first is discharged at 110, stays 10 days, leaves at 120
    s = _two_patients(1, "queue")
    _, events = simulate_replication(s, 0, lambda sc, r, arm=None: FixedBank(sc, r, engagement=0.9))
    second = [(e[3], e[4], e[5]) for e in events if e[1] == 1 and e[2] == 0 and e[3] > 50]
    assert second == [
        (pytest.approx(100.0), "readmission", "ward"),
        (pytest.approx(100.0), "place_wait", "ward"),
        (pytest.approx(110.0), "admission", "ward"),
        (pytest.approx(120.0), "discharge", ""),
    ]


def test_a_full_ward_sends_overflow_out_of_area() -> None:
    s = _two_patients(1, "out_of_area")
    _, events = simulate_replication(s, 0, lambda sc, r, arm=None: FixedBank(sc, r, engagement=0.9))
    placements = sorted(e[5] for e in events if e[4] == "admission" and e[2] == 0)
    assert placements == ["out_of_area", "ward"]


def test_one_peer_worker_place_makes_the_second_patient_wait() -> None:
    # one place: patient 0 holds it for 3 weekly sessions (21 days); patient 1 starts then
    s = _two_patients(None, "queue", workers=1)
    _, events = simulate_replication(s, 0, lambda sc, r, arm=None: FixedBank(sc, r, engagement=0.9))
    second = [(e[3], e[4]) for e in events if e[1] == 1 and e[4] in ("queue", "support_start")]
    assert second == [(0.0, "queue"), (pytest.approx(21.0), "support_start")]


def test_no_one_starts_peer_support_at_the_end_of_follow_up(monkeypatch) -> None:
    # A service run ending on day 100, one peer-worker place. Patient 0 (day 0) holds it
    # past the end (30 weekly sessions, no readmission); patient 1 arrives on day 99 and
    # waits. On day 100 patient 0's exit frees the place in the same instant as patient
    # 1's wait ends; SimPy grants the request then, but follow-up is over: no start.
    from sim.model import engine

    s = _two_patients(None, "queue", workers=1)
    d = s.model_dump(mode="json")
    d["feed"] = {"kind": "service", "discharges_per_week": 1, "warm_up_days": 0, "run_days": 100}
    d["outcomes"] = {"primary_horizon_days": 100}
    d["readmission"]["baseline"] = {"dist": "exponential", "rate_per_day": 0.001}
    d["arms"][0]["peer_support"]["n_sessions"] = 30
    s = scenario_from_dict(d)
    monkeypatch.setattr(engine, "entry_times", lambda sc, r: np.array([0.0, 99.0]))

    class Bank(FixedBank):
        def patient(self, pid):
            p = super().patient(pid)
            p.budget = [5.0, 5.0, 5.0]
            p._sessions = np.full((3, 30), 0.5)
            return p

    _, events = simulate_replication(s, 0, lambda sc, r, arm=None: Bank(sc, r, engagement=0.9))
    second = [(e[3], e[4]) for e in events if e[1] == 1]
    assert second == [
        (99.0, "entry"),
        (99.0, "offer"),
        (99.0, "queue"),
        (pytest.approx(100.0), "end"),
    ]
