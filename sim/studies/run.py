"""A run: the replications of one scenario, every arm on the same patients.

:func:`run_to_directory` is what ``crisis-sim run`` does: :func:`sim.api.run` with
its finished replications saved as they finish (so a stopped run is finished with
``resume=True``), and the run directory written (docs/outputs.md). :class:`Run` is
the finished run as a study (:class:`sim.study.Study`): the tables it writes, its
figures, what it prints and what its report says.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd

from sim.analysis.published import NARROW
from sim.analysis.trial import reference_arm
from sim.config import Scenario, TrialFeed, resolved_yaml
from sim.errors import CrisisSimWarning
from sim.labels import CAPACITY_CAPTION, arm_label, metric, statistic_label
from sim.printed import (
    BOUND_NOTE,
    TextTable,
    block_decimals,
    marked,
    number,
    share_of,
    wrap,
)
from sim.results import RunResult
from sim.study import kind, read_table
from sim.workspace import Workspace

__all__ = ["OUTPUT_FILES", "Run", "run_to_directory"]

OUTPUT_FILES = {
    "scenario.resolved.yaml": "the scenario with every default filled in (and --seed applied)",
    "scenario.notes.csv": "each field of the scenario file: the file and line that set it, and "
    "the comment there (written when the run is made from a file)",
    "manifest.json": "command, seed, replications, versions, git commit, times, machine",
    "patients.parquet": "one row per patient per replication (docs/outputs.md)",
    "metrics.parquet": "long table: replication, arm, metric, value",
    "summary.csv": "per arm and metric: mean, 95% CI across replications, sd, replications",
    "events": "the event log, a directory of Parquet parts (with --events only)",
    "trial.parquet": "trial scenarios: statistics per simulated trial, horizon and arm",
    "trial_summary.csv": "trial scenarios: across trials: mean, median, 2.5-97.5%, power, coverage",
    "attendance.parquet": "trial scenarios: share attending k sessions, per trial and arm",
    "timeseries.parquet": "weekly ward beds occupied, waiting list, peer places in use, per run "
    "(services, and trials that limit beds or workers)",
    "capacity.png": "ward occupancy and the peer-support waiting list over time",
    "km.png": "trial scenarios: time to first readmission by arm (Kaplan-Meier)",
    "hazard_ratios.png": "trial scenarios: distribution of the simulated trials' hazard ratios",
    "attendance.png": "trial scenarios: sessions attended against the published shares",
    "mcf.csv": "trials with the readmission-count endpoint: mean cumulative readmissions per "
    "person, by arm, weekly, per simulated trial",
    "mcf.png": "the same: median and 95% of the simulated trials, published counts marked",
    "published.csv": "trials with published results: each published figure, the simulated "
    "distribution of the same statistic, and its percentile among the simulated trials",
    "published.png": "the same, one panel per published figure",
}


@kind
@dataclass
class Run:
    """A finished run as a study: :class:`~sim.results.RunResult` and how it is shown.

    ``replications``: how many were run; ``jobs``: on how many processes (None for a
    run read back from its directory).
    """

    kind: ClassVar[str] = "run"
    captions: ClassVar[dict[str, str]] = {
        "km": "Time to first readmission by arm (Kaplan-Meier), with the numbers at risk and "
        "the published one-year figures",
        "hazard_ratios": "Hazard ratios of the simulated trials against the published one",
        "published": "Each published figure among the simulated trials' values",
        "attendance": "Peer-support sessions attended: share of those offered attending at "
        "least k sessions",
        "mcf": "Mean cumulative readmissions per person",
        "capacity": CAPACITY_CAPTION,
    }

    result: RunResult
    replications: int
    jobs: int | None = None

    @property
    def scenarios(self) -> list[Scenario]:
        """The scenario run."""
        return [self.result.scenario]

    # ------------------------------------------------------------------ the directory
    def tables(self) -> dict[str, pd.DataFrame | str]:
        """The run's tables (a trial's and the weekly series only where they apply)."""
        r = self.result
        named = {
            "patients.parquet": r.patients,
            "metrics.parquet": r.metrics,
            "summary.csv": r.summary,
            "timeseries.parquet": r.timeseries,
            "trial.parquet": r.trial,
            "trial_summary.csv": r.trial_summary,
            "attendance.parquet": r.attendance,
            "mcf.csv": r.mcf,
            "published.csv": r.published,
        }
        return {name: t for name, t in named.items() if t is not None}

    def figures(self) -> dict:
        """Capacity over time; for a trial, survival, hazard ratios and attendance.

        The trial figures show the published figures, where the scenario gives them.
        """
        from sim import plots
        from sim.analysis.published import published_figures, simulated_values
        from sim.figures import capacity_figure

        result = self.result
        sc = result.scenario
        out: dict = {}
        if result.timeseries is not None:
            out["capacity.png"] = capacity_figure(result.timeseries, sc)
        if result.trial is not None:
            pub, h = published_figures(sc), sc.outcomes.primary_horizon_days
            patients = result.patients if result.patients is not None else result.survival
            out["km.png"] = plots.km_by_arm(patients, h, pub).figure
            alpha = sc.outcomes.endpoints.first_readmission.alpha
            out["hazard_ratios.png"] = plots.hazard_ratio_distribution(
                result.trial, h, pub, alpha=alpha
            ).figure
            out["attendance.png"] = plots.attendance_plot(result.attendance, pub).figure
            if result.mcf is not None:
                out["mcf.png"] = plots.mean_cumulative_readmissions(
                    result.mcf, result.published
                ).figure
            if result.published is not None and len(result.published):
                values = [
                    simulated_values(
                        result.trial, result.metrics, sc, r.statistic, r.arm, r.horizon_days
                    )
                    if pd.notna(r.horizon_days)
                    else simulated_values(result.trial, result.metrics, sc, r.statistic, r.arm)
                    for r in result.published.itertuples()
                ]
                out["published.png"] = plots.published_against_simulated(result.published, values)
        return out

    def stamp(self) -> str:
        """``N replications``."""
        return f"{self.replications} replications"

    def manifest(self, files: list[str]) -> dict[str, Any]:
        """Scenario, seed, replications, processes, files described, replications resumed."""
        r = self.result
        return {
            "scenario": r.scenario.name,
            "seed": r.scenario.seed,
            "replications": self.replications,
            "jobs": self.jobs,
            "files": {
                name: desc
                for name, desc in OUTPUT_FILES.items()
                if name != "events" or r.events is not None or r.events_dir is not None
            },
            "resumed_replications": r.resumed,
        }

    # ------------------------------------------------------------------ what it says
    def printout(self) -> str:
        """The summary table; for a trial, its analysis and the published figures."""
        r = self.result
        parts = [_summary_text(r.summary, r.scenario, self.replications, r.wall_seconds or 0.0)]
        if r.trial_summary is not None:
            parts.append(_trial_text(r.trial_summary, r.attendance, r.scenario))
            if r.published is not None and len(r.published):
                parts.append(_published_text(r.published))
        return "\n\n".join(parts)

    def shows(self) -> dict[str, pd.DataFrame]:
        """The summary, a trial's summary and the published figures."""
        r = self.result
        named = {
            "summary.csv": r.summary,
            "trial_summary.csv": r.trial_summary,
            "published.csv": r.published,
        }
        return {name: t for name, t in named.items() if t is not None}

    def answer(self) -> list[str]:
        """A trial's result at the primary horizon; a service's main outcomes by arm."""
        r = self.result
        if r.trial_summary is not None:
            return _trial_answer(r.trial_summary)
        return _service_answer(r.summary)

    def aims(self) -> str:
        """The replications, every arm on the same patients."""
        return (
            f"{self.replications} replications of the scenario, every arm (policy) on the same "
            "patients."
        )

    @classmethod
    def read(cls, directory: Path, manifest: dict[str, Any], scenarios: list[Scenario]) -> Run:
        """The run's summaries back from its directory (what the report shows)."""
        summary = read_table(directory, "summary.csv")
        if summary is None and not (directory / "trial_summary.csv").is_file():
            raise FileNotFoundError(directory / "summary.csv")
        result = RunResult(scenarios[0] if scenarios else None, None, None, summary)  # type: ignore[arg-type]
        result.trial_summary = read_table(directory, "trial_summary.csv")
        result.published = read_table(directory, "published.csv")
        return cls(result, manifest.get("replications"), manifest.get("jobs"))  # type: ignore[arg-type]


