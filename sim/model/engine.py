"""A replication of the crisis pathway: its worlds, their patients, their events.

The model takes a validated :class:`~sim.config.Scenario` and random draws and
returns events; nothing else (no pandas, no files, no printing).

This module is the replication driver: entry times and randomisation, each arm's bank
of draws, the worlds a replication simulates (:func:`world_keys`) and the stream of
their events. The pathway itself is :mod:`sim.model.pathway`; SimPy's kernel, extended
for the short cuts, :mod:`sim.model.kernel`.

Trial feed: one world; patients are randomised to arms and share the capacity.
Service feed: one world per policy (arm), each seeing the same patients, with the
same draws (common random numbers).
"""

from __future__ import annotations

import collections
import gc
import json
import math
from collections.abc import Callable, Sequence
from contextlib import contextmanager

import numpy as np

from sim.config import (
    Arm,
    Scenario,
    ServiceFeed,
    TrialFeed,
)
from sim.events import (
    Event,
)
from sim.model.pathway import CHUNK_EVENTS, ArmPlan, World
from sim.rng import PatientBank, stream

__all__ = [
    "CHUNK_EVENTS",
    "simulate_replication",
    "stream_replication",
    "world_keys",
    "entry_times",
    "allocate",
    "collector_paused",
]


# ---------------------------------------------------------------------- entry and arms
def entry_times(scenario: Scenario, replication: int) -> np.ndarray:
    """Entry days of the replication's patients, in patient-id order.

    Trial: evenly over the recruitment window. Service: a Poisson process with the
    (piecewise constant) weekly rate, from the ``arrivals`` stream.
    """
    feed = scenario.feed
    if isinstance(feed, TrialFeed):
        return np.arange(feed.n_patients) * (feed.recruitment_days / feed.n_patients)
    assert isinstance(feed, ServiceFeed)
    rng = stream(scenario.seed, replication, "arrivals")
    end = scenario.end_day
    cuts = [(0.0, feed.discharges_per_week)] + [(c.from_day, c.per_week) for c in feed.rate_changes]
    times = []
    for i, (start, per_week) in enumerate(cuts):
        stop = min(cuts[i + 1][0] if i + 1 < len(cuts) else end, end)
        if stop <= start or per_week <= 0:
            continue
        n = rng.poisson(per_week / 7.0 * (stop - start))
        times.append(np.sort(rng.uniform(start, stop, n)))
    return np.concatenate(times) if times else np.empty(0)


def allocate(scenario: Scenario, replication: int) -> np.ndarray:
    """Arm index of each trial patient: exact counts by the ratio, in random order."""
    feed = scenario.feed
    assert isinstance(feed, TrialFeed)
    names = [a.name for a in scenario.arms]
    weights = np.array([feed.allocation[n] for n in names], dtype=float)
    exact = feed.n_patients * weights / weights.sum()
    counts = np.floor(exact).astype(int)
    # largest remainders get the leftover patients (ties: the earlier arm)
    for i in np.argsort(-(exact - counts), kind="stable")[: feed.n_patients - counts.sum()]:
        counts[i] += 1
    arms = np.repeat(np.arange(len(names)), counts)
    return stream(scenario.seed, replication, "allocation").permutation(arms)


