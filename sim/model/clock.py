"""The hazard-budget clock of one episode: exact readmission times, no time steps.

An episode that began at discharge time ``d`` has hazard

    h(t) = c * h0(t - d) * m(t),     c = frailty * risk-group ratio,

and ends in readmission when the cumulative hazard spent reaches the episode's
Exp(1) budget. The intervention multiplier ``m(t)`` is a *level* that holds until
the window end ``t_w``; after it the multiplier is 1, or wanes back to 1 with a
half-life: m(t) = 1 - (1 - level) * 2 ** (-(t - t_w) / half_life).

The clock keeps what was spent when the level changes (a session attended, the
programme starting), so only the remaining budget is recomputed. Constant
segments use the baseline's closed-form H0 and H0^-1; only a waning segment needs
numeric integration and a root finder (scipy, imported when first needed).
"""

from __future__ import annotations

import math

from sim.hazards import Hazard

INF = math.inf
_LN2 = math.log(2.0)


class Clock:
    """Cumulative hazard of one episode.

    Parameters
    ----------
    hazard
        Baseline hazard on days since discharge.
    c
        Patient's constant multiplier (frailty times risk-group ratio).
    start
        Absolute day the episode began (the discharge).
    budget
        The episode's Exp(1) hazard budget.
    """

    __slots__ = ("hz", "c", "d", "remaining", "level", "t_w", "half_life", "_t", "_H")

    def __init__(self, hazard: Hazard, c: float, start: float, budget: float):
        self.hz, self.c, self.d, self.remaining = hazard, c, start, budget
        self.level, self.t_w, self.half_life = 1.0, INF, None
        self._t, self._H = start, 0.0  # last boundary and H0 there: runs are contiguous

    def set_effect(self, level: float, t_w: float, half_life: float | None) -> None:
        """From now on the multiplier is ``level`` until ``t_w``, then waning/1.

        Call only after :meth:`run` has brought the clock up to the current time.
        """
        self.level, self.t_w, self.half_life = level, t_w, half_life

    def peek(self, t0: float, t1: float) -> float:
        """The readmission time in [t0, t1] (or ``inf``) without spending anything."""
        saved = self.remaining
        t = self.run(t0, t1)
        self.remaining = saved
        return t

    def run(self, t0: float, t1: float) -> float:
        """Spend hazard over [t0, t1]; return the readmission time, or ``inf`` if none.

        ``t1`` must be finite. If the budget runs out in the interval the clock is left
        spent (``remaining`` is 0) and the readmission time is returned.
        """
        if t1 <= t0:
            return INF
        t_w = self.t_w
        if t1 <= t_w:
            return self._constant(t0, t1, self.level)
        if t0 < t_w:
            t = self._constant(t0, t_w, self.level)
            if t < INF:
                return t
            t0 = t_w
        if self.half_life is None or self.level == 1.0:
            return self._constant(t0, t1, 1.0)
        return self._waning(t0, t1)

    def _constant(self, a: float, b: float, m: float) -> float:
        rate = self.c * m
        if rate <= 0.0:
            return INF
        hz, d = self.hz, self.d
        ha = self._H if a == self._t else hz.H(a - d)
        need = self.remaining / rate
        hb = hz.H(b - d)
        if hb - ha >= need:
            self.remaining = 0.0
            t = d + hz.H_inv(ha + need)
            return min(max(t, a), b)
        self.remaining -= rate * (hb - ha)
        self._t, self._H = b, hb
        return INF

    def _waning(self, a: float, b: float) -> float:
        from scipy import integrate, optimize

        hz, d, c = self.hz, self.d, self.c
        gap, t_w, lam = 1.0 - self.level, self.t_w, _LN2 / self.half_life  # type: ignore[operator]

        def spent(t: float) -> float:
            base = hz.H(t - d) - hz.H(a - d)
            if gap == 0.0:
                return c * base
            # the waning part decays as 2^-(t - t_w)/half_life: beyond 60 half-lives it is nil
            hi = min(t, t_w + 60.0 * self.half_life)  # type: ignore[operator]
            extra = 0.0
            if hi > a:
                extra = integrate.quad(
                    lambda s: hz.h(s - d) * math.exp(-lam * (s - t_w)), a, hi, limit=200
                )[0]
            return c * (base - gap * extra)

        total = spent(b)
        if total < self.remaining:
            self.remaining -= total
            return INF
        target = self.remaining
        self.remaining = 0.0
        return optimize.brentq(lambda t: spent(t) - target, a, b, xtol=1e-9, rtol=1e-12)