def run_to_directory(
    scenario: Scenario,
    out: Path | None = None,
    *,
    replications: int | Sequence[int] | None = None,
    jobs: int | None = None,
    events: bool = False,
    resume: bool = False,
    force: bool = False,
    dask=None,
    progress: Callable[[int], None] | None = None,
    report: Callable[[str], None] | None = None,
    command: list[str] | None = None,
    sources: Sequence[tuple[str, Scenario | str | Path]] = (),
    saved_in: Path | None = None,
) -> Run:
    """Run a scenario and write its run directory, saving replications as they finish.

    What ``crisis-sim run`` does. Finished replications are saved beside ``out`` as they
    finish; if the run is stopped (Ctrl-C) or a worker dies, calling this again with
    ``resume=True`` (same scenario, seed and ``out``) runs only what is missing and
    gives the same tables as an uninterrupted run.

    Parameters
    ----------
    scenario
        A validated scenario (its seed is the run's).
    out
        The run directory; default ``runs/<scenario>-<timestamp>``.
    replications
        Number of replications, or a list of indices. Default: the scenario's; on
        resume, those the run was started with (another number is said, and the
        replications saved outside it are dropped).
    jobs
        Worker processes (default: one per core).
    events
        Also write the event log (``events/``, Parquet parts written by the workers).
    resume
        Finish the interrupted run whose directory ``out`` was (every saved batch is
        verified first; any damaged, foreign or doubled is set aside and run again).
    saved_in
        With ``resume``: the interrupted run's directory, when the result is to be
        written to another ``out`` (its disk full or read-only, say).
    force
        Replace an existing directory (or a saved interrupted run) at ``out``.
    dask
        Run on a Dask cluster (:class:`sim.runner.Dask`; same results).
    progress
        Called with the number of replications just finished (or found saved).
    report
        Called with a line for the user: how many replications a resumed run found.
    command
        The command line recorded in ``manifest.json`` (default: this process's).
    sources
        (scenario name, file) where the scenario was read from a file: for
        ``scenario.notes.csv`` (:class:`~sim.workspace.Workspace`).

    Returns
    -------
    Run
        The run as a study; its ``result`` has the tables, with ``out``,
        ``wall_seconds`` and ``resumed`` set. The result's ``patients`` is None: the
        patients table is written to ``out/patients.parquet`` batch by batch and never
        held whole (``pandas.read_parquet`` reads it back).

    Raises
    ------
    OutputExists
        ``out`` exists (without ``force``), holds an interrupted run (without
        ``resume`` or ``force``), has nothing to resume, has finished already, or was
        a run of another scenario or seed.
    DirectoryInUse
        Another live process is writing ``out``.
    CannotWrite
        ``out`` cannot be written (checked before any work: names too long, a path
        through a file, no permission), or the disk refused a write during the run or
        at its end; says how many replications are saved.
    RunInterrupted
        Stopped by Ctrl-C, SIGTERM or SIGHUP; says how many replications are saved, and
        the signal.
    WorkerDied
        A worker process died; says how many replications are saved.
    ReplicationFailed
        A replication raised; the others that finished are saved.

    Warns
    -----
    CrisisSimWarning
        When the run looks long (over about ten minutes).
    """
    from sim import api
    from sim.runner import default_jobs

    asked = None
    if replications is not None:
        asked = list(range(replications)) if isinstance(replications, int) else list(replications)
    elif not resume:
        asked = list(range(scenario.replications))
    jobs = jobs or default_jobs()
    ws = Workspace(
        out,
        scenario.name,
        force=force,
        marker=resolved_yaml(scenario),
        resume=resume,
        sources=sources,
        command=command,
        replications=asked,
        saved_in=saved_in,
    )
    store = ws.store
    assert store is not None
    # a resume finishes the run that was started, unless told otherwise (and then says so)
    reps = ws.replications if ws.replications is not None else list(range(scenario.replications))
    started = store.started_with
    if resume and report:
        for line in ws.verified.lines() if ws.verified else []:
            report(line)
        if asked is not None and started is not None and asked != started:
            beyond = len(store.held() - set(asked))
            report(
                f"resuming with {len(asked)} replications, not the {len(started)} the run "
                "was started with"
                + (f": {beyond} saved replication(s) outside them are dropped" if beyond else "")
            )
    # replications saved by an attempt without events are run again with --events
    # the patients tables stay on disk but for what a trial's figures read
    kept = api.SURVIVAL_COLUMNS if scenario.is_trial else False
    saved = store.saved_batches(reps, events=events, patients=kept) if resume else []
    n_saved = sum(len(b.replications) for b in saved)
    warning = api.size_warning(scenario, len(reps) - n_saved, jobs)
    if warning:
        warnings.warn(warning, CrisisSimWarning, stacklevel=2)
    if saved and report:
        report(f"resuming: {n_saved} of {len(reps)} replications were saved")
    t0 = time.perf_counter()
    with ws.saving(len(reps)):
        result = api.run(
            scenario,
            replications=reps,
            jobs=jobs,
            events=events,
            events_dir=store.events if events else None,
            progress=progress,
            saved=saved,
            on_results=store.save_batch,
            dask=dask,
            keep_patients=False,  # saved batch by batch; streamed into the file below
        )
    result.wall_seconds = time.perf_counter() - t0
    result.out, result.resumed = ws.out, n_saved
    study = Run(result, len(reps), jobs)
    ws.write(
        study,
        streamed={"patients.parquet": store.write_patients},
        events=reps if events else None,
        wall_seconds=result.wall_seconds,
    )
    return study


