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
from matplotlib.ticker import Formatter, FuncFormatter, LogLocator, MaxNLocator, NullFormatter

from sim.analysis.patients import readmitted_within
from sim.analysis.survival import kaplan_meier
from sim.config import RATIO_STATISTICS, PublishedFigure
from sim.labels import Metric, arm_label, field_label, metric, statistic_label

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
    "tornado",
    "calibration_fit",
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


class _Pounds(Formatter):
    """Axis ticks in pounds, in one unit for the whole axis: £1,200; £250k; £1.5m."""

    def __call__(self, v: float, pos: object = None) -> str:
        lo, hi = self.axis.get_view_interval() if self.axis is not None else (v, v)
        top = max(abs(lo), abs(hi))
        sign, a = ("-" if v < 0 else ""), abs(v)
        if a == 0:
            return "£0"
        if top >= 1e6:
            return f"{sign}£{a / 1e6:,.3g}m"
        if top >= 1e4:
            return f"{sign}£{a / 1e3:,.4g}k"
        return f"{sign}£{a:,.0f}"


def _step(t: np.ndarray, s: np.ndarray, grid: np.ndarray) -> np.ndarray:
    return np.concatenate(([1.0], s))[np.searchsorted(t, grid, side="right")]


def _published(
    published: Sequence[PublishedFigure], statistic: str, horizon: float | None = None
) -> list[PublishedFigure]:
    """The published figures of a statistic (at ``horizon``, or at the primary one)."""
    return [
        f
        for f in published
        if f.statistic == statistic and (horizon is None or f.horizon_days in (None, horizon))
    ]


def km_by_arm(
    patients: pd.DataFrame,
    horizon: float,
    published: Sequence[PublishedFigure] = (),
    ax: Axes | None = None,
) -> Axes:
    """Readmission-free survival by arm: Kaplan-Meier of all simulated trials pooled.

    The band holds 95% of single simulated trials' curves. On a figure of its own
    (no ``ax`` given) a numbers-at-risk table goes under the plot: the mean number
    still followed and not yet readmitted, per simulated trial.
    """
    table = None
    if ax is None:
        fig = Figure(figsize=(7.5, 5.6), layout="constrained")
        ax, table = fig.subplots(2, 1, height_ratios=[5, 1], sharex=True)
    grid = np.linspace(0, horizon, 366)
    ticks = np.arange(0, horizon + 1, 90 if horizon > 180 else 30)
    shares: dict[str, float] = {}
    for f in _published(published, "p_readmitted", horizon):
        shares.setdefault(f.arm, f.value)
    at_risk = []
    lowest = 1.0
    for i, (arm, p) in enumerate(patients.groupby("arm", sort=False)):
        first = p["first_readmission_day"].to_numpy(float)
        follow = p["follow_up_days"].to_numpy(float)
        event, time = readmitted_within(first, follow, horizon)
        curves = []
        for _, idx in p.groupby("replication").indices.items():
            t, s, _ = kaplan_meier(time[idx], event[idx])
            curves.append(_step(t, s, grid))
        lo, hi = np.percentile(np.array(curves), [2.5, 97.5], axis=0)
        lowest = min(lowest, float(lo.min()))
        t, s, _ = kaplan_meier(time, event)
        colour = _COLOURS[i % len(_COLOURS)]
        ax.fill_between(grid, lo, hi, color=colour, alpha=0.18, linewidth=0, step="post")
        ax.step(grid, _step(t, s, grid), where="post", color=colour, label=arm_label(arm))
        if arm in shares:
            ax.plot(
                [horizon],
                [1 - shares[arm]],
                "D",
                color=colour,
                markeredgecolor="black",
                clip_on=False,
                zorder=5,
                label=f"{arm_label(arm)}, published",
            )
        # still at risk at t: not readmitted before t and followed to t at least
        reps = p["replication"].nunique()
        at_risk.append((arm, colour, [(time >= x).sum() / reps for x in ticks]))
    # the axis from just below the lowest band to the top, where the curves are (a
    # readmission-free share seldom falls far: from 0 the curves would be a sliver)
    floor = max(0.0, np.floor((lowest - 0.05) * 10) / 10)
    ax.set(
        ylabel="not readmitted (%)" + (f", axis from {100 * floor:.0f}%" if floor > 0 else ""),
        title="Time to first readmission by arm",
        xlim=(-0.04 * horizon, horizon * 1.03),
        ylim=(floor, 1.02),
    )
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{100 * v:.0f}"))
    ax.text(
        0.01,
        0.02,
        f"lines: all {patients['replication'].nunique()} simulated trials pooled "
        "(Kaplan-Meier); bands: 95% of single trials",
        transform=ax.transAxes,
        fontsize=8,
        color="0.3",
    )
    ax.grid(alpha=0.3)
    ax.legend(loc="upper right", fontsize=8)
    if table is None:
        ax.set_xlabel("days since entry")
        return ax
    for row, (_, colour, counts) in enumerate(at_risk):
        y = len(at_risk) - 1 - row
        for x, n in zip(ticks, counts, strict=True):
            table.text(x, y, f"{n:,.0f}", ha="center", va="center", fontsize=8, color=colour)
    table.set_yticks(range(len(at_risk))[::-1], [arm_label(a) for a, _, _ in at_risk], fontsize=8)
    table.set_ylim(-0.6, len(at_risk) - 0.4)
    table.set_xticks(ticks)
    table.tick_params(left=False)
    for side in ("top", "right", "left"):
        table.spines[side].set_visible(False)
    table.set_title("at risk (mean per simulated trial)", loc="left", fontsize=8, color="0.3")
    table.set_xlabel("days since entry")
    return ax


