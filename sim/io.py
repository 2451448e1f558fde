"""Files: the run directory and every command's output directory, written atomically.

Everything is written into a hidden sibling directory first and renamed into place
at the end, so an output directory is either complete or absent: an error or Ctrl-C
half-way leaves nothing where the user looks.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from sim import figures, provenance
from sim.config import resolved_yaml
from sim.errors import EventsMissing, OutputExists, UserError
from sim.results import RunResult

__all__ = [
    "EventParts",
    "OUTPUT_FILES",
    "atomic_text",
    "check_out_dir",
    "default_out_dir",
    "manifest",
    "output_dir",
    "table_bytes",
    "write_files",
    "write_run",
]

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


def table_bytes(name: str, frame: pd.DataFrame) -> bytes:
    """A table as its file holds it: Parquet for ``*.parquet``, else CSV.

    Tables with a row per replication, trial or parameter set are Parquet (a twentieth
    to a third of the size, read back with their types); summaries a person opens are
    CSV.
    """
    if name.endswith(".parquet"):
        return frame.to_parquet(index=False)
    return frame.to_csv(index=False).encode()


def check_out_dir(out: Path, force: bool) -> None:
    """Refuse an existing output directory unless ``force`` (:class:`OutputExists`)."""
    if out.exists() and not force:
        raise OutputExists(f"{out}: already exists; choose another --out or add --force")
    if out.exists() and not out.is_dir():
        raise OutputExists(f"{out}: exists and is not a directory")


def default_out_dir(name: str, now: datetime) -> Path:
    """``runs/<name>-<YYYYmmdd-HHMMSS>``: a new directory for every run."""
    return Path("runs") / f"{name}-{now.strftime('%Y%m%d-%H%M%S')}"


def output_dir(out: Path | None, name: str, force: bool, now: datetime | None = None) -> Path:
    """The output directory: ``out``, or a fresh ``runs/<name>-<timestamp>``.

    ``out`` is refused if it exists, unless ``force``. Check it before any work, so a
    refusal costs nothing.
    """
    if out is None:
        out = candidate = default_out_dir(name, now or datetime.now().astimezone())
        k = 2
        while out.exists():
            out = candidate.with_name(f"{candidate.name}-{k}")
            k += 1
    check_out_dir(out, force)
    return out


def atomic_text(path: Path, text: str) -> None:
    """Write a text file whole or not at all (a temporary name, then a rename)."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def manifest(
    result: RunResult,
    *,
    command: list[str],
    started: datetime,
    wall_seconds: float,
    jobs: int,
    replications: int,
) -> dict[str, Any]:
    """What is needed to reproduce and audit a run (:func:`sim.provenance.record`)."""
    return provenance.record(
        "run",
        command,
        started,
        wall_seconds,
        scenario=result.scenario.name,
        seed=result.scenario.seed,
        replications=replications,
        jobs=jobs,
        files={
            name: desc
            for name, desc in OUTPUT_FILES.items()
            if name != "events" or result.events is not None or result.events_dir is not None
        },
    )


