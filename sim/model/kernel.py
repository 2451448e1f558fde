"""SimPy extended for the model's short cuts: one concept, SimPy's kernel, a little more.

An environment that schedules an event at an exact day and skips a patient's process
end, a patient process started at its entry day, a lean first-of-two event, a capacity
of zero, and the one way the model waits until a day (:func:`until`). The pathway
(:mod:`sim.model.pathway`) is written with them; the places that patients wait for are
:mod:`sim.model.places`.
"""

from __future__ import annotations

import heapq

import simpy

from sim.model.places import Places, PriorityPlaces

__all__ = [
    "Closed",
    "Environment",
    "FirstOf",
    "NeverGranted",
    "PatientProcess",
    "resource",
    "until",
]


class NeverGranted(simpy.Event):
    """A request to a capacity of zero: it stays pending."""

    def cancel(self) -> None:
        """Nothing to withdraw: the request was never queued anywhere."""


class Closed:
    """A capacity of zero places: requests are never granted."""

    def __init__(self, env: simpy.Environment):
        self.env = env

    full = True

    def request(self, priority: int = 0) -> simpy.Event:
        return NeverGranted(self.env)

    def release(self, request: simpy.Event) -> None:  # pragma: no cover - never granted
        pass


def until(env: simpy.Environment, t: float) -> simpy.Timeout:
    """A timeout ending at absolute day ``t``.

    SimPy's clock after ``timeout(t - now)`` is ``now + (t - now)``, which can overshoot
    ``t`` by one ulp; a later ``timeout(t - now)`` would then be negative. Every wait
    in the model is until an absolute time, so every wait goes through here.
    """
    dt = t - env.now
    return env.timeout(dt if dt > 0.0 else 0.0)


class Environment(simpy.Environment):
    """SimPy's environment with two additions for the model's short cuts.

    - :meth:`at`: an event at exactly a given day. ``timeout(t - now)`` ends at
      ``now + (t - now)``, which can miss ``t`` by an ulp, and for some pairs no delay
      at all lands on ``t`` (from day 8.6, day 31.8 cannot be reached).
    - A patient's process ending (:class:`PatientProcess`) is not scheduled as an event:
      nothing ever waits for a patient's process, so processing that event would do
      nothing (SimPy only raises there if the process failed, and a failed one is
      still scheduled). One event fewer per patient.

    Both write SimPy's event queue as ``Environment.schedule`` does (its body): they
    read SimPy's private ``_queue``, ``_now`` and ``_eid``, and events' ``_ok`` and
    ``_value``, which is why pyproject.toml admits SimPy 4.1 only (a new minor release,
    once the golden tables pass on it).
    """

    def schedule(self, event, priority=simpy.events.NORMAL, delay=0) -> None:
        if event.__class__ is PatientProcess and event._ok:
            return
        heapq.heappush(self._queue, (self._now + delay, priority, next(self._eid), event))

    def at(self, t: float, event: simpy.Event | None = None, priority=simpy.events.NORMAL):
        """``event`` (a new one if none) triggered, to be processed at exactly day ``t``
        (at or after now), as a timeout ending then would be."""
        if event is None:
            event = simpy.Event(self)
            event._ok, event._value = True, None
        heapq.heappush(self._queue, (t, priority, next(self._eid), event))
        return event


class PatientProcess(simpy.Process):
    """A patient's process that starts at its entry day rather than at once.

    ``simpy.Process`` schedules its start event (``Initialize``) for now, so a source
    process would wait until each entry and start the patient then: two events per
    patient. This schedules the same start event for the entry day, from a source that
    wakes once per :data:`BLOCK` patients (the body is ``Process.__init__``'s, with a
    day). Used where no two patients compete at the same instant
    (:attr:`World.ties_harmless`): a patient starts first among the events of its
    instant instead of in the source's turn.
    """

    def __init__(self, env: Environment, generator, day: float):
        self.env = env
        self.callbacks = []
        self._generator = generator
        start = simpy.events.Initialize.__new__(simpy.events.Initialize)
        start.env, start.callbacks, start._value, start._ok = env, [self._resume], None, True
        self._target = env.at(day, start, simpy.events.URGENT)


class FirstOf(simpy.Event):
    """What ``a | b`` gives (SimPy's ``AnyOf``) for events that cannot fail, leaner.

    It succeeds when the first of its events is processed, and so is processed at the
    moment the ``Condition`` would be; it keeps no value (the model reads
    ``event.triggered``) and leaves its callback on the events that come later, where
    it does nothing.
    """

    def __init__(self, env: simpy.Environment, *events: simpy.Event):
        super().__init__(env)
        for event in events:
            event.callbacks.append(self._first)

    def _first(self, event: simpy.Event) -> None:
        if self._value is simpy.events.PENDING:
            self.succeed()


def resource(
    env: simpy.Environment, capacity: int | None, priority: bool = False, quick: bool = False
):
    if capacity is None:
        return None
    if capacity == 0:
        return Closed(env)
    kind = PriorityPlaces if priority else Places
    return kind(env, capacity, quick=quick)
