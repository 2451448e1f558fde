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

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from operator import itemgetter

import numpy as np
import pandas as pd

from sim.analysis.decision import discounted_stream
from sim.analysis.intervals import t_half_width
from sim.capacity import peer_places
from sim.config import Arm, Scenario, ServiceFeed
from sim.events import (
    ADMISSION,
    CLOSES,
    DEATH,
    DETAILS,
    END,
    ENTRY,
    EVENT_FIELDS,
    EVENTS,
    EXITS,
    LAPSE,
    LOST,
    OFFER,
    PLACEMENTS,
    QUEUE,
    READMISSION,
    SESSION,
    START,
    SUPPORT_END,
    Event,
)

DAYS_PER_YEAR = 365.25

__all__ = [
    "EventLog",
    "EpisodeTimes",
    "Unframed",
    "framed_tables",
    "metrics_columns",
    "Reduction",
    "Spans",
    "timeseries_table",
    "events_frame",
    "patients_table",
    "patient_columns",
    "metrics_table",
    "summarise",
    "PATIENT_COLUMNS",
    "horizons",
]


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


def detail_categories(scenario: Scenario) -> list[str]:
    """Every value the ``detail`` column can take: fixed, so that chunks concatenate."""
    return list(dict.fromkeys([*DETAILS, *(g.name for g in scenario.population.risk_groups)]))