# ---------------------------------------------------------------------- printouts
def _summary_text(summary, scenario: Scenario, replications: int, wall_seconds: float) -> str:
    """The table printed after a run: a row per measure, a column per arm, mean (95% CI)."""
    h = scenario.outcomes.primary_horizon_days
    names = [
        "patients",
        f"p_readmit_{h:g}d",
        "sessions_attended_mean",
        "acute_days_per_patient",
        "ward_days_per_patient",
        "wait_days_mean",
        "ward_occupancy_mean",
    ]
    arms = [a.name for a in scenario.arms]
    t = TextTable(["", *(arm_label(a) for a in arms)])
    starred = False
    for name in names:
        rows = summary[summary["metric"] == name].set_index("arm")
        rows = rows[rows["mean"].notna()]
        if rows.empty:
            continue
        m = metric(name)
        d = block_decimals(rows["mean"], rows["ci_low"], rows["ci_high"], m.unit)
        cells = []
        for a in arms:
            if a not in rows.index:
                cells.append("-")
                continue
            r = rows.loc[a]
            if name == "patients":
                cells.append(f"{r['mean']:,.0f}")
                continue
            cell, star = marked(
                r["mean"], r["ci_low"], r["ci_high"], r.get("interval"), m.unit, decimals=d
            )
            starred = starred or star
            cells.append(cell)
        axis = m.axis()
        t.add(axis[0].upper() + axis[1:], *cells)
    kind = "a trial" if scenario.is_trial else "a service"
    head = wrap(
        f"{scenario.name} ({kind}): {replications} replication{'s' * (replications != 1)}, "
        f"seed {scenario.seed}, {wall_seconds:.1f} s. Mean over replications (95% CI)."
    )
    out = [head, "", t.render()]
    if replications == 1:
        out.append(
            wrap(
                "Warning: one replication gives no interval: these are one draw of the "
                "model, not its expected values (run more with --reps).",
                indent="  ",
            )
        )
    if starred:
        out.append(wrap(BOUND_NOTE, indent="  "))
    return "\n".join(out)


