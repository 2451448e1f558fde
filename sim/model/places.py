"""SimPy resources whose waiting requests can be withdrawn in constant time.

SimPy keeps a resource's waiting requests in a list (and its users in another), so
withdrawing a request (an offer that lapses, a patient readmitted or at the end of
follow-up while waiting) and releasing a place each scan a list. With tens of
thousands waiting, a service run of a million discharges spent most of its time in
``list.remove`` (docs/performance.md). The queue type is a documented extension
point of SimPy's resources (``BaseResource.PutQueue``: index access, ``len``,
``append``, ``pop``); the queues here mark a withdrawn request and drop it when it
reaches the front, or when withdrawn requests outnumber waiting ones (a withdrawn
request still references its patient's process, so they must not pile up; clearing
them then costs O(1) per withdrawal on average). Requests are served in exactly
SimPy's order: first come, first served, or by the request's ``key`` (priority, then
time of request) with ties in order of arrival, as SimPy's ``SortedQueue`` does.

With ``quick=True`` a place granted at once, and a place freed while no one waits, make
no SimPy event: SimPy would schedule one for each, and processing them does nothing
then. A request that has to wait is a plain event on the waiting list, and a release
hands the place to the first one at once (SimPy schedules a release event that does it
a little later in the same instant, then the request's event). The order of service is
SimPy's; only the order of things within one instant can differ, so the model asks for
it only where no two patients act at the same instant.
"""

from __future__ import annotations

import heapq
import itertools
from collections import deque

import simpy

__all__ = ["Places", "PriorityPlaces"]


class _WaitingList:
    """Waiting requests; ``remove`` marks, and marked ones are dropped at the front or in
    bulk. Subclasses keep the order: ``_front``/``_take`` (after dropping marked ones
    there), ``_add``, ``_keep`` (rebuild without the marked) and ``_size``.
    """

    def __init__(self) -> None:
        self._gone: set = set()  # withdrawn, still stored

    def __len__(self) -> int:
        return self._size() - len(self._gone)

    def append(self, request) -> None:
        self._add(request)

    def remove(self, request) -> None:
        """Withdraw a waiting request (SimPy only withdraws requests still queued)."""
        self._gone.add(request)
        if len(self._gone) > 32 and 2 * len(self._gone) > self._size():
            self._keep(lambda r: r not in self._gone)
            self._gone.clear()

    def _drop_gone(self) -> None:
        gone = self._gone
        while self._front() in gone:  # SimPy reads the front only when len() > 0
            gone.discard(self._take())

    def __getitem__(self, index: int):
        if index != 0:  # a Resource's _do_put never lets SimPy look past the front
            raise IndexError("only the front of a waiting list is read")
        if self._gone:
            self._drop_gone()
        return self._front()

    def pop(self, index: int = 0):
        if index != 0:
            raise IndexError("only the front of a waiting list is served")
        if self._gone:
            self._drop_gone()
        return self._take()


class _Fifo(_WaitingList):
    """In order of arrival."""

    def __init__(self) -> None:
        super().__init__()
        self._items: deque = deque()

    def _size(self) -> int:
        return len(self._items)

    def _add(self, request) -> None:
        self._items.append(request)

    def _front(self):
        return self._items[0]

    def _take(self):
        return self._items.popleft()

    def _keep(self, wanted) -> None:
        self._items = deque(filter(wanted, self._items))


class _ByKey(_WaitingList):
    """By ``request.key`` (priority, time), ties in order of arrival."""

    def __init__(self) -> None:
        super().__init__()
        self._heap: list = []
        self._seq = itertools.count()

    def _size(self) -> int:
        return len(self._heap)

    def _add(self, request) -> None:
        heapq.heappush(self._heap, (request.key, next(self._seq), request))

    def _front(self):
        return self._heap[0][2]

    def _take(self):
        return heapq.heappop(self._heap)[2]

    def _keep(self, wanted) -> None:
        self._heap = [item for item in self._heap if wanted(item[2])]
        heapq.heapify(self._heap)


class _Users(dict):
    """The requests holding a place: SimPy appends and removes them; a dict does both
    in constant time.
    """

    def append(self, request) -> None:
        self[request] = None

    def remove(self, request) -> None:
        del self[request]


class _Granted:
    """A place granted at once, without a SimPy event (``quick``): nothing waits on it."""

    __slots__ = ()
    triggered = True


class _Ticket(simpy.Event):
    """A request that has to wait (``quick``): it joins the waiting list like SimPy's, and
    a release hands it the place at once, where SimPy would schedule a release event to
    do it a little later in the same instant."""

    def __init__(self, resource: _Quick, key):
        super().__init__(resource._env)
        self.resource, self.key = resource, key

    def cancel(self) -> None:
        """Withdraw from the waiting list (as SimPy's ``Request.cancel``)."""
        if not self.triggered:
            self.resource.put_queue.remove(self)


class _Quick:
    """``request`` and ``release`` with fewer SimPy events (``quick=True``, see the
    module's docstring); SimPy's own otherwise."""

    def _init_quick(self, quick: bool) -> None:
        self.users = _Users()  # type: ignore[assignment]
        self.quick = quick

    @property
    def full(self) -> bool:
        """Every place is taken: a request now would wait (or be withdrawn)."""
        return len(self.users) >= self._capacity

    def request(self, *args, **kwargs):
        if not self.quick:
            return super().request(*args, **kwargs)
        if len(self.users) < self._capacity and not self.put_queue:
            place = _Granted()
            self.users.append(place)
            return place
        ticket = _Ticket(self, self._key(*args, **kwargs))
        self.put_queue.append(ticket)
        return ticket

    def release(self, request):
        if not self.quick:
            return super().release(request)
        self.users.remove(request)
        if self.put_queue:  # the first waiting request takes the place
            ticket = self.put_queue.pop(0)
            self.users.append(ticket)
            ticket.succeed()
        return None


class Places(_Quick, simpy.Resource):
    """``simpy.Resource`` (first come, first served) with constant-time withdrawal."""

    PutQueue = _Fifo

    def _key(self) -> None:
        return None

    def __init__(self, env: simpy.Environment, capacity: int = 1, quick: bool = False):
        super().__init__(env, capacity)
        self._init_quick(quick)


class PriorityPlaces(_Quick, simpy.PriorityResource):
    """``simpy.PriorityResource`` with constant-time withdrawal (no preemption)."""

    PutQueue = _ByKey

    def _key(self, priority: int = 0, preempt: bool = True) -> tuple:
        return (priority, self._env.now, not preempt)  # SimPy's PriorityRequest.key

    def __init__(self, env: simpy.Environment, capacity: int = 1, quick: bool = False):
        super().__init__(env, capacity)
        self._init_quick(quick)
