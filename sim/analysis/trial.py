"""Trial statistics: each replication analysed as the CORE trial was, and across replications.

Per replication, horizon and arm (docs/outputs.md, ``trial.parquet``):

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
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.analysis import counts as ct
from sim.analysis import survival as sv
from sim.analysis.patients import readmitted_within
from sim.analysis.tables import Columns, EpisodeTimes, Unframed, column, horizons, n_rows
from sim.config import ITTEffect, NoEffect, Scenario

__all__ = [
    "reference_arm",
    "trial_table",
    "trial_rows",
    "trial_columns",
    "mcf_table",
    "COUNT_COLUMNS",
    "BED_DAYS_COLUMNS",
    "attendance_table",
    "attendance_columns",
    "trial_summary",
    "true_ratios",
    "TRIAL_COLUMNS",
    "EndpointTest",
    "endpoint_tests",
    "below_alpha",
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


# the patients' columns the statistics read, taken out of the frame once per replication
_COLUMNS = {"first_readmission_day": float, "follow_up_days": float, "lost": bool, "died": bool}


def _columns(p: pd.DataFrame | Columns) -> dict[str, np.ndarray]:
    return {c: column(p, c).astype(dtype, copy=False) for c, dtype in _COLUMNS.items()}


def _outcomes(p: dict[str, np.ndarray], h: float) -> dict[str, np.ndarray]:
    first = p["first_readmission_day"]
    follow = p["follow_up_days"]
    readm, time = readmitted_within(first, follow, h)
    lost_before = p["lost"] & (follow < h) & ~readm
    died_before = p["died"] & (follow < h) & ~readm
    return {
        "readm": readm,
        "known": ~lost_before,
        "time": time,
        "died": died_before,
        "lost": lost_before,
        "first": first,
    }


COUNT_COLUMNS = {
    "readmissions_mean": "readmissions per person within the horizon (complete case)",
    "readmissions_sd": "their standard deviation",
    "readmissions_mcf": "mean cumulative number of readmissions at the horizon (all "
    "patients, censoring accounted for: Nelson-Aalen)",
    "rate_ratio": "readmission rate ratio vs the reference arm (negative binomial, log "
    "follow-up offset)",
    "rr_ci_low": "95% CI, lower",
    "rr_ci_high": "95% CI, upper",
    "nb_dispersion": "negative binomial dispersion alpha (variance = mean + alpha mean^2)",
    "count_p": "p-value of the readmission-count test named in outcomes.endpoints",
}
BED_DAYS_COLUMNS = {
    "bed_days_mean": "days in a hospital bed (ward or out of area) per person within the "
    "horizon (complete case)",
    "bed_days_sd": "their standard deviation",
    "bed_days_difference": "difference in mean bed-days vs the reference arm",
    "bd_ci_low": "95% CI, lower (t-interval)",
    "bd_ci_high": "95% CI, upper",
    "bed_days_p": "p-value of the bed-days test named in outcomes.endpoints",
    "bed_days_ratio": "ratio of mean bed-days vs the reference arm",
    "br_ci_low": "95% CI, lower (the log of the ratio of means, delta method)",
    "br_ci_high": "95% CI, upper",
}


def trial_columns(scenario: Scenario) -> list[str]:
    """The columns of ``trial.parquet`` for this scenario's endpoints."""
    ends = scenario.outcomes.endpoints
    cols = list(TRIAL_COLUMNS)
    if ends.readmission_count is not None:
        cols += list(COUNT_COLUMNS)
    if ends.bed_days is not None:
        cols += list(BED_DAYS_COLUMNS)
    return cols


def _one_sided(e: sv.Estimate, alternative: str) -> float:
    if alternative == "two-sided" or not math.isfinite(e.log_se):
        return e.p_value
    return ct.wald_p(math.log(e.ratio) / e.log_se, alternative)


def _by_replication(patients: pd.DataFrame | Columns):
    """``patients.groupby("replication", sort=True)``, without grouping when the table
    holds one replication (a run's worker analyses one at a time)."""
    reps = column(patients, "replication")
    if len(reps) and (reps == reps[0]).all():
        return [(int(reps[0]), patients)]
    if not isinstance(patients, pd.DataFrame):
        patients = pd.DataFrame(patients)
    return patients.groupby("replication", sort=True)


