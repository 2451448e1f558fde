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

from sim.config import Arm, Scenario, ServiceFeed, peer_places
from sim.model.engine import (
    ADMISSION,
    DEATH,
    DISCHARGE,
    END,
    ENTRY,
    EVENT_FIELDS,
    LAPSE,
    LOST,
    OFFER,
    QUEUE,
    READMISSION,
    SESSION,
    START,
    SUPPORT_END,
    Event,
)

__all__ = [
    "EventLog",
    "timeseries_table",
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


class EventLog:
    """One replication's event log as NumPy arrays, each row mapped to its patient.

    Aggregating with ``bincount`` on the patient index is ~10x faster than pandas
    groupby at these sizes. Build it once per replication and pass it to every table
    function (they also accept the plain frame); the acute stays are derived once.
    """

    def __init__(self, ev: pd.DataFrame):
        self.replication = int(ev["replication"].iloc[0]) if len(ev) else 0
        self._stays: dict[str, np.ndarray] | None = None
        self.arm_names = list(ev["arm"].cat.categories)
        arm = ev["arm"].cat.codes.to_numpy().astype(np.int64)
        pid = ev["patient_id"].to_numpy()
        self.n_pid = int(pid.max()) + 1 if len(pid) else 1
        self.key = arm * self.n_pid + pid
        self.episode = ev["episode"].to_numpy()
        self.t = ev["time_days"].to_numpy()
        self._event = ev["event"]
        self._detail = ev["detail"]
        self._codes = self._event.cat.codes.to_numpy()
        self._dcodes = self._detail.cat.codes.to_numpy()

    def is_(self, *names: str) -> np.ndarray:
        cats = list(self._event.cat.categories)
        codes = [cats.index(n) for n in names if n in cats]
        return np.isin(self._codes, codes) if codes else np.zeros(len(self._codes), bool)

    def detail_is(self, name: str) -> np.ndarray:
        cats = list(self._detail.cat.categories)
        return (
            self._dcodes == cats.index(name) if name in cats else np.zeros(len(self._dcodes), bool)
        )

    def detail_at(self, mask: np.ndarray) -> np.ndarray:
        """The detail strings of the rows in ``mask`` (decoded only for those rows)."""
        cats = np.asarray(self._detail.cat.categories, dtype=object)
        return cats[self._dcodes[mask]] if len(cats) else np.full(int(mask.sum()), "", object)

    @property
    def stays(self) -> dict[str, np.ndarray]:
        """Acute stays (derived on first use, then kept)."""
        if self._stays is None:
            self._stays = _stays_arrays(self)
        return self._stays

    def event_at(self, mask: np.ndarray) -> np.ndarray:
        """The event names of the rows in ``mask``."""
        return np.asarray(self._event.cat.categories, dtype=object)[self._codes[mask]]


def _first_per(index: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    """Value of each index's first row (rows in log order, which is time order); NaN if none."""
    out = np.full(size, np.nan)
    uniq, first = np.unique(index, return_index=True)
    out[uniq] = values[first]
    return out


def _log(ev: pd.DataFrame | EventLog) -> EventLog:
    return ev if isinstance(ev, EventLog) else EventLog(ev)


def patients_table(ev: pd.DataFrame | EventLog, scenario: Scenario) -> pd.DataFrame:
    """One row per patient (per arm) of one replication; columns: :data:`PATIENT_COLUMNS`."""
    E = _log(ev)
    replication = E.replication
    entry = E.is_(ENTRY)
    keys = E.key[entry]
    order = np.argsort(keys, kind="stable")
    keys, entry_day = keys[order], E.t[entry][order]
    risk_group = E.detail_at(entry)[order]
    P = len(keys)
    idx = np.searchsorted(keys, E.key)  # every event belongs to an entered patient
    out = {
        "replication": np.full(P, replication, dtype=np.int32),
        "arm": np.array(E.arm_names, dtype=object)[keys // E.n_pid],
        "patient_id": keys % E.n_pid,
        "risk_group": risk_group,
        "entry_day": entry_day,
    }
    session = E.is_(SESSION)
    out["sessions_offered"] = np.bincount(idx[session], minlength=P).astype(np.int32)
    attended = session & E.detail_is("attended")
    out["sessions_attended"] = np.bincount(idx[attended], minlength=P).astype(np.int32)
    readm = E.is_(READMISSION)
    out["first_readmission_day"] = _first_per(idx[readm], E.t[readm], P) - entry_day
    exits = E.is_(*EXITS)
    exit_t = _first_per(idx[exits], E.t[exits], P)
    exit_kind = np.full(P, "", dtype=object)
    exit_kind[idx[exits]] = E.event_at(exits)
    out["follow_up_days"] = exit_t - entry_day
    out["readmissions"] = np.bincount(idx[readm], minlength=P).astype(np.int32)
    st = E.stays
    s_idx = np.searchsorted(keys, st["key"])
    out["acute_days"] = np.bincount(s_idx, weights=st["days"], minlength=P)
    ward = st["placement"] == "ward"
    out["died"] = exit_kind == DEATH
    out["lost"] = exit_kind == LOST
    offer = E.is_(OFFER)
    offer_t = _first_per(idx[offer], E.t[offer], P)
    offer_ep = _first_per(idx[offer], E.episode[offer].astype(float), P)
    start = E.is_(START)
    start = start & (E.episode == offer_ep[idx])  # the first offer's start
    start_t = _first_per(idx[start], E.t[start], P)
    out["offered"] = ~np.isnan(offer_t)
    out["started"] = ~np.isnan(start_t)
    out["wait_days"] = start_t - offer_t
    out["ward_days"] = np.bincount(s_idx[ward], weights=st["days"][ward], minlength=P)
    ooa = st["placement"] == "out_of_area"
    out["out_of_area"] = np.bincount(s_idx[ooa], minlength=P).astype(np.int32)
    table = pd.DataFrame(out)[list(PATIENT_COLUMNS)]
    if isinstance(scenario.feed, ServiceFeed):
        table = table[table["entry_day"] >= scenario.feed.warm_up_days].reset_index(drop=True)
    return table


def _stays_arrays(E: EventLog) -> dict[str, np.ndarray]:
    """Acute stays: admission to the close of the same episode (discharge or exit)."""
    n_ep = int(E.episode.max()) + 1 if len(E.episode) else 1
    adm, close = E.is_(ADMISSION), E.is_(*CLOSES)
    k_adm = E.key[adm] * n_ep + E.episode[adm]
    k_close = E.key[close] * n_ep + E.episode[close]
    order = np.argsort(k_close, kind="stable")
    pos = np.searchsorted(k_close[order], k_adm)  # each episode closes exactly once
    day_out = E.t[close][order][pos]
    day_in = E.t[adm]
    return {
        "key": E.key[adm],
        "arm": np.array(E.arm_names, dtype=object)[E.key[adm] // E.n_pid],
        "placement": E.detail_at(adm),
        "day_in": day_in,
        "day_out": day_out,
        "days": day_out - day_in,
    }


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


def metrics_table(
    ev: pd.DataFrame | EventLog, patients: pd.DataFrame, scenario: Scenario
) -> pd.DataFrame:
    """Per-replication metrics by arm, long: replication, arm, metric, value."""
    replication = int(patients["replication"].iloc[0]) if len(patients) else 0
    E = _log(ev)
    st = E.stays
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
        # capacity and volumes over the measured window, all patients of the arm (warm-up
        # entrants included): what the service sees
        rows.extend((arm, m, v) for m, v in _window_metrics(E, st, arm, scenario).items())
    frame = pd.DataFrame(rows, columns=["arm", "metric", "value"])
    frame.insert(0, "replication", replication)
    return frame


def _overlap(start: np.ndarray, end: np.ndarray, w0: float, w1: float) -> float:
    """Total time the intervals [start, end) spend inside [w0, w1]."""
    return float(np.clip(np.minimum(end, w1) - np.maximum(start, w0), 0, None).sum())


def _peak(start: np.ndarray, end: np.ndarray, w0: float, w1: float) -> float:
    """Most intervals open at once within [w0, w1] (an end and a start at the same time
    do not overlap)."""
    at_w0 = int(np.sum((start <= w0) & (end > w0)))
    times = np.concatenate([end, start])
    step = np.concatenate([-np.ones(len(end)), np.ones(len(start))])
    order = np.lexsort((step, times))  # ends before starts at equal times
    level = at_w0 + np.cumsum(np.where(times[order] > w0, step[order], 0.0))
    inside = (times[order] > w0) & (times[order] <= w1)
    return float(max(at_w0, level[inside].max() if inside.any() else 0))


def _intervals(E: EventLog, start_names: tuple[str, ...], end_names: tuple[str, ...], arm: int):
    """Intervals from each start event to the first end event of the same episode."""
    n_ep = int(E.episode.max()) + 1 if len(E.episode) else 1
    in_arm = (E.key // E.n_pid) == arm
    s_mask, e_mask = E.is_(*start_names) & in_arm, E.is_(*end_names) & in_arm
    k_start = E.key[s_mask] * n_ep + E.episode[s_mask]
    k_end = E.key[e_mask] * n_ep + E.episode[e_mask]
    t_end = E.t[e_mask]
    order = np.lexsort((t_end, k_end))
    uniq, first = np.unique(k_end[order], return_index=True)
    ends = t_end[order][first]
    pos = np.clip(np.searchsorted(uniq, k_start), 0, max(len(uniq) - 1, 0))
    found = (len(uniq) > 0) & (uniq[pos] == k_start) if len(uniq) else np.zeros(len(k_start), bool)
    t_stop = np.where(found, ends[pos] if len(uniq) else 0.0, np.inf)
    return E.t[s_mask], t_stop


_LEAVE_QUEUE = (START, LAPSE, READMISSION, DEATH, LOST, END)


def _window_metrics(E: EventLog, st: dict, arm_name: str, scenario: Scenario) -> dict[str, float]:
    w0, w1 = _window(scenario)
    span, years = w1 - w0, (w1 - w0) / 365.25
    arm = E.arm_names.index(arm_name) if arm_name in E.arm_names else -1
    in_arm = st["arm"] == arm_name
    placed = st["placement"]
    out: dict[str, float] = {}
    ward = in_arm & (placed == "ward")
    ward_days = _overlap(st["day_in"][ward], st["day_out"][ward], w0, w1)
    out["ward_occupancy_mean"] = ward_days / span
    out["ward_occupancy_peak"] = _peak(st["day_in"][ward], st["day_out"][ward], w0, w1)
    out["ward_bed_days_per_year"] = ward_days / years
    ooa = in_arm & (placed == "out_of_area")
    ooa_in = st["day_in"][ooa]
    out["out_of_area_per_year"] = float(np.sum((ooa_in >= w0) & (ooa_in <= w1))) / years
    out["out_of_area_days_per_year"] = _overlap(ooa_in, st["day_out"][ooa], w0, w1) / years
    crt = in_arm & (placed == "crt")
    out["crt_days_per_year"] = _overlap(st["day_in"][crt], st["day_out"][crt], w0, w1) / years
    in_arm_ev = (E.key // E.n_pid) == arm
    in_win = (E.t >= w0) & (E.t <= w1) & in_arm_ev
    out["readmissions_per_year"] = float(np.sum(E.is_(READMISSION) & in_win)) / years
    session = E.is_(SESSION) & in_win
    out["sessions_offered_per_year"] = float(np.sum(session)) / years
    out["sessions_delivered_per_year"] = float(np.sum(session & E.detail_is("attended"))) / years
    q0, q1 = _intervals(E, (QUEUE,), _LEAVE_QUEUE, arm)
    out["waiting_list_mean"] = _overlap(q0, np.minimum(q1, w1), w0, w1) / span
    out["waiting_list_peak"] = _peak(q0, np.minimum(q1, w1), w0, w1)
    arm_cfg = next(a for a in scenario.arms if a.name == arm_name)
    places = peer_places(scenario, [arm_cfg] if not scenario.is_trial else list(scenario.arms))
    p0, p1 = _intervals(E, (START,), (SUPPORT_END,), arm)
    in_use = _overlap(p0, np.minimum(p1, w1), w0, w1) / span
    out["peer_places_in_use_mean"] = in_use
    out["peer_utilisation"] = in_use / places if places else np.nan
    if scenario.costs is not None:
        out.update(_costs(scenario, arm_cfg, out, years))
    return out


def _costs(scenario: Scenario, arm: Arm, m: dict[str, float], years: float) -> dict[str, float]:
    """Costs per year of the measured period, from the volumes just measured."""
    c = scenario.costs
    assert c is not None
    acute = (
        m["ward_bed_days_per_year"] * c.ward_bed_day
        + m["out_of_area_days_per_year"] * c.out_of_area_bed_day
        + m["crt_days_per_year"] * c.crt_contacts_per_day * c.crt_contact
    )
    peer = training = 0.0
    if arm.peer_support is not None:
        hours = m["sessions_offered_per_year"] * arm.peer_support.session_hours
        peer = hours * (1 + c.non_contact_hours_per_session_hour) * c.peer_worker_hour
        if scenario.peer_workers.count:
            training = scenario.peer_workers.count * c.training_per_worker / years
    return {
        "cost_acute_per_year": acute,
        "cost_peer_support_per_year": peer + training,
        "cost_total_per_year": acute + peer + training,
    }


def timeseries_table(
    ev: pd.DataFrame | EventLog, scenario: Scenario, step_days: float = 7.0
) -> pd.DataFrame:
    """Ward beds occupied, waiting list and peer places in use on a grid of days, by arm."""
    E = _log(ev)
    replication = E.replication
    st = E.stays
    grid = np.arange(0.0, scenario.end_day + 1e-9, step_days)
    frames = []
    for arm_name in [a.name for a in scenario.arms]:
        arm = E.arm_names.index(arm_name) if arm_name in E.arm_names else -1
        ward = (st["arm"] == arm_name) & (st["placement"] == "ward")
        q0, q1 = _intervals(E, (QUEUE,), _LEAVE_QUEUE, arm)
        p0, p1 = _intervals(E, (START,), (SUPPORT_END,), arm)
        frames.append(
            pd.DataFrame(
                {
                    "replication": replication,
                    "arm": arm_name,
                    "day": grid,
                    "ward_occupied": _level(st["day_in"][ward], st["day_out"][ward], grid),
                    "waiting_list": _level(q0, q1, grid),
                    "peer_places_in_use": _level(p0, p1, grid),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def _level(start: np.ndarray, end: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Intervals open at each grid time: started at or before it, not yet ended."""
    return (
        np.searchsorted(np.sort(start), grid, side="right")
        - np.searchsorted(np.sort(end), grid, side="right")
    ).astype(np.int32)


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