def hazard_ratio_distribution(
    trial: pd.DataFrame,
    horizon: float,
    published: Sequence[PublishedFigure] = (),
    ax: Axes | None = None,
    alpha: float = 0.05,
) -> Axes:
    """Histogram of the Cox hazard ratios of the simulated trials at ``horizon``.

    The legend gives the share of trials significant at ``alpha`` (the endpoint's).
    """
    ax = _axes(ax)
    t = trial[(trial["horizon_days"] == horizon) & trial["hazard_ratio"].notna()]
    t = t[t["hazard_ratio"] > 0]
    values = t["hazard_ratio"].to_numpy(float)
    given = next(iter(_published(published, "hazard_ratio", horizon)), None)
    if given is not None:  # both ends of a CI, or neither (the schema's rule)
        ci = [given.ci_low, given.ci_high] if given.ci_low is not None else [given.value]
        values = np.concatenate([values, ci])
    # equal widths on the log scale, about the square root of the trials in number
    k = int(np.clip(round(np.sqrt(max(t["replication"].nunique(), 1))), 6, 30))
    lo, hi = (values.min(), values.max()) if len(values) else (0.5, 2.0)
    bins = np.geomspace(min(lo, 0.95) * 0.97, max(hi, 1.05) * 1.03, k + 1)
    for i, (arm, g) in enumerate(t.groupby("arm", sort=False)):
        hr = g["hazard_ratio"].to_numpy(float)
        ax.hist(
            hr,
            bins=bins,
            color=_COLOURS[(i + 1) % len(_COLOURS)],
            alpha=0.7,
            label=f"{arm_label(arm)} vs {arm_label(g['reference'].iloc[0])}: median "
            f"{np.median(hr):.2f}, "
            f"{np.mean(g['hr_p'] < alpha):.0%} with p < {alpha:g}",
        )
    if given is not None:
        if given.ci_low is not None:
            ax.axvspan(
                given.ci_low, given.ci_high, color="0.5", alpha=0.15, label="published 95% CI"
            )
        ax.axvline(
            given.value, color="black", linestyle="--", label=f"published HR {given.value:g}"
        )
    ax.axvline(1.0, color="0.4", linewidth=0.8)
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xticks([x for x in (0.25, 0.33, 0.5, 0.71, 1, 1.4, 2, 3, 4) if bins[0] <= x <= bins[-1]])
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylim(0, ax.get_ylim()[1] * 1.3)  # room for the legend above the bars
    ax.set(
        xlabel=f"hazard ratio (Cox, log scale), first readmission within {horizon:g} days",
        ylabel="simulated trials",
        title=f"Hazard ratios of {t['replication'].nunique()} simulated trials",
    )
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return ax


