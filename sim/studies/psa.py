"""Probabilistic sensitivity analysis: many parameter sets, every policy on each.

The scenario at many parameter sets, every policy on each, and the decision it supports.

:func:`psa` draws ``samples`` sets of the scenario's ``uncertainty`` block
(:mod:`sim.uncertainty`) and runs every arm (policy) of the scenario at each set for
``replications`` inner replications. Set s runs replications s R ... s R + R - 1 of the
scenario's seed: the Monte Carlo noise of different sets is independent (what the
variance decomposition assumes: O'Hagan, Stevenson and Madan, *Health Econ*
2007;16:1009-1023), while within a set every policy sees the same patients with the
same draws (common random numbers: the difference between policies carries no noise of
its own).

Results are totals over the measured period per replication (metrics of
``sim.analysis.tables``: discounted costs and QALYs with an ``economics`` block,
readmissions, bed-days, out-of-area placements, the waiting list), averaged over the
inner replications into one row per set and policy.

With more than one inner replication, :func:`variance_decomposition` separates the
spread between sets (parameter uncertainty) from the Monte Carlo noise within them.

:func:`psa_to_directory` is what ``crisis-sim psa`` does: the same, saving finished
work as it goes (so a stopped run is finished with ``--resume``), and writing the
directory of tables and figures (docs/outputs.md).
"""

from __future__ import annotations

import functools
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from sim import provenance, uncertainty
from sim.analysis import decision
from sim.config import ConfigError, Scenario, resolved_yaml
from sim.runner import Dask, default_jobs, run_replications
from sim.studies.dsa import DsaResult, assemble, run_variants, variants
from sim.studies.outcomes import OUTCOMES, outcome_rows
from sim.studies.outcomes import check_files as _check

__all__ = [
    "OUTCOMES",
    "PsaResult",
    "psa",
    "psa_to_directory",
    "variance_decomposition",
    "decision_table",
    "evppi_table",
]


@dataclass
class PsaResult:
    """What a PSA gives: the parameter sets, the tidy table, the inner replications."""

    scenario: Scenario
    parameters: pd.DataFrame  # one row per set, one column per uncertain path
    table: pd.DataFrame  # sample, policy, the parameters, the outcomes (means), replications
    per_replication: pd.DataFrame  # sample, inner, replication, policy, the outcomes
    evppi: pd.DataFrame | None = None  # set by psa_to_directory (evppi_table)
    dsa: DsaResult | None = None  # set by psa_to_directory (one-way analysis)


def _one(scenarios: tuple[Scenario, ...], draws: pd.DataFrame, inner: int, k: int) -> pd.DataFrame:
    """Set ``k // inner``, its inner replication ``k % inner``: every file's policies.

    It is replication ``k`` of the scenario's seed: each set has replications of its
    own (Monte Carlo noise independent between sets), and within a set every policy of
    every file sees the same patients with the same draws.
    """
    from sim.api import replicate_many

    sample, rep = divmod(k, inner)
    values = draws.iloc[sample].to_dict()
    ats = [uncertainty.apply(s, values, f"{s.name}, set {sample}") for s in scenarios]
    frames = []
    # a policy two files have alike is simulated once
    for tables in replicate_many(ats, k, keep_timeseries=False):
        rows = outcome_rows(tables["metrics"])
        rows.insert(0, "replication", k)
        rows.insert(0, "inner", rep)
        rows.insert(0, "sample", sample)
        frames.append(rows)
    return pd.concat(frames, ignore_index=True)


def _assemble(
    scenarios: Sequence[Scenario], draws: pd.DataFrame, per_rep: pd.DataFrame, inner: int
) -> PsaResult:
    per_rep = per_rep.sort_values(["replication"], kind="stable").reset_index(drop=True)
    means = per_rep.groupby(["sample", "policy"], sort=False)[list(OUTCOMES)].mean()
    table = means.reset_index().merge(draws.reset_index(), on="sample", how="left")
    table["replications"] = inner
    cols = ["sample", "policy", *draws.columns, *OUTCOMES, "replications"]
    return PsaResult(scenarios[0], draws, table[cols], per_rep)


