"""The library's front door: run a scenario and get its tables, or write its run directory.

:func:`run` returns the tables; :func:`sim.studies.run_to_directory` writes them,
resumably, as ``crisis-sim run`` does. Usable from notebooks and scripts::

    from sim.api import run
    from sim.config import load_scenario

    if __name__ == "__main__":  # needed where processes start by "spawn" (macOS, Windows)
        result = run(load_scenario("scenarios/core-trial.yaml"), replications=50)
        print(result.summary)

Studies of a scenario (a run written to its directory, compare, sweep, power,
calibration, PSA) are in :mod:`sim.studies`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sim.analysis.patients import Unframed, framed_tables
from sim.analysis.published import published_table
from sim.analysis.tables import Reduction, summarise
from sim.analysis.trial import attendance_columns, mcf_table, trial_rows, trial_summary
from sim.config import Scenario, TrialFeed
from sim.io import EventParts
from sim.model.engine import collector_paused, stream_replication, world_keys
from sim.results import Batch, RunResult
from sim.runner import Dask, default_jobs, each, run_chunks

if TYPE_CHECKING:
    from sim.store import ReplicationStore

# the patients columns a run keeps when it lets the patients tables go (the survival figure's)
SURVIVAL_COLUMNS = ("replication", "arm", "first_readmission_day", "follow_up_days")

__all__ = [
    "RunResult",
    "SURVIVAL_COLUMNS",
    "run",
    "replicate",
    "replicate_chunk",
    "replicate_many",
    "replicate_many_chunk",
    "run_many",
    "size_warning",
    "estimated_seconds",
]


def replicate(
    scenario: Scenario,
    replication: int,
    keep_events: bool = False,
    events_dir: Path | None = None,
    framed: bool = True,
) -> dict:
    """Simulate one replication and reduce it to its tables (runs in a worker).

    The events are reduced chunk by chunk as patients finish (never held whole) and
    dropped, unless ``keep_events`` (returned as ``events``: memory grows with them) or
    ``events_dir`` (written there in Parquet parts, :class:`sim.io.EventParts`).
    Without ``framed``, the tables that can wait are left
    :class:`~sim.analysis.patients.Unframed`, to be made frames with other replications'
    (:meth:`sim.results.Batch.of`).
    """
    chunks: list[pd.DataFrame] = []
    parts = None
    if events_dir is not None:
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
        out = _tables(scenario, reduction, framed)
        out["events"] = None
        if keep_events:
            out["events"] = pd.concat(chunks, ignore_index=True) if chunks else reduction.frame([])
    return out


def replicate_chunk(
    scenario: Scenario,
    replications: list[int],
    keep_events: bool = False,
    events_dir: Path | None = None,
) -> Batch:
    """A chunk of replications' tables, joined: what a run's worker sends back.

    :func:`replicate` of each, in turn, joined into one :class:`~sim.results.Batch`.
    """
    task = functools.partial(
        replicate, scenario, keep_events=keep_events, events_dir=events_dir, framed=False
    )
    return Batch.of(each(task, replications))


def _tables(scenario: Scenario, reduction: Reduction, framed: bool = True) -> dict:
    """A replication's tables: patients, metrics, timeseries, a trial's statistics.

    Without ``framed``, those that can wait to be made frames are left
    :class:`~sim.analysis.patients.Unframed` (a chunk's are made frames together).
    """
    out = reduction.tables(framed=False)
    if scenario.is_trial:
        ends = scenario.outcomes.endpoints
        cols = reduction.columns()  # the patients' columns, not taken back out of a frame
        times = patients = None
        if (ends.readmission_count or ends.bed_days) is not None:
            # the episode times and the MCF read the patients frame
            out["patients"] = patients = out["patients"].frame()
            times = reduction.episode_times(patients)
        out["trial"] = trial_rows(cols, scenario, times=times)
        out["attendance"] = Unframed(columns=attendance_columns(cols, scenario))
        if ends.readmission_count is not None:
            out["mcf"] = mcf_table(patients, scenario, times)
    return framed_tables(out) if framed else out


def _world_keys(scenario: Scenario) -> list[str]:
    """The engine's world keys, plus what a world's reduction keeps beyond its events.

    Spans of follow-up for economics; episode times for a trial's endpoints.
    """
    ends = scenario.outcomes.endpoints
    keeps = (
        scenario.economics is not None,
        scenario.is_trial and (ends.readmission_count or ends.bed_days) is not None,
    )
    return [f"{key}|{keeps}" for key in world_keys(scenario)]


def replicate_many(
    scenarios: Sequence[Scenario],
    replication: int,
    keep_patients: bool = False,
    keep_timeseries: bool = True,
    framed: bool = True,
) -> list[dict]:
    """One replication of several scenarios, each distinct world simulated once.

    What a study runs (a sweep's points, a comparison's files, a one-way analysis's
    variants): a policy, or a trial, that two scenarios have alike (equal
    :func:`~sim.model.engine.world_keys`: the same fields, seed and replication) is
    simulated for the first and its reduced events shared with the other, so the
    tables are each scenario's :func:`replicate` gives, at the cost of its distinct
    worlds only. Patients tables are dropped unless ``keep_patients``, weekly series
    unless ``keep_timeseries``; a world is let go after the last scenario that has it.
    ``framed`` as for :func:`replicate`.
    """
    keys = [_world_keys(s) for s in scenarios]
    last = {k: i for i, ks in enumerate(keys) for k in ks}
    worlds: dict[str, Reduction] = {}
    out = []
    with collector_paused():
        for i, (scenario, ks) in enumerate(zip(scenarios, keys, strict=True)):
            for policy, key in enumerate(ks):
                if key not in worlds:
                    world = worlds[key] = Reduction(scenario, replication)
                    only = None if scenario.is_trial else [policy]
                    stream_replication(scenario, replication, world.add, policies=only)
            reduction = Reduction.joined(scenario, replication, [worlds[k] for k in ks])
            tables = _tables(scenario, reduction, framed)
            if not keep_patients:
                tables.pop("patients")
            if not keep_timeseries:
                tables["timeseries"] = None
            out.append(tables)
            for k in ks:
                if last[k] == i:
                    worlds.pop(k, None)
    return out


def replicate_many_chunk(
    scenarios: Sequence[Scenario], replications: list[int], keep_timeseries: bool = True
) -> list[Batch]:
    """:func:`replicate_many` of a chunk of replications: a batch for each scenario."""
    task = functools.partial(
        replicate_many, scenarios, keep_timeseries=keep_timeseries, framed=False
    )
    pairs = each(task, replications)
    return [Batch.of([(r, tables[i]) for r, tables in pairs]) for i in range(len(scenarios))]


def run(
    scenario: Scenario,
    replications: int | Sequence[int] | None = None,
    jobs: int | None = None,
    events: bool = False,
    progress: Callable[[int], None] | None = None,
    saved: Sequence[Batch] | None = None,
    on_results: Callable[[Batch], None] | None = None,
    dask: Dask | None = None,
    events_dir: Path | None = None,
    keep_patients: bool = True,
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
        Batches of replications already computed (:class:`~sim.results.Batch`), e.g.
        from an interrupted run: only the others are run; the result is the same as an
        uninterrupted run. A batch with a replication not asked for is not used.
    on_results
        Called with the :class:`~sim.results.Batch` of each chunk of replications as it
        finishes (:func:`sim.runner.run_chunks`), e.g. to save it.
    dask
        Run on a Dask cluster instead of local processes (same results).
    progress
        Called with 1 each time a replication finishes.
    events_dir
        Write the event log here, in Parquet parts (``rep-NNNNNNN/part-NNNNN.parquet``)
        as it is produced, instead of keeping it (:class:`sim.io.EventParts`). Workers
        write the parts themselves: on a cluster this must be a shared filesystem.
    keep_patients
        Keep the patients tables (the big ones) in the result. If not, each
        batch's is let go once ``on_results`` has had it (to save it), and the
        result's ``patients`` is None: memory then holds only the small tables, and
        for a trial the result's ``survival`` (:data:`SURVIVAL_COLUMNS` of the
        patients, what the Kaplan-Meier figure reads; 32 bytes a patient).
    """
    if not keep_patients and on_results is None:
        raise ValueError("keep_patients=False needs on_results, to save the patients tables")
    n = replications if replications is not None else scenario.replications
    reps = list(range(n)) if isinstance(n, int) else list(n)
    wanted = set(reps)
    done = [b for b in saved or () if set(b.replications) <= wanted]
    have = {r for b in done for r in b.replications}
    todo = [r for r in reps if r not in have]
    if progress and have:
        progress(len(have))

    def let_go(batch: Batch) -> None:
        """The batch's patients let go (saved already), but what the figures read."""
        patients = batch.tables.get("patients")
        if scenario.is_trial and patients is not None:
            batch.tables["survival"] = patients[list(SURVIVAL_COLUMNS)]
        batch.tables["patients"] = None

    if not keep_patients:
        for batch in done:
            let_go(batch)

    def finished(chunk: list[int], batch: Batch) -> None:
        if on_results:
            on_results(batch)
        if not keep_patients:  # saved by on_results
            let_go(batch)

    task = functools.partial(
        replicate_chunk, scenario, keep_events=events and events_dir is None, events_dir=events_dir
    )
    fresh = run_chunks(task, todo, jobs or default_jobs(), progress, finished, dask)
    batches = done + [batch for _, batch in fresh]
    if events_dir is not None:
        EventParts.check(events_dir, reps)
    result = _result(scenario, reps, batches, keep_patients, events and events_dir is None)
    result.replications, result.events_dir = reps, events_dir
    return result


def run_many(
    scenarios: Sequence[Scenario],
    replications: int | Sequence[int],
    jobs: int | None = None,
    progress: Callable[[int], None] | None = None,
    dask: Dask | None = None,
    timeseries: bool = True,
    store: ReplicationStore | None = None,
) -> list[RunResult]:
    """Run several scenarios on the same replications, each distinct world once.

    Each scenario's :func:`run` (without patients; without the weekly series unless
    ``timeseries``), each distinct world simulated once per replication
    (:func:`replicate_many`). What ``sweep`` and ``compare`` run. Every scenario's
    tables are held until the end: about 5 kB per scenario and replication, 20 kB more
    with a service's weekly series.

    ``progress`` is called with the number of replications (of all the scenarios) in
    each chunk that finishes (and at once with those saved already).

    ``store``: where finished replications are saved as each chunk finishes (every
    scenario's tables in one batch, :meth:`~sim.results.Batch.of_worlds`); those it
    holds already, verified, are not run again. The tables are the same either way.
    """
    reps = list(range(replications)) if isinstance(replications, int) else list(replications)
    n = len(scenarios)
    saved: list[list[Batch]] = [[] for _ in range(n)]
    todo, on_results = reps, None
    if store is not None:
        held = store.saved_batches(reps, patients=False)
        for batch in held:
            for i in range(n):
                saved[i].append(batch.world(i))
        have = {r for b in held for r in b.replications}
        todo = [r for r in reps if r not in have]
        if progress and have:
            progress(len(have))
        on_results = lambda chunk, batches: store.save_batch(Batch.of_worlds(batches))  # noqa: E731
    task = functools.partial(replicate_many_chunk, list(scenarios), keep_timeseries=timeseries)
    fresh = run_chunks(task, todo, jobs or default_jobs(), progress, on_results, dask=dask)
    out = []
    for i, scenario in enumerate(scenarios):
        batches = [*saved[i], *(batches[i] for _, batches in fresh)]
        result = _result(scenario, reps, batches, keep_patients=False)
        result.replications = reps
        out.append(result)
    return out


def _result(
    scenario: Scenario,
    reps: list[int],
    batches: Sequence[Batch],
    keep_patients: bool,
    events: bool = False,
) -> RunResult:
    """A run's result from the batches of its replications, in the order of ``reps``."""
    position = {r: i for i, r in enumerate(reps)}
    batches = sorted(batches, key=lambda b: position[b.replications[0]])
    in_order = [r for b in batches for r in b.replications] == reps

    def joined(name: str) -> pd.DataFrame | None:
        frames = [f for b in batches if (f := b.get(name)) is not None]
        if not frames:
            return None
        frame = pd.concat(frames, ignore_index=True)
        if not in_order:  # a resumed run's chunks may straddle those saved before
            rank = frame["replication"].map(position).to_numpy()
            frame = frame.iloc[np.argsort(rank, kind="stable")].reset_index(drop=True)
        return frame

    patients = joined("patients") if keep_patients else None
    metrics = joined("metrics")
    survival = joined("survival") if not keep_patients else None
    ev = None
    if events:
        ev = joined("events")
        ev.insert(0, "scenario", scenario.name)
    result = RunResult(scenario, patients, metrics, summarise(metrics), ev)
    result.survival = survival
    result.timeseries = joined("timeseries")
    if scenario.is_trial:
        result.trial = joined("trial")
        result.attendance = joined("attendance")
        result.trial_summary = trial_summary(result.trial, scenario)
        if scenario.outcomes.endpoints.readmission_count is not None:
            result.mcf = joined("mcf")
        if scenario.outcomes.published is not None:
            result.published = published_table(result.trial, metrics, scenario)
    return result


# single-process throughput of a whole run (simulation and tables), patient-years per
# second, measured (docs/performance.md): 1,000 CORE trials (441 patients, 1.5 years)
# in ~26 s; a service run of a million discharges over two years (each followed a year
# on average) in ~90 s
_PATIENT_YEARS_PER_SECOND = {"trial": 25_000.0, "service": 11_000.0}


def size_warning(scenario: Scenario, replications: int, jobs: int) -> str | None:
    """A warning when a run looks long (over ~10 minutes): its size and a rough time."""
    patient_years, processes, seconds = _size(scenario, replications, jobs)
    if seconds < 600:
        return None
    return (
        f"this run simulates about {patient_years:,.0f} patient-years "
        f"({replications} replication(s)); roughly {seconds / 60:,.0f} minutes on {processes} "
        "process(es). Ctrl-C stops it; finished replications are kept for --resume."
    )


def estimated_seconds(scenario: Scenario, replications: int, jobs: int = 1) -> float:
    """A rough time for a run, from its patient-years (what :func:`size_warning` reads)."""
    return _size(scenario, replications, jobs)[2]


def _size(scenario: Scenario, replications: int, jobs: int) -> tuple[float, int, float]:
    feed = scenario.feed
    if isinstance(feed, TrialFeed):
        patients = feed.n_patients
        years = feed.follow_up_days / 365.25
        patient_years = patients * max(years, 0.1) * replications
    else:
        # each discharge followed from its day to the end of the run, at the weekly rate
        # of its segment (the rate changes included), under every policy
        end = scenario.end_day
        starts = [0.0, *(c.from_day for c in feed.rate_changes)]
        rates = [feed.discharges_per_week, *(c.per_week for c in feed.rate_changes)]
        years = 0.0
        for k, (a, rate) in enumerate(zip(starts, rates, strict=True)):
            b = min(starts[k + 1] if k + 1 < len(starts) else end, end)
            if b > a:
                years += rate * (b - a) / 7 * (end - (a + b) / 2) / 365.25
        patient_years = max(years, 0.1) * len(scenario.arms) * replications
    processes = max(min(jobs, replications), 1)
    seconds = patient_years / (_PATIENT_YEARS_PER_SECOND[feed.kind] * processes)
    return patient_years, processes, seconds
