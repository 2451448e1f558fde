"""The scenario schema: every field, its units, bounds, defaults and description.

Validated once, at the edge, into frozen objects (``extra="forbid"``: an unknown field
is an error). Reading files and turning validation errors into one-line messages is
:mod:`sim.config.loader`'s job; making variants of a scenario is
:mod:`sim.config.variants`'.

Units: days for every time (``*_days``), probabilities in [0, 1] (``p_*``),
rates per the unit in their name (``*_per_week``, ``*_per_year``, ``*_per_day``).
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)

__all__ = [
    "json_schema",
    "ExponentialBaseline",
    "WeibullBaseline",
    "LogLogisticBaseline",
    "PiecewiseBaseline",
    "FixedDuration",
    "ExponentialDuration",
    "GammaDuration",
    "LognormalDuration",
    "TrialFeed",
    "RateChange",
    "ServiceFeed",
    "RiskGroup",
    "Population",
    "Readmission",
    "Competing",
    "Engagement",
    "Attendance",
    "PeerWorkers",
    "AcuteSetting",
    "AcuteCare",
    "PeerSupportOffer",
    "NoEffect",
    "ITTEffect",
    "DoseResponseEffect",
    "Arm",
    "Interval",
    "Published",
    "Outcomes",
    "Costs",
    "FreeParameter",
    "Target",
    "Calibration",
    "Scenario",
    "PositiveDays",
    "NonNegDays",
    "Probability",
    "Name",
    "Baseline",
    "Duration",
    "Feed",
    "Effect",
    "STATISTICS",
    "FIRST_READMISSION_STATISTICS",
    "COUNT_STATISTICS",
    "BED_DAYS_STATISTICS",
    "ATTENDANCE_STATISTICS",
    "RATIO_STATISTICS",
    "COMPARED_STATISTICS",
    "PublishedFigure",
    "Economics",
    "Utilities",
    "Utility",
    "Uncertainty",
    "Uncertain",
    "BetaDist",
    "GammaDist",
    "LognormalDist",
    "RatioCIDist",
    "NormalDist",
    "UniformDist",
    "DirichletDist",
    "MultivariateNormalDist",
    "Phase",
    "Endpoints",
    "FirstReadmissionEndpoint",
    "CountEndpoint",
    "BedDaysEndpoint",
    "AcuteCareChange",
    "AcuteSettingChange",
    "AttendanceChange",
    "PathError",
]


class PathError(ValueError):
    """A cross-field rule broken at a known path (raised inside validators)."""

    def __init__(self, path: tuple[Any, ...], rule: str, value: Any):
        super().__init__(rule)
        self.path = path
        self.rule = rule
        self.value = value


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


PositiveDays = Annotated[float, Field(gt=0, allow_inf_nan=False)]
NonNegDays = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Probability = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
Name = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")]


# --------------------------------------------------------------------------- baselines
class ExponentialBaseline(_Model):
    """Constant hazard: h0(t) = rate."""

    dist: Literal["exponential"]
    rate_per_day: float = Field(ge=0, allow_inf_nan=False, description="Hazard per day.")


class WeibullBaseline(_Model):
    """h0(t) = (k/scale) (t/scale)^(k-1); H0(t) = (t/scale)^k. k < 1: hazard falls with time."""

    dist: Literal["weibull"]
    shape: float = Field(
        gt=0, le=20, allow_inf_nan=False, description="Weibull shape k (dimensionless)."
    )
    scale_days: PositiveDays = Field(description="Weibull scale, days.")


class LogLogisticBaseline(_Model):
    """H0(t) = ln(1 + (t/scale)^shape): hazard that may rise then fall."""

    dist: Literal["loglogistic"]
    shape: float = Field(gt=0, le=20, allow_inf_nan=False, description="Log-logistic shape.")
    scale_days: PositiveDays = Field(description="Log-logistic scale (median time), days.")


class PiecewiseBaseline(_Model):
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
class FixedDuration(_Model):
    """Always the same duration."""

    dist: Literal["fixed"]
    days: NonNegDays = Field(description="Duration, days.")


class ExponentialDuration(_Model):
    """Exponential duration with the given mean."""

    dist: Literal["exponential"]
    mean_days: PositiveDays = Field(description="Mean, days.")


class GammaDuration(_Model):
    """Gamma duration parameterised by mean and standard deviation."""

    dist: Literal["gamma"]
    mean_days: PositiveDays = Field(description="Mean, days.")
    sd_days: PositiveDays = Field(description="Standard deviation, days.")


class LognormalDuration(_Model):
    """Lognormal duration parameterised by its mean and standard deviation (not log scale)."""

    dist: Literal["lognormal"]
    mean_days: PositiveDays = Field(description="Mean, days.")
    sd_days: PositiveDays = Field(description="Standard deviation, days.")


Duration = Annotated[
    FixedDuration | ExponentialDuration | GammaDuration | LognormalDuration,
    Field(discriminator="dist"),
]


# ------------------------------------------------------------------------------ feeds
class TrialFeed(_Model):
    """A fixed cohort recruited evenly over a window and randomised to arms."""

    kind: Literal["trial"]
    n_patients: int = Field(ge=1, le=10_000_000, description="Patients recruited (all arms).")
    recruitment_days: NonNegDays = Field(
        description="Recruitment window, days; patient i enters at i * window / n."
    )
    allocation: dict[Name, Annotated[float, Field(gt=0, allow_inf_nan=False)]] = Field(
        description="Randomisation ratio by arm name, e.g. {control: 1, peer_support: 1}."
    )
    follow_up_days: PositiveDays = Field(
        description="Each patient is followed this long from entry, then censored."
    )


class RateChange(_Model):
    """From a day on, discharges arrive at a new weekly rate."""

    from_day: NonNegDays = Field(description="Day (from the start of the run) of the change.")
    per_week: float = Field(ge=0, allow_inf_nan=False, description="Discharges per week.")


class ServiceFeed(_Model):
    """A Poisson stream of CRT discharges into a standing service."""

    kind: Literal["service"]
    discharges_per_week: float = Field(
        ge=0, le=100_000, allow_inf_nan=False, description="Mean CRT discharges per week."
    )
    rate_changes: tuple[RateChange, ...] = Field(
        default=(), description="Optional later changes of the weekly rate, by increasing day."
    )
    warm_up_days: NonNegDays = Field(
        default=0.0,
        description="Simulated before measurement starts; patients entering then are "
        "simulated (they use beds and workers) but left out of the tables.",
    )
    run_days: PositiveDays = Field(description="Measured period after the warm-up, days.")

    @model_validator(mode="after")
    def _check(self) -> ServiceFeed:
        days = [c.from_day for c in self.rate_changes]
        if days != sorted(days) or len(set(days)) != len(days):
            raise ValueError("rate_changes must have strictly increasing from_day")
        return self


Feed = Annotated[TrialFeed | ServiceFeed, Field(discriminator="kind")]


# ------------------------------------------------------------------------- population
class RiskGroup(_Model):
    """A share of patients whose readmission hazard is multiplied by a ratio."""

    name: Name = Field(description="Group name (letters, digits, _ . -).")
    share: Probability = Field(description="Share of patients in the group; shares sum to 1.")
    hazard_ratio: float = Field(
        gt=0, le=100, allow_inf_nan=False, description="Multiplier on the baseline hazard."
    )


class Population(_Model):
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
class Readmission(_Model):
    """Baseline hazard of readmission to acute care, in days since the episode's discharge."""

    baseline: Baseline = Field(description="Baseline hazard h0, tagged by `dist`.")


