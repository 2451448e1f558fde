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
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from sim import uncertainty
from sim.analysis import decision
from sim.config import ConfigError, Scenario, resolved_yaml
from sim.labels import arm_label, field_label
from sim.printed import TextTable, estimate, money, number, share_of, wrap
from sim.results import Batch
from sim.runner import Dask, default_jobs, each, run_chunks
from sim.studies.dsa import DsaResult, assemble, run_variants, tornado_text, variants
from sim.studies.outcomes import OUTCOMES, outcome_rows
from sim.studies.outcomes import check_files as _check
from sim.study import kind, read_table
from sim.workspace import Workspace

__all__ = [
    "OUTCOMES",
    "PsaResult",
    "psa",
    "psa_to_directory",
    "variance_decomposition",
    "decision_table",
    "evppi_table",
]


@kind
@dataclass
class PsaResult:
    """What a PSA gives: the parameter sets, the tidy table, the inner replications.

    And, once :meth:`analysed` (as :func:`psa_to_directory` does), the decision it
    supports, computed once and then only read: the decision table, the EVPPI, the
    Monte Carlo share of the spread. As a study (:class:`sim.study.Study`), it is
    what ``crisis-sim psa`` writes, prints and reports.
    """

    kind: ClassVar[str] = "psa"
    captions: ClassVar[dict[str, str]] = {
        "ce_plane": "Cost-effectiveness plane: extra cost against extra QALYs, one point per "
        "parameter set",
        "ceac": "Probability each policy is cost-effective against willingness to pay",
        "evppi": "Value of learning each parameter (EVPPI)",
        "tornado": "One-way sensitivity analysis",
    }

    scenario: Scenario
    parameters: pd.DataFrame  # one row per set, one column per uncertain path
    table: pd.DataFrame  # sample, policy, the parameters, the outcomes (means), replications
    per_replication: pd.DataFrame  # sample, inner, replication, policy, the outcomes
    evppi: pd.DataFrame | None = None  # set by analysed (evppi_table)
    dsa: DsaResult | None = None  # set by psa_to_directory (one-way analysis)
    whatifs: tuple[Scenario, ...] = ()
    replications: int = 1  # inner replications per set
    dsa_replications: int = 0
    resumed: int = 0  # runs found saved by an interrupted attempt
    decision: pd.DataFrame | None = None  # set by analysed (decision_table)
    variance: pd.DataFrame | None = None  # set by analysed (variance_decomposition)
    described: pd.DataFrame = field(default_factory=pd.DataFrame)  # parameters.csv
    out: Path | None = None  # set by psa_to_directory: the directory written

    @property
    def scenarios(self) -> list[Scenario]:
        """The base file's scenario, then the what-ifs'."""
        return [self.scenario, *self.whatifs]

    @property
    def samples(self) -> int:
        """The number of parameter sets."""
        return len(self.parameters)

    def analysed(self) -> PsaResult:
        """Compute once what the decision turns on (and return the result).

        The distributions drawn (``described``); with 2 or more inner replications the
        variance decomposition; with economics and costs, the decision table and the
        EVPPI.
        """
        sc = self.scenario
        self.described = pd.DataFrame(
            [
                {"field": path, "distribution": uncertainty.describe(p), "source": p.source}
                for p in (sc.uncertainty.parameters if sc.uncertainty else ())
                for path in uncertainty.columns_of(p)
            ]
        )
        if self.replications > 1:
            self.variance = variance_decomposition(self)
        if sc.economics is not None and sc.costs is not None:
            self.decision = decision_table(self)
            self.evppi = evppi_table(self)
        return self

    def tables(self) -> dict[str, pd.DataFrame | str]:
        """The PSA's tables: a row per parameter set as Parquet, the rest CSV."""
        out: dict[str, pd.DataFrame | str] = {
            "psa.parquet": self.table,
            "psa_replications.parquet": self.per_replication,
            "parameters.csv": self.described,
        }
        if self.variance is not None:
            out["variance.csv"] = self.variance
        if self.decision is not None:
            out["decision.csv"] = self.decision
            assert self.evppi is not None
            out["evppi.csv"] = self.evppi
        if self.dsa is not None:
            out["dsa.csv"] = self.dsa.table
            if len(self.dsa.tornado):
                out["tornado.csv"] = self.dsa.tornado
        return out

    def figures(self) -> dict:
        """The plane, the CEAC, the EVPPI ranking; the tornado.

        The first three with economics, the tornado with a one-way analysis. The plane
        is against the first policy; the EVPPI ranking is at the first threshold.
        """
        from sim import plots

        out: dict = {}
        econ = self.scenario.economics
        if self.decision is not None and econ is not None:
            wtp = list(econ.willingness_to_pay_per_qaly)
            baseline = str(self.table["policy"].iloc[0])
            grid = np.linspace(0, max(50_000.0, 1.5 * max(wtp)), 101)
            out["ce_plane.png"] = plots.ce_plane(self.table, baseline, wtp).figure
            out["ceac.png"] = plots.acceptability(self.table, grid, wtp).figure
            e = self.evppi
            if e is not None and len(e):
                out["evppi.png"] = plots.evppi_bars(e[e["threshold"] == wtp[0]]).figure
        if self.dsa is not None and len(self.dsa.tornado):
            out["tornado.png"] = plots.tornado(self.dsa.tornado).figure
        return out

    def stamp(self) -> str:
        """``N parameter sets x R replication(s)``."""
        return f"{self.samples} parameter sets x {self.replications} replication(s)"

    def manifest(self, files: list[str]) -> dict[str, Any]:
        """Scenario, what-ifs, seed, sets, replications, sampling, runs resumed, files."""
        sc = self.scenario
        return {
            "scenario": sc.name,
            "whatifs": [s.name for s in self.whatifs],
            "seed": sc.seed,
            "samples": self.samples,
            "replications": self.replications,
            "one_way_replications": self.dsa_replications,
            "sampling": sc.uncertainty.sampling if sc.uncertainty else None,
            "resumed_runs": self.resumed,
            "files": files,
        }

    def printout(self) -> str:
        """The means, the decision at each threshold, the tornado and the noise share."""
        return _text(self)

    def shows(self) -> dict[str, pd.DataFrame]:
        """The decision, the EVPPI, the tornado and the distributions drawn."""
        named = {
            "decision.csv": self.decision,
            "evppi.csv": self.evppi,
            "tornado.csv": self.dsa.tornado if self.dsa is not None else None,
            "parameters.csv": self.described,
        }
        return {name: t for name, t in named.items() if t is not None and len(t.columns)}

    def answer(self) -> list[str]:
        """The policy to fund at each threshold, how sure, and what learning is worth."""
        d = self.decision
        if d is None:
            raise KeyError("no decision table")
        cols = [c for c in d.columns if c.startswith("p_cost_effective_at_")]
        out = ["Which policy should be funded, and how sure is that?"]
        for c in cols:
            lam = c.removeprefix("p_cost_effective_at_")
            best = d.loc[d[f"nmb_at_{lam}"].idxmax()]
            out.append(
                f"At £{float(lam):,.0f} per QALY, {arm_label(best['strategy'])} has the "
                f"highest expected net benefit and is cost-effective in {best[c]:.0%} of the "
                f"parameter sets. The value of perfect information is "
                f"£{best[f'evpi_at_{lam}']:,.0f} for the period's patients "
                f"(£{best[f'evpi_per_person_at_{lam}']:,.2f} a person)."
            )
        return out

    def aims(self) -> str:
        """The parameter sets and replications."""
        sc = self.scenario
        sampling = sc.uncertainty.sampling if sc is not None and sc.uncertainty else None
        return (
            f"Probabilistic sensitivity analysis: {self.samples} parameter sets "
            f"({sampling}) x {self.replications} replications, and a one-way analysis."
        )

    @classmethod
    def read(cls, directory: Path, manifest: dict[str, Any], scenarios: list[Scenario]) -> Any:
        """The PSA's decision, EVPPI, tornado and distributions back from its directory."""
        samples = manifest.get("samples") or 0
        out = cls(
            scenarios[0] if scenarios else None,  # type: ignore[arg-type]
            pd.DataFrame(index=range(samples)),
            pd.DataFrame(),
            pd.DataFrame(),
            evppi=read_table(directory, "evppi.csv"),
            whatifs=tuple(scenarios[1:]),
            replications=manifest.get("replications"),  # type: ignore[arg-type]
            decision=_renamed(read_table(directory, "decision.csv")),
        )
        tornado = read_table(directory, "tornado.csv")
        if tornado is not None:
            out.dsa = DsaResult(pd.DataFrame(), tornado)
        described = read_table(directory, "parameters.csv")
        if described is not None:
            out.described = described
        return out


