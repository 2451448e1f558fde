"""Command line: thin commands over the library.

Exit codes: 0 success; 2 a user's mistake (bad scenario, bad option, existing
output directory), printed as one line on stderr; anything else is a bug and keeps
its traceback.
"""

from __future__ import annotations

import math
import sys
import time
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import click

from sim.config import ConfigError, Scenario, load_scenario, resolved_yaml

__all__ = ["main", "format_summary"]


class _UserError(click.ClickException):
    exit_code = 2

    def show(self, file=None) -> None:  # one line, no usage block
        click.echo(f"error: {self.format_message()}", err=True)


def _load(path: str) -> Scenario:
    try:
        return load_scenario(path)
    except ConfigError as exc:
        raise _UserError(str(exc)) from None


def _work_options(f):
    """--jobs, --force and --quiet, shared by the commands that write an output directory."""
    f = click.option("--quiet", "-q", is_flag=True, help="No progress bar.")(f)
    f = click.option("--force", is_flag=True, help="Replace an existing output directory.")(f)
    return click.option(
        "--jobs", type=click.IntRange(min=1), help="Processes (default: one per core)."
    )(f)


@contextmanager
def _executor(scheduler: str | None, dask_workers: int | None):
    """The Dask spec for a command (None: local processes). ``--dask-workers`` starts one
    local cluster on the loopback interface for the whole command."""
    from sim.runner import Dask

    if scheduler and dask_workers:
        raise _UserError(
            "--scheduler and --dask-workers: give one (an existing cluster, or a local one)"
        )
    if scheduler:
        yield Dask(address=scheduler)
    elif dask_workers:
        from dask.distributed import LocalCluster

        with LocalCluster(
            n_workers=dask_workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster:
            yield Dask(address=cluster.scheduler_address)
    else:
        yield None


def _dask_options(f):
    """--scheduler and --dask-workers, shared by the commands that run replications."""
    f = click.option(
        "--dask-workers",
        type=click.IntRange(min=1),
        help="Start a local Dask cluster with N worker processes.",
    )(f)
    return click.option(
        "--scheduler", metavar="ADDRESS", help="Run on this Dask cluster (tcp://HOST:PORT)."
    )(f)


@contextmanager
def _nothing_written_on_interrupt():
    """Ctrl-C during a command that writes only at the end: one line, exit 130."""
    try:
        yield
    except KeyboardInterrupt:
        click.echo("\ninterrupted: nothing was written", err=True)
        sys.exit(130)


def _write(out: Path, files: dict[str, bytes], force: bool) -> None:
    """Write a command's output directory atomically; an OS refusal is the user's to fix."""
    from sim import io

    try:
        io.write_files(out, files, force=force)
    except OSError as exc:
        raise _UserError(f"{out}: cannot write ({exc.strerror})") from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="crisis-sim")
