"""What a run gives back: its tables, as data (no files, no printing)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from sim.analysis.patients import Unframed
from sim.config import Scenario

__all__ = ["Batch", "REPLICATION_TABLES", "RUN_TABLES", "RunResult", "world_tables"]

# the tables each replication gives (each a frame with a `replication` column): what a
# worker sends back in a Batch, what a run's store saves, what a run joins
REPLICATION_TABLES = ("patients", "metrics", "trial", "attendance", "timeseries", "mcf")
# a run's tables (RunResult attributes): the replications' joined, and their summaries
RUN_TABLES = (*REPLICATION_TABLES, "summary", "trial_summary", "published")


@dataclass
class Batch:
    """The tables of a chunk of replications, each table of all of them in one frame.

    What a worker sends back for a chunk of a run and what the run saves at once: one
    frame a table rather than one a replication (sending and joining a thousand trials'
    small frames one by one cost the main process more than saving them). Rows are in
    the order of ``replications``; a table no replication has is None.
    """

    replications: list[int]
    tables: dict[str, pd.DataFrame | None]

    @classmethod
    def of(cls, pairs: Sequence[tuple[int, dict]]) -> Batch:
        """The batch of (replication, tables) pairs, in their order.

        A replication's table may be a frame or :class:`~sim.analysis.patients.Unframed`
        (the same kind in every replication of the batch).
        """
        names = dict.fromkeys(name for _, tables in pairs for name in tables)
        joined = {}
        for name in names:
            parts = [t[name] for _, t in pairs if t.get(name) is not None]
            if not parts:
                joined[name] = None
            elif isinstance(parts[0], Unframed):  # made a frame once, for them all
                joined[name] = Unframed.join(parts)
            else:
                joined[name] = pd.concat(parts, ignore_index=True)
        return cls([r for r, _ in pairs], joined)

    def get(self, name: str) -> pd.DataFrame | None:
        """The table ``name`` of every replication of the batch, or None."""
        return self.tables.get(name)

    @classmethod
    def of_worlds(cls, batches: Sequence[Batch]) -> Batch:
        """One batch of several scenarios' batches of the same replications.

        The ``i``-th scenario's table ``name`` is ``name.i``: what a study of several
        scenarios saves (:func:`world_tables` names them).
        """
        tables = {f"{name}.{i}": t for i, b in enumerate(batches) for name, t in b.tables.items()}
        return cls(list(batches[0].replications), tables)

    def world(self, i: int) -> Batch:
        """The ``i``-th scenario's batch of one made by :meth:`of_worlds`."""
        tables = {}
        for key, table in self.tables.items():
            name, _, index = key.rpartition(".")
            if index == str(i):
                tables[name] = table
        return Batch(self.replications, tables)


def world_tables(n: int) -> tuple[str, ...]:
    """The tables a batch of ``n`` scenarios holds (:meth:`Batch.of_worlds`), patients aside."""
    names = [t for t in (*REPLICATION_TABLES, "survival") if t != "patients"]
    return tuple(f"{t}.{i}" for i in range(n) for t in names)


@dataclass
class RunResult:
    """The tables of a run (docs/outputs.md has every column).

    Attributes
    ----------
    scenario
        The scenario run (seed and every default filled in).
    patients, metrics, summary
        One row per patient per replication; the long metrics table (replication,
        arm, metric, value); per arm and metric, the mean with its 95% CI.
    events
        The event log, when it was kept in memory (``events=True``).
    trial, trial_summary, attendance
        Trial scenarios only: statistics per simulated trial, their summary across
        trials, and the shares attending k sessions.
    timeseries
        Weekly ward occupancy, waiting list and peer places in use.
    mcf
        Trials with the readmission-count endpoint: the mean cumulative number of
        readmissions per person by arm, weekly from entry, per simulated trial.
    published
        Trials with published results: each published figure beside the simulated
        trials' distribution of the same statistic, and its percentile among them.
    survival
        Trials whose patients tables were not kept: the patients' replication, arm,
        first readmission and follow-up (what the Kaplan-Meier figure reads).
    replications
        The replication indices run.
    events_dir
        Where the event log was written in Parquet parts, if it was.
    out, wall_seconds, resumed
        Set by :func:`sim.api.run_to_directory`: the run directory written, the time
        the run took, and how many replications came from an interrupted attempt.
    """

    scenario: Scenario
    patients: pd.DataFrame
    metrics: pd.DataFrame
    summary: pd.DataFrame
    events: pd.DataFrame | None = None
    trial: pd.DataFrame | None = None
    trial_summary: pd.DataFrame | None = None
    attendance: pd.DataFrame | None = None
    timeseries: pd.DataFrame | None = None
    mcf: pd.DataFrame | None = None
    published: pd.DataFrame | None = None
    survival: pd.DataFrame | None = None
    replications: list[int] | None = None
    events_dir: Path | None = None
    out: Path | None = None
    wall_seconds: float | None = None
    resumed: int = 0
