"""What a PSA and a one-way analysis measure of each run, and the files they accept.

Both run every policy of a base file and its what-ifs at varied parameter values
(:mod:`sim.studies.psa`, :mod:`sim.studies.dsa`) and keep, per replication and policy,
the same outcomes: totals over the measured period (metrics of ``sim.analysis.tables``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from sim import uncertainty
from sim.config import ConfigError, Scenario

__all__ = ["OUTCOMES", "outcome_rows", "check_files"]

# outcome column <- metric of sim.analysis.tables (per replication and arm)
OUTCOMES = {
    "cost": "cost_discounted",
    "qalys": "qalys_discounted",
    "readmissions_per_year": "readmissions_per_year",
    "bed_days_per_year": "ward_bed_days_per_year",
    "out_of_area_per_year": "out_of_area_per_year",
    "waiting_list_mean": "waiting_list_mean",
    "patients": "patients",
}


def outcome_rows(metrics: pd.DataFrame) -> pd.DataFrame:
    """One replication's metrics as one row per policy: ``policy`` and the OUTCOMES."""
    wide = metrics.pivot_table(index="arm", columns="metric", values="value", sort=False)
    return pd.DataFrame(
        {
            "policy": wide.index.to_numpy(),
            **{
                name: wide[metric].to_numpy() if metric in wide else np.nan
                for name, metric in OUTCOMES.items()
            },
        }
    )


def check_files(scenarios: Sequence[Scenario], samples: int, replications: int) -> None:
    """The base file (first) and its what-ifs can run together at the base's parameter sets.

    ``ConfigError`` (a user's mistake, one line) if not: too few sets or replications, no
    uncertainty block, a path naming nothing, policy names shared between files.
    """
    base = scenarios[0]
    if samples < 2:
        raise ConfigError(f"{base.name}: psa needs at least 2 parameter sets")
    if replications < 1:
        raise ConfigError(f"{base.name}: psa needs at least 1 inner replication")
    uncertainty.check_paths(base, base.name)
    names = [a.name for s in scenarios for a in s.arms]
    if len(set(names)) != len(names):
        raise ConfigError(
            "psa: policy names must differ across the files (rename the what-if's arms)"
        )
    for other in scenarios[1:]:  # the base's parameter sets must mean something there
        uncertainty.check_paths(other, other.name, base=base)