def psa(
    scenario: Scenario,
    samples: int,
    replications: int = 1,
    jobs: int | None = None,
    progress: Callable[[int], None] | None = None,
    dask: Dask | None = None,
    whatifs: Sequence[Scenario] = (),
) -> PsaResult:
    """Run the scenario (and any what-ifs) at ``samples`` parameter sets.

    The sets are drawn from the scenario's uncertainty block; every policy of every
    file runs at each, ``replications`` inner replications each.

    Same seed, same table, whatever ``jobs`` is or whether it runs on Dask.
    """
    scenarios = (scenario, *whatifs)
    _check(scenarios, samples, replications)
    draws = uncertainty.draw(scenario, samples)
    task = functools.partial(_one, scenarios, draws, replications)
    parts = run_replications(
        task, range(samples * replications), jobs or default_jobs(), progress, dask=dask
    )
    return _assemble(scenarios, draws, pd.concat(parts, ignore_index=True), replications)


def _saving(
    psa_task: Callable[[int], pd.DataFrame],
    dsa_task: Callable[[int], pd.DataFrame],
    psa_runs: int,
    k: int,
) -> dict[str, pd.DataFrame]:
    """Run ``k`` as a saved run keeps it (its frame keyed by ``replication`` = ``k``).

    The PSA's runs come first, then the one-way analysis's.
    """
    if k < psa_runs:
        return {"psa": psa_task(k)}
    frame = dsa_task(k - psa_runs)
    frame.insert(0, "replication", k)
    return {"dsa": frame}


def psa_to_directory(
    scenario: Scenario,
    out: Path | None,
    *,
    samples: int,
    replications: int = 1,
    dsa_replications: int = 10,
    whatifs: Sequence[Scenario] = (),
    jobs: int | None = None,
    resume: bool = False,
    force: bool = False,
    dask: Dask | None = None,
    progress: Callable[[int], None] | None = None,
    report: Callable[[str], None] | None = None,
    command: list[str] | None = None,
    notes: bytes | None = None,
) -> tuple[PsaResult, Path]:
    """What ``crisis-sim psa`` does: run the PSA and write its directory.

    Then the one-way analysis (:mod:`sim.studies.dsa`), ``dsa_replications`` runs per
    variant (0: none). Work is saved as it finishes; a stopped run is finished with
    ``resume=True`` (same files, seed, samples and replications), giving the same
    tables (docs/outputs.md).
    """
    from sim import io
    from sim.api import open_store, saved_on_stop

    started = datetime.now().astimezone()
    scenarios = (scenario, *whatifs)
    _check(scenarios, samples, replications)
    marker = "".join(resolved_yaml(s) for s in scenarios)
    marker += f"# psa: {samples} parameter sets, {replications} inner replication(s)\n"
    marker += f"# one-way analysis: {dsa_replications} replication(s), every variant in each\n"
    out, store = open_store(
        out, f"{scenario.name}-psa", marker, resume, force, started, tables=("psa", "dsa")
    )
    plan = variants(scenario) if dsa_replications > 0 else []
    psa_runs = samples * replications
    total = psa_runs + (dsa_replications if plan else 0)
    saved = store.saved(range(total)) if resume else {}
    if saved and report:
        report(f"resuming: {len(saved)} of {total} runs were saved")
    if progress and saved:
        progress(len(saved))
    draws = uncertainty.draw(scenario, samples)
    task = functools.partial(
        _saving,
        functools.partial(_one, scenarios, draws, replications),
        functools.partial(run_variants, scenarios, plan),
        psa_runs,
    )
    todo = [k for k in range(total) if k not in saved]
    t0 = time.perf_counter()
    with saved_on_stop(store, total, out):
        fresh = run_replications(
            task, todo, jobs or default_jobs(), progress, on_results=store.save, dask=dask
        )
    done = dict(saved)
    done.update(zip(todo, fresh, strict=True))
    per_rep = pd.concat([done[k]["psa"] for k in range(psa_runs)], ignore_index=True)
    result = _assemble(scenarios, draws, per_rep, replications)
    if plan:
        runs = [done[k]["dsa"] for k in range(psa_runs, total)]
        result.dsa = assemble(
            pd.concat(runs, ignore_index=True).drop(columns="replication"), scenario
        )
    wall = time.perf_counter() - t0
    files = _files(result, replications, tuple(whatifs), samples)
    if notes is not None:
        files["scenario.notes.csv"] = notes
    info = provenance.record(
        "psa",
        command or [Path(sys.argv[0]).name, *sys.argv[1:]],
        started,
        wall,
        scenario=scenario.name,
        whatifs=[s.name for s in whatifs],
        seed=scenario.seed,
        samples=samples,
        replications=replications,
        one_way_replications=dsa_replications,
        sampling=scenario.uncertainty.sampling if scenario.uncertainty else None,
        resumed_runs=len(saved),
        files=sorted([*files, "manifest.json"]),
    )
    files["manifest.json"] = (json.dumps(info, indent=2) + "\n").encode()
    io.write_files(out, files, force=force)
    store.remove()
    return result, out


