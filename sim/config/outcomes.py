"""The scenario's outcomes: horizons, endpoints, published figures.

Horizons, trial endpoints and their tests, and the published figures a run is held
against (in the vocabulary of :mod:`sim.statistics`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import (
    Field,
    model_validator,
)

from sim.config.base import HorizonDays, Model, Name, Probability
from sim.statistics import STATISTICS

__all__ = [
    "Interval",
    "PublishedFigure",
    "Published",
    "Alternative",
    "FirstReadmissionEndpoint",
    "CountEndpoint",
    "BedDaysEndpoint",
    "Endpoints",
    "Outcomes",
]


class Interval(Model):
    """A published estimate with its 95% confidence interval."""

    value: float = Field(gt=0, allow_inf_nan=False, description="Point estimate.")
    ci_low: float = Field(gt=0, allow_inf_nan=False, description="95% CI, lower.")
    ci_high: float = Field(gt=0, allow_inf_nan=False, description="95% CI, upper.")


class PublishedFigure(Model):
    """One published figure: any statistic of the trial analysis, with its spread."""

    statistic: Literal[STATISTICS] = Field(  # type: ignore[valid-type]
        description="Statistic, as named in trial.parquet (attendance shares: metrics.parquet)."
    )
    arm: Name = Field(description="Arm it was measured in (ratios, differences: the compared arm).")
    horizon_days: HorizonDays | None = Field(
        default=None, description="Horizon; null = the primary horizon."
    )
    value: float = Field(allow_inf_nan=False, description="Published value.")
    ci_low: float | None = Field(default=None, allow_inf_nan=False, description="95% CI, lower.")
    ci_high: float | None = Field(default=None, allow_inf_nan=False, description="95% CI, upper.")
    sd: float | None = Field(
        default=None, ge=0, allow_inf_nan=False, description="Standard deviation (of a mean ± SD)."
    )
    n: int | None = Field(default=None, ge=1, description="Patients it was measured on.")
    source: str | None = Field(
        default=None,
        description="Where this figure comes from (a table, a page); null = the block's source.",
    )
    derived: bool = Field(
        default=False,
        description="Worked out from published figures (a rate from a count and a follow-up, "
        "an SD from a CI) rather than printed in the paper: said in published.csv, and its "
        "source should say how.",
    )

    @model_validator(mode="after")
    def _check(self) -> PublishedFigure:
        if (self.ci_low is None) != (self.ci_high is None):
            raise ValueError("give both ci_low and ci_high, or neither")
        if self.ci_low is not None and not self.ci_low <= self.value <= self.ci_high:
            raise ValueError("value must lie within [ci_low, ci_high]")
        return self


class Published(Model):
    """Published trial results, shown beside the simulated ones (not used to simulate)."""

    source: str = Field(description="Citation of the figures.")
    p_readmitted: dict[Name, Probability] = Field(
        default_factory=dict, description="Share readmitted by the primary horizon, by arm."
    )
    odds_ratio: Interval | None = Field(default=None, description="Published odds ratio.")
    hazard_ratio: Interval | None = Field(default=None, description="Published hazard ratio.")
    p_attended_3plus: Probability | None = Field(
        default=None, description="Share of those offered attending at least 3 sessions."
    )
    p_attended_all: Probability | None = Field(
        default=None, description="Share of those offered attending every session."
    )
    n_per_arm: int | None = Field(
        default=None, ge=1, description="Trial size per arm, marked on power curves."
    )
    figures: tuple[PublishedFigure, ...] = Field(
        default=(),
        description="Any other published figure (counts and bed-days per person, their SD, "
        "rate ratios...), each set beside the simulated trials' distribution.",
    )


Alternative = Literal["two-sided", "less", "greater"]
_ALTERNATIVE = (
    "Alternative hypothesis, for the compared arm against the reference: two-sided, less "
    "(the compared arm lower: one-sided, as for a programme meant to reduce readmissions) "
    "or greater."
)


class FirstReadmissionEndpoint(Model):
    """Time to and odds of the first readmission: odds ratio (logistic), hazard ratio (Cox)."""

    alternative: Alternative = Field(default="two-sided", description=_ALTERNATIVE)
    alpha: float = Field(default=0.05, gt=0, lt=1, description="Significance level (power).")


class CountEndpoint(Model):
    """Readmissions per person within the horizon: mean, SD, rate ratio, a test."""

    test: Literal["negative_binomial", "poisson", "t_test", "welch_t", "mann_whitney"] = Field(
        default="negative_binomial",
        description="Test of the difference: Wald test of a negative binomial (NB2) or "
        "Poisson rate ratio with log follow-up as offset; Student's or Welch's t-test of "
        "the means; Mann-Whitney U. The rate ratio and its CI are always the negative "
        "binomial's.",
    )
    alternative: Alternative = Field(default="two-sided", description=_ALTERNATIVE)
    alpha: float = Field(default=0.05, gt=0, lt=1, description="Significance level (power).")


class BedDaysEndpoint(Model):
    """Days in a hospital bed (ward or out of area) per person within the horizon."""

    test: Literal["t_test", "welch_t", "mann_whitney"] = Field(
        default="welch_t",
        description="Test of the difference: Student's or Welch's t-test, or Mann-Whitney U. "
        "The difference in means and its CI come from the t-test (Welch's for Mann-Whitney).",
    )
    alternative: Alternative = Field(default="two-sided", description=_ALTERNATIVE)
    alpha: float = Field(default=0.05, gt=0, lt=1, description="Significance level (power).")


class Endpoints(Model):
    """What each simulated trial is analysed for, and with which test."""

    first_readmission: FirstReadmissionEndpoint = Field(
        default=FirstReadmissionEndpoint(), description="Always analysed (CORE's endpoint)."
    )
    readmission_count: CountEndpoint | None = Field(
        default=None, description="Readmissions per person; null = not analysed."
    )
    bed_days: BedDaysEndpoint | None = Field(
        default=None, description="Hospital bed-days per person; null = not analysed."
    )


class Outcomes(Model):
    """Horizons and endpoints of the trial analysis, and published results."""

    primary_horizon_days: HorizonDays = Field(
        default=365.0,
        description="Primary horizon, days from entry (CORE: 365). Default: 365, or a "
        "trial's follow-up if shorter.",
    )
    secondary_horizons_days: tuple[HorizonDays, ...] = Field(
        default=(), description="Other horizons (CORE: 120 and 540 days)."
    )
    endpoints: Endpoints = Field(
        default=Endpoints(), description="Endpoints analysed in each simulated trial."
    )
    published: Published | None = Field(
        default=None, description="Published results to compare with (plots, tables)."
    )
