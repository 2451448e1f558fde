"""Terminal tables: what the commands print, formatted in this one room.

Each function takes a command's tables and returns text; the command line prints it.
Numbers are rounded for reading; the files hold them in full.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from sim.analysis.trial import reference_arm
from sim.config import Scenario, TrialFeed

__all__ = [
    "format_summary",
    "format_trial",
    "format_published",
    "format_psa",
    "format_compare",
    "format_sweep",
    "format_power",
    "format_calibration",
]


def _fmt(mean: float, lo: float, hi: float, pct: bool = False, digits: int = 1) -> str:
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "-"
    k = 100.0 if pct else 1.0
    unit = "%" if pct else ""

    def num(x: float) -> str:
        return f"{round(x * k, digits) + 0.0:.{digits}f}"  # + 0.0: no "-0.0"

    text = f"{num(mean)}{unit}"
    if lo is not None and not math.isnan(lo):
        text += f" ({num(lo)}-{num(hi)})"
    return text


def format_summary(summary, scenario: Scenario, replications: int, wall_seconds: float) -> str:
    """The table printed after a run: one row per arm, means with 95% CIs."""
    h = scenario.outcomes.primary_horizon_days
    cols = [
        ("patients", "patients", False, 1),
        (f"p_readmit_{h:g}d", f"readmitted <={h:g}d", True, 1),
        ("sessions_attended_mean", "sessions attended", False, 2),
        ("acute_days_per_patient", "acute days/patient", False, 1),
        ("ward_days_per_patient", "ward bed-days/patient", False, 1),
        ("wait_days_mean", "peer wait (days)", False, 1),
        ("ward_occupancy_mean", "ward beds occupied", False, 1),
    ]
    rows = []
    for arm in [a.name for a in scenario.arms]:
        s = summary[summary["arm"] == arm].set_index("metric")
        row = {"arm": arm}
        for metric, label, pct, digits in cols:
            if metric == "patients" and metric in s.index:
                row[label] = f"{s.loc[metric, 'mean']:.0f}"
            elif metric in s.index:
                r = s.loc[metric]
                row[label] = _fmt(r["mean"], r["ci_low"], r["ci_high"], pct, digits)
            else:
                row[label] = "-"
        rows.append(row)
    table = pd.DataFrame(rows).to_string(index=False)
    kind = "trial" if scenario.is_trial else "service"
    head = (
        f"{scenario.name} ({kind}): {replications} replication(s), seed {scenario.seed}, "
        f"{wall_seconds:.1f} s. Means across replications, 95% CI in brackets."
    )
    return f"{head}\n{table}"


def format_compare(table, metrics: list[str]) -> str:
    """One line per metric and policy: mean (95% CI) and the paired difference."""

    def fmt(m: float, lo: float, hi: float) -> str:
        if m is None or not math.isfinite(m):
            return "-"
        big = max(abs(m), abs(lo) if math.isfinite(lo) else 0) >= 100
        f = (lambda x: f"{x:,.0f}") if big else (lambda x: f"{x:.3g}")
        return f"{f(m)} ({f(lo)} to {f(hi)})" if math.isfinite(lo) else f(m)

    rows = []
    for metric in metrics:
        for r in table[table["metric"] == metric].itertuples():
            diff = getattr(r, "diff_mean", math.nan)
            rows.append(
                {
                    "metric": metric,
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


def format_trial(summary: pd.DataFrame, attendance: pd.DataFrame, scenario: Scenario) -> str:
    """The trial table printed by ``crisis-sim run`` for a trial scenario (primary horizon)."""
    assert isinstance(scenario.feed, TrialFeed)
    h = scenario.outcomes.primary_horizon_days
    s = summary[summary["horizon_days"] == h]
    arms = [a.name for a in scenario.arms]
    ref = reference_arm(scenario)

    def cell(arm: str, stat: str, kind: str = "median", pct: bool = False, digits: int = 2) -> str:
        r = s[(s["arm"] == arm) & (s["statistic"] == stat)]
        if r.empty:
            return "-"
        r = r.iloc[0]
        k = 100 if pct else 1
        unit = "%" if pct else ""
        if kind == "share":
            return f"{r['mean'] * 100:.1f}%"
        v = r[kind]
        lo, hi = r["p2_5"] * k, r["p97_5"] * k
        dash = " to " if lo < 0 else "-"  # "-9.4-0.0" would read as a subtraction
        return f"{v * k:.{digits}f}{unit} ({lo:.{digits}f}{dash}{hi:.{digits}f})"

    ends = scenario.outcomes.endpoints

    def power(spec) -> str:
        side = "" if spec.alternative == "two-sided" else f", one-sided ({spec.alternative})"
        return f"  power, p < {spec.alpha:g}{side}"

    first = ends.first_readmission
    lines = [
        (
            f"readmitted within {h:g}d: mean (2.5-97.5%)",
            {a: cell(a, "p_readmitted", "mean", True, 1) for a in arms},
        ),
        ("odds ratio: median (2.5-97.5%)", {a: cell(a, "odds_ratio") for a in arms if a != ref}),
        (power(first), {a: cell(a, "power_or", "share") for a in arms if a != ref}),
        (
            "  CI coverage of the true ratio",
            {a: cell(a, "coverage_or", "share") for a in arms if a != ref},
        ),
        (
            "hazard ratio (Cox): median (2.5-97.5%)",
            {a: cell(a, "hazard_ratio") for a in arms if a != ref},
        ),
        (power(first), {a: cell(a, "power_hr", "share") for a in arms if a != ref}),
        (
            "  CI coverage of the true ratio",
            {a: cell(a, "coverage_hr", "share") for a in arms if a != ref},
        ),
        (
            f"RMST to {h:g}d, days: mean (2.5-97.5%)",
            {a: cell(a, "rmst_days", "mean", digits=0) for a in arms},
        ),
        (
            "days to readmission, among readmitted: mean",
            {a: cell(a, "mean_days_readmitted", "mean", digits=0) for a in arms},
        ),
        ("  median", {a: cell(a, "median_days_readmitted", "mean", digits=0) for a in arms}),
        (
            f"deaths within {h:g}d: mean (2.5-97.5%)",
            {a: cell(a, "deaths", "mean", digits=1) for a in arms},
        ),
    ]
    if ends.readmission_count is not None:
        c = ends.readmission_count
        lines += [
            (
                f"readmissions per person within {h:g}d: mean (2.5-97.5%)",
                {a: cell(a, "readmissions_mean", "mean") for a in arms},
            ),
            ("  SD", {a: cell(a, "readmissions_sd", "mean") for a in arms}),
            (
                "  mean cumulative (censoring accounted for)",
                {a: cell(a, "readmissions_mcf", "mean") for a in arms},
            ),
            (
                "rate ratio (negative binomial): median (2.5-97.5%)",
                {a: cell(a, "rate_ratio") for a in arms if a != ref},
            ),
            (
                f"{power(c)}, {c.test.replace('_', ' ')}",
                {a: cell(a, "power_count", "share") for a in arms if a != ref},
            ),
        ]
    if ends.bed_days is not None:
        b = ends.bed_days
        lines += [
            (
                f"bed-days per person within {h:g}d: mean (2.5-97.5%)",
                {a: cell(a, "bed_days_mean", "mean", digits=1) for a in arms},
            ),
            ("  SD", {a: cell(a, "bed_days_sd", "mean", digits=1) for a in arms}),
            (
                "difference in bed-days: mean (2.5-97.5%)",
                {a: cell(a, "bed_days_difference", "mean", digits=1) for a in arms if a != ref},
            ),
            (
                f"{power(b)}, {b.test.replace('_', ' ')}",
                {a: cell(a, "power_bed_days", "share") for a in arms if a != ref},
            ),
        ]
    att = attendance.groupby(["arm", "sessions_attended"])["share"].mean()
    for arm in scenario.arms:
        if arm.peer_support is None:
            continue
        a = att.loc[arm.name]
        n = arm.peer_support.n_sessions
        what = "contacts" if arm.peer_support.schedule == "fixed" else "sessions"
        lines.append((f"attended >= 3 {what}", {arm.name: f"{a[a.index >= 3].sum() * 100:.1f}%"}))
        lines.append((f"attended all {n}", {arm.name: f"{a.loc[n] * 100:.1f}%"}))
    table = pd.DataFrame(
        [{"statistic": name, **{a: vals.get(a, "") for a in arms}} for name, vals in lines]
    )
    filled = table[arms].replace("", np.nan)
    table = table[~filled.isin(["-"]).where(filled.notna(), True).all(axis=1)]
    n_trials = int(s["replications"].max()) if len(s) else 0
    head = (
        f"Trial analysis, {n_trials} simulated trials, primary horizon {h:g} days "
        f"(reference arm: {ref}; complete case: patients lost to follow-up before the "
        "horizon are left out)"
    )
    return head + "\n" + table.to_string(index=False)


def format_published(table: pd.DataFrame) -> str:
    """Published figures beside the simulated trials, with their percentiles."""

    def spread(r) -> str:
        if pd.notna(r.published_ci_low):
            return f" ({r.published_ci_low:g}-{r.published_ci_high:g})"
        if pd.notna(r.published_sd):
            return f" ± {r.published_sd:g}"
        return ""

    rows = [
        {
            "statistic": r.statistic,
            "arm": r.arm,
            "horizon": "" if pd.isna(r.horizon_days) else f"{r.horizon_days:g}d",
            "published": f"{r.published:g}{spread(r)}",
            "simulated: median (2.5-97.5%)": f"{r.simulated_median:.3g} "
            f"({r.simulated_p2_5:.3g}-{r.simulated_p97_5:.3g})",
            "percentile": "-" if pd.isna(r.percentile) else f"{r.percentile:.0f}",
        }
        for r in table.itertuples()
    ]
    return (
        "Published figures among the simulated trials (percentile: share of simulated "
        "trials below the published value)\n" + pd.DataFrame(rows).to_string(index=False)
    )


def format_psa(result, reps: int) -> str:
    """A PSA's decision at each threshold, and how much of its spread is noise."""
    from sim.studies.psa import decision_table, variance_decomposition

    sc = result.scenario
    n = result.table["sample"].nunique()
    lines = [f"PSA of {sc.name}: {n} parameter sets x {reps} inner replication(s), seed {sc.seed}"]
    means = result.table.groupby("policy", sort=False)[
        ["cost", "qalys", "readmissions_per_year", "bed_days_per_year"]
    ].mean()
    shown = means.copy()
    if "cost" in shown:
        shown["cost"] = [f"£{v:,.0f}" if pd.notna(v) else "-" for v in shown["cost"]]
    with pd.option_context("display.width", 200, "display.float_format", "{:,.1f}".format):
        lines.append(
            "Means over the parameter sets (cost and QALYs discounted, totals over the "
            "measured period; readmissions and ward bed-days a year):"
        )
        lines.append(shown.to_string())
    if sc.economics is not None and sc.costs is not None:
        econ = sc.economics
        t = decision_table(result)
        lines.append(
            f"\nDecision ({econ.perspective}; discounted at "
            f"{econ.discount_rate_costs:.1%} costs, {econ.discount_rate_qalys:.1%} QALYs):"
        )
        for r in t.itertuples():
            icer = "" if pd.isna(r.icer) else f", ICER £{r.icer:,.0f} per QALY vs {r.compared_with}"
            by = (
                f" by {r.compared_with}"
                if r.status in ("dominated", "extendedly dominated")
                else ""
            )
            lines.append(f"  {r.strategy}: {r.status}{by}{icer}")
        for lam in econ.willingness_to_pay_per_qaly:
            p = t.set_index("strategy")[f"p_cost_effective_at_{lam:g}"]
            best = p.idxmax()
            evpi = t[f"evpi_at_{lam:g}"].iloc[0]
            per_person = t[f"evpi_per_person_at_{lam:g}"].iloc[0]
            pop = f"evpi_population_at_{lam:g}"
            over = (
                f", £{t[pop].iloc[0]:,.0f} over {econ.decision_horizon_years} years' population"
                if pop in t
                else ""
            )
            lines.append(
                f"  at £{lam:,.0f}/QALY: probability cost-effective "
                + ", ".join(f"{k} {v:.0%}" for k, v in p.items())
                + f" (most likely best: {best}); EVPI £{evpi:,.0f} for the period's "
                f"patients (£{per_person:,.2f} per person{over})"
            )
        for r in t.itertuples():
            if pd.notna(r.cost_per_readmission_averted):
                c = r.cost_per_readmission_averted
                each = f"saving £{-c:,.0f} per readmission averted" if c < 0 else f"£{c:,.0f} each"
                base = result.table["policy"].iloc[0]
                lines.append(
                    f"  {r.strategy}: {r.readmissions_averted:,.0f} readmissions averted over "
                    f"the period against {base}, {each}"
                )
        lam = econ.willingness_to_pay_per_qaly[0]
        e = pd.DataFrame() if result.evppi is None else result.evppi
        e = e[e["threshold"] == lam].head(5) if len(e) else e
        if len(e) and not e["evpi"].iloc[0] > 0:
            lines.append(
                f"  no value of information at £{lam:,.0f}/QALY: the same policy is best "
                "in every parameter set (EVPI 0), so there is no EVPPI to rank"
            )
        elif len(e):
            lines.append(
                f"  worth learning most (EVPPI at £{lam:,.0f}/QALY, share of the EVPI): "
                + "; ".join(
                    f"{r.parameter}{' (group)' if ' + ' in r.fields else ''} "
                    f"£{r.evppi:,.0f} ± {1.96 * r.se:,.0f} ({r.share:.0%})"
                    for r in e.itertuples()
                )
            )
    else:
        lines.append("(no economics and costs blocks: no decision table)")
    if result.dsa is not None and len(result.dsa.tornado):
        bars = result.dsa.tornado
        what = bars["comparison"].iloc[0]
        money = "net benefit" in what
        fmt = (lambda v: f"-£{-v:,.0f}" if v < 0 else f"£{v:,.0f}") if money else "{:,.1f}".format
        lines.append(
            f"\nOne-way sensitivity ({what}; base case {fmt(bars['base'].iloc[0])}), "
            "widest first (tornado.png):"
        )
        for r in bars.head(5).itertuples():
            lines.append(
                f"  {r.field}: {fmt(r.outcome_at_low)} at {r.low_value:,.4g}, "
                f"{fmt(r.outcome_at_high)} at {r.high_value:,.4g}"
            )
    if reps > 1:
        dec = variance_decomposition(result)
        inb = dec["outcome"].str.startswith("net_benefit_vs_")
        dec = dec[(inb if inb.any() else dec["outcome"].isin(["cost", "qalys"]))]
        dec = dec[dec["monte_carlo_share"].notna()]
        if dec.empty:
            return "\n".join(lines)
        worst = dec.sort_values("monte_carlo_share", ascending=False).iloc[0]
        share = worst.monte_carlo_share
        what = "incremental net benefit" if inb.any() else "cost and QALYs"
        lines.append(
            f"\nMonte Carlo noise in the {what}: {min(share, 1):.0%} of the spread between "
            f"parameter sets ({worst.outcome}, {worst.policy}; variance.csv has all)"
            + (
                " -- WARNING: above 10%, more inner replications (--reps) needed"
                if share > 0.10
                else ""
            )
        )
    else:
        lines.append(
            "\n(one inner replication: the spread mixes parameter uncertainty and Monte Carlo "
            "noise; run --reps 2 or more to separate them)"
        )
    return "\n".join(lines)


