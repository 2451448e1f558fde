"""Plots: pure functions from tables to matplotlib axes and figures.

No pyplot and no global rcParams. A one-panel plot draws on the ``ax`` it is given
and returns it; a plot of several panels draws on the ``fig`` it is given; either
makes a ``Figure`` of its own when given none (safe in worker processes and
notebooks alike), so a notebook can compose them::

    fig = Figure(figsize=(12, 4.5), layout="constrained")
    left, right = fig.subplots(1, 2)
    plots.km_by_arm(result.patients, 365, ax=left)
    plots.hazard_ratio_distribution(result.trial, 365, ax=right)

Units are on every axis; published figures, where the scenario gives them, are drawn
over the simulated ones. Which figures each command writes: :mod:`sim.figures`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from sim.analysis.survival import kaplan_meier
from sim.config import Published

__all__ = [
    "km_by_arm",
    "hazard_ratio_distribution",
    "attendance_plot",
    "power_curve",
    "capacity_over_time",
    "forest",
    "sweep_curves",
    "mean_cumulative_readmissions",
    "published_against_simulated",
    "ce_plane",
    "acceptability",
    "evppi_bars",
]

# Okabe and Ito's colour-blind-safe palette (Color Universal Design, 2008): blue,
# vermillion, bluish green, orange, reddish purple, sky blue, yellow (black is kept for
# published figures and reference lines). Seven policies before a colour repeats.
_COLOURS = ["#0072B2", "#D55E00", "#009E73", "#E69F00", "#CC79A7", "#56B4E9", "#F0E442"]


def _axes(ax: Axes | None, figsize: tuple[float, float] = (7, 4.5)) -> Axes:
    """``ax``, or the one panel of a new figure."""
    if ax is not None:
        return ax
    return Figure(figsize=figsize, layout="constrained").add_subplot()


def _pounds(v: float, _pos: object = None) -> str:
    """An axis tick in pounds: £1,200 or -£1,200; millions as £1.5m."""
    sign, a = ("-" if v < 0 else ""), abs(v)
    if a >= 1e6:
        return f"{sign}£{a / 1e6:,.3g}m"
    return f"{sign}£{a:,.0f}"


def _step(t: np.ndarray, s: np.ndarray, grid: np.ndarray) -> np.ndarray:
    return np.concatenate(([1.0], s))[np.searchsorted(t, grid, side="right")]


def km_by_arm(
    patients: pd.DataFrame,
    horizon: float,
    published: Published | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Readmission-free survival by arm: Kaplan-Meier of all simulated trials pooled.

    The band holds 95% of single simulated trials' curves.
    """
    ax = _axes(ax)
    grid = np.linspace(0, horizon, 366)
    shares = dict(published.p_readmitted) if published else {}
    for f in published.figures if published else ():
        if f.statistic == "p_readmitted" and f.horizon_days in (None, horizon):
            shares.setdefault(f.arm, f.value)
    for i, (arm, p) in enumerate(patients.groupby("arm", sort=False)):
        first = p["first_readmission_day"].to_numpy(float)
        follow = p["follow_up_days"].to_numpy(float)
        event = first <= np.minimum(follow, horizon)
        time = np.where(event, first, np.minimum(follow, horizon))
        curves = []
        for _, idx in p.groupby("replication").indices.items():
            t, s, _ = kaplan_meier(time[idx], event[idx])
            curves.append(_step(t, s, grid))
        lo, hi = np.percentile(np.array(curves), [2.5, 97.5], axis=0)
        t, s, _ = kaplan_meier(time, event)
        colour = _COLOURS[i % len(_COLOURS)]
        ax.fill_between(grid, lo, hi, color=colour, alpha=0.18, linewidth=0, step="post")
        ax.step(grid, _step(t, s, grid), where="post", color=colour, label=f"{arm}")
        if arm in shares:
            ax.plot(
                [horizon],
                [1 - shares[arm]],
                "D",
                color=colour,
                markeredgecolor="black",
                label=f"{arm}, published",
            )
    ax.set(
        xlabel="days since entry",
        ylabel="not readmitted (Kaplan-Meier)",
        title="Time to first readmission by arm",
        xlim=(0, horizon),
        ylim=(0, 1.02),
    )
    ax.text(
        0.01,
        0.02,
        f"lines: all {patients['replication'].nunique()} simulated trials pooled; "
        "bands: 95% of single trials",
        transform=ax.transAxes,
        fontsize=8,
        color="0.3",
    )
    ax.grid(alpha=0.3)
    ax.legend(loc="upper right", fontsize=8)
    return ax


