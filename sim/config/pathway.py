"""The scenario's pathway: baselines, stays, entry, population, leaving, attendance.

Readmission baselines, lengths of stay, how patients enter (a trial's recruitment or a
service's discharges), the population's risk groups and frailty, the hazards of
leaving, and attendance at peer support.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import (
    Field,
    model_validator,
)

from sim.config.base import (
    HorizonDays,
    Model,
    Name,
    NonNegDays,
    NonNegHorizonDays,
    PositiveDays,
    Probability,
)

__all__ = [
    "ExponentialBaseline",
    "WeibullBaseline",
    "LogLogisticBaseline",
    "PiecewiseBaseline",
    "Baseline",
    "FixedDuration",
    "ExponentialDuration",
    "GammaDuration",
    "LognormalDuration",
    "Duration",
    "TrialFeed",
    "RateChange",
    "ServiceFeed",
    "Feed",
    "RiskGroup",
    "Population",
    "Readmission",
    "Competing",
    "Engagement",
    "Attendance",
]


# --------------------------------------------------------------------------- baselines
class ExponentialBaseline(Model):
    """Constant hazard: h0(t) = rate."""

    dist: Literal["exponential"]
    rate_per_day: float = Field(ge=0, allow_inf_nan=False, description="Hazard per day.")


class WeibullBaseline(Model):
    """h0(t) = (k/scale) (t/scale)^(k-1); H0(t) = (t/scale)^k. k < 1: hazard falls with time."""

    dist: Literal["weibull"]
    shape: float = Field(
        gt=0, le=20, allow_inf_nan=False, description="Weibull shape k (dimensionless)."
    )
    scale_days: PositiveDays = Field(description="Weibull scale, days.")


class LogLogisticBaseline(Model):
    """H0(t) = ln(1 + (t/scale)^shape): hazard that may rise then fall."""

    dist: Literal["loglogistic"]
    shape: float = Field(gt=0, le=20, allow_inf_nan=False, description="Log-logistic shape.")
    scale_days: PositiveDays = Field(description="Log-logistic scale (median time), days.")


class PiecewiseBaseline(Model):
    """Hazard constant between breakpoints; the last rate holds for ever."""

    dist: Literal["piecewise"]
    breaks_days: tuple[NonNegDays, ...] = Field(
        min_length=1,
        description="Start of each interval in days since discharge; first 0, increasing.",
    )
    rates_per_day: tuple[Annotated[float, Field(ge=0, allow_inf_nan=False)], ...] = Field(
        min_length=1, description="Hazard per day in each interval, same length as breaks_days."
    )

    @model_validator(mode="after")
    def _check(self) -> PiecewiseBaseline:
        if len(self.breaks_days) != len(self.rates_per_day):
            raise ValueError("breaks_days and rates_per_day must have the same length")
        if self.breaks_days[0] != 0:
            raise ValueError("breaks_days must start at 0")
        if any(a >= b for a, b in zip(self.breaks_days, self.breaks_days[1:], strict=False)):
            raise ValueError("breaks_days must be strictly increasing")
        return self


Baseline = Annotated[
    ExponentialBaseline | WeibullBaseline | LogLogisticBaseline | PiecewiseBaseline,
    Field(discriminator="dist"),
]


# --------------------------------------------------------------- durations (length of stay)
class FixedDuration(Model):
    """Always the same duration."""

    dist: Literal["fixed"]
    days: NonNegDays = Field(description="Duration, days.")


class ExponentialDuration(Model):
    """Exponential duration with the given mean."""

    dist: Literal["exponential"]
    mean_days: PositiveDays = Field(description="Mean, days.")


class GammaDuration(Model):
    """Gamma duration parameterised by mean and standard deviation."""

    dist: Literal["gamma"]
    mean_days: PositiveDays = Field(description="Mean, days.")
    sd_days: PositiveDays = Field(description="Standard deviation, days.")


class LognormalDuration(Model):
    """Lognormal duration parameterised by its mean and standard deviation (not log scale)."""

    dist: Literal["lognormal"]
    mean_days: PositiveDays = Field(description="Mean, days.")
    sd_days: PositiveDays = Field(description="Standard deviation, days.")


Duration = Annotated[
    FixedDuration | ExponentialDuration | GammaDuration | LognormalDuration,
    Field(discriminator="dist"),
]


# ------------------------------------------------------------------------------ feeds
class TrialFeed(Model):
    """A fixed cohort recruited evenly over a window and randomised to arms."""

    kind: Literal["trial"]
    n_patients: int = Field(ge=1, le=10_000_000, description="Patients recruited (all arms).")
    recruitment_days: NonNegHorizonDays = Field(
        description="Recruitment window, days; patient i enters at i * window / n."
    )
    allocation: dict[Name, Annotated[float, Field(gt=0, le=1e6, allow_inf_nan=False)]] = Field(
        description="Randomisation ratio by arm name, e.g. {control: 1, peer_support: 1}."
    )
    follow_up_days: HorizonDays = Field(
        description="Each patient is followed this long from entry, then censored."
    )


class RateChange(Model):
    """From a day on, discharges arrive at a new weekly rate."""

    from_day: NonNegHorizonDays = Field(
        description="Day (from the start of the run) of the change."
    )
    per_week: float = Field(
        ge=0, le=100_000, allow_inf_nan=False, description="Discharges per week."
    )


class ServiceFeed(Model):
    """A Poisson stream of CRT discharges into a standing service."""

    kind: Literal["service"]
    discharges_per_week: float = Field(
        ge=0, le=100_000, allow_inf_nan=False, description="Mean CRT discharges per week."
    )
    rate_changes: tuple[RateChange, ...] = Field(
        default=(), description="Optional later changes of the weekly rate, by increasing day."
    )
    warm_up_days: NonNegHorizonDays = Field(
        default=0.0,
        description="Simulated before measurement starts; patients entering then are "
        "simulated (they use beds and workers) but left out of the tables.",
    )
    run_days: HorizonDays = Field(description="Measured period after the warm-up, days.")

    @model_validator(mode="after")
    def _check(self) -> ServiceFeed:
        days = [c.from_day for c in self.rate_changes]
        if days != sorted(days) or len(set(days)) != len(days):
            raise ValueError("rate_changes must have strictly increasing from_day")
        return self


Feed = Annotated[TrialFeed | ServiceFeed, Field(discriminator="kind")]


# ------------------------------------------------------------------------- population
class RiskGroup(Model):
    """A share of patients whose readmission hazard is multiplied by a ratio."""

    name: Name = Field(description="Group name (letters, digits, _ . -).")
    share: Probability = Field(description="Share of patients in the group; shares sum to 1.")
    hazard_ratio: float = Field(
        gt=0, le=100, allow_inf_nan=False, description="Multiplier on the baseline hazard."
    )


class Population(Model):
    """Who is discharged: risk groups and unobserved heterogeneity."""

    risk_groups: tuple[RiskGroup, ...] = Field(
        default=(RiskGroup(name="all", share=1.0, hazard_ratio=1.0),),
        min_length=1,
        description="Risk groups with shares (summing to 1) and hazard ratios.",
    )
    frailty_variance: float = Field(
        default=0.0,
        ge=0,
        le=20,
        allow_inf_nan=False,
        description="Variance of a gamma frailty with mean 1 (0 = none), drawn once per "
        "patient; it clusters repeat readmissions in the same people.",
    )

    @model_validator(mode="after")
    def _check(self) -> Population:
        total = sum(g.share for g in self.risk_groups)
        if not math.isclose(total, 1.0, abs_tol=1e-6):
            raise ValueError(f"risk group shares must sum to 1 (they sum to {total:g})")
        names = [g.name for g in self.risk_groups]
        if len(set(names)) != len(names):
            raise ValueError("risk group names must be unique")
        return self


# ------------------------------------------------------------------- hazards of leaving
class Readmission(Model):
    """Baseline hazard of readmission to acute care, in days since the episode's discharge."""

    baseline: Baseline = Field(description="Baseline hazard h0, tagged by `dist`.")


