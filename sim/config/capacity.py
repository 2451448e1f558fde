"""The scenario's capacity: peer workers, acute care, and an arm's changes to them.

Peer workers and their waiting list; acute care (ward and CRT) with its places and
overflow; the changes an arm may make to acute care and attendance.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    Field,
    model_serializer,
    model_validator,
)

from sim.config.base import Model, PathError, PositiveDays, Probability
from sim.config.pathway import Duration, Engagement

__all__ = [
    "PeerWorkers",
    "AcuteSetting",
    "AcuteCare",
    "_Change",
    "AcuteSettingChange",
    "AcuteCareChange",
    "AttendanceChange",
]


# --------------------------------------------------------------------------- capacity
class PeerWorkers(Model):
    """Peer support workers: a pool of caseload slots with a waiting list."""

    count: int | None = Field(
        default=None, ge=0, le=100_000, description="Workers; null = unlimited (no waiting)."
    )
    caseload_per_worker: int = Field(
        default=12, ge=1, le=1000, description="Most patients one worker supports at once."
    )
    weekly_session_hours: float = Field(
        default=30.0,
        gt=0,
        le=80,
        allow_inf_nan=False,
        description="Contact hours a worker can give per week; with the arm's sessions it "
        "may cap the caseload below caseload_per_worker.",
    )
    queue: Literal["fifo", "risk"] = Field(
        default="fifo",
        description="Waiting list order: first come first served, or highest risk-group "
        "hazard ratio first (FIFO within a group).",
    )
    max_wait_days: PositiveDays | None = Field(
        default=None, description="The offer lapses after waiting this long; null = never."
    )


class AcuteSetting(Model):
    """One acute setting (ward or CRT home treatment): capacity, stay and overflow."""

    capacity: int | None = Field(
        default=None, ge=0, le=1_000_000, description="Places (beds or caseload); null = unlimited."
    )
    length_of_stay: Duration = Field(description="Length of stay, tagged by `dist`.")
    overflow: Literal["queue", "out_of_area"] = Field(
        default="out_of_area",
        description="When full: wait for a place (the wait does not count as a stay), or be "
        "placed out of area at once (same length of stay, counted separately).",
    )


class AcuteCare(Model):
    """Where a readmitted patient goes."""

    p_ward: Probability = Field(
        default=0.5, description="Share of readmissions to an inpatient ward; the rest to CRT."
    )
    ward: AcuteSetting = Field(description="Inpatient ward: beds, stays, overflow.")
    crt: AcuteSetting | None = Field(
        default=None,
        description="CRT home treatment: caseload, episodes, overflow. May be left out "
        "when p_ward is 1 (every readmission goes to a ward).",
    )

    @model_validator(mode="after")
    def _check(self) -> AcuteCare:
        if self.crt is None and self.p_ward < 1:
            raise PathError(
                ("crt",),
                f"is required: p_ward is {self.p_ward:g}, so some readmissions go to CRT "
                "home treatment (give crt, or set p_ward: 1)",
                None,
            )
        return self


class _Change(Model):
    """Changes to a block: only the fields given count, so only they are written back.

    A change's unset fields mean "as the scenario says", not their defaults, so a dump
    (the resolved scenario, a variant) holds only the fields that were given: read
    back, it means the same.
    """

    @model_serializer(mode="wrap")
    def _only_given(self, handler: Any) -> dict[str, Any]:
        data = handler(self)
        return {k: v for k, v in data.items() if k in self.model_fields_set}


class AcuteSettingChange(_Change):
    """Fields of an acute setting that an arm changes; the rest as the scenario says."""

    capacity: int | None = Field(
        default=None, ge=0, le=1_000_000, description="Places; null = unlimited."
    )
    length_of_stay: Duration | None = Field(default=None, description="Length of stay.")
    overflow: Literal["queue", "out_of_area"] | None = Field(
        default=None, description="When full: wait, or out of area."
    )


class AcuteCareChange(_Change):
    """An arm's changes to ``acute_care``: only the fields given differ from the scenario's."""

    p_ward: Probability | None = Field(
        default=None, description="Share of the arm's readmissions that go to a ward."
    )
    ward: AcuteSettingChange | None = Field(default=None, description="Ward changes.")
    crt: AcuteSettingChange | None = Field(default=None, description="CRT changes.")


class AttendanceChange(_Change):
    """An arm's changes to ``attendance``: only the fields given differ from the scenario's."""

    engagement: Engagement | None = Field(
        default=None, description="Beta distribution of the per-session attendance probability."
    )
    p_never_engage: Probability | None = Field(
        default=None, description="Share who attend no session at all."
    )
    disengage_after_missed: int | None = Field(
        default=None,
        ge=1,
        le=1000,
        description="Consecutive missed sessions after which a patient leaves; null = never.",
    )
