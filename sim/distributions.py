"""Duration distributions (tagged specs) turned into samplers that take ``rng=``."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from sim.config import (
    Duration,
    ExponentialDuration,
    FixedDuration,
    GammaDuration,
    LognormalDuration,
)

__all__ = ["Sampler", "make_sampler", "mean_of"]

Sampler = Callable[..., np.ndarray]
"""``sampler(rng=Generator, size=shape) -> ndarray`` of durations in days."""


def make_sampler(spec: Duration) -> Sampler:
    """A vectorised sampler for a duration spec; every draw comes from the ``rng`` passed."""
    if isinstance(spec, FixedDuration):
        days = spec.days

        def fixed(*, rng: np.random.Generator, size: int | tuple[int, ...]) -> np.ndarray:
            return np.full(size, days)

        return fixed
    if isinstance(spec, ExponentialDuration):
        mean = spec.mean_days

        def exponential(*, rng: np.random.Generator, size: int | tuple[int, ...]) -> np.ndarray:
            return rng.exponential(mean, size)

        return exponential
    if isinstance(spec, GammaDuration):
        k = (spec.mean_days / spec.sd_days) ** 2
        theta = spec.sd_days**2 / spec.mean_days

        def gamma(*, rng: np.random.Generator, size: int | tuple[int, ...]) -> np.ndarray:
            return rng.gamma(k, theta, size)

        return gamma
    if isinstance(spec, LognormalDuration):
        sigma2 = math.log1p((spec.sd_days / spec.mean_days) ** 2)
        mu = math.log(spec.mean_days) - sigma2 / 2
        sigma = math.sqrt(sigma2)

        def lognormal(*, rng: np.random.Generator, size: int | tuple[int, ...]) -> np.ndarray:
            return rng.lognormal(mu, sigma, size)

        return lognormal
    raise TypeError(f"unknown duration {spec!r}")


def mean_of(spec: Duration) -> float:
    """The distribution's mean, days."""
    return spec.days if isinstance(spec, FixedDuration) else spec.mean_days
