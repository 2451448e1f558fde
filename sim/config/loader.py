"""Reading scenario files: hardened YAML, ``base:`` merging, one-line errors.

A scenario is a YAML file. It may name a ``base:`` scenario (a path relative to
itself); the file's own keys are then merged over the base, mappings key by key
and everything else (lists included) replaced whole. The merged document is
validated against :class:`~sim.config.schema.Scenario`.

Every user mistake becomes a :class:`~sim.errors.ConfigError` whose one-line message
names the file, the dotted path of the field, the line where the YAML gives it, the
value and the rule that it breaks.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from sim.config.schema import PathError, Scenario
from sim.errors import ConfigError

__all__ = ["load_scenario", "scenario_from_dict", "resolved_yaml", "read_yaml"]

_MAX_BYTES = 1_000_000


def load_scenario(path: str | Path) -> Scenario:
    """Read, merge (``base:``) and validate a scenario file.

    Raises
    ------
    ConfigError
        For every problem a user can fix: unreadable file, malformed YAML, a rule broken.
    """
    path = Path(path)
    doc, lines = _load_merged(path, ())
    return _validate(doc, lines, path)


def scenario_from_dict(doc: Mapping[str, Any], source: str = "<dict>") -> Scenario:
    """Validate an in-memory scenario document (for notebooks and tests)."""
    return _validate(dict(doc), {}, Path(source))


def resolved_yaml(scenario: Scenario) -> str:
    """The scenario with every default filled in, as YAML."""
    return yaml.safe_dump(
        scenario.model_dump(mode="json"), sort_keys=False, allow_unicode=True, width=100
    )


_MAX_NODES = 100_000  # values after expanding YAML aliases
_MAX_DEPTH = 50


def read_yaml(path: Path) -> tuple[Any, dict[tuple[Any, ...], int]]:
    """Parse a scenario file with PyYAML's safe loader, refusing hostile documents.

    Only regular files are read (not devices or pipes), at most 1 MB, UTF-8. The
    composed document is checked before anything is built from it: at most 50 levels
    deep and 100,000 values once aliases are expanded (an alias "bomb" is refused
    without being expanded), and no alias may refer to itself.
    """
    try:
        if not path.is_file():
            raise ConfigError(
                f"{path}: no such file" if not path.exists() else f"{path}: not a regular file"
            )
        size = path.stat().st_size
        if size > _MAX_BYTES:
            raise ConfigError(
                f"{path}: {size} bytes; a scenario file may have at most {_MAX_BYTES}"
            )
        raw = path.read_bytes()[: _MAX_BYTES + 1]
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    loader = None
    try:
        _check_depth(text, path)
        loader = yaml.SafeLoader(text)  # its reader already rejects some characters
        node = loader.get_single_node()
        if node is None:
            return None, {}
        _check_graph(node, path)
        doc = loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}: malformed YAML{where}: {problem}") from None
    except RecursionError:
        raise ConfigError(f"{path}: nested too deeply (at most {_MAX_DEPTH} levels)") from None
    except ConfigError:
        raise
    except ValueError as exc:  # e.g. an integer of thousands of digits
        raise ConfigError(f"{path}: a value cannot be read: {exc}") from None
    finally:
        if loader is not None:
            loader.dispose()
    lines: dict[tuple[Any, ...], int] = {}
    _index_lines(node, (), lines)
    return doc, lines


def _check_depth(text: str, path: Path) -> None:
    """Refuse a document nested more than ``_MAX_DEPTH`` levels.

    It is read as a stream of parser events (no recursion): the work stops at the first
    level too deep, however deep the document goes. (Composing it first would recurse
    level by level.)
    """
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > _MAX_DEPTH:
                raise ConfigError(f"{path}: nested too deeply (at most {_MAX_DEPTH} levels)")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _check_graph(root: yaml.Node, path: Path) -> None:
    """Expanded size and depth of a composed YAML graph, without expanding it."""
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(node: yaml.Node, depth: int) -> int:
        if depth > _MAX_DEPTH:
            raise ConfigError(f"{path}: nested too deeply (at most {_MAX_DEPTH} levels)")
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in active:
            raise ConfigError(
                f"{path}: a YAML alias refers to itself (line {node.start_mark.line + 1})"
            )
        active.add(key)
        total = 1
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                total += size(k, depth + 1) + size(v, depth + 1)
        elif isinstance(node, yaml.SequenceNode):
            for item in node.value:
                total += size(item, depth + 1)
        active.discard(key)
        if total > _MAX_NODES:
            raise ConfigError(
                f"{path}: the document expands to more than {_MAX_NODES:,} values "
                "(YAML aliases repeating large blocks?)"
            )
        sizes[key] = total
        return total

    size(root, 0)


def _index_lines(node: yaml.Node, path: tuple[Any, ...], out: dict[tuple[Any, ...], int]) -> None:
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            k = key.value if isinstance(key, yaml.ScalarNode) else None
            out[(*path, k)] = key.start_mark.line + 1
            if isinstance(value, yaml.MappingNode | yaml.SequenceNode):
                _index_lines(value, (*path, k), out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            out[(*path, i)] = item.start_mark.line + 1
            if isinstance(item, yaml.MappingNode | yaml.SequenceNode):
                _index_lines(item, (*path, i), out)


LineIndex = dict[tuple[Any, ...], tuple[Path, int]]


def _load_merged(path: Path, seen: tuple[Path, ...]) -> tuple[dict[str, Any], LineIndex]:
    resolved = path.resolve()
    if resolved in seen:
        raise ConfigError(f"{path}: base: forms a cycle through {resolved.name}")
    doc, raw_lines = read_yaml(path)
    if doc is None:
        raise ConfigError(f"{path}: the file is empty; a scenario is a YAML mapping")
    if not isinstance(doc, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of fields, not a {_kind(doc)}")
    lines: LineIndex = {k: (path, v) for k, v in raw_lines.items()}
    base = doc.pop("base", None)
    if base is None:
        return doc, lines
    if not isinstance(base, str) or not base:
        raise ConfigError(
            f"{path}: base (line {raw_lines.get(('base',), '?')}) must be a file path"
        )
    base_path = (path.parent / base) if not Path(base).is_absolute() else Path(base)
    base_doc, base_lines = _load_merged(base_path, (*seen, resolved))
    base_lines.update(lines)  # the overriding file's lines win
    return _deep_merge(base_doc, doc), base_lines


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _kind(value: Any) -> str:
    return {list: "list", str: "string", int: "number", float: "number", bool: "boolean"}.get(
        type(value), type(value).__name__
    )


def _validate(doc: dict[str, Any], lines: LineIndex, path: Path) -> Scenario:
    try:
        return Scenario.model_validate(doc)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        ctx_error = (err.get("ctx") or {}).get("error")
        if isinstance(ctx_error, PathError):
            data_path, rule, value = ctx_error.path, ctx_error.rule, ctx_error.value
        else:
            data_path, value = _data_path(doc, err["loc"])
            rule = _rule(err)
            if err["type"] == "missing":
                value = None
        raise ConfigError(_message(path, data_path, lines, value, rule, err["type"])) from None


def _data_path(doc: Any, loc: tuple[Any, ...]) -> tuple[tuple[Any, ...], Any]:
    """Map pydantic's loc (which includes union tags) onto the user's document."""
    node, out = doc, []
    for part in loc:
        if isinstance(node, dict) and part in node:
            node = node[part]
            out.append(part)
        elif isinstance(node, list | tuple) and isinstance(part, int) and part < len(node):
            node = node[part]
            out.append(part)
        elif isinstance(node, dict) and isinstance(part, str) and part not in node:
            # a tag name (e.g. 'weibull') or a missing field
            if part == loc[-1]:
                out.append(part)
                node = None
    return tuple(out), node


def _rule(err: Mapping[str, Any]) -> str:
    kind, msg = err["type"], err["msg"]
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "missing":
        return "required field is missing"
    if kind == "union_tag_invalid":
        ctx = err.get("ctx") or {}
        tag, expected = ctx.get("tag"), ctx.get("expected_tags")
        return f"unknown {ctx.get('discriminator', 'tag')} {tag!r}; expected one of {expected}"
    if kind == "union_tag_not_found":
        ctx = err.get("ctx") or {}
        return f"needs a {ctx.get('discriminator', 'tag')} field"
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    return msg[:1].lower() + msg[1:]


def _message(
    path: Path,
    data_path: tuple[Any, ...],
    lines: LineIndex,
    value: Any,
    rule: str,
    kind: str,
) -> str:
    dotted = ".".join(str(p) for p in data_path) or "(top level)"
    source, line = path, None
    for n in range(len(data_path), -1, -1):
        if data_path[:n] in lines:
            source, line = lines[data_path[:n]]
            break
    where = f" (line {line})" if line else ""
    shown = ""
    if kind != "missing" and value is not None:
        text = repr(value)
        shown = f" = {text if len(text) <= 60 else text[:57] + '...'}"
    return f"{source}: {dotted}{where}{shown}: {rule}"
