"""Terminal text: the number formats every study's printout shares.

Each study kind prints itself (:meth:`sim.study.Study.printout`) with these; numbers
are rounded for reading, and the files hold them in full. Nothing here computes a
result.
"""

from __future__ import annotations

import math

__all__ = ["interval"]


def interval(mean: float, lo: float, hi: float, pct: bool = False, digits: int = 1) -> str:
    """``mean (lo-hi)``, rounded to ``digits``.

    Shares as percentages with ``pct``; ``-`` for a missing mean, no brackets for a
    missing interval.
    """
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "-"
    k = 100.0 if pct else 1.0
    unit = "%" if pct else ""

    def num(x: float) -> str:
        return f"{round(x * k, digits) + 0.0:.{digits}f}"  # + 0.0: no "-0.0"

    text = f"{num(mean)}{unit}"
    if lo is not None and not math.isnan(lo):
        text += f" ({num(lo)}-{num(hi)})"
    return text
