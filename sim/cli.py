"""Command line: each command parses its options, calls the library and prints.

Exit codes, decided in one place (:class:`_Commands`): 0 success; 2 a user's mistake
(a bad scenario or option, an output directory that exists), one line per mistake on
stderr; 128 + the signal's number when stopped by Ctrl-C (130), SIGTERM (143) or SIGHUP
(129), finished replications kept and how to resume said; 1 a run that could not
finish (a worker died, a replication raised); anything else is a bug and keeps its
traceback.
"""

from __future__ import annotations

import shlex
import signal
import sys
import time
import warnings
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import click

from sim.config import load_scenario, load_scenarios, resolved_yaml, variant
from sim.errors import (
    CannotWrite,
    CrisisSimWarning,
    EventsMissing,
    ReplicationFailed,
    RunInterrupted,
    UserError,
    WorkerDied,
)

__all__ = ["main"]


class _Failure(click.ClickException):
    """A message printed as it is, and an exit code."""

    def __init__(self, message: str, exit_code: int):
        super().__init__(message)
        self.exit_code = exit_code

    def show(self, file=None) -> None:  # no usage block
        click.echo(self.message, err=True)


class _Commands(click.Group):
    """The commands; maps the package's errors to messages and exit codes."""

    def invoke(self, ctx: click.Context):
        from sim.runner import stop_on_signals

        try:
            with stop_on_signals():  # SIGTERM and SIGHUP stop a command as Ctrl-C does
                return super().invoke(ctx)
        except UserError as exc:
            raise _Failure("\n".join(f"error: {line}" for line in exc.lines), 2) from None
        except CannotWrite as exc:
            how = ctx.meta.get("resume_command")
            hint = ""
            if how and exc.out is not None and exc.saved:
                hint = f"; once fixed, finish with: {how(exc.out)} (--out DIR: elsewhere)"
            raise _Failure(f"error: {exc}{hint}", 3) from None
        except RunInterrupted as exc:
            how = ctx.meta.get("resume_command")
            hint = f"; finish with: {how(exc.out)}" if how else ""
            raise _Failure(f"\n{exc}{hint}", 128 + exc.signum) from None
        except WorkerDied as exc:
            how = ctx.meta.get("resume_command")
            hint = f"; finish with: {how(exc.out)}" if how else ""
            raise _Failure(f"error: {exc}{hint}", 1) from None
        except ReplicationFailed as exc:
            how = ctx.meta.get("rerun_command")
            hint = f"; rerun it alone with: {how(exc.replication)}" if how else ""
            seed = ctx.meta.get("seed")
            raise _Failure(
                f"error: replication {exc.replication}"
                f"{f' (seed {seed})' if seed is not None else ''} failed{hint}\n{exc.detail}",
                1,
            ) from None
        except EventsMissing as exc:
            raise _Failure(f"error: {exc}", 1) from None
        except OSError as exc:  # the machine refused something no check foresaw
            raise _Failure(f"error: {CannotWrite.of(exc)}", 3) from None
        except KeyboardInterrupt as exc:  # a command that writes only at the end
            signum = getattr(exc, "signum", signal.SIGINT)
            raise _Failure("\ninterrupted: nothing was written", 128 + signum) from None


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    if issubclass(category, CrisisSimWarning):
        click.echo(f"warning: {message}", err=True)
    else:
        _default_show_warning(message, category, filename, lineno, file, line)


_default_show_warning = warnings.showwarning


def _work_options(f):
    """--jobs, --force, --quiet and --report, shared by the commands that write an output
    directory."""
    f = click.option(
        "--report",
        "with_report",
        is_flag=True,
        help="Also write report.html (as `crisis-sim report DIR` does).",
    )(f)
    f = click.option("--quiet", "-q", is_flag=True, help="No progress bar.")(f)
    f = click.option("--force", is_flag=True, help="Replace an existing output directory.")(f)
    return click.option(
        "--jobs", type=click.IntRange(min=1), help="Processes (default: one per core)."
    )(f)


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


def _resume_dir(out: Path | None, resume: Path | None) -> tuple[Path | None, Path | None]:
    """The output directory of a command given ``--out`` and ``--resume``, and the
    directory whose saved work it finishes (None when not resuming).

    ``--resume DIR`` alone writes the result to DIR; with ``--out OTHER`` to OTHER (the
    saved work stays where it is until the result is written).
    """
    if resume is None:
        return out, None
    return out or resume, resume


