"""One output directory's lifecycle, the same for every kind of study.

:class:`Workspace` is a command's output directory from the first check to the last
rename:

1. opened before any work, so that a refusal costs nothing: the directory is
   ``--out`` or a fresh ``runs/<name>-<timestamp>``, refused if it exists (unless
   ``force``); every name the study will make is checked against the file system's
   limits, and the directory's lock taken (:class:`~sim.lock.DirectoryLock`: one
   writer per directory; it also proves the place writable); a study that saves work
   as it goes opens its store of finished work (:class:`~sim.store.ReplicationStore`,
   new, or verified to resume);
2. :meth:`Workspace.saving` guards the work: a stop (Ctrl-C, SIGTERM, SIGHUP), a dead
   worker or a refused write (a full disk) says how much is saved and how to resume;
3. :meth:`Workspace.write` writes the study (:class:`sim.study.Study`): its tables,
   figures (PNG and SVG, stamped), the resolved scenarios, where each field was set,
   and ``manifest.json``; assembled beside the directory and renamed into place, so
   it is whole or absent; then the store is dropped and the lock let go.

Any study's directory is written this way, from the command line or a notebook::

    ws = Workspace(Path("runs/mine"), "mine")
    ws.write(study)
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sim import io, provenance
from sim.config import Scenario, resolved_yaml
from sim.errors import CannotWrite, OutputExists, RunInterrupted, WorkerDied
from sim.io import EventParts
from sim.lock import DirectoryLock
from sim.runner import stop_on_signals
from sim.store import ReplicationStore, Verified
from sim.study import Study

if TYPE_CHECKING:
    from sim.results import Batch

__all__ = ["Workspace", "check_out_dir", "check_names", "default_out_dir", "output_dir"]

# the longest name made beside a directory: its temporary copy, ``.<name>.partial-<pid>``
# (Linux's process ids have at most 7 digits)
_BESIDE = len(".") + len(".partial-") + 7
_INSIDE = 80  # the longest path made inside it: events/<part>/part-<n>.parquet and more


def _limit(path: Path, name: str, default: int) -> int:
    """A file system limit (``PC_NAME_MAX``, ``PC_PATH_MAX``) where ``path`` would be."""
    for p in (path, *path.parents):
        try:
            if p.exists():
                return os.pathconf(p, name)
        except (OSError, ValueError):  # itself too long to look at: ask a parent
            continue
    return default


def check_names(out: Path) -> None:
    """Check, before any work, that every name a study makes at ``out`` fits.

    And that no part of the path is a file (:class:`~sim.errors.CannotWrite`).
    """
    name_max = _limit(out, "PC_NAME_MAX", 255)
    path_max = _limit(out, "PC_PATH_MAX", 4096)
    for part in out.parts:
        if len(part.encode()) > name_max:
            raise CannotWrite(
                out,
                f"a name of {len(part.encode())} bytes; this file system allows {name_max}",
            )
    if len(out.name.encode()) + _BESIDE > name_max:
        raise CannotWrite(
            out,
            f"its name has {len(out.name.encode())} bytes; at most {name_max - _BESIDE} here "
            f"(the names made beside it while it is written are {_BESIDE} longer)",
        )
    whole = len(str(out.absolute()).encode())
    if whole + _INSIDE > path_max:
        raise CannotWrite(
            f"{str(out)[:40]}...",
            f"a path of {whole} bytes; at most {path_max - _INSIDE} here (the files made "
            f"inside it are up to {_INSIDE} longer; this file system allows {path_max})",
        )
    for p in reversed(out.parents):
        if p.exists() and not p.is_dir():
            raise CannotWrite(p, "it is a file, not a directory")


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


class Workspace:
    """A command's output directory, from the first check to the atomic swap.

    Parameters
    ----------
    out
        The directory; default ``runs/<name>-<timestamp>``.
    name
        The default directory's stem (a scenario's name, ``compare``...).
    force
        Replace an existing directory (and a saved interrupted run there).
    marker
        For a study that saves finished work as it goes: what fixes it (the resolved
        scenarios and options); an interrupted study is resumed only with the same.
        Without it there is no store.
    resume
        Finish the interrupted study whose directory ``out`` was.
    tables
        The tables each saved batch holds (:class:`~sim.store.ReplicationStore`).
    sources
        (scenario name, the scenario read from its file) of each scenario, for
        ``scenario.notes.csv`` (:func:`sim.provenance.scenario_notes`); or give
        ``notes``, the file's bytes.
    command
        The command line in ``manifest.json`` (default: this process's).
    replications
        With ``marker``: the replications asked for, recorded with the store; a resume
        that gives none (None) finishes those (:attr:`replications` after opening).
    saved_in
        With ``resume``: the directory whose saved work to finish, when the result is to
        be written elsewhere (``out``); default ``out``.

    Raises
    ------
    OutputExists
        ``out`` exists (without ``force``), holds an interrupted run (without
        ``resume`` or ``force``), has nothing to resume, has finished already, or was
        a study of other scenarios or options.
    DirectoryInUse
        A live process is writing ``out`` (or ``saved_in``).
    CannotWrite
        ``out`` cannot be written there: a name too long, a part of the path that is a
        file, no space, no permission, a read-only file system.
    """

    def __init__(
        self,
        out: Path | None,
        name: str,
        *,
        force: bool = False,
        marker: str | None = None,
        resume: bool = False,
        tables: tuple[str, ...] | None = None,
        sources: Sequence[tuple[str, Scenario | str | Path]] = (),
        notes: bytes | None = None,
        command: list[str] | None = None,
        replications: Sequence[int] | None = None,
        saved_in: Path | None = None,
    ):
        self.started = datetime.now().astimezone()
        self.force = force
        self.sources = list(sources)
        self.notes = notes
        self.command = command or [Path(sys.argv[0]).name, *sys.argv[1:]]
        self.store: ReplicationStore | None = None
        self.verified: Verified | None = None
        given_out = out
        self.locks: list[DirectoryLock] = []
        for given in dict.fromkeys(p for p in (out, saved_in) if p is not None):
            check_names(given)  # before anything looks at the path
        if resume:
            saved_in = saved_in or out
            if saved_in is None:
                raise OutputExists("resume: give the directory of the run to finish")
            out = out or saved_in
            if out == saved_in and out.exists():
                raise OutputExists(f"{out}: this run has already finished")
            check_out_dir(out, force)
        else:
            out = output_dir(out, name, force, self.started)
            saved_in = out
        self.out: Path = out
        self.saved_in: Path = saved_in
        if out not in (given_out, saved_in):  # the default directory, made up here
            check_names(out)
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CannotWrite.of(exc, out.parent) from None
        for d in dict.fromkeys([out, saved_in]):  # the lock first: one writer at a time
            self.locks.append(DirectoryLock(d, self.command).acquire())
        self.resume = resume
        if marker is not None:
            self.open_store(marker, tables, replications)

    def open_store(
        self,
        marker: str,
        tables: tuple[str, ...] | None = None,
        replications: Sequence[int] | None = None,
    ) -> ReplicationStore:
        """Open the store of finished work (new, or verified to resume).

        What ``marker`` does in the constructor, for a study that knows what fixes it
        only once it has built its scenarios (a sweep's points, a power study's sizes).
        """
        try:
            self.store = ReplicationStore(
                self.saved_in, marker, self.resume, self.force, tables, replications
            )
            if not self.resume:
                self.store.describe(self.command, self.started.isoformat(timespec="seconds"))
            if self.resume:
                self.verified = self.store.verify()
        except OutputExists:
            self.close()
            raise
        except OSError as exc:
            self.close()
            raise CannotWrite.of(exc, self.saved_in) from None
        return self.store

    def resumed(
        self,
        wanted: Sequence[int],
        report: Callable[[str], None] | None = None,
        progress: Callable[[int], None] | None = None,
        unit: str = "replications",
    ) -> list[Batch]:
        """The batches a resumed study has saved of ``wanted`` (none for a new study).

        Says what the check of the store set aside and how many are saved (``report``),
        and counts them done (``progress``).
        """
        if not self.resume or self.store is None:
            return []
        for line in self.verified.lines() if report and self.verified else []:
            report(line)
        saved = self.store.saved_batches(wanted)
        n = sum(len(b.replications) for b in saved)
        if saved and report:
            report(f"resuming: {n} of {len(wanted)} {unit} were saved")
        if saved and progress:
            progress(n)
        return saved

    @property
    def replications(self) -> list[int] | None:
        """The replications the study is to finish: as asked, or as the run was started."""
        return None if self.store is None else self.store.requested

    def close(self) -> None:
        """Let the directory's lock go (done by :meth:`write`, and on any failure)."""
        for lock in self.locks:
            lock.release()
        self.locks = []

    @contextmanager
    def saving(self, total: int, unit: str = "replications") -> Iterator[None]:
        """Work saved in the store as it finishes: a stop or a dead worker says how much.

        Raises :class:`~sim.errors.RunInterrupted` (with the signal),
        :class:`~sim.errors.WorkerDied` or :class:`~sim.errors.CannotWrite`, each with
        the count saved of ``total`` (of ``unit``: what the store's batches hold).
        """
        store = self.store
        assert store is not None, "a workspace without a store saves nothing"
        store.expect(total)
        try:
            with stop_on_signals():
                yield
        except (KeyboardInterrupt, BrokenProcessPool, OSError) as exc:
            self.close()
            saved = store.count()
            if isinstance(exc, OSError):  # the disk filled, or went read-only...
                raise CannotWrite.of(
                    exc, store.path, saved=saved, total=total, out=self.saved_in, unit=unit
                ) from None
            if isinstance(exc, BrokenProcessPool):
                raise WorkerDied(saved, total, self.saved_in, unit, store.path) from None
            # Ctrl-C, or SIGTERM / SIGHUP (Stopped)
            signum = getattr(exc, "signum", signal.SIGINT)
            raise RunInterrupted(saved, total, self.saved_in, signum, unit, store.path) from None
        except BaseException:
            self.close()
            raise

    def files(self, study: Study, also: Sequence[str] = (), wall_seconds: float | None = None):
        """The directory's files as bytes: figures, notes, manifest, scenarios, tables.

        ``also``: files written otherwise (:meth:`write`'s ``streamed``, ``events``),
        listed in the manifest. ``wall_seconds``: the time the manifest gives (default:
        since the workspace was opened).
        """
        from sim import figures

        tables = study.tables()
        sc = study.scenarios[0]
        line = figures.stamp(study.kind, [s.name for s in study.scenarios], sc.seed, study.stamp())
        files: dict[str, bytes] = figures.encoded(study.figures(), line)
        if self.sources:
            self.notes = provenance.scenario_notes(self.sources)
        if self.notes is not None:
            files["scenario.notes.csv"] = self.notes
        if wall_seconds is None:
            wall_seconds = time.time() - self.started.timestamp()
        names = [*tables, *files, "scenario.resolved.yaml", *also, "manifest.json"]
        info = provenance.record(
            study.kind, self.command, self.started, wall_seconds, **study.manifest(sorted(names))
        )
        files["manifest.json"] = (json.dumps(info, indent=2) + "\n").encode()
        resolved = "---\n".join(resolved_yaml(s) for s in study.scenarios)
        files["scenario.resolved.yaml"] = resolved.encode()
        for name, table in tables.items():
            files[name] = table.encode() if isinstance(table, str) else io.table_bytes(name, table)
        return files

    def write(
        self,
        study: Study,
        *,
        streamed: dict[str, Callable[[Path], None]] | None = None,
        events: Sequence[int] | None = None,
        wall_seconds: float | None = None,
    ) -> Path:
        """Write the study's directory atomically, then drop the store; return it.

        ``streamed``: file name -> a function that writes it (a table too big to hold,
        written from the store's batches). ``events``: the replications whose event
        parts the workers wrote into the store, moved in (and moved back if the
        writing fails, so that nothing saved is lost).
        """
        out = self.out
        check_out_dir(out, self.force)  # it may have appeared while the study ran
        streamed = streamed or {}
        also = [*streamed, *(["events"] if events is not None else [])]
        files = self.files(study, also, wall_seconds)
        tmp = out.parent / f".{out.name}.partial-{os.getpid()}"
        moved: list[tuple[Path, Path]] = []
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir()
            for name, data in files.items():
                (tmp / name).write_bytes(data)
            for name, write in streamed.items():
                write(tmp / name)
            if events is not None:
                assert self.store is not None
                (tmp / "events").mkdir()
                for r in sorted(EventParts.name(r) for r in events):
                    moved.append((self.store.events / r, tmp / "events" / r))
                    moved[-1][0].rename(moved[-1][1])
            io.swap_into_place(tmp, out)
        except BaseException as exc:
            for src, dst in reversed(moved):  # the event parts go back where they were saved
                if dst.exists() and not src.exists():
                    dst.rename(src)
            shutil.rmtree(tmp, ignore_errors=True)
            self.close()
            if isinstance(exc, OSError) and not isinstance(exc, OutputExists):
                if self.store is None:
                    raise CannotWrite.of(exc, out) from None
                saved = self.store.count()
                raise CannotWrite.of(
                    exc, out, saved=saved, total=saved, out=self.saved_in
                ) from None
            raise
        if self.store is not None:
            self.store.remove()  # the directory is in place: the saved work is done with
        self.close()
        return out
