"""The run directory: tables, resolved scenario and manifest, written atomically.

Everything is written into a hidden sibling directory first and renamed into
place at the end, so a run directory is either complete or absent: an error or
Ctrl-C half-way leaves nothing where the user looks.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import uuid
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from sim.api import RunResult
from sim.config import resolved_yaml

__all__ = [
    "EventParts",
    "RunDirExists",
    "ReplicationStore",
    "check_out_dir",
    "write_run",
    "manifest",
    "OUTPUT_FILES",
]

OUTPUT_FILES = {
    "scenario.resolved.yaml": "the scenario with every default filled in (and --seed applied)",
    "manifest.json": "command, seed, replications, versions, git commit, times, machine",
    "patients.parquet": "one row per patient per replication (docs/outputs.md)",
    "metrics.csv": "long table: replication, arm, metric, value",
    "summary.csv": "per arm and metric: mean, 95% CI across replications, sd, replications",
    "events": "the event log, a directory of Parquet parts (with --events only)",
    "trial.csv": "trial scenarios: statistics per simulated trial, horizon and arm",
    "trial_summary.csv": "trial scenarios: across trials: mean, median, 2.5-97.5%, power, coverage",
    "attendance.csv": "trial scenarios: share attending k sessions, per trial and arm",
    "timeseries.csv": "weekly ward beds occupied, waiting list, peer places in use, per run",
    "capacity.png": "ward occupancy and the peer-support waiting list over time",
    "km.png": "trial scenarios: time to first readmission by arm (Kaplan-Meier)",
    "hazard_ratios.png": "trial scenarios: distribution of the simulated trials' hazard ratios",
    "attendance.png": "trial scenarios: sessions attended against the published shares",
}

_PACKAGES = ("crisis-sim", "simpy", "numpy", "pandas", "pyarrow", "pydantic", "PyYAML", "scipy")


class RunDirExists(FileExistsError):
    """The output directory exists and --force was not given."""


def check_out_dir(out: Path, force: bool) -> None:
    """Refuse an existing output directory unless ``force``."""
    if out.exists() and not force:
        raise RunDirExists(f"{out}: already exists; choose another --out or add --force")
    if out.exists() and not out.is_dir():
        raise RunDirExists(f"{out}: exists and is not a directory")


def _git_commit() -> str | None:
    here = Path(__file__).resolve().parent
    try:
        sha = subprocess.run(
            ["git", "-C", str(here), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(here), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{sha}{'+dirty' if dirty else ''}" if sha else None


def manifest(
    result: RunResult,
    *,
    command: list[str],
    started: datetime,
    wall_seconds: float,
    jobs: int,
    replications: int,
) -> dict[str, Any]:
    """What is needed to reproduce and audit a run."""
    versions = {}
    for pkg in _PACKAGES:
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = None
    versions["python"] = platform.python_version()
    return {
        "command": command,
        "scenario": result.scenario.name,
        "seed": result.scenario.seed,
        "replications": replications,
        "jobs": jobs,
        "started": started.isoformat(timespec="seconds"),
        "wall_seconds": round(wall_seconds, 3),
        "versions": versions,
        "git_commit": _git_commit(),
        "machine": {
            "platform": platform.platform(),
            "machine": platform.machine(),
            "cpus": os.cpu_count(),
            "hostname": platform.node(),
        },
        "files": {
            name: desc
            for name, desc in OUTPUT_FILES.items()
            if name != "events" or _has_events(result)
        },
    }


def _has_events(result: RunResult) -> bool:
    return result.events is not None or result.events_dir is not None


def _present(result: RunResult, name: str) -> bool:
    if name == "events":
        return _has_events(result)
    if name in ("trial.csv", "trial_summary.csv", "attendance.csv") or name.endswith(".png"):
        return result.trial is not None
    return True


def _capacity_plot(result: RunResult, where: Path) -> None:
    from sim import plots
    from sim.config import ServiceFeed

    sc = result.scenario
    warm = sc.feed.warm_up_days if isinstance(sc.feed, ServiceFeed) else 0.0
    fig = plots.capacity_over_time(result.timeseries, warm, sc.acute_care.ward.capacity)
    fig.savefig(where / "capacity.png", dpi=110)


def _trial_plots(result: RunResult, where: Path) -> None:
    from sim import plots

    sc = result.scenario
    pub, h = sc.outcomes.published, sc.outcomes.primary_horizon_days
    figures = {
        "km.png": plots.km_by_arm(result.patients, h, pub),
        "hazard_ratios.png": plots.hazard_ratio_distribution(result.trial, h, pub),
        "attendance.png": plots.attendance_plot(result.attendance, pub),
    }
    for name, fig in figures.items():
        fig.savefig(where / name, dpi=110)


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
        shutil.rmtree(self.tmp, ignore_errors=True)

    @classmethod
    def check(cls, root: Path, replications: list[int]) -> None:
        """Raise if any replication's events are not in ``root`` (e.g. written by a
        worker on another machine)."""
        missing = [r for r in replications if not (Path(root) / cls.name(r)).is_dir()]
        if missing:
            raise FileNotFoundError(
                f"{root}: the events of replication {missing[0]}"
                f"{f' (and {len(missing) - 1} more)' if len(missing) > 1 else ''} are not "
                "there: workers write their events themselves, so on a cluster the run "
                "directory must be on a filesystem every worker shares"
            )


class ReplicationStore:
    """Finished replications of a run in progress, saved as they finish.

    Lives in ``.<name>.partial/`` beside the run directory: the resolved scenario, and
    one directory per batch of finished replications (those of a chunk that has just
    finished) with their tables as Parquet and the list of replications, written to a
    temporary name and renamed (a batch is saved whole or not at all). One directory a
    batch rather than a replication: saving 1,000 small trials one by one took as long
    as simulating them. ``crisis-sim run FILE --resume DIR`` reloads them and runs only
    what is missing.
    """

    TABLES = ("patients", "metrics", "trial", "attendance", "timeseries")

    def __init__(self, out: Path, resolved: str, resume: bool, force: bool):
        self.out = out
        self.path = partial_dir(out)
        self.reps = self.path / "reps"
        marker = self.path / "scenario.resolved.yaml"
        if resume:
            if not marker.exists():
                raise RunDirExists(f"{out}: nothing to resume (no interrupted run saved there)")
            if marker.read_text(encoding="utf-8") != resolved:
                raise RunDirExists(
                    f"{out}: the interrupted run was of another scenario or seed; "
                    "resume with the same FILE and --seed, or start again with --force"
                )
        elif self.path.exists():
            if not force:
                raise RunDirExists(
                    f"{out}: an interrupted run is saved there; finish it with --resume "
                    f"{out}, or start again with --force"
                )
            shutil.rmtree(self.path)
        self.reps.mkdir(parents=True, exist_ok=True)
        self.events = self.path / "events"  # --events: written by the workers, in parts
        _atomic_text(marker, resolved)

    def has_events(self, replication: int) -> bool:
        """Whether a saved replication's events were written (it ran with --events)."""
        return (self.events / EventParts.name(replication)).is_dir()

    def saved(self) -> dict[int, dict]:
        """The replications already finished: index -> tables."""
        out: dict[int, dict] = {}
        for d in sorted(self.reps.glob("[0-9]*")):
            reps = json.loads((d / "replications.json").read_text(encoding="utf-8"))
            tables = {}
            for name in self.TABLES:
                f = d / f"{name}.parquet"
                tables[name] = pd.read_parquet(f) if f.exists() else None
            for r in reps:
                out[r] = {
                    name: None if t is None else t[t["replication"] == r].reset_index(drop=True)
                    for name, t in tables.items()
                }
        return out

    def count(self) -> int:
        """How many replications are saved (without reading their tables)."""
        return sum(
            len(json.loads((d / "replications.json").read_text(encoding="utf-8")))
            for d in self.reps.glob("[0-9]*")
        )

    def save(self, pairs: list[tuple[int, dict]]) -> None:
        """Save a batch of finished replications, atomically."""
        if not pairs:
            return
        reps = [r for r, _ in pairs]
        name = f"{min(reps):07d}-{uuid.uuid4().hex[:8]}"
        final, tmp = self.reps / name, self.reps / f".{name}.tmp"
        tmp.mkdir()
        for table in self.TABLES:
            frames = [t[table] for _, t in pairs if t.get(table) is not None]
            if frames:
                pd.concat(frames, ignore_index=True).to_parquet(
                    tmp / f"{table}.parquet", index=False
                )
        (tmp / "replications.json").write_text(json.dumps(reps), encoding="utf-8")
        tmp.rename(final)


