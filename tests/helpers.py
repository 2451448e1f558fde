"""Small scenario documents for tests, built as plain dicts and varied per test."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from sim.config import Scenario, scenario_from_dict, set_field

TRIAL: dict[str, Any] = {
    "name": "tiny-trial",
    "seed": 11,
    "replications": 3,
    "feed": {
        "kind": "trial",
        "n_patients": 200,
        "recruitment_days": 100,
        "allocation": {"control": 1, "peer": 1},
        "follow_up_days": 365,
    },
    "outcomes": {"primary_horizon_days": 365, "secondary_horizons_days": [120]},
    "readmission": {"baseline": {"dist": "weibull", "shape": 0.6, "scale_days": 1000}},
    "competing": {"death_per_year": 0.02, "loss_to_follow_up_per_year": 0.02},
    "attendance": {
        "engagement": {"alpha": 2, "beta": 1},
        "p_never_engage": 0.1,
        "disengage_after_missed": 3,
    },
    "acute_care": {
        "p_ward": 0.5,
        "ward": {"capacity": 5, "length_of_stay": {"dist": "exponential", "mean_days": 30}},
        "crt": {"length_of_stay": {"dist": "gamma", "mean_days": 28, "sd_days": 14}},
    },
    "arms": [
        {"name": "control"},
        {
            "name": "peer",
            "peer_support": {"n_sessions": 10},
            "effect": {"mechanism": "itt", "hazard_ratio": 0.7},
        },
    ],
}

SERVICE: dict[str, Any] = {
    **copy.deepcopy({k: v for k, v in TRIAL.items() if k != "feed"}),
    "name": "tiny-service",
    "feed": {"kind": "service", "discharges_per_week": 10, "warm_up_days": 60, "run_days": 300},
    "outcomes": {"primary_horizon_days": 90},
    "peer_workers": {"count": 2, "caseload_per_worker": 5, "max_wait_days": 40},
}


# utilities for tests only (illustrative, not from a source)
ECONOMICS: dict[str, Any] = {
    "utilities": {
        name: {"value": value, "source": "test"}
        for name, value in (("community", 0.7), ("ward", 0.4), ("crt", 0.55))
    }
}


# a calibration of TRIAL's baseline scale that finishes in seconds (for commands, not fits)
QUICK_CALIBRATION: dict[str, Any] = {
    "replications": 10,
    "check_replications": 10,
    "max_evaluations": 2,
    "parameters": [{"path": "readmission.baseline.scale_days", "lower": 500, "upper": 3000}],
    "targets": [{"statistic": "p_readmitted", "arm": "control", "value": 0.3, "tolerance": 0.05}],
}


def doc(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A deep copy of ``base`` with dotted-path changes: doc(TRIAL, **{"feed.n_patients": 5}).

    The same paths as :func:`sim.config.variant` takes (list items by index or name);
    mappings missing along a path are made, since ``base`` is a partial document.
    """
    out = copy.deepcopy(base)
    for dotted, value in changes.items():
        set_field(out, dotted, value, create=True)
    return out


def scenario(base: dict[str, Any], **changes: Any) -> Scenario:
    """Validated scenario from ``doc(base, **changes)``."""
    return scenario_from_dict(doc(base, **changes))


def cli(*args: str, timeout: float = 600, **kw: Any) -> subprocess.CompletedProcess:
    """``python -m sim ARGS`` in a fresh process, its output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", "sim", *args], capture_output=True, text=True, timeout=timeout, **kw
    )


# a run's tables (RunResult attributes) that two ways of running it must give alike
RESULT_TABLES = ("patients", "metrics", "summary", "trial", "attendance", "timeseries")


def assert_same_results(a: Any, b: Any, names: tuple[str, ...] = RESULT_TABLES) -> None:
    """Two results hold the same tables (frame for frame; None where either has none)."""
    for name in names:
        x, y = getattr(a, name), getattr(b, name)
        if x is None or y is None:
            assert x is None and y is None, f"{name}: only one result has it"
            continue
        pd.testing.assert_frame_equal(x, y, obj=name)


def assert_same_outputs(a: Path, b: Path) -> None:
    """Two output directories hold the same tables: every CSV and Parquet file of either
    is in both, and the same (:func:`assert_same_table`)."""
    names = {p.name for d in (a, b) for p in d.iterdir() if p.suffix in (".csv", ".parquet")}
    assert names, f"{a}: no tables"
    for name in sorted(names):
        assert (a / name).is_file() and (b / name).is_file(), f"{name}: not in both"
        assert_same_table(a / name, b / name)


def assert_same_table(a: Path, b: Path) -> None:
    """Two output tables hold the same: CSV byte for byte, Parquet frame for frame."""
    if a.suffix == ".parquet":
        pd.testing.assert_frame_equal(pd.read_parquet(a), pd.read_parquet(b), obj=a.name)
    else:
        assert a.read_text() == b.read_text(), a.name
