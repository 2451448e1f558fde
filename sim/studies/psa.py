"""Probabilistic sensitivity analysis: many parameter sets, every policy on each.

The scenario at many parameter sets, every policy on each, and the decision it supports.

:func:`psa` draws ``samples`` sets of the scenario's ``uncertainty`` block
(:mod:`sim.uncertainty`) and runs every arm (policy) of the scenario at each set for
``replications`` inner replications. The inner replications use the scenario's own
replication seeds, the same for every set, and every policy sees the same patients
with the same draws: common random numbers, so that differences between sets and
between policies come from the parameters and the policies, not from new noise.

Results are totals over the measured period per replication (metrics of
``sim.analysis.tables``: discounted costs and QALYs with an ``economics`` block,
readmissions, bed-days, out-of-area placements, the waiting list), averaged over the
inner replications into one row per set and policy.

With more than one inner replication, :func:`variance_decomposition` separates the
spread between sets (parameter uncertainty) from the Monte Carlo noise within them.

The command line, resumable runs and the figures are not built yet (issue 12).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim import uncertainty
from sim.analysis import decision
from sim.config import ConfigError, Scenario
from sim.runner import Dask, default_jobs, run_replications

__all__ = ["OUTCOMES", "PsaResult", "psa", "variance_decomposition", "decision_table"]

# outcome column <- metric of sim.analysis.tables (per replication and arm)
OUTCOMES = {
    "cost": "cost_discounted",
    "qalys": "qalys_discounted",
    "readmissions_per_year": "readmissions_per_year",
    "bed_days_per_year": "ward_bed_days_per_year",
    "out_of_area_per_year": "out_of_area_per_year",
    "waiting_list_mean": "waiting_list_mean",
}


@dataclass
class PsaResult:
    """What a PSA gives: the parameter sets, the tidy table, the inner replications."""

    scenario: Scenario
    parameters: pd.DataFrame  # one row per set, one column per uncertain path
    table: pd.DataFrame  # sample, policy, the parameters, the outcomes (means), replications
    per_replication: pd.DataFrame  # sample, replication, policy, the outcomes


def _one(scenario: Scenario, draws: pd.DataFrame, inner: int, k: int) -> pd.DataFrame:
    """Set ``k // inner`` at inner replication ``k % inner``: its outcomes per policy."""
    from sim.api import replicate

    sample, rep = divmod(k, inner)
    at = uncertainty.apply(scenario, draws.iloc[sample].to_dict(), f"set {sample}")
    m = replicate(at, rep)["metrics"]
    wide = m.pivot_table(index="arm", columns="metric", values="value", sort=False)
    out = pd.DataFrame(
        {
            "sample": sample,
            "replication": rep,
            "policy": wide.index.to_numpy(),
            **{
                name: wide[metric].to_numpy() if metric in wide else np.nan
                for name, metric in OUTCOMES.items()
            },
        }
    )
    return out


def psa(
    scenario: Scenario,
    samples: int,
    replications: int = 1,
    jobs: int | None = None,
    progress: Callable[[int], None] | None = None,
    dask: Dask | None = None,
) -> PsaResult:
    """Run the scenario at ``samples`` parameter sets, every policy, ``replications`` each.

    Same seed, same table, whatever ``jobs`` is or whether it runs on Dask.
    """
    if samples < 2:
        raise ConfigError(f"{scenario.name}: psa needs at least 2 parameter sets")
    if replications < 1:
        raise ConfigError(f"{scenario.name}: psa needs at least 1 inner replication")
    uncertainty.check_paths(scenario, scenario.name)
    draws = uncertainty.draw(scenario, samples)
    task = functools.partial(_one, scenario, draws, replications)
    parts = run_replications(
        task, range(samples * replications), jobs or default_jobs(), progress, dask=dask
    )
    per_rep = pd.concat(parts, ignore_index=True)
    means = per_rep.groupby(["sample", "policy"], sort=False)[list(OUTCOMES)].mean()
    table = means.reset_index().merge(draws.reset_index(), on="sample", how="left")
    table["replications"] = replications
    cols = ["sample", "policy", *draws.columns, *OUTCOMES, "replications"]
    return PsaResult(scenario, draws, table[cols], per_rep)


def variance_decomposition(result: PsaResult) -> pd.DataFrame:
    """How much of the spread between parameter sets is Monte Carlo noise.

    Per policy and outcome: the variance of the set means, the part of it that is
    Monte Carlo noise (the within-set variance over the inner replications, divided by
    their number), and that part's share. Needs at least 2 inner replications.

    A large Monte Carlo share (say above 10%) inflates the PSA's spread and biases the
    value of information upward: run more inner replications.
    """
    per = result.per_replication
    r = int(per.groupby(["sample", "policy"]).size().min())
    if r < 2:
        raise ValueError("the decomposition needs at least 2 inner replications")
    rows = []
    for policy, g in per.groupby("policy", sort=False):
        for outcome in OUTCOMES:
            by_set = g.groupby("sample")[outcome]
            total = float(by_set.mean().var(ddof=1))
            noise = float(by_set.var(ddof=1).mean()) / r
            rows.append(
                {
                    "policy": policy,
                    "outcome": outcome,
                    "variance_of_set_means": total,
                    "monte_carlo_part": noise,
                    "monte_carlo_share": noise / total if total > 0 else np.nan,
                    "parameter_part": max(total - noise, 0.0),
                }
            )
    return pd.DataFrame(rows)


def decision_table(result: PsaResult) -> pd.DataFrame:
    """Expected cost and QALYs per policy, with the incremental analysis.

    And at each threshold of the scenario's ``economics`` block: the net monetary
    benefit, the probability of being cost-effective, and the EVPI.
    """
    econ = result.scenario.economics
    if econ is None or result.scenario.costs is None:
        raise ConfigError(f"{result.scenario.name}: a decision table needs economics and costs")
    t = result.table
    policies = list(dict.fromkeys(t["policy"]))
    cost = t.pivot(index="sample", columns="policy", values="cost")[policies].to_numpy()
    qalys = t.pivot(index="sample", columns="policy", values="qalys")[policies].to_numpy()
    inc = decision.incremental_analysis(policies, cost.mean(axis=0), qalys.mean(axis=0))
    for lam in econ.willingness_to_pay_per_qaly:
        nb = decision.net_benefit(cost, qalys, lam)
        share = decision.ceac(cost, qalys, [lam])[0]
        mean_nb = dict(zip(policies, nb.mean(axis=0), strict=True))
        prob = dict(zip(policies, share, strict=True))
        inc[f"nmb_at_{lam:g}"] = inc["strategy"].map(mean_nb)
        inc[f"p_cost_effective_at_{lam:g}"] = inc["strategy"].map(prob)
        inc[f"evpi_at_{lam:g}"] = decision.evpi(nb)
    return inc
