"""Write docs/scenario-reference.md and the JSON Schemas (docs/scenario.schema.json,
docs/scenario-partial.schema.json) from the scenario schema (sim/config/schema.py).

python tools/gen_scenario_docs.py          # rewrite the files
python tools/gen_scenario_docs.py --check  # exit 1 if one is out of date (tests use this)
"""

from __future__ import annotations

import sys
import types
import typing
from pathlib import Path

from pydantic import BaseModel

from sim import config

OUT = Path(__file__).resolve().parents[1] / "docs" / "scenario-reference.md"

HEAD = """# Scenario reference

Generated from the schema in `sim/config/schema.py` by `tools/gen_scenario_docs.py`; a test
fails if this file and the schema disagree. Units are in the names: `*_days` in days,
`*_per_week` / `*_per_year` / `*_per_day` rates, `p_*` probabilities in [0, 1].
`crisis-sim validate FILE` prints any scenario with every default filled in.

A scenario may start with `base: other.yaml` (a path relative to the file): its keys
are merged over that file's, mappings key by key, anything else (lists included)
replaced whole, except that:

- `arms:` given as a mapping from arm name to changes changes those arms of the base
  and keeps the rest (`arms: {peer_support: {effect: {hazard_ratio: 0.8}}}`); a list
  replaces the arms whole;
- a tagged block whose tag changes (`dist:`, `kind:`, `mechanism:`) is replaced whole;
- `outcomes.published`, `calibration` and `feed.allocation` are replaced whole, never
  merged; `published: null` or `calibration: null` drops an inherited block.

Tagged blocks choose their variant with one key (`dist:`, `kind:`, `mechanism:`); each
variant's fields are listed under it.
"""


def _type_name(tp) -> str:
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _type_name(typing.get_args(tp)[0])
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(tp))
    if origin is typing.Literal:
        return " | ".join(repr(a) for a in typing.get_args(tp))
    if origin is tuple:
        return f"list of {_type_name(typing.get_args(tp)[0])}"
    if origin is dict:
        k, v = typing.get_args(tp)
        return f"mapping {_type_name(k)} -> {_type_name(v)}"
    if tp is type(None):
        return "null"
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return f"[{tp.__name__}](#{tp.__name__.lower()})"
    return getattr(tp, "__name__", str(tp))


def _bounds(field) -> str:
    out = []
    for m in field.metadata:
        for attr, sym in (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<=")):
            v = getattr(m, attr, None)
            if v is not None:
                out.append(f"{sym} {v:g}" if isinstance(v, float) else f"{sym} {v:,}")
        if getattr(m, "min_length", None):
            out.append(f"at least {m.min_length}")
    return ", ".join(out)


def _default(field) -> str:
    if field.is_required():
        return "**required**"
    d = field.default_factory() if field.default_factory is not None else field.default
    if isinstance(d, BaseModel):
        return "see block"
    if d is None:
        return "null"
    return f"`{d!r}`" if not isinstance(d, tuple) else f"`{list(d)!r}`"


def _models(root: type[BaseModel]) -> list[type[BaseModel]]:
    seen: list[type[BaseModel]] = []

    def walk(tp) -> None:
        for arg in typing.get_args(tp) or ():
            walk(arg)
        if isinstance(tp, type) and issubclass(tp, BaseModel) and tp not in seen:
            seen.append(tp)
            for f in tp.model_fields.values():
                walk(f.annotation)

    walk(root)
    return seen


def render() -> str:
    parts = [HEAD]
    for model in _models(config.Scenario):
        doc = (model.__doc__ or "").strip().splitlines()[0]
        parts.append(
            f"\n## {model.__name__}\n\n{doc}\n\n| field | type | default | rule | meaning |\n"
            "|---|---|---|---|---|"
        )
        for name, f in model.model_fields.items():
            desc = (f.description or "").replace("|", "\\|")
            if not desc and name in ("kind", "dist", "mechanism"):
                desc = "Selects this variant."
            parts.append(
                f"| `{name}` | {_type_name(f.annotation)} | {_default(f)} | {_bounds(f)} | {desc} |"
            )
    return "\n".join(parts) + "\n"


def main() -> int:
    import json

    files = {
        OUT: render(),
        OUT.with_name("scenario.schema.json"): json.dumps(config.json_schema(), indent=2) + "\n",
        OUT.with_name("scenario-partial.schema.json"): json.dumps(
            config.json_schema(partial=True), indent=2
        )
        + "\n",
    }
    if "--check" in sys.argv:
        stale = [p for p, text in files.items() if not p.exists() or p.read_text() != text]
        for p in stale:
            print(f"{p} is out of date: run python tools/gen_scenario_docs.py", file=sys.stderr)
        return 1 if stale else 0
    for p, text in files.items():
        p.write_text(text)
        print(f"wrote {p}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