def hazard_ratio_distribution(
    trial: pd.DataFrame, horizon: float, published: Published | None = None, ax: Axes | None = None
) -> Axes:
    """Histogram of the Cox hazard ratios of the simulated trials at ``horizon``."""
    ax = _axes(ax)
    t = trial[(trial["horizon_days"] == horizon) & trial["hazard_ratio"].notna()]
    for i, (arm, g) in enumerate(t.groupby("arm", sort=False)):
        hr = g["hazard_ratio"].to_numpy(float)
        ax.hist(
            hr,
            bins=40,
            color=_COLOURS[(i + 1) % len(_COLOURS)],
            alpha=0.7,
            label=f"{arm} vs {g['reference'].iloc[0]}: median {np.median(hr):.2f}, "
            f"{np.mean(g['hr_p'] < 0.05):.0%} with p < 0.05",
        )
    if published and published.hazard_ratio:
        h = published.hazard_ratio
        ax.axvspan(h.ci_low, h.ci_high, color="0.5", alpha=0.15, label="published 95% CI")
        ax.axvline(h.value, color="black", linestyle="--", label=f"published HR {h.value:g}")
    ax.axvline(1.0, color="0.4", linewidth=0.8)
    ax.set(
        xlabel=f"hazard ratio (Cox), time to first readmission within {horizon:g} days",
        ylabel="simulated trials",
        title=f"Hazard ratios of {t['replication'].nunique()} simulated trials",
    )
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return ax


def attendance_plot(
    attendance: pd.DataFrame, published: Published | None = None, ax: Axes | None = None
) -> Axes:
    """Share of those offered attending at least k sessions, with published shares."""
    ax = _axes(ax)
    for i, (arm, g) in enumerate(attendance.groupby("arm", sort=False)):
        wide = g.pivot(index="replication", columns="sessions_attended", values="share")
        at_least = wide.iloc[:, ::-1].cumsum(axis=1).iloc[:, ::-1]  # share attending >= k
        k = at_least.columns.to_numpy()
        mean = at_least.mean().to_numpy()
        lo, hi = np.percentile(at_least.to_numpy(), [2.5, 97.5], axis=0)
        colour = _COLOURS[(i + 1) % len(_COLOURS)]
        ax.bar(k, mean, color=colour, alpha=0.7, label=f"{arm}, simulated (mean)")
        ax.errorbar(
            k,
            mean,
            yerr=[mean - lo, hi - mean],
            fmt="none",
            ecolor="black",
            capsize=2,
            linewidth=0.8,
            label="95% of simulated trials" if i == 0 else None,
        )
        if published:
            pts = [(3, published.p_attended_3plus), (int(k.max()), published.p_attended_all)]
            pts = [(x, y) for x, y in pts if y is not None]
            if pts:
                ax.plot(
                    *zip(*pts, strict=True), "D", color="black", markersize=7, label="published"
                )
    ax.set(
        xlabel="sessions attended, at least",
        ylabel="share of those offered",
        title="Peer-support sessions attended",
        ylim=(0, 1.05),
    )
    ax.set_xticks(k)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, axis="y")
    return ax