def _one(scenarios: tuple[Scenario, ...], draws: pd.DataFrame, inner: int, k: int) -> pd.DataFrame:
    """Set ``k // inner``, its inner replication ``k % inner``: every file's policies.

    It is replication ``k`` of the scenario's seed: each set has replications of its
    own (Monte Carlo noise independent between sets), and within a set every policy of
    every file sees the same patients with the same draws.
    """
    from sim.api import replicate_many

    sample, rep = divmod(k, inner)
    ats = _at_set(scenarios, draws, sample)
    frames = []
    # a policy two files have alike is simulated once
    for tables in replicate_many(ats, k, keep_timeseries=False):
        rows = outcome_rows(tables["metrics"])
        rows.insert(0, "replication", k)
        rows.insert(0, "inner", rep)
        rows.insert(0, "sample", sample)
        frames.append(rows)
    return pd.concat(frames, ignore_index=True)


def _at(scenarios: tuple[Scenario, ...], draws: pd.DataFrame, sample: int) -> list[Scenario]:
    """Every file's scenario at parameter set ``sample``, validated."""
    values = draws.iloc[sample].to_dict()
    return [uncertainty.apply(s, values, f"{s.name}, set {sample}") for s in scenarios]


# the last set a process built: its inner replications, one after another in a chunk,
# run it without building (and validating) it again
_LAST: list = [None, None]


