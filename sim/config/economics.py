"""The scenario's economics and uncertainty.

Unit costs, utilities, discounting and decision thresholds; the distributions of the
uncertain fields for a PSA.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import (
    Field,
    model_validator,
)

from sim.config.base import Model

__all__ = [
    "Costs",
    "Utility",
    "Utilities",
    "Economics",
    "Source",
    "BetaDist",
    "GammaDist",
    "LognormalDist",
    "RatioCIDist",
    "NormalDist",
    "UniformDist",
    "DirichletDist",
    "MultivariateNormalDist",
    "Uncertain",
    "Uncertainty",
]


# ------------------------------------------------------------------------------ costs
class Costs(Model):
    """Unit costs, one currency and price year. Sources: docs/evidence.md, unit costs."""

    currency: str = Field(default="GBP", description="Currency of every cost.")
    price_year: str = Field(default="2024/25", description="Price year of the unit costs.")
    ward_bed_day: float = Field(
        default=719.10,
        ge=0,
        allow_inf_nan=False,
        description="Adult acute mental-health inpatient bed-day (NHS National Cost "
        "Collection 2024/25, 719.10).",
    )
    out_of_area_bed_day: float = Field(
        default=900.0,
        ge=0,
        allow_inf_nan=False,
        description="Out-of-area bed-day, premium included (ASSUMPTION: no published figure "
        "was found; about 25% above an in-area bed-day).",
    )
    crt_contact: float = Field(
        default=356.83,
        ge=0,
        allow_inf_nan=False,
        description="Crisis resolution / home treatment care contact (NCC 2024/25, A02).",
    )
    crt_contacts_per_day: float = Field(
        default=1.0,
        ge=0,
        le=10,
        allow_inf_nan=False,
        description="CRT contacts per day of home treatment (ASSUMPTION: daily visits).",
    )
    peer_worker_hour: float = Field(
        default=42.0,
        ge=0,
        allow_inf_nan=False,
        description="Peer worker, per working hour (PSSRU 2025, Band 4 community staff, a "
        "proxy: no peer-worker line was found).",
    )
    non_contact_hours_per_session_hour: float = Field(
        default=1.0,
        ge=0,
        le=20,
        allow_inf_nan=False,
        description="Travel, notes and supervision per hour of session offered (ASSUMPTION).",
    )
    training_per_worker: float = Field(
        default=3485.0,
        ge=0,
        allow_inf_nan=False,
        description="One-off training per peer worker, counted once over the measured "
        "period (HEE peer-worker training grant, up to 3,485).",
    )
    willingness_to_pay_per_readmission_averted: float = Field(
        default=0.0,
        ge=0,
        allow_inf_nan=False,
        description="For net monetary benefit: what averting one readmission is worth to the "
        "decision maker (the net benefit of compare; the PSA values QALYs instead). Set it.",
    )


# -------------------------------------------------------------------------- economics
class Utility(Model):
    """A health-state utility (1 = full health, 0 = dead), with its source."""

    value: float = Field(ge=-1, le=1, allow_inf_nan=False, description="Utility.")
    source: str = Field(min_length=1, description="Where it comes from.")


class Utilities(Model):
    """Utilities of the model's states; dead is 0."""

    community: Utility = Field(description="In the community after a discharge.")
    ward: Utility = Field(description="In acute ward care (in area or out of area).")
    crt: Utility = Field(description="In CRT home treatment.")


class Economics(Model):
    """QALYs and discounted costs over the measured period, for decision analysis."""

    perspective: str = Field(
        default="NHS and personal social services (NICE reference case)",
        min_length=1,
        description="Whose costs are counted: stated with every economic result.",
    )
    discount_rate_costs: float = Field(
        default=0.035,
        ge=0,
        le=0.2,
        allow_inf_nan=False,
        description="Annual discount rate of costs (NICE reference case: 3.5%).",
    )
    discount_rate_qalys: float = Field(
        default=0.035,
        ge=0,
        le=0.2,
        allow_inf_nan=False,
        description="Annual discount rate of QALYs (NICE reference case: 3.5%).",
    )
    utilities: Utilities = Field(description="Utility of each state, with sources.")
    willingness_to_pay_per_qaly: tuple[Annotated[float, Field(ge=0)], ...] = Field(
        default=(20_000.0, 30_000.0),
        min_length=1,
        description="Thresholds for net monetary benefit, per QALY (NICE: 20,000-30,000).",
    )
    population_per_year: float | None = Field(
        default=None,
        gt=0,
        allow_inf_nan=False,
        description="People the decision affects each year, for the population EVPI; "
        "null = EVPI per person and for the measured period only.",
    )
    decision_horizon_years: int = Field(
        default=10,
        ge=1,
        le=100,
        description="Years the decision holds, for the population EVPI (each year's "
        "cohort discounted at discount_rate_costs).",
    )


