"""Replications are reduced chunk by chunk as patients finish, never holding the whole log.

The tables must be those of the whole event log, whatever the chunking; each chunk
must hold whole patients; and patients must leave SimPy once nothing more can happen
to them (so pending processes, and memory, stay bounded in long service runs).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
from helpers import SERVICE, TRIAL, doc

from sim.analysis.tables import (
    EventLog,
    Reduction,
    detail_categories,
    events_frame,
    metrics_table,
    patients_table,
    timeseries_table,
)
from sim.config import load_scenario, scenario_from_dict
from sim.model import pathway
from sim.model.engine import simulate_replication, stream_replication

ROOT = Path(__file__).resolve().parents[1]

SCENARIOS = {
    "trial, ward queue": scenario_from_dict(doc(TRIAL)),
    "service, waiting list and lapses": scenario_from_dict(
        doc(SERVICE, **{"arms.1.peer_support.reoffer_after_readmission": True})
    ),
    "service, out of area": scenario_from_dict(
        doc(SERVICE, **{"acute_care.ward.capacity": 3, "acute_care.ward.overflow": "out_of_area"})
    ),
    "service-baseline.yaml": load_scenario(ROOT / "scenarios" / "service-baseline.yaml"),
}


def _whole_log_tables(scenario, replication):
    """The tables computed at once from the whole event log (the reference)."""
    names, events = simulate_replication(scenario, replication)
    log = EventLog(events_frame(names, events, replication, detail_categories(scenario)))
    patients = patients_table(log, scenario)
    return {
        "patients": patients,
        "metrics": metrics_table(log, patients, scenario),
        "timeseries": timeseries_table(log, scenario),
    }


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_chunked_tables_equal_whole_log_tables(name: str) -> None:
    scenario = SCENARIOS[name]
    whole = _whole_log_tables(scenario, 1)
    sizes = (1_000, 20_000) if name.endswith(".yaml") else (1, 97, 5_000)
    for chunk_events in sizes:
        reduction = Reduction(scenario, 1)
        stream_replication(scenario, 1, reduction.add, chunk_events=chunk_events)
        got = reduction.tables()
        for table in ("patients", "metrics", "timeseries"):
            pd.testing.assert_frame_equal(got[table], whole[table], check_exact=True)


def test_chunks_hold_whole_patients_and_are_full() -> None:
    scenario = SCENARIOS["service, waiting list and lapses"]
    chunks: list[list] = []
    stream_replication(scenario, 0, chunks.append, chunk_events=50)
    assert len(chunks) > 10
    for chunk in chunks:
        per_patient = Counter((a, pid) for a, pid, *_ in chunk)
        entries = Counter((a, pid) for a, pid, _, _, ev, _ in chunk if ev == "entry")
        exits = Counter((a, pid) for a, pid, _, _, ev, _ in chunk if ev in ("death", "lost", "end"))
        assert set(per_patient) == set(entries) == set(exits), "whole patients only"
    # every chunk but the last of each world (policy) reaches the size asked for
    short = [len(c) for c in chunks if len(c) < 50]
    assert len(short) <= len(scenario.arms)


def test_patients_leave_simpy_when_nothing_more_can_happen(monkeypatch) -> None:
    """Patients with nothing left to happen leave SimPy at once.

    Every patient used to wait in SimPy until the end of a service run, so a million
    discharges meant a million pending processes. A patient whose next readmission
    falls after its follow-up, and who holds no place, now records its exit and
    leaves: half-way through the run SimPy's event heap is far smaller than the
    number of patients who have entered.
    """
    scenario = scenario_from_dict(doc(SERVICE, **{"feed.run_days": 1000}))
    seen: list[tuple[int, int]] = []
    original = pathway.World.source

    def source(world, patients):
        def watched():
            for n, item in enumerate(patients):
                if not seen and item[0] >= scenario.end_day / 2:
                    seen.append((len(world.env._queue), n))  # SimPy's pending events
                yield item

        return original(world, watched())

    monkeypatch.setattr(pathway.World, "source", source)
    stream_replication(scenario, 0, lambda chunk: None)
    pending, entered = seen[0]
    assert entered > 600
    assert pending < 0.5 * entered, (pending, entered)  # it was every one of them
