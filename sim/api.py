"""The library's front door: run a scenario, get tables. Usable from notebooks."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from sim.analysis.tables import Reduction, summarise
from sim.analysis.trial import attendance_table, trial_summary, trial_table
from sim.config import Scenario
from sim.model.engine import collector_paused, stream_replication
from sim.runner import Dask, default_jobs, run_replications

__all__ = ["RunResult", "run", "replicate", "power"]


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
    timeseries: pd.DataFrame | None = None
    replications: list[int] | None = None
    events_dir: Path | None = None  # the event log in Parquet parts, if written to disk


def replicate(
    scenario: Scenario,
    replication: int,
    keep_events: bool = False,
    events_dir: Path | None = None,
) -> dict:
    """Simulate one replication and reduce it to its tables (runs in a worker).

    The events are reduced chunk by chunk as patients finish (never held whole) and
    dropped, unless ``keep_events`` (returned as ``events``: memory grows with them) or
    ``events_dir`` (written there in Parquet parts, :class:`sim.io.EventParts`).
    """
    chunks: list[pd.DataFrame] = []
    parts = None
    if events_dir is not None:
        from sim.io import EventParts

        parts = EventParts(events_dir, replication, scenario.name)
    on_events = parts.write if parts is not None else chunks.append if keep_events else None
    reduction = Reduction(scenario, replication, on_events)
    # the collector paused for the whole replication: it makes little cyclic garbage
    # (0.5 kB a trial, 150 kB a service replication, measured), and otherwise the
    # collector's full scans walk every earlier replication's tables again and again
    with collector_paused():
        try:
            stream_replication(scenario, replication, reduction.add)
        except BaseException:
            if parts is not None:
                parts.abort()
            raise
        if parts is not None:
            parts.close()
        out = reduction.tables()
        patients = out["patients"]
        out["events"] = None
        if keep_events:
            out["events"] = pd.concat(chunks, ignore_index=True) if chunks else reduction.frame([])
        if scenario.is_trial:
            out["trial"] = trial_table(patients, scenario)
            out["attendance"] = attendance_table(patients, scenario)
    return out


def run(
    scenario: Scenario,
    replications: int | Sequence[int] | None = None,
    jobs: int | None = None,
    events: bool = False,
    progress: Callable[[int], None] | None = None,
    saved: dict[int, dict] | None = None,
    on_results: Callable[[list[tuple[int, dict]]], None] | None = None,
    dask: Dask | None = None,
    events_dir: Path | None = None,
) -> RunResult:
    """Run a scenario's replications and return its tables.

    Parameters
    ----------
    scenario
        A validated scenario.
    replications
        Number of replications (default: the scenario's), or a list of indices.
    jobs
        Worker processes (default: one per core; 1 = serial, in this process).
    events
        Keep the full event log in memory (it grows with the run; see ``events_dir``).
    saved
        Replications already computed (index -> tables), e.g. from an interrupted run:
        only the others are run; the result is the same as an uninterrupted run.
    on_results
        Called with a list of (replication, tables) pairs as new replications finish
        (in batches: :func:`sim.runner.run_replications`), e.g. to save them.
    dask
        Run on a Dask cluster instead of local processes (same results).
    progress
        Called with 1 each time a replication finishes.
    events_dir
        Write the event log here, in Parquet parts (``rep-NNNNNNN/part-NNNNN.parquet``)
        as it is produced, instead of keeping it (:class:`sim.io.EventParts`). Workers
        write the parts themselves: on a cluster this must be a shared filesystem.
    """
    n = replications if replications is not None else scenario.replications
    reps = list(range(n)) if isinstance(n, int) else list(n)
    done = {r: saved[r] for r in reps if saved and r in saved}
    todo = [r for r in reps if r not in done]
    if progress and done:
        progress(len(done))
    task = functools.partial(
        replicate, scenario, keep_events=events and events_dir is None, events_dir=events_dir
    )
    fresh = run_replications(task, todo, jobs or default_jobs(), progress, on_results, dask)
    done.update(zip(todo, fresh, strict=True))
    if events_dir is not None:
        from sim.io import EventParts

        EventParts.check(events_dir, reps)
    parts = [done[r] for r in reps]
    patients = pd.concat([p["patients"] for p in parts], ignore_index=True)
    metrics = pd.concat([p["metrics"] for p in parts], ignore_index=True)
    ev = None
    if events and events_dir is None:
        ev = pd.concat([p["events"] for p in parts], ignore_index=True)
        ev.insert(0, "scenario", scenario.name)
    result = RunResult(scenario, patients, metrics, summarise(metrics), ev)
    result.replications, result.events_dir = reps, events_dir
    result.timeseries = pd.concat([p["timeseries"] for p in parts], ignore_index=True)
    if scenario.is_trial:
        result.trial = pd.concat([p["trial"] for p in parts], ignore_index=True)
        result.attendance = pd.concat([p["attendance"] for p in parts], ignore_index=True)
        result.trial_summary = trial_summary(result.trial, scenario)
    return result


def with_trial_size(scenario: Scenario, n_per_arm: int) -> Scenario:
    """The trial scenario with ``n_per_arm`` patients in each arm (equal allocation)."""
    from sim.config import TrialFeed, scenario_from_dict

    if not isinstance(scenario.feed, TrialFeed):
        raise ValueError("power needs a trial scenario")
    d = scenario.model_dump(mode="json")
    d["feed"]["n_patients"] = n_per_arm * len(scenario.arms)
    d["feed"]["allocation"] = {a.name: 1 for a in scenario.arms}
    return scenario_from_dict(d)


def power(
    scenario: Scenario,
    n_per_arm: list[int],
    replications: int,
    jobs: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> pd.DataFrame:
    """Power (share of simulated trials with p < 0.05 at the primary horizon) by trial size.

    Returns n_per_arm, arm, test (odds ratio / hazard ratio), power, ci_low, ci_high
    (Wilson 95% interval for the share) and replications.
    """
    from statsmodels.stats.proportion import proportion_confint

    h = scenario.outcomes.primary_horizon_days
    rows = []
    for n in n_per_arm:
        result = run(with_trial_size(scenario, n), replications=replications, jobs=jobs)
        t = result.trial
        t = t[(t["horizon_days"] == h) & t["hazard_ratio"].notna()]
        for arm, g in t.groupby("arm", sort=False):
            for test, col in (("odds ratio (logistic)", "or_p"), ("hazard ratio (Cox)", "hr_p")):
                p = g[col].dropna()
                k = int((p < 0.05).sum())
                lo, hi = proportion_confint(k, len(p), alpha=0.05, method="wilson")
                rows.append((n, arm, test, k / len(p), lo, hi, len(p)))
        if progress:
            progress(1)
    return pd.DataFrame(
        rows, columns=["n_per_arm", "arm", "test", "power", "ci_low", "ci_high", "replications"]
    )
