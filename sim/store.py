"""A run in progress on disk: its finished replications, saved as they finish.

It lives in ``.<name>.partial/`` beside the run directory:

* ``run.json``: the run it belongs to (an id, the hash of what fixes the run: its
  resolved scenarios and options; the replications asked for; the tables a batch
  holds), written when the run starts;
* ``reps/<first>-<random>/``: one directory per batch of finished replications (those
  of a chunk that has just finished), its tables as Parquet and ``batch.json``: the
  run's id, the replications, and each file's size and SHA-256. A batch is written to a
  temporary name and renamed: saved whole or not at all. One directory a batch rather
  than a replication: saving 1,000 small trials one by one took as long as simulating
  them.

On resume :meth:`ReplicationStore.verify` checks every batch before any is used: one
that is damaged (a file missing, truncated or changed; its record unreadable), of
another run, or holding a replication another batch holds already is set aside and
its replications are run again, and the user is told how many and why. Nothing is
ever counted twice.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from sim.errors import OutputExists
from sim.io import EventParts, atomic_text
from sim.results import REPLICATION_TABLES, Batch

__all__ = ["ReplicationStore", "partial_dir", "started_replications", "Verified"]

FORMAT = 2  # of run.json and batch.json; a store of another format is not resumed


def partial_dir(out: Path) -> Path:
    """Where a run in progress keeps its finished replications."""
    return out.parent / f".{out.name}.partial"


def started_replications(out: Path) -> list[int] | None:
    """The replications the interrupted run at ``out`` was started with (None: no record)."""
    info = ReplicationStore._read_record(partial_dir(out) / "run.json")
    reps = info.get("replications") if info else None
    return reps if isinstance(reps, list) else None


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@dataclass
class Verified:
    """What :meth:`ReplicationStore.verify` found: batches kept, and those set aside.

    ``dropped``: (batch directory name, replications it claimed, why) of each batch set
    aside; their replications are run again.
    """

    kept: int
    replications: int
    dropped: list[tuple[str, int, str]]

    def lines(self, unit: str = "replication(s)") -> list[str]:
        """What to tell the user: one line per batch set aside (of ``unit``)."""
        return [
            f"set aside a saved batch ({n} {unit}): {why}; they are run again"
            for _, n, why in self.dropped
        ]


class ReplicationStore:
    """Finished replications of the run to ``out``, saved batch by batch.

    Parameters
    ----------
    out
        The run directory the run will write (the store is beside it).
    resolved
        What fixes the run (its resolved scenarios and options): a resumed run must be
        of the same; its hash is the run's id, which every batch carries.
    resume
        Reopen an interrupted run's store (refused if there is none, or it is of
        another scenario, seed or options); otherwise start a new one (refused if an
        interrupted run is there, unless ``force``).
    replications
        The replications asked for, recorded in ``run.json``: a resume that is given
        none finishes these (:attr:`requested`).
    """

    TABLES = REPLICATION_TABLES

    def __init__(
        self,
        out: Path,
        resolved: str,
        resume: bool,
        force: bool,
        tables: tuple[str, ...] | None = None,
        replications: Sequence[int] | None = None,
    ):
        self.tables = tables or self.TABLES  # each a frame with a `replication` column
        self.out = out
        self.path = partial_dir(out)
        self.reps = self.path / "reps"
        self.run_id = hashlib.sha256(resolved.encode()).hexdigest()[:16]
        marker = self.path / "scenario.resolved.yaml"
        record = self.path / "run.json"
        self.requested: list[int] | None = list(replications) if replications is not None else None
        if resume:
            if not self.path.is_dir():
                raise OutputExists(f"{out}: nothing to resume (no interrupted run saved there)")
            info = self._read_record(record)
            if info is None:
                raise OutputExists(
                    f"{out}: the saved run has no readable record ({record.name}: written by "
                    "an older crisis-sim, or damaged); start again with --force"
                )
            if info.get("run") != self.run_id:
                raise OutputExists(
                    f"{out}: the interrupted run was of another scenario, seed or options; "
                    "resume with the same FILE and --seed, or start again with --force"
                )
            self.started_with: list[int] | None = info.get("replications")
            if self.requested is None:
                self.requested = self.started_with
            self.reps.mkdir(exist_ok=True)  # a store whose batches were all removed
        else:
            if self.path.exists():
                if not force:
                    raise OutputExists(
                        f"{out}: an interrupted run is saved there; finish it with --resume "
                        f"{out}, or start again with --force"
                    )
                shutil.rmtree(self.path)
            self.started_with = self.requested
            self.reps.mkdir(parents=True)
            atomic_text(marker, resolved)
            atomic_text(
                record,
                json.dumps(
                    {
                        "format": FORMAT,
                        "run": self.run_id,
                        "replications": self.requested,
                        "tables": list(self.tables),
                    }
                ),
            )
        self.events = self.path / "events"  # --events: written by the workers, in parts
        # the batches this run's tables come from, with their replications
        self.used: list[tuple[Path, list[int]]] = []
        self._good: list[tuple[Path, list[int]]] | None = None
        self._total: int | None = None  # the run's replications, for the disk's forecast
        self._warned = False
        self._saves = 0

    def describe(self, command: Sequence[str], started: str) -> None:
        """Write README.txt into the store: what it is, and how to finish or drop it.

        What a user who lists the hidden folder an interruption names reads.
        """
        import shlex

        line = shlex.join([str(c) for c in command])
        atomic_text(
            self.path / "README.txt",
            f"The finished work of a crisis-sim command still in progress, or stopped:\n\n"
            f"    {line}\n\nstarted {started}, to be written to {self.out}/. Finish it "
            f"with the same command and --resume {self.out} (only the work not saved here "
            "runs; the tables are those of an uninterrupted run); add --out OTHER to write "
            "the result elsewhere. Start again with --force, or delete this folder to "
            "discard it. Do not edit its files: a resume checks each one and runs again "
            "what does not check out.\n",
        )

    @staticmethod
    def _read_record(path: Path) -> dict | None:
        try:
            info = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return info if isinstance(info, dict) and info.get("format") == FORMAT else None

    def has_events(self, replication: int) -> bool:
        """Whether a saved replication's events were written (it ran with --events)."""
        return (self.events / EventParts.name(replication)).is_dir()

    def _check(self, d: Path) -> tuple[list[int] | None, str]:
        """A batch's replications if it is whole and this run's, else None and why."""
        info = self._read_record(d / "batch.json")
        if info is None:
            return None, "its record (batch.json) is missing or unreadable"
        if info.get("run") != self.run_id:
            return None, "it belongs to another run"
        reps, files = info.get("replications"), info.get("files")
        if (
            not isinstance(reps, list)
            or not reps
            or not all(isinstance(r, int) and not isinstance(r, bool) for r in reps)
            or not isinstance(files, dict)
        ):
            return None, "its record (batch.json) is damaged"
        for name, meta in files.items():
            f = d / name
            if not f.is_file():
                return None, f"{name} is missing"
            size = f.stat().st_size
            if size != meta.get("bytes"):
                return None, f"{name} has {size} bytes, not the {meta.get('bytes')} saved"
            if _digest(f) != meta.get("sha256"):
                return None, f"{name} is not the file saved (its checksum differs)"
        return reps, ""

    def verify(self) -> Verified:
        """Check every saved batch; set aside the damaged, the foreign and the doubled.

        A batch set aside is moved to ``set-aside/`` in the store (removed with it when
        the run is written); a half-written one (a save stopped midway) is removed.
        """
        good: list[tuple[Path, list[int]]] = []
        dropped: list[tuple[str, int, str]] = []
        held: set[int] = set()
        aside = self.path / "set-aside"
        for d in sorted(self.reps.iterdir()) if self.reps.is_dir() else []:
            if d.name.startswith("."):  # a save stopped midway: never a batch
                shutil.rmtree(d, ignore_errors=True)
                continue
            reps, why = self._check(d)
            if reps is not None and held & set(reps):
                why = f"it holds replication(s) saved already ({len(held & set(reps))})"
                reps = None
            if reps is None:
                claimed = self._claimed(d)
                dropped.append((d.name, claimed, why))
                aside.mkdir(exist_ok=True)
                d.rename(aside / d.name)
                continue
            held |= set(reps)
            good.append((d, reps))
        self._good = sorted(good, key=lambda b: min(b[1]))
        return Verified(len(good), len(held), dropped)

    @staticmethod
    def _claimed(d: Path) -> int:
        """How many replications a batch set aside said it held (0 if it cannot say)."""
        try:
            reps = json.loads((d / "batch.json").read_text(encoding="utf-8")).get("replications")
            return len(reps) if isinstance(reps, list) else 0
        except (OSError, ValueError, AttributeError):
            return 0

    def _batches(self) -> list[tuple[Path, list[int]]]:
        """The verified batches and their replications, by first replication."""
        if self._good is None:
            self.verify()
        assert self._good is not None
        return self._good

    def held(self) -> set[int]:
        """The replications the verified batches hold."""
        return {r for _, reps in self._batches() for r in reps}

    def usable(self, wanted: Sequence[int]) -> int:
        """How many of ``wanted`` replications the verified batches give.

        Whole batches of them only, as :meth:`saved_batches` reads them.
        """
        want = set(wanted)
        return sum(len(reps) for _, reps in self._batches() if set(reps) <= want)

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

        A batch at a time, a row group or more each: the table is never whole in memory.
        Batches whose replications interleave (a resumed run's chunks may straddle those
        saved before) are read together and put in order.
        """
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        groups: list[list[Path]] = []  # runs of batches whose replications interleave
        high = -1
        for d, reps in sorted(self.used, key=lambda batch: min(batch[1])):
            if groups and min(reps) < high:
                groups[-1].append(d)
            else:
                groups.append([d])
            high = max(high, max(reps))
        writer = None
        try:
            for group in groups:
                table = pa.concat_tables([pq.read_table(d / "patients.parquet") for d in group])
                if len(group) > 1:
                    order = pc.sort_indices(table, sort_keys=[("replication", "ascending")])
                    table = table.take(order)  # a stable sort: a replication's rows keep theirs
                if writer is None:
                    writer = pq.ParquetWriter(path, table.schema)
                writer.write_table(table.replace_schema_metadata(writer.schema.metadata))
        finally:
            if writer is not None:
                writer.close()

    def count(self) -> int:
        """How many distinct replications are saved (from the batches' records)."""
        held: set[int] = set()
        for d in self.reps.glob("[0-9]*"):
            info = self._read_record(d / "batch.json")
            if info is not None and info.get("run") == self.run_id:
                held |= set(info.get("replications") or ())
        return len(held)

    def expect(self, total: int) -> None:
        """The run will save ``total`` replications: warn if the disk will not hold them."""
        self._total = total

    def _forecast(self) -> None:
        """After a batch, forecast whether the rest and the run's directory fit on this disk.

        Looked at after the 1st, 2nd, 4th, 8th... batch. The rest of the replications
        take what those saved took each; the directory, written before the store is
        dropped, about as much as the store. A :class:`~sim.errors.CrisisSimWarning`,
        once, if they will not fit.
        """
        self._saves += 1
        if self._warned or not self._total or self._saves & (self._saves - 1):
            return
        saved, used = self.count(), self.bytes_saved()
        if not saved or used < 1 << 20:  # too little saved yet to say
            return
        need = (self._total - saved) * (used / saved) * 2 + used
        free = shutil.disk_usage(self.path).free
        if need > free:
            import warnings

            from sim.errors import CrisisSimWarning

            self._warned = True
            warnings.warn(
                f"{self.path.parent}: the run needs about {need / 1e6:,.0f} MB more disk "
                f"(its saved replications and its directory), and {free / 1e6:,.0f} MB is "
                "free: it will stop when the disk is full (what is saved by then is kept; "
                "free space and resume)",
                CrisisSimWarning,
                stacklevel=2,
            )

    def bytes_saved(self) -> int:
        """The size of the batches saved, in bytes."""
        return sum(f.stat().st_size for f in self.reps.rglob("*") if f.is_file())

    def save_batch(self, batch: Batch) -> None:
        """Save a batch of finished replications, atomically (whole, or not at all)."""
        reps = batch.replications
        if not reps:
            return
        name = f"{min(reps):07d}-{uuid.uuid4().hex[:8]}"
        final, tmp = self.reps / name, self.reps / f".{name}.tmp"
        try:
            tmp.mkdir()
            files = {}
            for table in self.tables:
                frame = batch.get(table)
                if frame is not None:
                    f = tmp / f"{table}.parquet"
                    frame.to_parquet(f, index=False)
                    files[f.name] = {"bytes": f.stat().st_size, "sha256": _digest(f)}
            record = {"format": FORMAT, "run": self.run_id, "replications": reps, "files": files}
            (tmp / "batch.json").write_text(json.dumps(record), encoding="utf-8")
            tmp.rename(final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)  # no half-written batch is left
            raise
        self.used.append((final, reps))
        if self._good is not None:
            self._good.append((final, reps))
        self._forecast()

    def remove(self) -> None:
        """The run directory is in place: drop what was saved for it."""
        shutil.rmtree(self.path, ignore_errors=True)
