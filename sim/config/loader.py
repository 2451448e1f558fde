"""Reading scenario files: hardened YAML, ``base:`` merging, one-line errors.

A scenario is a YAML file. It may name a ``base:`` scenario (a path relative to
itself); the file's own keys are then merged over the base, mappings key by key
and everything else (lists included) replaced whole, with three refinements:
``arms:`` given as a mapping changes the base's arms by name; a mapping whose tag
(``dist``, ``mechanism``, ``kind``) changes is replaced whole; and the blocks about a
particular trial's evidence (``outcomes.published``, ``calibration``) are replaced
whole, or dropped with ``null``, as is ``feed.allocation``. The merged document is validated against
:class:`~sim.config.schema.Scenario`.

Every user mistake becomes a :class:`~sim.errors.ConfigError` whose one-line message
names the file, the dotted path of the field, the line where the YAML gives it, the
value and the rule that it breaks.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from sim.config.schema import PathError, Scenario, json_schema
from sim.errors import ConfigError

__all__ = [
    "load_scenario",
    "load_scenarios",
    "scenario_from_dict",
    "resolved_yaml",
    "read_yaml",
    "scalar",
    "Source",
    "source_of",
    "field_notes",
]


class Yaml12Loader(yaml.SafeLoader):
    """PyYAML's safe loader with the YAML 1.2 core schema's plain scalars.

    PyYAML follows YAML 1.1, which reads ``7:58`` as the base-60 number 478, ``yes``,
    ``no``, ``on`` and ``off`` as booleans, ``010`` as octal 8 and ``1_000`` as 1000.
    Under YAML 1.2 (and here) those are strings, which the schema then refuses where a
    number or a boolean is expected: booleans are ``true``/``false``, integers are
    decimal (or ``0o17``, ``0xff``), floats as in JSON plus ``.inf`` and ``.nan``.
    """


def _core_schema(cls: type[yaml.SafeLoader]) -> None:

    tags = ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
    cls.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag not in tags]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    cls.add_implicit_resolver(
        "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), "tTfF"
    )
    cls.add_implicit_resolver(
        "tag:yaml.org,2002:int",
        re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"),
        list("-+0123456789"),
    )
    cls.add_implicit_resolver(
        "tag:yaml.org,2002:float",
        re.compile(
            r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
            r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
        ),
        list("-+.0123456789"),
    )

    def construct_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
        text = loader.construct_scalar(node)
        if text.startswith(("0o", "0x")):
            return int(text[2:], 8 if text[1] == "o" else 16)
        return int(text, 10)  # a leading 0 is decimal, as in YAML 1.2

    cls.add_constructor("tag:yaml.org,2002:int", construct_int)


_core_schema(Yaml12Loader)


def scalar(text: str) -> Any:
    """One YAML value read as a scenario file's would be (``--set`` values)."""
    return yaml.load(text, Loader=Yaml12Loader)  # noqa: S506 - a safe loader


_MAX_BYTES = 1_000_000


def load_scenario(path: str | Path) -> Scenario:
    """Read, merge (``base:``) and validate a scenario file.

    Raises
    ------
    ConfigError
        For every problem a user can fix: unreadable file, malformed YAML, a rule broken.
    """
    return load_scenarios([path])[0]


def load_scenarios(paths: Sequence[str | Path]) -> list[Scenario]:
    """:func:`load_scenario` of each file, each file read from disk once.

    A base that several what-ifs name (or a file named twice) is read the first time only.
    """
    read: dict[Path, str] = {}
    out = []
    for path in map(Path, paths):
        texts: dict[Path, str] = {}
        doc, lines = _load_merged(path, (), texts, read)
        scenario = _validate(doc, lines, path)
        scenario._source = Source(path, texts, doc, lines)
        out.append(scenario)
    return out


@dataclass(frozen=True, eq=False)
class Source:
    """Where a scenario was read from, kept so that no command reads a file twice.

    ``path`` is the file named; ``texts`` the text of every file read for it (the file
    and its ``base:`` files, in that order); ``document`` the merged document that was
    validated; ``lines`` where each of its keys is set, ``(key path) -> (file, line)``.
    Held as :attr:`Scenario.source` (a variant keeps its file's; None in memory).
    """

    path: Path
    texts: dict[Path, str]
    document: dict[str, Any]
    lines: LineIndex

    @property
    def text(self) -> str:
        """The file's own text."""
        return self.texts[self.path]

    def own(self) -> tuple[Any, dict[tuple[Any, ...], int]]:
        """The file's own document (before any base is merged) and its keys' lines."""
        doc, lines, _ = _parse(self.text, self.path)
        return doc, lines


