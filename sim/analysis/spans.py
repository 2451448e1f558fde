"""Spans of time: stays, waits and places in use, and the levels they make over time.

:class:`Spans` holds a replication's intervals (acute stays by kind, waits for a peer
worker, peer places in use, follow-up); occupancy, peaks and the weekly time series
(:func:`timeseries_table`) are read from them, over the measured window
(``Scenario.measured_window``).
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
    END,
    ENTRY,
    EXITS,
    LAPSE,
    LOST,
    PLACEMENTS,
    QUEUE,
    READMISSION,
    SESSION,
    START,
    SUPPORT_END,
)

__all__ = [
    "capacity_can_bind",
    "Spans",
    "overlap",
    "peak",
    "timeseries_table",
]


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
        E = as_log(ev)
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


def overlap(start: np.ndarray, end: np.ndarray, w0: float, w1: float) -> float:
    """Total time the intervals [start, end) spend inside [w0, w1]."""
    return float(np.clip(np.minimum(end, w1) - np.maximum(start, w0), 0, None).sum())


def peak(start: np.ndarray, end: np.ndarray, w0: float, w1: float) -> float:
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
        E = as_log(ev)
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