# ------------------------------------------------------------------------ uncertainty
_PATH = (
    "Dotted path of a number in this scenario (list items by index or name; * for every "
    "item that has the field: arms.*.effect.hazard_ratio)."
)
_SOURCE = "Where the distribution comes from (a citation, or ASSUMPTION and why)."
Source = Annotated[str, Field(min_length=1, description=_SOURCE)]


class BetaDist(Model):
    """Beta(alpha, beta): a probability."""

    dist: Literal["beta"]
    path: str = Field(min_length=1, description=_PATH)
    alpha: float = Field(gt=0, allow_inf_nan=False, description="Beta alpha (events + ...).")
    beta: float = Field(gt=0, allow_inf_nan=False, description="Beta beta.")
    source: Source


class GammaDist(Model):
    """Gamma with a mean and SD: a cost, a rate, a length of stay (positive, skewed)."""

    dist: Literal["gamma"]
    path: str = Field(min_length=1, description=_PATH)
    mean: float = Field(gt=0, allow_inf_nan=False, description="Mean.")
    sd: float = Field(gt=0, allow_inf_nan=False, description="Standard deviation.")
    source: Source


class LognormalDist(Model):
    """Lognormal with a mean and SD (of the value, not of its log)."""

    dist: Literal["lognormal"]
    path: str = Field(min_length=1, description=_PATH)
    mean: float = Field(gt=0, allow_inf_nan=False, description="Mean.")
    sd: float = Field(gt=0, allow_inf_nan=False, description="Standard deviation.")
    source: Source


class RatioCIDist(Model):
    """A ratio published as a point estimate and 95% CI, taken as lognormal.

    Log-mean ln(value), log-SD (ln(ci_high) - ln(ci_low)) / (2 x 1.96).
    """

    dist: Literal["ratio_ci"]
    path: str = Field(min_length=1, description=_PATH)
    value: float = Field(gt=0, allow_inf_nan=False, description="Point estimate.")
    ci_low: float = Field(gt=0, allow_inf_nan=False, description="95% CI, lower.")
    ci_high: float = Field(gt=0, allow_inf_nan=False, description="95% CI, upper.")
    source: Source

    @model_validator(mode="after")
    def _check(self) -> RatioCIDist:
        if not self.ci_low < self.value < self.ci_high:
            raise ValueError("need ci_low < value < ci_high")
        return self


class NormalDist(Model):
    """Normal(mean, sd): a quantity that may take either sign (sd 0: fixed at the mean)."""

    dist: Literal["normal"]
    path: str = Field(min_length=1, description=_PATH)
    mean: float = Field(allow_inf_nan=False, description="Mean.")
    sd: float = Field(
        ge=0, allow_inf_nan=False, description="Standard deviation (0: no uncertainty)."
    )
    source: Source


class UniformDist(Model):
    """Uniform on [low, high]: a range with no more known about it."""

    dist: Literal["uniform"]
    path: str = Field(min_length=1, description=_PATH)
    low: float = Field(allow_inf_nan=False, description="Lower end.")
    high: float = Field(allow_inf_nan=False, description="Upper end.")
    source: Source

    @model_validator(mode="after")
    def _check(self) -> UniformDist:
        if not self.low < self.high:
            raise ValueError("low must be below high")
        return self


class DirichletDist(Model):
    """Dirichlet(alpha): shares that must sum to one (risk-group shares, say)."""

    dist: Literal["dirichlet"]
    paths: tuple[str, ...] = Field(min_length=2, description="The shares' dotted paths.")
    alpha: tuple[Annotated[float, Field(gt=0, allow_inf_nan=False)], ...] = Field(
        min_length=2, description="Dirichlet parameters, one per path (counts + ...)."
    )
    source: Source

    @model_validator(mode="after")
    def _check(self) -> DirichletDist:
        if len(self.paths) != len(self.alpha):
            raise ValueError("paths and alpha must have the same length")
        return self


