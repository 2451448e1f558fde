"""Events -> patients -> metrics -> summary: the reduction of a replication.

Pure functions of the event data. The event log is :mod:`sim.analysis.eventlog`, the
patients table :mod:`sim.analysis.patients`, the spans of time
:mod:`sim.analysis.spans`, the economics :mod:`sim.analysis.economics`; this module
reduces a replication's events to them and to its metrics (:class:`Reduction`), and
summarises metrics across replications (:func:`summarise`). The names of those modules
that the rest of the package reads are handed on from here.

Definitions (also in docs/outputs.md):

* A patient's follow-up runs from entry to death, loss to follow-up or the end
  (trial: entry + follow_up_days; service: the end of the run).
* ``p_readmit_<H>d`` is the share of patients whose first readmission came within
  H days of entry, among patients whose follow-up could have lasted H days (all
  patients in a trial; in a service, those who entered at least H days before the
  end). Deaths and losses before H count as not readmitted (the trial analysis's
  ``p_readmitted`` leaves those lost out instead: complete case). Readmitted within H
  is :func:`~sim.analysis.patients.readmitted_within`, for both.
* Service runs leave patients who entered during the warm-up out of the patient
  table and the patient-level metrics; their stays still count in ward occupancy,
  which is averaged over the measured period only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from sim.analysis.economics import costs_per_year, economics_metrics
from sim.analysis.eventlog import EventLog, detail_categories, events_frame
from sim.analysis.intervals import bounded_interval, t_half_width
from sim.analysis.patients import (
    PATIENT_COLUMNS,
    Columns,
    EpisodeTimes,
    Unframed,
    column,
    framed_tables,
    n_rows,
    patient_columns,
    patients_table,
    readmitted_within,
    times_since_entry,
)
from sim.analysis.spans import Spans, capacity_can_bind, overlap, peak, timeseries_table
from sim.capacity import peer_places
from sim.config import Scenario
from sim.events import Event
from sim.labels import metric as metric_label

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
    "Columns",
    "column",
    "n_rows",
    "capacity_can_bind",
    "detail_categories",
]


def horizons(scenario: Scenario) -> list[float]:
    """Primary horizon first, then the secondary ones, days."""
    o = scenario.outcomes
    return [
        o.primary_horizon_days,
        *[h for h in o.secondary_horizons_days if h != o.primary_horizon_days],
    ]


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
            "follow_up_days",
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
        follow = col["follow_up_days"][mine]
        for h in horizons(scenario):
            at_risk = entry + h <= scenario.end_day + 1e-9
            k = int(at_risk.sum())
            hit = int(readmitted_within(first[at_risk], follow[at_risk], h)[0].sum())
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


def _window_metrics(spans: Spans, arm: int, scenario: Scenario) -> dict[str, float]:
    w0, w1 = scenario.measured_window
    span, years = w1 - w0, (w1 - w0) / 365.25
    out: dict[str, float] = {}
    ward_in, ward_out = spans.stays_of(arm, "ward")
    ward_days = overlap(ward_in, ward_out, w0, w1)
    out["ward_occupancy_mean"] = ward_days / span
    out["ward_occupancy_peak"] = peak(ward_in, ward_out, w0, w1)
    out["ward_bed_days_per_year"] = ward_days / years
    ooa_in, ooa_out = spans.stays_of(arm, "out_of_area")
    out["out_of_area_per_year"] = float(np.sum((ooa_in >= w0) & (ooa_in <= w1))) / years
    out["out_of_area_days_per_year"] = overlap(ooa_in, ooa_out, w0, w1) / years
    out["crt_days_per_year"] = overlap(*spans.stays_of(arm, "crt"), w0, w1) / years
    readmissions, offered, attended = spans.counts[arm]
    out["readmissions_per_year"] = float(readmissions) / years
    out["sessions_offered_per_year"] = float(offered) / years
    out["sessions_delivered_per_year"] = float(attended) / years
    q0, q1 = spans.arm("queue", arm)
    out["waiting_list_mean"] = overlap(q0, np.minimum(q1, w1), w0, w1) / span
    out["waiting_list_peak"] = peak(q0, np.minimum(q1, w1), w0, w1)
    arm_cfg = scenario.arms[arm]
    places = peer_places(scenario, [arm_cfg] if not scenario.is_trial else list(scenario.arms))
    p0, p1 = spans.arm("peer", arm)
    in_use = overlap(p0, np.minimum(p1, w1), w0, w1) / span
    out["peer_places_in_use_mean"] = in_use
    out["peer_utilisation"] = in_use / places if places else np.nan
    if scenario.costs is not None:
        out.update(costs_per_year(scenario, arm_cfg, out, years))
    if scenario.economics is not None:
        out.update(economics_metrics(spans, arm, scenario, w0, w1))
    return out


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
            self._reduce(self.as_log(events))

    def as_log(self, events: list[Event]) -> EventLog:
        return EventLog.of_events(self.names, events, self.replication, self.details)

    def _reduce(self, log: EventLog) -> None:
        self._patients.append(patient_columns(log, self.scenario))
        self._spans.append(Spans.of(log, self.scenario))
        if self._times is not None:
            self._times.append(times_since_entry(log))

    def episode_times(self, patients: pd.DataFrame) -> EpisodeTimes:
        """Readmissions and hospital stays in days since entry, each mapped to its row of
        ``patients`` (the table :meth:`tables` returned). Trial endpoints only."""
        assert self._times is not None, "episode times are kept for trial endpoints only"
        parts = self._times or [times_since_entry(self.as_log([]))]
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
            self._reduce(self.as_log([]))
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
    empty (NaN): there is no spread to estimate it from. A bounded metric's interval
    that would cross its bound is taken on a transformed scale instead
    (:func:`~sim.analysis.intervals.bounded_interval`); ``interval`` says which.
    """
    g = metrics.dropna(subset=["value"]).groupby(["arm", "metric"], sort=False)["value"]
    out = g.agg(mean="mean", sd="std", n="count").reset_index()
    half = t_half_width(out["sd"], out["n"]).where(out["n"] > 1)
    out["ci_low"] = out["mean"] - half
    out["ci_high"] = out["mean"] + half
    out["interval"] = "t"
    for name, rows in out.groupby("metric", sort=False).groups.items():
        lower, upper = metric_label(str(name)).bounds
        if lower is None:
            continue
        lo, hi, how = bounded_interval(out.loc[rows, "mean"], half[rows], lower, upper)
        out.loc[rows, "ci_low"], out.loc[rows, "ci_high"], out.loc[rows, "interval"] = lo, hi, how
    order = {m: i for i, m in enumerate(dict.fromkeys(metrics["metric"]))}
    arm_order = {a: i for i, a in enumerate(dict.fromkeys(metrics["arm"]))}
    out = out.sort_values(
        ["arm", "metric"], key=lambda c: c.map(arm_order if c.name == "arm" else order)
    )
    return (
        out[["arm", "metric", "mean", "ci_low", "ci_high", "interval", "sd", "n"]]
        .rename(columns={"n": "replications"})
        .reset_index(drop=True)
    )
