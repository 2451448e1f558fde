"""Compare policies under common random numbers.

Every policy (an arm of a scenario file) runs the same replications with the same
seed, so each replication sees the same patients with the same draws under every
policy. Differences are therefore paired: their spread across
replications is only what the policy changes, and their CIs are narrower than
unpaired ones (the ratio is reported).

CIs are t-intervals across replications. Ratios of mean differences (cost per
readmission averted, cost per bed-day saved) get percentile-bootstrap CIs over
replications.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

from sim.analysis.intervals import t_interval
from sim.config import Scenario, variant
from sim.labels import CAPACITY_CAPTION, ECONOMICS, MAIN_METRICS, arm_label, signed_pounds
from sim.labels import metric as metric_label
from sim.rng import study_stream
from sim.runner import Dask
from sim.studies.saved import run_worlds
from sim.study import Html, kind

if TYPE_CHECKING:
    from sim.workspace import Workspace

__all__ = ["Comparison", "compare", "MAIN_METRICS", "ECONOMICS"]


def _boot_ratio(num: np.ndarray, den: np.ndarray, seed: int) -> tuple[float, float, float]:
    """mean(num) / mean(den) with a percentile bootstrap CI over replications."""
    ok = np.isfinite(num) & np.isfinite(den)
    num, den = num[ok], den[ok]
    if len(num) < 2 or den.mean() == 0:
        return math.nan, math.nan, math.nan
    rng = study_stream(seed, "bootstrap")
    idx = rng.integers(0, len(num), (2000, len(num)))
    with np.errstate(divide="ignore", invalid="ignore"):
        boot = num[idx].mean(axis=1) / den[idx].mean(axis=1)
    lo, hi = np.nanpercentile(boot, [2.5, 97.5])
    return float(num.mean() / den.mean()), float(lo), float(hi)


@kind
@dataclass
class Comparison:
    """The result of :func:`compare`, as a study (:class:`sim.study.Study`)."""

    kind: ClassVar[str] = "compare"
    captions: ClassVar[dict[str, str]] = {
        "forest": "What each policy changes against the baseline: paired differences with 95% "
        "confidence intervals",
        "capacity": CAPACITY_CAPTION,
    }

    table: pd.DataFrame  # metric, policy, baseline, mean, ci_low, ci_high, diff_*, ratio, n
    metrics: pd.DataFrame  # replication, policy, metric, value
    timeseries: pd.DataFrame
    replications: int
    notes: list[str] = field(default_factory=list)
    scenarios: list[Scenario] = field(default_factory=list)  # the files', the baseline's first

    def tables(self) -> dict[str, pd.DataFrame | str]:
        """compare.csv, metrics.parquet, notes.txt; timeseries.parquet for services."""
        out: dict[str, pd.DataFrame | str] = {
            "compare.csv": self.table,
            "metrics.parquet": self.metrics,
            "notes.txt": "\n".join(self.notes) + "\n",
        }
        if len(self.timeseries):
            out["timeseries.parquet"] = self.timeseries
        return out

    def figures(self) -> dict:
        """A forest plot of the paired differences; capacity over time."""
        from sim import plots
        from sim.figures import capacity_figure
        from sim.labels import FOREST_METRICS

        out = {"forest.png": plots.forest(self.table, FOREST_METRICS)}
        if len(self.timeseries):
            out["capacity.png"] = capacity_figure(self.timeseries, self.scenarios[0])
        return out

    def stamp(self) -> str:
        """``N replications``."""
        return f"{self.replications} replications"

    def manifest(self, files: list[str]) -> dict[str, Any]:
        """The files' scenarios, the seed, the replications and the files."""
        return {
            "scenarios": [s.name for s in self.scenarios],
            "seed": self.scenarios[0].seed,
            "replications": self.replications,
            "files": files,
        }

    def printout(self) -> str:
        """The main metrics and the economics per policy, and the notes."""
        metrics = set(self.table["metric"])
        shown = [m for m in [*MAIN_METRICS, *ECONOMICS] if m in metrics]
        notes = "\n".join(f"note: {x}" for x in self.notes)
        return _table_text(self.table, shown) + "\n\n" + notes

    def shows(self) -> dict[str, pd.DataFrame]:
        """compare.csv."""
        return {"compare.csv": self.table}

    def answer(self) -> list[str]:
        """Each policy against the baseline, per year: a table of paired differences."""
        return _answer(self.table)

    def aims(self) -> str:
        """The policies compared."""
        return "Policies compared on the same patients (common random numbers): " + ", ".join(
            a.name for sc in self.scenarios for a in sc.arms
        )

    @classmethod
    def read(
        cls, directory: Path, manifest: dict[str, Any], scenarios: list[Scenario]
    ) -> Comparison:
        """The comparison's table (and notes) back from its directory."""
        notes = directory / "notes.txt"
        return cls(
            pd.read_csv(directory / "compare.csv"),
            pd.DataFrame(),
            pd.DataFrame(),
            manifest.get("replications") or 0,
            notes.read_text(encoding="utf-8").splitlines() if notes.is_file() else [],
            scenarios,
        )