class MultivariateNormalDist(Model):
    """Correlated normals: fields estimated together.

    For example a calibration's fitted values, with their standard errors and
    correlation (``crisis-sim calibrate`` prints the entry).
    """

    dist: Literal["multivariate_normal"]
    paths: tuple[str, ...] = Field(min_length=2, description="The fields' dotted paths.")
    mean: tuple[Annotated[float, Field(allow_inf_nan=False)], ...] = Field(
        min_length=2, description="Means, one per path."
    )
    sd: tuple[Annotated[float, Field(gt=0, allow_inf_nan=False)], ...] = Field(
        min_length=2, description="Standard deviations, one per path."
    )
    correlation: tuple[tuple[Annotated[float, Field(ge=-1, le=1)], ...], ...] = Field(
        description="Correlation matrix (symmetric, ones on the diagonal, positive "
        "semi-definite), rows and columns in the order of paths."
    )
    source: Source

    @model_validator(mode="after")
    def _check(self) -> MultivariateNormalDist:
        k = len(self.paths)
        if len(self.mean) != k or len(self.sd) != k:
            raise ValueError("paths, mean and sd must have the same length")
        c = self.correlation
        if len(c) != k or any(len(row) != k for row in c):
            raise ValueError(f"correlation must be {k} x {k}, one row and column per path")
        for i in range(k):
            if abs(c[i][i] - 1) > 1e-9:
                raise ValueError("correlation must have ones on its diagonal")
            for j in range(i):
                if abs(c[i][j] - c[j][i]) > 1e-9:
                    raise ValueError("correlation must be symmetric")
        if not _positive_semidefinite(c):
            raise ValueError("correlation must be positive semi-definite")
        return self


def _positive_semidefinite(c: tuple[tuple[float, ...], ...], tol: float = 1e-9) -> bool:
    """Cholesky with a tolerance: a zero pivot is allowed (semi-definite), a negative not."""
    k = len(c)
    low = [[0.0] * k for _ in range(k)]
    for i in range(k):
        for j in range(i + 1):
            v = c[i][j] - sum(low[i][m] * low[j][m] for m in range(j))
            if i == j:
                if v < -tol:
                    return False
                low[i][i] = math.sqrt(max(v, 0.0))
            else:
                low[i][j] = v / low[j][j] if low[j][j] > tol else 0.0
    return True


Uncertain = Annotated[
    BetaDist
    | GammaDist
    | LognormalDist
    | RatioCIDist
    | NormalDist
    | UniformDist
    | DirichletDist
    | MultivariateNormalDist,
    Field(discriminator="dist"),
]


class Uncertainty(Model):
    """Distributions of uncertain scenario fields, for probabilistic sensitivity analysis."""

    sampling: Literal["latin_hypercube", "sobol"] = Field(
        default="latin_hypercube",
        description="How the parameter sets are spread (scipy.stats.qmc): Latin "
        "hypercube, or a scrambled Sobol sequence.",
    )
    parameters: tuple[Uncertain, ...] = Field(
        min_length=1, description="One distribution per field (Dirichlet: per group)."
    )
    groups: dict[str, tuple[str, ...]] = Field(
        default_factory=dict,
        description="Named groups of the fields above whose EVPPI is wanted together (what "
        "one study would measure), e.g. effect: [arms.*.effect.hazard_ratio, "
        "arms.*.effect.half_life_days]. Each group's EVPPI takes interactions in.",
    )

    @model_validator(mode="after")
    def _check(self) -> Uncertainty:
        seen: set[str] = set()
        for p in self.parameters:
            for path in getattr(p, "paths", None) or (p.path,):
                if path in seen:
                    raise ValueError(f"{path} has more than one distribution")
                seen.add(path)
        for name, paths in self.groups.items():
            if len(set(paths)) < 2:
                raise ValueError(f"groups.{name}: a group needs at least two different fields")
            for path in paths:
                if path not in seen:
                    raise ValueError(
                        f"groups.{name}: {path} is not a field of the parameters above"
                    )
        return self