def trial_table(
    patients: pd.DataFrame | Columns,
    scenario: Scenario,
    method: str = "fast",
    times: EpisodeTimes | None = None,
) -> pd.DataFrame:
    """Trial statistics per replication, horizon and arm (columns: :func:`trial_columns`).

    The count and bed-day endpoints need ``times`` (:meth:`Reduction.episode_times`).
    ``patients`` is a patients table, or its columns (:func:`patient_columns`).
    """
    return trial_rows(patients, scenario, method, times).frame()


def trial_rows(
    patients: pd.DataFrame | Columns,
    scenario: Scenario,
    method: str = "fast",
    times: EpisodeTimes | None = None,
) -> Unframed:
    """:func:`trial_table`'s rows, before the frame."""
    odds = sv.odds_ratio if method == "fast" else sv.odds_ratio_statsmodels
    cox = sv.cox_hazard_ratio if method == "fast" else sv.cox_hazard_ratio_statsmodels
    nb = ct.negative_binomial if method == "fast" else ct.negative_binomial_statsmodels
    pois = ct.poisson if method == "fast" else ct.poisson_statsmodels
    ends = scenario.outcomes.endpoints
    first_alt = ends.first_readmission.alternative
    counts, beds = ends.readmission_count, ends.bed_days
    if (counts or beds) is not None and times is None:
        raise ValueError("count and bed-day endpoints need the episode times")
    ref = reference_arm(scenario)
    arms = [a.name for a in scenario.arms]
    rows = []
    total = n_rows(patients)
    for rep, pr in _by_replication(patients):
        arm_of, cols = column(pr, "arm").astype(object, copy=False), _columns(pr)
        by_arm = {a: {c: v[arm_of == a] for c, v in cols.items()} for a in arms}
        # positions of each arm's patients in the table the episode times point into
        pos = {}
        if times is not None:
            replication_of = column(patients, "replication")
            all_arms = column(patients, "arm")
            pos = {a: np.flatnonzero((replication_of == rep) & (all_arms == a)) for a in arms}
        for h in horizons(scenario):
            out = {a: _outcomes(by_arm[a], h) for a in arms}
            per = {}
            if times is not None:
                per = {a: _per_person(times, pos[a], by_arm[a], h, total) for a in arms}
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
                if counts is not None:
                    c = per[a]["count"][o["known"]]
                    row.update(
                        readmissions_mean=c.mean() if len(c) else math.nan,
                        readmissions_sd=c.std(ddof=1) if len(c) > 1 else math.nan,
                        readmissions_mcf=per[a]["mcf"],
                    )
                if beds is not None:
                    b = per[a]["bed_days"][o["known"]]
                    row.update(
                        bed_days_mean=b.mean() if len(b) else math.nan,
                        bed_days_sd=b.std(ddof=1) if len(b) > 1 else math.nan,
                    )
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
                        or_p=_one_sided(orr, first_alt),
                        hazard_ratio=hr.ratio,
                        hr_ci_low=hr.ci_low,
                        hr_ci_high=hr.ci_high,
                        hr_p=_one_sided(hr, first_alt),
                    )
                    if counts is not None:
                        row.update(_count_comparison(per[ref], per[a], r, o, counts, nb, pois))
                    if beds is not None:
                        d = ct.compare_means(
                            per[a]["bed_days"][o["known"]],
                            per[ref]["bed_days"][r["known"]],
                            beds.test,
                            beds.alternative,
                        )
                        row.update(
                            bed_days_difference=d.value,
                            bd_ci_low=d.ci_low,
                            bd_ci_high=d.ci_high,
                            bed_days_p=d.p_value,
                        )
                        ratio = ct.ratio_of_means(
                            per[a]["bed_days"][o["known"]], per[ref]["bed_days"][r["known"]]
                        )
                        row.update(
                            bed_days_ratio=ratio.value,
                            br_ci_low=ratio.ci_low,
                            br_ci_high=ratio.ci_high,
                        )
                rows.append(row)
    return Unframed(rows=rows, names=trial_columns(scenario))