class Competing(_Model):
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
class Engagement(_Model):
    """Beta distribution of each engaging patient's probability of attending a session."""

    alpha: float = Field(gt=0, le=1000, allow_inf_nan=False, description="Beta alpha.")
    beta: float = Field(gt=0, le=1000, allow_inf_nan=False, description="Beta beta.")


class Attendance(_Model):
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


# --------------------------------------------------------------------------- capacity
class PeerWorkers(_Model):
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


class AcuteSetting(_Model):
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


class AcuteCare(_Model):
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


class _Change(_Model):
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


# ------------------------------------------------------------------------------- arms
class Phase(_Model):
    """Part of a fixed programme: so many contacts, one every so many days."""

    n_sessions: int = Field(ge=1, le=200, description="Contacts in this phase.")
    interval_days: PositiveDays = Field(description="Days between contacts in this phase.")


class PeerSupportOffer(_Model):
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


class NoEffect(_Model):
    """The offer does not change the readmission hazard."""

    mechanism: Literal["none"]


class ITTEffect(_Model):
    """Intention to treat: a hazard ratio for everyone offered, for a window, then waning."""

    mechanism: Literal["itt"]
    hazard_ratio: float = Field(gt=0, le=100, allow_inf_nan=False, description="Ratio in window.")
    starts_at: Literal["offer", "first_session"] = Field(
        default="offer",
        description="When the ratio starts: at the offer (allocation), or at the first "
        "session (so a wait for a worker delays it, and non-starters get nothing).",
    )
    window_days: PositiveDays = Field(default=365.0, description="Days the full ratio lasts.")
    half_life_days: PositiveDays | None = Field(
        default=None,
        description="After the window the ratio wanes back to 1 with this half-life; null = "
        "it ends at once.",
    )


