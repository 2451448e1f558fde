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


PositiveDays = Annotated[float, Field(gt=0, allow_inf_nan=False)]
NonNegDays = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Probability = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
Name = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")]
