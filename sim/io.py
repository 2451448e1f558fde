"""Files: tables as bytes, files and directories written atomically, event parts.

Everything is written into a hidden sibling directory first and renamed into place
at the end, so an output directory is either complete or absent: an error or Ctrl-C
half-way leaves nothing where the user looks. What goes into a study's directory, and
when, is :mod:`sim.workspace`'s.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd

from sim.errors import EventsMissing

__all__ = [
    "EventParts",
    "atomic_text",
    "swap_into_place",
    "table_bytes",
]


def table_bytes(name: str, frame: pd.DataFrame) -> bytes:
    """A table as its file holds it: Parquet for ``*.parquet``, else CSV.

    Tables with a row per replication, trial or parameter set are Parquet (a twentieth
    to a third of the size, read back with their types); summaries a person opens are
    CSV.
    """
    if name.endswith(".parquet"):
        return frame.to_parquet(index=False)
    return frame.to_csv(index=False).encode()


def atomic_text(path: Path, text: str) -> None:
    """Write a text file whole or not at all (a temporary name, then a rename)."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


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


def swap_into_place(tmp: Path, out: Path) -> None:
    """Put the directory assembled at ``tmp`` in place of ``out`` (replaced if there)."""
    old = None
    if out.exists():
        old = out.parent / f".{out.name}.old-{os.getpid()}"
        out.rename(old)
    tmp.rename(out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