def source_of(scenario_or_path: Scenario | str | Path) -> Source:
    """The source of a scenario read from a file (a path is read)."""
    if isinstance(scenario_or_path, Scenario):
        src = scenario_or_path.source
        if src is None:
            raise ConfigError(f"{scenario_or_path.name}: not read from a file")
        return src
    source = load_scenario(scenario_or_path).source
    assert source is not None
    return source


def field_notes(scenario: Scenario | str | Path) -> list[tuple[str, str, int, str]]:
    """Where each field of a scenario file (and of its bases) is set, and its comment.

    One ``(dotted field, file name, line, comment)`` per key, in the merged scenario's
    terms (an arm by its name). The comment is the one on the key's line, else the
    block of comment lines directly above the key (section rulers stripped; the
    file's opening block is the file's, not its first key's). The report shows the
    nearest one up a field's path as the field's source where the scenario carries
    none of its own.
    """
    src = source_of(scenario)
    doc = src.document
    texts = {file: text.splitlines() for file, text in src.texts.items()}
    out = []
    for key, (file, line) in sorted(src.lines.items(), key=lambda kv: (str(kv[1][0]), kv[1][1])):
        if not key or any(k is None for k in key):
            continue
        dotted = _dotted(doc, key)
        if dotted is not None:
            out.append((dotted, file.name, line, _comment(texts[file], line)))
    return out


def _dotted(doc: Any, key: tuple[Any, ...]) -> str | None:
    """A key path as a dotted field, list items by their ``name`` (None if not in ``doc``)."""
    parts, node = [], doc
    for k in key:
        if isinstance(node, dict) and k in node:
            node = node[k]
            parts.append(str(k))
        elif isinstance(node, list) and isinstance(k, int) and 0 <= k < len(node):
            node = node[k]
            name = node.get("name") if isinstance(node, dict) else None
            parts.append(str(name) if name is not None else str(k))
        else:
            return None
    return ".".join(parts)


_QUOTED = re.compile(r"\"(?:[^\"\\]|\\.)*\"|'(?:[^']|'')*'")


def _comment(text: list[str], line: int) -> str:
    """The comment on 1-based ``line`` after its value, else the block just above it."""
    here = text[line - 1]
    # a quoted value may hold " #"; blank it out (same length) to find the comment
    cut = _QUOTED.sub(lambda m: "x" * len(m.group()), here).find(" #")
    if cut >= 0 and not here.lstrip().startswith("#"):
        return here[cut + 2 :].strip()
    block: list[str] = []
    i = line - 2
    while i >= 0 and text[i].lstrip().startswith("#"):
        block.append(text[i].strip().lstrip("#").strip(" -"))
        i -= 1
    if i < 0:  # the file's opening block: about the file, not this key
        return ""
    return " ".join(b for b in reversed(block) if b)


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
    """A scenario file's own document and the line of each key (:func:`_read`)."""
    doc, lines, _ = _read(path)
    return doc, lines


