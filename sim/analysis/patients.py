"""One row per patient: the patients table, as columns or a frame.

Definitions (also in docs/outputs.md): a patient's follow-up runs from entry to death,
loss to follow-up or the end (trial: entry + follow_up_days; service: the end of the
run). Service runs leave patients who entered during the warm-up out of the patients
table. :class:`Unframed` holds a table as columns until a chunk's are made one frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.analysis.eventlog import EventLog, as_log
from sim.config import Scenario, ServiceFeed
from sim.events import (
    DEATH,
    ENTRY,
    EXITS,
    LOST,
    OFFER,
    READMISSION,
    SESSION,
    START,
)

__all__ = [
    "PATIENT_COLUMNS",
    "Columns",
    "patients_table",
    "patient_columns",
    "Unframed",
    "framed_tables",
    "column",
    "n_rows",
    "EpisodeTimes",
    "times_since_entry",
    "readmitted_within",
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


Columns = dict[str, np.ndarray]


def readmitted_within(
    first: np.ndarray, follow: np.ndarray, horizon: float
) -> tuple[np.ndarray, np.ndarray]:
    """Whether each patient's first readmission came within ``horizon`` days of entry,
    and the time to it or, if none, to the end of follow-up or the horizon.

    ``first`` is the ``first_readmission_day`` column (NaN if none), ``follow`` the
    ``follow_up_days``: a first readmission counts if it fell within both. The one
    definition of "readmitted within H" that the metrics (``p_readmit_<H>d``), the
    trial analysis and the Kaplan-Meier figure read; who counts in the denominator is
    theirs to say (docs/outputs.md).
    """
    until = np.minimum(follow, horizon)
    readmitted = first <= until  # NaN compares False
    return readmitted, np.where(readmitted, first, until)


def _first_per(index: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    """Value of each index's first row (rows in log order, which is time order); NaN if none."""
    out = np.full(size, np.nan)
    uniq, first = np.unique(index, return_index=True)
    out[uniq] = values[first]
    return out


def patients_table(ev: pd.DataFrame | EventLog, scenario: Scenario) -> pd.DataFrame:
    """One row per patient (per arm) of one replication; columns: :data:`PATIENT_COLUMNS`."""
    return pd.DataFrame(patient_columns(ev, scenario))


def patient_columns(ev: pd.DataFrame | EventLog, scenario: Scenario) -> dict[str, np.ndarray]:
    """:func:`patients_table`'s columns as NumPy arrays, in its order, before the frame.

    What the statistics of a replication read (:func:`metrics_table`,
    :func:`sim.analysis.trial.trial_table`), without a column taken back out of a frame.
    """
    E = as_log(ev)
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
    # (bincount gives integers, not floats, when there is no stay at all to weigh)
    out["acute_days"] = np.bincount(s_idx, weights=st["days"], minlength=P).astype(float)
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
    out["ward_days"] = np.bincount(s_idx[ward], weights=st["days"][ward], minlength=P).astype(float)
    ooa = st["placement"] == "out_of_area"
    out["out_of_area"] = np.bincount(s_idx[ooa], minlength=P).astype(np.int32)
    if isinstance(scenario.feed, ServiceFeed):
        kept = entry_day >= scenario.feed.warm_up_days
        return {name: out[name][kept] for name in PATIENT_COLUMNS}
    return {name: out[name] for name in PATIENT_COLUMNS}


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


@dataclass
class EpisodeTimes:
    """Readmissions and hospital-bed stays (ward or out of area) of one replication, in
    days since each patient's entry, with the row of the patient in the patients table."""

    readmission_row: np.ndarray
    readmission_day: np.ndarray
    bed_row: np.ndarray
    bed_in: np.ndarray
    bed_out: np.ndarray


def times_since_entry(E: EventLog) -> dict[str, np.ndarray]:
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
