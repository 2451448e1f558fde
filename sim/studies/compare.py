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

from sim.analysis.intervals import bounded_interval, t_interval
from sim.config import Scenario, variant
from sim.labels import CAPACITY_CAPTION, ECONOMICS, MAIN_METRICS, arm_label
from sim.labels import metric as metric_label
from sim.printed import BOUND_NOTE, TextTable, block_decimals, estimate, marked, wrap
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
        """The main metrics per policy, value for money against the baseline, the notes."""
        return _printout(self.table, self.notes, self.scenarios)

    def shows(self) -> dict[str, pd.DataFrame]:
        """compare.csv."""
        return {"compare.csv": self.table}

    def answer(self) -> list[str]:
        """Each policy against the baseline, per year: a table of paired differences.

        Then, where the baseline's ward is full, what that does to the savings.
        """
        return _answer(self.table) + [n for n in self.notes if n.startswith("The ward is full")]

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
    out, used = [], set()
    for s, a in pairs:
        label = a if arm_names.count(a) == 1 else f"{s.name}:{a}"
        k, unique = 1, label
        while unique in used:  # two files of one name, each with this policy
            k += 1
            unique = f"{label} ({k})"
        used.add(unique)
        out.append((s, a, unique))
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
            how = "t"
            lower, upper = metric_label(metric).bounds
            if lower is not None and math.isfinite(lo):
                lo, hi, how = bounded_interval(mean, (hi - lo) / 2, lower, upper)
            row = {
                "metric": metric,
                "policy": policy,
                "baseline": baseline,
                "mean": mean,
                "ci_low": lo,
                "ci_high": hi,
                "interval": how,
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
            notes.append(
                f"{metric_label(econ).label.capitalize()} for {arm_label(r.policy)}: undefined "
                "(the 95% CI of its denominator includes 0)."
            )
    notes.extend(_ranking_notes(table))
    full = _full_ward_note(table, first)
    if full:
        notes.append(full)
    ts = pd.concat(ts_frames, ignore_index=True) if ts_frames else pd.DataFrame()
    return Comparison(table, metrics, ts, replications, notes, list(originals))


FULL_WARD = 0.95  # mean occupancy, as a share of the beds, above which the ward is full


def _full_ward_note(table: pd.DataFrame, first: Scenario) -> str | None:
    """Where the baseline's ward is full: what averting a readmission then saves.

    A full ward admits the next person waiting (or sends them out of area) in the bed a
    readmission averted would have taken, so the saving shows as fewer out-of-area
    placements more than as fewer ward bed-days.
    """
    beds = first.acute_care.ward.capacity
    if not beds:
        return None
    base = table[
        (table["policy"] == table["baseline"]) & (table["metric"] == "ward_occupancy_mean")
    ]
    if base.empty or not base["mean"].iloc[0] >= FULL_WARD * beds:
        return None
    share = base["mean"].iloc[0] / beds
    rows = table.set_index(["metric", "policy"])
    parts = []
    for policy in dict.fromkeys(table["policy"]):
        if policy == table["baseline"].iloc[0]:
            continue
        try:
            beds_saved = -rows.loc[("ward_bed_days_per_year", policy), "diff_mean"]
            oa = -rows.loc[("out_of_area_days_per_year", policy), "diff_mean"]
        except KeyError:
            continue
        if pd.notna(beds_saved) and pd.notna(oa):
            parts.append(
                f"{arm_label(policy)}: {oa:,.0f} fewer out-of-area bed-days a year, "
                f"{beds_saved:,.0f} fewer on the ward"
            )
    return (
        f"The ward is full under {arm_label(table['baseline'].iloc[0])} (its {beds} beds "
        f"{share:.0%} occupied on average): a readmission averted frees a bed that the next "
        "person takes, so the saving shows as fewer bed-days out of area more than as "
        "fewer on the ward" + (f" ({'; '.join(parts)})." if parts else ".")
    )


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
        verdict = quadrant(both["value_n"].to_numpy(float), d)
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
                "interval": "bootstrap",
                "replications": len(both),
                "verdict": verdict,
            }
        )
    columns = [
        "metric",
        "policy",
        "baseline",
        "mean",
        "ci_low",
        "ci_high",
        "interval",
        "replications",
        "verdict",
    ]
    return pd.DataFrame(rows, columns=columns)