def _read(path: Path) -> tuple[Any, dict[tuple[Any, ...], int], str]:
    """Parse a scenario file safely (YAML 1.2 scalars), refusing hostile documents.

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
    return _parse(text, path)


def _parse(text: str, path: Path) -> tuple[Any, dict[tuple[Any, ...], int], str]:
    """A scenario file's text as its document and its keys' lines (``path`` for errors)."""
    loader = None
    try:
        _check_depth(text, path)
        loader = Yaml12Loader(text)  # its reader already rejects some characters
        node = loader.get_single_node()
        if node is None:
            return None, {}, text
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
    return doc, lines, text


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


def _load_merged(
    path: Path,
    seen: tuple[Path, ...],
    texts: dict[Path, str] | None = None,
    read: dict[Path, str] | None = None,
) -> tuple[dict[str, Any], LineIndex]:
    """The merged document and its line index.

    ``texts`` gets each file's text; ``read`` (by resolved path) holds the texts already
    read from disk.
    """
    resolved = path.resolve()
    if resolved in seen:
        raise ConfigError(f"{path}: base: forms a cycle through {resolved.name}")
    if read is not None and resolved in read:
        doc, raw_lines, text = _parse(read[resolved], path)
    else:
        doc, raw_lines, text = _read(path)
        if read is not None:
            read[resolved] = text
    if texts is not None:
        texts[path] = text
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
    base_doc, base_lines = _load_merged(base_path, (*seen, resolved), texts, read)
    if isinstance(doc.get("arms"), dict) and isinstance(base_doc.get("arms"), list):
        doc["arms"], lines = _arms_by_name(doc["arms"], base_doc["arms"], lines, path, base_path)
    base_lines.update(lines)  # the overriding file's lines win
    return _deep_merge(base_doc, doc), base_lines


# Blocks about one particular trial's evidence, and the allocation (which must name
# exactly the arms): a derived file replaces them whole (or drops the evidence with
# null), never mixes its entries with the base's.
_REPLACED_WHOLE = {
    ("outcomes", "published"),
    ("calibration",),
    ("uncertainty",),
    ("feed", "allocation"),
}
_TAG_KEYS = ("dist", "mechanism", "kind")


def _deep_merge(
    base: dict[str, Any], over: dict[str, Any], at: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Merge ``over`` into ``base``: mappings key by key, anything else replaced.

    A block in :data:`_REPLACED_WHOLE`, or a tagged mapping whose tag changes
    (``dist: gamma`` over ``dist: fixed``), is replaced whole.
    """
    out = dict(base)
    for key, value in over.items():
        here = (*at, key)
        old = out.get(key)
        retagged = (
            isinstance(old, dict)
            and isinstance(value, dict)
            and any(t in value and value[t] != old.get(t) for t in _TAG_KEYS)
        )
        if (
            isinstance(value, dict)
            and isinstance(old, dict)
            and here not in _REPLACED_WHOLE
            and not retagged
        ):
            out[key] = _deep_merge(old, value, here)
        else:
            out[key] = value
    return out


def _arms_by_name(
    changes: dict[str, Any], arms: list[Any], lines: LineIndex, path: Path, base_path: Path
) -> tuple[list[Any], LineIndex]:
    """The base's arms with the changes of ``arms:`` given as a mapping by arm name.

    Each change is merged into the arm it names; the list's order is kept.
    """
    names = [a.get("name") if isinstance(a, dict) else None for a in arms]
    out = list(arms)
    index: dict[str, int] = {}
    for name, change in changes.items():
        line = lines.get(("arms", name), (path, "?"))[1]
        if name not in names:
            raise ConfigError(
                f"{path}: arms.{name} (line {line}): names no arm of {base_path.name}; "
                f"its arms: {[n for n in names if n]} (to change the list whole, give a list)"
            )
        if not isinstance(change, dict):
            raise ConfigError(
                f"{path}: arms.{name} (line {line}): must be a mapping of the arm's changes"
            )
        i = index[name] = names.index(name)
        out[i] = _deep_merge(arms[i], change)
    moved: LineIndex = {}
    for key, value in lines.items():
        if len(key) >= 2 and key[0] == "arms" and key[1] in index:
            key = ("arms", index[key[1]], *key[2:])
        moved[key] = value
    return out, moved


def _kind(value: Any) -> str:
    return {list: "list", str: "string", int: "number", float: "number", bool: "boolean"}.get(
        type(value), type(value).__name__
    )


_MAX_ERRORS = 20  # listed at once; the rest are counted


def _validate(doc: dict[str, Any], lines: LineIndex, path: Path) -> Scenario:
    """Validate; on failure raise one :class:`ConfigError` listing every mistake."""
    try:
        return Scenario.model_validate(doc)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
    found: list[tuple[tuple[Any, ...], Any, str, str]] = []  # path, value, rule, kind
    for err in errors:
        ctx_error = (err.get("ctx") or {}).get("error")
        if isinstance(ctx_error, PathError):
            # the path is relative to the model that raised it, found at err["loc"]
            where, _ = _data_path(doc, err["loc"])
            found.append(((*where, *ctx_error.path), ctx_error.value, ctx_error.rule, err["type"]))
            continue
        data_path, value = _data_path(doc, err["loc"])
        found.append(
            (data_path, None if err["type"] == "missing" else value, _rule(err), err["type"])
        )
    found = _suggest(doc, found)
    # a list "too short after validation" because its items failed says nothing the
    # items' own errors do not: the real problem is theirs
    paths = [f[0] for f in found]
    found = [
        f
        for f in found
        if not (
            f[3] == "too_short"
            and any(len(q) > len(f[0]) and tuple(q[: len(f[0])]) == tuple(f[0]) for q in paths)
        )
    ]
    found.sort(key=lambda f: _line_of(f[0], lines))  # in the file's order
    messages = [_message(path, p, lines, v, rule, kind) for p, v, rule, kind in found]
    if len(messages) > _MAX_ERRORS:
        rest = len(messages) - _MAX_ERRORS
        messages = [*messages[:_MAX_ERRORS], f"{path}: ... and {rest} more"]
    raise ConfigError(messages)