def _at_set(scenarios: tuple[Scenario, ...], draws: pd.DataFrame, sample: int) -> list[Scenario]:
    key = (scenarios, draws, sample)
    last = _LAST[0]
    if last is None or last[0] is not scenarios or last[1] is not draws or last[2] != sample:
        _LAST[:] = [key, _at(scenarios, draws, sample)]
    return _LAST[1]


def check_sets(scenarios: tuple[Scenario, ...], draws: pd.DataFrame) -> None:
    """Every parameter set validated once, before anything runs.

    A set that breaks a rule of the schema in any file is refused here (``ConfigError``
    naming the set, the file and the rule), not hours later in a worker.
    """
    for sample in range(len(draws)):
        _at(scenarios, draws, sample)


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
    check_sets(scenarios, draws)
    task = functools.partial(_one, scenarios, draws, replications)
    chunks = run_chunks(
        functools.partial(each, task),
        range(samples * replications),
        jobs or default_jobs(),
        progress,
        dask=dask,
    )
    parts = [frame for _, pairs in chunks for _, frame in pairs]
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


def _saving_chunk(task: Callable[[int], dict[str, pd.DataFrame]], ks: list[int]) -> Batch:
    """A chunk of runs' frames, joined into one batch (what a worker sends back)."""
    return Batch.of(each(task, ks))


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
    sources: Sequence[tuple[str, Scenario | str | Path]] = (),
    saved_in: Path | None = None,
) -> PsaResult:
    """What ``crisis-sim psa`` does: run the PSA and write its directory.

    ``saved_in``: with ``resume``, the interrupted PSA's directory when the result is
    to go to another ``out``.

    Then the one-way analysis (:mod:`sim.studies.dsa`), ``dsa_replications`` runs per
    variant (0: none). Work is saved as it finishes, a chunk of runs at a time, as a
    run's replications are (:func:`sim.runner.run_chunks`); a stopped run is finished
    with ``resume=True`` (same files, seed, samples and replications), giving the
    same tables (docs/outputs.md). Returns the result, analysed, with ``out`` the
    directory written.
    """
    scenarios = (scenario, *whatifs)
    _check(scenarios, samples, replications)
    draws = uncertainty.draw(scenario, samples)
    check_sets(scenarios, draws)  # before the directory is opened: a refusal leaves nothing
    marker = "".join(resolved_yaml(s) for s in scenarios)
    marker += f"# psa: {samples} parameter sets, {replications} inner replication(s)\n"
    marker += f"# one-way analysis: {dsa_replications} replication(s), every variant in each\n"
    plan = variants(scenario) if dsa_replications > 0 else []
    psa_runs = samples * replications
    total = psa_runs + (dsa_replications if plan else 0)
    ws = Workspace(
        out,
        f"{scenario.name}-psa",
        force=force,
        marker=marker,
        resume=resume,
        tables=("psa", "dsa"),
        sources=sources,
        command=command,
        replications=range(total),
        saved_in=saved_in,
    )
    store = ws.store
    assert store is not None
    saved = ws.resumed(range(total), report, progress, unit="runs")
    n_saved = sum(len(b.replications) for b in saved)
    task = functools.partial(
        _saving,
        functools.partial(_one, scenarios, draws, replications),
        functools.partial(run_variants, scenarios, plan),
        psa_runs,
    )
    have = {r for b in saved for r in b.replications}
    todo = [k for k in range(total) if k not in have]
    t0 = time.perf_counter()
    with ws.saving(total):
        fresh = run_chunks(
            functools.partial(_saving_chunk, task),
            todo,
            jobs or default_jobs(),
            progress,
            lambda chunk, batch: store.save_batch(batch),
            dask,
        )
    batches = [*saved, *(batch for _, batch in fresh)]

    def joined(name: str) -> pd.DataFrame:
        frames = [t for b in batches if (t := b.get(name)) is not None]
        frame = pd.concat(frames, ignore_index=True)
        return frame.sort_values("replication", kind="stable").reset_index(drop=True)

    result = _assemble(scenarios, draws, joined("psa"), replications)
    if plan:
        runs = joined("dsa")
        result.dsa = assemble(runs.drop(columns="replication"), scenario)
    result.whatifs, result.replications = tuple(whatifs), replications
    result.dsa_replications, result.resumed = dsa_replications, n_saved
    result.analysed()
    result.out = ws.write(result, wall_seconds=time.perf_counter() - t0)
    return result


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