def _trial_text(summary: pd.DataFrame, attendance: pd.DataFrame, scenario: Scenario) -> str:
    """The trial table printed by ``crisis-sim run`` for a trial scenario (primary horizon).

    The spread of a statistic over the simulated trials is its median (or mean) and the
    range that holds 95% of the trials; a share of trials (power, coverage) has its
    Wilson 95% interval, which says how well that many trials pin it down.
    """
    assert isinstance(scenario.feed, TrialFeed)
    h = scenario.outcomes.primary_horizon_days
    s = summary[summary["horizon_days"] == h]
    arms = [a.name for a in scenario.arms]
    ref = reference_arm(scenario)
    n_trials = int(s["replications"].max()) if len(s) else 0

    def cell(arm: str, stat: str, kind: str = "median", pct: bool = False, digits: int = 2) -> str:
        r = s[(s["arm"] == arm) & (s["statistic"] == stat)]
        if r.empty:
            return "-"
        r = r.iloc[0]
        if kind == "share":
            return share_of(float(r["mean"]), int(r["replications"]))
        k = 100 if pct else 1
        v, lo, hi = r[kind] * k, r["p2_5"] * k, r["p97_5"] * k
        if r["replications"] < 2:  # one trial: a value, no spread
            return number(v, digits)
        return f"{number(v, digits)} ({number(lo, digits)} to {number(hi, digits)})"

    ends = scenario.outcomes.endpoints

    def power(spec) -> str:
        side = "" if spec.alternative == "two-sided" else f", one-sided ({spec.alternative})"
        return f"  power, p < {spec.alpha:g}{side}"

    days = f"{h:g} days"
    first = ends.first_readmission
    others = [a for a in arms if a != ref]
    lines = [
        (
            f"Readmitted within {days} (%)",
            {a: cell(a, "p_readmitted", "mean", True, 1) for a in arms},
        ),
        ("Odds ratio", {a: cell(a, "odds_ratio") for a in others}),
        (power(first), {a: cell(a, "power_or", "share") for a in others}),
        ("  CI coverage of the true ratio", {a: cell(a, "coverage_or", "share") for a in others}),
        ("Hazard ratio (Cox)", {a: cell(a, "hazard_ratio") for a in others}),
        (power(first), {a: cell(a, "power_hr", "share") for a in others}),
        ("  CI coverage of the true ratio", {a: cell(a, "coverage_hr", "share") for a in others}),
        (
            f"Restricted mean time to readmission, {days} (days)",
            {a: cell(a, "rmst_days", "mean", digits=0) for a in arms},
        ),
        (
            "Days to readmission, among readmitted: mean",
            {a: cell(a, "mean_days_readmitted", "mean", digits=0) for a in arms},
        ),
        ("  median", {a: cell(a, "median_days_readmitted", "mean", digits=0) for a in arms}),
        (f"Deaths within {days}, per arm", {a: cell(a, "deaths", "mean", digits=1) for a in arms}),
    ]
    if ends.readmission_count is not None:
        c = ends.readmission_count
        lines += [
            (
                f"Readmissions per person within {days}: mean",
                {a: cell(a, "readmissions_mean", "mean") for a in arms},
            ),
            ("  SD", {a: cell(a, "readmissions_sd", "mean") for a in arms}),
            (
                "  mean cumulative (censoring accounted for)",
                {a: cell(a, "readmissions_mcf", "mean") for a in arms},
            ),
            ("Rate ratio (negative binomial)", {a: cell(a, "rate_ratio") for a in others}),
            (
                f"{power(c)}, {c.test.replace('_', ' ')}",
                {a: cell(a, "power_count", "share") for a in others},
            ),
        ]
    if ends.bed_days is not None:
        b = ends.bed_days
        lines += [
            (
                f"Bed-days per person within {days}: mean",
                {a: cell(a, "bed_days_mean", "mean", digits=1) for a in arms},
            ),
            ("  SD", {a: cell(a, "bed_days_sd", "mean", digits=1) for a in arms}),
            (
                "Difference in bed-days per person",
                {a: cell(a, "bed_days_difference", "mean", digits=1) for a in others},
            ),
            (
                f"{power(b)}, {b.test.replace('_', ' ')}",
                {a: cell(a, "power_bed_days", "share") for a in others},
            ),
        ]
    att = attendance.groupby(["arm", "sessions_attended"])["share"].mean()
    for arm in scenario.arms:
        if arm.peer_support is None:
            continue
        n = arm.peer_support.n_sessions
        what = "contacts" if arm.peer_support.schedule == "fixed" else "sessions"
        if arm.name not in att.index.get_level_values("arm"):  # no one offered in the arm
            lines.append((f"Attended 3 or more {what} (%)", {arm.name: "-"}))
            lines.append((f"Attended all {n} (%)", {arm.name: "-"}))
            continue
        a = att.loc[arm.name]
        lines.append(
            (f"Attended 3 or more {what} (%)", {arm.name: f"{a[a.index >= 3].sum() * 100:.1f}"})
        )
        lines.append((f"Attended all {n} (%)", {arm.name: f"{a.get(n, 0.0) * 100:.1f}"}))
    t = TextTable(["", *(arm_label(a) for a in arms)])
    for name, vals in lines:
        cells = [vals.get(a, "") for a in arms]
        if all(c in ("", "-") for c in cells):
            continue
        t.add(name, *cells)
    head = wrap(
        f"Trial analysis of {n_trials} simulated trial{'s' * (n_trials != 1)} at {days} "
        "(reference arm: "
        f"{arm_label(ref)}; complete case: patients lost to follow-up before then are left "
        "out). Each statistic: its mean or median over the trials (the range that holds 95% "
        "of them); power and coverage: the share of trials (its 95% CI)."
    )
    out = [head, "", t.render()]
    if n_trials < 100:
        out.append(
            wrap(
                f"Warning: {n_trials} simulated trial{'s' * (n_trials != 1)}: the shares of "
                "trials (power, coverage) are known only to within their wide intervals; "
                "run 500 or more for a power figure to quote.",
                indent="  ",
            )
        )
    return "\n".join(out)