class Competing(Model):
    """Constant hazards that end follow-up: death and loss to follow-up."""

    death_per_year: float = Field(
        default=0.0, ge=0, le=10, allow_inf_nan=False, description="Death hazard per year."
    )
    loss_to_follow_up_per_year: float = Field(
        default=0.0,
        ge=0,
        le=10,
        allow_inf_nan=False,
        description="Hazard per year of leaving observation (censoring).",
    )


# ------------------------------------------------------------------------- attendance
class Engagement(Model):
    """Beta distribution of each engaging patient's probability of attending a session."""

    alpha: float = Field(gt=0, le=1000, allow_inf_nan=False, description="Beta alpha.")
    beta: float = Field(gt=0, le=1000, allow_inf_nan=False, description="Beta beta.")


class Attendance(Model):
    """How patients attend the sessions they are offered."""

    engagement: Engagement = Field(
        default=Engagement(alpha=1.0, beta=1.0),
        description="Beta distribution of the per-session attendance probability.",
    )
    p_never_engage: Probability = Field(
        default=0.0, description="Share who attend no session at all."
    )
    disengage_after_missed: int | None = Field(
        default=None,
        ge=1,
        le=1000,
        description="Consecutive missed sessions after which a patient leaves the "
        "programme; null = never.",
    )