def events_frame(
    names: list[str],
    events: list[Event],
    replication: int,
    details: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The event log of one replication as a tidy frame (schema: docs/outputs.md).

    ``event`` is categorical over all event names; ``detail`` over ``details``
    (:func:`detail_categories`), or over the values present if not given.
    """
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
            "event": pd.Categorical(ev, categories=EVENTS),
            "detail": pd.Categorical(detail, categories=details),
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
        self._set(
            int(ev["replication"].iloc[0]) if len(ev) else 0,
            list(ev["arm"].cat.categories),
            ev["arm"].cat.codes.to_numpy().astype(np.int64),
            ev["patient_id"].to_numpy(),
            ev["episode"].to_numpy(),
            ev["time_days"].to_numpy(),
            list(ev["event"].cat.categories),
            ev["event"].cat.codes.to_numpy(),
            list(ev["detail"].cat.categories),
            ev["detail"].cat.codes.to_numpy(),
        )

    @classmethod
    def of_events(
        cls, names: list[str], events: list[Event], replication: int, details: Sequence[str]
    ) -> EventLog:
        """The log of the engine's event tuples, as :func:`events_frame` of the same
        arguments would give it, without building the frame (a third of a trial's table
        time, measured)."""
        log = cls.__new__(cls)
        details = list(details)
        n = len(events)

        def field(i: int, dtype, code: dict | None = None) -> np.ndarray:
            # one pass over the tuples per field: twice as fast as zip(*events), which
            # steps an iterator per tuple
            values = map(itemgetter(i), events)
            if code is not None:  # by dictionary look-up, -1 outside the categories
                values = map(code.__getitem__, values)
            return np.fromiter(values, dtype=dtype, count=n)

        event_code = defaultdict(lambda: -1, {e: i for i, e in enumerate(EVENTS)})
        detail_code = defaultdict(lambda: -1, {d: i for i, d in enumerate(details)})
        log._set(
            replication if events else 0,
            list(names),
            field(0, np.int64),
            field(1, np.int64),
            field(2, np.int32),
            field(3, np.float64),
            list(EVENTS),
            field(4, np.int8, event_code),
            details,
            field(5, np.int16, detail_code),
        )
        return log

    def _set(
        self,
        replication: int,
        arm_names: list[str],
        arm: np.ndarray,
        pid: np.ndarray,
        episode: np.ndarray,
        t: np.ndarray,
        event_names: list[str],
        codes: np.ndarray,
        detail_names: list[str],
        dcodes: np.ndarray,
    ) -> None:
        self.replication = replication
        self._stays: dict[str, np.ndarray] | None = None
        self.arm_names = arm_names
        self.n_pid = int(pid.max()) + 1 if len(pid) else 1
        self.key = arm * self.n_pid + pid
        self.episode = episode
        self.t = t
        self._event_names, self._codes = event_names, codes
        self._detail_names, self._dcodes = detail_names, dcodes

    def is_(self, *names: str) -> np.ndarray:
        cats = self._event_names
        codes = [cats.index(n) for n in names if n in cats]
        if len(codes) == 1:
            return self._codes == codes[0]
        wanted = np.zeros(len(cats) + 1, bool)  # index -1 (no category) is the last: False
        wanted[codes] = True
        return wanted[self._codes]

    def detail_is(self, name: str) -> np.ndarray:
        cats = self._detail_names
        return (
            self._dcodes == cats.index(name) if name in cats else np.zeros(len(self._dcodes), bool)
        )

    def detail_at(self, mask: np.ndarray) -> np.ndarray:
        """The detail strings of the rows in ``mask`` (decoded only for those rows)."""
        cats = np.asarray(self._detail_names, dtype=object)
        return cats[self._dcodes[mask]] if len(cats) else np.full(int(mask.sum()), "", object)

    @property
    def stays(self) -> dict[str, np.ndarray]:
        """Acute stays (derived on first use, then kept)."""
        if self._stays is None:
            self._stays = _stays_arrays(self)
        return self._stays

    def event_at(self, mask: np.ndarray) -> np.ndarray:
        """The event names of the rows in ``mask``."""
        return np.asarray(self._event_names, dtype=object)[self._codes[mask]]


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
    return pd.DataFrame(patient_columns(ev, scenario))


def patient_columns(ev: pd.DataFrame | EventLog, scenario: Scenario) -> dict[str, np.ndarray]:
    """:func:`patients_table`'s columns as NumPy arrays, in its order, before the frame.

    What the statistics of a replication read (:func:`metrics_table`,
    :func:`sim.analysis.trial.trial_table`), without a column taken back out of a frame.
    """
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
    if isinstance(scenario.feed, ServiceFeed):
        kept = entry_day >= scenario.feed.warm_up_days
        return {name: out[name][kept] for name in PATIENT_COLUMNS}
    return {name: out[name] for name in PATIENT_COLUMNS}


Columns = dict[str, np.ndarray]


@dataclass
class Unframed:
    """A table of one replication before it is made a frame: its columns, or its rows.

    The tables of a chunk of replications are made frames together (:meth:`join`), not
    one replication at a time: the frame that joining theirs would give, at a fraction
    of the cost (a small frame costs far more to build, send and join than its numbers).
    """

    columns: Columns | None = None
    rows: list[dict] | None = None  # with the names of the columns, in order
    names: list[str] | None = None

    def frame(self) -> pd.DataFrame:
        """This table as a frame."""
        if self.rows is not None:
            return pd.DataFrame(self.rows, columns=self.names)
        return pd.DataFrame(self.columns)

    @staticmethod
    def join(parts: Sequence[Unframed]) -> pd.DataFrame:
        """One frame of the tables of several replications, in their order."""
        if len(parts) == 1:
            return parts[0].frame()
        first = parts[0]
        if first.rows is not None:
            return pd.DataFrame([r for p in parts for r in p.rows or ()], columns=first.names)
        return pd.DataFrame(
            {k: np.concatenate([p.columns[k] for p in parts]) for k in first.columns}
        )


def framed_tables(tables: dict) -> dict:
    """The same tables, each :class:`Unframed` one made a frame."""
    return {k: v.frame() if isinstance(v, Unframed) else v for k, v in tables.items()}


def column(patients: pd.DataFrame | Columns, name: str) -> np.ndarray:
    """A patients column as a NumPy array, from a frame or from :func:`patient_columns`."""
    if isinstance(patients, pd.DataFrame):
        return patients[name].to_numpy()
    return patients[name]


def n_rows(patients: pd.DataFrame | Columns) -> int:
    """Rows of a patients table, a frame or :func:`patient_columns`."""
    if isinstance(patients, pd.DataFrame):
        return len(patients)
    return len(patients["replication"])


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


def capacity_can_bind(scenario: Scenario) -> bool:
    """Whether the scenario limits anything: a ward, CRT places or peer workers.

    A service always has its series (the warm-up, occupancy against beds). A trial with
    unlimited wards, CRT and workers has no full ward and no waiting list: its weekly
    occupancy series says nothing the patients table does not, so it is not made.
    """
    if isinstance(scenario.feed, ServiceFeed):
        return True
    care = scenario.acute_care
    return (
        care.ward.capacity is not None
        or (care.crt is not None and care.crt.capacity is not None)
        or scenario.peer_workers.count is not None
    )


def horizons(scenario: Scenario) -> list[float]:
    """Primary horizon first, then the secondary ones, days."""
    o = scenario.outcomes
    return [
        o.primary_horizon_days,
        *[h for h in o.secondary_horizons_days if h != o.primary_horizon_days],
    ]


@dataclass
class Spans:
    """What capacity metrics and time series need of an event log, and nothing more.

    Intervals (acute stays; waiting for a peer worker; holding a peer-support place),
    each with its arm index and patient id, and per arm the counts of readmissions,
    sessions offered and sessions attended inside the measured window. A few numbers
    per patient rather than ten or more events, so a replication's spans fit in memory
    at any size; :meth:`combine` joins those of chunks of whole patients, in a
    canonical order, so that the metrics do not depend on how the log was chunked.
    """

    stays: dict[str, np.ndarray]  # arm, patient_id, placement (PLACEMENTS index), start, end
    queue: dict[str, np.ndarray]  # arm, patient_id, start, end
    peer: dict[str, np.ndarray]  # arm, patient_id, start, end
    counts: np.ndarray  # (arms, 3): readmissions, sessions offered, attended, in the window
    # with an economics block only: each patient's follow-up (entry to exit), and each
    # session offered (start = end = its day), for discounted QALYs and costs
    follow: dict[str, np.ndarray] | None = None
    sessions: dict[str, np.ndarray] | None = None

    @classmethod
    def of(cls, ev: pd.DataFrame | EventLog, scenario: Scenario) -> Spans:
        E = _log(ev)
        st = E.stays
        placement = np.zeros(len(st["key"]), dtype=np.int8)
        for code, name in enumerate(PLACEMENTS):
            placement[st["placement"] == name] = code
        n_arms = len(scenario.arms)
        w0, w1 = scenario.measured_window
        arm_ev = E.key // E.n_pid
        in_win = (E.t >= w0) & (E.t <= w1)
        session = E.is_(SESSION) & in_win
        counts = np.stack(
            [
                np.bincount(arm_ev[E.is_(READMISSION) & in_win], minlength=n_arms),
                np.bincount(arm_ev[session], minlength=n_arms),
                np.bincount(arm_ev[session & E.detail_is("attended")], minlength=n_arms),
            ],
            axis=1,
        ).astype(np.int64)
        raw = cls(
            stays={
                "arm": (st["key"] // E.n_pid).astype(np.int16),
                "patient_id": st["key"] % E.n_pid,
                "placement": placement,
                "start": st["day_in"],
                "end": st["day_out"],
            },
            queue=_intervals(E, (QUEUE,), _LEAVE_QUEUE),
            peer=_intervals(E, (START,), (SUPPORT_END,)),
            counts=counts,
        )
        if scenario.economics is not None:
            entry, exits, offered = E.is_(ENTRY), E.is_(*EXITS), E.is_(SESSION)
            ek, xk = E.key[entry], E.key[exits]
            order = np.argsort(xk, kind="stable")
            raw.follow = {
                "arm": (ek // E.n_pid).astype(np.int16),
                "patient_id": ek % E.n_pid,
                "start": E.t[entry],
                "end": E.t[exits][order][np.searchsorted(xk[order], ek)],  # one exit each
            }
            sk = E.key[offered]
            raw.sessions = {
                "arm": (sk // E.n_pid).astype(np.int16),
                "patient_id": sk % E.n_pid,
                "start": E.t[offered],
                "end": E.t[offered],
            }
        return cls.combine([raw])  # in the canonical order

    @classmethod
    def combine(cls, parts: Sequence[Spans]) -> Spans:
        def join(name: str) -> dict[str, np.ndarray]:
            cols = {
                k: np.concatenate([getattr(p, name)[k] for p in parts])
                for k in getattr(parts[0], name)
            }
            order = np.lexsort((cols["end"], cols["start"], cols["patient_id"], cols["arm"]))
            return {k: v[order] for k, v in cols.items()}

        counts = np.sum([p.counts for p in parts], axis=0)
        out = cls(join("stays"), join("queue"), join("peer"), counts)
        if parts[0].follow is not None:
            out.follow, out.sessions = join("follow"), join("sessions")
        return out

    def arm(self, name: str, arm: int) -> tuple[np.ndarray, np.ndarray]:
        """Start and end of the arm's intervals of one kind (queue or peer)."""
        iv = getattr(self, name)
        mine = iv["arm"] == arm
        return iv["start"][mine], iv["end"][mine]

    def stays_of(self, arm: int, placement: str) -> tuple[np.ndarray, np.ndarray]:
        """Start and end of the arm's acute stays in one placement."""
        st = self.stays
        mine = (st["arm"] == arm) & (st["placement"] == PLACEMENTS.index(placement))
        return st["start"][mine], st["end"][mine]


def metrics_table(
    ev: pd.DataFrame | EventLog | Spans,
    patients: pd.DataFrame | Columns,
    scenario: Scenario,
    replication: int | None = None,
) -> pd.DataFrame:
    """Per-replication metrics by arm, long: replication, arm, metric, value.

    The frame of :func:`metrics_columns`.
    """
    return pd.DataFrame(metrics_columns(ev, patients, scenario, replication))


def metrics_columns(
    ev: pd.DataFrame | EventLog | Spans,
    patients: pd.DataFrame | Columns,
    scenario: Scenario,
    replication: int | None = None,
) -> Columns:
    """:func:`metrics_table`'s columns, before the frame.

    ``replication`` defaults to the patients' (0 if there are none). Means are taken
    on NumPy arrays as pandas takes them (the sum of the values present, in float64,
    over their count), so the values are pandas' to the last bit, at a fraction of the
    cost of filtering a frame per arm.
    """
    if replication is None:
        replication = int(column(patients, "replication")[0]) if n_rows(patients) else 0
    spans = ev if isinstance(ev, Spans) else Spans.of(ev, scenario)
    rows: list[tuple[str, str, float]] = []
    offers = {a.name: a.peer_support for a in scenario.arms}
    col = {
        c: column(patients, c)
        for c in (
            "entry_day",
            "first_readmission_day",
            "readmissions",
            "acute_days",
            "ward_days",
            "offered",
            "sessions_attended",
            "started",
            "wait_days",
            "died",
            "lost",
        )
    }
    arms = column(patients, "arm")
    offered_all = col["offered"].astype(bool)
    for index, arm in enumerate(a.name for a in scenario.arms):
        mine = arms == arm
        n = int(mine.sum())
        rows.append((arm, "patients", float(n)))
        entry, first = col["entry_day"][mine], col["first_readmission_day"][mine]
        for h in horizons(scenario):
            at_risk = entry + h <= scenario.end_day + 1e-9
            k = int(at_risk.sum())
            hit = int((first[at_risk] <= h).sum())
            rows.append((arm, f"p_readmit_{h:g}d", hit / k if k else np.nan))
        readm = _mean(col["readmissions"][mine])
        rows.append((arm, "readmissions_per_100", 100 * readm if n else np.nan))
        rows.append((arm, "acute_days_per_patient", _mean(col["acute_days"][mine])))
        rows.append((arm, "ward_days_per_patient", _mean(col["ward_days"][mine])))
        off = mine & offered_all
        m = int(off.sum())
        has_offer = offers[arm] is not None
        rows.append((arm, "p_offered", m / n if n else np.nan))
        att = col["sessions_attended"][off]
        rows.append((arm, "sessions_attended_mean", _mean(att)))
        rows.append((arm, "p_attended_3plus", _mean(att >= 3)))
        n_full = offers[arm].n_sessions if has_offer else 0
        rows.append((arm, "p_attended_all", _mean(att >= n_full) if n_full else np.nan))
        rows.append((arm, "p_started", _mean(col["started"][off])))
        rows.append((arm, "wait_days_mean", _mean(col["wait_days"][off])))
        rows.append((arm, "p_died", _mean(col["died"][mine])))
        rows.append((arm, "p_lost", _mean(col["lost"][mine])))
        # capacity and volumes over the measured window, all patients of the arm (warm-up
        # entrants included): what the service sees
        rows.extend((arm, m, v) for m, v in _window_metrics(spans, index, scenario).items())
    arm_col, metric_col, value_col = zip(*rows, strict=True) if rows else ((), (), ())
    return {  # a frame of these is built column by column (a third of the cost)
        "replication": np.full(len(rows), replication, dtype=np.int64),
        "arm": np.array(arm_col, dtype=object),
        "metric": np.array(metric_col, dtype=object),
        "value": np.array(value_col, dtype=np.float64),
    }


def _mean(values: np.ndarray) -> float:
    """The mean of the values present (NaN when none), computed as pandas computes it.

    pandas (``nanops.nanmean``) sets missing values to 0, sums in float64 and divides
    by the count of values present; bool and int arrays are summed as float64.
    """
    v = np.asarray(values)
    if v.dtype == object:  # a nullable column read back: missing as None/NaN
        v = v.astype(np.float64)
    if v.dtype.kind == "f":
        present = ~np.isnan(v)
        count = int(present.sum())
        if count == 0:
            return np.nan
        total = np.where(present, v, 0.0).sum(dtype=np.float64)
    else:
        count = len(v)
        if count == 0:
            return np.nan
        total = v.sum(dtype=np.float64)
    return float(total / count)


def _overlap(start: np.ndarray, end: np.ndarray, w0: float, w1: float) -> float:
    """Total time the intervals [start, end) spend inside [w0, w1]."""
    return float(np.clip(np.minimum(end, w1) - np.maximum(start, w0), 0, None).sum())


def _peak(start: np.ndarray, end: np.ndarray, w0: float, w1: float) -> float:
    """Most intervals open at once within [w0, w1] (an end and a start at the same time
    do not overlap).
    """
    at_w0 = int(np.sum((start <= w0) & (end > w0)))
    times = np.concatenate([end, start])
    step = np.concatenate([-np.ones(len(end)), np.ones(len(start))])
    order = np.lexsort((step, times))  # ends before starts at equal times
    level = at_w0 + np.cumsum(np.where(times[order] > w0, step[order], 0.0))
    inside = (times[order] > w0) & (times[order] <= w1)
    return float(max(at_w0, level[inside].max() if inside.any() else 0))


def _intervals(
    E: EventLog, start_names: tuple[str, ...], end_names: tuple[str, ...]
) -> dict[str, np.ndarray]:
    """Intervals from each start event to the first end event of the same episode
    (end ``inf`` if none): arm, patient_id, start, end.
    """
    n_ep = int(E.episode.max()) + 1 if len(E.episode) else 1
    s_mask, e_mask = E.is_(*start_names), E.is_(*end_names)
    k_start = E.key[s_mask] * n_ep + E.episode[s_mask]
    k_end = E.key[e_mask] * n_ep + E.episode[e_mask]
    t_end = E.t[e_mask]
    order = np.lexsort((t_end, k_end))
    uniq, first = np.unique(k_end[order], return_index=True)
    ends = t_end[order][first]
    if len(uniq):
        pos = np.clip(np.searchsorted(uniq, k_start), 0, len(uniq) - 1)
        t_stop = np.where(uniq[pos] == k_start, ends[pos], np.inf)
    else:
        t_stop = np.full(len(k_start), np.inf)
    key = E.key[s_mask]
    return {
        "arm": (key // E.n_pid).astype(np.int16),
        "patient_id": key % E.n_pid,
        "start": E.t[s_mask],
        "end": t_stop,
    }


_LEAVE_QUEUE = (START, LAPSE, READMISSION, DEATH, LOST, END)


def _window_metrics(spans: Spans, arm: int, scenario: Scenario) -> dict[str, float]:
    w0, w1 = scenario.measured_window
    span, years = w1 - w0, (w1 - w0) / 365.25
    out: dict[str, float] = {}
    ward_in, ward_out = spans.stays_of(arm, "ward")
    ward_days = _overlap(ward_in, ward_out, w0, w1)
    out["ward_occupancy_mean"] = ward_days / span
    out["ward_occupancy_peak"] = _peak(ward_in, ward_out, w0, w1)
    out["ward_bed_days_per_year"] = ward_days / years
    ooa_in, ooa_out = spans.stays_of(arm, "out_of_area")
    out["out_of_area_per_year"] = float(np.sum((ooa_in >= w0) & (ooa_in <= w1))) / years
    out["out_of_area_days_per_year"] = _overlap(ooa_in, ooa_out, w0, w1) / years
    out["crt_days_per_year"] = _overlap(*spans.stays_of(arm, "crt"), w0, w1) / years
    readmissions, offered, attended = spans.counts[arm]
    out["readmissions_per_year"] = float(readmissions) / years
    out["sessions_offered_per_year"] = float(offered) / years
    out["sessions_delivered_per_year"] = float(attended) / years
    q0, q1 = spans.arm("queue", arm)
    out["waiting_list_mean"] = _overlap(q0, np.minimum(q1, w1), w0, w1) / span
    out["waiting_list_peak"] = _peak(q0, np.minimum(q1, w1), w0, w1)
    arm_cfg = scenario.arms[arm]
    places = peer_places(scenario, [arm_cfg] if not scenario.is_trial else list(scenario.arms))
    p0, p1 = spans.arm("peer", arm)
    in_use = _overlap(p0, np.minimum(p1, w1), w0, w1) / span
    out["peer_places_in_use_mean"] = in_use
    out["peer_utilisation"] = in_use / places if places else np.nan
    if scenario.costs is not None:
        out.update(_costs(scenario, arm_cfg, out, years))
    if scenario.economics is not None:
        out.update(_economics(spans, arm, scenario, w0, w1))
    return out


def _economics(
    spans: Spans, arm: int, scenario: Scenario, w0: float, w1: float
) -> dict[str, float]:
    """Discounted QALYs and costs accrued within the measured window, discounted to its
    start (docs/outputs.md): totals over the window for the arm's patients.
    """
    econ = scenario.economics
    assert econ is not None and spans.follow is not None and spans.sessions is not None
    u = econ.utilities
    rq, rc = econ.discount_rate_qalys, econ.discount_rate_costs

    def years(start: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        a = (np.clip(start, w0, w1) - w0) / DAYS_PER_YEAR
        b = (np.clip(end, w0, w1) - w0) / DAYS_PER_YEAR
        return a, b

    def present(start: np.ndarray, end: np.ndarray, per_year: float, rate: float) -> float:
        a, b = years(start, end)
        return float(np.sum(discounted_stream(per_year, a, b, rate)))

    f0, f1 = spans.arm("follow", arm)
    ward = [spans.stays_of(arm, p) for p in ("ward", "out_of_area")]
    crt = spans.stays_of(arm, "crt")
    qalys = present(f0, f1, u.community.value, rq)
    qalys += sum(present(a, b, u.ward.value - u.community.value, rq) for a, b in ward)
    qalys += present(*crt, u.crt.value - u.community.value, rq)
    out = {"qalys_discounted": qalys}
    c = scenario.costs
    if c is not None:
        per_day = {
            "ward": c.ward_bed_day,
            "out_of_area": c.out_of_area_bed_day,
            "crt": c.crt_contacts_per_day * c.crt_contact,
        }
        acute = sum(
            present(*spans.stays_of(arm, p), cost * DAYS_PER_YEAR, rc)
            for p, cost in per_day.items()
        )
        peer = training = 0.0
        offer = scenario.arms[arm].peer_support
        if offer is not None:
            t, _ = spans.arm("sessions", arm)
            t = t[(t >= w0) & (t <= w1)]
            per_session = (
                offer.session_hours
                * (1 + c.non_contact_hours_per_session_hour)
                * c.peer_worker_hour
            )
            peer = float(np.sum(per_session * (1 + rc) ** (-(t - w0) / DAYS_PER_YEAR)))
            if scenario.peer_workers.count:
                training = scenario.peer_workers.count * c.training_per_worker  # at the start
        out["cost_discounted"] = acute + peer + training
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
    ev: pd.DataFrame | EventLog | Spans,
    scenario: Scenario,
    step_days: float = 7.0,
    replication: int | None = None,
) -> pd.DataFrame:
    """Ward beds occupied, waiting list and peer places in use on a grid of days, by arm.

    ``replication`` defaults to the event log's (it must be given with spans).
    """
    if isinstance(ev, Spans):
        spans = ev
        assert replication is not None, "give the replication with spans"
    else:
        E = _log(ev)
        spans, replication = (
            Spans.of(E, scenario),
            E.replication if replication is None else replication,
        )
    grid = np.arange(0.0, scenario.end_day + 1e-9, step_days)
    frames = []
    for arm, arm_name in enumerate(a.name for a in scenario.arms):
        frames.append(
            pd.DataFrame(
                {
                    "replication": replication,
                    "arm": arm_name,
                    "day": grid,
                    "ward_occupied": _level(*spans.stays_of(arm, "ward"), grid),
                    "waiting_list": _level(*spans.arm("queue", arm), grid),
                    "peer_places_in_use": _level(*spans.arm("peer", arm), grid),
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


@dataclass
class EpisodeTimes:
    """Readmissions and hospital-bed stays (ward or out of area) of one replication, in
    days since each patient's entry, with the row of the patient in the patients table."""

    readmission_row: np.ndarray
    readmission_day: np.ndarray
    bed_row: np.ndarray
    bed_in: np.ndarray
    bed_out: np.ndarray


def _times_since_entry(E: EventLog) -> dict[str, np.ndarray]:
    """Readmission days and bed stays of a chunk of whole patients, since their entry."""
    entry = E.is_(ENTRY)
    keys = E.key[entry]
    order = np.argsort(keys, kind="stable")
    keys, entry_day = keys[order], E.t[entry][order]
    readm = E.is_(READMISSION)
    k_r = E.key[readm]
    st = E.stays
    bed = st["placement"] != "crt"
    k_b = st["key"][bed]
    return {
        "readm_arm": k_r // E.n_pid,
        "readm_pid": k_r % E.n_pid,
        "readm_day": E.t[readm] - entry_day[np.searchsorted(keys, k_r)],
        "bed_arm": k_b // E.n_pid,
        "bed_pid": k_b % E.n_pid,
        "bed_in": st["day_in"][bed] - entry_day[np.searchsorted(keys, k_b)],
        "bed_out": st["day_out"][bed] - entry_day[np.searchsorted(keys, k_b)],
    }


class Reduction:
    """One replication's tables, reduced chunk by chunk as patients finish.

    Feed it chunks of whole patients' events (:func:`sim.model.engine.stream_replication`
    does); each chunk becomes its patients' rows and its :class:`Spans`, and the events
    themselves are dropped, or handed to ``on_events`` (as a frame) if given. Memory holds
    a few numbers per patient, not the event log. The tables are those the whole log
    would give, whatever the chunking.
    """

    def __init__(
        self,
        scenario: Scenario,
        replication: int,
        on_events: Callable[[pd.DataFrame], None] | None = None,
    ):
        self.scenario, self.replication, self.on_events = scenario, replication, on_events
        self.names = [a.name for a in scenario.arms]
        self.details = detail_categories(scenario)
        self._patients: list[Columns] = []  # patient_columns of each chunk
        self._spans: list[Spans] = []
        ends = scenario.outcomes.endpoints
        keep = scenario.is_trial and (ends.readmission_count or ends.bed_days) is not None
        self._times: list[dict[str, np.ndarray]] | None = [] if keep else None

    @classmethod
    def joined(cls, scenario: Scenario, replication: int, parts: Sequence[Reduction]) -> Reduction:
        """A replication's reduction from its worlds reduced apart (a service's policies,
        each perhaps first reduced for another scenario with the same world key): the
        tables are those one reduction of all the events would give.
        """
        out = cls(scenario, replication)
        for part in parts:
            out._patients.extend(part._patients)
            out._spans.extend(part._spans)
            if out._times is not None:
                out._times.extend(part._times or [])
        return out

    def frame(self, events: list[Event]) -> pd.DataFrame:
        """Events as a frame with this run's fixed categories."""
        return events_frame(self.names, events, self.replication, self.details)

    def add(self, events: list[Event]) -> None:
        """Reduce a chunk of whole patients' events (a frame is built only to hand on)."""
        if self.on_events is not None:
            frame = self.frame(events)
            self._reduce(EventLog(frame))
            self.on_events(frame)
        else:
            self._reduce(self._log(events))

    def _log(self, events: list[Event]) -> EventLog:
        return EventLog.of_events(self.names, events, self.replication, self.details)

    def _reduce(self, log: EventLog) -> None:
        self._patients.append(patient_columns(log, self.scenario))
        self._spans.append(Spans.of(log, self.scenario))
        if self._times is not None:
            self._times.append(_times_since_entry(log))

    def episode_times(self, patients: pd.DataFrame) -> EpisodeTimes:
        """Readmissions and hospital stays in days since entry, each mapped to its row of
        ``patients`` (the table :meth:`tables` returned). Trial endpoints only."""
        assert self._times is not None, "episode times are kept for trial endpoints only"
        parts = self._times or [_times_since_entry(self._log([]))]
        cols = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        arm = pd.Categorical(patients["arm"], categories=self.names).codes.astype(np.int64)
        pid = patients["patient_id"].to_numpy().astype(np.int64)
        n = int(pid.max()) + 1 if len(pid) else 1
        key = arm * n + pid  # patients are sorted by arm, then patient id

        def rows(prefix: str) -> np.ndarray:
            k = cols[f"{prefix}_arm"] * n + cols[f"{prefix}_pid"]
            return np.searchsorted(key, k)

        return EpisodeTimes(
            readmission_row=rows("readm"),
            readmission_day=cols["readm_day"],
            bed_row=rows("bed"),
            bed_in=cols["bed_in"],
            bed_out=cols["bed_out"],
        )

    def columns(self) -> Columns:
        """The patients table's columns (:func:`patient_columns`), every chunk's, sorted
        by arm, then patient id: what a replication's statistics read."""
        if not self._patients:  # no patient at all
            self._reduce(self._log([]))
        if len(self._patients) > 1:  # one chunk is sorted already (patient_columns)
            cols = {k: np.concatenate([p[k] for p in self._patients]) for k in PATIENT_COLUMNS}
            code = {name: i for i, name in enumerate(self.names)}
            arm = np.fromiter(map(code.__getitem__, cols["arm"]), np.int64, len(cols["arm"]))
            order = np.lexsort((cols["patient_id"], arm))
            self._patients = [{k: v[order] for k, v in cols.items()}]
        return self._patients[0]

    def tables(self, framed: bool = True) -> dict[str, pd.DataFrame | Unframed | None]:
        """Patients (sorted by arm, then patient id), metrics and timeseries (None
        where nothing is limited: :func:`capacity_can_bind`).

        Without ``framed``, patients and metrics are left :class:`Unframed`.
        """
        sc = self.scenario
        cols = self.columns()
        spans = Spans.combine(self._spans)
        out = {
            "patients": Unframed(columns=cols),
            "metrics": Unframed(columns=metrics_columns(spans, cols, sc, self.replication)),
            "timeseries": (
                timeseries_table(spans, sc, replication=self.replication)
                if capacity_can_bind(sc)
                else None
            ),
        }
        return framed_tables(out) if framed else out


def summarise(metrics: pd.DataFrame) -> pd.DataFrame:
    """Mean and 95% t-interval across replications, per arm and metric.

    With one replication (or a metric that is missing in all but one) the interval is
    empty (NaN): there is no spread to estimate it from.
    """
    g = metrics.dropna(subset=["value"]).groupby(["arm", "metric"], sort=False)["value"]
    out = g.agg(mean="mean", sd="std", n="count").reset_index()
    half = t_half_width(out["sd"], out["n"]).where(out["n"] > 1)
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