def cli() -> None:
    """crisis-sim: readmissions after crisis-team discharge and peer support (CORE trial)."""


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False))
def validate(file: str) -> None:
    """Check a scenario FILE and print it with every default filled in."""
    scenario = _load(file)
    click.echo(resolved_yaml(scenario), nl=False)
    click.echo(
        f"{file}: valid ({'trial' if scenario.is_trial else 'service'}, "
        f"{len(scenario.arms)} arm(s))",
        err=True,
    )


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--reps", type=click.IntRange(min=1), help="Replications (default: the scenario's).")
@click.option("--seed", type=click.IntRange(min=0, max=2**63 - 1), help="Override the root seed.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Run directory (default: runs/<scenario>-<timestamp>).",
)
@_work_options
@click.option(
    "--events", is_flag=True, help="Also write the full event log (events/, in Parquet parts)."
)
@click.option(
    "--resume",
    type=click.Path(file_okay=False, path_type=Path),
    help="Finish the interrupted run whose directory this was (same FILE and --seed).",
)
@click.option(
    "--only", type=click.IntRange(min=0), help="Run replication K alone (to rerun one that failed)."
)
@_dask_options
def run(
    file: str,
    reps: int | None,
    seed: int | None,
    out: Path | None,
    jobs: int | None,
    events: bool,
    force: bool,
    quiet: bool,
    resume: Path | None,
    only: int | None,
    scheduler: str | None,
    dask_workers: int | None,
) -> None:
    """Run the replications of scenario FILE and write a run directory.

    Finished replications are saved as they finish; an interrupted run (Ctrl-C, a killed
    worker) is finished with --resume DIR, giving the same tables as an uninterrupted run.
    """
    from concurrent.futures.process import BrokenProcessPool

    from sim import api, io
    from sim.runner import ReplicationFailed, default_jobs

    scenario = _load(file)
    if seed is not None:
        scenario = scenario.model_copy(update={"seed": seed})
    n = reps or scenario.replications
    replications: list[int] = [only] if only is not None else list(range(n))
    jobs = jobs or default_jobs()
    started = datetime.now().astimezone()
    if resume is not None:
        if out is not None and out != resume:
            raise _UserError("--resume DIR is the run directory: do not give another --out")
        out = resume
        if out.exists():
            raise _UserError(f"{out}: this run has already finished")
    else:
        out = _out_dir(out, scenario.name, started, force)
    try:
        store = io.ReplicationStore(out, resolved_yaml(scenario), resume is not None, force)
    except io.RunDirExists as exc:
        raise _UserError(str(exc)) from None
    saved = store.saved() if resume is not None else {}
    saved = {r: t for r, t in saved.items() if r in set(replications)}
    if events:  # replications saved by an attempt without --events are run again
        saved = {r: t for r, t in saved.items() if store.has_events(r)}
    warning = size_warning(scenario, len(replications) - len(saved), jobs)
    if warning:
        click.echo(f"warning: {warning}", err=True)
    if saved:
        click.echo(
            f"resuming: {len(saved)} of {len(replications)} replications were saved", err=True
        )
    t0 = time.perf_counter()
    bar = _progress(len(replications), f"{scenario.name}: replications", quiet)
    finish = " ".join(
        ["crisis-sim run", file, "--resume", str(out)]
        + ([f"--seed {seed}"] if seed is not None else [])
        + ([f"--reps {reps}"] if reps else [])
    )
    try:
        with bar, _executor(scheduler, dask_workers) as dask:
            result = api.run(
                scenario,
                replications=replications,
                jobs=jobs,
                events=events,
                events_dir=store.events if events else None,
                progress=bar.update,
                saved=saved,
                on_results=store.save,
                dask=dask,
            )
    except KeyboardInterrupt:
        k = store.count()
        click.echo(
            f"\ninterrupted: {k} of {len(replications)} replications saved; finish with: {finish}",
            err=True,
        )
        sys.exit(130)
    except BrokenProcessPool:
        k = store.count()
        click.echo(
            f"error: a worker process died (killed, or out of memory); {k} of "
            f"{len(replications)} replications saved; finish with: {finish}",
            err=True,
        )
        sys.exit(1)
    except FileNotFoundError as exc:  # events written by workers this machine cannot see
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except ReplicationFailed as exc:
        click.echo(
            f"error: replication {exc.replication} (seed {scenario.seed}) failed; "
            f"rerun it alone with: crisis-sim run {file} --seed {scenario.seed} --only "
            f"{exc.replication} --jobs 1 --out <dir>\n{exc.detail}",
            err=True,
        )
        sys.exit(1)
    wall = time.perf_counter() - t0
    info = io.manifest(
        result,
        command=[Path(sys.argv[0]).name, *sys.argv[1:]],
        started=started,
        wall_seconds=wall,
        jobs=jobs,
        replications=len(replications),
    )
    info["resumed_replications"] = len(saved)
    try:
        io.write_run(result, out, info, force=force, store=store)
    except io.RunDirExists as exc:  # appeared while we were running
        raise _UserError(str(exc)) from None
    except OSError as exc:
        raise _UserError(f"{out}: cannot write the run directory ({exc.strerror})") from None
    click.echo(format_summary(result.summary, scenario, len(replications), wall))
    if result.trial_summary is not None:
        from sim.analysis.trial import format_trial

        click.echo("\n" + format_trial(result.trial_summary, result.attendance, scenario))
    files = ", ".join(sorted(p.name for p in out.iterdir()))
    click.echo(f"\nwrote {out}/  ({files})")


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Calibrated scenario file (default: FILE with .calibrated.yaml).",
)
@click.option("--in-place", is_flag=True, help="Rewrite FILE itself.")
@click.option("--reps", type=click.IntRange(min=10), help="Simulated trials per evaluation.")
@click.option("--check-reps", type=click.IntRange(min=10), help="Simulated trials in the check.")
@click.option("--max-evals", type=click.IntRange(min=1), help="Most evaluations in the search.")
@click.option("--jobs", type=click.IntRange(min=1), help="Processes (default: one per core).")
@click.option("--quiet", "-q", is_flag=True, help="No progress lines.")
def calibrate(
    file: str,
    out: Path | None,
    in_place: bool,
    reps: int | None,
    check_reps: int | None,
    max_evals: int | None,
    jobs: int | None,
    quiet: bool,
) -> None:
    """Fit the free parameters that scenario FILE declares to its targets.

    Writes the calibrated scenario (the file with only the fitted numbers changed and a
    calibration comment block) and, beside it, a .calibration.csv table of target,
    simulated value and whether it is within tolerance.
    """
    from sim import calibrate as cal

    source = Path(file)
    scenario = _load(file)
    if scenario.calibration is None:
        raise _UserError(f"{file}: calibration: the scenario declares no calibration block")
    target = source if in_place else (out or source.with_name(f"{source.stem}.calibrated.yaml"))
    table_path = target.with_name(f"{target.name.removesuffix('.yaml')}.calibration.csv")
    say = (lambda msg: click.echo(msg, err=True)) if not quiet else None
    with _nothing_written_on_interrupt():
        try:
            res = cal.calibrate(
                source,
                jobs=jobs,
                replications=reps,
                check_replications=check_reps,
                max_evaluations=max_evals,
                report=say,
            )
            checked = check_reps or scenario.calibration.check_replications
            cal.write_calibrated(source, target, res, checked)
            res.table.to_csv(table_path, index=False)
        except ConfigError as exc:
            raise _UserError(str(exc)) from None
    import pandas as pd

    shown = res.table.assign(
        simulated=res.table["simulated"].map(lambda v: f"{v:.4g}"),
        miss=res.table["miss"].map(lambda v: f"{v:+.3g}"),
        within_tolerance=res.table["within_tolerance"].map({True: "yes", False: "NO"}),
    ).drop(columns=["source"])
    with pd.option_context("display.width", 200):
        click.echo(
            f"Calibration of {source.name}: {res.evaluations} evaluations, checked on "
            f"{checked} simulated trials"
        )
        for name, a, b in zip(res.names, res.start, res.best, strict=True):
            click.echo(f"  {name}: {a:.6g} -> {b:.6g}")
        click.echo(shown.to_string(index=False))
    missed = res.table[~res.table["within_tolerance"]]
    if len(missed):
        click.echo(
            f"\n{len(missed)} target(s) not met with the declared parameters: "
            + "; ".join(
                f"{r.target} missed by {r.miss:+.3g} (tolerance {r.tolerance:g})"
                for r in missed.itertuples()
            )
        )
    click.echo(f"\nwrote {target} and {table_path}")


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option(
    "--n-per-arm",
    "n_per_arm",
    required=True,
    help="Trial sizes per arm: a list (100,200,300) or a range with a step (100..400:50).",
)
@click.option(
    "--reps",
    type=click.IntRange(min=10),
    default=500,
    show_default=True,
    help="Simulated trials per size.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Output directory (default: runs/<scenario>-power-<timestamp>).",
)
@_work_options
def power(
    file: str,
    n_per_arm: str,
    reps: int,
    out: Path | None,
    jobs: int | None,
    force: bool,
    quiet: bool,
) -> None:
    """Power against trial size for a trial scenario FILE: power.csv and power.png."""
    from sim import api, plots

    scenario = _load(file)
    if not scenario.is_trial:
        raise _UserError(f"{file}: feed.kind: power needs a trial scenario (kind: trial)")
    sizes = _sizes(n_per_arm)
    out = _out_dir(out, f"{scenario.name}-power", datetime.now().astimezone(), force)
    bar = _progress(len(sizes), "trial sizes", quiet)
    with _nothing_written_on_interrupt():
        with bar:
            table = api.power(scenario, sizes, reps, jobs=jobs, progress=bar.update)
    pub = scenario.outcomes.published
    marked = pub.n_per_arm if pub else None
    fig = plots.power_curve(table, marked)
    _write(out, {"power.csv": table.to_csv(index=False).encode(), "power.png": _png(fig)}, force)
    shown = table.assign(
        power=table["power"].map(lambda v: f"{v:.1%}"),
        ci=[f"{a:.1%}-{b:.1%}" for a, b in zip(table["ci_low"], table["ci_high"], strict=True)],
    )
    click.echo(
        f"Power at the primary horizon ({scenario.outcomes.primary_horizon_days:g} days), "
        f"{reps} simulated trials per size, p < 0.05:"
    )
    click.echo(
        shown[["n_per_arm", "arm", "test", "power", "ci", "replications"]].to_string(index=False)
    )
    click.echo(f"\nwrote {out}/  (power.csv, power.png)")


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option(
    "--reps", type=click.IntRange(min=2), help="Replications (default: the first file's)."
)
@click.option("--seed", type=click.IntRange(min=0, max=2**63 - 1), help="Seed for every policy.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Output directory (default: runs/compare-<timestamp>).",
)
@_work_options
@_dask_options
def compare(
    files: tuple[str, ...],
    reps: int | None,
    seed: int | None,
    out: Path | None,
    jobs: int | None,
    force: bool,
    quiet: bool,
    scheduler: str | None,
    dask_workers: int | None,
) -> None:
    """Compare the policies of one or more scenario FILES under common random numbers.

    Every policy (arm) of every file runs the same replications with the same seed and
    patients; the first policy of the first file is the baseline. Writes compare.csv,
    metrics.csv, timeseries.csv, notes.txt, forest.png and capacity.png.
    """
    from sim import plots, whatif

    scenarios = [_load(f) for f in files]
    if seed is not None:
        scenarios[0] = scenarios[0].model_copy(update={"seed": seed})
    n = reps or scenarios[0].replications
    if n < 2:
        raise _UserError(
            f"{files[0]}: replications: compare needs at least 2 for a CI (use --reps)"
        )
    out = _out_dir(out, "compare", datetime.now().astimezone(), force)
    bar = _progress(len(scenarios), "scenarios", quiet)
    with _nothing_written_on_interrupt():
        with bar, _executor(scheduler, dask_workers) as dask:
            res = whatif.compare(scenarios, n, jobs=jobs, progress=bar.update, dask=dask)
    shown = [m for m in [*whatif.MAIN_METRICS, *whatif.ECONOMICS] if m in set(res.table["metric"])]
    files_out = {
        "compare.csv": res.table.to_csv(index=False).encode(),
        "metrics.csv": res.metrics.to_csv(index=False).encode(),
        "notes.txt": ("\n".join(res.notes) + "\n").encode(),
        "forest.png": _png(plots.forest(res.table, shown)),
    }
    if len(res.timeseries):
        files_out["timeseries.csv"] = res.timeseries.to_csv(index=False).encode()
        sc = scenarios[0]
        warm = getattr(sc.feed, "warm_up_days", 0.0)
        files_out["capacity.png"] = _png(
            plots.capacity_over_time(res.timeseries, warm, sc.acute_care.ward.capacity)
        )
    _write(out, files_out, force)
    click.echo(format_compare(res.table, shown))
    click.echo("\n" + "\n".join(f"note: {x}" for x in res.notes))
    click.echo(f"\nwrote {out}/  ({', '.join(sorted(files_out))})")


