"""The library's front door: run a scenario, get tables. Usable from notebooks."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from sim.analysis.tables import events_frame, metrics_table, patients_table, summarise
from sim.analysis.trial import attendance_table, trial_summary, trial_table
from sim.config import Scenario
from sim.model.engine import simulate_replication
from sim.runner import default_jobs, run_replications

__all__ = ["RunResult", "run", "replicate"]


@dataclass
class RunResult:
    """Tables of a run: ``patients``, ``metrics`` (long), ``summary`` and maybe ``events``."""

    scenario: Scenario
    patients: pd.DataFrame
    metrics: pd.DataFrame
    summary: pd.DataFrame
    events: pd.DataFrame | None = None
    trial: pd.DataFrame | None = None
    trial_summary: pd.DataFrame | None = None
    attendance: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)


def replicate(scenario: Scenario, replication: int, keep_events: bool = False) -> dict:
    """Simulate one replication and reduce it to its tables (runs in a worker)."""
    names, events = simulate_replication(scenario, replication)
    ev = events_frame(names, events, replication)
    patients = patients_table(ev, scenario)
    metrics = metrics_table(ev, patients, scenario)
    out = {"patients": patients, "metrics": metrics, "events": ev if keep_events else None}
    if scenario.is_trial:
        out["trial"] = trial_table(patients, scenario)
        out["attendance"] = attendance_table(patients, scenario)
    return out


def run(
    scenario: Scenario,
    replications: int | None = None,
    jobs: int | None = None,
    events: bool = False,
    progress: Callable[[int], None] | None = None,
) -> RunResult:
    """Run a scenario's replications and return its tables.

    Parameters
    ----------
    scenario
        A validated scenario.
    replications
        Number of replications (default: the scenario's).
    jobs
        Worker processes (default: one per core; 1 = serial, in this process).
    events
        Keep the full event log (memory grows with it).
    progress
        Called with 1 each time a replication finishes.
    """
    n = replications if replications is not None else scenario.replications
    task = functools.partial(replicate, scenario, keep_events=events)
    parts = run_replications(task, range(n), jobs or default_jobs(), progress)
    patients = pd.concat([p["patients"] for p in parts], ignore_index=True)
    metrics = pd.concat([p["metrics"] for p in parts], ignore_index=True)
    ev = pd.concat([p["events"] for p in parts], ignore_index=True) if events else None
    if ev is not None:
        ev.insert(0, "scenario", scenario.name)
    result = RunResult(scenario, patients, metrics, summarise(metrics), ev)
    if scenario.is_trial:
        result.trial = pd.concat([p["trial"] for p in parts], ignore_index=True)
        result.attendance = pd.concat([p["attendance"] for p in parts], ignore_index=True)
        result.trial_summary = trial_summary(result.trial, scenario)
    return result