def _report_if(directory: Path, wanted: bool, study) -> None:
    """``--report``: write the directory's report.html, of the study in memory."""
    if wanted:
        from sim import report

        report.write(directory, study)


def _seed_option(text: str = "Override the root seed."):
    return click.option("--seed", type=click.IntRange(min=0, max=2**63 - 1), help=text)


def _seeded(scenarios: list, seed: int | None) -> list:
    """The scenarios with ``--seed`` in place of their own seed (as given, without one)."""
    if seed is None:
        return scenarios
    return [variant(s, {"seed": seed}, "--seed") for s in scenarios]


def _out_option(default: str):
    return click.option(
        "--out",
        type=click.Path(file_okay=False, path_type=Path),
        help=f"Output directory (default: {default}).",
    )


@contextmanager
def _executor(scheduler: str | None, dask_workers: int | None):
    """The Dask spec for a command (None: local processes). ``--dask-workers`` starts one
    local cluster on the loopback interface for the whole command."""
    from sim.runner import Dask, local_cluster

    if scheduler and dask_workers:
        raise UserError(
            "--scheduler and --dask-workers: give one (an existing cluster, or a local one)"
        )
    if scheduler:
        yield Dask(address=scheduler)
    elif dask_workers:
        with local_cluster(dask_workers) as address:
            yield Dask(address=address)
    else:
        yield None


def _say(line: str) -> None:
    """A line for the user on stderr (what a resume found, say)."""
    click.echo(line, err=True)


def _resume_option(what: str):
    return click.option(
        "--resume",
        type=click.Path(file_okay=False, path_type=Path),
        help=f"Finish the interrupted {what} whose directory this was (same files and options).",
    )


def _saving_workspace(
    ctx: click.Context,
    out: Path | None,
    resume: Path | None,
    name: str,
    force: bool,
    scenarios: list,
    reps: int | None,
    default_reps: int,
    again: list[str],
):
    """The workspace of a study of several scenarios that saves as it goes (compare,
    sweep, power), and its replications: ``reps``, else those the interrupted study was
    started with (``--resume`` without ``--reps``), else ``default_reps``.

    ``again``: the command that finishes it, but for ``--resume DIR`` (said if it stops).
    """
    from sim.store import started_replications
    from sim.workspace import Workspace

    out, saved_in = _resume_dir(out, resume)
    n = reps
    if n is None and saved_in is not None:
        n = len(started_replications(saved_in) or ()) or None
    ctx.meta["resume_command"] = lambda d: " ".join([*again, "--resume", str(d)])
    ws = Workspace(
        out,
        name,
        force=force,
        resume=resume is not None,
        saved_in=saved_in,
        sources=[(s.name, s) for s in scenarios],
    )
    return ws, n or default_reps


def _wrote(out: Path, names: list[str]) -> str:
    """``wrote DIR/ (files)``, wrapped to the printouts' width."""
    from sim.printed import wrap

    return wrap(f"wrote {out}/  ({', '.join(sorted(names))})", indent="  ")


def _finish(ws, study, with_report: bool) -> None:
    """Write the study's directory, print it, and say what was written."""
    _printed(ws.write(study), study, with_report)


def _printed(out: Path, study, with_report: bool) -> None:
    """Print a study written to ``out``, add its report if asked, say what is there."""
    click.echo(study.printout())
    _report_if(out, with_report, study)
    click.echo("\n" + _wrote(out, [p.name for p in out.iterdir()]))


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="crisis-sim")
def cli() -> None:
    """crisis-sim: readmissions after crisis-team discharge and peer support (CORE trial)."""
    warnings.showwarning = _show_warning


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False))
def validate(file: str) -> None:
    """Check a scenario FILE and print it with every default filled in."""
    scenario = load_scenario(file)
    if scenario.uncertainty is not None:
        from sim import uncertainty

        # every path names a number (one with * may match nothing here: in a what-if
        # file it names a field of policies this file may not have)
        uncertainty.check_paths(scenario, file, base=scenario)
    click.echo(resolved_yaml(scenario), nl=False)
    click.echo(
        f"{file}: valid ({'trial' if scenario.is_trial else 'service'}, "
        f"{len(scenario.arms)} arm(s))",
        err=True,
    )


@cli.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def report(directory: Path) -> None:
    """Write DIRECTORY/report.html: one self-contained page of a run or study directory.

    The question and the answer, the figures, the main tables, the scenario's settings
    and sources, the STRESS-DES checklist filled from the run, and the provenance. It
    opens offline and fetches nothing.
    """
    from sim import report as pages

    if not directory.is_dir():
        raise UserError(f"{directory}: no such directory")
    path = pages.write(directory)
    click.echo(f"wrote {path}")