def partial_dir(out: Path) -> Path:
    """Where a run in progress keeps its finished replications."""
    return out.parent / f".{out.name}.partial"


def _atomic_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def write_run(
    result: RunResult,
    out: Path,
    info: dict[str, Any],
    force: bool = False,
    store: ReplicationStore | None = None,
) -> Path:
    """Write the run directory atomically (assembled beside it, then renamed); return it."""
    check_out_dir(out, force)
    out.parent.mkdir(parents=True, exist_ok=True)
    if store is not None:
        tmp = store.path
        shutil.rmtree(store.reps, ignore_errors=True)  # all assembled into the tables
    else:
        tmp = out.parent / f".{out.name}.partial-{os.getpid()}"
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir()
    try:
        (tmp / "scenario.resolved.yaml").write_text(
            resolved_yaml(result.scenario), encoding="utf-8"
        )
        result.patients.to_parquet(tmp / "patients.parquet", index=False)
        result.metrics.to_csv(tmp / "metrics.csv", index=False)
        result.summary.to_csv(tmp / "summary.csv", index=False)
        if result.timeseries is not None:
            result.timeseries.to_csv(tmp / "timeseries.csv", index=False)
            _capacity_plot(result, tmp)
        _place_events(result, tmp / "events")
        if result.trial is not None:
            result.trial.to_csv(tmp / "trial.csv", index=False)
            result.trial_summary.to_csv(tmp / "trial_summary.csv", index=False)
            result.attendance.to_csv(tmp / "attendance.csv", index=False)
            _trial_plots(result, tmp)
        (tmp / "manifest.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
        _swap_into_place(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _place_events(result: RunResult, where: Path) -> None:
    """The run directory's ``events``: parts already written there by the workers
    (anything else there, e.g. of a replication not in this run, is removed), or the
    in-memory log as one part; nothing if the run kept no events."""
    if result.events_dir is not None:
        src = Path(result.events_dir)
        keep = {EventParts.name(r) for r in result.replications or []}
        if src != where:
            where.mkdir()
            for r in sorted(keep):
                (src / r).rename(where / r)
        for d in where.iterdir():
            if d.name not in keep:
                shutil.rmtree(d) if d.is_dir() else d.unlink()
    elif result.events is not None:
        where.mkdir()
        result.events.to_parquet(where / "part-00000.parquet", index=False)
    elif where.exists():  # left by an earlier attempt that had --events
        shutil.rmtree(where)


def write_files(out: Path, files: dict[str, bytes], force: bool = False) -> Path:
    """Write a directory of files atomically (all or nothing)."""
    check_out_dir(out, force)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.partial-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        for name, data in files.items():
            (tmp / name).write_bytes(data)
        _swap_into_place(tmp, out)
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


def default_out_dir(scenario_name: str, now: datetime) -> Path:
    """``runs/<scenario>-<YYYYmmdd-HHMMSS>``: a new directory for every run."""
    return Path("runs") / f"{scenario_name}-{now.strftime('%Y%m%d-%H%M%S')}"
