"""Trial statistics: each replication analysed as the CORE trial was, and across replications.

Per replication, horizon and arm (docs/outputs.md, ``trial.csv``):

* readmission within the horizon, complete case: a patient lost to follow-up before
  the horizon without a readmission has no outcome and is left out (CORE analysed
  218 of 221 and 216 of 220); deaths before the horizon count as not readmitted;
* odds ratio against the reference arm by logistic regression, 95% CI, p-value;
* time to first readmission, censored at death, loss or the horizon: Cox hazard
  ratio with 95% CI and p-value, restricted mean time (RMST) to the horizon, and the
  mean and median time among those readmitted within the horizon;
* deaths and losses within the horizon.

The reference arm is the first arm without peer support (else the first arm); every
other arm is compared with it. Estimators: :mod:`sim.analysis.survival` (fast paths
that agree with statsmodels to 1e-6; ``method="statsmodels"`` uses the library).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from sim.analysis import survival as sv
from sim.analysis.tables import horizons
from sim.config import ITTEffect, NoEffect, Scenario

__all__ = [
    "reference_arm",
    "trial_table",
    "attendance_table",
    "trial_summary",
    "true_ratios",
    "TRIAL_COLUMNS",
]

TRIAL_COLUMNS = {
    "replication": "replication (one simulated trial)",
    "horizon_days": "outcome horizon, days from entry",
    "arm": "arm",
    "reference": "the arm it is compared with",
    "n": "patients randomised",
    "n_analysed": "patients with a known outcome at the horizon (complete case)",
    "readmitted": "readmitted within the horizon",
    "p_readmitted": "readmitted / n_analysed",
    "rmst_days": "restricted mean time to first readmission over [0, horizon]",
    "mean_days_readmitted": "mean days to first readmission among those readmitted by the horizon",
    "median_days_readmitted": "median of the same",
    "deaths": "deaths within the horizon",
    "lost": "lost to follow-up within the horizon",
    "odds_ratio": "odds ratio vs the reference arm (logistic regression)",
    "or_ci_low": "95% CI, lower",
    "or_ci_high": "95% CI, upper",
    "or_p": "Wald p-value",
    "hazard_ratio": "Cox hazard ratio vs the reference arm",
    "hr_ci_low": "95% CI, lower",
    "hr_ci_high": "95% CI, upper",
    "hr_p": "Wald p-value",
}


def reference_arm(scenario: Scenario) -> str:
    """The first arm without peer support, else the first arm."""
    return next((a.name for a in scenario.arms if a.peer_support is None), scenario.arms[0].name)


def _outcomes(p: pd.DataFrame, h: float) -> dict[str, np.ndarray]:
    first = p["first_readmission_day"].to_numpy(float)
    follow = p["follow_up_days"].to_numpy(float)
    readm = first <= np.minimum(follow, h)  # NaN compares False
    lost_before = p["lost"].to_numpy(bool) & (follow < h) & ~readm
    died_before = p["died"].to_numpy(bool) & (follow < h) & ~readm
    time = np.where(readm, first, np.minimum(follow, h))
    return {
        "readm": readm,
        "known": ~lost_before,
        "time": time,
        "died": died_before,
        "lost": lost_before,
        "first": first,
    }


def trial_table(patients: pd.DataFrame, scenario: Scenario, method: str = "fast") -> pd.DataFrame:
    """Trial statistics per replication, horizon and arm (columns: :data:`TRIAL_COLUMNS`)."""
    odds = sv.odds_ratio if method == "fast" else sv.odds_ratio_statsmodels
    cox = sv.cox_hazard_ratio if method == "fast" else sv.cox_hazard_ratio_statsmodels
    ref = reference_arm(scenario)
    arms = [a.name for a in scenario.arms]
    rows = []
    for rep, pr in patients.groupby("replication", sort=True):
        by_arm = {a: pr[pr["arm"] == a] for a in arms}
        for h in horizons(scenario):
            out = {a: _outcomes(by_arm[a], h) for a in arms}
            for a in arms:
                o = out[a]
                readm_t = o["first"][o["readm"]]
                row = {
                    "replication": rep,
                    "horizon_days": h,
                    "arm": a,
                    "reference": ref,
                    "n": len(o["readm"]),
                    "n_analysed": int(o["known"].sum()),
                    "readmitted": int(o["readm"].sum()),
                    "p_readmitted": o["readm"].sum() / max(o["known"].sum(), 1),
                    "rmst_days": sv.rmst(o["time"], o["readm"], h) if len(o["time"]) else math.nan,
                    "mean_days_readmitted": readm_t.mean() if len(readm_t) else math.nan,
                    "median_days_readmitted": float(np.median(readm_t))
                    if len(readm_t)
                    else math.nan,
                    "deaths": int(o["died"].sum()),
                    "lost": int(o["lost"].sum()),
                }
                if a != ref:
                    r = out[ref]
                    known = np.concatenate([r["known"], o["known"]])
                    y = np.concatenate([r["readm"], o["readm"]])[known]
                    x = np.concatenate(
                        [np.zeros(len(r["readm"]), bool), np.ones(len(o["readm"]), bool)]
                    )
                    orr = odds(y, x[known])
                    hr = cox(
                        np.concatenate([r["time"], o["time"]]),
                        np.concatenate([r["readm"], o["readm"]]),
                        x,
                    )
                    row.update(
                        odds_ratio=orr.ratio,
                        or_ci_low=orr.ci_low,
                        or_ci_high=orr.ci_high,
                        or_p=orr.p_value,
                        hazard_ratio=hr.ratio,
                        hr_ci_low=hr.ci_low,
                        hr_ci_high=hr.ci_high,
                        hr_p=hr.p_value,
                    )
                rows.append(row)
    return pd.DataFrame(rows, columns=list(TRIAL_COLUMNS))


def attendance_table(patients: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """Share of those offered who attended k sessions, k = 0..n_sessions, per replication."""
    rows = []
    for arm in scenario.arms:
        if arm.peer_support is None:
            continue
        n = arm.peer_support.n_sessions
        p = patients[(patients["arm"] == arm.name) & patients["offered"]]
        for rep, pr in p.groupby("replication", sort=True):
            counts = np.bincount(np.minimum(pr["sessions_attended"].to_numpy(), n), minlength=n + 1)
            for k, c in enumerate(counts):
                rows.append((rep, arm.name, k, c / max(len(pr), 1)))
    return pd.DataFrame(rows, columns=["replication", "arm", "sessions_attended", "share"])


def true_ratios(scenario: Scenario, arm: str, horizon: float) -> dict[str, float | None]:
    """The effect the scenario truly put in, where one is defined.

    The hazard ratio is defined for an ITT effect from the offer that lasts past the
    horizon, offered to everyone, without frailty (with frailty the population ratio
    drifts toward 1) and against a reference arm with no effect; both ratios are 1
    when neither arm has an effect.
    """
    arms = {a.name: a for a in scenario.arms}
    ref = arms[reference_arm(scenario)]
    a = arms[arm]
    if not isinstance(ref.effect, NoEffect):
        return {"hazard_ratio": None, "odds_ratio": None}
    if isinstance(a.effect, NoEffect):
        return {"hazard_ratio": 1.0, "odds_ratio": 1.0}
    e = a.effect
    ok = (
        isinstance(e, ITTEffect)
        and e.starts_at == "offer"
        and e.window_days >= horizon
        and scenario.population.frailty_variance == 0
        and a.peer_support is not None
        and a.peer_support.risk_groups is None
    )
    return {"hazard_ratio": e.hazard_ratio if ok else None, "odds_ratio": None}


_STATS = [
    "p_readmitted",
    "rmst_days",
    "mean_days_readmitted",
    "median_days_readmitted",
    "deaths",
    "lost",
    "odds_ratio",
    "hazard_ratio",
]


def trial_summary(trial: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """Across replications: mean, median and 2.5-97.5 percentiles; power; CI coverage.

    Long table: horizon_days, arm, statistic, mean, median, p2_5, p97_5, replications.
    ``power_or`` / ``power_hr``: share of replications with p < 0.05. ``coverage_or`` /
    ``coverage_hr``: share whose 95% CI holds the true ratio (only where
    :func:`true_ratios` defines one).
    """
    rows = []
    for (h, arm), g in trial.groupby(["horizon_days", "arm"], sort=False):
        for stat in _STATS:
            v = g[stat].dropna().to_numpy(float)
            if len(v) == 0:
                continue
            rows.append(
                (
                    h,
                    arm,
                    stat,
                    v.mean(),
                    float(np.median(v)),
                    float(np.percentile(v, 2.5)),
                    float(np.percentile(v, 97.5)),
                    len(v),
                )
            )
        if g["hazard_ratio"].notna().any():
            truth = true_ratios(scenario, arm, h)
            for key, col, lo, hi in (
                ("or", "or_p", "or_ci_low", "or_ci_high"),
                ("hr", "hr_p", "hr_ci_low", "hr_ci_high"),
            ):
                ok = g[col].notna()
                power = float((g.loc[ok, col] < 0.05).mean())
                rows.append((h, arm, f"power_{key}", power, np.nan, np.nan, np.nan, int(ok.sum())))
                true = truth["odds_ratio" if key == "or" else "hazard_ratio"]
                if true is not None:
                    cover = float(((g.loc[ok, lo] <= true) & (true <= g.loc[ok, hi])).mean())
                    rows.append(
                        (h, arm, f"coverage_{key}", cover, np.nan, np.nan, np.nan, int(ok.sum()))
                    )
    return pd.DataFrame(
        rows,
        columns=[
            "horizon_days",
            "arm",
            "statistic",
            "mean",
            "median",
            "p2_5",
            "p97_5",
            "replications",
        ],
    )