def _per_person(
    times: EpisodeTimes, rows: np.ndarray, p: dict[str, np.ndarray], h: float, n_rows: int
) -> dict:
    """An arm's readmissions and bed-days per person within ``h`` days of entry."""
    in_h = times.readmission_day <= h
    count = np.bincount(times.readmission_row[in_h], minlength=n_rows)[rows]
    days = np.clip(np.minimum(times.bed_out, h) - np.maximum(times.bed_in, 0.0), 0.0, None)
    bed_days = np.bincount(times.bed_row, weights=days, minlength=n_rows)[rows]
    follow = p["follow_up_days"]
    mine = np.isin(times.readmission_row, rows) & in_h
    mcf = ct.mean_cumulative(times.readmission_day[mine], follow, np.array([h]))[0]
    return {
        "count": count.astype(float),
        "exposure": np.minimum(follow, h),
        "bed_days": bed_days,
        "mcf": float(mcf) if len(follow) else math.nan,
    }


def _count_comparison(ref: dict, arm: dict, o_ref: dict, o_arm: dict, spec, nb, pois) -> dict:
    """Rate ratio (negative binomial) and the p-value of the count test named."""
    y = np.concatenate([ref["count"], arm["count"]])
    t = np.concatenate([ref["exposure"], arm["exposure"]])
    x = np.concatenate([np.zeros(len(ref["count"]), bool), np.ones(len(arm["count"]), bool)])
    est, alpha = nb(y, t, x, spec.alternative)
    if spec.test == "negative_binomial":
        p = est.p_value
    elif spec.test == "poisson":
        p = pois(y, t, x, spec.alternative).p_value
    else:
        p = ct.compare_means(
            arm["count"][o_arm["known"]], ref["count"][o_ref["known"]], spec.test, spec.alternative
        ).p_value
    return {
        "rate_ratio": est.ratio,
        "rr_ci_low": est.ci_low,
        "rr_ci_high": est.ci_high,
        "nb_dispersion": alpha,
        "count_p": p,
    }


def mcf_table(
    patients: pd.DataFrame, scenario: Scenario, times: EpisodeTimes, step_days: float = 7.0
) -> pd.DataFrame:
    """Mean cumulative number of readmissions per person, by arm, on a grid of days from
    entry up to the longest horizon (one replication): replication, arm, day, mcf.
    """
    grid = np.arange(0.0, max(horizons(scenario)) + 1e-9, step_days)
    rep = int(patients["replication"].iloc[0]) if len(patients) else 0
    frames = []
    for a in (arm.name for arm in scenario.arms):
        rows = np.flatnonzero(patients["arm"].to_numpy() == a)
        mine = np.isin(times.readmission_row, rows)
        follow = patients["follow_up_days"].to_numpy(float)[rows]
        mcf = ct.mean_cumulative(times.readmission_day[mine], follow, grid)
        frames.append(pd.DataFrame({"replication": rep, "arm": a, "day": grid, "mcf": mcf}))
    return pd.concat(frames, ignore_index=True)


def attendance_table(patients: pd.DataFrame | Columns, scenario: Scenario) -> pd.DataFrame:
    """Share of those offered who attended k sessions, k = 0..n_sessions, per replication.

    Counted with one ``bincount`` per arm over (replication, k), replications in order.
    ``patients``: a patients table or its columns (:func:`patient_columns`).
    """
    return pd.DataFrame(attendance_columns(patients, scenario))


def attendance_columns(patients: pd.DataFrame | Columns, scenario: Scenario) -> Columns:
    """:func:`attendance_table`'s columns, before the frame."""
    arm_of = column(patients, "arm")
    offered = column(patients, "offered").astype(bool)
    replication = column(patients, "replication").astype(np.int64)
    attended = column(patients, "sessions_attended").astype(np.int64)
    parts = []
    for arm in scenario.arms:
        if arm.peer_support is None:
            continue
        n = arm.peer_support.n_sessions
        mine = (arm_of == arm.name) & offered
        reps, row = np.unique(replication[mine], return_inverse=True)
        k = np.minimum(attended[mine], n)
        counts = np.bincount(row * (n + 1) + k, minlength=len(reps) * (n + 1))
        counts = counts.reshape(len(reps), n + 1)
        share = counts / np.maximum(counts.sum(axis=1), 1)[:, None]
        parts.append(
            {
                "replication": np.repeat(reps, n + 1),
                "arm": np.full(len(reps) * (n + 1), arm.name, dtype=object),
                "sessions_attended": np.tile(np.arange(n + 1, dtype=np.int64), len(reps)),
                "share": share.ravel(),
            }
        )
    if not parts:
        return {
            "replication": np.array([], dtype=np.int64),
            "arm": np.array([], dtype=object),
            "sessions_attended": np.array([], dtype=np.int64),
            "share": np.array([], dtype=np.float64),
        }
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


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


