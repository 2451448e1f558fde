"""Variants of a scenario: one door for every change made to a validated scenario.

``--seed``, ``--set``, calibration's trial points, a power study's trial sizes, a
comparison's shared seed: each is a set of changes at dotted field paths, applied by
:func:`variant` to the scenario's document and validated again, so a variant is held
to every rule a scenario file is, and an error names the dotted path it broke.

Dotted paths name list items by index or by their ``name``:
``arms.peer_support.effect.hazard_ratio`` or ``arms.1.peer_support.effect.hazard_ratio``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sim.config.loader import scenario_from_dict
from sim.config.schema import Scenario
from sim.errors import ConfigError

__all__ = ["field_keys", "number_keys", "get_field", "set_field", "variant"]


def field_keys(doc: Any, dotted: str) -> tuple[Any, ...]:
    """Keys of a dotted field path in a scenario document (as dumped or loaded).

    Raises ``KeyError`` with the first part that names nothing.
    """
    node, out = doc, []
    for part in dotted.split("."):
        if isinstance(node, list):
            names = [item.get("name") if isinstance(item, dict) else None for item in node]
            if part.isdigit() and int(part) < len(node):
                i = int(part)
            elif part in names:
                i = names.index(part)
            else:
                raise KeyError(part)
            out.append(i)
            node = node[i]
        elif isinstance(node, dict) and part in node:
            out.append(part)
            node = node[part]
        else:
            raise KeyError(part)
    return tuple(out)


def number_keys(doc: Any, dotted: str) -> tuple[Any, ...]:
    """Keys of a dotted path that must name a number (``KeyError``/``TypeError`` if not)."""
    keys = field_keys(doc, dotted)
    node = get_field(doc, keys)
    if isinstance(node, bool) or not isinstance(node, int | float):
        raise TypeError(dotted)
    return keys


def get_field(doc: Any, keys: tuple[Any, ...]) -> Any:
    """The value at ``keys`` (from :func:`field_keys`) in a document."""
    for k in keys:
        doc = doc[k]
    return doc


def set_field(doc: Any, dotted: str, value: Any, create: bool = False) -> None:
    """Set the field at a dotted path of a document, in place.

    With ``create``, mappings missing along the path are made (for building documents
    from a partial one, as the tests do); otherwise every part must exist
    (``KeyError`` with the first that does not).
    """
    parts = dotted.split(".")
    node = doc
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if create and isinstance(node, dict) and part not in node:
            if last:
                node[part] = value
                return
            node[part] = {}
        (key,) = field_keys(node, part)
        if last:
            node[key] = value
        else:
            if node[key] is None:
                # a block left out (an arm's acute_care, say): made, and the rest of the
                # path with it; validation then holds the new fields to the schema
                node[key] = {}
                create = True
            node = node[key]


def variant(scenario: Scenario, changes: Mapping[str, Any], source: str = "<variant>") -> Scenario:
    """The scenario with ``changes`` (dotted path -> value) applied, validated again.

    It keeps the :attr:`~sim.config.schema.Scenario.source` of the file it varies (where
    each field was written, for the notes of a study's directory).

    Parameters
    ----------
    scenario
        A validated scenario; it is not changed.
    changes
        Values by dotted field path; a mapping value replaces the whole field.
    source
        What made the variant (``--seed``, ``--set peer_workers.count=3``, a file):
        errors start with it.

    Raises
    ------
    ConfigError
        A path that names no field, or a variant that breaks a rule of the schema;
        the message names the dotted path.
    """
    doc = scenario.model_dump(mode="json")
    for path, value in changes.items():
        try:
            set_field(doc, path, value)
        except KeyError as exc:
            raise ConfigError(
                f"{source}: {path}: the scenario has no field {exc.args[0]!r} there"
            ) from None
    out = scenario_from_dict(doc, source)
    out._source = scenario.source
    return out
