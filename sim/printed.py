"""Numbers and tables as a paper sets them: what every printout is made of.

A printed estimate carries the digits its interval can resolve and no more: the
interval's half-width to two significant figures fixes the decimals of the mean and of
both ends (``34.1% (32.1 to 36.1)``, ``12,810 (12,751 to 12,869)``). Money is in pounds,
thousands (``£463k``) or millions (``£28.3m``) as its size asks, the currency always
shown; shares as percentages, their differences in percentage points; a difference
always carries its sign, and a minus is a minus sign (U+2212), as in print.

:class:`TextTable` lays out the rows: columns aligned (text left, numbers right), no
trailing spaces, and no line wider than :data:`WIDTH` (a column too wide is cut with an
ellipsis; a table that cannot fit is split into column groups).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = [
    "WIDTH",
    "MINUS",
    "TextTable",
    "block_decimals",
    "decimals_for",
    "estimate",
    "number",
    "money",
    "share_of",
    "signed",
    "wrap",
]

WIDTH = 100  # the widest line any printout has
MINUS = "\u2212"
_MAX_DECIMALS = 4


def decimals_for(half_width: float | None, value: float = math.nan) -> int:
    """Decimals that show ``half_width`` to two significant figures (0 to 4).

    With no interval (None, NaN or 0), three significant figures of ``value``.
    """
    if half_width is None or not math.isfinite(half_width) or half_width <= 0:
        if not math.isfinite(value) or value == 0:
            return 0
        return max(0, min(_MAX_DECIMALS, 2 - math.floor(math.log10(abs(value)))))
    return max(0, min(_MAX_DECIMALS, 1 - math.floor(math.log10(half_width))))


def _plain(v: float, decimals: int, sign: bool = False) -> str:
    if not math.isfinite(v):
        return "-"
    text = f"{abs(v):,.{decimals}f}"
    if float(text.replace(",", "")) == 0:
        return ("\u00b1" if sign else "") + text  # 0, not -0 (or +0 for a difference)
    if v < 0:
        return MINUS + text
    return ("+" + text) if sign else text


def number(v: float, decimals: int, sign: bool = False) -> str:
    """``v`` with ``decimals`` and thousands separators (a sign too, with ``sign``)."""
    return _plain(v, decimals, sign)


def signed(v: float, decimals: int) -> str:
    """A difference: always signed (``+1.4``, ``−0.9``)."""
    return _plain(v, decimals, sign=True)


def _money_scale(size: float) -> tuple[float, str]:
    if size >= 1e6:
        return 1e6, "m"
    if size >= 1e4:
        return 1e3, "k"
    return 1.0, ""


def money(v: float, half_width: float | None = None, sign: bool = False, size: float = 0.0) -> str:
    """Pounds: ``£28.3m``, ``−£463k``, ``£1,240``; digits as the interval resolves them.

    ``size``: the magnitude that picks the unit (default ``|v|``), so that a mean and its
    interval's ends are in one unit.
    """
    if not math.isfinite(v):
        return "-"
    scale, suffix = _money_scale(max(size, abs(v)))
    hw = None if half_width is None else half_width / scale
    d = decimals_for(hw, v / scale)
    text = _plain(abs(v) / scale, d)
    head = MINUS if v < 0 and float(text.replace(",", "")) != 0 else ("+" if sign else "")
    return f"{head}£{text}{suffix}"


def estimate(
    v: float,
    lo: float = math.nan,
    hi: float = math.nan,
    unit: str = "",
    difference: bool = False,
    decimals: int | None = None,
) -> str:
    """A mean and its 95% interval, ``v (lo to hi)``, in ``unit``.

    ``unit``: ``"%"`` (a share, shown x100, without the sign: the row's label says it),
    ``"£"``, or anything else (shown as is, after the label). ``difference``: signed, and
    a share's in percentage points. No interval (NaN ends): the mean alone, to three
    significant figures. ``decimals``: fixed (rows of one block alike; see
    :func:`block_decimals`), except for money.
    """
    if not math.isfinite(v):
        return "-"
    has_ci = math.isfinite(lo) and math.isfinite(hi)
    if unit == "£":
        size = max(abs(v), abs(lo) if has_ci else 0.0, abs(hi) if has_ci else 0.0)
        hw = (hi - lo) / 2 if has_ci else None
        mean = money(v, hw, sign=difference, size=size)
        if not has_ci:
            return mean
        return f"{mean} ({money(lo, hw, difference, size)} to {money(hi, hw, difference, size)})"
    scale = 100.0 if unit == "%" else 1.0
    v, lo, hi = v * scale, lo * scale, hi * scale
    hw = (hi - lo) / 2 if has_ci else None
    d = decimals_for(hw, v) if decimals is None or hw == 0 else decimals
    f = signed if difference else (lambda x, k: number(x, k))
    mean = f(v, d)
    if not has_ci:
        return mean
    if hw == 0:
        return f"{mean} (in every replication)"
    return f"{mean} ({f(lo, d)} to {f(hi, d)})"


def block_decimals(means, lows, highs, unit: str = "") -> int:
    """The decimals for a block of estimates of one quantity.

    Those the widest interval needs: the rows line up, and none claims digits its
    interval cannot resolve.
    """
    scale = 100.0 if unit == "%" else 1.0
    widths = [
        (h - lo) / 2 * scale
        for lo, h in zip(lows, highs, strict=True)
        if math.isfinite(lo) and math.isfinite(h) and h > lo
    ]
    if widths:
        return decimals_for(max(widths))
    values = [abs(m) * scale for m in means if math.isfinite(m) and m != 0]
    return decimals_for(None, max(values)) if values else 0


def share_of(share: float, n: int) -> str:
    """A share of ``n`` draws with its Wilson 95% interval.

    Simulated trials with p below alpha, parameter sets where a policy is best: the
    interval says how well that many draws pin the share down.
    """
    from statsmodels.stats.proportion import proportion_confint

    if not math.isfinite(share) or n == 0:
        return "-"
    lo, hi = proportion_confint(round(share * n), n, alpha=0.05, method="wilson")
    return f"{share * 100:.0f}% ({lo * 100:.0f} to {hi * 100:.0f})"


def wrap(text: str, width: int = WIDTH, indent: str = "") -> str:
    """``text`` wrapped to ``width`` columns (a note, a footnote), later lines indented."""
    import textwrap

    return textwrap.fill(
        text, width=width, subsequent_indent=indent, break_on_hyphens=False, break_long_words=False
    )


@dataclass
class TextTable:
    """Rows of cells under a header, laid out in at most :data:`WIDTH` columns.

    ``align``: one letter per column, ``l`` or ``r`` (default: the first column left,
    the rest right). A row that is a single string is a heading line (a group's name),
    printed as it is across the table.
    """

    header: Sequence[str]
    rows: list[Sequence[str] | str] = field(default_factory=list)
    align: str = ""
    gap: int = 2

    def add(self, *cells: str) -> None:
        """A row of cells (as many as the header)."""
        assert len(cells) == len(self.header), (cells, self.header)
        self.rows.append(cells)

    def heading(self, text: str) -> None:
        """A line of its own (a group's name) across the table."""
        self.rows.append(text)

    def render(self, width: int = WIDTH) -> str:
        """The table as lines of text, none longer than ``width``."""
        n = len(self.header)
        align = (self.align or "l" + "r" * (n - 1)).ljust(n, "r")
        cells = [r for r in self.rows if not isinstance(r, str)]
        widths = [max(len(str(c[i])) for c in [self.header, *cells]) for i in range(n)]
        total = sum(widths) + self.gap * (n - 1)
        if total > width:  # the first (label) column gives way first, down to 24
            cut = min(total - width, max(0, widths[0] - 24))
            widths[0] -= cut
            total -= cut
        if total > width and n > 2:  # still too wide: split the columns into groups
            return self._split(widths, width)

        def line(row: Sequence[str]) -> str:
            parts = []
            for i, c in enumerate(row):
                c = str(c)
                if len(c) > widths[i]:
                    c = c[: widths[i] - 1] + "\u2026"
                parts.append(c.ljust(widths[i]) if align[i] == "l" else c.rjust(widths[i]))
            return (" " * self.gap).join(parts).rstrip()

        out = [line(self.header)]
        for r in self.rows:
            out.append(r[:width].rstrip() if isinstance(r, str) else line(r))
        return "\n".join(out)

    def _split(self, widths: list[int], width: int) -> str:
        """Column groups, each with the first column, one after another."""
        groups: list[list[int]] = [[]]
        used = widths[0]
        for i in range(1, len(widths)):
            if groups[-1] and used + self.gap + widths[i] > width:
                groups.append([])
                used = widths[0]
            groups[-1].append(i)
            used += self.gap + widths[i]
        parts = []
        for g in groups:
            cols = [0, *g]
            sub = TextTable(
                [self.header[i] for i in cols],
                [r if isinstance(r, str) else [r[i] for i in cols] for r in self.rows],
                "".join((self.align or "l" + "r" * (len(widths) - 1))[i] for i in cols),
                self.gap,
            )
            parts.append(sub.render(width))
        return "\n\n".join(parts)
