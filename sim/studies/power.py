"""Power against trial size.

Many simulated trials at each size, analysed as the trial would be, counting how often
the effect is found (p < 0.05).
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


def power(
    scenario: Scenario,
    n_per_arm: list[int],
    replications: int,
    jobs: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> pd.DataFrame:
    """Power (share of simulated trials with p < 0.05 at the primary horizon) by trial size.

    Returns n_per_arm, arm, test (odds ratio / hazard ratio), power, ci_low, ci_high
    (Wilson 95% interval for the share) and replications.
    """
    from statsmodels.stats.proportion import proportion_confint

    h = scenario.outcomes.primary_horizon_days
    rows = []
    for n in n_per_arm:
        result = api.run(with_trial_size(scenario, n), replications=replications, jobs=jobs)
        t = result.trial
        t = t[(t["horizon_days"] == h) & t["hazard_ratio"].notna()]
        for arm, g in t.groupby("arm", sort=False):
            for test, col in (("odds ratio (logistic)", "or_p"), ("hazard ratio (Cox)", "hr_p")):
                p = g[col].dropna()
                k = int((p < 0.05).sum())
                lo, hi = proportion_confint(k, len(p), alpha=0.05, method="wilson")
                rows.append((n, arm, test, k / len(p), lo, hi, len(p)))
        if progress:
            progress(1)
    return pd.DataFrame(
        rows, columns=["n_per_arm", "arm", "test", "power", "ci_low", "ci_high", "replications"]
    )
