"""Where a result came from: the code's git commit, package versions, the machine."""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["git_commit", "versions", "machine", "record", "scenario_notes"]

# every library a run may use: the model, tables, statistics, figures, files, the
# command line and the Dask executor (None where it is not installed)
PACKAGES = (
    "crisis-sim",
    "simpy",
    "numpy",
    "pandas",
    "pyarrow",
    "pydantic",
    "pydantic-core",
    "PyYAML",
    "scipy",
    "statsmodels",
    "scikit-learn",
    "matplotlib",
    "click",
    "dask",
    "distributed",
)


def git_commit(where: Path | None = None) -> str | None:
    """The commit checked out at ``where`` (default: this package's source), with
    ``+dirty`` if tracked files were changed; None outside a git checkout.
    """
    here = str(where or Path(__file__).resolve().parent)
    try:
        sha = subprocess.run(
            ["git", "-C", here, "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", here, "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{sha}{'+dirty' if dirty else ''}" if sha else None


def versions() -> dict[str, str | None]:
    """Versions of Python and of the packages that decide the results."""
    out: dict[str, str | None] = {}
    for pkg in PACKAGES:
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = None
    out["python"] = platform.python_version()
    return out


def machine() -> dict[str, object]:
    """The machine a run ran on."""
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "hostname": platform.node(),
    }


def record(
    kind: str,
    command: list[str],
    started: datetime,
    wall_seconds: float,
    **fields: Any,
) -> dict[str, Any]:
    """A manifest: what is needed to reproduce and audit a command's output directory.

    ``kind`` is the command (run, compare, sweep, power, calibrate, psa); ``fields``
    what that command adds (scenario, seed, replications, ...), placed after the
    command and before the time, the versions, the commit and the machine.
    """
    return {
        "kind": kind,
        "command": command,
        **fields,
        "started": started.isoformat(timespec="seconds"),
        "wall_seconds": round(wall_seconds, 3),
        "versions": versions(),
        "git_commit": git_commit(),
        "machine": machine(),
    }


def scenario_notes(files: list[tuple[str, Any]]) -> bytes:
    """``scenario.notes.csv``: where each field of each scenario file is set.

    ``files``: (scenario name, the scenario read from its file, or the file's path).
    One row per field: the scenario, the dotted field, the file and line that set it
    (a what-if's base file for what it inherits) and its comment
    (:func:`sim.config.field_notes`).
    """
    import csv
    import io

    from sim.config import field_notes

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["scenario", "field", "file", "line", "note"])
    for name, path in files:
        for field, file, line, note in field_notes(path):
            w.writerow([name, field, file, line, note])
    return buf.getvalue().encode()