def attendance_plot(
    attendance: pd.DataFrame,
    published: Sequence[PublishedFigure] = (),
    ax: Axes | None = None,
) -> Axes:
    """Share of those offered attending at least k sessions, with published shares."""
    ax = _axes(ax)
    k = np.array([], dtype=int)
    drawn = False
    for i, (arm, g) in enumerate(attendance.groupby("arm", sort=False)):
        wide = g.pivot(index="replication", columns="sessions_attended", values="share")
        at_least = wide.iloc[:, ::-1].cumsum(axis=1).iloc[:, ::-1]  # share attending >= k
        at_least = at_least.loc[:, at_least.columns > 0]  # "at least 0" is everyone
        if at_least.shape[1] == 0:  # no session to attend (none offered, or no one)
            continue
        drawn = True
        k = at_least.columns.to_numpy()
        mean = at_least.mean().to_numpy()
        lo, hi = np.percentile(at_least.to_numpy(), [2.5, 97.5], axis=0)
        colour = _COLOURS[(i + 1) % len(_COLOURS)]
        ax.bar(k, mean, color=colour, alpha=0.7, label=f"{arm_label(arm)}, simulated (mean)")
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
        at = {"p_attended_3plus": 3, "p_attended_all": int(k.max())}
        pts = [(at[f.statistic], f.value) for f in published if f.statistic in at and f.arm == arm]
        if pts:
            ax.plot(*zip(*pts, strict=True), "D", color="black", markersize=7, label="published")
    ax.set(
        xlabel="sessions attended, at least",
        ylabel="of those offered (%)",
        title="Peer-support sessions attended",
        ylim=(0, 1.05),
    )
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{100 * v:.0f}"))
    if not drawn:
        ax.text(0.5, 0.5, "no sessions attended", ha="center", transform=ax.transAxes)
        return ax
    ax.set_xticks(k)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, axis="y")
    return ax


def power_curve(power: pd.DataFrame, marked_n: int | None = None, ax: Axes | None = None) -> Axes:
    """Power (share of trials significant at their test's alpha) against patients per arm."""
    ax = _axes(ax)
    tests = list(dict.fromkeys(power["test"]))
    sizes = np.sort(power["n_per_arm"].unique())
    # tests side by side at each size, each its own marker and dash, so none hides another
    step = (np.diff(sizes).min() if len(sizes) > 1 else max(sizes[0], 1)) * 0.06
    for i, (test, g) in enumerate(power.groupby("test", sort=False)):
        g = g.sort_values("n_per_arm")
        ax.errorbar(
            g["n_per_arm"] + (i - (len(tests) - 1) / 2) * step,
            g["power"],
            yerr=[g["power"] - g["ci_low"], g["ci_high"] - g["power"]],
            marker="osD^v<>"[i % 7],
            linestyle=["-", "--", ":", "-."][i % 4],
            capsize=3,
            color=_COLOURS[i % len(_COLOURS)],
            label=test.replace("_", " "),
        )
    if marked_n:
        ax.axvline(
            marked_n, color="black", linestyle="--", label=f"trial size ({marked_n} per arm)"
        )
    ax.axhline(0.8, color="0.5", linewidth=0.8, linestyle=":")
    ax.set(
        xlabel="patients per arm",
        ylabel="power: trials significant (%)",
        title="Power to detect the effect (95% CI; dotted: 80%)",
        ylim=(0, 1.02),
    )
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{100 * v:.0f}"))
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
    panels = [("ward_occupied", "ward beds occupied")]
    if timeseries["waiting_list"].to_numpy().any():  # no panel for a list never used
        panels.append(("waiting_list", "waiting for a peer worker"))
    fig = fig or Figure(figsize=(8, 1.5 + 2.5 * len(panels)), layout="constrained")
    axes = fig.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0]
    for ax, (col, label) in zip(axes, panels, strict=True):
        for i, (arm, g) in enumerate(timeseries.groupby("arm", sort=False)):
            wide = g.pivot(index="day", columns="replication", values=col)
            colour = _COLOURS[i % len(_COLOURS)]
            lo, hi = np.percentile(wide.to_numpy(float), [2.5, 97.5], axis=1)
            ax.fill_between(wide.index, lo, hi, color=colour, alpha=0.18, linewidth=0)
            ax.plot(wide.index, wide.mean(axis=1), color=colour, label=arm_label(arm))
        if warm_up_days > 0:
            ax.axvspan(0, warm_up_days, color="0.85", alpha=0.5, label="warm-up (not measured)")
        ax.set_ylabel(label + " (patients)")
        ax.grid(alpha=0.3)
    if ward_beds:
        axes[0].axhline(ward_beds, color="black", linestyle=":", label=f"{ward_beds} beds")
    what = "Ward occupancy and peer-support waiting list" if len(panels) > 1 else "Ward occupancy"
    axes[0].set_title(f"{what} (mean; band: 95% of runs)")
    axes[0].legend(fontsize=8, loc="lower right")
    axes[-1].set_xlabel("day of the run")
    return fig