def _published_text(table: pd.DataFrame) -> str:
    """Published figures beside the simulated trials, with their percentiles."""

    def spread(r) -> str:
        if pd.notna(r.published_ci_low):
            return f" ({r.published_ci_low:g} to {r.published_ci_high:g})"
        if pd.notna(r.published_sd):
            return f" \u00b1 {r.published_sd:g} SD"
        return ""

    t = TextTable(["", "arm", "published", "simulated", "percentile"])
    narrow, derived = [], False
    for r in table.itertuples():
        share = r.statistic.startswith("p_")
        k = 100.0 if share else 1.0
        label = statistic_label(r.statistic) + (" (%)" if share else "")
        label = label[0].upper() + label[1:]
        width = getattr(r, "ci_width_vs_simulated", float("nan"))
        if pd.notna(width) and width < NARROW:
            narrow.append(f"{label.lower()} ({arm_label(r.arm)}): {width:.0%}")
        if getattr(r, "derived", False) is True:
            label, derived = label + " \u2020", True
        if pd.notna(r.horizon_days):
            label += f", {r.horizon_days:g} days"
        published = f"{r.published * k:g}{spread(r) if not share else ''}"
        if share and pd.notna(r.published_ci_low):
            published += f" ({r.published_ci_low * k:g} to {r.published_ci_high * k:g})"
        d = 1 if share else 2
        sim = (
            f"{number(r.simulated_median * k, d)} ({number(r.simulated_p2_5 * k, d)} to "
            f"{number(r.simulated_p97_5 * k, d)})"
        )
        pct = "-" if pd.isna(r.percentile) else f"{r.percentile:.0f}"
        t.add(label, arm_label(r.arm), published, sim, pct)
    head = wrap(
        "Published figures among the simulated trials: the simulated median (the range that "
        "holds 95% of the trials), and the percentile, the share of simulated trials below "
        "the published value (near 50 the model reproduces it; below 2.5 or above 97.5 it "
        "does not)."
    )
    out = [head, "", t.render()]
    if derived:
        out.append(
            wrap(
                "  \u2020 Derived from published figures, not printed in the paper.", indent="    "
            )
        )
    if narrow:
        out.append(
            wrap(
                "  Note: a published 95% CI narrower than the simulated trials' own (its width "
                "as a share of their median width: " + "; ".join(narrow) + "): narrower than "
                "a trial of this size gives, so the paper's estimate rests on more data, a "
                "model with covariates or another method.",
                indent="    ",
            )
        )
    return "\n".join(out)