@cli.command()
@click.option(
    "--partial", is_flag=True, help="No field required: for files that name a base: scenario."
)
def schema(partial: bool) -> None:
    """Print the scenario JSON Schema, for an editor's YAML support (docs/editors.md)."""
    import json

    from sim.config import json_schema

    click.echo(json.dumps(json_schema(partial), indent=2))


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--reps", type=click.IntRange(min=1), help="Replications (default: the scenario's).")
@_seed_option()
@_out_option("runs/<scenario>-<timestamp>")
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
@click.pass_context
def run(
    ctx: click.Context,
    file: str,
    reps: int | None,
    seed: int | None,
    out: Path | None,
    jobs: int | None,
    events: bool,
    force: bool,
    quiet: bool,
    with_report: bool,
    resume: Path | None,
    only: int | None,
    scheduler: str | None,
    dask_workers: int | None,
) -> None:
    """Run the replications of scenario FILE and write a run directory.

    Finished replications are saved as they finish; an interrupted run (Ctrl-C, a killed
    worker) is finished with --resume DIR, giving the same tables as an uninterrupted run.
    """
    from sim.studies.run import run_to_directory

    scenario = load_scenario(file)
    (scenario,) = _seeded([scenario], seed)
    from sim.store import started_replications

    out, saved_in = _resume_dir(out, resume)
    if only is not None:
        replications: list[int] | None = [only]
    elif reps is not None or saved_in is None:
        replications = list(range(reps or scenario.replications))
    else:  # a resume finishes the run that was started (the store says how many)
        replications = None
    extra = ([f"--seed {seed}"] if seed is not None else []) + ([f"--reps {reps}"] if reps else [])
    ctx.meta["resume_command"] = lambda d: " ".join(
        ["crisis-sim run", file, "--resume", str(d), *extra]
    )
    n_bar = len(replications) if replications is not None else None
    if n_bar is None:
        n_bar = len(started_replications(saved_in) or range(scenario.replications))
    ctx.meta["seed"] = scenario.seed
    ctx.meta["rerun_command"] = lambda r: (
        f"crisis-sim run {file} --seed {scenario.seed} --only {r} --jobs 1 --out <dir>"
    )
    bar = _progress(n_bar, f"{scenario.name}: replications", quiet)
    with bar, _executor(scheduler, dask_workers) as dask:
        study = run_to_directory(
            scenario,
            out,
            replications=replications,
            jobs=jobs,
            events=events,
            resume=resume is not None,
            saved_in=saved_in,
            force=force,
            dask=dask,
            progress=bar.update,
            report=lambda line: click.echo(line, err=True),
            sources=[(scenario.name, scenario)],
        )
    _printed(study.result.out, study, with_report)


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
@click.option(
    "--dir",
    "study_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory for the study's record: tables, figure, manifest "
    "(default: runs/<scenario>-calibrate-<timestamp>).",
)
@click.option("--report", "with_report", is_flag=True, help="Also write report.html there.")
@click.option(
    "--resume",
    type=click.Path(file_okay=False, path_type=Path),
    help="Finish the interrupted calibration whose record directory (--dir) this was.",
)
@click.option(
    "--force",
    is_flag=True,
    help="Replace an existing record directory (and an interrupted calibration saved there).",
)
@click.pass_context
def calibrate(
    ctx: click.Context,
    file: str,
    out: Path | None,
    in_place: bool,
    reps: int | None,
    check_reps: int | None,
    max_evals: int | None,
    jobs: int | None,
    quiet: bool,
    study_dir: Path | None,
    with_report: bool,
    resume: Path | None,
    force: bool,
) -> None:
    """Fit the free parameters that scenario FILE declares to its targets.

    Writes the calibrated scenario (the file with only the fitted numbers changed and a
    calibration comment block) and, beside it, a .calibration.csv table of target,
    simulated value and whether it is within tolerance. The study's record goes to a
    directory of its own (--dir): calibration.csv, parameters.csv, history.csv,
    calibration.png/svg, the calibrated scenario resolved and manifest.json. Each
    evaluation is saved as it finishes; an interrupted calibration is finished with
    --resume DIR (the record directory), ending where an uninterrupted one does.
    """
    from sim import io, studies
    from sim.workspace import Workspace

    source = Path(file)
    scenario = load_scenario(file)
    if scenario.calibration is None:
        raise UserError(f"{file}: calibration: the scenario declares no calibration block")
    target = source if in_place else (out or source.with_name(f"{source.stem}.calibrated.yaml"))
    table_path = target.with_name(f"{target.name.removesuffix('.yaml')}.calibration.csv")
    study_dir, saved_in = _resume_dir(study_dir, resume)
    again = ["crisis-sim calibrate", file] + [
        f"{flag} {value}"
        for flag, value in [
            ("--out", out),
            ("--reps", reps),
            ("--check-reps", check_reps),
            ("--max-evals", max_evals),
        ]
        if value is not None
    ]
    again += ["--in-place"] if in_place else []
    ctx.meta["resume_command"] = lambda d: " ".join([*again, "--resume", str(d)])
    ws = Workspace(
        study_dir,
        f"{scenario.name}-calibrate",
        force=force,
        resume=resume is not None,
        saved_in=saved_in,
    )
    res = studies.calibrate(
        scenario,
        jobs=jobs,
        replications=reps,
        check_replications=check_reps,
        max_evaluations=max_evals,
        report=None if quiet else _say,
        workspace=ws,
    )
    checked = check_reps or scenario.calibration.check_replications
    studies.write_calibrated(scenario, target, res, checked)
    io.atomic_text(table_path, res.table.to_csv(index=False))
    calibrated = load_scenario(target)
    study = studies.Calibration.of(
        res, calibrated, source, target, reps or scenario.calibration.replications, checked
    )
    ws.sources = [(calibrated.name, calibrated)]
    ws.write(study)
    click.echo(study.printout())
    _report_if(ws.out, with_report, study)
    from sim.printed import wrap

    click.echo(
        "\n" + wrap(f"wrote {target} and {table_path}; the study's record: {ws.out}/", indent="  ")
    )


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.argument("whatifs", nargs=-1, type=click.Path(dir_okay=False))
@click.option(
    "--samples",
    type=click.IntRange(min=2),
    required=True,
    help="Parameter sets drawn from FILE's uncertainty block.",
)
@click.option(
    "--reps",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Inner replications per parameter set (2 or more to measure Monte Carlo noise).",
)
@click.option(
    "--dsa-reps",
    type=click.IntRange(min=0),
    default=10,
    show_default=True,
    help="Replications per variant of the one-way sensitivity analysis (tornado); 0: none.",
)
@_seed_option()
@_out_option("runs/<scenario>-psa-<timestamp>")
@_work_options
@_resume_option("PSA")
@_dask_options
@click.pass_context
def psa(
    ctx: click.Context,
    file: str,
    whatifs: tuple[str, ...],
    samples: int,
    reps: int,
    dsa_reps: int,
    seed: int | None,
    out: Path | None,
    jobs: int | None,
    force: bool,
    quiet: bool,
    with_report: bool,
    resume: Path | None,
    scheduler: str | None,
    dask_workers: int | None,
) -> None:
    """Probabilistic sensitivity analysis of FILE (and what-if files' policies).

    Draws --samples parameter sets from FILE's uncertainty block, runs every policy at
    each under common random numbers, and writes the table (psa.parquet), the decision
    (decision.csv: incremental analysis, net benefit, probability cost-effective, EVPI),
    the Monte Carlo share (variance.csv, with --reps 2 or more), the EVPPI of each
    field (evppi.csv) and the figures; then a one-way sensitivity analysis, each field at
    its 2.5th and 97.5th percentiles (dsa.csv, tornado.csv, tornado.png). Work is saved
    as it finishes; an interrupted PSA is finished with --resume DIR.
    """
    from sim import uncertainty
    from sim.studies.psa import psa_to_directory

    scenarios = _seeded(load_scenarios([file, *whatifs]), seed)
    out, saved_in = _resume_dir(out, resume)
    extra = [f"--samples {samples}", f"--reps {reps}", f"--dsa-reps {dsa_reps}"] + (
        [f"--seed {seed}"] if seed is not None else []
    )
    ctx.meta["resume_command"] = lambda d: " ".join(
        ["crisis-sim psa", file, *whatifs, "--resume", str(d), *extra]
    )
    one_way = (1 + 2 * len(uncertainty.columns(scenarios[0]))) * dsa_reps
    bar = _progress(samples * reps + one_way, f"{scenarios[0].name}: PSA and one-way runs", quiet)
    with bar, _executor(scheduler, dask_workers) as dask:
        study = psa_to_directory(
            scenarios[0],
            out,
            samples=samples,
            replications=reps,
            dsa_replications=dsa_reps,
            whatifs=scenarios[1:],
            jobs=jobs,
            resume=resume is not None,
            saved_in=saved_in,
            force=force,
            dask=dask,
            progress=bar.update,
            report=lambda line: click.echo(line, err=True),
            sources=[(s.name, s) for s in scenarios],
        )
    assert study.out is not None
    _printed(study.out, study, with_report)


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.argument("whatifs", nargs=-1, type=click.Path(dir_okay=False))
@click.option(
    "--reps",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    help="Replications per variant (the same patients in every variant).",
)
@_seed_option()
@_out_option("runs/<scenario>-dsa-<timestamp>")
@_work_options
@_resume_option("one-way analysis")
@_dask_options
@click.pass_context
def dsa(
    ctx: click.Context,
    file: str,
    whatifs: tuple[str, ...],
    reps: int,
    seed: int | None,
    out: Path | None,
    jobs: int | None,
    force: bool,
    quiet: bool,
    with_report: bool,
    resume: Path | None,
    scheduler: str | None,
    dask_workers: int | None,
) -> None:
    """One-way sensitivity analysis of FILE (and what-if files' policies): the tornado.

    Each field of FILE's uncertainty block in turn at its 2.5th and 97.5th percentiles,
    the others at the scenario's values; every policy runs --reps replications there.
    Writes dsa.csv, tornado.csv and tornado.png. What `psa` does after its parameter
    sets, on its own: minutes rather than an hour. Saved as it goes; an interrupted one
    is finished with --resume DIR.
    """
    from sim import uncertainty
    from sim.studies.dsa import dsa_to_directory

    scenarios = _seeded(load_scenarios([file, *whatifs]), seed)
    if scenarios[0].uncertainty is None:
        raise UserError(f"{file}: uncertainty: a one-way analysis needs an uncertainty block")
    out, saved_in = _resume_dir(out, resume)
    again = ["crisis-sim dsa", file, *whatifs, f"--reps {reps}"]
    again += [f"--seed {seed}"] if seed is not None else []
    ctx.meta["resume_command"] = lambda d: " ".join([*again, "--resume", str(d)])
    variants = 1 + 2 * len(uncertainty.columns(scenarios[0]))
    bar = _progress(reps, f"{scenarios[0].name}: replications of {variants} variants", quiet)
    with bar, _executor(scheduler, dask_workers) as dask:
        study = dsa_to_directory(
            scenarios[0],
            out,
            replications=reps,
            whatifs=scenarios[1:],
            jobs=jobs,
            resume=resume is not None,
            saved_in=saved_in,
            force=force,
            dask=dask,
            progress=bar.update,
            report=_say,
            sources=[(s.name, s) for s in scenarios],
        )
    assert study.out is not None
    _printed(study.out, study, with_report)


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
    help="Simulated trials per size (default: 500).",
)
@_out_option("runs/<scenario>-power-<timestamp>")
@_work_options
@_resume_option("power study")
@click.pass_context
def power(
    ctx: click.Context,
    file: str,
    n_per_arm: str,
    reps: int | None,
    out: Path | None,
    jobs: int | None,
    force: bool,
    quiet: bool,
    with_report: bool,
    resume: Path | None,
) -> None:
    """Power against trial size for a trial scenario FILE: power.csv and power.png.

    Finished trials are saved as they finish; an interrupted study is finished with
    --resume DIR.
    """
    from sim import studies

    scenario = load_scenario(file)
    if not scenario.is_trial:
        raise UserError(f"{file}: feed.kind: power needs a trial scenario (kind: trial)")
    sizes = studies.parse_sizes(n_per_arm)
    again = ["crisis-sim power", file, f"--n-per-arm {n_per_arm}"] + (
        [f"--reps {reps}"] if reps else []
    )
    ws, n = _saving_workspace(
        ctx, out, resume, f"{scenario.name}-power", force, [scenario], reps, 500, again
    )
    with _progress(n, f"replications of {len(sizes)} trial sizes", quiet) as bar:
        study = studies.power(
            scenario, sizes, n, jobs=jobs, progress=bar.update, workspace=ws, report=_say
        )
    _finish(ws, study, with_report)


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option(
    "--reps", type=click.IntRange(min=2), help="Replications (default: the first file's)."
)
@_seed_option("Seed for every policy.")
@_out_option("runs/compare-<timestamp>")
@_work_options
@_resume_option("comparison")
@_dask_options
@click.pass_context
def compare(
    ctx: click.Context,
    files: tuple[str, ...],
    reps: int | None,
    seed: int | None,
    out: Path | None,
    jobs: int | None,
    force: bool,
    quiet: bool,
    with_report: bool,
    resume: Path | None,
    scheduler: str | None,
    dask_workers: int | None,
) -> None:
    """Compare the policies of one or more scenario FILES under common random numbers.

    Every policy (arm) of every file runs the same replications with the same seed and
    patients; the first policy of the first file is the baseline. Writes compare.csv,
    metrics.parquet, timeseries.parquet, notes.txt, forest.png and capacity.png.
    Finished replications are saved as they finish; an interrupted comparison is
    finished with --resume DIR.
    """
    from sim import studies

    scenarios = load_scenarios(files)
    scenarios[:1] = _seeded(scenarios[:1], seed)  # the first file's seed is every policy's
    if (reps or scenarios[0].replications) < 2:
        raise UserError(f"{files[0]}: replications: compare needs at least 2 for a CI (use --reps)")
    again = (
        ["crisis-sim compare", *files]
        + ([f"--seed {seed}"] if seed is not None else [])
        + ([f"--reps {reps}"] if reps else [])
    )
    ws, n = _saving_workspace(
        ctx, out, resume, "compare", force, scenarios, reps, scenarios[0].replications, again
    )
    with _progress(n, "replications", quiet) as bar:
        with _executor(scheduler, dask_workers) as dask:
            study = studies.compare(
                scenarios, n, jobs=jobs, progress=bar.update, dask=dask, workspace=ws, report=_say
            )
    _finish(ws, study, with_report)


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
@_out_option("runs/<scenario>-sweep-<timestamp>")
@_work_options
@_resume_option("sweep")
@_dask_options
@click.pass_context
def sweep(
    ctx: click.Context,
    file: str,
    sets: tuple[str, ...],
    metrics: tuple[str, ...],
    reps: int | None,
    out: Path | None,
    jobs: int | None,
    force: bool,
    quiet: bool,
    with_report: bool,
    resume: Path | None,
    scheduler: str | None,
    dask_workers: int | None,
) -> None:
    """Run scenario FILE at every value of one or two fields, under common random numbers.

    Writes sweep.csv (tidy: set:<field> columns, arm, metric, mean, ci_low, ci_high),
    sweep_metrics.parquet (per replication) and sweep.png. Finished replications are
    saved as they finish; an interrupted sweep is finished with --resume DIR.
    """
    from sim import studies

    scenario = load_scenario(file)
    if len(sets) > 2:
        raise UserError("--set: give one field, or two for a grid")
    settings = [studies.parse_set(x) for x in sets]
    points = 1
    for _, values in settings:
        points *= len(values)
    again = ["crisis-sim sweep", file, *(f"--set {shlex.quote(x)}" for x in sets)]
    again += [f"--metric {m}" for m in metrics] + ([f"--reps {reps}"] if reps else [])
    ws, n = _saving_workspace(
        ctx,
        out,
        resume,
        f"{scenario.name}-sweep",
        force,
        [scenario],
        reps,
        scenario.replications,
        again,
    )
    with _progress(n, f"replications of {points} points", quiet) as bar:
        with _executor(scheduler, dask_workers) as dask:
            study = studies.sweep(
                scenario,
                settings,
                n,
                jobs=jobs,
                progress=bar.update,
                dask=dask,
                metrics=metrics,
                workspace=ws,
                report=_say,
            )
    _finish(ws, study, with_report)


# ------------------------------------------------------------------------------ progress
class _NoBar:
    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, n: int) -> None:
        """Nothing to show."""


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


def _progress(length: int, label: str, quiet: bool) -> _NoBar | _RateBar:
    """A progress bar (done, rate, time left) on stderr, only when stderr is a terminal."""
    if quiet or not sys.stderr.isatty():
        return _NoBar()
    show: Callable[[str | None], str | None] = lambda rate: rate  # noqa: E731
    return _RateBar(
        click.progressbar(
            length=length,
            label=label,
            file=sys.stderr,
            show_eta=True,
            show_pos=True,
            item_show_func=show,
        )
    )


def main() -> None:
    """Entry point of the ``crisis-sim`` command."""
    cli(prog_name="crisis-sim")


if __name__ == "__main__":  # pragma: no cover
    main()