def power_curve(power: pd.DataFrame, marked_n: int | None = None, ax: Axes | None = None) -> Axes:
    """Power (share of trials significant at their test's alpha) against patients per arm."""
    ax = _axes(ax)
    for i, (test, g) in enumerate(power.groupby("test", sort=False)):
        g = g.sort_values("n_per_arm")
        ax.errorbar(
            g["n_per_arm"],
            g["power"],
            yerr=[g["power"] - g["ci_low"], g["ci_high"] - g["power"]],
            marker="o",
            capsize=3,
            color=_COLOURS[i % len(_COLOURS)],
            label=test,
        )
    if marked_n:
        ax.axvline(
            marked_n, color="black", linestyle="--", label=f"trial size ({marked_n} per arm)"
        )
    ax.axhline(0.8, color="0.5", linewidth=0.8, linestyle=":")
    ax.set(
        xlabel="patients per arm",
        ylabel="power (share of trials significant)",
        title="Power to detect the effect",
        ylim=(0, 1.02),
    )
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return ax


def capacity_over_time(
    timeseries: pd.DataFrame,
    warm_up_days: float = 0.0,
    ward_beds: int | None = None,
    fig: Figure | None = None,
) -> Figure:
    """Ward beds occupied and the peer-support waiting list over time, by arm or policy.

    Lines are means across replications; bands hold 95% of replications.
    """
    fig = fig or Figure(figsize=(8, 6.5), layout="constrained")
    axes = fig.subplots(2, 1, sharex=True)
    panels = (
        ("ward_occupied", "ward beds occupied"),
        ("waiting_list", "waiting for a peer worker"),
    )
    for ax, (col, label) in zip(axes, panels, strict=True):
        for i, (arm, g) in enumerate(timeseries.groupby("arm", sort=False)):
            wide = g.pivot(index="day", columns="replication", values=col)
            colour = _COLOURS[i % len(_COLOURS)]
            lo, hi = np.percentile(wide.to_numpy(float), [2.5, 97.5], axis=1)
            ax.fill_between(wide.index, lo, hi, color=colour, alpha=0.18, linewidth=0)
            ax.plot(wide.index, wide.mean(axis=1), color=colour, label=str(arm))
        if warm_up_days > 0:
            ax.axvspan(0, warm_up_days, color="0.85", alpha=0.5, label="warm-up (not measured)")
        ax.set_ylabel(label + " (patients)")
        ax.grid(alpha=0.3)
    if ward_beds:
        axes[0].axhline(ward_beds, color="black", linestyle=":", label=f"{ward_beds} beds")
    axes[0].set_title("Ward occupancy and peer-support waiting list (mean; band: 95% of runs)")
    axes[0].legend(fontsize=8, loc="upper left")
    axes[1].set_xlabel("day of the run")
    return fig


def forest(compare: pd.DataFrame, metrics: list[str], fig: Figure | None = None) -> Figure:
    """Paired differences from the baseline policy with 95% CIs, one panel per metric."""
    rows = compare[compare["metric"].isin(metrics) & compare["diff_mean"].notna()]
    rows = rows[rows["policy"] != rows["baseline"]]
    shown = [m for m in metrics if m in set(rows["metric"])]
    fig = fig or Figure(
        figsize=(8, 1.2 + 1.1 * max(len(shown), 1) * max(rows["policy"].nunique(), 1) ** 0.5),
        layout="constrained",
    )
    axes = fig.subplots(len(shown), 1, squeeze=False)[:, 0] if shown else []
    for ax, metric in zip(axes, shown, strict=True):
        r = rows[rows["metric"] == metric]
        y = np.arange(len(r))[::-1]
        ax.errorbar(
            r["diff_mean"],
            y,
            xerr=[r["diff_mean"] - r["diff_ci_low"], r["diff_ci_high"] - r["diff_mean"]],
            fmt="o",
            color=_COLOURS[0],
            capsize=3,
        )
        ax.axvline(0, color="0.4", linewidth=0.8)
        ax.set_yticks(y, r["policy"])
        ax.set_title(f"{metric}: difference from {r['baseline'].iloc[0]}", fontsize=9, loc="left")
        ax.grid(alpha=0.3, axis="x")
    if shown:
        axes[-1].set_xlabel("paired difference (policy - baseline), 95% CI across replications")
    return fig


