"""A run in progress on disk: its finished replications, saved as they finish.

It lives in ``.<name>.partial/`` beside the run directory: the resolved scenario,
and one directory per batch of finished replications (those of a chunk that has
just finished) with their tables as Parquet and the list of replications, written to
a temporary name and renamed (a batch is saved whole or not at all). One directory a
batch rather than a replication: saving 1,000 small trials one by one took as long as
simulating them. :func:`sim.api.run_to_directory` with ``resume=True`` reloads them
and runs only what is missing.
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from sim.errors import OutputExists
from sim.io import EventParts, atomic_text
from sim.results import REPLICATION_TABLES, Batch

__all__ = ["ReplicationStore", "partial_dir"]


def partial_dir(out: Path) -> Path:
    """Where a run in progress keeps its finished replications."""
    return out.parent / f".{out.name}.partial"


class ReplicationStore:
    """Finished replications of the run to ``out``, saved batch by batch.

    Parameters
    ----------
    out
        The run directory the run will write.
    resolved
        The resolved scenario (YAML): a resumed run must be of the same one.
    resume
        Reopen an interrupted run's store (refused if there is none, or it is of
        another scenario or seed); otherwise start a new one (refused if an
        interrupted run is there, unless ``force``).
    """

    TABLES = REPLICATION_TABLES

    def __init__(
        self,
        out: Path,
        resolved: str,
        resume: bool,
        force: bool,
        tables: tuple[str, ...] | None = None,
    ):
        self.tables = tables or self.TABLES  # each a frame with a `replication` column
        self.out = out
        self.path = partial_dir(out)
        self.reps = self.path / "reps"
        marker = self.path / "scenario.resolved.yaml"
        if resume:
            if not marker.exists():
                raise OutputExists(f"{out}: nothing to resume (no interrupted run saved there)")
            if marker.read_text(encoding="utf-8") != resolved:
                raise OutputExists(
                    f"{out}: the interrupted run was of another scenario or seed; "
                    "resume with the same FILE and --seed, or start again with --force"
                )
        elif self.path.exists():
            if not force:
                raise OutputExists(
                    f"{out}: an interrupted run is saved there; finish it with --resume "
                    f"{out}, or start again with --force"
                )
            shutil.rmtree(self.path)
        self.reps.mkdir(parents=True, exist_ok=True)
        self.events = self.path / "events"  # --events: written by the workers, in parts
        # the batches this run's tables come from, with their replications
        self.used: list[tuple[Path, list[int]]] = []
        atomic_text(marker, resolved)

    def has_events(self, replication: int) -> bool:
        """Whether a saved replication's events were written (it ran with --events)."""
        return (self.events / EventParts.name(replication)).is_dir()

    def _batches(self) -> list[tuple[Path, list[int]]]:
        """Saved batches and their replications, by first replication."""
        out = []
        for d in self.reps.glob("[0-9]*"):
            reps = json.loads((d / "replications.json").read_text(encoding="utf-8"))
            out.append((d, reps))
        return sorted(out, key=lambda b: min(b[1]))

    def saved_batches(
        self,
        wanted: Sequence[int] | None = None,
        events: bool = False,
        patients: bool | Sequence[str] = True,
    ) -> list[Batch]:
        """The batches of replications already finished, by first replication.

        Only whole batches of ``wanted`` replications count (all of them, by default),
        and with ``events`` only batches whose events were written. Without
        ``patients`` the patients tables stay on disk (they are the big ones), to be
        streamed into the run's file by :meth:`write_patients`; with a list of columns,
        only those are read.
        """
        want = None if wanted is None else set(wanted)
        out: list[Batch] = []
        self.used = []
        for d, reps in self._batches():
            if want is not None and not set(reps) <= want:
                continue
            if events and not all(self.has_events(r) for r in reps):
                continue
            self.used.append((d, reps))
            tables = {}
            for name in self.tables:
                f = d / f"{name}.parquet"
                columns = None
                if name == "patients" and not patients:
                    continue
                if name == "patients" and not isinstance(patients, bool):
                    columns = list(patients)
                tables[name] = pd.read_parquet(f, columns=columns) if f.exists() else None
            out.append(Batch(reps, tables))
        return out

    def write_patients(self, path: Path) -> None:
        """Write the run's patients table from its batches, in replication order.

        One batch at a time, a row group or more each: the table is never whole in
        memory.
        """
        import pyarrow.parquet as pq

        writer = None
        try:
            for d, _ in sorted(self.used, key=lambda batch: min(batch[1])):
                table = pq.read_table(d / "patients.parquet")
                if writer is None:
                    writer = pq.ParquetWriter(path, table.schema)
                writer.write_table(table.replace_schema_metadata(writer.schema.metadata))
        finally:
            if writer is not None:
                writer.close()

    def count(self) -> int:
        """How many replications are saved (without reading their tables)."""
        return sum(
            len(json.loads((d / "replications.json").read_text(encoding="utf-8")))
            for d in self.reps.glob("[0-9]*")
        )

    def save_batch(self, batch: Batch) -> None:
        """Save a batch of finished replications, atomically."""
        reps = batch.replications
        if not reps:
            return
        name = f"{min(reps):07d}-{uuid.uuid4().hex[:8]}"
        final, tmp = self.reps / name, self.reps / f".{name}.tmp"
        tmp.mkdir()
        for table in self.tables:
            frame = batch.get(table)
            if frame is not None:
                frame.to_parquet(tmp / f"{table}.parquet", index=False)
        (tmp / "replications.json").write_text(json.dumps(reps), encoding="utf-8")
        tmp.rename(final)
        self.used.append((final, reps))

    def remove(self) -> None:
        """The run directory is in place: drop what was saved for it."""
        shutil.rmtree(self.path, ignore_errors=True)
