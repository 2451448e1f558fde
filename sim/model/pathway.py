"""The crisis pathway: one world's patients, episodes, peer support and acute care.

A :class:`World` is one SimPy environment (:mod:`sim.model.kernel`): its capacity
(:mod:`sim.model.places`), its arms pre-digested (:class:`ArmPlan`), and one process per
patient walking through its episodes; finished patients' events go to a sink in chunks
of whole patients. The replication driver (:mod:`sim.model.engine`) makes the worlds
of a replication and feeds them their patients.

One SimPy process per patient walks through its episodes. Inside an episode the
next readmission time is computed from the hazard clock rather than raced as
SimPy events (racing them costs about 2.5 times as much, docs/performance.md); SimPy events are used
only where time really passes (sessions, stays) and where patients compete for
capacity (peer workers, ward beds, CRT places).

Where no two patients compete at the same instant (:attr:`World.ties_harmless`: a
service, whose arrivals are a Poisson process, or a world without a worker pool) the
engine makes fewer events still: a programme's sessions are worked out at once with one
wait to its end, patients are started by their own start event instead of a source
process waiting for each, peer-worker places make fewer events (a place granted at once
or freed with no one waiting makes none; a waiting request is handed the place by the
release itself: :mod:`sim.model.places`, ``quick``), and a patient's process ending is
not scheduled. Acute places stay SimPy's own resources, except that a readmission to a
full ward or CRT that overflows out of area asks for no place.
Each keeps every event and every day logged exactly (tests/test_fewer_events.py
switches them off and compares).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sim.capacity import peer_places
from sim.config import (
    AcuteCare,
    Arm,
    PeerSupportOffer,
    Scenario,
)
from sim.events import (
    ADMISSION,
    DEATH,
    DISCHARGE,
    END,
    ENTRY,
    LAPSE,
    LOST,
    OFFER,
    PLACE_WAIT,
    QUEUE,
    READMISSION,
    SESSION,
    START,
    SUPPORT_END,
    Event,
)
from sim.hazards import Hazard, make_hazard
from sim.model.clock import Clock
from sim.model.effects import Effect, effect_of
from sim.model.kernel import Environment, FirstOf, PatientProcess, resource, until
from sim.rng import BLOCK, Draws

__all__ = ["ArmPlan", "CHUNK_EVENTS", "DAYS_PER_YEAR", "INF", "Programme", "World", "offsets_of"]

INF = math.inf
DAYS_PER_YEAR = 365.25

# Events are handed on in chunks of at least this many, each chunk holding whole
# patients (every event of a patient whose follow-up is over), so that a replication
# can be reduced to its tables without ever holding its whole event log.
CHUNK_EVENTS = 200_000


@dataclass(frozen=True)
class ArmPlan:
    """An arm, pre-digested for the hot loop (its own acute care and attendance applied)."""

    index: int
    name: str
    offers: bool
    eligible: frozenset[int] | None
    n_sessions: int
    interval: float
    reoffer: bool
    fixed: bool  # a programme fixed in time from entry, through readmissions
    pause: bool  # fixed programme: no contact while in acute care
    offsets: tuple[float, ...]  # fixed programme: day of each contact from its start, then its end
    effect: Effect
    p_ward: float
    k_disengage: int  # consecutive misses that end the programme; 0 = never
    loss_rate: float  # of leaving observation, a day (the arm's, else the scenario's)

    @classmethod
    def build(
        cls, index: int, arm: Arm, group_index: dict[str, int], scenario: Scenario
    ) -> ArmPlan:
        ps = arm.peer_support
        eligible = None
        if ps is not None and ps.risk_groups is not None:
            eligible = frozenset(group_index[g] for g in ps.risk_groups)
        return cls(
            index=index,
            name=arm.name,
            offers=ps is not None,
            eligible=eligible,
            n_sessions=ps.n_sessions if ps else 0,
            interval=ps.interval_days if ps else 7.0,
            reoffer=ps.reoffer_after_readmission if ps else False,
            fixed=ps is not None and ps.schedule == "fixed",
            offsets=offsets_of(ps) if ps is not None else (),
            pause=ps.pause_in_hospital if ps else False,
            effect=effect_of(arm.effect),
            p_ward=scenario.acute_care_of(arm).p_ward,
            k_disengage=scenario.attendance_of(arm).disengage_after_missed or 0,
            loss_rate=(
                arm.loss_to_follow_up_per_year
                if arm.loss_to_follow_up_per_year is not None
                else scenario.competing.loss_to_follow_up_per_year
            )
            / DAYS_PER_YEAR,
        )


def offsets_of(ps: PeerSupportOffer) -> tuple[float, ...]:
    """Days from a fixed programme's start to each contact, and to its end."""
    if ps.phases is None:
        return tuple(j * ps.interval_days for j in range(ps.n_sessions + 1))
    out, t = [], 0.0
    for phase in ps.phases:
        for _ in range(phase.n_sessions):
            out.append(t)
            t += phase.interval_days
    return (*out, t)


