"""The event log of a replication as columns: events in, NumPy arrays out.

:class:`EventLog` holds a replication's events (the engine's tuples, or a frame of
them) as one array per field, with the stays and episodes the other tables read;
:func:`events_frame` makes the long ``events`` table (docs/outputs.md).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from operator import itemgetter

import numpy as np
import pandas as pd

from sim.config import Scenario
from sim.events import (
    ADMISSION,
    CLOSES,
    DETAILS,
    EVENT_FIELDS,
    EVENTS,
    Event,
)

__all__ = [
    "detail_categories",
    "events_frame",
    "EventLog",
    "as_log",
]


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


def as_log(ev: pd.DataFrame | EventLog) -> EventLog:
    return ev if isinstance(ev, EventLog) else EventLog(ev)