def _policy_names(scenarios: list[Scenario]) -> list[tuple[Scenario, str, str]]:
    pairs = [(s, a.name) for s in scenarios for a in s.arms]
    arm_names = [a for _, a in pairs]
    out = []
    for s, a in pairs:
        label = a if arm_names.count(a) == 1 else f"{s.name}:{a}"
        out.append((s, a, label))
    return out


def compare(
    scenarios: list[Scenario],
    replications: int,
    jobs: int | None = None,
    progress: Callable[[int], None] | None = None,
    dask: Dask | None = None,
    workspace: Workspace | None = None,
    report: Callable[[str], None] | None = None,
) -> Comparison:
    """Run every policy of every scenario with the first scenario's seed; compare them.

    The baseline is the first policy of the first scenario. With ``workspace``, finished
    replications are saved as they go, and an interrupted comparison is resumed
    (:func:`sim.studies.saved.run_worlds`).
    """
    originals = scenarios
    seed = scenarios[0].seed
    scenarios = [variant(s, {"seed": seed}, f"{s.name}: seed of the comparison") for s in scenarios]
    notes = [f"{replications} replications per policy, seed {seed}, common random numbers."]
    first = scenarios[0]
    if first.is_trial:
        notes.append(
            "Trial scenario: its arms hold different (randomised) patients, so differences "
            "between arms of one file are per replication, not paired patient by patient."
        )
    for s in scenarios[1:]:
        if s.feed != first.feed or s.population != first.population:
            notes.append(
                f"WARNING: {s.name} has another feed or population than {first.name}: its "
                "patients differ, so its differences are not paired."
            )
    metric_frames, ts_frames = [], []
    labels = _policy_names(scenarios)
    # a policy two files have alike (a what-if's unchanged baseline) is simulated once
    results = run_worlds(
        scenarios, replications, jobs, progress, dask, workspace=workspace, report=report
    )
    for s, r in zip(scenarios, results, strict=True):
        names = {a: lab for sc, a, lab in labels if sc is s}
        m = r.metrics.assign(policy=r.metrics["arm"].map(names))
        metric_frames.append(m.drop(columns="arm"))
        if r.timeseries is not None:
            ts_frames.append(r.timeseries.assign(arm=r.timeseries["arm"].map(names)))
    metrics = pd.concat(metric_frames, ignore_index=True)
    metrics = _add_economics(metrics, labels, first)
    wide = metrics.pivot_table(
        index="replication", columns=["metric", "policy"], values="value", aggfunc="first"
    )
    baseline = labels[0][2]
    rows = []
    order = list(dict.fromkeys(metrics["metric"]))
    for metric in order:
        for _, _, policy in labels:
            if (metric, policy) not in wide.columns:
                continue
            v = wide[(metric, policy)].to_numpy(float)
            mean, lo, hi = t_interval(v)
            row = {
                "metric": metric,
                "policy": policy,
                "baseline": baseline,
                "mean": mean,
                "ci_low": lo,
                "ci_high": hi,
                "replications": int(np.isfinite(v).sum()),
            }
            if policy != baseline and (metric, baseline) in wide.columns:
                b = wide[(metric, baseline)].to_numpy(float)
                d = v - b
                dm, dlo, dhi = t_interval(d)
                ok = np.isfinite(v) & np.isfinite(b)
                unpaired = math.nan
                if ok.sum() > 1:
                    se_u = math.sqrt(v[ok].var(ddof=1) / ok.sum() + b[ok].var(ddof=1) / ok.sum())
                    se_p = d[ok].std(ddof=1) / math.sqrt(ok.sum())
                    unpaired = se_p / se_u if se_u > 0 else math.nan
                row.update(
                    diff_mean=dm, diff_ci_low=dlo, diff_ci_high=dhi, paired_to_unpaired_ci=unpaired
                )
            rows.append(row)
    table = pd.DataFrame(rows)
    for econ in ("cost_per_readmission_averted", "cost_per_bed_day_saved"):
        ratio = _ratio_rows(metrics, econ, labels, seed)
        table = pd.concat([table, ratio], ignore_index=True)
        for r in ratio[ratio["mean"].isna()].itertuples():
            notes.append(f"{econ} for {r.policy}: undefined (the denominator's 95% CI includes 0).")
    notes.extend(_ranking_notes(table))
    ts = pd.concat(ts_frames, ignore_index=True) if ts_frames else pd.DataFrame()
    return Comparison(table, metrics, ts, replications, notes, list(originals))