def format_compare(table, metrics: list[str]) -> str:
    """One line per metric and policy: mean (95% CI) and the paired difference."""
    import pandas as pd

    def fmt(m: float, lo: float, hi: float) -> str:
        if m is None or not math.isfinite(m):
            return "-"
        big = max(abs(m), abs(lo) if math.isfinite(lo) else 0) >= 100
        f = (lambda x: f"{x:,.0f}") if big else (lambda x: f"{x:.3g}")
        return f"{f(m)} ({f(lo)} to {f(hi)})" if math.isfinite(lo) else f(m)

    rows = []
    for metric in metrics:
        for r in table[table["metric"] == metric].itertuples():
            diff = getattr(r, "diff_mean", math.nan)
            rows.append(
                {
                    "metric": metric,
                    "policy": r.policy,
                    "mean (95% CI)": fmt(r.mean, r.ci_low, r.ci_high),
                    "difference from baseline (95% CI)": (
                        fmt(diff, r.diff_ci_low, r.diff_ci_high)
                        if isinstance(diff, float) and math.isfinite(diff)
                        else ""
                    ),
                }
            )
    return pd.DataFrame(rows).to_string(index=False, justify="left")


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option(
    "--set",
    "sets",
    multiple=True,
    required=True,
    help="PATH=VALUES: a dotted field and a range (1..10, 0.5..0.9:0.1) or list "
    "(a,b,c). Give it twice for a grid.",
)
@click.option(
    "--metric",
    "metrics",
    multiple=True,
    help="Metric to plot (repeatable; default: the main ones).",
)
@click.option("--reps", type=click.IntRange(min=2), help="Replications per point.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Output directory (default: runs/<scenario>-sweep-<timestamp>).",
)
@_work_options
@_dask_options
def sweep(
    file: str,
    sets: tuple[str, ...],
    metrics: tuple[str, ...],
    reps: int | None,
    out: Path | None,
    jobs: int | None,
    force: bool,
    quiet: bool,
    scheduler: str | None,
    dask_workers: int | None,
) -> None:
    """Run scenario FILE at every value of one or two fields, under common random numbers.

    Writes sweep.csv (tidy: set:<field> columns, arm, metric, mean, ci_low, ci_high),
    sweep_metrics.csv (per replication) and sweep.png.
    """
    from sim import plots, whatif

    scenario = _load(file)
    if len(sets) > 2:
        raise _UserError("--set: give one field, or two for a grid")
    with _nothing_written_on_interrupt():
        try:
            settings = [whatif.parse_set(x) for x in sets]
            n = reps or scenario.replications
            points = 1
            for _, values in settings:
                points *= len(values)
            out = _out_dir(out, f"{scenario.name}-sweep", datetime.now().astimezone(), force)
            bar = _progress(points, "sweep points", quiet)
            with bar, _executor(scheduler, dask_workers) as dask:
                summary, per_rep = whatif.sweep(
                    scenario, settings, n, jobs=jobs, progress=bar.update, dask=dask
                )
        except ConfigError as exc:
            raise _UserError(str(exc)) from None
    wanted = list(metrics) or [
        m
        for m in whatif.MAIN_METRICS
        if m
        in {
            "p_readmit_365d",
            "wait_days_mean",
            "waiting_list_mean",
            "ward_occupancy_mean",
            "cost_total_per_year",
        }
    ]
    unknown = sorted(set(wanted) - set(summary["metric"]))
    if unknown and metrics:
        raise _UserError(
            f"--metric {', '.join(unknown)}: not a metric of this scenario (see docs/outputs.md)"
        )
    files_out = {
        "sweep.csv": summary.to_csv(index=False).encode(),
        "sweep_metrics.csv": per_rep.to_csv(index=False).encode(),
        "sweep.png": _png(plots.sweep_curves(summary, wanted)),
    }
    _write(out, files_out, force)
    cols = [c for c in summary.columns if c.startswith("set:")]
    view = summary[summary["metric"].isin(wanted)]
    view = view.assign(
        value=[
            f"{m:.3g} ({lo:.3g} to {hi:.3g})"
            if math.isfinite(m) and math.isfinite(lo)
            else f"{m:.3g}"
            for m, lo, hi in zip(view["mean"], view["ci_low"], view["ci_high"], strict=True)
        ]
    )
    wide = view.pivot_table(
        index=[*cols, "arm"], columns="metric", values="value", aggfunc="first", sort=False
    )
    import pandas as pd

    with pd.option_context("display.width", 220, "display.max_columns", 20):
        click.echo(f"Sweep of {scenario.name}: {n} replications per point, common random numbers")
        click.echo(wide.to_string())
    click.echo(f"\nwrote {out}/  ({', '.join(sorted(files_out))})")


