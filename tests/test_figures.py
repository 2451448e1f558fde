"""Figures for a board paper: human labels with units, nothing drawn that carries no
information, paired differences where the design pairs them, a stamp saying what made
each figure."""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import SERVICE, TRIAL, scenario
from matplotlib.figure import Figure

from sim import api, figures, plots, studies
from sim.labels import FOREST_METRICS, arm_label, field_label, metric
from sim.studies.run import Run


def _texts(fig: Figure) -> str:
    """Every piece of text on a figure, its tick labels drawn."""
    fig.draw_without_rendering()
    out = [t.get_text() for t in fig.findobj(lambda o: hasattr(o, "get_text"))]
    return "\n".join(out)


def test_labels_carry_units_and_read_as_words() -> None:
    assert metric("p_readmit_365d").axis() == "readmitted within a year (%)"
    assert metric("p_readmit_365d").axis(difference=True) == (
        "readmitted within a year (percentage points)"
    )
    assert metric("p_readmit_30d").label == "readmitted within 30 days"
    assert metric("cost_total_per_year").axis() == "cost per year (£)"
    assert metric("qalys_discounted").better == "higher"
    assert metric("readmissions_per_year").better == "lower"
    assert metric("no_such_metric").label == "no such metric"  # unknown ids still read
    assert arm_label("peer_support") == "peer support"
    assert field_label("set:peer_workers.count") == "peer workers: count"
    assert field_label("arms.*.effect.hazard_ratio") == "effect: hazard ratio (every arm)"
    assert field_label("acute_care.crt.length_of_stay.mean_days") == (
        "crt length of stay: mean days"
    )


def _compare_table() -> pd.DataFrame:
    rows = []
    for policy, d in (("a_policy", -3.0), ("b_policy", -5.0)):
        for m, scale in (("p_readmit_365d", 0.01), ("cost_total_per_year", 1e6), ("p_died", 0)):
            diff = d * scale
            rows.append(
                {
                    "metric": m,
                    "policy": policy,
                    "baseline": "usual_care",
                    "mean": 1.0,
                    "ci_low": 0.9,
                    "ci_high": 1.1,
                    "replications": 5,
                    "diff_mean": diff,
                    "diff_ci_low": diff - abs(scale),
                    "diff_ci_high": diff + abs(scale),
                }
            )
    return pd.DataFrame(rows)


def test_the_forest_plot_speaks_in_units_and_leaves_out_what_cannot_differ() -> None:
    fig = plots.forest(_compare_table(), FOREST_METRICS + ["p_died"])
    text = _texts(fig)
    # p_died is zero under every policy by construction: named, not drawn
    assert "The same under every policy (not drawn): died" in text
    shown = [ax for ax in fig.axes if ax.get_visible()]
    assert len(shown) == 2
    share = next(ax for ax in shown if "percentage points" in ax.get_title(loc="left"))
    x = share.lines[0].get_xdata() if share.lines else None
    assert x is not None and np.isclose(x[0], -3.0)  # 0.03 of a share drawn as 3 points
    cost = next(ax for ax in shown if "(£)" in ax.get_title(loc="left"))
    assert cost.xaxis.get_offset_text().get_text() == ""  # no "1e6"
    assert any(t.startswith(("-£", "£")) for t in text.splitlines())
    assert "\u2190 better" in text  # which way is better
    assert "a policy" in text and "a_policy" not in text  # policies as words
    assert "usual care" in text


def test_a_sweep_holds_paired_differences_taken_replication_by_replication() -> None:
    s = scenario(SERVICE, **{"feed.run_days": 120})
    res = studies.sweep(s, [("peer_workers.count", [1, 3])], 3, jobs=1)
    summary, per_rep = res.summary, res.per_replication
    m = "p_readmit_90d"
    wide = per_rep[per_rep["metric"] == m].pivot_table(
        index=["set:peer_workers.count", "replication"], columns="arm", values="value"
    )
    d = (wide["peer"] - wide["control"]).groupby(level=0)
    row = summary[(summary["metric"] == m) & (summary["arm"] == "peer")].set_index(
        "set:peer_workers.count"
    )
    assert np.allclose(row["diff_mean"], d.mean())
    # the t-interval of the paired differences, not the difference of two intervals
    half = 4.302652729911275 * d.std() / np.sqrt(3)  # t(0.975, 2 df)
    assert np.allclose(row["diff_ci_high"] - row["diff_mean"], half)
    # the first arm has no difference from itself; the first point no change from itself
    first_arm = summary[summary["arm"] == "control"]
    assert first_arm["diff_mean"].isna().all()
    assert (summary.loc[summary["set:peer_workers.count"] == 1, "change_mean"] == 0).all()
    start = per_rep[(per_rep["metric"] == m) & (per_rep["arm"] == "peer")].pivot(
        index="replication", columns="set:peer_workers.count", values="value"
    )
    assert row.loc[3, "change_mean"] == pytest.approx((start[3] - start[1]).mean())
    fig = plots.sweep_curves(summary, [m])
    assert all((ax.xaxis.get_majorticklocs() % 1 == 0).all() for ax in fig.axes)  # whole workers
    assert "peer workers: count" in _texts(fig)


