"""Sweep a scenario's fields over values, under common random numbers.

Every point of the grid runs the same replications with the same seed, so each
replication sees the same patients with the same draws at every point: differences
along the sweep are the field's doing, not new noise. A policy the swept field leaves
alone is the same at every point and is simulated once per replication
(:func:`sim.api.run_many`).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import pandas as pd
from yaml import YAMLError

from sim.analysis.intervals import t_half_width
from sim.config import ConfigError, Scenario, variant
from sim.config.loader import scalar
from sim.labels import DEFAULT_METRICS, FOREST_METRICS, arm_label, field_label, metric
from sim.printed import BOUND_NOTE, TextTable, block_decimals, estimate, marked, wrap
from sim.runner import Dask
from sim.studies.saved import run_worlds
from sim.study import kind

if TYPE_CHECKING:
    from sim.workspace import Workspace

__all__ = ["Sweep", "parse_set", "sweep", "DEFAULT_METRICS"]


@kind
@dataclass
class Sweep:
    """A sweep's result, as a study (:class:`sim.study.Study`).

    ``summary``: tidy, ``set:<field>`` columns, arm, metric, mean, ci_low, ci_high,
    replications and the paired differences; ``per_replication``: every metric of
    every replication with the same ``set:`` columns; ``shown``: the metrics plotted
    and printed.
    """

    kind: ClassVar[str] = "sweep"
    captions: ClassVar[dict[str, str]] = {
        "sweep": "Each metric along the sweep, and the paired difference",
    }

    scenario: Scenario
    settings: list[tuple[str, list[Any]]]
    replications: int
    summary: pd.DataFrame
    per_replication: pd.DataFrame = field(default_factory=pd.DataFrame)
    shown: list[str] = field(default_factory=lambda: list(DEFAULT_METRICS))

    @property
    def scenarios(self) -> list[Scenario]:
        """The scenario swept."""
        return [self.scenario]

    def tables(self) -> dict[str, pd.DataFrame | str]:
        """sweep.csv and sweep_metrics.parquet."""
        return {"sweep.csv": self.summary, "sweep_metrics.parquet": self.per_replication}

    def figures(self) -> dict:
        """Each metric shown against the swept field."""
        from sim import plots

        return {"sweep.png": plots.sweep_curves(self.summary, self.shown)}

    def stamp(self) -> str:
        """``N replications``."""
        return f"{self.replications} replications"

    def manifest(self, files: list[str]) -> dict[str, Any]:
        """Scenario, seed, replications, the fields and their values, the files."""
        return {
            "scenarios": [self.scenario.name],
            "seed": self.scenario.seed,
            "replications": self.replications,
            "sets": {path: list(values) for path, values in self.settings},
            "files": files,
        }

    def printout(self) -> str:
        """One row per point and arm, one column per metric shown."""
        return _text(self.summary, self.shown, self.scenario, self.replications)

    def shows(self) -> dict[str, pd.DataFrame]:
        """sweep.csv."""
        return {"sweep.csv": self.summary}

    def answer(self) -> list[str]:
        """How the main metrics move along the sweep, as paired differences."""
        return _answer(self.summary)

    def aims(self) -> str:
        """The fields swept."""
        return f"Fields swept: {dict(self.settings)}."

    @classmethod
    def read(cls, directory: Path, manifest: dict[str, Any], scenarios: list[Scenario]) -> Sweep:
        """The sweep's summary back from its directory."""
        sets = manifest.get("sets")
        settings = list(sets.items()) if isinstance(sets, dict) else []
        return cls(
            scenarios[0] if scenarios else None,  # type: ignore[arg-type]
            settings,
            manifest.get("replications") or 0,
            pd.read_csv(directory / "sweep.csv"),
        )


def parse_set(text: str) -> tuple[str, list[Any]]:
    """``path=1..10`` (step 1), ``path=0.5..0.9:0.1``, or ``path=a,b,c`` -> (path, values)."""
    path, sep, spec = text.partition("=")
    if not sep or not path or not spec:
        raise ConfigError(f"--set {text!r}: expected PATH=VALUES, e.g. peer_workers.count=1..10")
    try:
        if ".." in spec:
            span, _, step = spec.partition(":")
            a_text, b_text = span.split("..")
            nums = [scalar(x) for x in (a_text, b_text, step or "1")]
            if not all(isinstance(x, int | float) and not isinstance(x, bool) for x in nums):
                raise ValueError
            a, b, st = nums
            if st <= 0 or b < a:
                raise ValueError
            count = int(math.floor((b - a) / st + 1e-9)) + 1
            values = [a + i * st for i in range(count)]
            if all(isinstance(x, int) for x in nums):
                values = [int(v) for v in values]
            else:
                values = [round(v, 12) for v in values]
        else:
            values = [scalar(x) for x in spec.split(",")]
    except (ValueError, YAMLError):
        raise ConfigError(
            f"--set {text!r}: values must be a range (1..10, 0.5..0.9:0.1) or a list (a,b,c)"
        ) from None
    if len(values) > 1000:
        raise ConfigError(f"--set {text!r}: {len(values)} values; at most 1000")
    return path, values


