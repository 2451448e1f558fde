"""One-way deterministic sensitivity analysis, and the tornado it draws.

Each uncertain field of the scenario's ``uncertainty`` block in turn is set to the 2.5th
and the 97.5th percentile of its distribution (:func:`sim.uncertainty.one_way`), the
others held at the scenario's own values (the base case), and every policy of every
file runs ``replications`` replications there. Every variant runs the same replications
(0 ... R - 1) of the scenario's seed: the same patients with the same draws, so the
differences between variants and between policies carry little noise of their own
(common random numbers).

The tornado is the outcome a decision turns on, at each field's two percentiles:
with ``economics`` and ``costs`` blocks, the incremental net monetary benefit at the
first threshold of the best other policy against the first (the comparator with the
highest expected net benefit in the base case); without them, the readmissions it
averts a year. Bars are ordered by their width: the fields the decision is most
sensitive to on top. Unlike the PSA's EVPPI, a bar says how far the result moves over
the field's range, not what learning it would be worth.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from sim import uncertainty
from sim.config import Scenario
from sim.studies.outcomes import OUTCOMES, check_files, outcome_rows

__all__ = ["DsaResult", "dsa", "variants", "run_variants", "dsa_table", "tornado_table"]

BASE = "base case"


@dataclass
class DsaResult:
    """The one-way analysis: a row per variant and policy, and the tornado's bars."""

    table: pd.DataFrame  # field, quantile, value, policy, outcomes (means), replications
    tornado: pd.DataFrame  # field, low and high values, outcome at each, base, width


def variants(scenario: Scenario, q: float = 0.025) -> list[tuple[str, float, float, dict]]:
    """The base case, then each field at its ``q`` and ``1 - q`` quantiles."""
    return [(BASE, math.nan, math.nan, {}), *uncertainty.one_way(scenario, q)]


def run_variants(scenarios: tuple[Scenario, ...], plan: list, rep: int) -> pd.DataFrame:
    """Every variant of ``plan`` at replication ``rep``, every file's policies.

    One replication of all the variants together, so that a policy a variant leaves
    alone (the usual care a peer-support field does not touch, or every policy when the
    field is a cost) is simulated once, not once per variant (:func:`sim.api.replicate_many`).
    """
    from sim.api import replicate_many

    points, labels = [], []
    for j, (field, quantile, value, changes) in enumerate(plan):
        for scenario in scenarios:
            at = (
                uncertainty.apply(scenario, changes, f"{scenario.name}, {field} at q {quantile:g}")
                if changes
                else scenario
            )
            points.append(at)
            labels.append((j, field, quantile, value))
    frames = []
    for (j, field, quantile, value), tables in zip(
        labels, replicate_many(points, rep, keep_timeseries=False), strict=True
    ):
        rows = outcome_rows(tables["metrics"])
        rows.insert(0, "inner", rep)
        rows.insert(0, "value", value)
        rows.insert(0, "quantile", quantile)
        rows.insert(0, "field", field)
        rows.insert(0, "variant", j)
        frames.append(rows)
    return pd.concat(frames, ignore_index=True)


def _by_variant(per_replication: pd.DataFrame) -> pd.DataFrame:
    """Replications' frames (each every variant) as one frame, variant by variant."""
    return per_replication.sort_values(["variant", "inner"], kind="stable").reset_index(drop=True)


def dsa_table(per_replication: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """Means over the replications per variant and policy; net benefit at each threshold."""
    keys = ["variant", "field", "quantile", "value", "policy"]
    t = per_replication.groupby(keys, sort=False, dropna=False)[list(OUTCOMES)].mean().reset_index()
    t["replications"] = int(per_replication["inner"].nunique())
    econ = scenario.economics
    if econ is not None and scenario.costs is not None:
        for lam in econ.willingness_to_pay_per_qaly:
            t[f"nmb_at_{lam:g}"] = lam * t["qalys"] - t["cost"]
    return t.sort_values(["variant"], kind="stable").drop(columns="variant").reset_index(drop=True)


def tornado_table(table: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """The tornado's bars, widest first; ``comparison`` says what they measure."""
    policies = list(dict.fromkeys(table["policy"]))
    first = policies[0]
    econ = scenario.economics
    if econ is not None and scenario.costs is not None:
        lam = econ.willingness_to_pay_per_qaly[0]
        column, sign = f"nmb_at_{lam:g}", 1.0
    else:
        lam, column, sign = None, "readmissions_per_year", -1.0

    def gain(rows: pd.DataFrame) -> pd.Series:  # each policy against the first
        v = rows.set_index("policy")[column]
        return sign * (v - v[first])

    base = gain(table[table["field"] == BASE])
    others = [p for p in policies if p != first]
    if not others:
        return pd.DataFrame()
    comparator = max(others, key=lambda p: base[p])
    what = (
        f"incremental net benefit of {comparator} vs {first} at £{lam:,.0f} per QALY"
        if lam is not None
        else f"readmissions a year averted by {comparator} vs {first}"
    )
    rows = []
    varied = table[table["field"] != BASE]
    for field, g in varied.groupby("field", sort=False):
        (_, low), (_, high) = sorted(g.groupby("quantile"), key=lambda x: x[0])
        rows.append(
            {
                "field": field,
                "low_value": float(low["value"].iloc[0]),
                "high_value": float(high["value"].iloc[0]),
                "outcome_at_low": float(gain(low)[comparator]),
                "outcome_at_high": float(gain(high)[comparator]),
                "base": float(base[comparator]),
            }
        )
    for r in rows:
        r["width"] = abs(r["outcome_at_high"] - r["outcome_at_low"])
    bars = pd.DataFrame(rows).sort_values("width", ascending=False, kind="stable")
    bars.insert(0, "comparison", what)
    return bars.reset_index(drop=True)


def assemble(per_replication: pd.DataFrame, scenario: Scenario) -> DsaResult:
    """The one-way analysis's tables from its replications (:func:`run_variants` frames)."""
    table = dsa_table(_by_variant(per_replication), scenario)
    return DsaResult(table, tornado_table(table, scenario))


def dsa(
    scenario: Scenario,
    replications: int = 10,
    whatifs: tuple[Scenario, ...] = (),
    jobs: int | None = None,
    progress=None,
    dask=None,
) -> DsaResult:
    """The one-way analysis of the scenario's uncertain fields (and any what-ifs).

    Same seed, same tables, whatever ``jobs`` is or whether it runs on Dask.
    """
    import functools

    from sim.runner import default_jobs, each, run_chunks

    scenarios = (scenario, *whatifs)
    check_files(scenarios, 2, replications)
    plan = variants(scenario)
    task = functools.partial(run_variants, scenarios, plan)
    chunks = run_chunks(
        functools.partial(each, task),
        range(replications),
        jobs or default_jobs(),
        progress,
        dask=dask,
    )
    parts = [frame for _, pairs in chunks for _, frame in pairs]
    return assemble(pd.concat(parts, ignore_index=True), scenario)