class DoseResponseEffect(_Model):
    """Dose-response: the ratio moves with sessions attended so far (none attended, no benefit)."""

    mechanism: Literal["dose_response"]
    hazard_ratio_at_full_dose: float = Field(
        gt=0, le=100, allow_inf_nan=False, description="Ratio once full_dose_sessions attended."
    )
    full_dose_sessions: int = Field(
        default=10, ge=1, le=200, description="Sessions for the full effect; linear below."
    )
    window_days: PositiveDays = Field(
        default=365.0, description="Days from the first session the effect lasts."
    )
    half_life_days: PositiveDays | None = Field(
        default=None, description="Waning half-life after the window; null = ends at once."
    )


Effect = Annotated[NoEffect | ITTEffect | DoseResponseEffect, Field(discriminator="mechanism")]


class Arm(_Model):
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

    @model_validator(mode="after")
    def _check(self) -> Arm:
        if self.peer_support is None and self.effect.mechanism != "none":
            raise ValueError("an effect needs a peer_support offer (set effect.mechanism: none)")
        return self


class Interval(_Model):
    """A published estimate with its 95% confidence interval."""

    value: float = Field(gt=0, allow_inf_nan=False, description="Point estimate.")
    ci_low: float = Field(gt=0, allow_inf_nan=False, description="95% CI, lower.")
    ci_high: float = Field(gt=0, allow_inf_nan=False, description="95% CI, upper.")


# Every statistic the trial analysis produces per simulated trial (trial.parquet), with the
# endpoint that must be switched on for it, and the attendance shares (metrics.parquet).
FIRST_READMISSION_STATISTICS = (
    "p_readmitted",
    "odds_ratio",
    "hazard_ratio",
    "rmst_days",
    "mean_days_readmitted",
    "median_days_readmitted",
)
COUNT_STATISTICS = ("readmissions_mean", "readmissions_sd", "readmissions_mcf", "rate_ratio")
BED_DAYS_STATISTICS = ("bed_days_mean", "bed_days_sd", "bed_days_difference")
ATTENDANCE_STATISTICS = ("p_attended_3plus", "p_attended_all")
STATISTICS = (
    FIRST_READMISSION_STATISTICS + COUNT_STATISTICS + BED_DAYS_STATISTICS + ATTENDANCE_STATISTICS
)
RATIO_STATISTICS = ("odds_ratio", "hazard_ratio", "rate_ratio")  # compared arm vs reference
COMPARED_STATISTICS = (*RATIO_STATISTICS, "bed_days_difference")


