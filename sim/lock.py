"""One writer per output directory: an exclusive lock held by the live process.

The lock is ``.<name>.lock`` beside the directory, locked with ``flock`` (the kernel's
advisory lock): it is released when the process that holds it exits, however it exits
(killed with -9 included), so a lock left by a dead process is never in the way. The
file holds who has it (process, host, start, command), for the message a second
process gets. Linux and other POSIX systems only (``fcntl``).
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import socket
import sys
from datetime import datetime
from pathlib import Path

from sim.errors import CannotWrite, DirectoryInUse

__all__ = ["DirectoryLock", "lock_path"]


def lock_path(out: Path) -> Path:
    """The lock file of an output directory."""
    return out.parent / f".{out.name}.lock"


class DirectoryLock:
    """The exclusive lock of the output directory ``out`` (:meth:`acquire`, :meth:`release`).

    Raises
    ------
    DirectoryInUse
        A live process holds it: the message names the process and its command.
    CannotWrite
        The lock file cannot be made (the directory's parent is read-only, full...).
    """

    def __init__(self, out: Path, command: list[str] | None = None):
        self.out = out
        self.path = lock_path(out)
        self.command = command or [Path(sys.argv[0]).name, *sys.argv[1:]]
        self.fd: int | None = None

    def acquire(self) -> DirectoryLock:
        """Take the lock, or refuse at once (it never waits)."""
        while True:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise CannotWrite.of(exc, self.path) from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                holder = _read(fd)
                os.close(fd)
                if exc.errno not in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES):
                    raise CannotWrite.of(exc, self.path) from None
                raise DirectoryInUse(f"{self.out}: in use by {_who(holder)}") from None
            try:  # the last holder may have removed the file between our open and lock
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": datetime.now().astimezone().isoformat(timespec="seconds"),
            "command": " ".join(self.command),
        }
        try:
            os.ftruncate(fd, 0)
            os.write(fd, json.dumps(info).encode())
        except OSError:
            pass  # who holds it is for messages only: the lock is what counts
        self.fd = fd
        return self

    def release(self) -> None:
        """Let the lock go (and remove its file); nothing if it is not held."""
        if self.fd is None:
            return
        try:
            os.unlink(self.path)
        except OSError:
            pass
        os.close(self.fd)
        self.fd = None

    def __del__(self) -> None:  # noqa: D105 - a lock dropped unreleased is released
        self.release()


def _read(fd: int) -> dict:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        info = json.loads(os.read(fd, 65536).decode() or "{}")
        return info if isinstance(info, dict) else {}
    except (OSError, ValueError):
        return {}


def _who(info: dict) -> str:
    if not info:
        return "another crisis-sim process (it gave no details); wait for it, or stop it"
    pid, host = info.get("pid"), info.get("host")
    where = f"process {pid}" + (f" on {host}" if host and host != socket.gethostname() else "")
    return (
        f"a live crisis-sim, {where}, since {info.get('started', '?')} "
        f"({info.get('command', '?')}); wait for it to finish, or stop it (kill {pid})"
    )
