"""The package's exceptions and its warning class.

Catch :class:`CrisisSimError` to catch every error crisis-sim raises on purpose.

:class:`UserError` and its subclasses are mistakes a user can fix (a bad scenario, a bad
option, an output directory that exists or is in use): their message is one line, fit
to print as is, and the command line exits with 2 for them. :class:`CannotWrite` is the
machine refusing (no space, read-only, a name too long, no permission): exit 3. The
others say that a run could not finish (it was stopped, a worker died, a replication
raised) and what was kept.
"""

from __future__ import annotations

__all__ = [
    "CrisisSimError",
    "CrisisSimWarning",
    "UserError",
    "ConfigError",
    "OutputExists",
    "DirectoryInUse",
    "CannotWrite",
    "RunInterrupted",
    "Stopped",
    "WorkerDied",
    "ReplicationFailed",
    "EventsMissing",
]


class CrisisSimError(Exception):
    """Base of every error crisis-sim raises on purpose."""


class CrisisSimWarning(UserWarning):
    """Something a user should know that does not stop the work (a long run, say)."""


def _one_line(message: object) -> str:
    """Escape non-printable characters: no input can break a message or send control codes."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(message))


class UserError(CrisisSimError):
    """A mistake the user can fix; the message is one line (or one line per mistake).

    Attributes
    ----------
    lines
        The message's lines: one per mistake.
    """

    def __init__(self, message: str | list[str]):
        self.lines = [_one_line(m) for m in ([message] if isinstance(message, str) else message)]
        super().__init__("\n".join(self.lines))


class ConfigError(UserError, ValueError):
    """A mistake in a scenario: names the file, the field's dotted path, value and rule."""


class OutputExists(UserError, FileExistsError):
    """The output directory exists (and ``force`` was not given), or cannot be used."""


class DirectoryInUse(OutputExists):
    """Another live crisis-sim process is writing the output directory (it holds its lock)."""


class CannotWrite(CrisisSimError):
    """The machine refused a write: no space, read-only, a name too long, no permission.

    Attributes
    ----------
    path
        What could not be written.
    cause
        The system's words for why (``No space left on device``).
    saved, total
        Replications saved and in the run, where the study saves as it goes (else None):
        nothing saved is lost, and the run is finished with ``--resume`` once the cause is
        removed.
    out
        The directory to give to ``--resume`` (None if nothing is saved).
    """

    def __init__(
        self,
        path: object,
        cause: str,
        saved: int | None = None,
        total: int | None = None,
        out: object = None,
        unit: str = "replications",
    ):
        kept = f"; {saved:,} of {total:,} {unit} are saved" if saved is not None else ""
        shown = str(path)
        if len(shown) > 160:  # a path of thousands of characters, shown by its ends
            shown = f"{shown[:80]}...{shown[-60:]} ({len(shown):,} characters)"
        super().__init__(_one_line(f"{shown}: cannot write: {cause}{kept}"))
        self.path, self.cause, self.saved, self.total, self.out = path, cause, saved, total, out

    @classmethod
    def of(cls, exc: OSError, path: object = None, **kept: object) -> CannotWrite:
        """From an ``OSError``: its file (else ``path``) and its cause, in words."""
        import errno
        import os

        where = exc.filename if exc.filename is not None else path
        cause = exc.strerror or (os.strerror(exc.errno) if exc.errno else str(exc))
        if exc.errno == errno.ENAMETOOLONG:
            cause += " (a name or the whole path is longer than this file system allows)"
        return cls(where, cause, **kept)  # type: ignore[arg-type]


class Stopped(KeyboardInterrupt):
    """A stop signal (SIGTERM, SIGHUP) received while working, handled as Ctrl-C is.

    Attributes
    ----------
    signum
        The signal's number.
    """

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


class RunInterrupted(CrisisSimError):
    """A run was stopped (Ctrl-C, SIGTERM, SIGHUP); the replications finished are saved.

    Attributes
    ----------
    saved, total
        Replications (or ``unit``: a calibration's evaluations) saved, and in the run.
    out
        The run directory to give to ``--resume`` (``resume=True``) to finish it.
    signum
        The signal that stopped it (2, SIGINT, for Ctrl-C).
    """

    def __init__(
        self,
        saved: int,
        total: int,
        out: object,
        signum: int = 2,
        unit: str = "replications",
        where: object = None,
    ):
        kept = f" (in {where})" if where is not None else ""
        super().__init__(f"interrupted: {saved} of {total} {unit} saved{kept}")
        self.saved, self.total, self.out, self.signum = saved, total, out, signum


class WorkerDied(CrisisSimError):
    """A worker process died (killed, or out of memory); finished work is saved."""

    def __init__(
        self, saved: int, total: int, out: object, unit: str = "replications", where: object = None
    ):
        kept = f" (in {where})" if where is not None else ""
        super().__init__(
            f"a worker process died (killed, or out of memory); {saved} of {total} {unit} "
            f"saved{kept}"
        )
        self.saved, self.total, self.out = saved, total, out


class ReplicationFailed(CrisisSimError, RuntimeError):
    """A replication raised: which one, and the worker's traceback."""

    def __init__(self, replication: int, detail: str):
        super().__init__(f"replication {replication} failed:\n{detail}")
        self.replication = replication
        self.detail = detail

    def __reduce__(self):  # noqa: D105 - crosses the process boundary with both fields
        return (type(self), (self.replication, self.detail))


class EventsMissing(CrisisSimError, FileNotFoundError):
    """Event parts a worker wrote are not where the run can see them (no shared disk)."""