class PublishedFigure(_Model):
    """One published figure: any statistic of the trial analysis, with its spread."""

    statistic: Literal[STATISTICS] = Field(  # type: ignore[valid-type]
        description="Statistic, as named in trial.parquet (attendance shares: metrics.parquet)."
    )
    arm: Name = Field(description="Arm it was measured in (ratios, differences: the compared arm).")
    horizon_days: PositiveDays | None = Field(
        default=None, description="Horizon; null = the primary horizon."
    )
    value: float = Field(allow_inf_nan=False, description="Published value.")
    ci_low: float | None = Field(default=None, allow_inf_nan=False, description="95% CI, lower.")
    ci_high: float | None = Field(default=None, allow_inf_nan=False, description="95% CI, upper.")
    sd: float | None = Field(
        default=None, ge=0, allow_inf_nan=False, description="Standard deviation (of a mean ± SD)."
    )
    n: int | None = Field(default=None, ge=1, description="Patients it was measured on.")

    @model_validator(mode="after")
    def _check(self) -> PublishedFigure:
        if (self.ci_low is None) != (self.ci_high is None):
            raise ValueError("give both ci_low and ci_high, or neither")
        if self.ci_low is not None and not self.ci_low <= self.value <= self.ci_high:
            raise ValueError("value must lie within [ci_low, ci_high]")
        return self


class Published(_Model):
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


class FirstReadmissionEndpoint(_Model):
    """Time to and odds of the first readmission: odds ratio (logistic), hazard ratio (Cox)."""

    alternative: Alternative = Field(default="two-sided", description=_ALTERNATIVE)
    alpha: float = Field(default=0.05, gt=0, lt=1, description="Significance level (power).")


class CountEndpoint(_Model):
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


class BedDaysEndpoint(_Model):
    """Days in a hospital bed (ward or out of area) per person within the horizon."""

    test: Literal["t_test", "welch_t", "mann_whitney"] = Field(
        default="welch_t",
        description="Test of the difference: Student's or Welch's t-test, or Mann-Whitney U. "
        "The difference in means and its CI come from the t-test (Welch's for Mann-Whitney).",
    )
    alternative: Alternative = Field(default="two-sided", description=_ALTERNATIVE)
    alpha: float = Field(default=0.05, gt=0, lt=1, description="Significance level (power).")


class Endpoints(_Model):
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


class Outcomes(_Model):
    """Horizons and endpoints of the trial analysis, and published results."""

    primary_horizon_days: PositiveDays = Field(
        default=365.0,
        description="Primary horizon, days from entry (CORE: 365). Default: 365, or a "
        "trial's follow-up if shorter.",
    )
    secondary_horizons_days: tuple[PositiveDays, ...] = Field(
        default=(), description="Other horizons (CORE: 120 and 540 days)."
    )
    endpoints: Endpoints = Field(
        default=Endpoints(), description="Endpoints analysed in each simulated trial."
    )
    published: Published | None = Field(
        default=None, description="Published results to compare with (plots, tables)."
    )


# ------------------------------------------------------------------------------ costs
class Costs(_Model):
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
class Utility(_Model):
    """A health-state utility (1 = full health, 0 = dead), with its source."""

    value: float = Field(ge=-1, le=1, allow_inf_nan=False, description="Utility.")
    source: str = Field(min_length=1, description="Where it comes from.")


class Utilities(_Model):
    """Utilities of the model's states; dead is 0."""

    community: Utility = Field(description="In the community after a discharge.")
    ward: Utility = Field(description="In acute ward care (in area or out of area).")
    crt: Utility = Field(description="In CRT home treatment.")


class Economics(_Model):
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


# ------------------------------------------------------------------------ calibration


class FreeParameter(_Model):
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


class Target(_Model):
    """A published figure the simulated trials should reproduce."""

    statistic: Literal[STATISTICS] = Field(  # type: ignore[valid-type]
        description="A statistic of the trial analysis, as named in trial.parquet (those of "
        "an endpoint need it switched on in outcomes.endpoints), or an attendance share "
        "(p_attended_3plus, p_attended_all, from metrics.parquet)."
    )
    arm: Name = Field(
        description="Arm it is measured in (ratios and differences: the compared arm)."
    )
    horizon_days: PositiveDays | None = Field(
        default=None, description="Horizon; null = the primary horizon."
    )
    value: float = Field(allow_inf_nan=False, description="The target value.")
    tolerance: float = Field(
        gt=0, allow_inf_nan=False, description="Acceptable |simulated - value|."
    )
    summary: Literal["mean", "median"] | None = Field(
        default=None,
        description="Across simulated trials: the mean, or the median; null = the median "
        "for ratios, the mean otherwise.",
    )
    source: str = Field(default="", description="Where the value comes from.")


