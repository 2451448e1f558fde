"""Capacity arithmetic shared by the model (places in the peer-worker pool) and the
analysis (utilisation): a pure function of the scenario.
"""

from __future__ import annotations

import math

from sim.config import Arm, Scenario

__all__ = ["peer_places"]


def peer_places(scenario: Scenario, offering: list[Arm] | tuple[Arm, ...]) -> int | None:
    """Places in the peer-worker pool shared by the ``offering`` arms (None: unlimited).

    Workers times the effective caseload: the smaller of ``caseload_per_worker`` and what
    the weekly contact hours allow at the most demanding offer (hours per patient-week).
    """
    pw = scenario.peer_workers
    offering = [a for a in offering if a.peer_support is not None]
    if pw.count is None or not offering:
        return None
    hours_per_patient_week = max(
        a.peer_support.session_hours * 7.0 / a.peer_support.interval_days  # type: ignore[union-attr]
        for a in offering
    )
    by_hours = math.floor(pw.weekly_session_hours / hours_per_patient_week + 1e-9)
    return pw.count * min(pw.caseload_per_worker, by_hours)
