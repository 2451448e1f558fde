"""Confidence intervals across replications: the t-interval every table uses."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["t_half_width", "t_interval"]


def t_half_width(sd, n):
    """Half-width of the 95% t-interval of a mean of ``n`` values with SD ``sd``.

    Works on scalars and arrays alike (``n`` of 1 gives a finite number: mask it).
    """
    # the t quantile straight from scipy.special: the same numbers as
    # scipy.stats.t.ppf (which calls it), at half the import time
    from scipy.special import stdtrit

    return stdtrit(np.maximum(n - 1, 1), 0.975) * sd / np.sqrt(n)


def t_interval(values: np.ndarray) -> tuple[float, float, float]:
    """Mean and 95% t-interval of the finite values (NaN where there are too few)."""
    v = values[np.isfinite(values)]
    if len(v) == 0:
        return math.nan, math.nan, math.nan
    m = float(v.mean())
    if len(v) < 2:
        return m, math.nan, math.nan
    half = float(t_half_width(v.std(ddof=1), len(v)))
    return m, m - half, m + half