def sweep_curves(sweep: pd.DataFrame, metrics: list[str], fig: Figure | None = None) -> Figure:
    """Each metric against the first swept parameter, with 95% CI bands.

    One line per arm (and per value of the second parameter, for a grid).
    """
    params = [c for c in sweep.columns if c.startswith("set:")]
    x = params[0]
    shown = [m for m in metrics if m in set(sweep["metric"])]
    fig = fig or Figure(figsize=(7, 2.4 * max(len(shown), 1) + 0.6), layout="constrained")
    axes = fig.subplots(max(len(shown), 1), 1, squeeze=False)[:, 0]
    groups = ["arm", *params[1:]]
    # one colour per arm (and second value) across every panel
    keys = list(dict.fromkeys(map(tuple, sweep[groups].astype(str).to_numpy())))
    colour_of = {k: _COLOURS[i % len(_COLOURS)] for i, k in enumerate(keys)}
    for ax, metric in zip(axes, shown, strict=True):
        d = sweep[sweep["metric"] == metric]
        for key, g in d.groupby(groups, sort=False):
            g = g.sort_values(x)
            key = tuple(str(k) for k in (key if isinstance(key, tuple) else (key,)))
            label = ", ".join(key)
            colour = colour_of[key]
            ax.fill_between(g[x], g["ci_low"], g["ci_high"], color=colour, alpha=0.2, linewidth=0)
            ax.plot(g[x], g["mean"], marker="o", color=colour, label=label)
        ax.set_ylabel(metric, fontsize=9)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    axes[-1].set_xlabel(x.removeprefix("set:"))
    axes[0].set_title("Sweep: mean across replications, 95% CI band")
    return fig


def mean_cumulative_readmissions(
    mcf: pd.DataFrame, published: pd.DataFrame | None = None, ax: Axes | None = None
) -> Axes:
    """Mean cumulative readmissions per person by arm, with published counts.

    The line is the median of the simulated trials, the band their 2.5-97.5%.
    """
    ax = _axes(ax)
    drew = False
    for i, (arm, g) in enumerate(mcf.groupby("arm", sort=False)):
        q = g.groupby("day")["mcf"].quantile([0.025, 0.5, 0.975]).unstack()
        colour = _COLOURS[i % len(_COLOURS)]
        ax.fill_between(q.index, q[0.025], q[0.975], color=colour, alpha=0.15, linewidth=0)
        ax.plot(q.index, q[0.5], color=colour, label=f"{arm} (median, 95% of trials)")
        if published is not None:
            mine = published[
                (published["arm"] == arm)
                & published["statistic"].isin(["readmissions_mean", "readmissions_mcf"])
            ]
            for r in mine.itertuples():
                ax.plot(r.horizon_days, r.published, "D", color=colour, markeredgecolor="black")
                drew = True
    if drew:
        ax.plot([], [], "D", color="0.6", markeredgecolor="black", label="published")
    ax.set(
        xlabel="days since entry",
        ylabel="readmissions per person",
        title="Mean cumulative number of readmissions (censoring accounted for)",
    )
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    return ax


