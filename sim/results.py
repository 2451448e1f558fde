"""What a run gives back: its tables, as data (no files, no printing)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from sim.config import Scenario

__all__ = ["RunResult"]


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
    replications: list[int] | None = None
    events_dir: Path | None = None
    out: Path | None = None
    wall_seconds: float | None = None
    resumed: int = 0
