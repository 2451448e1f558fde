"""Sweep a scenario's fields over values, under common random numbers.

Every point of the grid runs the same replications with the same seed, so each
replication sees the same patients with the same draws at every point: differences
along the sweep are the field's doing, not new noise. A policy the swept field leaves
alone is the same at every point and is simulated once per replication
(:func:`sim.api.run_many`).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import Any

import pandas as pd
from yaml import YAMLError

from sim import api
from sim.analysis.intervals import t_half_width
from sim.config import ConfigError, Scenario, variant
from sim.config.loader import scalar
from sim.runner import Dask
from sim.studies.compare import MAIN_METRICS

__all__ = ["parse_set", "sweep", "DEFAULT_METRICS"]

# plotted and printed when the user names no --metric
DEFAULT_METRICS = [
    m
    for m in MAIN_METRICS
    if m
    in {
        "p_readmit_365d",
        "wait_days_mean",
        "waiting_list_mean",
        "ward_occupancy_mean",
        "cost_total_per_year",
    }
]


def parse_set(text: str) -> tuple[str, list[Any]]:
    """``path=1..10`` (step 1), ``path=0.5..0.9:0.1``, or ``path=a,b,c`` -> (path, values)."""
    path, sep, spec = text.partition("=")
    if not sep or not path or not spec:
        raise ConfigError(f"--set {text!r}: expected PATH=VALUES, e.g. peer_workers.count=1..10")
    try:
        if ".." in spec:
            span, _, step = spec.partition(":")
            a_text, b_text = span.split("..")
            nums = [scalar(x) for x in (a_text, b_text, step or "1")]
            if not all(isinstance(x, int | float) and not isinstance(x, bool) for x in nums):
                raise ValueError
            a, b, st = nums
            if st <= 0 or b < a:
                raise ValueError
            count = int(math.floor((b - a) / st + 1e-9)) + 1
            values = [a + i * st for i in range(count)]
            if all(isinstance(x, int) for x in nums):
                values = [int(v) for v in values]
            else:
                values = [round(v, 12) for v in values]
        else:
            values = [scalar(x) for x in spec.split(",")]
    except (ValueError, YAMLError):
        raise ConfigError(
            f"--set {text!r}: values must be a range (1..10, 0.5..0.9:0.1) or a list (a,b,c)"
        ) from None
    if len(values) > 1000:
        raise ConfigError(f"--set {text!r}: {len(values)} values; at most 1000")
    return path, values


def sweep(
    scenario: Scenario,
    settings: list[tuple[str, list[Any]]],
    replications: int,
    jobs: int | None = None,
    progress: Callable[[int], None] | None = None,
    dask: Dask | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run every point of the grid of ``settings`` with the same seed.

    Returns (tidy summary: set:<path> columns, arm, metric, mean, ci_low, ci_high,
    replications; and all per-replication metrics with the same set: columns).
    """
    grid = list(itertools.product(*[values for _, values in settings]))
    paths = [p for p, _ in settings]
    # validate every point before running any
    points = [
        (
            vals,
            variant(
                scenario,
                dict(zip(paths, vals, strict=True)),
                "--set " + ", ".join(f"{p}={v}" for p, v in zip(paths, vals, strict=True)),
            ),
        )
        for vals in grid
    ]
    summaries, all_metrics = [], []
    # each replication runs every point, each distinct policy once (a policy the swept
    # field does not touch is simulated once, not once per point)
    results = api.run_many(
        [sc for _, sc in points], replications, jobs, progress, dask, timeseries=False
    )
    for (vals, _), r in zip(points, results, strict=True):
        cols = {f"set:{p}": v for p, v in zip(paths, vals, strict=True)}
        summaries.append(r.summary.assign(**cols))
        all_metrics.append(r.metrics.assign(**cols))
    summary = pd.concat(summaries, ignore_index=True)
    front = [f"set:{p}" for p in paths]
    summary = summary[front + [c for c in summary.columns if c not in front]]
    per_rep = pd.concat(all_metrics, ignore_index=True)
    return _with_differences(summary, per_rep, front), per_rep


def _paired(diff: pd.Series, keys: list[str], prefix: str) -> pd.DataFrame:
    """Mean and 95% t-interval of paired differences (one per replication) by ``keys``."""
    g = diff.dropna().groupby(keys, sort=False)
    out = g.agg(mean="mean", sd="std", n="count")
    half = t_half_width(out["sd"], out["n"]).where(out["n"] > 1)
    return pd.DataFrame(
        {
            f"{prefix}_mean": out["mean"],
            f"{prefix}_ci_low": out["mean"] - half,
            f"{prefix}_ci_high": out["mean"] + half,
        }
    )


def _with_differences(
    summary: pd.DataFrame, per_rep: pd.DataFrame, sets: list[str]
) -> pd.DataFrame:
    """``summary`` with two paired differences, each taken replication by replication.

    ``diff_*``: each arm minus the first arm at the same point (empty for the first
    arm); ``change_*``: each point minus the sweep's first point, same arm (zero
    there). Under common random numbers both are much narrower than the difference of
    the two intervals.
    """
    keys = [*sets, "metric", "replication"]
    value = per_rep.set_index([*keys, "arm"])["value"]
    arms = list(dict.fromkeys(per_rep["arm"]))
    wide = value.unstack("arm")[arms]
    vs_arm = wide.sub(wide[arms[0]], axis=0).drop(columns=arms[0]).stack().rename("d")
    first = per_rep[(per_rep[sets] == per_rep[sets].iloc[0]).all(axis=1)]
    start = first.set_index(["metric", "replication", "arm"])["value"]
    joined = per_rep.join(start.rename("start"), on=["metric", "replication", "arm"])
    change = (joined["value"] - joined["start"]).set_axis(
        pd.MultiIndex.from_frame(joined[[*sets, "metric", "replication", "arm"]])
    )
    by = [*sets, "arm", "metric"]
    d = _paired(vs_arm, by, "diff")
    c = _paired(change, by, "change")
    return summary.join(d, on=by).join(c, on=by)
