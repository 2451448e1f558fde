"""Power against trial size.

Many simulated trials at each size, analysed as the trial would be, counting how often
each endpoint's test finds the effect (p below the endpoint's alpha, 0.05 by default).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import pandas as pd

from sim.analysis.trial import below_alpha, endpoint_tests, reference_arm
from sim.config import Scenario, TrialFeed, variant
from sim.errors import ConfigError, UserError
from sim.labels import arm_label
from sim.printed import TextTable, wrap
from sim.studies.saved import run_worlds
from sim.study import kind

if TYPE_CHECKING:
    from sim.workspace import Workspace

__all__ = ["Power", "power", "power_table", "with_trial_size", "parse_sizes"]


@kind
@dataclass
class Power:
    """A power study (:class:`sim.study.Study`).

    Power by trial size, arm and endpoint test (:func:`power_table`'s columns).
    """

    kind: ClassVar[str] = "power"
    captions: ClassVar[dict[str, str]] = {"power": "Power against patients per arm"}

    scenario: Scenario
    n_per_arm: list[int]
    replications: int
    table: pd.DataFrame

    @property
    def scenarios(self) -> list[Scenario]:
        """The trial scenario."""
        return [self.scenario]

    def tables(self) -> dict[str, pd.DataFrame | str]:
        """power.csv."""
        return {"power.csv": self.table}

    def figures(self) -> dict:
        """Power against trial size, the published trial's size marked."""
        from sim import plots

        pub = self.scenario.outcomes.published
        curve = plots.power_curve(self.table, pub.n_per_arm if pub else None)
        return {"power.png": curve.figure}

    def stamp(self) -> str:
        """``N replications``."""
        return f"{self.replications} replications"

    def manifest(self, files: list[str]) -> dict[str, Any]:
        """Scenario, seed, replications per size, the sizes, the files."""
        return {
            "scenarios": [self.scenario.name],
            "seed": self.scenario.seed,
            "replications": self.replications,
            "n_per_arm": list(self.n_per_arm),
            "files": files,
        }

    def printout(self) -> str:
        """Power by trial size, arm and test, with its 95% interval."""
        return _text(self.table, self.scenario, self.replications)

    def shows(self) -> dict[str, pd.DataFrame]:
        """power.csv."""
        return {"power.csv": self.table}

    def answer(self) -> list[str]:
        """Power at each size, and the smallest size tried with 80%, per test."""
        return _answer(self.table)

    def aims(self) -> str:
        """The sizes tried."""
        return f"Power against patients per arm: {self.n_per_arm}."

    @classmethod
    def read(cls, directory: Path, manifest: dict[str, Any], scenarios: list[Scenario]) -> Power:
        """The power table back from its directory."""
        return cls(
            scenarios[0] if scenarios else None,  # type: ignore[arg-type]
            manifest.get("n_per_arm"),  # type: ignore[arg-type]
            manifest.get("replications") or 0,
            pd.read_csv(directory / "power.csv"),
        )


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
    workspace: Workspace | None = None,
    report: Callable[[str], None] | None = None,
) -> Power:
    """The power study of ``scenario`` at the sizes ``n_per_arm`` (:func:`power_table`)."""
    table = power_table(scenario, n_per_arm, replications, jobs, progress, workspace, report)
    return Power(scenario, list(n_per_arm), replications, table)


