"""Policy what-ifs: compare policies and sweep parameters under common random numbers.

Every policy (an arm of a scenario file) and every sweep point runs the same
replications with the same seed, so each replication sees the same patients with the
same draws under every policy. Differences are therefore paired: their spread across
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
from typing import Any

import numpy as np
import pandas as pd
import yaml

from sim import api
from sim.config import ConfigError, Scenario, field_keys, scenario_from_dict
from sim.runner import Dask

__all__ = ["Comparison", "compare", "parse_set", "sweep", "MAIN_METRICS"]

MAIN_METRICS = [
    "readmissions_per_100",
    "p_readmit_30d",
    "p_readmit_90d",
    "p_readmit_365d",
    "ward_bed_days_per_year",
    "ward_occupancy_mean",
    "ward_occupancy_peak",
    "out_of_area_per_year",
    "wait_days_mean",
    "waiting_list_mean",
    "p_started",
    "sessions_delivered_per_year",
    "peer_utilisation",
    "p_died",
    "cost_total_per_year",
]
ECONOMICS = [
    "incremental_cost_per_year",
    "readmissions_averted_per_year",
    "bed_days_saved_per_year",
    "cost_per_readmission_averted",
    "cost_per_bed_day_saved",
    "net_monetary_benefit_per_year",
]


def _t_ci(values: np.ndarray) -> tuple[float, float, float]:
    from scipy import stats

    v = values[np.isfinite(values)]
    if len(v) == 0:
        return math.nan, math.nan, math.nan
    m = float(v.mean())
    if len(v) < 2:
        return m, math.nan, math.nan
    half = float(stats.t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / math.sqrt(len(v)))
    return m, m - half, m + half


def _boot_ratio(num: np.ndarray, den: np.ndarray, seed: int) -> tuple[float, float, float]:
    """mean(num) / mean(den) with a percentile bootstrap CI over replications."""
    ok = np.isfinite(num) & np.isfinite(den)
    num, den = num[ok], den[ok]
    if len(num) < 2 or den.mean() == 0:
        return math.nan, math.nan, math.nan
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(99,)))
    idx = rng.integers(0, len(num), (2000, len(num)))
    with np.errstate(divide="ignore", invalid="ignore"):
        boot = num[idx].mean(axis=1) / den[idx].mean(axis=1)
    lo, hi = np.nanpercentile(boot, [2.5, 97.5])
    return float(num.mean() / den.mean()), float(lo), float(hi)


@dataclass
class Comparison:
    """The result of :func:`compare`."""

    table: pd.DataFrame  # metric, policy, baseline, mean, ci_low, ci_high, diff_*, ratio, n
    metrics: pd.DataFrame  # replication, policy, metric, value
    timeseries: pd.DataFrame
    replications: int
    notes: list[str] = field(default_factory=list)


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
) -> Comparison:
    """Run every policy of every scenario with the first scenario's seed; compare them.

    The baseline is the first policy of the first scenario.
    """
    seed = scenarios[0].seed
    scenarios = [s.model_copy(update={"seed": seed}) for s in scenarios]
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
    for s in scenarios:
        r = api.run(s, replications=replications, jobs=jobs, dask=dask)
        names = {a: lab for sc, a, lab in labels if sc is s}
        m = r.metrics.assign(policy=r.metrics["arm"].map(names))
        metric_frames.append(m.drop(columns="arm"))
        if r.timeseries is not None:
            ts_frames.append(r.timeseries.assign(arm=r.timeseries["arm"].map(names)))
        if progress:
            progress(1)
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
            mean, lo, hi = _t_ci(v)
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
                dm, dlo, dhi = _t_ci(d)
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
    return Comparison(table, metrics, ts, replications, notes)


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
        _, dlo, dhi = _t_ci(d)
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


# ------------------------------------------------------------------------------ sweep
def parse_set(text: str) -> tuple[str, list[Any]]:
    """``path=1..10`` (step 1), ``path=0.5..0.9:0.1``, or ``path=a,b,c`` -> (path, values)."""
    path, sep, spec = text.partition("=")
    if not sep or not path or not spec:
        raise ConfigError(f"--set {text!r}: expected PATH=VALUES, e.g. peer_workers.count=1..10")
    try:
        if ".." in spec:
            span, _, step = spec.partition(":")
            a_text, b_text = span.split("..")
            nums = [yaml.safe_load(x) for x in (a_text, b_text, step or "1")]
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
            values = [yaml.safe_load(x) for x in spec.split(",")]
    except (ValueError, yaml.YAMLError):
        raise ConfigError(
            f"--set {text!r}: values must be a range (1..10, 0.5..0.9:0.1) or a list (a,b,c)"
        ) from None
    if len(values) > 1000:
        raise ConfigError(f"--set {text!r}: {len(values)} values; at most 1000")
    return path, values


def _with(scenario: Scenario, settings: dict[str, Any], label: str) -> Scenario:
    doc = scenario.model_dump(mode="json")
    for path, value in settings.items():
        try:
            keys = field_keys(doc, path)
        except KeyError as exc:
            raise ConfigError(
                f"--set {path}: the scenario has no field {exc.args[0]!r} there"
            ) from None
        node = doc
        for k in keys[:-1]:
            node = node[k]
        node[keys[-1]] = value
    return scenario_from_dict(doc, label)


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
    import itertools

    grid = list(itertools.product(*[values for _, values in settings]))
    paths = [p for p, _ in settings]
    # validate every point before running any
    points = [
        (
            vals,
            _with(
                scenario,
                dict(zip(paths, vals, strict=True)),
                "--set " + ", ".join(f"{p}={v}" for p, v in zip(paths, vals, strict=True)),
            ),
        )
        for vals in grid
    ]
    summaries, all_metrics = [], []
    for vals, sc in points:
        r = api.run(sc, replications=replications, jobs=jobs, dask=dask)
        cols = {f"set:{p}": v for p, v in zip(paths, vals, strict=True)}
        summaries.append(r.summary.assign(**cols))
        all_metrics.append(r.metrics.assign(**cols))
        if progress:
            progress(1)
    summary = pd.concat(summaries, ignore_index=True)
    front = [f"set:{p}" for p in paths]
    summary = summary[front + [c for c in summary.columns if c not in front]]
    return summary, pd.concat(all_metrics, ignore_index=True)
