"""Places and PriorityPlaces serve requests exactly as SimPy's Resource and PriorityResource.

The same random workload (arrivals with priorities, waits that give up, holds) is run
against SimPy's resource and against ours; the log of who got a place when, and who
gave up when, must be identical.
"""

from __future__ import annotations

import numpy as np
import simpy
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.model.places import Places, PriorityPlaces

customer = st.tuples(
    st.integers(0, 20),  # arrival day
    st.integers(0, 2),  # priority
    st.integers(0, 15),  # patience, days (0: gives up at once unless served)
    st.integers(1, 10),  # hold, days
)


def _log(kind, capacity: int, customers, as_the_engine: bool = False) -> list[tuple]:
    """Who got a place when, and who gave up when. ``as_the_engine``: ask as the model
    does (a request granted at once is not waited for), and leave out the counts at
    each release (a quick resource hands the place on at once)."""
    env = simpy.Environment()
    res = kind(env, capacity)
    priority = isinstance(res, simpy.PriorityResource)
    log: list[tuple] = []

    def one(i, arrive, prio, patience, hold):
        yield env.timeout(arrive)
        req = res.request(priority=prio) if priority else res.request()
        if not (as_the_engine and req.triggered):
            yield req | env.timeout(patience)
            if not req.triggered:
                req.cancel()
                log.append((env.now, i, "gave up"))
                return
        log.append((env.now, i, "served"))
        yield env.timeout(hold)
        res.release(req)
        log.append(
            (env.now, i, "left")
            if as_the_engine
            else (env.now, i, "left", len(res.queue), len(res.users))
        )

    for i, c in enumerate(customers):
        env.process(one(i, *c))
    env.run()
    return log


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 4), st.lists(customer, max_size=40))
def test_same_service_order_as_simpy(capacity: int, customers) -> None:
    assert _log(Places, capacity, customers) == _log(simpy.Resource, capacity, customers)
    assert _log(PriorityPlaces, capacity, customers) == _log(
        simpy.PriorityResource, capacity, customers
    )


def test_same_order_with_thousands_waiting_and_withdrawing() -> None:
    """Long queues where most give up: withdrawn requests are cleared in bulk
    (compaction) rather than one by one, and the order must not change."""
    rng = np.random.default_rng(7)
    n = 3_000
    customers = list(
        zip(
            rng.integers(0, 200, n).tolist(),
            rng.integers(0, 3, n).tolist(),
            rng.integers(0, 30, n).tolist(),
            rng.integers(1, 20, n).tolist(),
            strict=True,
        )
    )
    got = _log(Places, 5, customers)
    assert sum(1 for e in got if e[2] == "gave up") > 1_000  # compaction ran many times
    assert got == _log(simpy.Resource, 5, customers)
    assert _log(PriorityPlaces, 5, customers) == _log(simpy.PriorityResource, 5, customers)