# ------------------------------------------------------------------------------ driver
@contextmanager
def collector_paused():
    """Pause Python's cyclic garbage collector while a world runs, as ``timeit`` does.

    The model makes almost no reference cycles (measured: about 1,300 cyclic objects,
    0.3 MB, in a service replication of 9,400 patients; reference counting frees the
    rest at once), but the collector's periodic scans of the growing event log and
    pending processes cost 30-40% of the run time (docs/performance.md). Used around a
    whole replication (:func:`sim.api.replicate`), it also keeps the collector from
    scanning the results of earlier replications over and over. Nested uses are fine.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


BankFactory = Callable[[Scenario, int, Arm], PatientBank]


def _banks(scenario: Scenario, replication: int, factory: BankFactory) -> list[PatientBank]:
    """Each arm's bank of draws; arms whose attendance and stays do not differ share one
    (so a patient's draws are the same whichever such trial arm it is randomised to, and
    a service's policies read the same blocks).
    """
    shared: dict[str, PatientBank] = {}
    out = []
    for arm in scenario.arms:
        key = PatientBank.key(scenario, arm)
        if key not in shared:
            shared[key] = factory(scenario, replication, arm)
        out.append(shared[key])
    return out


# What no world's events depend on: labels, how many replications, and what is computed
# from the events afterwards (horizons, endpoints, costs, economics, uncertainty,
# calibration targets). Everything else of a scenario is part of a world's key, so a
# field added later counts until it is listed here.
_NOT_SIMULATED = {
    "name",
    "description",
    "replications",
    "outcomes",
    "costs",
    "economics",
    "uncertainty",
    "calibration",
}


def world_keys(scenario: Scenario) -> list[str]:
    """A key per world of a replication: worlds with equal keys give equal events.

    A trial is one world (its arms share it); a service has one world per policy (arm),
    which depends on the arm and on the scenario's shared fields, not on the other arms
    (their names only label the events), and without peer support not on the peer
    workers or attendance either. Studies simulate each distinct world once per
    replication and share its events between the scenarios that have it.
    """
    base = scenario.model_dump(mode="json", exclude=_NOT_SIMULATED | {"arms"})
    arms = [a.model_dump(mode="json") for a in scenario.arms]
    if scenario.is_trial:
        return [json.dumps({**base, "arms": arms}, sort_keys=True)]
    names = [a.name for a in scenario.arms]
    keys = []
    for i, (arm, dump) in enumerate(zip(scenario.arms, arms, strict=True)):
        shared = dict(base)
        if arm.peer_support is None:  # no offer: no worker is asked for, no session held
            del shared["peer_workers"], shared["attendance"]
        keys.append(
            json.dumps({**shared, "names": names, "policy": i, "arm": dump}, sort_keys=True)
        )
    return keys


def stream_replication(
    scenario: Scenario,
    replication: int,
    sink: Callable[[list[Event]], None],
    bank_factory: BankFactory = PatientBank,
    chunk_events: float = CHUNK_EVENTS,
    policies: Sequence[int] | None = None,
) -> list[str]:
    """Run one replication, handing its events to ``sink`` in chunks; return the arm names.

    Each chunk holds every event of the patients in it (at least ``chunk_events``
    events, except the last of each world), so memory holds only the patients still
    in follow-up and one chunk. Events are tuples in :data:`EVENT_FIELDS` order,
    ``arm`` being an index into the returned names; a patient's events are in time
    order, and patients come in the order their follow-up ended. Trial: one world,
    patients randomised. Service: each arm (policy) is simulated on the same patients
    with the same draws, in a world of its own; ``policies`` (arm indices) runs only
    those worlds (:func:`world_keys`).
    """
    names = [a.name for a in scenario.arms]
    group_index = {g.name: i for i, g in enumerate(scenario.population.risk_groups)}
    plans = [ArmPlan.build(i, arm, group_index, scenario) for i, arm in enumerate(scenario.arms)]
    entries = entry_times(scenario, replication)
    offering = [a for a in scenario.arms if a.peer_support is not None]
    if isinstance(scenario.feed, TrialFeed):
        follow = scenario.feed.follow_up_days
        arm_of = allocate(scenario, replication).tolist()  # Python numbers: read per patient
        banks = _banks(scenario, replication, bank_factory)
        world = World(scenario, plans, offering, sink, chunk_events)
        world.env.process(
            world.source(
                (t, banks[a].patient(pid), plans[a], t + follow)
                for pid, (t, a) in enumerate(zip(entries.tolist(), arm_of, strict=True))
            )
        )
        with collector_paused():
            world.env.run()
        world.flush()
    else:
        end = scenario.end_day
        run = range(len(plans)) if policies is None else policies
        banks = _banks(scenario, replication, bank_factory)
        for bank, n in collections.Counter(banks[i] for i in run).items():
            if n > 1:  # policies with the same draws: generate each block once
                bank.keep_blocks()
        for plan, arm, bank in ((plans[i], scenario.arms[i], banks[i]) for i in run):
            world = World(
                scenario,
                plans,
                [arm] if arm.peer_support else [],
                sink,
                chunk_events,
                scenario.acute_care_of(arm),
            )
            world.env.process(
                world.source(
                    (t, bank.patient(pid), plan, end) for pid, t in enumerate(entries.tolist())
                )
            )
            with collector_paused():
                world.env.run()
            world.flush()
    return names


def simulate_replication(
    scenario: Scenario, replication: int, bank_factory: BankFactory = PatientBank
) -> tuple[list[str], list[Event]]:
    """Run one replication; return the arm names and its whole event log.

    The log is as :func:`stream_replication` hands it on, in one list (fine for
    trials and tests; large service runs should reduce it chunk by chunk instead).
    """
    events: list[Event] = []
    names = stream_replication(scenario, replication, events.extend, bank_factory, math.inf)
    return names, events
