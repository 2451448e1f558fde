"""Events -> patients -> metrics -> summary. Pure functions of the event data.

Definitions (also in docs/outputs.md):

* A patient's follow-up runs from entry to death, loss to follow-up or the end
  (trial: entry + follow_up_days; service: the end of the run).
* ``p_readmit_<H>d`` is the share of patients whose first readmission came within
  H days of entry, among patients whose follow-up could have lasted H days (all
  patients in a trial; in a service, those who entered at least H days before the
  end). Deaths and losses before H count as not readmitted, as in a complete-case
  reading of a trial's records.
* Service runs leave patients who entered during the warm-up out of the patient
  table and the patient-level metrics; their stays still count in ward occupancy,
  which is averaged over the measured period only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.config import Scenario, ServiceFeed
from sim.model.engine import (
    ADMISSION,
    DEATH,
    DISCHARGE,
    END,
    ENTRY,
    EVENT_FIELDS,
    LOST,
    OFFER,
    READMISSION,
    SESSION,
    START,
    Event,
)

__all__ = [
    "events_frame",
    "patients_table",
    "metrics_table",
    "summarise",
    "PATIENT_COLUMNS",
    "horizons",
]

CLOSES = (DISCHARGE, DEATH, LOST, END)
EXITS = (DEATH, LOST, END)

PATIENT_COLUMNS = {
    "replication": "replication index, from 0",
    "arm": "trial arm or service policy the patient was under",
    "patient_id": "the same id for the same patient under every arm or policy",
    "risk_group": "the patient's risk group",
    "entry_day": "day of entry (trial: recruitment; service: first discharge), from the run start",
    "sessions_offered": "peer-support sessions offered over follow-up (all offers)",
    "sessions_attended": "peer-support sessions attended over follow-up",
    "first_readmission_day": "days from entry to the first readmission; empty if none",
    "follow_up_days": "days observed from entry: to the end of follow-up, death or loss",
    "readmissions": "readmissions during follow-up",
    "acute_days": "days in acute care (ward, CRT, out of area) during follow-up",
    "died": "died during follow-up",
    "lost": "lost to follow-up",
    "offered": "offered peer support at least once",
    "started": "started peer support after the first offer",
    "wait_days": "days from the first offer to the first session; empty if never started",
    "ward_days": "days on an in-area ward during follow-up",
    "out_of_area": "acute admissions placed out of area",
}


def events_frame(names: list[str], events: list[Event], replication: int) -> pd.DataFrame:
    """The event log of one replication as a tidy frame (schema: docs/outputs.md)."""
    if events:
        arm, pid, ep, t, ev, detail = zip(*events, strict=True)
    else:
        arm = pid = ep = t = ev = detail = ()
    frame = pd.DataFrame(
        {
            "replication": np.full(len(events), replication, dtype=np.int32),
            "arm": pd.Categorical.from_codes(np.asarray(arm, dtype=np.int16), categories=names),
            "patient_id": np.asarray(pid, dtype=np.int64),
            "episode": np.asarray(ep, dtype=np.int32),
            "time_days": np.asarray(t, dtype=np.float64),
            "event": pd.Categorical(ev),
            "detail": pd.Categorical(detail),
        },
        columns=["replication", *EVENT_FIELDS],
    )
    return frame


def _count(ev: pd.DataFrame, mask: np.ndarray, index: pd.MultiIndex) -> pd.Series:
    sub = ev.loc[mask, ["arm", "patient_id"]]
    counts = sub.groupby(["arm", "patient_id"], observed=True).size()
    return counts.reindex(index, fill_value=0)


def patients_table(ev: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """One row per patient (per arm) of one replication; columns: :data:`PATIENT_COLUMNS`."""
    replication = int(ev["replication"].iloc[0]) if len(ev) else 0
    key = ["arm", "patient_id"]
    entry = ev.loc[ev["event"] == ENTRY, [*key, "time_days", "detail"]]
    entry = entry.rename(columns={"time_days": "entry_day", "detail": "risk_group"})
    if isinstance(scenario.feed, ServiceFeed):
        entry = entry[entry["entry_day"] >= scenario.feed.warm_up_days]
    entry = entry.set_index(key).sort_index()
    idx = entry.index
    out = pd.DataFrame(index=idx)
    out["risk_group"] = entry["risk_group"].astype(str)
    out["entry_day"] = entry["entry_day"]

    event = ev["event"]
    is_session = (event == SESSION).to_numpy()
    out["sessions_offered"] = _count(ev, is_session, idx).astype(np.int32)
    attended = is_session & (ev["detail"] == "attended").to_numpy()
    out["sessions_attended"] = _count(ev, attended, idx).astype(np.int32)

    readm = ev.loc[event == READMISSION, [*key, "time_days"]]
    first = readm.groupby(key, observed=True)["time_days"].min().reindex(idx)
    out["first_readmission_day"] = first - out["entry_day"]
    exits = ev.loc[event.isin(EXITS), [*key, "time_days", "event"]].set_index(key)
    exits = exits[~exits.index.duplicated()].reindex(idx)
    out["follow_up_days"] = exits["time_days"] - out["entry_day"]
    out["readmissions"] = _count(ev, (event == READMISSION).to_numpy(), idx).astype(np.int32)

    stays = _stays(ev)
    by_patient = stays.groupby(key, observed=True)
    out["acute_days"] = by_patient["days"].sum().reindex(idx, fill_value=0.0)
    ward = stays[stays["placement"] == "ward"].groupby(key, observed=True)["days"].sum()
    out["ward_days"] = ward.reindex(idx, fill_value=0.0)
    ooa = stays[stays["placement"] == "out_of_area"].groupby(key, observed=True).size()
    out["out_of_area"] = ooa.reindex(idx, fill_value=0).astype(np.int32)
    out["died"] = (exits["event"] == DEATH).to_numpy()
    out["lost"] = (exits["event"] == LOST).to_numpy()

    offers = ev.loc[event == OFFER, [*key, "time_days"]].groupby(key, observed=True).min()
    starts = ev.loc[event == START, [*key, "episode", "time_days"]]
    first_offer_ep = ev.loc[event == OFFER, [*key, "episode"]].groupby(key, observed=True).min()
    starts = starts.merge(first_offer_ep, on=key, suffixes=("", "_offer"))
    starts = starts[starts["episode"] == starts["episode_offer"]].set_index(key)["time_days"]
    out["offered"] = offers["time_days"].reindex(idx).notna().to_numpy()
    start_first = starts[~starts.index.duplicated()].reindex(idx)
    out["started"] = start_first.notna().to_numpy()
    out["wait_days"] = start_first - offers["time_days"].reindex(idx)

    out = out.reset_index()
    out.insert(0, "replication", np.int32(replication))
    out["arm"] = out["arm"].astype(str)
    return out[list(PATIENT_COLUMNS)]


def _stays(ev: pd.DataFrame) -> pd.DataFrame:
    """Acute stays: admission to the episode's close (discharge or exit)."""
    key = ["arm", "patient_id", "episode"]
    adm = ev.loc[ev["event"] == ADMISSION, [*key, "time_days", "detail"]]
    close = ev.loc[ev["event"].isin(CLOSES), [*key, "time_days"]]
    stays = adm.merge(close, on=key, suffixes=("_in", "_out"))
    return pd.DataFrame(
        {
            "arm": stays["arm"],
            "patient_id": stays["patient_id"],
            "placement": stays["detail"].astype(str),
            "day_in": stays["time_days_in"],
            "day_out": stays["time_days_out"],
            "days": stays["time_days_out"] - stays["time_days_in"],
        }
    )