def sweep(
    scenario: Scenario,
    settings: list[tuple[str, list[Any]]],
    replications: int,
    jobs: int | None = None,
    progress: Callable[[int], None] | None = None,
    dask: Dask | None = None,
    metrics: Sequence[str] = (),
    workspace: Workspace | None = None,
    report: Callable[[str], None] | None = None,
) -> Sweep:
    """Run every point of the grid of ``settings`` with the same seed.

    ``metrics``: those to plot and print (default :data:`DEFAULT_METRICS`); one the
    scenario does not have raises :class:`~sim.errors.ConfigError`, after the run.
    ``workspace``, ``report``: saved as it goes, and resumable
    (:func:`sim.studies.saved.run_worlds`).
    """
    grid = list(itertools.product(*[values for _, values in settings]))
    paths = [p for p, _ in settings]
    # validate every point before running any
    points = [
        (
            vals,
            variant(
                scenario,
                dict(zip(paths, vals, strict=True)),
                "--set " + ", ".join(f"{p}={v}" for p, v in zip(paths, vals, strict=True)),
            ),
        )
        for vals in grid
    ]
    summaries, all_metrics = [], []
    # each replication runs every point, each distinct policy once (a policy the swept
    # field does not touch is simulated once, not once per point)
    results = run_worlds(
        [sc for _, sc in points],
        replications,
        jobs,
        progress,
        dask,
        timeseries=False,
        workspace=workspace,
        report=report,
    )
    for (vals, _), r in zip(points, results, strict=True):
        cols = {f"set:{p}": v for p, v in zip(paths, vals, strict=True)}
        summaries.append(r.summary.assign(**cols))
        all_metrics.append(r.metrics.assign(**cols))
    summary = pd.concat(summaries, ignore_index=True)
    front = [f"set:{p}" for p in paths]
    summary = summary[front + [c for c in summary.columns if c not in front]]
    per_rep = pd.concat(all_metrics, ignore_index=True)
    summary = _with_differences(summary, per_rep, front)
    unknown = sorted(set(metrics) - set(summary["metric"]))
    if unknown:
        raise ConfigError(
            f"--metric {', '.join(unknown)}: not a metric of this scenario (see docs/outputs.md)"
        )
    shown = list(metrics) or list(DEFAULT_METRICS)
    return Sweep(scenario, list(settings), replications, summary, per_rep, shown)


def _paired(diff: pd.Series, keys: list[str], prefix: str) -> pd.DataFrame:
    """Mean and 95% t-interval of paired differences (one per replication) by ``keys``."""
    g = diff.dropna().groupby(keys, sort=False)
    out = g.agg(mean="mean", sd="std", n="count")
    half = t_half_width(out["sd"], out["n"]).where(out["n"] > 1)
    return pd.DataFrame(
        {
            f"{prefix}_mean": out["mean"],
            f"{prefix}_ci_low": out["mean"] - half,
            f"{prefix}_ci_high": out["mean"] + half,
        }
    )


def _with_differences(
    summary: pd.DataFrame, per_rep: pd.DataFrame, sets: list[str]
) -> pd.DataFrame:
    """``summary`` with two paired differences, each taken replication by replication.

    ``diff_*``: each arm minus the first arm at the same point (empty for the first
    arm); ``change_*``: each point minus the sweep's first point, same arm (zero
    there). Under common random numbers both are much narrower than the difference of
    the two intervals.
    """
    keys = [*sets, "metric", "replication"]
    value = per_rep.set_index([*keys, "arm"])["value"]
    arms = list(dict.fromkeys(per_rep["arm"]))
    wide = value.unstack("arm")[arms]
    vs_arm = wide.sub(wide[arms[0]], axis=0).drop(columns=arms[0]).stack().rename("d")
    first = per_rep[(per_rep[sets] == per_rep[sets].iloc[0]).all(axis=1)]
    start = first.set_index(["metric", "replication", "arm"])["value"]
    joined = per_rep.join(start.rename("start"), on=["metric", "replication", "arm"])
    change = (joined["value"] - joined["start"]).set_axis(
        pd.MultiIndex.from_frame(joined[[*sets, "metric", "replication", "arm"]])
    )
    by = [*sets, "arm", "metric"]
    d = _paired(vs_arm, by, "diff")
    c = _paired(change, by, "change")
    return summary.join(d, on=by).join(c, on=by)