class Calibration(_Model):
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


# ------------------------------------------------------------------------ uncertainty
_PATH = (
    "Dotted path of a number in this scenario (list items by index or name; * for every "
    "item that has the field: arms.*.effect.hazard_ratio)."
)
_SOURCE = "Where the distribution comes from (a citation, or ASSUMPTION and why)."
Source = Annotated[str, Field(min_length=1, description=_SOURCE)]


class BetaDist(_Model):
    """Beta(alpha, beta): a probability."""

    dist: Literal["beta"]
    path: str = Field(min_length=1, description=_PATH)
    alpha: float = Field(gt=0, allow_inf_nan=False, description="Beta alpha (events + ...).")
    beta: float = Field(gt=0, allow_inf_nan=False, description="Beta beta.")
    source: Source


class GammaDist(_Model):
    """Gamma with a mean and SD: a cost, a rate, a length of stay (positive, skewed)."""

    dist: Literal["gamma"]
    path: str = Field(min_length=1, description=_PATH)
    mean: float = Field(gt=0, allow_inf_nan=False, description="Mean.")
    sd: float = Field(gt=0, allow_inf_nan=False, description="Standard deviation.")
    source: Source


class LognormalDist(_Model):
    """Lognormal with a mean and SD (of the value, not of its log)."""

    dist: Literal["lognormal"]
    path: str = Field(min_length=1, description=_PATH)
    mean: float = Field(gt=0, allow_inf_nan=False, description="Mean.")
    sd: float = Field(gt=0, allow_inf_nan=False, description="Standard deviation.")
    source: Source


class RatioCIDist(_Model):
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


class NormalDist(_Model):
    """Normal(mean, sd): a quantity that may take either sign (sd 0: fixed at the mean)."""

    dist: Literal["normal"]
    path: str = Field(min_length=1, description=_PATH)
    mean: float = Field(allow_inf_nan=False, description="Mean.")
    sd: float = Field(
        ge=0, allow_inf_nan=False, description="Standard deviation (0: no uncertainty)."
    )
    source: Source


class UniformDist(_Model):
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


class DirichletDist(_Model):
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


class MultivariateNormalDist(_Model):
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


class Uncertainty(_Model):
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


