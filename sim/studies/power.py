"""Power against trial size.

Many simulated trials at each size, analysed as the trial would be, counting how often
each endpoint's test finds the effect (p below the endpoint's alpha, 0.05 by default).
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from sim import api
from sim.config import Scenario, TrialFeed, variant
from sim.errors import ConfigError, UserError

__all__ = ["power", "with_trial_size", "parse_sizes"]


def with_trial_size(scenario: Scenario, n_per_arm: int) -> Scenario:
    """The trial scenario with ``n_per_arm`` patients in each arm (equal allocation)."""
    if not isinstance(scenario.feed, TrialFeed):
        raise ConfigError(f"{scenario.name}: feed.kind: power needs a trial scenario (kind: trial)")
    return variant(
        scenario,
        {
            "feed.n_patients": n_per_arm * len(scenario.arms),
            "feed.allocation": {a.name: 1 for a in scenario.arms},
        },
        f"{scenario.name} at {n_per_arm} per arm",
    )


def parse_sizes(text: str) -> list[int]:
    """``100,200,300`` or ``100..400:50`` -> trial sizes per arm (each at least 2)."""
    try:
        if ".." in text:
            span, _, step = text.partition(":")
            a, b = (int(x) for x in span.split(".."))
            sizes = list(range(a, b + 1, int(step) if step else 1))
        else:
            sizes = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise UserError(
            f"--n-per-arm {text!r}: expected a list (100,200) or a range (100..400:50)"
        ) from None
    if not sizes or min(sizes) < 2:
        raise UserError(f"--n-per-arm {text!r}: sizes must be whole numbers of at least 2")
    return sizes


def tests_of(scenario: Scenario) -> list[tuple[str, str, float]]:
    """Each endpoint's test: its label, the trial.parquet column of its p-value, its alpha."""
    ends = scenario.outcomes.endpoints
    first = ends.first_readmission

    def label(name: str, alternative: str) -> str:
        return name + ("" if alternative == "two-sided" else f", one-sided ({alternative})")

    out = [
        (label("odds ratio (logistic)", first.alternative), "or_p", first.alpha),
        (label("hazard ratio (Cox)", first.alternative), "hr_p", first.alpha),
    ]
    c, b = ends.readmission_count, ends.bed_days
    if c is not None:
        out.append(
            (label(f"readmissions ({c.test.replace('_', ' ')})", c.alternative), "count_p", c.alpha)
        )
    if b is not None:
        out.append(
            (label(f"bed-days ({b.test.replace('_', ' ')})", b.alternative), "bed_days_p", b.alpha)
        )
    return out


def power(
    scenario: Scenario,
    n_per_arm: list[int],
    replications: int,
    jobs: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> pd.DataFrame:
    """Power (share of simulated trials with p below alpha at the primary horizon) by size.

    One row per trial size, arm and endpoint test (:func:`tests_of`: the odds and hazard
    ratios, and the count and bed-day tests the scenario's endpoints name, with their
    alternatives and alphas): n_per_arm, arm, test, power, ci_low, ci_high (Wilson 95%
    interval for the share) and replications.
    """
    from statsmodels.stats.proportion import proportion_confint

    h = scenario.outcomes.primary_horizon_days
    rows = []
    sizes = list(dict.fromkeys(n_per_arm))  # a size given twice is run once
    # every size in each replication's task: one pool for all, no patients tables kept
    results = api.run_many(
        [with_trial_size(scenario, n) for n in sizes], replications, jobs, progress
    )
    for n, result in zip(sizes, results, strict=True):
        t = result.trial
        t = t[(t["horizon_days"] == h) & t["hazard_ratio"].notna()]
        for arm, g in t.groupby("arm", sort=False):
            for test, col, alpha in tests_of(scenario):
                p = g[col].dropna()
                k = int((p < alpha).sum())
                lo, hi = proportion_confint(k, len(p), alpha=0.05, method="wilson")
                rows.append((n, arm, test, k / len(p), lo, hi, len(p)))
    return pd.DataFrame(
        rows, columns=["n_per_arm", "arm", "test", "power", "ci_low", "ci_high", "replications"]
    )