def _text(summary: pd.DataFrame, metrics: list[str], scenario: Scenario, reps: int) -> str:
    """A block per metric shown: a row per point, a column per arm, mean (95% CI).

    An arm the swept fields do not touch (the same at every point: simulated once) is a
    line of its own, not a column repeated at every point.
    """
    cols = [c for c in summary.columns if c.startswith("set:")]
    fields = ", ".join(field_label(c) for c in cols)
    out = [
        wrap(
            f"Sweep of {scenario.name} over {fields} ({reps} replications per point, common "
            "random numbers). Mean over replications (95% CI)."
        )
    ]
    starred = False
    for name in metrics:
        view = summary[(summary["metric"] == name) & summary["mean"].notna()]
        if view.empty:
            continue
        m = metric(name)
        label = m.label[0].upper() + m.label[1:]
        d = block_decimals(view["mean"], view["ci_low"], view["ci_high"], m.unit)
        out += ["", f"{label} ({m.unit})" if m.unit else label]
        varying = []
        for arm, g in view.groupby("arm", sort=False):
            cells = list(zip(g["mean"], g["ci_low"], g["ci_high"], strict=True))
            if len(g) > 1 and len(set(cells)) == 1:  # untouched by the fields swept
                text = estimate(*cells[0], m.unit, decimals=d)
                out.append(f"  {arm_label(arm)}, the same at every point: {text}")
            else:
                varying.append(arm)
        if not varying:
            continue
        t = TextTable([f"  {fields}", *(arm_label(a) for a in varying)])
        points = view[cols].drop_duplicates()
        for _, point in points.iterrows():
            at = view[(view[cols] == point.to_numpy()).all(axis=1)].set_index("arm")
            cells = []
            for arm in varying:
                if arm not in at.index:
                    cells.append("-")
                    continue
                r = at.loc[arm]
                cell, star = marked(
                    r["mean"], r["ci_low"], r["ci_high"], r.get("interval"), m.unit, decimals=d
                )
                starred = starred or star
                cells.append(cell)
            t.add(
                "  " + ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in point),
                *cells,
            )
        out.append(t.render())
    if starred:
        out += ["", wrap(BOUND_NOTE, indent="  ")]
    return "\n".join(out)


def _answer(t: pd.DataFrame) -> list[str]:
    """How the main metrics move along the sweep, as paired differences, in words."""
    x = next(c for c in t.columns if c.startswith("set:"))
    first, last = t[x].iloc[0], t[x].iloc[-1]
    arms = list(dict.fromkeys(t["arm"]))
    out = [f"How do the main outcomes change with {field_label(x)}, from {first} to {last}?"]
    for name in (m for m in FOREST_METRICS if m in set(t["metric"])):
        m = metric(name)
        d = t[t["metric"] == name]

        parts = []
        for arm in arms[1:]:
            g = d[(d["arm"] == arm) & d["diff_mean"].notna()]
            if len(g) >= 2:
                a, b = g.iloc[0], g.iloc[-1]
                parts.append(
                    f"{arm_label(arm)} minus {arm_label(arms[0])}: "
                    f"{m.difference(a.diff_mean, a.diff_ci_low, a.diff_ci_high)} at {a[x]}, "
                    f"{m.difference(b.diff_mean, b.diff_ci_low, b.diff_ci_high)} at {b[x]}"
                )
        if not parts:  # one arm, or the first arm lacks the metric: along the sweep
            for arm in arms:
                g = d[(d["arm"] == arm) & d["change_mean"].notna()]
                if len(g) >= 2:
                    b = g.iloc[-1]
                    parts.append(
                        f"{arm_label(arm)}, from {first} to {b[x]}: "
                        f"{m.difference(b.change_mean, b.change_ci_low, b.change_ci_high)}"
                    )
        if parts:
            out.append(f"{m.label[0].upper()}{m.label[1:]}: " + "; ".join(parts) + ".")
    out.append(
        "Differences are paired by replication (the same patients at every value and under "
        "every arm), with 95% confidence intervals."
    )
    return out
