"""The engine's short cuts where no two patients compete at the same instant change no
event: sessions worked out at once, patients started by their own start event, places
granted or freed without an event, a patient's end not scheduled, blocks of draws kept
for the next policy. Each is switched off here and the events compared.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest
import simpy
from helpers import SERVICE, TRIAL, scenario
from test_places import _log

from sim.model import engine, kernel, pathway
from sim.model.engine import simulate_replication
from sim.model.places import Places, PriorityPlaces
from sim.rng import PatientBank


def test_an_event_at_a_day_lands_on_it_where_no_delay_would() -> None:
    env = kernel.Environment()
    seen = []

    def waits():
        yield env.timeout(8.6)
        assert all(8.6 + d != 31.8 for d in (31.8 - 8.6, np.nextafter(31.8 - 8.6, 0)))
        yield env.at(31.8)
        seen.append(env.now)

    env.process(waits())
    env.run()
    assert seen == [31.8]


@pytest.mark.parametrize("seed", range(6))
def test_quick_places_serve_as_simpy_does_when_no_two_act_at_once(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 400
    customers = list(
        zip(
            rng.uniform(0, 200, n).tolist(),  # continuous days: no two at the same instant
            rng.integers(0, 3, n).tolist(),
            rng.exponential(5, n).tolist(),
            rng.exponential(8, n).tolist(),
            strict=True,
        )
    )

    def quick(kind):
        return lambda env, capacity: kind(env, capacity, quick=True)

    got = _log(quick(Places), 4, customers, as_the_engine=True)
    assert sum(1 for e in got if e[2] == "gave up") > 20
    assert got == _log(simpy.Resource, 4, customers, as_the_engine=True)
    assert _log(quick(PriorityPlaces), 4, customers, as_the_engine=True) == _log(
        simpy.PriorityResource, 4, customers, as_the_engine=True
    )


def _plain(monkeypatch) -> None:
    """Every short cut off: a SimPy event per session, a source waiting for each patient,
    an event for each place granted or freed, blocks generated for each policy."""
    real = pathway.World.__init__

    def init(self, *args, **kwargs):
        real(self, *args, **kwargs)
        self.ties_harmless = False
        for res in (self.workers, self.ward, self.crt):
            if isinstance(res, Places | PriorityPlaces):
                res.quick = False

    monkeypatch.setattr(pathway.World, "__init__", init)
    monkeypatch.setattr(PatientBank, "keep_blocks", lambda self: None)


def _by_patient(events) -> dict:
    out = defaultdict(list)
    for e in events:
        out[e[0], e[1]].append(e)
    return dict(out)


CASES = {
    "service": scenario(SERVICE),
    "service-by-risk": scenario(
        SERVICE,
        **{
            "population.risk_groups": [
                {"name": "low", "share": 0.6, "hazard_ratio": 1.0},
                {"name": "high", "share": 0.4, "hazard_ratio": 2.0},
            ],
            "peer_workers.queue": "risk",
        },
    ),
    "service-reoffer-waning": scenario(
        SERVICE,
        **{
            "arms.peer.peer_support.reoffer_after_readmission": True,
            "arms.peer.effect.half_life_days": 60,
            "acute_care.ward.overflow": "queue",
        },
    ),
    "service-dose-response": scenario(
        SERVICE,
        **{
            "arms.peer.effect": {
                "mechanism": "dose_response",
                "hazard_ratio_at_full_dose": 0.6,
                "full_dose_sessions": 6,
            }
        },
    ),
    "service-fixed": scenario(
        SERVICE,
        **{"arms.peer.peer_support.schedule": "fixed", "arms.peer.peer_support.n_sessions": 6},
    ),
    "trial": scenario(TRIAL),
    "trial-fixed": scenario(TRIAL, **{"arms.peer.peer_support.schedule": "fixed"}),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_short_cuts_change_no_event(name: str, monkeypatch) -> None:
    sc = CASES[name]
    fast = [simulate_replication(sc, r)[1] for r in range(3)]
    _plain(monkeypatch)
    plain = [simulate_replication(sc, r)[1] for r in range(3)]
    for a, b in zip(fast, plain, strict=True):
        assert len(a) > 500
        # the same events, each patient's in the same order; patients finishing at the
        # same instant may be handed on in another order
        assert _by_patient(a) == _by_patient(b)


def _chain(days: np.ndarray) -> np.ndarray:
    """Where a wait per patient leaves SimPy's clock: ``now + (entry - now)`` each time."""
    out, now = [], 0.0
    for day in days.tolist():
        if day - now > 0.0:
            now += day - now
        out.append(now)
    return np.array(out)


# from day 8.6 a wait of 31.8 - 8.6 ends at 31.800000000000004
AWKWARD = [0.1, 8.6, 31.8, 71.3]


def _awkward_trial_days(scenario, replication):
    """Then days to one decimal: ties everywhere, harmless without a worker pool."""
    later = np.round(80.3 + np.arange(scenario.feed.n_patients - len(AWKWARD)) * 0.7, 1)
    return np.concatenate([AWKWARD, later])


def _awkward_service_days(scenario, replication):
    """Then continuous days: no two patients at the same instant."""
    rng = np.random.default_rng(replication)
    return np.concatenate([AWKWARD, np.sort(rng.uniform(80, scenario.end_day, 300))])


@pytest.mark.parametrize(
    ("base", "days"), [(TRIAL, _awkward_trial_days), (SERVICE, _awkward_service_days)]
)
def test_entry_days_are_those_a_wait_per_patient_gives(base, days, monkeypatch) -> None:
    sc = scenario(base)
    monkeypatch.setattr(engine, "entry_times", days)
    d = days(sc, 0)
    assert np.any(_chain(d) != d)  # the case the test is about does occur
    fast = simulate_replication(sc, 0)[1]
    logged = sorted({e[1]: e[3] for e in fast if e[4] == "entry"}.items())
    assert np.array_equal([t for _, t in logged], _chain(d))
    _plain(monkeypatch)
    assert _by_patient(fast) == _by_patient(simulate_replication(sc, 0)[1])


@pytest.mark.parametrize("name", ["service", "service-reoffer-waning", "service-by-risk"])
def test_first_of_is_processed_when_simpys_any_of_would_be(name: str, monkeypatch) -> None:
    sc = CASES[name]
    lean = simulate_replication(sc, 1)[1]
    monkeypatch.setattr(pathway, "FirstOf", lambda env, *events: simpy.AnyOf(env, events))
    assert lean == simulate_replication(sc, 1)[1]  # the very same log, in the same order
