"""What people read in place of identifiers: metric and field labels with units.

Tables keep their identifiers (``p_readmit_365d``, ``peer_workers.count``); figures
and the report show these labels. One place, so a metric reads the same in every
figure. Definitions of the metrics: docs/outputs.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "Metric",
    "metric",
    "statistic_label",
    "field_label",
    "arm_label",
    "signed_pounds",
    "FOREST_METRICS",
    "MAIN_METRICS",
    "ECONOMICS",
    "DEFAULT_METRICS",
    "CAPACITY_CAPTION",
]


@dataclass(frozen=True)
class Metric:
    """How a metric is shown.

    ``unit``: ``"%"`` (a share, shown x100; its differences in percentage points),
    ``"£"``, a plain unit (``"days"``, ``"patients"``...), or ``""`` where the label
    says it (``"readmissions per year"``). ``better``: ``"lower"``,
    ``"higher"`` or ``None`` (neither, e.g. sessions delivered).
    """

    label: str
    unit: str
    better: str | None = "lower"
    signed: bool = False  # may be negative (a difference, a net benefit); else at least 0

    @property
    def bounds(self) -> tuple[float | None, float | None]:
        """The values the metric can take: a share [0, 1], else [0, inf), or unbounded."""
        if self.signed:
            return None, None
        return 0.0, (1.0 if self.unit == "%" else None)

    @property
    def scale(self) -> float:
        """Factor from the table's value to the shown value (shares to %)."""
        return 100.0 if self.unit == "%" else 1.0

    def axis(self, difference: bool = False) -> str:
        """The axis label: the metric with its unit (a difference of shares in points)."""
        if self.unit == "%":
            unit = "percentage points" if difference else "%"
        else:
            unit = self.unit
        return f"{self.label} ({unit})" if unit else self.label

    def difference(self, v: float, lo: float, hi: float) -> str:
        """A difference and its interval in the metric's unit (shares in points)."""
        if self.unit == "£":
            return f"{signed_pounds(v)} ({signed_pounds(lo)} to {signed_pounds(hi)})"
        unit = " pp" if self.unit == "%" else (f" {self.unit}" if self.unit else "")
        v, lo, hi = (z * self.scale for z in (v, lo, hi))
        return f"{v:+,.3g}{unit} ({lo:+,.3g} to {hi:+,.3g})"


def signed_pounds(v: float) -> str:
    """A difference in pounds: -£1,200 or +£1,200."""
    return f"{'-' if v < 0 else '+'}£{abs(v):,.0f}"


_METRICS = {
    "patients": Metric("patients", "", None),
    "readmissions_per_100": Metric("readmissions per 100 patients", ""),
    "readmissions_per_year": Metric("readmissions per year", ""),
    "acute_days_per_patient": Metric("days in acute care per patient", "days"),
    "ward_days_per_patient": Metric("ward days per patient", "days"),
    "p_offered": Metric("offered peer support", "%", None),
    "sessions_attended_mean": Metric("sessions attended, mean", "sessions", "higher"),
    "p_attended_3plus": Metric("attended 3 or more sessions", "%", "higher"),
    "p_attended_all": Metric("attended every session", "%", "higher"),
    "p_started": Metric("started peer support when offered", "%", "higher"),
    "wait_days_mean": Metric("wait for a first session", "days"),
    "p_died": Metric("died", "%"),
    "p_lost": Metric("lost to follow-up", "%", None),
    "ward_occupancy_mean": Metric("ward beds occupied, mean", "beds"),
    "ward_occupancy_peak": Metric("ward beds occupied, peak", "beds"),
    "out_of_area_per_year": Metric("out-of-area admissions per year", ""),
    "out_of_area_days_per_year": Metric("out-of-area bed-days per year", ""),
    "ward_bed_days_per_year": Metric("ward bed-days per year", ""),
    "crt_days_per_year": Metric("CRT home-treatment days per year", ""),
    "sessions_offered_per_year": Metric("sessions offered per year", "", None),
    "sessions_delivered_per_year": Metric("sessions delivered per year", "", None),
    "waiting_list_mean": Metric("waiting for a peer worker, mean", "patients"),
    "waiting_list_peak": Metric("waiting for a peer worker, peak", "patients"),
    "peer_places_in_use_mean": Metric("peer-worker places in use, mean", "places", None),
    "peer_utilisation": Metric("peer-worker places in use", "%", None),
    "cost_acute_per_year": Metric("acute-care cost per year", "£"),
    "cost_peer_support_per_year": Metric("peer-support cost per year", "£"),
    "cost_total_per_year": Metric("cost per year", "£"),
    "qalys_discounted": Metric("QALYs, discounted", "QALYs", "higher"),
    "cost_discounted": Metric("cost, discounted", "£"),
    "incremental_cost_per_year": Metric("extra cost per year", "£", signed=True),
    "readmissions_averted_per_year": Metric(
        "readmissions averted per year", "", "higher", signed=True
    ),
    "bed_days_saved_per_year": Metric("bed-days saved per year", "", "higher", signed=True),
    "cost_per_readmission_averted": Metric("cost per readmission averted", "£", signed=True),
    "cost_per_bed_day_saved": Metric("cost per bed-day saved", "£", signed=True),
    "net_monetary_benefit_per_year": Metric(
        "net benefit per year, readmissions averted valued", "£", "higher", signed=True
    ),
}

