"""Plots: pure functions from tables to matplotlib figures.

No pyplot and no global rcParams: each function builds a ``Figure`` of its own
(so it is safe in worker processes and notebooks alike) and returns it; the caller
saves it. Units are on every axis; published figures, where the scenario gives
them, are drawn over the simulated ones.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.analysis.survival import kaplan_meier
from sim.config import Published

__all__ = ["km_by_arm", "hazard_ratio_distribution", "attendance_plot", "power_curve"]

_COLOURS = ["#1b6ca8", "#d1495b", "#2e933c", "#edae49", "#6c4f77"]


def _step(t: np.ndarray, s: np.ndarray, grid: np.ndarray) -> np.ndarray:
    return np.concatenate(([1.0], s))[np.searchsorted(t, grid, side="right")]


def km_by_arm(patients: pd.DataFrame, horizon: float, published: Published | None = None) -> Figure:
    """Readmission-free survival by arm: Kaplan-Meier of all simulated trials pooled,
    with the band that holds 95% of single simulated trials' curves."""
    fig = Figure(figsize=(7, 4.5), layout="constrained")
    ax = fig.add_subplot()
    grid = np.linspace(0, horizon, 366)
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
        if published and arm in published.p_readmitted:
            ax.plot(
                [horizon],
                [1 - published.p_readmitted[arm]],
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
    return fig


def hazard_ratio_distribution(
    trial: pd.DataFrame, horizon: float, published: Published | None = None
) -> Figure:
    """Histogram of the Cox hazard ratios of the simulated trials at ``horizon``."""
    fig = Figure(figsize=(7, 4.5), layout="constrained")
    ax = fig.add_subplot()
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
    return fig


def attendance_plot(attendance: pd.DataFrame, published: Published | None = None) -> Figure:
    """Share of those offered attending at least k sessions, with published shares."""
    fig = Figure(figsize=(7, 4.5), layout="constrained")
    ax = fig.add_subplot()
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
    return fig


def power_curve(power: pd.DataFrame, marked_n: int | None = None) -> Figure:
    """Power (share of trials with p < 0.05) against patients per arm, with 95% CIs."""
    fig = Figure(figsize=(7, 4.5), layout="constrained")
    ax = fig.add_subplot()
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
        ylabel="power (share of trials with p < 0.05)",
        title="Power to detect the effect",
        ylim=(0, 1.02),
    )
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return fig
