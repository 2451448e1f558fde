"""Published figures beside the simulated trials: the same statistic, its distribution,
and where the published value falls in it.

A published figure (``outcomes.published``) names a statistic of the trial analysis
(a column of ``trial.parquet``), an arm and a horizon, or an attendance share (from the
metrics). The simulated trials give a distribution of that statistic; the published
value's *percentile* among them (the share of simulated trials below it, ties counted
half) says how typical the published trial is of the scenario: near 50 it is typical,
below 2.5 or above 97.5 the scenario rarely produces it.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from sim.analysis.trial import reference_arm
from sim.config import ATTENDANCE_STATISTICS, RATIO_STATISTICS, PublishedFigure, Scenario
from sim.statistics import CI_COLUMNS

__all__ = ["published_figures", "simulated_values", "published_table", "percentile", "summary_of"]


def one_line(text: str) -> str:
    """A source as one line (a table cell must not break its row).

    A folded or literal YAML block's newlines and runs of spaces become single spaces.
    """
    return " ".join(str(text).split())


def published_figures(scenario: Scenario) -> list[PublishedFigure]:
    """Every published figure of the scenario, the named fields (CORE's) included."""
    pub = scenario.outcomes.published
    if pub is None:
        return []
    ref = reference_arm(scenario)
    compared = next((a.name for a in scenario.arms if a.name != ref), ref)
    offering = next((a.name for a in scenario.arms if a.peer_support is not None), None)
    out = [
        PublishedFigure(statistic="p_readmitted", arm=arm, value=v, n=pub.n_per_arm)
        for arm, v in pub.p_readmitted.items()
    ]
    for name in ("odds_ratio", "hazard_ratio"):
        iv = getattr(pub, name)
        if iv is not None:
            out.append(
                PublishedFigure(
                    statistic=name,
                    arm=compared,
                    value=iv.value,
                    ci_low=iv.ci_low,
                    ci_high=iv.ci_high,
                )
            )
    for name in ATTENDANCE_STATISTICS:
        v = getattr(pub, name)
        if v is not None and offering is not None:
            out.append(PublishedFigure(statistic=name, arm=offering, value=v))
    return out + list(pub.figures)


def simulated_values(
    trial: pd.DataFrame | None,
    metrics: pd.DataFrame,
    scenario: Scenario,
    statistic: str,
    arm: str,
    horizon: float | None = None,
) -> np.ndarray:
    """One value per simulated trial of a statistic, arm and horizon (NaNs dropped)."""
    if statistic in ATTENDANCE_STATISTICS:
        m = metrics[(metrics["arm"] == arm) & (metrics["metric"] == statistic)]
        return m["value"].dropna().to_numpy(float)
    if trial is None:
        raise ValueError(f"{statistic} is a statistic of trial scenarios")
    h = horizon if horizon is not None else scenario.outcomes.primary_horizon_days
    v = trial[(trial["arm"] == arm) & (trial["horizon_days"] == h)]
    if statistic not in v:
        return np.empty(0)
    return v[statistic].dropna().to_numpy(float)


def summary_of(statistic: str, how: str | None) -> str:
    """The default summary across trials: the median for ratios, else the mean."""
    return how or ("median" if statistic in RATIO_STATISTICS else "mean")


def percentile(values: np.ndarray, x: float) -> float:
    """Percentage of ``values`` below ``x``, ties counted half (NaN if there are none)."""
    if len(values) == 0:
        return math.nan
    return float(100 * (np.sum(values < x) + 0.5 * np.sum(values == x)) / len(values))


NARROW = 0.8  # a published CI narrower than this share of the simulated trials' is noted


def _width_ratio(
    trial: pd.DataFrame | None, scenario: Scenario, f: PublishedFigure, h: float
) -> float:
    """The published 95% CI's width over the median width of the simulated trials' own.

    On the log scale for a ratio. Well below 1 (under :data:`NARROW`), the paper's
    interval is narrower than a trial of the simulated size gives: it came from more
    data, a model with covariates, or another method, and the scenario's trial is not
    the trial the figure describes. NaN where there is no published CI or no simulated
    one.
    """
    cols = CI_COLUMNS.get(f.statistic)
    if f.ci_low is None or f.ci_high is None or cols is None or trial is None:
        return math.nan
    t = trial[(trial["arm"] == f.arm) & (trial["horizon_days"] == h)]
    if cols[0] not in t or t[cols[0]].isna().all():
        return math.nan
    lo, hi = t[cols[0]].to_numpy(float), t[cols[1]].to_numpy(float)
    ratio = f.statistic in RATIO_STATISTICS
    with np.errstate(divide="ignore", invalid="ignore"):
        width = np.log(hi / lo) if ratio else hi - lo
        published = math.log(f.ci_high / f.ci_low) if ratio else f.ci_high - f.ci_low
    width = width[np.isfinite(width) & (width > 0)]
    return float(published / np.median(width)) if len(width) else math.nan


def published_table(
    trial: pd.DataFrame | None, metrics: pd.DataFrame, scenario: Scenario
) -> pd.DataFrame:
    """Each published figure beside the simulated distribution of the same statistic."""
    pub = scenario.outcomes.published
    rows = []
    for f in published_figures(scenario):
        h = f.horizon_days or scenario.outcomes.primary_horizon_days
        v = simulated_values(trial, metrics, scenario, f.statistic, f.arm, h)
        rows.append(
            {
                "statistic": f.statistic,
                "arm": f.arm,
                "horizon_days": math.nan if f.statistic in ATTENDANCE_STATISTICS else h,
                "published": f.value,
                "published_ci_low": f.ci_low,
                "published_ci_high": f.ci_high,
                "published_sd": f.sd,
                "published_n": f.n,
                "simulated_mean": v.mean() if len(v) else math.nan,
                "simulated_median": float(np.median(v)) if len(v) else math.nan,
                "simulated_p2_5": float(np.percentile(v, 2.5)) if len(v) else math.nan,
                "simulated_p97_5": float(np.percentile(v, 97.5)) if len(v) else math.nan,
                "percentile": percentile(v, f.value),
                "replications": len(v),
                "ci_width_vs_simulated": _width_ratio(trial, scenario, f, h),
                "derived": f.derived,
                "source": one_line(f.source or (pub.source if pub else "")),
            }
        )
    return pd.DataFrame(rows)
