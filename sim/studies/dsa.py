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

import functools
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import pandas as pd

from sim import uncertainty
from sim.config import Scenario, resolved_yaml
from sim.labels import arm_label, field_label
from sim.printed import TextTable, money, number, wrap
from sim.results import Batch
from sim.studies.outcomes import OUTCOMES, check_files, outcome_rows
from sim.study import kind, read_table

if TYPE_CHECKING:
    from sim.runner import Dask

__all__ = [
    "DsaResult",
    "OneWay",
    "dsa",
    "dsa_to_directory",
    "variants",
    "run_variants",
    "dsa_table",
    "tornado_table",
    "tornado_text",
]

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
    one, two = arm_label(comparator), arm_label(first)
    what = (
        f"incremental net benefit of {one} against {two} at £{lam:,.0f} per QALY"
        if lam is not None
        else f"readmissions a year averted by {one} against {two}"
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


def tornado_text(bars: pd.DataFrame, top: int = 5) -> str:
    """The tornado's widest bars as printed: each field at its two percentiles."""
    what = bars["comparison"].iloc[0]
    in_money = "net benefit" in what
    fmt = (lambda v: money(v)) if in_money else (lambda v: number(v, 1))
    lines = [
        wrap(
            f"One-way sensitivity: the {what}, base case {fmt(bars['base'].iloc[0])}; each "
            "field at its 2.5th and 97.5th percentiles (its value there in brackets), widest "
            "first (tornado.png):"
        )
    ]
    t = TextTable(["", "at the 2.5th", "at the 97.5th"])
    for r in bars.head(top).itertuples():
        t.add(
            f"  {field_label(r.field)}",
            f"{fmt(r.outcome_at_low)} ({r.low_value:,.4g})",
            f"{fmt(r.outcome_at_high)} ({r.high_value:,.4g})",
        )
    lines.append(t.render())
    if len(bars) > top:
        lines.append(f"  ({len(bars) - top} more in tornado.csv)")
    return "\n".join(lines)


@kind
@dataclass
class OneWay:
    """``crisis-sim dsa``: the one-way analysis on its own, as a study."""

    kind: ClassVar[str] = "dsa"
    captions: ClassVar[dict[str, str]] = {"tornado": "One-way sensitivity analysis"}

    scenario: Scenario
    result: DsaResult
    replications: int
    whatifs: tuple[Scenario, ...] = ()
    resumed: int = 0
    out: Path | None = dataclass_field(default=None, compare=False)

    @property
    def scenarios(self) -> list[Scenario]:
        """The base file's scenario, then the what-ifs'."""
        return [self.scenario, *self.whatifs]

    def tables(self) -> dict[str, pd.DataFrame | str]:
        """dsa.csv (every variant and policy) and tornado.csv (the bars)."""
        out: dict[str, pd.DataFrame | str] = {"dsa.csv": self.result.table}
        if len(self.result.tornado):
            out["tornado.csv"] = self.result.tornado
        return out

    def figures(self) -> dict:
        """The tornado."""
        from sim import plots

        if not len(self.result.tornado):
            return {}
        return {"tornado.png": plots.tornado(self.result.tornado).figure}

    def stamp(self) -> str:
        """``N replications``."""
        return f"{self.replications} replications a variant"

    def manifest(self, files: list[str]) -> dict[str, Any]:
        """Scenario, what-ifs, seed, replications, runs resumed, files."""
        return {
            "scenario": self.scenario.name,
            "whatifs": [s.name for s in self.whatifs],
            "seed": self.scenario.seed,
            "replications": self.replications,
            "resumed_runs": self.resumed,
            "files": files,
        }

    def printout(self) -> str:
        """The tornado's widest bars."""
        head = wrap(
            f"One-way analysis of {self.scenario.name}: every field of its uncertainty block "
            f"in turn, {self.replications} replications a variant (the same patients in "
            "every variant), seed {0}.".format(self.scenario.seed)
        )
        if not len(self.result.tornado):
            return head + "\n\n(one policy: no comparison, so no tornado; dsa.csv has the means)"
        return head + "\n\n" + tornado_text(self.result.tornado)

    def shows(self) -> dict[str, pd.DataFrame]:
        """tornado.csv."""
        return {"tornado.csv": self.result.tornado} if len(self.result.tornado) else {}

    def answer(self) -> list[str]:
        """Which fields the result turns on."""
        bars = self.result.tornado
        if not len(bars):
            raise KeyError("no tornado")
        top = bars.iloc[0]
        return [
            "Which uncertain field does the result turn on most?",
            f"{field_label(top.field)}: over its 95% range the {top.comparison} goes from "
            f"{top.outcome_at_low:,.0f} to {top.outcome_at_high:,.0f}.",
        ]

    def aims(self) -> str:
        """The fields varied."""
        return "One-way sensitivity analysis of every field of the uncertainty block."

    @classmethod
    def read(cls, directory: Path, manifest: dict[str, Any], scenarios: list[Scenario]) -> Any:
        """The one-way analysis back from its directory."""
        table = read_table(directory, "dsa.csv")
        if table is None:
            raise OSError(f"{directory}: no dsa.csv")
        tornado = read_table(directory, "tornado.csv")
        return cls(
            scenarios[0] if scenarios else None,  # type: ignore[arg-type]
            DsaResult(table, tornado if tornado is not None else pd.DataFrame()),
            manifest.get("replications") or 0,
            tuple(scenarios[1:]),
        )


def _saving_chunk(scenarios: tuple[Scenario, ...], plan: list, reps: list[int]) -> Batch:
    """A chunk of replications of every variant, as one batch to save."""
    frames = []
    for r in reps:
        frame = run_variants(scenarios, plan, r)
        frame.insert(0, "replication", r)
        frames.append(frame)
    return Batch(list(reps), {"dsa": pd.concat(frames, ignore_index=True)})


def dsa_to_directory(
    scenario: Scenario,
    out: Path | None,
    *,
    replications: int = 10,
    whatifs: Sequence[Scenario] = (),
    jobs: int | None = None,
    resume: bool = False,
    force: bool = False,
    dask: Dask | None = None,
    progress: Callable[[int], None] | None = None,
    report: Callable[[str], None] | None = None,
    sources: Sequence[tuple[str, Scenario | str | Path]] = (),
    saved_in: Path | None = None,
) -> OneWay:
    """What ``crisis-sim dsa`` does: the one-way analysis, saved as it goes, resumable."""
    from sim.runner import default_jobs, run_chunks
    from sim.workspace import Workspace

    scenarios = (scenario, *whatifs)
    check_files(scenarios, 2, replications)
    plan = variants(scenario)
    marker = "".join(resolved_yaml(s) for s in scenarios) + "# one-way analysis\n"
    ws = Workspace(
        out,
        f"{scenario.name}-dsa",
        force=force,
        marker=marker,
        resume=resume,
        tables=("dsa",),
        sources=sources,
        replications=range(replications),
        saved_in=saved_in,
    )
    store = ws.store
    assert store is not None
    reps = list(range(replications))
    saved = ws.resumed(reps, report, progress)
    n_saved = sum(len(b.replications) for b in saved)
    have = {r for b in saved for r in b.replications}
    t0 = time.perf_counter()
    with ws.saving(replications):
        fresh = run_chunks(
            functools.partial(_saving_chunk, scenarios, plan),
            [r for r in reps if r not in have],
            jobs or default_jobs(),
            progress,
            lambda chunk, batch: store.save_batch(batch),
            dask,
        )
    frames = [t for b in [*saved, *(b for _, b in fresh)] if (t := b.get("dsa")) is not None]
    runs = pd.concat(frames, ignore_index=True).sort_values("replication", kind="stable")
    result = assemble(runs.drop(columns="replication").reset_index(drop=True), scenario)
    study = OneWay(scenario, result, replications, tuple(whatifs), n_saved)
    study.out = ws.write(study, wall_seconds=time.perf_counter() - t0)
    return study