def test_trial_figures_are_labelled_with_numbers_at_risk_and_log_ratios() -> None:
    s = scenario(TRIAL, replications=9, **{"outcomes.endpoints.first_readmission.alpha": 0.1})
    r = api.run(s, jobs=1)
    made = Run(r, len(r.replications)).figures()
    km = made["km.png"]
    curve, table = km.axes
    assert table.get_title(loc="left").startswith("at risk")
    # at day 0 everyone is at risk: the patients of an arm per simulated trial
    numbers = [t.get_text() for t in table.texts]
    per_arm = r.patients.groupby("arm", sort=False).size() / 9
    assert numbers[0] == f"{per_arm.iloc[0]:,.0f}"
    assert curve.get_xlim()[1] > s.outcomes.primary_horizon_days  # published points not cut
    assert "peer" in [t.get_text() for t in table.get_yticklabels()]
    hr = made["hazard_ratios.png"].axes[0]
    assert "with p < 0.1" in _texts(hr.figure)  # the endpoint's alpha, not 0.05
    assert hr.get_xscale() == "log"
    assert all(v % 1 == 0 for v in hr.get_yticks())
    bars = [p for p in hr.patches if p.get_height() > 0]
    assert len({round(p.get_x(), 9) for p in bars}) <= 6  # ~sqrt(9 trials) bins, not 40
    assert "capacity.png" in made and len(made["capacity.png"].axes) == 1  # no empty list panel


def test_power_curves_differ_in_more_than_colour() -> None:
    power = pd.DataFrame(
        {
            "test": ["odds_ratio", "odds_ratio", "hazard_ratio", "hazard_ratio"],
            "n_per_arm": [100, 200, 100, 200],
            "power": [0.5, 0.7, 0.5, 0.7],
            "ci_low": [0.4, 0.6, 0.4, 0.6],
            "ci_high": [0.6, 0.8, 0.6, 0.8],
        }
    )
    ax = plots.power_curve(power)
    lines = [ln for ln in ax.lines if len(ln.get_xdata()) == 2 and ln.get_marker() in "osD^v<>"]
    assert len({ln.get_marker() for ln in lines}) == 2
    assert len({ln.get_linestyle() for ln in lines}) == 2
    xs = [tuple(ln.get_xdata()) for ln in lines]
    assert xs[0] != xs[1]  # side by side: one line cannot hide the other


def test_every_figure_carries_the_stamp_of_what_made_it() -> None:
    fig = plots.power_curve(
        pd.DataFrame(
            {"test": ["t"], "n_per_arm": [10], "power": [0.5], "ci_low": [0.4], "ci_high": [0.6]}
        )
    ).figure
    line = figures.stamp("power", ["tiny-trial"], 11, "10 replications")
    assert line.startswith("crisis-sim ") and "tiny-trial" in line and "seed 11" in line
    out = figures.encoded({"power.png": fig}, line)
    assert set(out) == {"power.png", "power.svg"}
    assert line in _texts(fig)
    assert out["power.png"].startswith(b"\x89PNG")


def test_a_trial_that_limits_nothing_has_no_capacity_series() -> None:
    # unlimited ward, CRT and workers: no full ward, no waiting list, nothing to plot
    free = scenario(TRIAL, **{"acute_care.ward.capacity": None})
    r = api.run(free, replications=2, jobs=1)
    assert r.timeseries is None and "capacity.png" not in Run(r, len(r.replications)).figures()
    limited = api.run(scenario(TRIAL), replications=2, jobs=1)  # a 5-bed ward
    assert limited.timeseries is not None and len(limited.timeseries)


_FORKED_AND_HERE = """
import pickle, sys
sys.path.insert(0, sys.argv[1])
from helpers import TRIAL, scenario
from sim import api, figures
from sim.studies.run import Run

r = api.run(scenario(TRIAL), replications=3, jobs=1)
line = figures.stamp("run", ["tiny-trial"], 11, "3 replications")
safe = figures._fork_is_safe()
forked = figures.encoded(Run(r, len(r.replications)).figures(), line)
figures._fork_is_safe = lambda: False
here = figures.encoded(Run(r, len(r.replications)).figures(), line)
with open(sys.argv[2], "wb") as f:
    pickle.dump((safe, forked, here), f)
"""


def test_figures_drawn_by_a_forked_child_are_the_bytes_drawn_here(tmp_path) -> None:
    # in a fresh process: here, a thread left by an earlier test (Dask's offload thread)
    # would make forking unsafe, and the case under test would not be reached
    out = tmp_path / "figures.pickle"
    tests = str(Path(__file__).parent)
    subprocess.run([sys.executable, "-c", _FORKED_AND_HERE, tests, str(out)], check=True)
    safe, forked, here = pickle.loads(out.read_bytes())
    assert safe  # the case under test: a child draws some of the figures
    assert len(here) == 8  # capacity, km, hazard ratios, attendance: PNG and SVG
    assert list(forked) == list(here) and forked == here
