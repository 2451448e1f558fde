"""One output directory's lifecycle, the same for every kind of study.

:class:`Workspace` is a command's output directory from the first check to the last
rename:

1. opened before any work, so that a refusal costs nothing: the directory is
   ``--out`` or a fresh ``runs/<name>-<timestamp>``, refused if it exists (unless
   ``force``); a study that saves work as it goes opens its store of finished work
   (:class:`~sim.store.ReplicationStore`, new or to resume);
2. :meth:`Workspace.saving` guards the work: a stop (Ctrl-C, SIGTERM, SIGHUP) or a
   dead worker says how much is saved and how to resume;
3. :meth:`Workspace.write` writes the study (:class:`sim.study.Study`): its tables,
   figures (PNG and SVG, stamped), the resolved scenarios, where each field was set,
   and ``manifest.json``; assembled beside the directory and renamed into place, so
   it is whole or absent; then the store is dropped.

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

from sim import io, provenance
from sim.config import Scenario, resolved_yaml
from sim.errors import OutputExists, RunInterrupted, UserError, WorkerDied
from sim.io import EventParts
from sim.runner import stop_on_signals
from sim.store import ReplicationStore
from sim.study import Study

__all__ = ["Workspace", "check_out_dir", "default_out_dir", "output_dir"]


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
        (scenario name, the file it was read from) of each scenario read from a file,
        for ``scenario.notes.csv`` (:func:`sim.provenance.scenario_notes`); or give
        ``notes``, the file's bytes.
    command
        The command line in ``manifest.json`` (default: this process's).

    Raises
    ------
    OutputExists
        ``out`` exists (without ``force``), holds an interrupted run (without
        ``resume`` or ``force``), has nothing to resume, has finished already, or was
        a study of other scenarios or options.
    UserError
        ``out`` cannot be written.
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
    ):
        self.started = datetime.now().astimezone()
        self.force = force
        self.sources = list(sources)
        self.notes = notes
        self.command = command or [Path(sys.argv[0]).name, *sys.argv[1:]]
        self.store: ReplicationStore | None = None
        if resume:
            if out is None:
                raise OutputExists("resume: give the directory of the run to finish")
            if out.exists():
                raise OutputExists(f"{out}: this run has already finished")
        else:
            out = output_dir(out, name, force, self.started)
        self.out: Path = out
        if marker is not None:
            try:
                self.store = ReplicationStore(out, marker, resume, force, tables)
            except OutputExists:
                raise
            except OSError as exc:
                raise UserError(f"{out}: cannot write the run directory ({exc.strerror})") from None

    @contextmanager
    def saving(self, total: int) -> Iterator[None]:
        """Work saved in the store as it finishes: a stop or a dead worker says how much.

        Raises :class:`~sim.errors.RunInterrupted` (with the signal) or
        :class:`~sim.errors.WorkerDied`, each with the count saved of ``total``.
        """
        store = self.store
        assert store is not None, "a workspace without a store saves nothing"
        try:
            with stop_on_signals():
                yield
        except (KeyboardInterrupt, BrokenProcessPool) as exc:
            saved = store.count()
            if isinstance(exc, BrokenProcessPool):
                raise WorkerDied(saved, total, self.out) from None
            # Ctrl-C, or SIGTERM / SIGHUP (Stopped)
            signum = getattr(exc, "signum", signal.SIGINT)
            raise RunInterrupted(saved, total, self.out, signum) from None

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
            if isinstance(exc, OSError) and not isinstance(exc, OutputExists):
                what = " the run directory" if self.store is not None else ""
                raise UserError(f"{out}: cannot write{what} ({exc.strerror})") from None
            raise
        if self.store is not None:
            self.store.remove()  # the directory is in place: the saved work is done with
        return out