def _renamed(decision: pd.DataFrame | None) -> pd.DataFrame | None:
    """A decision table read back, with the column renamed since written under its old name."""
    if decision is None:
        return None
    old = "cost_per_readmission_averted"  # until 2026-12: now named for what it is
    return decision.rename(columns={old: f"discounted_{old}"})


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
    # (discounted costs over the period; readmissions over it, undiscounted). Not compare's
    # cost_per_readmission_averted (undiscounted, per year, a ratio of paired replications)
    sc = result.scenario
    w0, w1 = sc.measured_window
    years = (w1 - w0) / 365.25
    means = t.groupby("policy", sort=False)[["cost", "readmissions_per_year"]].mean()
    first = policies[0]
    averted = (means.loc[first, "readmissions_per_year"] - means["readmissions_per_year"]) * years
    extra = means["cost"] - means.loc[first, "cost"]
    per = (extra / averted).where(averted > 0)
    inc["readmissions_averted"] = inc["strategy"].map(averted)
    inc["discounted_cost_per_readmission_averted"] = inc["strategy"].map(per)
    people = float(t["patients"].mean())
    population = None
    if econ.population_per_year is not None:
        population = decision.discounted_population(
            econ.population_per_year, econ.decision_horizon_years, econ.discount_rate_costs
        )
    for lam in econ.willingness_to_pay_per_qaly:
        nb = decision.net_benefit(cost, qalys, lam)
        share = decision.ceac(cost, qalys, [lam]).iloc[0].to_numpy()
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


