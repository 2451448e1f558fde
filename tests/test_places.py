"""Places and PriorityPlaces serve requests exactly as SimPy's Resource and PriorityResource.

The same random workload (arrivals with priorities, waits that give up, holds) is run
against SimPy's resource and against ours; the log of who got a place when, and who
gave up when, must be identical.
"""

from __future__ import annotations

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


def _log(kind, capacity: int, customers) -> list[tuple]:
    env = simpy.Environment()
    res = kind(env, capacity)
    priority = isinstance(res, simpy.PriorityResource)
    log: list[tuple] = []

    def one(i, arrive, prio, patience, hold):
        yield env.timeout(arrive)
        req = res.request(priority=prio) if priority else res.request()
        yield req | env.timeout(patience)
        if not req.triggered:
            req.cancel()
            log.append((env.now, i, "gave up"))
            return
        log.append((env.now, i, "served"))
        yield env.timeout(hold)
        res.release(req)
        log.append((env.now, i, "left", len(res.queue), res.count))

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