def _sizes(text: str) -> list[int]:
    try:
        if ".." in text:
            span, _, step = text.partition(":")
            a, b = (int(x) for x in span.split(".."))
            sizes = list(range(a, b + 1, int(step) if step else 1))
        else:
            sizes = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise _UserError(
            f"--n-per-arm {text!r}: expected a list (100,200) or a range (100..400:50)"
        ) from None
    if not sizes or min(sizes) < 2:
        raise _UserError(f"--n-per-arm {text!r}: sizes must be whole numbers of at least 2")
    return sizes


def _png(fig) -> bytes:
    from io import BytesIO

    buf = BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    return buf.getvalue()


class _NoBar:
    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, n: int) -> None:
        """Nothing to show."""


# single-process throughput of a whole run (simulation and tables), patient-years per
# second, measured (docs/performance.md): 1,000 CORE trials (441 patients, 1.5 years)
# in ~26 s; a service run of a million discharges over two years (each followed a year
# on average) in ~90 s
_PATIENT_YEARS_PER_SECOND = {"trial": 25_000.0, "service": 11_000.0}


def size_warning(scenario: Scenario, replications: int, jobs: int) -> str | None:
    """A warning when a run looks long (over ~10 minutes): its size and a rough time."""
    from sim.config import TrialFeed

    feed = scenario.feed
    if isinstance(feed, TrialFeed):
        patients = feed.n_patients
        years = feed.follow_up_days / 365.25
    else:
        days = scenario.end_day
        patients = feed.discharges_per_week * days / 7 * len(scenario.arms)
        years = days / 365.25 / 2  # on average a patient is followed half the run
    patient_years = patients * max(years, 0.1) * replications
    processes = max(min(jobs, replications), 1)
    seconds = patient_years / (_PATIENT_YEARS_PER_SECOND[feed.kind] * processes)
    if seconds < 600:
        return None
    return (
        f"this run simulates about {patient_years:,.0f} patient-years "
        f"({replications} replication(s)); roughly {seconds / 60:,.0f} minutes on {processes} "
        "process(es). Ctrl-C stops it; finished replications are kept for --resume."
    )