def _files(
    result: PsaResult, replications: int, whatifs: tuple[Scenario, ...] = (), samples: int = 0
) -> dict[str, bytes]:
    """The PSA directory's files: tables, figures as PNG and SVG.

    Tables with a row per parameter set are Parquet, the rest CSV.

    ``scenario.resolved.yaml`` holds every file's scenario (one document each, the
    base first).
    """
    from sim import figures
    from sim.io import table_bytes

    sc = result.scenario
    params = pd.DataFrame(
        [
            {"field": path, "distribution": uncertainty.describe(p), "source": p.source}
            for p in (sc.uncertainty.parameters if sc.uncertainty else ())
            for path in uncertainty.columns_of(p)
        ]
    )
    stamp = figures.stamp(
        "psa",
        [sc.name, *(w.name for w in whatifs)],
        sc.seed,
        f"{samples} parameter sets x {replications} replication(s)",
    )
    tables = {
        "psa.parquet": result.table,
        "psa_replications.parquet": result.per_replication,
        "parameters.csv": params,
    }
    out = {}
    if replications > 1:
        tables["variance.csv"] = variance_decomposition(result)
    if sc.economics is not None and sc.costs is not None:
        tables["decision.csv"] = decision_table(result)
        evppi = result.evppi = evppi_table(result)
        tables["evppi.csv"] = evppi
        out.update(figures.encoded(figures.psa_figures(result.table, sc, evppi), stamp))
    if result.dsa is not None:
        tables["dsa.csv"] = result.dsa.table
        if len(result.dsa.tornado):
            tables["tornado.csv"] = result.dsa.tornado
            tornado = {"tornado.png": figures.tornado_figure(result.dsa.tornado)}
            out.update(figures.encoded(tornado, stamp))
    return {
        "scenario.resolved.yaml": "---\n".join(resolved_yaml(s) for s in (sc, *whatifs)).encode(),
        **{name: table_bytes(name, t) for name, t in tables.items()},
        **out,
    }


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
    per = per.copy()
    outcomes = list(OUTCOMES)
    econ = result.scenario.economics
    if econ is not None and result.scenario.costs is not None:
        # what the decision turns on: each policy's net benefit over the first policy's,
        # paired within each inner replication (common random numbers)
        lam = econ.willingness_to_pay_per_qaly[0]
        nb = lam * per["qalys"] - per["cost"]
        first = per["policy"].iloc[0]
        base = nb[per["policy"] == first].to_numpy()
        key = per.loc[per["policy"] == first, ["sample", "inner"]].apply(tuple, axis=1)
        lookup = dict(zip(key, base, strict=True))
        name = f"net_benefit_vs_{first}_at_{lam:g}"
        per[name] = nb - [lookup[k] for k in per[["sample", "inner"]].apply(tuple, axis=1)]
        per.loc[per["policy"] == first, name] = np.nan
        outcomes.append(name)
    rows = []
    for policy, g in per.groupby("policy", sort=False):
        for outcome in outcomes:
            if g[outcome].isna().all():
                continue
            by_set = g.groupby("sample")[outcome]
            total = float(by_set.mean().var(ddof=1))
            noise = float(by_set.var(ddof=1).mean()) / r
            scale = float(g[outcome].abs().mean()) ** 2
            varies = total > 1e-12 * scale  # else the outcome does not vary: no share
            rows.append(
                {
                    "policy": policy,
                    "outcome": outcome,
                    "variance_of_set_means": total,
                    "monte_carlo_part": noise,
                    "monte_carlo_share": noise / total if varies else np.nan,
                    "parameter_part": max(total - noise, 0.0),
                }
            )
    return pd.DataFrame(rows)