# what a ratio of an extra cost to a gain means, by the signs of the two (the field's
# quadrants of the cost-effectiveness plane): a ratio is an ICER only in the north-east
VERDICTS = {
    "dominant": "cheaper and more effective",
    "dominated": "dearer and less effective",
    "icer": "dearer and more effective: the ratio is the price of each unit gained",
    "saving": "cheaper and less effective: the ratio is the saving per unit forgone",
    "uncertain": "the 95% CI of the cost or of the gain includes 0: the quadrant is not clear",
}


def quadrant(cost: np.ndarray, gain: np.ndarray) -> str:
    """Where a policy lies on the cost-effectiveness plane (a key of :data:`VERDICTS`).

    From the 95% CIs of the paired extra cost and gain across replications: both clear
    of zero, or ``uncertain``.
    """
    _, clo, chi = t_interval(cost)
    _, glo, ghi = t_interval(gain)
    if not (math.isfinite(clo) and math.isfinite(glo)) or clo <= 0 <= chi or glo <= 0 <= ghi:
        return "uncertain"
    if glo > 0:
        return "dominant" if chi < 0 else "icer"
    return "dominated" if clo > 0 else "saving"


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
            f"CIs too wide to rank {arm_label(policy)} against {arm_label(g['baseline'].iloc[0])}"
            " on: "
            + "; ".join(metric_label(m).label for m in g["metric"])
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


def _printout(table: pd.DataFrame, notes: list[str], scenarios: list[Scenario]) -> str:
    """The comparison as a paper's table: a block per main metric, then value for money.

    Each block has a line per policy: mean (95% CI) and the paired difference. Rows that
    say nothing (the same under every policy in every replication) are left out, and
    said; then the notes.
    """
    present = set(table["metric"])
    base = table["baseline"].iloc[0]
    reps = int(table["replications"].max())
    out = [
        wrap(
            f"Every policy on the same patients (common random numbers), {reps} replications "
            f"each. Mean over replications (95% CI); differences paired against "
            f"{arm_label(base)}."
        ),
        "",
    ]
    t = TextTable(["", "mean (95% CI)", "difference (95% CI)"], align="lrr")
    same, starred = [], False
    for name in (m for m in MAIN_METRICS if m in present):
        rows = table[(table["metric"] == name) & table["mean"].notna()]
        m = metric_label(name)
        flat = (rows["ci_low"] == rows["ci_high"]).all() and rows["mean"].nunique() == 1
        if flat and len(rows):
            same.append(f"{m.label} ({estimate(rows['mean'].iloc[0], unit=m.unit)}{_unit(m)})")
            continue
        t.heading(_heading(m))
        d = block_decimals(rows["mean"], rows["ci_low"], rows["ci_high"], m.unit)
        dd = d
        if "diff_mean" in rows:
            dd = block_decimals(
                rows["diff_mean"], rows["diff_ci_low"], rows["diff_ci_high"], m.unit
            )
        for r in rows.itertuples():
            mean, star = marked(
                r.mean, r.ci_low, r.ci_high, getattr(r, "interval", "t"), m.unit, decimals=d
            )
            starred = starred or star
            diff = ""
            if r.policy != base and math.isfinite(getattr(r, "diff_mean", math.nan)):
                diff = estimate(
                    r.diff_mean, r.diff_ci_low, r.diff_ci_high, m.unit, True, decimals=dd
                )
            t.add(f"  {arm_label(r.policy)}", mean, diff)
    out.append(t.render())
    value = _value_for_money(table, scenarios)
    if value:
        out += ["", value]
    foot = []
    if starred:
        foot.append(BOUND_NOTE)
    if same:
        foot.append(
            "Left out, the same under every policy in every replication: " + "; ".join(same) + "."
        )
    # the first note is the line above the table; an undefined ratio is in the table
    foot += [n for n in notes[1:] if "undefined (the 95% CI of its denominator" not in n]
    if foot:
        out.append("")
        out += [wrap(f, indent="  ") for f in foot]
    return "\n".join(out)