def write_run(
    result: RunResult,
    out: Path,
    info: dict[str, Any],
    force: bool = False,
    write_patients: Callable[[Path], None] | None = None,
    notes: bytes | None = None,
) -> Path:
    """Write the run directory atomically (assembled beside it, then renamed); return it.

    ``write_patients(path)`` writes ``patients.parquet`` when ``result.patients`` is
    None (a run in progress streams it from its saved batches). Event parts the
    workers wrote (``result.events_dir``) are moved in, and moved back if the writing
    fails, so that nothing saved is lost.
    """
    check_out_dir(out, force)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.partial-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    moved: list[tuple[Path, Path]] = []
    try:
        (tmp / "scenario.resolved.yaml").write_text(
            resolved_yaml(result.scenario), encoding="utf-8"
        )
        if notes is not None:
            (tmp / "scenario.notes.csv").write_bytes(notes)
        if result.patients is not None:
            result.patients.to_parquet(tmp / "patients.parquet", index=False)
        elif write_patients is not None:
            write_patients(tmp / "patients.parquet")
        _place_events(result, tmp / "events", moved)
        tables = {
            "metrics.parquet": result.metrics,
            "summary.csv": result.summary,
            "timeseries.parquet": result.timeseries,
            "trial.parquet": result.trial,
            "trial_summary.csv": result.trial_summary,
            "attendance.parquet": result.attendance,
            "mcf.csv": result.mcf,
            "published.csv": result.published,
        }
        for name, table in tables.items():
            if table is not None:  # a trial's tables, the series: only where they apply
                (tmp / name).write_bytes(table_bytes(name, table))
        patients = result.patients
        if patients is None and result.trial is not None:  # written already: what the plots need
            patients = pd.read_parquet(tmp / "patients.parquet", columns=figures.PATIENT_COLUMNS)
        sc = result.scenario
        stamp = figures.stamp("run", [sc.name], sc.seed, f"{info.get('replications')} replications")
        for name, data in figures.encoded(figures.run_figures(result, patients), stamp).items():
            (tmp / name).write_bytes(data)
        (tmp / "manifest.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
        _swap_into_place(tmp, out)
    except BaseException:
        for src, dst in reversed(moved):  # the event parts go back where they were saved
            if dst.exists() and not src.exists():
                dst.rename(src)
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _place_events(result: RunResult, where: Path, moved: list[tuple[Path, Path]]) -> None:
    """Put the run directory's ``events`` in place.

    The parts the workers wrote are moved in (each move noted in ``moved``), those of
    this run's replications only; or the in-memory log is written as one part; nothing
    if the run kept no events.
    """
    if result.events_dir is not None:
        src = Path(result.events_dir)
        where.mkdir()
        for r in sorted(EventParts.name(r) for r in result.replications or []):
            moved.append((src / r, where / r))
            (src / r).rename(where / r)
    elif result.events is not None:
        where.mkdir()
        result.events.to_parquet(where / "part-00000.parquet", index=False)


class EventParts:
    """One replication's event log, written in Parquet parts as the run produces it.

    The parts (``part-00000.parquet``, ...: whole patients each, columns as in
    docs/outputs.md) go to a hidden directory beside ``ROOT/rep-NNNNNNN`` that is
    renamed into place when the replication is done: its events are there whole or
    not at all. ``pandas.read_parquet(ROOT)`` reads them all back.
    """

    def __init__(self, root: Path, replication: int, scenario_name: str):
        self.final = Path(root) / self.name(replication)
        self.tmp = self.final.with_name(f".{self.final.name}.tmp-{os.getpid()}")
        self.scenario_name = scenario_name
        shutil.rmtree(self.tmp, ignore_errors=True)
        self.tmp.mkdir(parents=True)
        self.parts = 0

    @staticmethod
    def name(replication: int) -> str:
        """The directory of a replication's parts: ``rep-NNNNNNN``."""
        return f"rep-{replication:07d}"

    def write(self, frame: pd.DataFrame) -> None:
        """Write one part (the frame gains the ``scenario`` column)."""
        frame.insert(0, "scenario", self.scenario_name)
        frame.to_parquet(self.tmp / f"part-{self.parts:05d}.parquet", index=False)
        self.parts += 1

    def close(self) -> None:
        """The replication is done: put its parts in place."""
        shutil.rmtree(self.final, ignore_errors=True)
        self.tmp.rename(self.final)

    def abort(self) -> None:
        """The replication failed: remove its parts."""
        shutil.rmtree(self.tmp, ignore_errors=True)

    @classmethod
    def check(cls, root: Path, replications: list[int]) -> None:
        """Raise :class:`EventsMissing` if any replication's events are not in ``root``.

        They are missing when a worker on another machine wrote them on its own disk.
        """
        missing = [r for r in replications if not (Path(root) / cls.name(r)).is_dir()]
        if missing:
            raise EventsMissing(
                f"{root}: the events of replication {missing[0]}"
                f"{f' (and {len(missing) - 1} more)' if len(missing) > 1 else ''} are not "
                "there: workers write their events themselves, so on a cluster the run "
                "directory must be on a filesystem every worker shares"
            )


def write_files(out: Path, files: dict[str, bytes], force: bool = False) -> Path:
    """Write a directory of files atomically (all or nothing).

    Raises :class:`OutputExists` (``out`` exists, without ``force``) or
    :class:`UserError` (the system refuses: no permission, no space).
    """
    check_out_dir(out, force)
    tmp = out.parent / f".{out.name}.partial-{os.getpid()}"
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        for name, data in files.items():
            (tmp / name).write_bytes(data)
        _swap_into_place(tmp, out)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise UserError(f"{out}: cannot write ({exc.strerror})") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _swap_into_place(tmp: Path, out: Path) -> None:
    old = None
    if out.exists():
        old = out.parent / f".{out.name}.old-{os.getpid()}"
        out.rename(old)
    tmp.rename(out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
