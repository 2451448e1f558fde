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
    "BOUND_NOTE",
    "block_decimals",
    "marked",
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
    if abs(v) < 0.5 and max(size, abs(v)) < 1e4:  # less than a pound: nothing
        return "£0"
    scale, suffix = _money_scale(max(size, abs(v)))
    hw = None if half_width is None else half_width / scale
    d = decimals_for(hw, v / scale)
    if scale > 1:  # in thousands or millions: two decimals at most (£28.68k, not £28.681k)
        d = min(d, 2)
    text = _plain(abs(v) / scale, d)
    if float(text.replace(",", "")) == 0:  # nothing, in whatever unit: £0
        return "£0"
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


BOUND_NOTE = (
    "* The t-interval would cross the quantity's bound (0, or 100%): this one is on the log "
    "scale (a share: the logit scale), so it stays inside it."
)


def marked(
    mean: float,
    lo: float,
    hi: float,
    interval: object,
    unit: str = "",
    decimals: int | None = None,
) -> tuple[str, bool]:
    """A summary row's ``mean (95% CI)``, and whether it is marked.

    Marked with ``*`` where its interval is on the log or logit scale
    (:data:`BOUND_NOTE` says why).
    """
    text = estimate(mean, lo, hi, unit, decimals=decimals)
    if interval in ("log", "logit"):
        return text + "*", True
    return text, False


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


# ------------------------------------------------------------------ tables shown
_HEADERS = {
    "arm": "arm",
    "policy": "policy",
    "strategy": "policy",
    "metric": "measure",
    "statistic": "statistic",
    "horizon_days": "horizon (days)",
    "replications": "replications",
    "n_per_arm": "patients per arm",
    "compared_with": "compared with",
    "field": "field",
    "parameter": "parameter",
}
_DROP = {"baseline", "sd", "interval", "fields", "comparison"}


def _sig(v: float, digits: int = 4) -> str:
    """A plain number to ``digits`` significant figures, commas, never an exponent."""
    if not math.isfinite(v):
        return "-"
    if abs(v) < 1e-9:
        return "0"
    d = max(0, min(6, digits - 1 - math.floor(math.log10(abs(v)))))
    return number(v, d)


def _cell_kind(column: str) -> str:
    """How a numeric column reads: money, a share, or a plain number."""
    c = column.lower()
    if c.startswith("p_") or c in ("power", "share", "coverage", "ci_low", "ci_high"):
        return "%" if c.startswith("p_") or c in ("power", "share", "coverage") else ""
    money_words = ("cost", "nmb", "evpi", "evppi", "icer", "net_benefit", "threshold", "se")
    if any(k in c.split("_") or k in c for k in money_words[:-1]) or c == "se":
        return "£"
    return ""


_AT = {
    "nmb": "net benefit",
    "p_cost_effective": "probability cost-effective",
    "evpi": "EVPI",
    "evpi_per_person": "EVPI per person",
    "evpi_population": "EVPI, the population's",
}


def _header(col: str) -> str:
    """A column's header in words (``nmb_at_20000`` -> ``net benefit at £20,000``)."""
    import re

    m = re.fullmatch(r"(.+)_at_(\d+(?:\.\d+)?)", col)
    if m and m.group(1) in _AT:
        return f"{_AT[m.group(1)]} at £{float(m.group(2)):,.0f}"
    return _HEADERS.get(col, col.replace("_", " "))


