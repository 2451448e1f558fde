"""The scenario's arms: the peer support each offers, and its effect.

An offer's sessions, schedule and who is offered; the effect on the readmission hazard
(none, intention-to-treat, dose-response).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    StrictBool,
    model_validator,
)

from sim.config.base import HorizonDays, Model, Name, PathError, PositiveDays
from sim.config.capacity import AcuteCareChange, AttendanceChange

__all__ = [
    "Phase",
    "PeerSupportOffer",
    "NoEffect",
    "ITTEffect",
    "DoseResponseEffect",
    "Effect",
    "Arm",
]


# ------------------------------------------------------------------------------- arms
class Phase(Model):
    """Part of a fixed programme: so many contacts, one every so many days."""

    n_sessions: int = Field(ge=1, le=200, description="Contacts in this phase.")
    interval_days: PositiveDays = Field(description="Days between contacts in this phase.")


class PeerSupportOffer(Model):
    """An offer of weekly (or other interval) peer-support sessions."""

    @model_validator(mode="before")
    @classmethod
    def _from_phases(cls, data: Any) -> Any:
        """With phases, n_sessions and interval_days follow from them unless given."""
        if not isinstance(data, dict) or not isinstance(data.get("phases"), list | tuple):
            return data
        try:
            n = sum(int(p["n_sessions"]) for p in data["phases"])
            shortest = min(float(p["interval_days"]) for p in data["phases"])
        except (TypeError, KeyError, ValueError):
            return data  # the phases' own rules say what is wrong
        return {"n_sessions": n, "interval_days": shortest, **data}

    n_sessions: int = Field(default=10, ge=0, le=200, description="Sessions offered.")
    interval_days: PositiveDays = Field(default=7.0, description="Days between sessions.")
    session_hours: float = Field(
        default=1.0, gt=0, le=12, allow_inf_nan=False, description="Length of a session, hours."
    )
    risk_groups: tuple[Name, ...] | None = Field(
        default=None, description="Only these risk groups are offered; null = everyone."
    )
    schedule: Literal["per_episode", "fixed"] = Field(
        default="per_episode",
        description="per_episode: a programme of n_sessions that a readmission ends (CORE); "
        "fixed: a programme fixed in calendar time from entry (randomisation, which is the "
        "first discharge here; after any wait for a worker, from its first contact): a "
        "contact every interval_days, n_sessions in all, that carries on through "
        "readmissions.",
    )
    pause_in_hospital: StrictBool = Field(
        default=False,
        description="Fixed schedule only: contacts that fall while the patient is in acute "
        "care are not offered (the calendar does not stretch). false = they go on, and "
        "are attended or missed as any other.",
    )
    reoffer_after_readmission: StrictBool = Field(
        default=False,
        description="Per-episode schedule only: offer a fresh programme at each discharge "
        "after a readmission.",
    )
    phases: tuple[Phase, ...] | None = Field(
        default=None,
        min_length=1,
        description="Fixed schedule only: a programme whose pace changes, e.g. weekly for "
        "10 weeks then fortnightly for 6: [{n_sessions: 10, interval_days: 7}, {n_sessions: "
        "6, interval_days: 14}]. n_sessions is then their total, and interval_days the "
        "shortest interval (it sets the caseload a worker's hours allow); null = one "
        "contact every interval_days.",
    )

    @model_validator(mode="after")
    def _check(self) -> PeerSupportOffer:
        if self.phases is not None:
            if self.schedule != "fixed":
                raise PathError(
                    ("phases",),
                    "applies to schedule: fixed only",
                    [p.model_dump() for p in self.phases],
                )
            total = sum(p.n_sessions for p in self.phases)
            if self.n_sessions != total:
                raise PathError(
                    ("n_sessions",),
                    f"must be the phases' total ({total}), or be left out",
                    self.n_sessions,
                )
            shortest = min(p.interval_days for p in self.phases)
            if self.interval_days != shortest:
                raise PathError(
                    ("interval_days",),
                    f"must be the phases' shortest interval ({shortest:g}), or be left out",
                    self.interval_days,
                )
        if self.schedule == "fixed" and self.reoffer_after_readmission:
            raise PathError(
                ("reoffer_after_readmission",),
                "applies to schedule: per_episode only (a fixed programme already runs "
                "through readmissions)",
                True,
            )
        if self.schedule == "per_episode" and self.pause_in_hospital:
            raise PathError(
                ("pause_in_hospital",),
                "applies to schedule: fixed only (a per-episode programme ends at the readmission)",
                True,
            )
        return self


class NoEffect(Model):
    """The offer does not change the readmission hazard."""

    mechanism: Literal["none"]


class ITTEffect(Model):
    """Intention to treat: a hazard ratio for everyone offered, for a window, then waning."""

    mechanism: Literal["itt"]
    hazard_ratio: float = Field(gt=0, le=100, allow_inf_nan=False, description="Ratio in window.")
    starts_at: Literal["offer", "first_session"] = Field(
        default="offer",
        description="When the ratio starts: at the offer (allocation), or at the first "
        "session (so a wait for a worker delays it, and non-starters get nothing).",
    )
    window_days: HorizonDays = Field(default=365.0, description="Days the full ratio lasts.")
    half_life_days: PositiveDays | None = Field(
        default=None,
        description="After the window the ratio wanes back to 1 with this half-life; null = "
        "it ends at once.",
    )


class DoseResponseEffect(Model):
    """Dose-response: the ratio moves with sessions attended so far (none attended, no benefit)."""

    mechanism: Literal["dose_response"]
    hazard_ratio_at_full_dose: float = Field(
        gt=0, le=100, allow_inf_nan=False, description="Ratio once full_dose_sessions attended."
    )
    full_dose_sessions: int = Field(
        default=10, ge=1, le=200, description="Sessions for the full effect; linear below."
    )
    window_days: HorizonDays = Field(
        default=365.0, description="Days from the first session the effect lasts."
    )
    half_life_days: PositiveDays | None = Field(
        default=None, description="Waning half-life after the window; null = ends at once."
    )


Effect = Annotated[NoEffect | ITTEffect | DoseResponseEffect, Field(discriminator="mechanism")]


class Arm(Model):
    """A trial arm or a service policy: whether and how peer support is offered."""

    name: Name = Field(description="Arm or policy name: the `arm` column of every table.")
    description: str = Field(default="", description="Free text.")
    peer_support: PeerSupportOffer | None = Field(
        default=None, description="The offer; null = usual care (no peer support)."
    )
    effect: Effect = Field(
        default=NoEffect(mechanism="none"), description="What the offer does to the hazard."
    )
    acute_care: AcuteCareChange | None = Field(
        default=None,
        description="This arm's changes to the scenario's acute_care (length of stay, "
        "ward/CRT split; capacity and overflow in a service only); null = none.",
    )
    attendance: AttendanceChange | None = Field(
        default=None, description="This arm's changes to the scenario's attendance; null = none."
    )
    loss_to_follow_up_per_year: float | None = Field(
        default=None,
        ge=0,
        le=10,
        allow_inf_nan=False,
        description="This arm's hazard per year of leaving observation, where a trial lost "
        "its arms at different rates; null = the scenario's (competing).",
    )

    @model_validator(mode="after")
    def _check(self) -> Arm:
        if self.peer_support is None and self.effect.mechanism != "none":
            raise ValueError("an effect needs a peer_support offer (set effect.mechanism: none)")
        return self
