"""Confidence intervals across replications: the t-interval every table uses.

A mean of a bounded quantity (a share, in [0, 1]; a count or a length, at least 0) whose
t-interval would cross its bound gets the t-interval on a transformed scale instead,
back-transformed: the log of the distance from the lower bound, or the logit of a
share (the delta method: the mean's standard error divided by the derivative of the
transform). Such an interval is asymmetric and stays inside the bound; the tables say
which interval each row has (``interval``: ``t``, ``log`` or ``logit``).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["bounded_interval", "t_half_width", "t_interval"]


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


def bounded_interval(mean, half, lower=None, upper=None):
    """The 95% interval of means with t half-widths ``half``, kept inside the bounds.

    Arrays (or scalars) of means and half-widths; ``lower`` and ``upper`` scalars (None:
    unbounded). Where ``mean - half`` would fall below ``lower`` the interval is taken on
    the log scale of ``mean - lower``; where ``mean + half`` would pass ``upper`` (a share,
    with ``lower`` 0 and ``upper`` 1), on the logit scale. A mean on its bound (every
    value there) keeps its empty interval. Returns (low, high, method), method ``"t"``,
    ``"log"`` or ``"logit"`` per mean.
    """
    m = np.asarray(mean, float)
    h = np.asarray(half, float)
    lo, hi = m - h, m + h
    method = np.full(m.shape, "t", dtype=object)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if lower is not None:
            x = m - lower
            below = (lo < lower) & (x > 0) & np.isfinite(h)
            f = np.exp(h / x)
            lo = np.where(below, lower + x / f, lo)
            hi = np.where(below, lower + x * f, hi)
            method = np.where(below, "log", method)
        if upper is not None and lower is not None:
            width = upper - lower
            p = (m - lower) / width
            across = ((m - h < lower) | (m + h > upper)) & (p > 0) & (p < 1) & np.isfinite(h)
            logit = np.log(p / (1 - p))
            hl = h / width / (p * (1 - p))
            expit = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
            lo = np.where(across, lower + width * expit(logit - hl), lo)
            hi = np.where(across, lower + width * expit(logit + hl), hi)
            method = np.where(across, "logit", method)
    if np.ndim(mean) == 0:
        return float(lo), float(hi), str(method)
    return lo, hi, method
