"""The scenario schema: every field, its units, bounds, defaults and description.

Validated once, at the edge, into frozen objects (``extra="forbid"``: an unknown field
is an error). Each block's fields are in a module of their own: :mod:`.base`,
:mod:`.pathway`, :mod:`.capacity`, :mod:`.arms`, :mod:`.outcomes`, :mod:`.economics`,
:mod:`.calibration`; this module is the whole :class:`Scenario` and hands their names
on. Reading files and turning validation errors into one-line messages is
:mod:`sim.config.loader`'s job; making variants of a scenario is
:mod:`sim.config.variants`'.

Units: days for every time (``*_days``), probabilities in [0, 1] (``p_*``),
rates per the unit in their name (``*_per_week``, ``*_per_year``, ``*_per_day``).
"""

from __future__ import annotations

from typing import Any

from pydantic import (
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from sim.config.arms import (
    Arm,
    DoseResponseEffect,
    Effect,
    ITTEffect,
    NoEffect,
    PeerSupportOffer,
    Phase,
)
from sim.config.base import Model, Name, NonNegDays, PathError, PositiveDays, Probability
from sim.config.calibration import Calibration, FreeParameter, Target
from sim.config.capacity import (
    AcuteCare,
    AcuteCareChange,
    AcuteSetting,
    AcuteSettingChange,
    AttendanceChange,
    PeerWorkers,
)
from sim.config.economics import (
    BetaDist,
    Costs,
    DirichletDist,
    Economics,
    GammaDist,
    LognormalDist,
    MultivariateNormalDist,
    NormalDist,
    RatioCIDist,
    Uncertain,
    Uncertainty,
    UniformDist,
    Utilities,
    Utility,
)
from sim.config.outcomes import (
    BedDaysEndpoint,
    CountEndpoint,
    Endpoints,
    FirstReadmissionEndpoint,
    Interval,
    Outcomes,
    Published,
    PublishedFigure,
)
from sim.config.pathway import (
    Attendance,
    Baseline,
    Competing,
    Duration,
    Engagement,
    ExponentialBaseline,
    ExponentialDuration,
    Feed,
    FixedDuration,
    GammaDuration,
    LogLogisticBaseline,
    LognormalDuration,
    PiecewiseBaseline,
    Population,
    RateChange,
    Readmission,
    RiskGroup,
    ServiceFeed,
    TrialFeed,
    WeibullBaseline,
)
from sim.statistics import (
    ATTENDANCE_STATISTICS,
    BED_DAYS_STATISTICS,
    COMPARED_STATISTICS,
    COUNT_STATISTICS,
    FIRST_READMISSION_STATISTICS,
    RATIO_STATISTICS,
    STATISTICS,
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


# --------------------------------------------------------------------------- scenario
class Scenario(Model):
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

    # where it was read from (sim.config.loader.Source), set by load_scenario; not part of
    # what the scenario is: equality reads the fields only, and it stays in this process
    _source: Any = PrivateAttr(default=None)

    @property
    def source(self) -> Any:
        """Where it was read from: a :class:`sim.config.loader.Source`, or None.

        A variant keeps its file's; None for a scenario made in memory.
        """
        return self._source

    def __eq__(self, other: object) -> bool:
        """Equal fields (where each was read from is not compared)."""
        if not isinstance(other, Scenario):
            return NotImplemented
        return self.__dict__ == other.__dict__

    def __hash__(self) -> int:
        """The fields' hash, as pydantic's."""
        return super().__hash__()

    def __getstate__(self) -> dict[Any, Any]:
        """Pickled without its source: a worker needs the fields only."""
        state = super().__getstate__()
        return {**state, "__pydantic_private__": {"_source": None}}

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