def shown(frame, name: str = ""):
    """A table as the report shows it: words for ids, numbers set as in print.

    Ids in the ``metric``, ``arm``/``policy``/``strategy``, ``statistic``, ``field`` and
    ``parameter`` columns become their labels; a ``mean`` with ``ci_low``/``ci_high``
    becomes one "mean (95% CI)" cell (and a difference one "difference (95% CI)"), in
    the metric's unit; other numbers: money in £k/£m, shares in %, the rest to four
    significant figures, with no exponents and no numerical zeros such as ``7.964e-10``;
    missing values "-". The file keeps every column; the page shows these.
    """
    import pandas as pd

    from sim.labels import arm_label, field_label, statistic_label
    from sim.labels import metric as metric_label

    t = frame.copy()
    out = pd.DataFrame(index=t.index)
    units = (
        t["metric"].map(lambda m: metric_label(str(m)).unit)
        if "metric" in t
        else pd.Series("", index=t.index)
    )
    joined = {"mean", "ci_low", "ci_high"} <= set(t.columns)
    diff = {"diff_mean", "diff_ci_low", "diff_ci_high"} <= set(t.columns)
    share_ci = {"power", "ci_low", "ci_high"} <= set(t.columns) and not joined
    change = {"change_mean", "change_ci_low", "change_ci_high"} <= set(t.columns)
    money_rows = "comparison" in t and t["comparison"].astype(str).str.contains("net benefit").all()
    for col in t.columns:
        if col in _DROP or (joined and col in ("ci_low", "ci_high")) or col.startswith("diff_"):
            continue
        if col.startswith("change_") or (share_ci and col in ("ci_low", "ci_high")):
            continue
        if share_ci and col == "power":
            out["power (95% CI)"] = [
                f"{v * 100:.0f}% ({lo * 100:.0f} to {hi * 100:.0f})"
                for v, lo, hi in zip(t["power"], t["ci_low"], t["ci_high"], strict=True)
            ]
            continue
        if money_rows and col in ("outcome_at_low", "outcome_at_high", "base", "width"):
            out[_header(col)] = [money(v) for v in t[col]]
            continue
        if col == "paired_to_unpaired_ci":
            continue
        values = t[col]
        header = _header(col)
        if col == "mean" and joined:
            out["mean (95% CI)"] = [
                estimate(m, lo, hi, u) + ("*" if k in ("log", "logit") else "")
                for m, lo, hi, u, k in zip(
                    t["mean"],
                    t["ci_low"],
                    t["ci_high"],
                    units,
                    t["interval"] if "interval" in t else [""] * len(t),
                    strict=True,
                )
            ]
            if change:
                out["change from the first point (95% CI)"] = [
                    estimate(m, lo, hi, u, True) if pd.notna(m) else ""
                    for m, lo, hi, u in zip(
                        t["change_mean"],
                        t["change_ci_low"],
                        t["change_ci_high"],
                        units,
                        strict=True,
                    )
                ]
            if diff:
                out["difference (95% CI)"] = [
                    estimate(m, lo, hi, u, True) if pd.notna(m) else ""
                    for m, lo, hi, u in zip(
                        t["diff_mean"], t["diff_ci_low"], t["diff_ci_high"], units, strict=True
                    )
                ]
            continue
        if col == "metric":
            out[header] = [metric_label(str(v)).axis() for v in values]
        elif col in ("arm", "policy", "strategy", "compared_with"):
            out[header] = [arm_label(v) if pd.notna(v) else "-" for v in values]
        elif col == "statistic":
            out[header] = [statistic_label(str(v)) for v in values]
        elif col in ("field", "parameter") or col.startswith("set:"):
            out[field_label(col) if col.startswith("set:") else header] = [
                field_label(str(v)) if col in ("field", "parameter") else str(v) for v in values
            ]
        elif pd.api.types.is_bool_dtype(values):
            out[header] = values.map({True: "yes", False: "no"})
        elif pd.api.types.is_numeric_dtype(values):
            kind = _cell_kind(col)
            if col == "threshold":  # a willingness to pay, exactly
                out[header] = [f"£{v:,.0f}" if pd.notna(v) else "-" for v in values]
            elif kind == "£":
                out[header] = [money(v) if pd.notna(v) else "-" for v in values]
            elif kind == "%":
                out[header] = [f"{v * 100:.1f}%" if pd.notna(v) else "-" for v in values]
            elif pd.api.types.is_integer_dtype(values) or (
                values.dropna().size and (values.dropna() % 1 == 0).all() and kind == ""
            ):
                out[header] = [f"{v:,.0f}" if pd.notna(v) else "-" for v in values]
            else:
                out[header] = [_sig(float(v)) if pd.notna(v) else "-" for v in values]
        else:
            out[header] = [" ".join(str(v).split()) if pd.notna(v) else "-" for v in values]
    if name == "evppi.csv" and {"evppi", "se", "evpi"} <= set(t.columns):
        out = _evppi_shown(t, out)
    if {"statistic", "mean", "p2_5", "p97_5"} <= set(t.columns) and not joined:
        out = _spread_shown(t, out)
    if {"published", "simulated_median", "percentile"} <= set(t.columns):
        return _published_shown(t)
    if len(out.columns) > 9 and len(out) <= 8:  # wide and short: a row per column
        first = out.columns[0]
        out = out.set_index(first).T.reset_index(names="")
        out.columns.name = None
    return out