def _text(result: PsaResult) -> str:
    """A PSA's means, decision, value of information, tornado and noise, as printed.

    Each probability has its Monte Carlo error (a Wilson interval over the sets); a
    warning where the sets are too few for a figure.
    """
    reps = result.replications
    sc = result.scenario
    n = result.table["sample"].nunique()
    lines = [
        wrap(
            f"PSA of {sc.name}: {n} parameter sets \u00d7 {reps} inner "
            f"replication{'s' * (reps != 1)}, seed {sc.seed}."
        ),
        "",
    ]
    means = result.table.groupby("policy", sort=False)[
        ["cost", "qalys", "readmissions_per_year", "bed_days_per_year"]
    ].mean()
    columns = {
        "cost": ("cost", money),
        "qalys": ("QALYs", lambda v: number(v, 1)),
        "readmissions_per_year": ("readmissions a year", lambda v: number(v, 1)),
        "bed_days_per_year": ("ward bed-days a year", lambda v: number(v, 0)),
    }
    shown = [c for c in columns if means[c].notna().any()]  # no economics: no cost column
    t = TextTable(["", *(columns[c][0] for c in shown)])
    for policy, r in means.iterrows():
        t.add(arm_label(policy), *(columns[c][1](r[c]) if pd.notna(r[c]) else "-" for c in shown))
    lines.append(
        wrap(
            "Means over the parameter sets (cost and QALYs discounted, totals over the "
            "measured period; readmissions and ward bed-days a year):"
        )
    )
    lines.append(t.render())
    warn = []
    if sc.economics is not None and sc.costs is not None:
        econ = sc.economics
        d = result.decision
        assert d is not None
        lines += [
            "",
            wrap(
                f"Decision ({econ.perspective}; discounted at {econ.discount_rate_costs:.1%} "
                f"costs, {econ.discount_rate_qalys:.1%} QALYs):"
            ),
        ]
        for r in d.itertuples():
            by = (
                f" by {arm_label(r.compared_with)}"
                if r.status in ("dominated", "extendedly dominated")
                else ""
            )
            icer = (
                ""
                if pd.isna(r.icer)
                else f": ICER {money(r.icer)} per QALY against {arm_label(r.compared_with)}"
            )
            status = "the reference (not dominated)" if r.status == "reference" else r.status
            lines.append(f"  {arm_label(r.strategy)}: {status}{by}{icer}")
        lams = list(econ.willingness_to_pay_per_qaly)
        pt = TextTable(
            ["  probability cost-effective (95% CI)", *(f"at £{lam:,.0f}/QALY" for lam in lams)]
        )
        for r in d.itertuples():
            pt.add(
                f"  {arm_label(r.strategy)}",
                *(share_of(getattr(r, f"p_cost_effective_at_{lam:g}"), n) for lam in lams),
            )
        lines += ["", pt.render()]
        for lam in lams:
            evpi = max(float(d[f"evpi_at_{lam:g}"].iloc[0]), 0.0)
            per_person = max(float(d[f"evpi_per_person_at_{lam:g}"].iloc[0]), 0.0)
            pop = f"evpi_population_at_{lam:g}"
            over = (
                f", {money(max(float(d[pop].iloc[0]), 0.0))} over "
                f"{econ.decision_horizon_years} years' population"
                if pop in d
                else ""
            )
            lines.append(
                wrap(
                    f"  EVPI at £{lam:,.0f}/QALY: {money(evpi)} for the period's patients "
                    f"({money(per_person)} per person{over})",
                    indent="    ",
                )
            )
        base = arm_label(result.table["policy"].iloc[0])
        for r in d.itertuples():
            if pd.notna(r.discounted_cost_per_readmission_averted):
                c = r.discounted_cost_per_readmission_averted
                each = (
                    f"and saves {money(-c)} for each (cheaper and more effective)"
                    if c < 0
                    else f"at {money(c)} each"
                )
                lines.append(
                    wrap(
                        f"  {arm_label(r.strategy)} averts {r.readmissions_averted:,.0f} "
                        f"readmissions over the period against {base}, {each}",
                        indent="    ",
                    )
                )
        lam = lams[0]
        e = pd.DataFrame() if result.evppi is None else result.evppi
        e = e[e["threshold"] == lam].head(5) if len(e) else e
        if len(e) and not e["evpi"].iloc[0] > 0:
            lines.append(
                wrap(
                    f"  No value of information at £{lam:,.0f}/QALY: the same policy is best "
                    "in every parameter set (EVPI 0), so there is no EVPPI to rank.",
                    indent="    ",
                )
            )
        elif len(e):
            lines += ["", f"Worth learning most (EVPPI at £{lam:,.0f}/QALY, 95% interval):"]
            et = TextTable(["", "EVPPI", "share of the EVPI"])
            for r in e.itertuples():
                total = max(float(r.evpi), 0.0)
                v = min(max(float(r.evppi), 0.0), total)
                lo, hi = max(v - 1.96 * r.se, 0.0), min(v + 1.96 * r.se, total)
                name = field_label(r.parameter) + (" (group)" if " + " in r.fields else "")
                vague = lo <= 0 and hi >= total
                text = "not estimable from these sets" if vague else estimate(v, lo, hi, "£")
                share = f"{v / total:.0%}" if total > 0 and not vague else "-"
                et.add(f"  {name}", text, share)
            lines.append(et.render())
        if n < 100:
            warn.append(
                f"Warning: {n} parameter sets: each probability is known only to within its "
                "interval, and the EVPI and EVPPI are rough; a decision needs hundreds of sets "
                "(1,000 is usual)."
            )
    else:
        lines.append("(no economics and costs blocks: no decision table)")
    if result.dsa is not None and len(result.dsa.tornado):
        lines += ["", tornado_text(result.dsa.tornado)]
    if reps > 1:
        dec = result.variance
        assert dec is not None
        inb = dec["outcome"].str.startswith("net_benefit_vs_")
        dec = dec[(inb if inb.any() else dec["outcome"].isin(["cost", "qalys"]))]
        dec = dec[dec["monte_carlo_share"].notna()]
        if not dec.empty:
            worst = dec.sort_values("monte_carlo_share", ascending=False).iloc[0]
            share = worst.monte_carlo_share
            what = "incremental net benefit" if inb.any() else "cost and QALYs"
            lines += [
                "",
                wrap(
                    f"Monte Carlo noise in the {what}: {min(share, 1):.0%} of the spread "
                    f"between parameter sets (at most; {arm_label(worst.policy)}; variance.csv "
                    "has every output).",
                ),
            ]
            if share > 0.10:
                warn.append(
                    "Warning: the noise is above 10% of the spread: more inner replications "
                    "(--reps) are needed."
                )
    else:
        lines += [
            "",
            wrap(
                "One inner replication: the spread mixes parameter uncertainty and Monte "
                "Carlo noise; run --reps 2 or more to separate them."
            ),
        ]
    if warn:
        lines.append("")
        lines += [wrap(w, indent="  ") for w in warn]
    return "\n".join(lines)