def _unit(m) -> str:
    """The unit after a value in running text (``%``, `` beds``; none for money)."""
    if m.unit == "%":
        return "%"
    return f" {m.unit}" if m.unit and m.unit != "£" else ""


def _heading(m) -> str:
    """A metric's heading line: its label and unit (a share's differences in points)."""
    label = m.label[0].upper() + m.label[1:]
    if m.unit == "%":
        return f"{label} (%; differences in percentage points)"
    return f"{label} ({m.unit})" if m.unit else label


_VERDICT_WORDS = {
    "dominant": "dominant (cheaper, more effective)",
    "dominated": "dominated (dearer, less effective)",
    "uncertain": "not clear (a 95% CI includes 0)",
    "icer": "-",
    "saving": "-",
}


def _value_for_money(table: pd.DataFrame, scenarios: list[Scenario]) -> str:
    """Value for money of each policy against the baseline, as the field reports it.

    The extra cost, the gains, the ratio only where it is an ICER (dearer and more
    effective) and otherwise the quadrant in words, and the net benefit.
    """
    econ = table[table["metric"].isin(ECONOMICS)]
    if econ.empty:
        return ""
    base = arm_label(table["baseline"].iloc[0])
    costs = scenarios[0].costs if scenarios else None
    wtp = costs.willingness_to_pay_per_readmission_averted if costs is not None else None
    t = TextTable(["", "mean (95% CI)"], align="lr")
    for policy, g in econ.groupby("policy", sort=False):
        g = g.set_index("metric")
        t.heading(f"  {arm_label(policy)}")
        for name in (
            "incremental_cost_per_year",
            "readmissions_averted_per_year",
            "bed_days_saved_per_year",
        ):
            if name in g.index:
                r, m = g.loc[name], metric_label(name)
                t.add(f"    {m.label}", estimate(r["mean"], r.ci_low, r.ci_high, m.unit, True))
        for name in ("cost_per_readmission_averted", "cost_per_bed_day_saved"):
            if name not in g.index:
                continue
            r, m = g.loc[name], metric_label(name)
            verdict = r.get("verdict") if isinstance(r.get("verdict"), str) else "uncertain"
            if verdict in ("icer", "saving") and math.isfinite(r["mean"]):
                text = estimate(r["mean"], r.ci_low, r.ci_high, "£")
                label = m.label if verdict == "icer" else m.label.replace("cost per", "saving per")
                label = (
                    label.replace("averted", "forgone").replace("saved", "forgone")
                    if verdict == "saving"
                    else label
                )
            else:
                text, label = _VERDICT_WORDS[verdict], m.label
            t.add(f"    {label}", text)
        if "net_monetary_benefit_per_year" in g.index:
            r = g.loc["net_monetary_benefit_per_year"]
            label = "net benefit" + (
                f", a readmission averted valued at £{wtp:,.0f}" if wtp else ""
            )
            t.add(f"    {label}", estimate(r["mean"], r.ci_low, r.ci_high, "£", True))
    head = f"Value for money against {base}, per year (paired by replication)"
    return head + "\n" + t.render()


# compare's answer: what a board asks of a policy (labels: sim.labels), set as printed
_ANSWER = [
    "readmissions_per_year",
    "ward_bed_days_per_year",
    "out_of_area_per_year",
    "waiting_list_mean",
    "cost_total_per_year",
    "qalys_discounted",
]


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
            r = g.loc[m] if m in g.index else None
            if r is None or pd.isna(r["diff_mean"]):
                cells.append("<td class=num>-</td>")
                continue
            whole = estimate(r.diff_mean, r.diff_ci_low, r.diff_ci_high, metric_label(m).unit, True)
            mean, _, spread = whole.partition(" (")
            text = f"{mean}<br><small>({_e(spread)}</small>" if spread else mean
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