@dataclass(frozen=True)
class EndpointTest:
    """One endpoint's test: ``key`` (the ``power_<key>`` statistic), its label, the
    trial table's column of its p-value and the alpha it is judged at."""

    key: str
    label: str
    p_column: str
    alpha: float


def endpoint_tests(scenario: Scenario) -> list[EndpointTest]:
    """The tests of the scenario's endpoints, each with its alternative and alpha.

    The odds and hazard ratios of the first readmission always; the readmission-count
    and bed-day tests where ``outcomes.endpoints`` names them.
    """
    ends = scenario.outcomes.endpoints
    first = ends.first_readmission

    def label(name: str, alternative: str) -> str:
        return name + ("" if alternative == "two-sided" else f", one-sided ({alternative})")

    out = [
        EndpointTest("or", label("odds ratio (logistic)", first.alternative), "or_p", first.alpha),
        EndpointTest("hr", label("hazard ratio (Cox)", first.alternative), "hr_p", first.alpha),
    ]
    c, b = ends.readmission_count, ends.bed_days
    if c is not None:
        name = f"readmissions ({c.test.replace('_', ' ')})"
        out.append(EndpointTest("count", label(name, c.alternative), "count_p", c.alpha))
    if b is not None:
        name = f"bed-days ({b.test.replace('_', ' ')})"
        out.append(EndpointTest("bed_days", label(name, b.alternative), "bed_days_p", b.alpha))
    return out


def below_alpha(p: np.ndarray, alpha: float) -> tuple[int, int]:
    """Power's two counts: the simulated trials with p below ``alpha``, and all of them.

    Power is the share ``k / n`` (NaN p-values, trials where the test could not be run,
    are left out of both).
    """
    p = p[~np.isnan(p)]
    return int((p < alpha).sum()), len(p)


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


_MORE_STATS = [
    "readmissions_mean",
    "readmissions_sd",
    "readmissions_mcf",
    "rate_ratio",
    "nb_dispersion",
    "bed_days_mean",
    "bed_days_sd",
    "bed_days_difference",
    "bed_days_ratio",
]


def trial_summary(trial: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """Across replications: mean, median and 2.5-97.5 percentiles; power; CI coverage.

    Long table: horizon_days, arm, statistic, mean, median, p2_5, p97_5, replications.
    ``power_or`` / ``power_hr`` (and ``power_count``, ``power_bed_days`` for those
    endpoints): share of replications whose p-value is below the endpoint's alpha
    (0.05 by default), for its alternative. ``coverage_or`` /
    ``coverage_hr``: share whose 95% CI holds the true ratio (only where
    :func:`true_ratios` defines one).
    """
    rows = []
    stats = [*_STATS, *(c for c in _MORE_STATS if c in trial.columns)]
    for (h, arm), g in trial.groupby(["horizon_days", "arm"], sort=False):
        for stat in stats:
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
            for test in endpoint_tests(scenario):
                if test.p_column not in g:
                    continue
                ok = g[test.p_column].notna()
                k, n = below_alpha(g.loc[ok, test.p_column].to_numpy(float), test.alpha)
                power = k / n if n else np.nan
                rows.append((h, arm, f"power_{test.key}", power, np.nan, np.nan, np.nan, n))
                if test.key not in ("or", "hr"):
                    continue
                true = truth["odds_ratio" if test.key == "or" else "hazard_ratio"]
                if true is not None:
                    lo, hi = g.loc[ok, f"{test.key}_ci_low"], g.loc[ok, f"{test.key}_ci_high"]
                    cover = float(((lo <= true) & (true <= hi)).mean())
                    rows.append((h, arm, f"coverage_{test.key}", cover, np.nan, np.nan, np.nan, n))
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