def _out_dir(out: Path | None, name: str, started: datetime, force: bool) -> Path:
    """The output directory: the user's (refused if it exists, unless --force) or a fresh
    ``runs/<name>-<timestamp>``. Checked before any work, so a refusal costs nothing."""
    from sim import io

    out = out or _fresh_default(io.default_out_dir(name, started))
    try:
        io.check_out_dir(out, force)
    except io.RunDirExists as exc:
        raise _UserError(str(exc)) from None
    return out


def _progress(length: int, label: str, quiet: bool):
    """A progress bar (done, rate, time left) on stderr, only when stderr is a terminal."""
    if quiet or not sys.stderr.isatty():
        return _NoBar()
    return _RateBar(
        click.progressbar(
            length=length,
            label=label,
            file=sys.stderr,
            show_eta=True,
            show_pos=True,
            item_show_func=lambda rate: rate,
        )
    )


class _RateBar:
    """Click's bar (done/total, time left) plus the rate so far."""

    def __init__(self, bar):
        self.bar, self.done, self.t0 = bar, 0, time.perf_counter()

    def __enter__(self) -> _RateBar:
        self.bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.__exit__(*exc)

    def update(self, n: int) -> None:
        """Advance by ``n`` finished items."""
        self.done += n
        rate = self.done / max(time.perf_counter() - self.t0, 1e-9)
        self.bar.update(n, f"{rate:.2f}/s" if rate < 10 else f"{rate:.0f}/s")


