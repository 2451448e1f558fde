"""Layer 2: fixed draws give an exact, asserted event sequence."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import TRIAL, doc

from sim.config import scenario_from_dict
from sim.model.engine import simulate_replication
from sim.rng import Draws, PatientBank


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
        d._sessions = [0.5, 0.0, 0.99] + [0.5] * 6  # episode after episode, 3 sessions each
        d._stride = 3
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
            p._sessions, p._stride = [0.5] * 90, 30
            return p

    _, events = simulate_replication(s, 0, lambda sc, r, arm=None: Bank(sc, r, engagement=0.9))
    second = [(e[3], e[4]) for e in events if e[1] == 1]
    assert second == [
        (99.0, "entry"),
        (99.0, "offer"),
        (99.0, "queue"),
        (pytest.approx(100.0), "end"),
    ]


class ProgrammeBank(FixedBank):
    """FixedBank with 20 contact uniforms: contact 3 (day 21) is missed, the rest attended."""

    def patient(self, pid: int) -> Draws:
        d = super().patient(pid)
        u = [0.5] * 20
        u[3] = 0.99
        d._sessions, d._stride = u * 3, 20
        return d


def _fixed(pause: bool):
    d = one_patient().model_dump(mode="json")
    d["arms"][0]["peer_support"].update(
        schedule="fixed", n_sessions=20, interval_days=7, pause_in_hospital=pause
    )
    s = scenario_from_dict(d)
    _, events = simulate_replication(
        s, 0, lambda sc, r, arm=None: ProgrammeBank(sc, r, engagement=0.9)
    )
    return [(e[2], e[3], e[4], e[5]) for e in events]


@pytest.mark.parametrize("pause", [False, True])
def test_a_programme_fixed_in_time_runs_through_readmissions(pause: bool) -> None:
    got = _fixed(pause)
    contacts = [(ep, t, detail) for ep, t, ev, detail in got if ev == "session"]
    # weekly from day 0 for 20 weeks; day 105 falls in the ward stay (100-110)
    days = [7.0 * j for j in range(20) if not (pause and j == 15)]
    assert [c[1] for c in contacts] == pytest.approx(days)
    assert [c[2] for c in contacts].count("missed") == 1  # contact 3 only
    assert [c[0] for c in contacts if c[1] > 100] == [0] * (not pause) + [1] * 4
    rest = [(ep, pytest.approx(t), ev, detail) for ep, t, ev, detail in got if ev != "session"]
    assert rest == [
        (0, 0.0, "entry", "all"),
        (0, 0.0, "offer", ""),
        (0, 0.0, "support_start", ""),
        # ratio 0.5 from the offer for 365 days: budget 0.5 at 0.005/day
        (0, 100.0, "readmission", "ward"),
        (0, 100.0, "admission", "ward"),
        (0, 110.0, "discharge", ""),
        # the programme's calendar ends at 20 weeks, in the second episode; the place is
        # held to then, and the support_end carries the episode it started in
        (0, 140.0, "support_end", "completed"),
        # the effect carries through the readmission: 0.5 / 0.005 = 100 days more
        (1, 210.0, "readmission", "crt"),
        (1, 210.0, "admission", "crt"),
        (1, 240.0, "discharge", ""),
        # budget 5: 125 days at 0.005 (0.625), then 0.01/day: 437.5 more days; censored
        (2, 400.0, "end", ""),
    ]


def test_a_per_episode_programme_and_its_effect_end_at_the_readmission() -> None:
    # the same patient under the CORE-style offer: episode 1 has no effect (0.5 / 0.01)
    _, events = simulate_replication(
        one_patient(), 0, lambda sc, r, arm=None: FixedBank(sc, r, engagement=0.9)
    )
    assert [e[3] for e in events if e[4] == "readmission"] == [
        pytest.approx(100.0),
        pytest.approx(160.0),
    ]


def test_an_arm_can_change_its_acute_care_and_attendance() -> None:
    d = one_patient().model_dump(mode="json")
    d["arms"][0]["acute_care"] = {
        "p_ward": 1.0,
        "ward": {"length_of_stay": {"dist": "fixed", "days": 3}},
    }
    d["arms"][0]["attendance"] = {"disengage_after_missed": 1}
    s = scenario_from_dict(d)
    _, events = simulate_replication(s, 0, lambda sc, r, arm=None: FixedBank(sc, r, engagement=0.9))
    got = [(e[3], e[4], e[5]) for e in events if e[4] in ("admission", "discharge", "support_end")]
    assert got == [
        (pytest.approx(14.0), "support_end", "disengaged"),  # the one missed session
        (pytest.approx(100.0), "admission", "ward"),
        (pytest.approx(110.0), "discharge", ""),  # (this bank's stays are fixed)
        (pytest.approx(160.0), "admission", "ward"),  # u 0.9 would be CRT; p_ward 1
        (pytest.approx(170.0), "discharge", ""),
    ]
    # the arm's own length of stay: its bank draws 3 days, the scenario's 10
    assert PatientBank(s, 0, s.arms[0]).patient(0).los_ward[0] == 3.0
    assert PatientBank(s, 0).patient(0).los_ward[0] == 10.0


def test_a_tapering_programme_keeps_its_calendar() -> None:
    # weekly for 10 weeks, then fortnightly for 6: contacts at 0, 7, ..., 63, then 70, 84,
    # ..., 140; the programme ends a fortnight after the last, at 154
    d = one_patient().model_dump(mode="json")
    d["arms"][0]["peer_support"] = {
        "schedule": "fixed",
        "phases": [{"n_sessions": 10, "interval_days": 7}, {"n_sessions": 6, "interval_days": 14}],
    }
    d["arms"][0]["effect"] = {"mechanism": "none"}
    d["readmission"]["baseline"]["rate_per_day"] = 0.0
    s = scenario_from_dict(d)
    assert (s.arms[0].peer_support.n_sessions, s.arms[0].peer_support.interval_days) == (16, 7)
    _, events = simulate_replication(
        s, 0, lambda sc, r, arm=None: ProgrammeBank(sc, r, engagement=0.9)
    )
    days = [e[3] for e in events if e[4] == "session"]
    assert days == pytest.approx([7.0 * j for j in range(10)] + [70.0 + 14 * j for j in range(6)])
    end = next(e for e in events if e[4] == "support_end")
    assert (end[3], end[5]) == (pytest.approx(154.0), "completed")


@pytest.mark.parametrize(("schedule", "start"), [("fixed", 140.0), ("per_episode", 100.0)])
def test_a_fixed_programme_holds_its_worker_through_a_readmission(
    monkeypatch, schedule: str, start: float
) -> None:
    # One worker place. Patient 0 (day 0) starts at once, 20 weekly contacts, ratio 0.5
    # from the first contact: readmitted on day 100 (budget 0.5 at 0.005/day). Patient 1
    # enters on day 99 and waits. A fixed programme keeps the place through the
    # readmission until its calendar ends (day 140); a per-episode one ends at day 100.
    from sim.model import engine

    s = _two_patients(None, "queue", workers=1)
    d = s.model_dump(mode="json")
    d["arms"][0]["peer_support"].update(n_sessions=20, schedule=schedule)
    d["arms"][0]["effect"]["starts_at"] = "first_session"
    s = scenario_from_dict(d)
    monkeypatch.setattr(engine, "entry_times", lambda sc, r: np.array([0.0, 99.0]))
    _, events = simulate_replication(
        s, 0, lambda sc, r, arm=None: ProgrammeBank(sc, r, engagement=0.9)
    )
    first = [(e[3], e[5]) for e in events if e[1] == 0 and e[4] == "support_end"]
    assert first == [(pytest.approx(start), "completed" if schedule == "fixed" else "readmitted")]
    second = [e[3] for e in events if e[1] == 1 and e[4] == "support_start"]
    assert second == [pytest.approx(start)]


def test_a_fixed_programme_open_at_the_exit_holds_its_place_to_the_exit(monkeypatch) -> None:
    # Patient 0 (day 0) has 60 weekly contacts (to day 420), and follow-up ends on day
    # 400 with no readmission; patient 1 enters on day 395 and waits: the place frees at
    # day 400, when patient 0's follow-up ends (and patient 1's not yet: 400 days later)
    from sim.model import engine

    s = _two_patients(None, "queue", workers=1)
    d = s.model_dump(mode="json")
    d["arms"][0]["peer_support"].update(n_sessions=60, schedule="fixed")
    s = scenario_from_dict(d)
    monkeypatch.setattr(engine, "entry_times", lambda sc, r: np.array([0.0, 395.0]))

    class Bank(FixedBank):
        def patient(self, pid):
            p = super().patient(pid)
            p.budget = [50.0, 50.0, 50.0]
            p._sessions, p._stride = [0.5] * 180, 60
            return p

    _, events = simulate_replication(s, 0, lambda sc, r, arm=None: Bank(sc, r, engagement=0.9))
    end = [(e[3], e[5]) for e in events if e[1] == 0 and e[4] == "support_end"]
    assert end == [(pytest.approx(400.0), "exited")]
    assert [e[3] for e in events if e[1] == 1 and e[4] == "support_start"] == [pytest.approx(400.0)]