def _published_shown(t):
    """Published figures beside the simulated trials, as the run's printout sets them."""
    import pandas as pd

    from sim.labels import arm_label, statistic_label

    rows = []
    for r in t.itertuples():
        share = str(r.statistic).startswith("p_")
        k, d = (100.0, 1) if share else (1.0, 2)
        pub = f"{r.published * k:g}"
        if pd.notna(r.published_ci_low):
            pub += f" ({r.published_ci_low * k:g} to {r.published_ci_high * k:g})"
        elif pd.notna(getattr(r, "published_sd", float("nan"))):
            pub += f" \u00b1 {r.published_sd * k:g} SD"
        width = getattr(r, "ci_width_vs_simulated", float("nan"))
        rows.append(
            {
                "statistic": statistic_label(str(r.statistic)) + (" (%)" if share else ""),
                "arm": arm_label(r.arm),
                "horizon (days)": "-" if pd.isna(r.horizon_days) else f"{r.horizon_days:g}",
                "published": pub + (" \u2020" if getattr(r, "derived", False) is True else ""),
                "simulated: median (95% of trials)": f"{number(r.simulated_median * k, d)} "
                f"({number(r.simulated_p2_5 * k, d)} to {number(r.simulated_p97_5 * k, d)})",
                "percentile": "-" if pd.isna(r.percentile) else f"{r.percentile:.0f}",
                "published CI width / simulated": "-" if pd.isna(width) else f"{width:.2f}",
                "source": " ".join(str(r.source).split()) if pd.notna(r.source) else "-",
            }
        )
    return pd.DataFrame(rows)


def _spread_shown(t, out):
    """A trial summary's statistics: shares in %, the range of 95% of the trials."""
    share = t["statistic"].astype(str).str.match(r"(p_|power_|coverage_)")

    def f(v: float, pct: bool) -> str:
        if not math.isfinite(v):
            return "-"
        return f"{v * 100:.1f}%" if pct else _sig(v, 3)

    for col in ("mean", "median"):
        out[col] = [f(v, pc) for v, pc in zip(t[col], share, strict=True)]
    out["95% of trials"] = [
        f"{f(lo, pc)} to {f(hi, pc)}" if math.isfinite(lo) else "-"
        for lo, hi, pc in zip(t["p2_5"], t["p97_5"], share, strict=True)
    ]
    return out.drop(columns=[c for c in ("p2 5", "p97 5") if c in out.columns])


def _evppi_shown(t, out):
    """EVPPI with its 95% interval held to [0, EVPI]; one spanning all of it: said."""
    cells = []
    for v, se, total in zip(t["evppi"], t["se"], t["evpi"], strict=True):
        total = max(float(total), 0.0)
        v = min(max(float(v), 0.0), total)
        lo, hi = max(v - 1.96 * se, 0.0), min(v + 1.96 * se, total)
        if total <= 0:
            cells.append("£0 (no value: the same policy is best in every set)")
        elif lo <= 0 and hi >= total:
            cells.append("not estimable from these sets")
        else:
            cells.append(estimate(v, lo, hi, "£"))
    keep = [c for c in out.columns if c not in ("evppi", "se", "evpi")]
    shown_ = out[keep].copy()
    shown_.insert(min(2, len(keep)), "EVPPI (95% interval)", cells)
    if "share" in shown_:  # a share of the EVPI only where the EVPPI is estimable
        vague = [c == "not estimable from these sets" for c in cells]
        shown_.loc[vague, "share"] = "-"
    return shown_