# the metrics that matter most, in the order every printout and figure shows them (the
# metric selections of the package are these lists, and their definitions docs/outputs.md):
# compare prints these and the economics; its ranking notes read these
MAIN_METRICS = [
    "readmissions_per_100",
    "p_readmit_30d",
    "p_readmit_90d",
    "p_readmit_365d",
    "ward_bed_days_per_year",
    "ward_occupancy_mean",
    "ward_occupancy_peak",
    "out_of_area_per_year",
    "wait_days_mean",
    "waiting_list_mean",
    "p_started",
    "sessions_delivered_per_year",
    "peer_utilisation",
    "p_died",
    "cost_total_per_year",
]
ECONOMICS = [
    "incremental_cost_per_year",
    "readmissions_averted_per_year",
    "bed_days_saved_per_year",
    "cost_per_readmission_averted",
    "cost_per_bed_day_saved",
    "net_monetary_benefit_per_year",
]

# a sweep plots and prints these when the user names no --metric
DEFAULT_METRICS = [
    m
    for m in MAIN_METRICS
    if m
    in {
        "p_readmit_365d",
        "wait_days_mean",
        "waiting_list_mean",
        "ward_occupancy_mean",
        "cost_total_per_year",
    }
]

# compare's forest plot: what a board asks of a policy, in this order
FOREST_METRICS = [
    "readmissions_per_year",
    "p_readmit_365d",
    "ward_bed_days_per_year",
    "out_of_area_per_year",
    "waiting_list_mean",
    "wait_days_mean",
    "cost_total_per_year",
    "qalys_discounted",
    "net_monetary_benefit_per_year",
]


# what the capacity figure shows (a run's, a comparison's), under it in the report
CAPACITY_CAPTION = (
    "Ward occupancy (and the peer-support waiting list, where there is one) over the run"
)


def metric(name: str) -> Metric:
    """The label, unit and direction of a metric id (unknown ids read as themselves)."""
    if name in _METRICS:
        return _METRICS[name]
    m = re.fullmatch(r"p_readmit_(\d+(?:\.\d+)?)d", name)
    if m:
        days = float(m.group(1))
        when = {365: "a year", 730: "two years"}.get(int(days), f"{days:g} days")
        return Metric(f"readmitted within {when}", "%")
    return Metric(name.replace("_", " "), "", None, signed=True)  # nothing known of it


# the published statistics a scenario can give (outcomes.published)
_STATISTICS = {
    "p_readmitted": "readmitted",
    "odds_ratio": "odds ratio",
    "hazard_ratio": "hazard ratio",
    "readmissions_mean": "readmissions per person, mean",
    "readmissions_mcf": "readmissions per person (mean cumulative function)",
}


def statistic_label(name: str) -> str:
    """A published statistic's id as words (``p_attended_all`` -> ``attended every session``)."""
    return _STATISTICS.get(name) or metric(name).label


def arm_label(name: str) -> str:
    """An arm or policy id as words: ``peer_support`` -> ``peer support``."""
    return str(name).replace("_", " ")


def field_label(path: str) -> str:
    """A dotted scenario field as words, its last parts first.

    ``peer_workers.count`` -> ``peer workers: count``;
    ``acute_care.ward.length_of_stay.mean_days`` -> ``ward length of stay: mean days``;
    ``arms.*.effect.hazard_ratio`` -> ``effect: hazard ratio (every arm)``.
    """
    parts = path.removeprefix("set:").split(".")
    every = ""
    if len(parts) > 2 and parts[0] == "arms":
        every = " (every arm)" if parts[1] == "*" else f" ({arm_label(parts[1])})"
        parts = parts[2:]
    words = [p.replace("_", " ") for p in parts]
    head = " ".join(words[-3:-1])
    return (f"{head}: {words[-1]}" if head else words[-1]) + every