def _cost_and_qalys(table: pd.DataFrame) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The policies in order, and cost and QALYs as (sets, policies) arrays."""
    policies = list(dict.fromkeys(table["policy"]))
    cost = table.pivot(index="sample", columns="policy", values="cost")[policies]
    qalys = table.pivot(index="sample", columns="policy", values="qalys")[policies]
    return policies, cost.to_numpy(), qalys.to_numpy()


def evppi_table(result: PsaResult) -> pd.DataFrame:
    """EVPPI of each uncertain field, of each multi-field entry, and of each named group.

    A field alone by an additive GAM, a group by a Gaussian process (interactions
    included): :func:`sim.analysis.decision.evppi`.

    At each threshold: ``threshold``, ``parameter`` (a field, or a group's name),
    ``fields``, ``evppi``, ``se``, ``evpi``, ``share`` (of the EVPI), in decreasing
    order within each threshold.
    """
    sc = result.scenario
    econ = sc.economics
    if econ is None or sc.costs is None or sc.uncertainty is None:
        raise ConfigError(f"{sc.name}: EVPPI needs economics, costs and uncertainty blocks")
    t = result.table
    policies, cost, qalys = _cost_and_qalys(t)
    params = result.parameters
    groups = [(c, [c]) for c in params.columns]
    groups += [
        (" + ".join(uncertainty.columns_of(p)), list(uncertainty.columns_of(p)))
        for p in sc.uncertainty.parameters
        if len(uncertainty.columns_of(p)) > 1
    ]
    groups += [(name, list(paths)) for name, paths in sc.uncertainty.groups.items()]
    rows = []
    for lam in econ.willingness_to_pay_per_qaly:
        nb = decision.net_benefit(cost, qalys, lam)
        total = decision.evpi(nb)
        part = []
        for name, cols in groups:
            e = decision.evppi(nb, params[cols].to_numpy(), seed=sc.seed % 2**32)
            share = e.value / total if total > 0 else np.nan
            part.append((lam, name, " + ".join(cols), e.value, e.se, total, share))
        rows += sorted(part, key=lambda r: -r[3])
    return pd.DataFrame(
        rows, columns=["threshold", "parameter", "fields", "evppi", "se", "evpi", "share"]
    )


def decision_table(result: PsaResult) -> pd.DataFrame:
    """Expected cost and QALYs per policy, with the incremental analysis.

    And at each threshold of the scenario's ``economics`` block: the net monetary
    benefit, the probability of being cost-effective, and the EVPI.
    """
    econ = result.scenario.economics
    if econ is None or result.scenario.costs is None:
        raise ConfigError(f"{result.scenario.name}: a decision table needs economics and costs")
    t = result.table
    policies, cost, qalys = _cost_and_qalys(t)
    inc = decision.incremental_analysis(policies, cost.mean(axis=0), qalys.mean(axis=0))
    # for a planner without QALYs: cost per readmission averted against the first policy
    # (discounted costs over the period; readmissions over it, undiscounted)
    sc = result.scenario
    w0 = sc.feed.warm_up_days if not sc.is_trial else 0.0  # type: ignore[union-attr]
    years = (sc.end_day - w0) / 365.25
    means = t.groupby("policy", sort=False)[["cost", "readmissions_per_year"]].mean()
    first = policies[0]
    averted = (means.loc[first, "readmissions_per_year"] - means["readmissions_per_year"]) * years
    extra = means["cost"] - means.loc[first, "cost"]
    per = (extra / averted).where(averted > 0)
    inc["readmissions_averted"] = inc["strategy"].map(averted)
    inc["cost_per_readmission_averted"] = inc["strategy"].map(per)
    people = float(t["patients"].mean())
    population = None
    if econ.population_per_year is not None:
        population = decision.discounted_population(
            econ.population_per_year, econ.decision_horizon_years, econ.discount_rate_costs
        )
    for lam in econ.willingness_to_pay_per_qaly:
        nb = decision.net_benefit(cost, qalys, lam)
        share = decision.ceac(cost, qalys, [lam])[0]
        mean_nb = dict(zip(policies, nb.mean(axis=0), strict=True))
        prob = dict(zip(policies, share, strict=True))
        inc[f"nmb_at_{lam:g}"] = inc["strategy"].map(mean_nb)
        inc[f"p_cost_effective_at_{lam:g}"] = inc["strategy"].map(prob)
        evpi = decision.evpi(nb)
        inc[f"evpi_at_{lam:g}"] = evpi
        inc[f"evpi_per_person_at_{lam:g}"] = evpi / people if people > 0 else np.nan
        if population is not None:
            inc[f"evpi_population_at_{lam:g}"] = evpi / people * population
    return inc
