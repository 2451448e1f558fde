"""What every kind of study is to the rest of the package: one small protocol.

A study (a run, a comparison, a sweep, a power study, a calibration, a PSA) is the
finished result of one command, in memory. Its kind's module computes it and owns
everything that depends on the kind: its tables, its figures, what the command prints
and what the report says. The rest of the package calls it only through
:class:`Study`:

- the output directory's lifecycle (:mod:`sim.workspace`) writes its :meth:`~Study.tables`,
  its :meth:`~Study.figures` and its :meth:`~Study.manifest` fields;
- the command line prints its :meth:`~Study.printout`;
- the report (:mod:`sim.report`) renders its :meth:`~Study.answer`, the tables it
  :meth:`~Study.shows`, its figures' :attr:`~Study.captions` and its :meth:`~Study.aims`;
  for a directory written earlier, the kind's :meth:`~Study.read` gives the study back
  from the directory's own files.

A new kind is one module: a class with these members, decorated with :func:`kind`.
``docs/architecture.md`` says where each part goes.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from sim.config import Scenario

__all__ = ["Html", "Study", "kind", "kinds", "of_kind", "read_table"]


class Html(str):
    """A line of a study's answer that is HTML already (the report does not escape it)."""


class Study(Protocol):
    """A finished study: what it computed, and how it is written, printed and reported."""

    #: the command that makes it, and ``manifest.json``'s ``kind``
    kind: ClassVar[str]
    #: figure file stem -> what the figure shows, in the order the report shows them
    captions: ClassVar[dict[str, str]]
    #: the scenarios studied, the base first (``scenario.resolved.yaml`` holds them)
    scenarios: Sequence[Scenario]

    def tables(self) -> dict[str, pd.DataFrame | str]:
        """The directory's tables and notes.

        File name -> frame (``.csv``, ``.parquet``) or text (any other name).
        """
        ...

    def figures(self) -> dict[str, Figure]:
        """The directory's figures, ``name.png`` -> figure (written as PNG and SVG)."""
        ...

    def stamp(self) -> str:
        """What the foot of every figure says after the kind, scenarios and seed."""
        ...

    def manifest(self, files: list[str]) -> dict[str, Any]:
        """The kind's fields of ``manifest.json``, in order.

        ``files`` (the directory's files) among them; the provenance (command, times,
        versions) is added after.
        """
        ...

    def printout(self) -> str:
        """What the command prints when the study is done."""
        ...

    def answer(self) -> list[str]:
        """The report's question and answer.

        The question first, then sentences (text, or :class:`Html` fragments).
        """
        ...

    def shows(self) -> dict[str, pd.DataFrame]:
        """The tables the report shows, by file name."""
        ...

    def aims(self) -> str | None:
        """The experimentation aims (STRESS-DES item 1.3), or None if unknown."""
        ...

    @classmethod
    def read(cls, directory: Path, manifest: dict[str, Any], scenarios: list[Scenario]) -> Study:
        """The study back from an output directory it wrote (for ``crisis-sim report``).

        Raises ``OSError``, ``KeyError`` or ``ValueError`` if the directory lacks what
        the study needs.
        """
        ...


_KINDS: dict[str, type] = {}

S = TypeVar("S", bound=type)


def kind(cls: S) -> S:
    """Class decorator: register a study kind under its ``kind`` name."""
    name = cls.kind  # type: ignore[attr-defined]
    if name in _KINDS and _KINDS[name] is not cls:
        raise ValueError(f"study kind {name!r} is registered twice")
    _KINDS[name] = cls
    return cls


def kinds() -> dict[str, type]:
    """Every registered study kind, by name.

    The package's own are registered once :mod:`sim.studies` is imported.
    """
    return dict(_KINDS)


def of_kind(name: str) -> type | None:
    """The study kind registered as ``name``, or None."""
    return _KINDS.get(name)


def read_table(directory: Path, name: str) -> pd.DataFrame | None:
    """A CSV table of an output directory, or None if the study did not write it.

    What a kind's :meth:`Study.read` reads back.
    """
    import pandas as pd

    path = directory / name
    return pd.read_csv(path) if path.is_file() else None