# --------------------------------------------------------------------------- scenario
class Scenario(_Model):
    """A whole scenario: the root of the YAML file."""

    name: Name = Field(description="Scenario name; default run directories start with it.")
    description: str = Field(default="", description="What the scenario is and its sources.")
    seed: int = Field(ge=0, lt=2**63, description="Root seed of every random stream.")
    replications: int = Field(default=100, ge=1, le=1_000_000, description="Replications.")
    feed: Feed = Field(description="How patients enter: `kind: trial` or `kind: service`.")
    outcomes: Outcomes = Field(default=Outcomes(), description="Reporting horizons.")
    population: Population = Field(default=Population(), description="Risk groups, frailty.")
    readmission: Readmission = Field(description="Baseline readmission hazard.")
    competing: Competing = Field(default=Competing(), description="Death, loss to follow-up.")
    attendance: Attendance = Field(default=Attendance(), description="Session attendance.")
    peer_workers: PeerWorkers = Field(default=PeerWorkers(), description="Peer worker capacity.")
    acute_care: AcuteCare = Field(description="Wards and CRT home treatment.")
    arms: tuple[Arm, ...] = Field(
        min_length=1, description="Trial arms, or service policies (each run on all patients)."
    )
    costs: Costs | None = Field(default=None, description="Unit costs; null = no cost metrics.")
    economics: Economics | None = Field(
        default=None,
        description="QALYs (utilities per state) and discounting; null = no QALY metrics.",
    )
    uncertainty: Uncertainty | None = Field(
        default=None,
        description="Distributions of uncertain fields, for `crisis-sim psa` "
        "(probabilistic sensitivity analysis); null = none.",
    )
    calibration: Calibration | None = Field(
        default=None, description="What `crisis-sim calibrate` fits, and to what."
    )

    @field_validator("arms")
    @classmethod
    def _unique_arms(cls, arms: tuple[Arm, ...]) -> tuple[Arm, ...]:
        names = [a.name for a in arms]
        if len(set(names)) != len(names):
            raise ValueError("arm names must be unique")
        return arms

    @model_validator(mode="before")
    @classmethod
    def _default_horizon(cls, data: Any) -> Any:
        """A trial followed up for less than a year gets its follow-up as primary horizon."""
        if not isinstance(data, dict):
            return data
        feed, outcomes = data.get("feed"), data.get("outcomes", {})
        if (
            isinstance(feed, dict)
            and feed.get("kind") == "trial"
            and isinstance(feed.get("follow_up_days"), int | float)
            and not isinstance(feed.get("follow_up_days"), bool)
            and isinstance(outcomes, dict)
            and "primary_horizon_days" not in outcomes
            and 0 < feed["follow_up_days"] < 365
        ):
            data = {
                **data,
                "outcomes": {**outcomes, "primary_horizon_days": feed["follow_up_days"]},
            }
        return data

    @model_validator(mode="after")
    def _cross_checks(self) -> Scenario:
        arm_names = [a.name for a in self.arms]
        if isinstance(self.feed, TrialFeed):
            if set(self.feed.allocation) != set(arm_names):
                raise PathError(
                    ("feed", "allocation"),
                    f"must name exactly the arms {arm_names}",
                    dict(self.feed.allocation),
                )
            follow = self.feed.follow_up_days
            o = self.outcomes
            if o.primary_horizon_days > follow:
                raise PathError(
                    ("outcomes", "primary_horizon_days"),
                    f"must not exceed feed.follow_up_days ({follow:g}): set "
                    f"outcomes.primary_horizon_days to {follow:g} or less (365 when not given)",
                    o.primary_horizon_days,
                )
            for i, h in enumerate(o.secondary_horizons_days):
                if h > follow:
                    raise PathError(
                        ("outcomes", "secondary_horizons_days", i),
                        f"must not exceed feed.follow_up_days ({follow:g})",
                        h,
                    )
        self._check_statistics(arm_names)
        self._check_arm_changes()
        groups = {g.name for g in self.population.risk_groups}
        for i, arm in enumerate(self.arms):
            offer = arm.peer_support
            if offer and offer.risk_groups:
                unknown = sorted(set(offer.risk_groups) - groups)
                if unknown:
                    raise PathError(
                        ("arms", i, "peer_support", "risk_groups"),
                        f"names unknown risk group(s) {unknown}; known: {sorted(groups)}",
                        list(offer.risk_groups),
                    )
        return self

    def _check_statistics(self, arm_names: list[str]) -> None:
        """Published figures and calibration targets name arms and analysed statistics."""
        ends = self.outcomes.endpoints
        needs = {
            **{s: ("readmission_count", ends.readmission_count) for s in COUNT_STATISTICS},
            **{s: ("bed_days", ends.bed_days) for s in BED_DAYS_STATISTICS},
        }
        items: list[tuple[tuple[Any, ...], Any]] = []
        pub = self.outcomes.published
        if pub is not None:
            items += [
                (("outcomes", "published", "figures", i), f) for i, f in enumerate(pub.figures)
            ]
        if self.calibration is not None:
            items += [
                (("calibration", "targets", i), t) for i, t in enumerate(self.calibration.targets)
            ]
        horizons = {self.outcomes.primary_horizon_days, *self.outcomes.secondary_horizons_days}
        for where, item in items:
            if item.arm not in arm_names:
                hint = (
                    " (a block inherited from a base: file can be dropped with "
                    f"`{where[0]}: null`, or replaced whole)"
                )
                raise PathError((*where, "arm"), f"names no arm; arms: {arm_names}{hint}", item.arm)
            if item.statistic in needs and needs[item.statistic][1] is None:
                raise PathError(
                    (*where, "statistic"),
                    f"needs outcomes.endpoints.{needs[item.statistic][0]} (switch it on)",
                    item.statistic,
                )
            if item.horizon_days is not None and item.horizon_days not in horizons:
                raise PathError(
                    (*where, "horizon_days"),
                    f"is not an outcome horizon; horizons: {sorted(horizons)}",
                    item.horizon_days,
                )

    def _check_arm_changes(self) -> None:
        """Each arm's changes to acute care and attendance give valid settings."""
        for i, arm in enumerate(self.arms):
            change = arm.acute_care
            if change is None:
                continue
            if self.is_trial:
                for setting in ("ward", "crt"):
                    part = getattr(change, setting)
                    shared = sorted(
                        {"capacity", "overflow"} & (part.model_fields_set if part else set())
                    )
                    if shared:
                        raise PathError(
                            ("arms", i, "acute_care", setting, shared[0]),
                            "cannot differ by arm in a trial: the arms share the wards and "
                            "CRT (set it in acute_care)",
                            getattr(part, shared[0]),
                        )
            try:
                self.acute_care_of(arm)
            except ValidationError as exc:
                err = exc.errors(include_url=False)[0]
                ctx = (err.get("ctx") or {}).get("error")
                if isinstance(ctx, PathError):
                    where, rule = ctx.path, ctx.rule
                else:
                    where, rule = tuple(p for p in err["loc"] if p not in _TAGS), err["msg"]
                raise PathError(
                    ("arms", i, "acute_care", *where),
                    f"{rule} (once this arm's changes are applied to acute_care)",
                    None,
                ) from None

    def acute_care_of(self, arm: Arm) -> AcuteCare:
        """The acute care an arm's patients get: the scenario's, with the arm's changes."""
        if arm.acute_care is None:
            return self.acute_care
        return AcuteCare.model_validate(
            _merge(self.acute_care.model_dump(), arm.acute_care.model_dump(exclude_unset=True))
        )

    def attendance_of(self, arm: Arm) -> Attendance:
        """How an arm's patients attend: the scenario's attendance, with the arm's changes."""
        if arm.attendance is None:
            return self.attendance
        return Attendance.model_validate(
            _merge(self.attendance.model_dump(), arm.attendance.model_dump(exclude_unset=True))
        )

    @property
    def is_trial(self) -> bool:
        """True for a trial feed, False for a service feed."""
        return isinstance(self.feed, TrialFeed)

    @property
    def end_day(self) -> float:
        """Last simulated day: recruitment plus follow-up, or warm-up plus run."""
        if isinstance(self.feed, TrialFeed):
            return self.feed.recruitment_days + self.feed.follow_up_days
        return self.feed.warm_up_days + self.feed.run_days

    @property
    def measured_window(self) -> tuple[float, float]:
        """The measured period, (first day, last day).

        A trial's whole span; a service's run after its warm-up. The one definition:
        metrics, costs and figures read it.
        """
        if isinstance(self.feed, TrialFeed):
            return 0.0, self.end_day
        return self.feed.warm_up_days, self.end_day


_TAGS = {"fixed", "exponential", "gamma", "lognormal"}


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict) and "dist" not in value:
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def json_schema(partial: bool = False) -> dict[str, Any]:
    """The scenario's JSON Schema, for editors and other tools (``crisis-sim schema``).

    Generated from the models above. It also allows the ``base:`` key. With
    ``partial``, no field is required anywhere: for a file that names a ``base:`` and
    gives only what differs from it.
    """
    schema = Scenario.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "crisis-sim scenario" + (" (with base:, partial)" if partial else "")
    schema["properties"]["base"] = {
        "type": "string",
        "description": "A scenario file (relative to this one) whose fields this one "
        "overrides: mappings key by key, anything else replaced whole.",
    }
    if partial:
        _drop_required(schema)
    return schema


def _drop_required(node: Any) -> None:
    if isinstance(node, dict):
        node.pop("required", None)
        for value in node.values():
            _drop_required(value)
    elif isinstance(node, list):
        for value in node:
            _drop_required(value)