class Programme:
    """A programme fixed in time, in progress: its calendar, attendance so far, its place.

    Contact ``j`` is at ``t0 + offsets[j]``; the programme ends at ``t0 + offsets[n]``
    (the last contact covers its interval), at disengagement, or at the exit.
    """

    __slots__ = (
        "pid",
        "engagement",
        "t0",
        "n",
        "offsets",
        "j",
        "attended",
        "missed",
        "u",
        "place",
        "open",
    )

    def __init__(self, dr: Draws, t0: float, arm: ArmPlan, u: list[float], place: object | None):
        self.pid, self.engagement = dr.pid, dr.engagement
        self.t0, self.n, self.offsets = t0, arm.n_sessions, arm.offsets
        self.j = self.attended = self.missed = 0
        self.u, self.place, self.open = u, place, True

    def next_time(self) -> float:
        """When the programme next needs attention: a contact, or its end."""
        return self.t0 + self.offsets[self.j]


class World:
    """One SimPy environment: capacity, arms, and where finished patients' events go.

    Each patient keeps its own events while it is followed up; when its follow-up is
    over they join ``chunk``, which is handed to ``sink`` once it holds ``chunk_events``
    events (and at the end, by :meth:`flush`).
    """

    def __init__(
        self,
        scenario: Scenario,
        arms: list[ArmPlan],
        offering: list[Arm],
        sink: Callable[[list[Event]], None],
        chunk_events: float = CHUNK_EVENTS,
        acute_care: AcuteCare | None = None,
    ):
        self.env = Environment()
        self.chunk: list[Event] = []
        self.sink, self.chunk_events = sink, chunk_events
        self.hazard: Hazard = make_hazard(scenario.readmission.baseline)
        groups = scenario.population.risk_groups
        self.group_names = [g.name for g in groups]
        self.group_ratio = [g.hazard_ratio for g in groups]
        # queue priority: higher hazard ratio first (lower number is served first in SimPy)
        order = sorted(set(self.group_ratio), reverse=True)
        self.group_priority = [order.index(r) for r in self.group_ratio]
        self.arms = arms
        pw = scenario.peer_workers
        self.by_risk = pw.queue == "risk" and pw.count not in (None, 0)
        # No two patients compete for a peer worker at the same instant: no pool, or a
        # service (Poisson arrivals: days coincide only at the end of the run, where no
        # one asks for a place). A trial's entries are evenly spaced, so a programme's
        # end may fall at another patient's offer. Where it holds, the order SimPy gives
        # simultaneous events changes nothing but the order of the event log, and the
        # engine's short cuts (the module's docstring) are used.
        places = peer_places(scenario, offering)
        self.ties_harmless = places is None or not scenario.is_trial
        self.workers = resource(self.env, places, self.by_risk, quick=self.ties_harmless)
        self.max_wait = pw.max_wait_days if pw.max_wait_days is not None else INF
        # a trial's arms share the acute places; a service policy's world has its own
        ac = acute_care or scenario.acute_care
        self.ward = resource(self.env, ac.ward.capacity)
        self.ward_queue = ac.ward.overflow == "queue"
        self.crt = resource(self.env, ac.crt.capacity) if ac.crt else None
        self.crt_queue = ac.crt is not None and ac.crt.overflow == "queue"
        comp = scenario.competing
        self.death_rate = comp.death_per_year / DAYS_PER_YEAR

    def _done(self, events: list[Event]) -> None:
        """A patient's follow-up is over: its events join the chunk."""
        chunk = self.chunk
        chunk.extend(events)
        if len(chunk) >= self.chunk_events:
            self.flush()

    def flush(self) -> None:
        """Hand the finished patients' events on."""
        if self.chunk:
            chunk, self.chunk = self.chunk, []
            self.sink(chunk)

    def source(self, patients: Iterator[tuple[float, Draws, ArmPlan, float]]):
        """Start each patient's process at its entry day (days in increasing order)."""
        env = self.env
        timeout, process, patient = env.timeout, env.process, self.patient
        if not self.ties_harmless:
            for entry, draws, arm, stop in patients:
                dt = entry - env.now
                if dt > 0.0:  # until, inlined (hot: once per patient)
                    yield timeout(dt)
                process(patient(draws, arm, stop))
            return
        # A block of patients at a time, each started by its own start event at its
        # entry. ``cur`` is where a wait per patient would have left SimPy's clock
        # (each wait adds ``entry - now``), so each patient sees the same entry day.
        cur, patients = env.now, iter(patients)
        while block := list(itertools.islice(patients, BLOCK)):
            now = env.now
            for entry, draws, arm, stop in block:
                dt = entry - cur
                if dt > 0.0:
                    cur += dt
                PatientProcess(env, patient(draws, arm, stop), cur)
            if cur > now:
                yield env.at(cur)

    # ------------------------------------------------------------------ the patient
    def patient(self, dr: Draws, arm: ArmPlan, t_follow_end: float):  # noqa: C901 - one pathway
        """One patient's whole follow-up: episodes, peer support, readmissions, stays."""
        env, a, pid = self.env, arm.index, dr.pid
        events: list[Event] = []
        log = events.append
        entry = env.now
        t_stop, why = t_follow_end, END
        if self.death_rate > 0:
            t = entry + dr.death_e1 / self.death_rate
            if t < t_stop:
                t_stop, why = t, DEATH
        if arm.loss_rate > 0:
            t = entry + dr.loss_e1 / arm.loss_rate
            if t < t_stop:
                t_stop, why = t, LOST
        rg = dr.risk_group
        c = dr.frailty * self.group_ratio[rg]
        log((a, pid, 0, entry, ENTRY, self.group_names[rg]))
        offers = arm.offers and (arm.eligible is None or rg in arm.eligible)
        if not offers:
            dr.drop_sessions()  # memory: a patient may be followed up for years
        episode = 0
        prog: Programme | None = None  # a fixed programme, once started
        last: Clock | None = None
        while True:
            now = env.now
            if episode >= len(dr.budget):
                dr.extend_to(episode)
            clock = Clock(self.hazard, c, now, dr.budget[episode])
            t_r = INF  # readmission time, once known
            if arm.fixed:
                if last is not None:  # the programme's effect carries on through readmissions
                    clock.set_effect(last.level, last.t_w, last.half_life)
                last = clock
                if offers and episode == 0:
                    prog, t_r = yield from self._offer_fixed(log, clock, dr, arm, t_stop)
                if prog is not None and prog.open and t_r == INF:
                    t_r = yield from self._programme(log, clock, arm, prog, episode, t_stop)
            elif offers and (episode == 0 or arm.reoffer):
                # peer support: the offer, a worker (at once or after a wait), the programme
                log((a, pid, episode, now, OFFER, ""))
                arm.effect.at_offer(clock, now)
                if self.workers is None:
                    t_r = yield from self._sessions(log, clock, dr, arm, episode, t_stop)
                else:
                    place, t_r = yield from self._wait_for_worker(
                        log, clock, dr, arm, episode, t_stop
                    )
                    if place is not None:
                        t_r = yield from self._sessions(log, clock, dr, arm, episode, t_stop)
                        self.workers.release(place)
                if not arm.reoffer:
                    dr.drop_sessions()  # offered once only
            if t_r == INF:
                t_r = clock.run(env.now, t_stop)
            if t_r >= t_stop:
                # Nothing more can happen to the patient and it holds no place: record
                # the exit now rather than keep a process pending until then (a million
                # pending processes slow SimPy's event heap and hold their draws).
                if prog is not None and prog.open:  # no contact left before the exit
                    if prog.place is not None:  # a worker's place is held to the exit
                        yield until(env, t_stop)
                    self._close(log, arm, pid, prog, t_stop, "exited")
                log((a, pid, episode, t_stop, why, ""))
                self._done(events)
                return
            dt = t_r - env.now  # until, inlined (hot: once per readmission)
            if dt > 0.0:
                yield env.timeout(dt)
            exited = yield from self._acute(log, dr, arm, episode, t_stop, why, prog, last)
            if exited:
                self._done(events)
                return
            episode += 1

    # -------------------------------------------------- a programme fixed in time
    def _offer_fixed(self, log, clock: Clock, dr: Draws, arm: ArmPlan, t_stop: float):
        """The offer at entry, a worker, the start: returns ``(programme or None, t_r)``."""
        env, a, pid = self.env, arm.index, dr.pid
        log((a, pid, 0, env.now, OFFER, ""))
        arm.effect.at_offer(clock, env.now)
        place, t_r = None, INF
        if self.workers is not None:
            place, t_r = yield from self._wait_for_worker(log, clock, dr, arm, 0, t_stop)
            if place is None:
                dr.drop_sessions()
                return None, t_r
        u = dr.session_uniforms(0)
        dr.drop_sessions()
        log((a, pid, 0, env.now, START, ""))
        arm.effect.at_start(clock, env.now)
        return Programme(dr, env.now, arm, u, place), INF

    def _programme(
        self, log, clock: Clock, arm: ArmPlan, prog: Programme, episode: int, t_stop: float
    ):
        """Out of hospital: the programme's contacts up to the readmission or ``t_stop``.

        Returns the readmission time, or ``inf`` (the clock run up to the last contact).
        """
        env = self.env
        now = env.now
        while prog.open:
            t = prog.next_time()
            if t >= t_stop:
                break
            t_r = clock.run(now, t)
            if t_r < INF:
                return t_r
            if t > now:
                yield until(env, t)
            now = t
            self._contact(log, clock, arm, prog, episode, now, in_hospital=False)
        return INF

    def _contact(
        self,
        log,
        clock: Clock,
        arm: ArmPlan,
        prog: Programme,
        episode: int,
        now: float,
        in_hospital: bool,
    ) -> None:
        """The programme's next contact (attended, missed, or paused), or its end."""
        j, a, pid = prog.j, arm.index, prog.pid
        if j >= prog.n:
            self._close(log, arm, pid, prog, now, "completed")
            return
        prog.j = j + 1
        if in_hospital and arm.pause:
            return  # not offered: the calendar goes on
        if prog.u[j] < prog.engagement:
            prog.attended += 1
            prog.missed = 0
            log((a, pid, episode, now, SESSION, "attended"))
            arm.effect.at_attended(clock, now, prog.attended)
        else:
            prog.missed += 1
            log((a, pid, episode, now, SESSION, "missed"))
            if arm.k_disengage and prog.missed >= arm.k_disengage:
                self._close(log, arm, pid, prog, now, "disengaged")

    def _close(self, log, arm: ArmPlan, pid: int, prog: Programme, now: float, why: str) -> None:
        """The programme ends: logged with the episode of its start (0); the place freed."""
        log((arm.index, pid, 0, now, SUPPORT_END, why))
        prog.open = False
        if prog.place is not None:
            self.workers.release(prog.place)  # type: ignore[union-attr]
            prog.place = None

    def _wait_for_worker(
        self,
        log: Callable[[Event], None],
        clock: Clock,
        dr: Draws,
        arm: ArmPlan,
        episode: int,
        t_stop: float,
    ):
        """A place with a peer worker: at once, or after a wait on the list.

        Returns ``(place, inf)`` when a worker takes the patient on, or ``(None, t_r)``
        when none does: readmitted while waiting (``t_r``), the offer lapsed or the
        follow-up ended (``inf``). The clock has been run up to the current time.
        """
        env, workers, a, pid = self.env, self.workers, arm.index, dr.pid
        if self.by_risk:
            req = workers.request(priority=self.group_priority[dr.risk_group])
        else:
            req = workers.request()
        if req.triggered:
            return req, INF
        t_offer = env.now
        log((a, pid, episode, t_offer, QUEUE, ""))
        t_lapse = t_offer + self.max_wait
        horizon = min(t_stop, t_lapse)
        t_r = clock.peek(t_offer, horizon)
        yield FirstOf(env, req, until(env, min(t_r, horizon)))
        if not req.triggered:
            req.cancel()
            t_r = clock.run(t_offer, env.now)
            if t_r == INF and t_lapse < t_stop:
                log((a, pid, episode, env.now, LAPSE, ""))
            return None, t_r
        t_r = clock.run(t_offer, env.now)
        if t_r < INF or env.now >= t_stop:
            # granted at the very moment of readmission, or of the end of follow-up
            # (a place freed by another patient's exit at the same instant): no start
            workers.release(req)
            return None, t_r
        return req, INF

    def _sessions(
        self,
        log: Callable[[Event], None],
        clock: Clock,
        dr: Draws,
        arm: ArmPlan,
        episode: int,
        t_stop: float,
    ):
        """The programme: a session every interval, each attended or missed, until all
        are given, the patient disengages, is readmitted or the follow-up ends. The
        place is held for the programme (each session covers its interval) or until the
        readmission. Returns the readmission time or ``inf``.

        Where no other patient can act at the same instant (:attr:`ties_harmless`)
        the sessions are worked out at once, with one SimPy wait to the programme's
        end instead of one per session. ``cur`` follows the SimPy clock as the
        session-by-session waits would have moved it (each wait adds ``t - now``, which
        can differ from ``t`` by an ulp), so the times logged are the same either way.
        """
        env, a, pid, effect = self.env, arm.index, dr.pid, arm.effect
        timeout, stepwise = env.timeout, not self.ties_harmless
        t0 = cur = env.now
        log((a, pid, episode, t0, START, ""))
        effect.at_start(clock, t0)
        engagement, u = dr.engagement, dr.session_uniforms(episode)
        interval, k = arm.interval, arm.k_disengage
        attended = missed = 0
        reason, t_r, now = "completed", INF, t0
        for j in range(arm.n_sessions):
            t_s = t0 + j * interval
            if t_s >= t_stop:
                t_r = clock.run(now, t_stop)
                reason = "readmitted" if t_r < INF else "exited"
                break
            t_r = clock.run(now, t_s)
            if t_r < INF:
                reason = "readmitted"
                break
            if t_s > now:
                dt = t_s - cur  # until, inlined (hot: once per session)
                dt = dt if dt > 0.0 else 0.0
                if stepwise:
                    yield timeout(dt)
                cur += dt
            now = t_s
            if u[j] < engagement:
                attended += 1
                missed = 0
                log((a, pid, episode, now, SESSION, "attended"))
                effect.at_attended(clock, now, attended)
            else:
                missed += 1
                log((a, pid, episode, now, SESSION, "missed"))
                if k and missed >= k:
                    reason = "disengaged"
                    break
        else:
            t_end = min(t0 + arm.n_sessions * interval if arm.n_sessions else t0, t_stop)
            t_r = clock.run(now, t_end)
            if t_r < INF:
                reason = "readmitted"
            else:
                if t_end > now:
                    cur = yield from self._wait(cur, t_end, stepwise)
                if t_end >= t_stop:
                    reason = "exited"
        if t_r < INF:  # the programme ends at the readmission: the place is held until then
            cur = yield from self._wait(cur, t_r, stepwise)
        if reason == "exited" and t_stop > cur:
            cur = yield from self._wait(cur, t_stop, stepwise)
        if cur > env.now:  # the sessions worked out at once: one wait to where they end
            yield env.at(cur)
        log((a, pid, episode, env.now, SUPPORT_END, reason))
        return t_r

    def _wait(self, cur: float, t: float, stepwise: bool):
        """Wait until ``t`` as :func:`until` does, or (``stepwise`` false) only work out
        where that wait would leave the SimPy clock. Returns the clock."""
        dt = t - cur
        if stepwise:
            yield self.env.timeout(dt if dt > 0.0 else 0.0)
        return cur + (dt if dt > 0.0 else 0.0)

    def _acute(
        self,
        log: Callable[[Event], None],
        dr: Draws,
        arm: ArmPlan,
        episode: int,
        t_stop: float,
        why: str,
        prog: Programme | None = None,
        clock: Clock | None = None,
    ):
        """Readmission now: a ward or CRT place, a stay, then discharge. True if exited.

        A fixed programme goes on meanwhile (its contacts paused or not, as the arm says);
        contacts due while the patient waits for a place are dealt with at admission.
        """
        env, a, pid = self.env, arm.index, dr.pid
        ward = dr.setting_u[episode] < arm.p_ward
        setting = "ward" if ward else "crt"
        log((a, pid, episode, env.now, READMISSION, setting))
        res = self.ward if ward else self.crt
        placement, req = setting, None
        queue = self.ward_queue if ward else self.crt_queue
        if res is not None and not queue and res.full:
            placement = "out_of_area"  # what a request, not granted, withdrawn, comes to
        elif res is not None:
            req = res.request()
            if not req.triggered:
                if queue:
                    log((a, pid, episode, env.now, PLACE_WAIT, setting))
                    yield FirstOf(env, req, until(env, t_stop))
                    if not req.triggered:
                        req.cancel()
                        if prog is not None and prog.open:
                            self._close(log, arm, pid, prog, env.now, "exited")
                        log((a, pid, episode, env.now, why, ""))
                        return True
                else:
                    req.cancel()
                    req, placement = None, "out_of_area"
        log((a, pid, episode, env.now, ADMISSION, placement))
        t_out = env.now + (dr.los_ward[episode] if ward else dr.los_crt[episode])
        exited = t_out >= t_stop
        t_leave = t_stop if exited else t_out
        if prog is not None:
            while prog.open and prog.next_time() < t_leave:
                t = prog.next_time()
                if t > env.now:
                    yield until(env, t)
                self._contact(log, clock, arm, prog, episode, env.now, in_hospital=True)  # type: ignore[arg-type]
            if exited and prog.open:
                yield until(env, t_leave)
                self._close(log, arm, pid, prog, env.now, "exited")
        dt = t_leave - env.now  # until, inlined (hot: once per stay)
        yield env.timeout(dt if dt > 0.0 else 0.0)
        if req is not None:
            res.release(req)
        log((a, pid, episode, env.now, why if exited else DISCHARGE, ""))
        return exited