def _add_economics(metrics: pd.DataFrame, labels, first: Scenario) -> pd.DataFrame:
    """Per-replication paired economics against the baseline policy (where costs are set)."""
    if first.costs is None or "cost_total_per_year" not in set(metrics["metric"]):
        return metrics
    wtp = first.costs.willingness_to_pay_per_readmission_averted
    wide = metrics.pivot_table(
        index="replication", columns=["metric", "policy"], values="value", aggfunc="first"
    )
    base = labels[0][2]
    extra = []
    for _, _, policy in labels[1:]:
        if ("cost_total_per_year", policy) not in wide.columns:
            continue
        dcost = wide[("cost_total_per_year", policy)] - wide[("cost_total_per_year", base)]
        averted = wide[("readmissions_per_year", base)] - wide[("readmissions_per_year", policy)]
        saved = wide[("ward_bed_days_per_year", base)] - wide[("ward_bed_days_per_year", policy)]
        for name, series in (
            ("incremental_cost_per_year", dcost),
            ("readmissions_averted_per_year", averted),
            ("bed_days_saved_per_year", saved),
            ("net_monetary_benefit_per_year", wtp * averted - dcost),
        ):
            extra.append(
                pd.DataFrame(
                    {
                        "replication": series.index,
                        "metric": name,
                        "value": series.to_numpy(),
                        "policy": policy,
                    }
                )
            )
    return pd.concat([metrics, *extra], ignore_index=True) if extra else metrics


def _ratio_rows(metrics: pd.DataFrame, name: str, labels, seed: int) -> pd.DataFrame:
    den_metric = (
        "readmissions_averted_per_year"
        if name == "cost_per_readmission_averted"
        else "bed_days_saved_per_year"
    )
    rows: list[dict] = []
    for _, _, policy in labels[1:]:
        num = metrics[
            (metrics["metric"] == "incremental_cost_per_year") & (metrics["policy"] == policy)
        ]
        den = metrics[(metrics["metric"] == den_metric) & (metrics["policy"] == policy)]
        if num.empty or den.empty:
            continue
        both = num.merge(den, on="replication", suffixes=("_n", "_d"))
        d = both["value_d"].to_numpy(float)
        _, dlo, dhi = t_interval(d)
        if dlo > 0 or dhi < 0:
            mean, lo, hi = _boot_ratio(both["value_n"].to_numpy(float), d, seed)
        else:  # the denominator may be 0: the ratio is undefined, not just uncertain
            mean = lo = hi = math.nan
        rows.append(
            {
                "metric": name,
                "policy": policy,
                "baseline": labels[0][2],
                "mean": mean,
                "ci_low": lo,
                "ci_high": hi,
                "replications": len(both),
            }
        )
    columns = ["metric", "policy", "baseline", "mean", "ci_low", "ci_high", "replications"]
    return pd.DataFrame(rows, columns=columns)


