"""The economics of a replication: discounted QALYs and costs, and costs per year.

How a replication's measured period is priced: QALYs and costs accrued within the
measured window, discounted to its start (:func:`economics_metrics`: the PSA's
outcomes), and the undiscounted cost per year of acute care and peer support
(:func:`costs_per_year`: the metrics ``cost_*_per_year``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.analysis.decision import discounted_stream
from sim.config import Arm, Costs, PeerSupportOffer, Scenario

if TYPE_CHECKING:  # the spans are read, never made, here
    from sim.analysis.spans import Spans

__all__ = [
    "DAYS_PER_YEAR",
    "economics_metrics",
    "costs_per_year",
    "cost_per_day",
    "cost_per_session",
]


DAYS_PER_YEAR = 365.25


def cost_per_day(c: Costs) -> dict[str, float]:
    """The price of a day in each place of acute care: ward, out of area, CRT at home."""
    return {
        "ward": c.ward_bed_day,
        "out_of_area": c.out_of_area_bed_day,
        "crt": c.crt_contacts_per_day * c.crt_contact,
    }


def cost_per_session(c: Costs, offer: PeerSupportOffer) -> float:
    """The price of one peer-support session offered: its hours and their non-contact time."""
    return offer.session_hours * (1 + c.non_contact_hours_per_session_hour) * c.peer_worker_hour


def economics_metrics(
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
        acute = sum(
            present(*spans.stays_of(arm, p), cost * DAYS_PER_YEAR, rc)
            for p, cost in cost_per_day(c).items()
        )
        peer = training = 0.0
        offer = scenario.arms[arm].peer_support
        if offer is not None:
            t, _ = spans.arm("sessions", arm)
            t = t[(t >= w0) & (t <= w1)]
            per_session = cost_per_session(c, offer)
            peer = float(np.sum(per_session * (1 + rc) ** (-(t - w0) / DAYS_PER_YEAR)))
            if scenario.peer_workers.count:
                training = scenario.peer_workers.count * c.training_per_worker  # at the start
        out["cost_discounted"] = acute + peer + training
    return out


def costs_per_year(
    scenario: Scenario, arm: Arm, m: dict[str, float], years: float
) -> dict[str, float]:
    """Costs per year of the measured period, from the volumes just measured."""
    c = scenario.costs
    assert c is not None
    day = cost_per_day(c)
    acute = (
        m["ward_bed_days_per_year"] * day["ward"]
        + m["out_of_area_days_per_year"] * day["out_of_area"]
        + m["crt_days_per_year"] * day["crt"]
    )
    peer = training = 0.0
    if arm.peer_support is not None:
        peer = m["sessions_offered_per_year"] * cost_per_session(c, arm.peer_support)
        if scenario.peer_workers.count:
            training = scenario.peer_workers.count * c.training_per_worker / years
    return {
        "cost_acute_per_year": acute,
        "cost_peer_support_per_year": peer + training,
        "cost_total_per_year": acute + peer + training,
    }
