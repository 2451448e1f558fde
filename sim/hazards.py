"""Baseline readmission hazards: h0(u), H0(u) and H0^-1, in closed form.

``u`` is days since the episode's discharge. Each class is scalar and uses
``math`` only: these are called a few times per patient in the hot loop, where
a NumPy call would cost more than the arithmetic.
"""

from __future__ import annotations

import bisect
import math
from itertools import accumulate
from typing import Protocol

from sim.config import (
    Baseline,
    ExponentialBaseline,
    LogLogisticBaseline,
    PiecewiseBaseline,
    WeibullBaseline,
)

__all__ = ["Hazard", "make_hazard"]

INF = math.inf


class Hazard(Protocol):
    """A baseline hazard on days since discharge."""

    def h(self, u: float) -> float:
        """Hazard per day at ``u`` days."""

    def H(self, u: float) -> float:  # noqa: N802 - H is the standard symbol
        """Cumulative hazard over [0, u]."""

    def H_inv(self, x: float) -> float:  # noqa: N802
        """Smallest u with H(u) >= x; ``inf`` if the hazard never reaches x."""


class Exponential:
    """h0(u) = rate."""

    __slots__ = ("rate",)

    def __init__(self, rate: float):
        self.rate = rate

    def h(self, u: float) -> float:
        return self.rate

    def H(self, u: float) -> float:  # noqa: N802
        return self.rate * u

    def H_inv(self, x: float) -> float:  # noqa: N802
        return x / self.rate if self.rate > 0 else (0.0 if x <= 0 else INF)


class Weibull:
    """H0(u) = (u / scale) ** shape."""

    __slots__ = ("shape", "scale", "_inv_shape")

    def __init__(self, shape: float, scale: float):
        self.shape, self.scale, self._inv_shape = shape, scale, 1.0 / shape

    def h(self, u: float) -> float:
        if u <= 0:
            return INF if self.shape < 1 else (1.0 / self.scale if self.shape == 1 else 0.0)
        return self.shape / self.scale * (u / self.scale) ** (self.shape - 1.0)

    def H(self, u: float) -> float:  # noqa: N802
        return (u / self.scale) ** self.shape if u > 0 else 0.0

    def H_inv(self, x: float) -> float:  # noqa: N802
        return self.scale * x**self._inv_shape if x > 0 else 0.0


class LogLogistic:
    """H0(u) = ln(1 + (u / scale) ** shape); S0(u) = 1 / (1 + (u / scale) ** shape)."""

    __slots__ = ("shape", "scale")

    def __init__(self, shape: float, scale: float):
        self.shape, self.scale = shape, scale

    def h(self, u: float) -> float:
        if u <= 0:
            return INF if self.shape < 1 else (1.0 / self.scale if self.shape == 1 else 0.0)
        r = (u / self.scale) ** self.shape
        return self.shape / u * r / (1.0 + r)

    def H(self, u: float) -> float:  # noqa: N802
        return math.log1p((u / self.scale) ** self.shape) if u > 0 else 0.0

    def H_inv(self, x: float) -> float:  # noqa: N802
        if x <= 0:
            return 0.0
        if x > 700:  # expm1 overflows; u is astronomically large
            return INF
        return self.scale * math.expm1(x) ** (1.0 / self.shape)


class Piecewise:
    """Constant hazard rates[i] on [breaks[i], breaks[i+1]); the last rate for ever."""

    __slots__ = ("breaks", "rates", "_cum")

    def __init__(self, breaks: tuple[float, ...], rates: tuple[float, ...]):
        self.breaks, self.rates = list(breaks), list(rates)
        widths = [b - a for a, b in zip(self.breaks, self.breaks[1:], strict=False)]
        self._cum = [0.0, *accumulate(w * r for w, r in zip(widths, self.rates, strict=False))]

    def h(self, u: float) -> float:
        return self.rates[max(bisect.bisect_right(self.breaks, u) - 1, 0)]

    def H(self, u: float) -> float:  # noqa: N802
        if u <= 0:
            return 0.0
        i = bisect.bisect_right(self.breaks, u) - 1
        return self._cum[i] + self.rates[i] * (u - self.breaks[i])

    def H_inv(self, x: float) -> float:  # noqa: N802
        if x <= 0:
            return 0.0
        i = bisect.bisect_left(self._cum, x) - 1  # interval whose cumulative start < x
        rate = self.rates[i]
        if rate == 0:  # only the last, open interval can be flat here: x is never reached
            return INF
        u = self.breaks[i] + (x - self._cum[i]) / rate
        if i + 1 < len(self.breaks) and u > self.breaks[i + 1]:  # rounding at a break
            u = self.breaks[i + 1]
        return u


def make_hazard(spec: Baseline) -> Hazard:
    """Build the hazard object for a validated baseline spec."""
    if isinstance(spec, ExponentialBaseline):
        return Exponential(spec.rate_per_day)
    if isinstance(spec, WeibullBaseline):
        return Weibull(spec.shape, spec.scale_days)
    if isinstance(spec, LogLogisticBaseline):
        return LogLogistic(spec.shape, spec.scale_days)
    if isinstance(spec, PiecewiseBaseline):
        return Piecewise(spec.breaks_days, spec.rates_per_day)
    raise TypeError(f"unknown baseline {spec!r}")