def horizons(scenario: Scenario) -> list[float]:
    """Primary horizon first, then the secondary ones, days."""
    o = scenario.outcomes
    return [
        o.primary_horizon_days,
        *[h for h in o.secondary_horizons_days if h != o.primary_horizon_days],
    ]


def _window(scenario: Scenario) -> tuple[float, float]:
    """The measured period, days: a trial's whole span; a service's post-warm-up run."""
    if isinstance(scenario.feed, ServiceFeed):
        return scenario.feed.warm_up_days, scenario.end_day
    return 0.0, scenario.end_day


def metrics_table(ev: pd.DataFrame, patients: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """Per-replication metrics by arm, long: replication, arm, metric, value."""
    replication = int(patients["replication"].iloc[0]) if len(patients) else 0
    w0, w1 = _window(scenario)
    years = (w1 - w0) / 365.25
    stays = _stays(ev)
    rows: list[tuple[str, str, float]] = []
    arms = [a.name for a in scenario.arms]
    offers = {a.name: a.peer_support for a in scenario.arms}
    for arm in arms:
        p = patients[patients["arm"] == arm]
        n = len(p)
        rows.append((arm, "patients", float(n)))
        for h in horizons(scenario):
            at_risk = p["entry_day"] + h <= scenario.end_day + 1e-9
            k = int(at_risk.sum())
            hit = (p.loc[at_risk, "first_readmission_day"] <= h).sum()
            rows.append((arm, f"p_readmit_{h:g}d", hit / k if k else np.nan))
        rows.append((arm, "readmissions_per_100", 100 * p["readmissions"].mean() if n else np.nan))
        rows.append((arm, "acute_days_per_patient", p["acute_days"].mean() if n else np.nan))
        rows.append((arm, "ward_days_per_patient", p["ward_days"].mean() if n else np.nan))
        offered = p[p["offered"]]
        m = len(offered)
        has_offer = offers[arm] is not None
        rows.append((arm, "p_offered", m / n if n else np.nan))
        att = offered["sessions_attended"]
        rows.append((arm, "sessions_attended_mean", att.mean() if m else np.nan))
        rows.append((arm, "p_attended_3plus", (att >= 3).mean() if m else np.nan))
        n_full = offers[arm].n_sessions if has_offer else 0
        rows.append((arm, "p_attended_all", (att >= n_full).mean() if m and n_full else np.nan))
        rows.append((arm, "p_started", offered["started"].mean() if m else np.nan))
        rows.append((arm, "wait_days_mean", offered["wait_days"].mean() if m else np.nan))
        rows.append((arm, "p_died", p["died"].mean() if n else np.nan))
        rows.append((arm, "p_lost", p["lost"].mean() if n else np.nan))
        # capacity: time-averaged over the measured window, all patients of the arm
        s = stays[stays["arm"] == arm]
        ward = s[s["placement"] == "ward"]
        overlap = (np.minimum(ward["day_out"], w1) - np.maximum(ward["day_in"], w0)).clip(lower=0)
        rows.append((arm, "ward_occupancy_mean", overlap.sum() / (w1 - w0)))
        in_window = s["day_in"].between(w0, w1)
        ooa = (s["placement"] == "out_of_area") & in_window
        rows.append((arm, "out_of_area_per_year", ooa.sum() / years))
        rows.append((arm, "ward_bed_days_per_year", overlap.sum() / years))
    frame = pd.DataFrame(rows, columns=["arm", "metric", "value"])
    frame.insert(0, "replication", replication)
    return frame


def summarise(metrics: pd.DataFrame) -> pd.DataFrame:
    """Mean and 95% t-interval across replications, per arm and metric.

    With one replication (or a metric that is missing in all but one) the interval is
    empty (NaN): there is no spread to estimate it from.
    """
    from scipy import stats

    g = metrics.dropna(subset=["value"]).groupby(["arm", "metric"], sort=False)["value"]
    out = g.agg(mean="mean", sd="std", n="count").reset_index()
    half = stats.t.ppf(0.975, np.maximum(out["n"] - 1, 1)) * out["sd"] / np.sqrt(out["n"])
    half = half.where(out["n"] > 1)
    out["ci_low"] = out["mean"] - half
    out["ci_high"] = out["mean"] + half
    order = {m: i for i, m in enumerate(dict.fromkeys(metrics["metric"]))}
    arm_order = {a: i for i, a in enumerate(dict.fromkeys(metrics["arm"]))}
    out = out.sort_values(
        ["arm", "metric"], key=lambda c: c.map(arm_order if c.name == "arm" else order)
    )
    return (
        out[["arm", "metric", "mean", "ci_low", "ci_high", "sd", "n"]]
        .rename(columns={"n": "replications"})
        .reset_index(drop=True)
    )
