"""What every part of the scenario schema is made of: a frozen model, units, errors.

Every block is a :class:`Model` (frozen, ``extra="forbid"``: an unknown field is an
error). Units: days for every time (``*_days``), probabilities in [0, 1] (``p_*``),
rates per the unit in their name (``*_per_week``, ``*_per_year``, ``*_per_day``).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
)

__all__ = [
    "PathError",
    "Model",
    "PositiveDays",
    "NonNegDays",
    "HorizonDays",
    "NonNegHorizonDays",
    "CENTURY_DAYS",
    "Probability",
    "Name",
]


class PathError(ValueError):
    """A cross-field rule broken at a known path (raised inside validators)."""

    def __init__(self, path: tuple[Any, ...], rule: str, value: Any):
        super().__init__(rule)
        self.path = path
        self.rule = rule
        self.value = value


class Model(BaseModel):
    """A block of the scenario: frozen, and an unknown field is an error."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# durations (stays, the scales of hazards): at most 10,000 years, so that sums stay finite
PositiveDays = Annotated[float, Field(gt=0, le=3_652_500, allow_inf_nan=False)]
NonNegDays = Annotated[float, Field(ge=0, le=3_652_500, allow_inf_nan=False)]
# days on a run's calendar (follow-up, recruitment, warm-up, run, horizons, windows): a
# century at most
CENTURY_DAYS = 36_525
HorizonDays = Annotated[float, Field(gt=0, le=CENTURY_DAYS, allow_inf_nan=False)]
NonNegHorizonDays = Annotated[float, Field(ge=0, le=CENTURY_DAYS, allow_inf_nan=False)]
Probability = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
Name = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")]