def _fresh_default(path: Path) -> Path:
    candidate, k = path, 2
    while candidate.exists():
        candidate = path.with_name(f"{path.name}-{k}")
        k += 1
    return candidate


def _fmt(mean: float, lo: float, hi: float, pct: bool = False, digits: int = 1) -> str:
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


def format_summary(summary, scenario: Scenario, replications: int, wall_seconds: float) -> str:
    """The table printed after a run: one row per arm, means with 95% CIs."""
    import pandas as pd

    h = scenario.outcomes.primary_horizon_days
    cols = [
        ("patients", "patients", False, 1),
        (f"p_readmit_{h:g}d", f"readmitted <={h:g}d", True, 1),
        ("sessions_attended_mean", "sessions attended", False, 2),
        ("acute_days_per_patient", "acute days/patient", False, 1),
        ("ward_days_per_patient", "ward bed-days/patient", False, 1),
        ("wait_days_mean", "peer wait (days)", False, 1),
        ("ward_occupancy_mean", "ward beds occupied", False, 1),
    ]
    rows = []
    for arm in [a.name for a in scenario.arms]:
        s = summary[summary["arm"] == arm].set_index("metric")
        row = {"arm": arm}
        for metric, label, pct, digits in cols:
            if metric == "patients" and metric in s.index:
                row[label] = f"{s.loc[metric, 'mean']:.0f}"
            elif metric in s.index:
                r = s.loc[metric]
                row[label] = _fmt(r["mean"], r["ci_low"], r["ci_high"], pct, digits)
            else:
                row[label] = "-"
        rows.append(row)
    table = pd.DataFrame(rows).to_string(index=False)
    kind = "trial" if scenario.is_trial else "service"
    head = (
        f"{scenario.name} ({kind}): {replications} replication(s), seed {scenario.seed}, "
        f"{wall_seconds:.1f} s. Means across replications, 95% CI in brackets."
    )
    return f"{head}\n{table}"


def main() -> None:
    """Entry point of the ``crisis-sim`` command."""
    cli(prog_name="crisis-sim")


if __name__ == "__main__":  # pragma: no cover
    main()