def _suggest(doc: dict[str, Any], found: list) -> list:
    """Add "did you mean" to an unknown field close to a field known at its place.

    A required field then reported missing beside it (the typo's intended field) is
    dropped, since the suggestion says it.
    """
    import difflib

    missing = {p for p, _, _, kind in found if kind == "missing"}
    explained: set[tuple[Any, ...]] = set()
    out = []
    for p, value, rule, kind in found:
        if kind == "extra_forbidden" and p and isinstance(p[-1], str):
            parent = p[:-1]
            here = _value_at(doc, parent)
            known = _known_keys(doc, parent) - set(here if isinstance(here, dict) else ())
            wanted = sorted(k for k in known if (*parent, k) in missing)
            close = difflib.get_close_matches(p[-1], wanted, n=1, cutoff=0.6)
            close = close or difflib.get_close_matches(p[-1], sorted(known), n=1, cutoff=0.75)
            if close:
                rule = f"unknown field; did you mean {close[0]!r}?"
                explained.add((*parent, close[0]))
        out.append((p, value, rule, kind))
    return [e for e in out if not (e[3] == "missing" and e[0] in explained)]


def _value_at(doc: Any, keys: tuple[Any, ...]) -> Any:
    """The document's value at ``keys``, or None if it has none."""
    for k in keys:
        try:
            doc = doc[k]
        except (KeyError, IndexError, TypeError):
            return None
    return doc


def _known_keys(doc: dict[str, Any], keys: tuple[Any, ...]) -> set[str]:
    """The fields the schema allows in the mapping at ``keys`` of the document.

    Read from the scenario's JSON Schema, tagged unions resolved by the document's tag.
    """
    schema = _json_schema()
    node: Any = schema
    value: Any = doc
    for k in keys:
        node = _resolve(schema, node, value)
        if isinstance(k, int):
            node = node.get("items", {})
        elif k in node.get("properties", {}):
            node = node["properties"][k]
        elif isinstance(node.get("additionalProperties"), dict):
            node = node["additionalProperties"]
        else:
            return set()
        value = _value_at(value, (k,))
    return set(_resolve(schema, node, value).get("properties", {}))


def _resolve(schema: dict[str, Any], node: dict[str, Any], value: Any) -> dict[str, Any]:
    """Follow ``$ref`` and pick a union's member.

    A tagged union's member is the one the document's tag names; otherwise the first
    member that describes a mapping.
    """
    for _ in range(20):
        if "$ref" in node:
            node = schema["$defs"][node["$ref"].rsplit("/", 1)[-1]]
            continue
        options = node.get("oneOf") or node.get("anyOf")
        if not options:
            return node
        tagged = node.get("discriminator")
        if (
            tagged
            and isinstance(value, dict)
            and value.get(tagged["propertyName"]) in (tagged.get("mapping") or {})
        ):
            node = {"$ref": tagged["mapping"][value[tagged["propertyName"]]]}
            continue
        objects = [o for o in options if o.get("type") != "null"]
        node = objects[0] if objects else {}
    return node


@functools.cache
def _json_schema() -> dict[str, Any]:
    """The scenario's JSON Schema, made once (only when a file has a mistake)."""
    return json_schema()


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


def _line_of(data_path: tuple[Any, ...], lines: LineIndex) -> int:
    """The line that gives a path's value, or its nearest parent's (0 if none)."""
    for n in range(len(data_path), -1, -1):
        if data_path[:n] in lines:
            return lines[data_path[:n]][1]
    return 0


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