def power_table(
    scenario: Scenario,
    n_per_arm: list[int],
    replications: int,
    jobs: int | None = None,
    progress: Callable[[int], None] | None = None,
    workspace: Workspace | None = None,
    report: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """Power (share of simulated trials with p below alpha at the primary horizon) by size.

    One row per trial size, arm and endpoint test
    (:func:`~sim.analysis.trial.endpoint_tests`: the odds and hazard ratios, and the
    count and bed-day tests the scenario's endpoints name, with their alternatives and
    alphas): n_per_arm, arm, test, power, ci_low, ci_high (Wilson 95%
    interval for the share) and replications. ``workspace``, ``report``: saved as it
    goes, and resumable (:func:`sim.studies.saved.run_worlds`).
    """
    from statsmodels.stats.proportion import proportion_confint

    h = scenario.outcomes.primary_horizon_days
    rows = []
    sizes = list(dict.fromkeys(n_per_arm))  # a size given twice is run once
    # every size in each replication's task: one pool for all, no patients tables kept
    results = run_worlds(
        [with_trial_size(scenario, n) for n in sizes],
        replications,
        jobs,
        progress,
        workspace=workspace,
        report=report,
    )
    for n, result in zip(sizes, results, strict=True):
        t = result.trial
        t = t[(t["horizon_days"] == h) & t["hazard_ratio"].notna()]
        for arm, g in t.groupby("arm", sort=False):
            for test in endpoint_tests(scenario):
                k, m = below_alpha(g[test.p_column].to_numpy(float), test.alpha)
                lo, hi = proportion_confint(k, m, alpha=0.05, method="wilson")
                rows.append((n, arm, test.label, k / m, lo, hi, m))
    return pd.DataFrame(
        rows, columns=["n_per_arm", "arm", "test", "power", "ci_low", "ci_high", "replications"]
    )


def _text(table: pd.DataFrame, scenario: Scenario, reps: int) -> str:
    """Power by trial size (rows) and test (columns), with its 95% interval; per arm."""
    h = scenario.outcomes.primary_horizon_days
    out = [
        wrap(
            f"Power at {h:g} days: the share of {reps} simulated trials per size whose p-value "
            "is below the test's alpha (its Wilson 95% CI)."
        )
    ]
    arms = list(dict.fromkeys(table["arm"]))
    for arm in arms:
        g = table[table["arm"] == arm]
        tests = list(dict.fromkeys(g["test"]))
        out.append("")
        if len(arms) > 1:
            out.append(f"{arm_label(arm)} against {arm_label(reference_arm(scenario))}")
        t = TextTable(["Patients per arm", *tests], align="r" * (1 + len(tests)))
        for n, at in g.groupby("n_per_arm", sort=True):
            at = at.set_index("test")
            cells = [
                f"{at.loc[x, 'power'] * 100:.0f}% ({at.loc[x, 'ci_low'] * 100:.0f} to "
                f"{at.loc[x, 'ci_high'] * 100:.0f})"
                if x in at.index
                else "-"
                for x in tests
            ]
            t.add(f"{n:,}", *cells)
        out.append(t.render())
        for x in tests:
            reached = g[(g["test"] == x) & (g["power"] >= 0.8)]["n_per_arm"]
            if len(reached):
                out.append(
                    f"  80% power, {x}: first at {reached.min():,} per arm of the sizes tried"
                )
            else:
                out.append(f"  80% power, {x}: not reached at the sizes tried")
    if reps < 100:
        out.append(
            wrap(
                f"Warning: {reps} simulated trials per size: each power is known only to within "
                "its wide interval; run 500 or more (--reps) for a figure to quote.",
                indent="  ",
            )
        )
    return "\n".join(out)


def _answer(t: pd.DataFrame) -> list[str]:
    """Power at each size, and the smallest size tried with 80%, per test."""
    out = ["How many patients per arm would a trial need to detect the effect?"]
    for test, g in t.groupby("test", sort=False):
        g = g.sort_values("n_per_arm")
        at = ", ".join(f"{p:.0%} at {n:,}" for n, p in zip(g["n_per_arm"], g["power"], strict=True))
        enough = g[g["power"] >= 0.8]
        verdict = (
            f"80% power from {int(enough['n_per_arm'].iloc[0]):,} per arm"
            if len(enough)
            else "80% power not reached at the sizes tried"
        )
        reps = int(g["replications"].iloc[0])
        out.append(f"{test}: power {at} per arm ({reps} simulated trials each); {verdict}.")
    return out