def published_against_simulated(
    published: pd.DataFrame, values: list[np.ndarray], fig: Figure | None = None
) -> Figure:
    """One panel per published figure, among the simulated trials' values.

    Each panel: the simulated trials' values of the same statistic, the published value
    (and its 95% CI) and its percentile among them.
    """
    n = len(published)
    cols = min(n, 3)
    rows = -(-n // cols)
    fig = fig or Figure(figsize=(4.2 * cols, 3.2 * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, r, v in zip(axes, published.itertuples(), values, strict=False):
        if len(v):
            ax.hist(v, bins=min(30, max(5, len(v) // 10)), color=_COLOURS[0], alpha=0.6)
        if pd.notna(r.published_ci_low):
            ax.axvspan(r.published_ci_low, r.published_ci_high, color="0.5", alpha=0.2)
        ax.axvline(r.published, color="black", linestyle="--")
        at = "" if pd.isna(r.horizon_days) else f", {r.horizon_days:g} d"
        pct = "n/a" if pd.isna(r.percentile) else f"{r.percentile:.0f}"
        ax.set_title(f"{r.statistic}\n{r.arm}{at}: published at percentile {pct}", fontsize=9)
        ax.set_ylabel("simulated trials", fontsize=8)
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.3)
    for ax in axes[n:]:
        ax.set_visible(False)
    fig.suptitle("Published figures (dashed; grey: 95% CI) among the simulated trials")
    return fig


def ce_plane(
    psa: pd.DataFrame, baseline: str, wtp: Sequence[float], ax: Axes | None = None
) -> Axes:
    """Incremental cost against incremental QALYs of each policy over the baseline.

    One cloud per policy (one point per parameter set), its mean as a diamond, and the
    thresholds as lines.
    """
    ax = _axes(ax)
    cost = psa.pivot(index="sample", columns="policy", values="cost")
    qalys = psa.pivot(index="sample", columns="policy", values="qalys")
    others = [p for p in dict.fromkeys(psa["policy"]) if p != baseline]
    for i, policy in enumerate(others):
        dq, dc = qalys[policy] - qalys[baseline], cost[policy] - cost[baseline]
        colour = _COLOURS[(i + 1) % len(_COLOURS)]
        ax.scatter(dq, dc, s=8, alpha=0.35, color=colour, linewidths=0)
        ax.plot(
            dq.mean(),
            dc.mean(),
            "D",
            color=colour,
            markeredgecolor="black",
            label=f"{policy} (mean)",
        )
    lo, hi = ax.get_xlim()
    for lam, dash in zip(wtp, ["--", ":", "-.", (0, (5, 5))], strict=False):
        ax.plot(
            [lo, hi],
            [lam * lo, lam * hi],
            linestyle=dash,
            color="0.4",
            linewidth=0.8,
            label=f"£{lam:,.0f} per QALY",
        )
    ax.set_xlim(lo, hi)
    ax.yaxis.set_major_formatter(FuncFormatter(_pounds))
    ax.axhline(0, color="0.6", linewidth=0.8)
    ax.axvline(0, color="0.6", linewidth=0.8)
    ax.set(
        xlabel=f"incremental QALYs (discounted) vs {baseline}",
        ylabel=f"incremental cost (discounted) vs {baseline}",
        title="Cost-effectiveness plane: one point per parameter set",
    )
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return ax


def acceptability(
    psa: pd.DataFrame, wtp: np.ndarray, marked: Sequence[float] = (), ax: Axes | None = None
) -> Axes:
    """Probability each policy is cost-effective against willingness to pay (CEAC).

    The frontier (CEAF: the policy of highest expected net benefit at each threshold)
    is drawn thicker.
    """
    from sim.analysis.decision import ceac, ceaf

    ax = _axes(ax)
    policies = list(dict.fromkeys(psa["policy"]))
    cost = psa.pivot(index="sample", columns="policy", values="cost")[policies].to_numpy()
    qalys = psa.pivot(index="sample", columns="policy", values="qalys")[policies].to_numpy()
    curve = ceac(cost, qalys, wtp)
    chosen, share = ceaf(cost, qalys, wtp)
    for k, policy in enumerate(policies):
        ax.plot(wtp, curve[:, k], color=_COLOURS[k % len(_COLOURS)], label=policy)
    ax.plot(wtp, share, color="black", linewidth=3, alpha=0.25, label="frontier (CEAF)")
    for lam in marked:
        ax.axvline(lam, color="0.5", linestyle=":", linewidth=0.8)
    ax.set(
        xlabel="willingness to pay per QALY (£)",
        ylabel="probability cost-effective",
        title="Cost-effectiveness acceptability",
        ylim=(-0.02, 1.02),
    )
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return ax


def evppi_bars(evppi: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """EVPPI of each parameter (and group) at one threshold, largest first.

    Each bar with its 95% interval (from the metamodel's SE, held to 0 .. EVPI), the
    EVPI for scale; groups of fields in their own colour.
    """
    ax = _axes(ax, figsize=(9, 1.6 + 0.45 * len(evppi)))
    e = evppi.sort_values("evppi")
    y = np.arange(len(e))
    total = float(e["evpi"].iloc[0])
    # the interval held to 0 .. EVPI, where the EVPPI lies whatever the metamodel says
    value, half = e["evppi"].to_numpy(), 1.96 * e["se"].to_numpy()
    err = [np.minimum(half, value), np.minimum(half, max(total, 0.0) - value).clip(0)]
    fields = e["fields"] if "fields" in e else e["parameter"]
    n = fields.str.count(r" \+ ").to_numpy() + 1
    colours = [_COLOURS[2] if k > 1 else _COLOURS[0] for k in n]
    names = [p if k == 1 else f"{p} (group of {k})" for p, k in zip(e["parameter"], n, strict=True)]
    ax.barh(y, value, xerr=err, color=colours, alpha=0.8, capsize=3)
    ax.set_yticks(y, names, fontsize=8)
    ax.axvline(total, color="black", linestyle="--", linewidth=1, label=f"EVPI £{total:,.0f}")

    ax.xaxis.set_major_formatter(FuncFormatter(_pounds))
    lam = float(e["threshold"].iloc[0])
    ax.set(
        xlabel="EVPPI: value of perfect information on the parameter",
        title=f"Value of learning each parameter at £{lam:,.0f} per QALY (95% intervals)",
    )
    ax.grid(alpha=0.3, axis="x")
    handles, _ = ax.get_legend_handles_labels()
    if (n > 1).any():
        from matplotlib.patches import Patch

        handles.append(
            Patch(color=_COLOURS[2], alpha=0.8, label="group of fields (Gaussian process)")
        )
    ax.legend(handles=handles, fontsize=8, loc="lower right")
    return ax


def tornado(bars: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """One-way sensitivity: the outcome at each field's 2.5th and 97.5th percentiles.

    One bar per field from the base case to each end, widest on top, the field's two
    values under its name; the base case as a vertical line.
    """
    ax = _axes(ax, figsize=(9, 1.8 + 0.42 * len(bars)))
    b = bars.iloc[::-1].reset_index(drop=True)  # widest at the top
    base = float(b["base"].iloc[0])
    y = np.arange(len(b))
    for side, colour, label in (
        ("low", _COLOURS[0], "field at its 2.5th percentile"),
        ("high", _COLOURS[1], "field at its 97.5th percentile"),
    ):
        out = b[f"outcome_at_{side}"].to_numpy()
        ax.barh(y, out - base, left=base, color=colour, alpha=0.75, height=0.6, label=label)
    names = [
        f"{f}\n{lo:,.4g} to {hi:,.4g}"
        for f, lo, hi in zip(b["field"], b["low_value"], b["high_value"], strict=True)
    ]
    ax.axvline(base, color="black", linewidth=1)
    ax.set_yticks(y, names, fontsize=8)
    what = str(b["comparison"].iloc[0])
    if "net benefit" in what:
        ax.xaxis.set_major_formatter(FuncFormatter(_pounds))
    ax.axvline(0, color="0.5", linestyle=":", linewidth=0.8)
    ax.set(
        xlabel=f"{what}\n(over the measured period, all patients; line: base case)",
        title="One-way sensitivity analysis (each field alone, others at base case)",
    )
    ax.grid(alpha=0.3, axis="x")
    ax.legend(fontsize=8, loc="lower right")
    return ax