def format_sweep(summary: pd.DataFrame, metrics: list[str], scenario: Scenario, reps: int) -> str:
    """One row per sweep point and arm, one column per metric: mean (95% CI)."""
    cols = [c for c in summary.columns if c.startswith("set:")]
    view = summary[summary["metric"].isin(metrics)]
    view = view.assign(
        value=[
            f"{m:.3g} ({lo:.3g} to {hi:.3g})"
            if math.isfinite(m) and math.isfinite(lo)
            else f"{m:.3g}"
            for m, lo, hi in zip(view["mean"], view["ci_low"], view["ci_high"], strict=True)
        ]
    )
    wide = view.pivot_table(
        index=[*cols, "arm"], columns="metric", values="value", aggfunc="first", sort=False
    )
    with pd.option_context("display.width", 220, "display.max_columns", 20):
        return (
            f"Sweep of {scenario.name}: {reps} replications per point, common random numbers\n"
            + wide.to_string()
        )


def format_power(table: pd.DataFrame, scenario: Scenario, reps: int) -> str:
    """Power by trial size, arm and test, with its 95% interval."""
    shown = table.assign(
        power=table["power"].map(lambda v: f"{v:.1%}"),
        ci=[f"{a:.1%}-{b:.1%}" for a, b in zip(table["ci_low"], table["ci_high"], strict=True)],
    )
    return (
        f"Power at the primary horizon ({scenario.outcomes.primary_horizon_days:g} days), "
        f"{reps} simulated trials per size, p below each endpoint's alpha:\n"
        + shown[["n_per_arm", "arm", "test", "power", "ci", "replications"]].to_string(index=False)
    )