def _ranking_notes(table: pd.DataFrame) -> list[str]:
    notes = []
    t = (
        table[table["metric"].isin(MAIN_METRICS) & table["diff_mean"].notna()]
        if "diff_mean" in table
        else table.iloc[0:0]
    )
    # a CI that includes 0 and has width: not distinguishable (identical results rank equal)
    unclear = t[
        (t["diff_ci_low"] <= 0) & (t["diff_ci_high"] >= 0) & (t["diff_ci_high"] > t["diff_ci_low"])
    ]
    for policy, g in unclear.groupby("policy", sort=False):
        notes.append(
            f"CIs too wide to rank {policy} against {g['baseline'].iloc[0]} on: "
            + ", ".join(g["metric"])
            + " (the paired difference's 95% CI includes 0; "
            "more replications would narrow it)."
        )
    r = (
        t["paired_to_unpaired_ci"].dropna()
        if "paired_to_unpaired_ci" in t
        else pd.Series(dtype=float)
    )
    if len(r):
        notes.append(
            f"Common random numbers: paired CIs are {r.median():.2f} times the width of unpaired "
            f"ones (median over {len(r)} main metric comparisons; "
            f"range {r.min():.2f}-{r.max():.2f})."
        )
    return notes


def _table_text(table, metrics: list[str]) -> str:
    """One line per metric and policy: mean (95% CI) and the paired difference."""

    def fmt(m: float, lo: float, hi: float) -> str:
        if m is None or not math.isfinite(m):
            return "-"
        big = max(abs(m), abs(lo) if math.isfinite(lo) else 0) >= 100
        f = (lambda x: f"{x:,.0f}") if big else (lambda x: f"{x:.3g}")
        return f"{f(m)} ({f(lo)} to {f(hi)})" if math.isfinite(lo) else f(m)

    rows = []
    for name in metrics:
        for r in table[table["metric"] == name].itertuples():
            diff = getattr(r, "diff_mean", math.nan)
            rows.append(
                {
                    "metric": name,
                    "policy": r.policy,
                    "mean (95% CI)": fmt(r.mean, r.ci_low, r.ci_high),
                    "difference from baseline (95% CI)": (
                        fmt(diff, r.diff_ci_low, r.diff_ci_high)
                        if isinstance(diff, float) and math.isfinite(diff)
                        else ""
                    ),
                }
            )
    return pd.DataFrame(rows).to_string(index=False, justify="left")


# compare's answer: what a board asks of a policy (labels: sim.labels), and its format
_ANSWER = {
    "readmissions_per_year": "{:+,.0f}".format,
    "ward_bed_days_per_year": "{:+,.0f}".format,
    "out_of_area_per_year": "{:+,.0f}".format,
    "waiting_list_mean": "{:+,.1f}".format,
    "cost_total_per_year": signed_pounds,
    "qalys_discounted": "{:+,.1f}".format,
}


def _answer(t: pd.DataFrame) -> list[str]:
    """Each policy against the baseline, per year: a table of paired differences."""
    from html import escape as _e

    others = t[t["policy"] != t["baseline"]]
    if not len(others):
        raise KeyError("no policy besides the baseline")
    base = arm_label(others["baseline"].iloc[0])
    metrics = [m for m in _ANSWER if m in set(others["metric"])]
    reps = int(others["replications"].max())
    head = "".join(f"<th>{_e(metric_label(m).axis(difference=True))}</th>" for m in metrics)
    rows = []
    for policy, g in others.groupby("policy", sort=False):
        g = g.set_index("metric")
        cells = []
        for m in metrics:
            fmt = _ANSWER[m]
            r = g.loc[m] if m in g.index else None
            if r is None or pd.isna(r["diff_mean"]):
                cells.append("<td class=num>-</td>")
                continue
            text = (
                f"{fmt(r.diff_mean)}<br><small>({fmt(r.diff_ci_low)} to "
                f"{fmt(r.diff_ci_high)})</small>"
            )
            sure = not (r.diff_ci_low <= 0 <= r.diff_ci_high)
            cells.append(f"<td class=num>{'<b>' + text + '</b>' if sure else text}</td>")
        rows.append(f"<tr><th>{_e(arm_label(policy))}</th>{''.join(cells)}</tr>")
    return [
        f"What does each policy change against {base}?",
        Html(
            f'<table class="answer-table"><tr><th>policy minus {_e(base)}</th>{head}</tr>'
            + "".join(rows)
            + "</table>"
        ),
        f"Each cell: the mean difference from {base} and its 95% confidence interval, "
        f"paired by replication over {reps} replications (the same patients under every "
        "policy). Bold: the interval excludes zero, so the direction of the change is "
        "clear at this number of replications; otherwise more replications are needed to "
        "tell.",
    ]