# ---------------------------------------------------------------------- the report's answer
def _trial_answer(t: pd.DataFrame) -> list[str]:
    """What a trial like this would show at its primary horizon, over the simulated trials."""
    from sim.labels import arm_label

    h = t["horizon_days"].iloc[0]  # the primary horizon comes first
    t = t[t["horizon_days"] == h]
    n = int(t["replications"].iloc[0])
    out = [f"What would a trial like this show at {h:g} days, over {n} simulated trials?"]
    for arm, g in t.groupby("arm", sort=False):
        g = g.set_index("statistic")
        parts = []
        if "p_readmitted" in g.index:
            r = g.loc["p_readmitted"]
            parts.append(
                f"readmitted {r['mean']:.1%} (95% of trials {r.p2_5:.1%} to {r.p97_5:.1%})"
            )
        for stat, label in (("odds_ratio", "odds ratio"), ("hazard_ratio", "hazard ratio")):
            if stat in g.index:
                r = g.loc[stat]
                parts.append(f"median {label} {r['median']:.2f} ({r.p2_5:.2f} to {r.p97_5:.2f})")
        for stat, label in (("power_or", "odds ratio"), ("power_hr", "Cox")):
            if stat in g.index:
                parts.append(f"power ({label}) {g.loc[stat, 'mean']:.0%}")
        out.append(f"{arm_label(arm)}: " + "; ".join(parts) + ".")
    return out


def _service_answer(t: pd.DataFrame) -> list[str]:
    """Each arm's main outcomes, with their 95% confidence intervals."""
    from sim.labels import arm_label

    out = ["What happens to the people discharged, under each arm?"]
    for arm, g in t.groupby("arm", sort=False):
        g = g.set_index("metric")
        parts = []
        for name in (
            "p_readmit_365d",
            "readmissions_per_year",
            "ward_bed_days_per_year",
            "waiting_list_mean",
        ):
            if name in g.index:
                r, m = g.loc[name], metric(name)
                f = (lambda v: f"{v:.1%}") if m.unit == "%" else (lambda v: f"{v:,.1f}")
                parts.append(f"{m.label} {f(r['mean'])} ({f(r.ci_low)} to {f(r.ci_high)})")
        out.append(f"{arm_label(arm)}: " + "; ".join(parts) + ".")
    return out