def format_calibration(res, source_name: str, checked: int) -> str:
    """The fitted parameters (start -> fitted), the target table and any target missed."""
    shown = res.table.assign(
        simulated=res.table["simulated"].map(lambda v: f"{v:.4g}"),
        miss=res.table["miss"].map(lambda v: f"{v:+.3g}"),
        within_tolerance=res.table["within_tolerance"].map({True: "yes", False: "NO"}),
    ).drop(columns=["source"])
    lines = [
        f"Calibration of {source_name}: {res.evaluations} evaluations, checked on "
        f"{checked} simulated trials"
    ]
    se = res.standard_errors
    for i, (name, a, b) in enumerate(zip(res.names, res.start, res.best, strict=True)):
        err = f"  (approximate SE {se[i]:.3g})" if se is not None else ""
        lines.append(f"  {name}: {a:.6g} -> {b:.6g}{err}")
    if res.correlation is not None and len(res.names) > 1:
        lines.append("  correlation of the fitted values:")
        short = [n.split(".")[-1] for n in res.names]
        corr = pd.DataFrame(res.correlation, index=short, columns=short).round(2)
        lines.extend("    " + line for line in corr.to_string().splitlines())
    if se is not None:
        lines.append(
            "  (SE and correlation from the Jacobian at the fit, reading each tolerance as "
            "its target's standard error)"
        )
    for w in res.warnings:
        lines.append(f"  WARNING: {w}")
    entry = res.uncertainty_entry(
        f"calibration of {source_name} (approximate: Jacobian at the fit, tolerances read "
        "as standard errors)"
    )
    if entry is not None:
        import yaml

        lines.append("  the fitted values' uncertainty, as an entry of an uncertainty block:")
        text = yaml.safe_dump([entry], sort_keys=False, default_flow_style=None, width=100)
        lines.extend("    " + line for line in text.splitlines())
    with pd.option_context("display.width", 200):
        lines.append(shown.to_string(index=False))
    missed = res.table[~res.table["within_tolerance"]]
    if len(missed):
        lines.append(
            f"\n{len(missed)} target(s) not met with the declared parameters: "
            + "; ".join(
                f"{r.target} missed by {r.miss:+.3g} (tolerance {r.tolerance:g})"
                for r in missed.itertuples()
            )
        )
    return "\n".join(lines)
