"""The scenario's calibration: free parameters with bounds, and the targets they fit."""

from __future__ import annotations

from typing import Literal

from pydantic import (
    Field,
    model_validator,
)

from sim.config.base import HorizonDays, Model, Name
from sim.statistics import STATISTICS

__all__ = [
    "FreeParameter",
    "Target",
    "Calibration",
]


# ------------------------------------------------------------------------ calibration


class FreeParameter(Model):
    """A scenario field that calibration may change, within bounds."""

    path: str = Field(
        min_length=1,
        description="Dotted path of a number in this file, e.g. readmission.baseline.scale_days; "
        "list items by index or by name (arms.peer_support.effect.hazard_ratio).",
    )
    lower: float = Field(allow_inf_nan=False, description="Lower bound.")
    upper: float = Field(allow_inf_nan=False, description="Upper bound.")

    @model_validator(mode="after")
    def _check(self) -> FreeParameter:
        if not self.lower < self.upper:
            raise ValueError("lower must be below upper")
        return self


class Target(Model):
    """A published figure the simulated trials should reproduce."""

    statistic: Literal[STATISTICS] = Field(  # type: ignore[valid-type]
        description="A statistic of the trial analysis, as named in trial.parquet (those of "
        "an endpoint need it switched on in outcomes.endpoints), or an attendance share "
        "(p_attended_3plus, p_attended_all, from metrics.parquet)."
    )
    arm: Name = Field(
        description="Arm it is measured in (ratios and differences: the compared arm)."
    )
    horizon_days: HorizonDays | None = Field(
        default=None, description="Horizon; null = the primary horizon."
    )
    value: float = Field(allow_inf_nan=False, description="The target value.")
    tolerance: float = Field(
        gt=0, allow_inf_nan=False, description="Acceptable |simulated - value|."
    )
    standard_error: float | None = Field(
        default=None,
        gt=0,
        allow_inf_nan=False,
        description="The published value's standard error, on the statistic's own scale "
        "(a share's, from its count: sqrt(p (1 - p) / n); a ratio's, from its 95% CI: "
        "about (high - low) / 3.92). With it on every target the fitted values get "
        "standard errors (and an uncertainty entry); null = not known.",
    )
    summary: Literal["mean", "median"] | None = Field(
        default=None,
        description="Across simulated trials: the mean, or the median; null = the median "
        "for ratios, the mean otherwise.",
    )
    source: str = Field(default="", description="Where the value comes from.")


class Calibration(Model):
    """Free parameters, targets, and how hard to work."""

    parameters: tuple[FreeParameter, ...] = Field(min_length=1, description="What may change.")
    targets: tuple[Target, ...] = Field(min_length=1, description="What to reproduce.")
    replications: int = Field(
        default=200, ge=10, le=100_000, description="Simulated trials per evaluation."
    )
    check_replications: int = Field(
        default=1000, ge=10, le=1_000_000, description="Simulated trials in the final check."
    )
    max_evaluations: int = Field(
        default=60, ge=1, le=10_000, description="Most objective evaluations in the search."
    )