def _unit_axis(ax: Axes, m: Metric, axis: str = "x") -> None:
    """Pounds as £ (no offset), other values without a scientific offset."""
    a = ax.xaxis if axis == "x" else ax.yaxis
    if m.unit == "£":
        a.set_major_formatter(_Pounds())
    else:
        a.get_major_formatter().set_useOffset(False)


def _better(ax: Axes, m: Metric) -> None:
    """Which way is better, in the panel's top-right corner."""
    if m.better is not None:
        arrow = "\u2190 better" if m.better == "lower" else "better \u2192"
        ax.set_title(arrow, loc="right", fontsize=8, color="0.35")


def forest(compare: pd.DataFrame, metrics: list[str], fig: Figure | None = None) -> Figure:
    """Paired differences from the baseline policy with 95% CIs, a panel per metric.

    Shares are in percentage points, costs in pounds; which way is better is marked on
    each panel. A metric whose differences are all exactly zero (the same by
    construction, e.g. deaths under common random numbers) is left out and named in a
    footnote.
    """
    rows = compare[compare["metric"].isin(metrics) & (compare["policy"] != compare["baseline"])]
    rows = rows.copy()
    # compare's economics rows (net benefit...) are differences already: their mean is it
    own = rows["diff_mean"].isna()
    diffs = ["diff_mean", "diff_ci_low", "diff_ci_high"]
    rows.loc[own, diffs] = rows.loc[own, ["mean", "ci_low", "ci_high"]].to_numpy()
    rows = rows[rows["diff_mean"].notna()]
    present = [m for m in metrics if m in set(rows["metric"])]
    bounds = rows[["diff_ci_low", "diff_ci_high"]].abs().to_numpy()
    zero = [m for m in present if (bounds[(rows["metric"] == m).to_numpy()] == 0).all()]
    shown = [m for m in present if m not in zero]
    policies = list(dict.fromkeys(rows["policy"]))
    cols = 2 if len(shown) > 3 else 1
    nrows = max(-(-len(shown) // cols), 1)
    fig = fig or Figure(
        figsize=(10 if cols == 2 else 7, 0.9 + nrows * (0.75 + 0.32 * len(policies))),
        layout="constrained",
    )
    axes = fig.subplots(nrows, cols, squeeze=False, sharey=True).ravel()
    y = np.arange(len(policies))[::-1]
    colour = {p: _COLOURS[(i + 1) % len(_COLOURS)] for i, p in enumerate(policies)}
    for ax, name in zip(axes, shown, strict=False):
        m = metric(name)
        r = rows[rows["metric"] == name].set_index("policy").reindex(policies)
        d, lo, hi = (
            r[c].to_numpy(float) * m.scale for c in ("diff_mean", "diff_ci_low", "diff_ci_high")
        )
        for k, p in enumerate(policies):
            ax.errorbar(
                d[k],
                y[k],
                xerr=[[d[k] - lo[k]], [hi[k] - d[k]]],
                fmt="o",
                color=colour[p],
                capsize=3,
            )
        ax.axvline(0, color="0.3", linewidth=0.9)
        ax.set_title(m.axis(difference=True), loc="left", fontsize=9)
        _better(ax, m)
        _unit_axis(ax, m)
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.3, axis="x")
        ax.set_ylim(-0.6, len(policies) - 0.4)
    for ax in axes[len(shown) :]:
        ax.set_visible(False)
    axes[0].set_yticks(y, [arm_label(p) for p in policies])
    base = arm_label(rows["baseline"].iloc[0]) if len(rows) else ""
    fig.suptitle(
        f"Difference from {base} (policy minus {base}; mean and 95% CI of the paired "
        "difference across replications)",
        fontsize=10,
    )
    if zero:
        fig.supxlabel(
            "The same under every policy (not drawn): " + ", ".join(metric(z).label for z in zero),
            fontsize=8,
            color="0.35",
        )
    return fig


def sweep_curves(sweep: pd.DataFrame, metrics: list[str], fig: Figure | None = None) -> Figure:
    """Each metric against the first swept field: its level, and the paired difference.

    Left: the mean of each arm (and value of a second field, for a grid) with its 95%
    CI. Right: each arm minus the first arm at the same value, or, with one arm, the
    change from the sweep's first value; both paired by replication (common random
    numbers), so their bands are the ones to read a difference from.
    """
    params = [c for c in sweep.columns if c.startswith("set:")]
    x = params[0]
    shown = [m for m in metrics if m in set(sweep["metric"])]
    arms = list(dict.fromkeys(sweep["arm"]))
    fig = fig or Figure(figsize=(10, 2.5 * max(len(shown), 1) + 0.8), layout="constrained")
    axes = fig.subplots(max(len(shown), 1), 2, squeeze=False)
    groups = ["arm", *params[1:]]
    # one colour per arm (and second value) across every panel
    keys = list(dict.fromkeys(map(tuple, sweep[groups].astype(str).to_numpy())))
    colour_of = {k: _COLOURS[i % len(_COLOURS)] for i, k in enumerate(keys)}
    whole = pd.api.types.is_integer_dtype(sweep[x]) or bool(
        pd.api.types.is_numeric_dtype(sweep[x]) and (sweep[x] % 1 == 0).all()
    )
    for (left, right), name in zip(axes, shown, strict=False):
        m = metric(name)
        d = sweep[sweep["metric"] == name]
        # against the first arm where it has the metric, else along the sweep
        paired = "diff" if "diff_mean" in d and d["diff_mean"].notna().any() else "change"
        for key, g in d.groupby(groups, sort=False):
            g = g.sort_values(x)
            key = tuple(str(k) for k in (key if isinstance(key, tuple) else (key,)))
            label = ", ".join(
                [
                    arm_label(key[0]),
                    *(f"{field_label(p)} = {v}" for p, v in zip(params[1:], key[1:], strict=True)),
                ]
            )
            colour = colour_of[key]
            lo, mid, hi = (g[c] * m.scale for c in ("ci_low", "mean", "ci_high"))
            left.fill_between(g[x], lo, hi, color=colour, alpha=0.2, linewidth=0)
            left.plot(g[x], mid, marker="o", color=colour, label=label)
            if paired == "diff" and key[0] == arms[0]:
                continue
            lo, mid, hi = (g[f"{paired}_{c}"] * m.scale for c in ("ci_low", "mean", "ci_high"))
            right.fill_between(g[x], lo, hi, color=colour, alpha=0.25, linewidth=0)
            right.plot(g[x], mid, marker="o", color=colour, label=label)
        left.set_ylabel(m.axis(), fontsize=9)
        unit = m.axis(difference=True).removeprefix(m.label).strip() or "(count)"
        right.set_ylabel(f"difference {unit}", fontsize=9)
        right.set_title(
            f"minus {arm_label(arms[0])}"
            if paired == "diff"
            else f"change from {field_label(x)} = {sweep[x].iloc[0]}",
            loc="left",
            fontsize=8,
            color="0.35",
        )
        right.axhline(0, color="0.3", linewidth=0.9)
        _better(right, m)
        for ax in (left, right):
            _unit_axis(ax, m, "y")
            ax.grid(alpha=0.3)
            ax.tick_params(labelsize=8)
            if whole:
                ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        left.legend(fontsize=7)
    for ax in axes[-1]:
        ax.set_xlabel(field_label(x))
    fig.suptitle(
        "Left: mean across replications (95% CI).  Right: paired difference, replication "
        "by replication (95% CI)",
        fontsize=10,
    )
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
        ax.plot(q.index, q[0.5], color=colour, label=f"{arm_label(arm)} (median, 95% of trials)")
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


def _bins(v: np.ndarray, log: bool = False) -> np.ndarray | int:
    """Histogram bins for the simulated trials' values of one statistic.

    A ratio's on the log scale. Values on a lattice (a share of a fixed number of
    people: k / n) get bins of whole lattice steps centred on the lattice points, so no
    bin holds one more point than its neighbour by where its edge fell (the comb a
    fixed bin width gives). Otherwise about one bin per ten trials, 5 to 30.
    """
    n_bins = min(30, max(5, len(v) // 10))
    if log:
        lo, hi = np.log(v.min()), np.log(v.max())
        return np.exp(np.linspace(lo, hi, n_bins + 1)) if hi > lo else n_bins
    points = np.unique(v)
    if len(points) > 2:
        step = float(np.min(np.diff(points)))
        k = (points - points[0]) / step
        if step > 0 and np.allclose(k, np.round(k), atol=1e-6):  # on a lattice
            width = step * max(1, int(np.ceil((points[-1] - points[0]) / step / 30)))
            return np.arange(points[0] - width / 2, points[-1] + width, width)
    return n_bins


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
    fig = fig or Figure(figsize=(max(4.2 * cols, 6.5), 0.5 + 3.2 * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, r, v in zip(axes, published.itertuples(), values, strict=False):
        ratio = r.statistic in RATIO_STATISTICS
        v = np.asarray(v, float)
        if ratio:
            v = v[v > 0]
        if len(v):
            ax.hist(v, bins=_bins(v, ratio), color=_COLOURS[0], alpha=0.6, zorder=2)
        if pd.notna(r.published_ci_low):
            ax.axvspan(r.published_ci_low, r.published_ci_high, color="0.5", alpha=0.2, zorder=1)
        ax.axvline(r.published, color="black", linestyle="--", zorder=4)
        if ratio:  # ratios on a log axis, as everywhere: 0.5 and 2 equally far from 1
            ax.set_xscale("log")
            ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
            ax.xaxis.set_minor_formatter(NullFormatter())
            ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:g}"))
        at = "" if pd.isna(r.horizon_days) else f", {r.horizon_days:g} days"
        pct = "n/a" if pd.isna(r.percentile) else f"{r.percentile:.0f}"
        ax.set_title(
            f"{statistic_label(r.statistic)}: {arm_label(r.arm)}{at}\n"
            f"published at percentile {pct}",
            fontsize=9,
        )
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        if str(r.statistic).startswith("p_"):  # a share, in %
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{100 * v:.3g}%"))
        ax.set_ylabel("simulated trials", fontsize=8)
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.3)
    for ax in axes[n:]:
        ax.set_visible(False)
    fig.suptitle(
        "Published figures among the simulated trials\n(dashed: published; grey: its 95% CI)",
        fontsize=11,
    )
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
            label=f"{arm_label(policy)} (mean)",
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
    ax.yaxis.set_major_formatter(_Pounds())
    ax.axhline(0, color="0.6", linewidth=0.8)
    ax.axvline(0, color="0.6", linewidth=0.8)
    ax.set(
        xlabel=f"extra QALYs (discounted) over {arm_label(baseline)}",
        ylabel=f"extra cost (discounted) over {arm_label(baseline)} (£)",
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
    curve = ceac(cost, qalys, wtp).to_numpy()
    chosen, share = ceaf(cost, qalys, wtp)
    for k, policy in enumerate(policies):
        ax.plot(
            wtp,
            curve[:, k],
            color=_COLOURS[k % len(_COLOURS)],
            linestyle=["-", "--", ":", "-."][k % 4],
            label=arm_label(policy),
        )
    ax.plot(wtp, share, color="black", linewidth=3, alpha=0.25, label="frontier (CEAF)")
    for lam in marked:
        ax.axvline(lam, color="0.5", linestyle=":", linewidth=0.8)
    ax.set(
        xlabel="willingness to pay per QALY",
        ylabel="probability cost-effective (%)",
        title="Cost-effectiveness acceptability",
        ylim=(-0.02, 1.02),
    )
    ax.xaxis.set_major_formatter(_Pounds())
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{100 * v:.0f}"))
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
    # an estimate below 0 (the metamodel's noise, with few sets) is drawn at 0: no value
    value = np.nan_to_num(e["evppi"].to_numpy(float)).clip(0)
    half = np.nan_to_num(1.96 * e["se"].to_numpy(float))
    err = np.array([np.minimum(half, value), np.minimum(half, max(total, 0.0) - value).clip(0)])
    # an interval that spans all of 0 .. EVPI says nothing (too few sets to tell): no
    # bar from nothing to everything, but the words
    vague = (value - half <= 0) & (value + half >= total) & (total > 0)
    err[:, vague] = 0.0
    fields = e["fields"] if "fields" in e else e["parameter"]
    n = fields.str.count(r" \+ ").to_numpy() + 1
    colours = [_COLOURS[2] if k > 1 else _COLOURS[0] for k in n]
    names = [
        field_label(p) if k == 1 else f"{p.replace('_', ' ')} (group of {k})"
        for p, k in zip(e["parameter"], n, strict=True)
    ]
    bars = ax.barh(y, value, xerr=err, color=colours, alpha=0.8, capsize=3)
    for k in np.flatnonzero(vague):  # an estimate its sets cannot pin down: faint
        bars.patches[k].set_alpha(0.25)
        bars.patches[k].set_hatch("//")
        ax.text(
            value[k], y[k], "  not estimable from these sets", va="center", fontsize=7, color="0.3"
        )
    ax.set_yticks(y, names, fontsize=8)
    ax.axvline(total, color="black", linestyle="--", linewidth=1, label=f"EVPI £{total:,.0f}")

    ax.xaxis.set_major_formatter(_Pounds())
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
        f"{field_label(f)}\n{lo:,.4g} to {hi:,.4g}"
        for f, lo, hi in zip(b["field"], b["low_value"], b["high_value"], strict=True)
    ]
    ax.axvline(base, color="black", linewidth=1)
    ax.set_yticks(y, names, fontsize=8)
    what = str(b["comparison"].iloc[0]).replace("_", " ")  # policy ids as words
    if "net benefit" in what:
        ax.xaxis.set_major_formatter(_Pounds())
    ax.axvline(0, color="0.5", linestyle=":", linewidth=0.8)
    ax.set(
        xlabel=f"{what}\n(over the measured period, all patients; line: base case)",
        title="One-way sensitivity analysis (each field alone, others at base case)",
    )
    ax.grid(alpha=0.3, axis="x")
    ax.legend(fontsize=8, loc="lower right")
    return ax


def calibration_fit(
    table: pd.DataFrame, history: pd.DataFrame | None = None, fig: Figure | None = None
) -> Figure:
    """How close the calibrated model comes to each target, and how the search went.

    Left: each target's miss (simulated minus target) in units of its tolerance, the
    band of +-1 tolerance shaded. Right: the objective at each evaluation (log scale),
    where the search's ``history`` is given.
    """
    panels = 2 if history is not None and len(history) else 1
    fig = fig or Figure(
        figsize=(5 + 4 * (panels - 1), 1.4 + 0.42 * len(table)), layout="constrained"
    )
    axes = fig.subplots(1, panels, squeeze=False)[0]
    ax = axes[0]
    y = np.arange(len(table))[::-1]
    z = (table["miss"] / table["tolerance"]).to_numpy(float)
    met = table["within_tolerance"].to_numpy(bool)
    ax.axvspan(-1, 1, color=_COLOURS[2], alpha=0.15, label="within tolerance")
    if met.any():
        ax.scatter(z[met], y[met], color=_COLOURS[0], zorder=3, label="met")
    if not met.all():  # no legend entry for what is not drawn
        ax.scatter(z[~met], y[~met], color=_COLOURS[1], marker="X", s=60, zorder=3, label="missed")
    ax.axvline(0, color="0.3", linewidth=0.9)
    ax.set_yticks(y, [str(t) for t in table["target"]], fontsize=8)
    ax.set_xlim(min(-1.5, z.min() - 0.3), max(1.5, z.max() + 0.3))
    ax.set(xlabel="simulated minus target (in tolerances)", title="Targets after calibration")
    ax.grid(alpha=0.3, axis="x")
    ax.legend(fontsize=8, loc="lower right")
    if panels == 2:
        h = axes[1]
        h.plot(history["evaluation"], history["objective"], marker=".", color=_COLOURS[0])
        h.plot(
            history["evaluation"],
            history["objective"].cummin(),
            color="black",
            linewidth=1,
            label="best so far",
        )
        h.set_yscale("log")
        h.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        h.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        h.yaxis.set_minor_formatter(NullFormatter())
        h.xaxis.set_major_locator(MaxNLocator(integer=True))
        h.set(
            xlabel="evaluation", ylabel="sum of squared misses (in tolerances)", title="The search"
        )
        h.grid(alpha=0.3)
        h.legend(fontsize=8)
    return fig
