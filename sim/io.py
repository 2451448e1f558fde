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
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from sim.api import RunResult
from sim.config import resolved_yaml

__all__ = [
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
    "events.parquet": "the event log (with --events only)",
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
            if name != "events.parquet" or result.events is not None
        },
    }


def _present(result: RunResult, name: str) -> bool:
    if name == "events.parquet":
        return result.events is not None
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


class ReplicationStore:
    """Finished replications of a run in progress, saved as they finish.

    Lives in ``.<name>.partial/`` beside the run directory: the resolved scenario, and
    one directory per finished replication with its tables as Parquet, each written
    to a temporary name and renamed (a replication is saved whole or not at all).
    ``crisis-sim run FILE --resume DIR`` reloads them and runs only what is missing.
    """

    TABLES = ("patients", "metrics", "trial", "attendance", "timeseries", "events")

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
        _atomic_text(marker, resolved)

    def saved(self) -> dict[int, dict]:
        """The replications already finished: index -> tables."""
        out: dict[int, dict] = {}
        for d in sorted(self.reps.glob("[0-9]*")):
            tables = {}
            for name in self.TABLES:
                f = d / f"{name}.parquet"
                tables[name] = pd.read_parquet(f) if f.exists() else None
            out[int(d.name)] = tables
        return out

    def save(self, replication: int, tables: dict) -> None:
        """Save one finished replication, atomically."""
        final = self.reps / f"{replication:07d}"
        tmp = self.reps / f".{replication:07d}.tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        for name, frame in tables.items():
            if frame is not None:
                frame.to_parquet(tmp / f"{name}.parquet", index=False)
        shutil.rmtree(final, ignore_errors=True)
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
        if result.events is not None:
            result.events.to_parquet(tmp / "events.parquet", index=False)
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
