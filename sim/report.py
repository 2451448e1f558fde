"""One self-contained HTML page per output directory: ``crisis-sim report DIR``.

The page is built from the directory alone (its ``manifest.json``, its resolved
scenarios, its tables and figures), so it can be made again at any time and says only
what the run knows. It opens offline: styles inline, figures inline (each figure's SVG,
or its PNG, as a data URI), no script, and a content security policy that lets the
page fetch nothing. It prints to A4.

Sections: the question and the answer in words and numbers (by kind of study), the
figures, the main tables, the scenario (every field that differs from the schema's
default, with the field's description and unit; for several files, each what-if's
changes against the first), the STRESS-DES reporting checklist (Monks T, Currie CSM,
Onggo BS, et al. *J Simulation* 2019;13:55-67) filled from the run, with the items the
run cannot know marked for the author, and the provenance with links to the files.
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from pydantic import BaseModel

from sim import stress_des as checklist
from sim import studies  # noqa: F401  (registers the package's study kinds)
from sim.config import ConfigError, Scenario, scenario_from_dict
from sim.study import Html, Study, of_kind

__all__ = ["build", "write", "scenario_fields", "whatif_changes", "stress_des"]

FOR_AUTHOR = checklist.FOR_AUTHOR

_CSS = """
body { font: 11pt/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1a1a1a;
       max-width: 60em; margin: 2em auto; padding: 0 1.5em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { font-size: 1.25em; margin-top: 1.8em;
border-bottom: 1px solid #ccc; } .stamp { color: #555; font-size: 0.9em; }
.answer { background: #f3f6fa; border-left: 4px solid #1b6ca8; padding: 0.6em 1em; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.6em 0; }
.wide { overflow-x: auto; max-width: 100%; } .note { font-size: 0.85em; color: #444; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.5em; text-align: left;
         vertical-align: top; } th { background: #eef1f4; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.answer-table { background: white; font-size: 0.9em; } .answer-table small { color: #555; }
figure { margin: 1em 0; page-break-inside: avoid; } figure img, figure svg
{ max-width: 100%; height: auto; } figcaption { color: #444; font-size: 0.9em; }
.author { color: #8a4b00; } code { font-size: 0.92em; overflow-wrap: anywhere; }
tr.block td { background: #f7f7f2; color: #333; }
table.scenario td:first-child { width: 30%; }
@page { size: A4; margin: 15mm; }
@media print { body { max-width: none; margin: 0; padding: 0; font-size: 10pt; }
               h2 { page-break-after: avoid; } table { page-break-inside: auto; } }
"""

# the page may fetch nothing: inline styles, and images only from data: URIs
_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

_MAX_ROWS = 40


def _e(text: object) -> str:
    return html.escape(str(text))


def _load(directory: Path) -> tuple[dict[str, Any], list[Scenario]]:
    path = directory / "manifest.json"
    if not path.is_file():
        raise ConfigError(f"{directory}: no manifest.json: not an output directory of crisis-sim")
    manifest = json.loads(path.read_text(encoding="utf-8"))
    if "kind" not in manifest:  # written before manifests said their kind
        marks = {"psa.csv": "psa", "compare.csv": "compare", "sweep.csv": "sweep"}
        marks.update({"power.csv": "power", "calibration.csv": "calibrate"})
        manifest["kind"] = next((k for f, k in marks.items() if (directory / f).is_file()), "run")
    resolved = directory / "scenario.resolved.yaml"
    docs = (
        list(yaml.safe_load_all(resolved.read_text(encoding="utf-8"))) if resolved.is_file() else []
    )
    return manifest, [scenario_from_dict(d) for d in docs if d]


# ---------------------------------------------------------------------------- scenario
def scenario_fields(model: BaseModel, prefix: str = "") -> Iterator[tuple[str, Any, str]]:
    """Every field of a scenario that differs from its default: (path, value, description).

    Nested blocks are followed; a list's items by name where they have one. Required
    fields (no default) are always listed.
    """
    for name, field in type(model).model_fields.items():
        value = getattr(model, name)
        path = f"{prefix}{name}"
        if isinstance(value, BaseModel):
            yield from scenario_fields(value, path + ".")
            continue
        if isinstance(value, tuple) and value and all(isinstance(v, BaseModel) for v in value):
            for i, item in enumerate(value):
                key = getattr(item, "name", None) or str(i)
                yield from scenario_fields(item, f"{path}.{key}.")
            continue
        default = field.get_default(call_default_factory=True)
        if field.is_required() or value != default:
            yield path, value, field.description or ""


def _flat(doc: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(doc, dict):
        out: dict[str, Any] = {}
        for k, v in doc.items():
            out.update(_flat(v, f"{prefix}{k}."))
        return out
    if isinstance(doc, list) and doc and all(isinstance(v, dict) for v in doc):
        out = {}
        for i, v in enumerate(doc):
            out.update(_flat(v, f"{prefix}{v.get('name', i)}."))
        return out
    return {prefix.rstrip("."): doc}


def whatif_changes(base: Scenario, other: Scenario) -> list[tuple[str, Any, Any]]:
    """The fields in which ``other`` differs from ``base``: (path, base value, its value)."""
    a, b = _flat(base.model_dump(mode="json")), _flat(other.model_dump(mode="json"))
    return [(k, a.get(k), b.get(k)) for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]


def _value(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:,.6g}"
    if isinstance(v, tuple | list):
        return ", ".join(_value(x) for x in v) if v else "(none)"
    return "(none)" if v is None else str(v)


def _sources(s: Scenario) -> dict[str, str]:
    """Sources the scenario itself carries, by field path."""
    out: dict[str, str] = {}
    if s.uncertainty is not None:
        for p in s.uncertainty.parameters:
            for path in getattr(p, "paths", None) or (p.path,):
                out[path] = p.source
    if s.economics is not None:
        for state in ("community", "ward", "crt"):
            out[f"economics.utilities.{state}.value"] = getattr(s.economics.utilities, state).source
    if s.outcomes.published is not None:
        out["outcomes.published"] = s.outcomes.published.source
    return out


def _notes(directory: Path) -> dict[str, dict[str, tuple[str, int, str]]]:
    """``scenario.notes.csv`` by scenario and field: (file, line, comment)."""
    path = directory / "scenario.notes.csv"
    if not path.is_file():
        return {}
    t = pd.read_csv(path, keep_default_na=False, dtype={"note": str})
    out: dict[str, dict[str, tuple[str, int, str]]] = {}
    for r in t.itertuples():
        out.setdefault(str(r.scenario), {})[str(r.field)] = (str(r.file), int(r.line), r.note)
    return out


def _up(path: str) -> list[str]:
    """``a.b.c`` -> ``[a.b.c, a.b, a]``."""
    parts = path.split(".")
    return [".".join(parts[:k]) for k in range(len(parts), 0, -1)]


def _note(notes: dict[str, tuple[str, int, str]], path: str, inherit: bool = True) -> str:
    """``path``'s comment and the file and line that set it.

    With ``inherit``, a field with no comment of its own takes the nearest one up its path.
    """
    where = next((notes[p] for p in _up(path) if p in notes), None)
    if where is None:
        return ""
    up = _up(path) if inherit else [path]
    comment = next((notes[p][2] for p in up if p in notes and notes[p][2]), "")
    return f"{comment} [{where[0]}, line {where[1]}]".strip()


def _context(notes: dict[str, tuple[str, int, str]], path: str) -> str | None:
    """The nearest block above ``path`` (not itself) whose line has a comment."""
    return next((p for p in _up(path)[1:] if p in notes and notes[p][2]), None)


def _scenario_section(
    scenarios: list[Scenario],
    notes: dict[str, dict[str, tuple[str, int, str]]] | None = None,
    replications: int | None = None,
) -> str:
    """The scenario's settings, with their sources.

    ``replications``: what the study ran (the command line may have set it otherwise
    than the file).
    """
    if not scenarios:
        return "<p>No resolved scenario in the directory.</p>"
    notes = notes or {}
    base = scenarios[0]
    sources = _sources(base)
    mine = notes.get(base.name, {})
    rows = []
    block = None
    for path, value, desc in scenario_fields(base):
        if path.startswith(("uncertainty.", "calibration.", "description")):
            continue
        # a block's comment once, above its fields; each field's own comment beside it
        ctx = _context(mine, path)
        if ctx is not None and ctx != block:
            file, line, comment = mine[ctx]
            rows.append(
                f'<tr class="block"><td colspan="4"><code>{_e(ctx)}</code>: {_e(comment)} '
                f"[{_e(file)}, line {line}]</td></tr>"
            )
        block = ctx
        src = sources.get(path) or _note(mine, path, inherit=False)
        shown = _value(value)
        if path == "replications" and replications and replications != value:
            shown = f"{replications:,} in this study (the file: {_value(value)})"
        rows.append(
            f"<tr><td><code>{_e(path)}</code></td><td class=num>{_e(shown)}</td>"
            f"<td>{_e(desc)}</td><td>{_e(src)}</td></tr>"
        )
    out = [
        f"<p><b>{_e(base.name)}</b>: {_e(base.description.strip())}</p>",
        "<p>Every field set to other than its default, with its meaning and unit. Source: "
        "the one the scenario carries (uncertainty, utilities, published figures), else "
        "the comment nearest the field in the scenario file, with the file and line "
        "(scenario.notes.csv).</p>",
        '<table class="scenario"><tr><th>field</th><th>value</th><th>meaning and unit</th>'
        "<th>source</th></tr>",
        *rows,
        "</table>",
    ]
    for other in scenarios[1:]:
        changes = whatif_changes(base, other)
        theirs = notes.get(other.name, {})
        out.append(f"<h3>{_e(other.name)} against {_e(base.name)}</h3>")
        out.append(
            "<table><tr><th>field</th><th>base</th><th>what-if</th><th>why (the what-if "
            "file's comment)</th></tr>"
        )
        out += [
            f"<tr><td><code>{_e(k)}</code></td><td>{_e(_value(a))}</td><td>{_e(_value(b))}</td>"
            f"<td>{_e(_note(theirs, k))}</td></tr>"
            for k, a, b in changes
            if not k.startswith("description")
        ]
        out.append("</table>")
    return "\n".join(out)


# ---------------------------------------------------------------------------- checklist
def stress_des(
    manifest: dict[str, Any],
    scenarios: list[Scenario],
    files: list[str] | None = None,
    aims: str | None = None,
) -> list[tuple[str, str, str]]:
    """The STRESS-DES items (Monks et al. 2019): (number, item, what this run says).

    ``files``: the directory's files (default: the manifest's list); ``aims``: the
    study's experimentation aims (:meth:`sim.study.Study.aims`). Items the run cannot
    know say :data:`FOR_AUTHOR` (the items: :data:`sim.stress_des.ITEMS`).
    """
    listed = files if files is not None else list(manifest.get("files", []))
    sources = _sources(scenarios[0]) if scenarios else {}
    return checklist.items(checklist.Facts(manifest, scenarios, listed, aims, sources))


def _checklist_section(items: list[tuple[str, str, str]]) -> str:
    rows = [
        f'<tr id="stress-{_e(n)}"><td>{_e(n)}</td><td>{_e(item)}</td>'
        f'<td class="{"author" if text == FOR_AUTHOR else "filled"}">{_e(text)}</td></tr>'
        for n, item, text in items
    ]
    filled = sum(text != FOR_AUTHOR for _, _, text in items)
    return (
        f"<p>{filled} of {len(items)} items filled from the run; the others are the author's "
        "(Monks et al., <i>J Simulation</i> 2019;13:55-67).</p>"
        "<table><tr><th>item</th><th>STRESS-DES</th><th>this run</th></tr>"
        + "\n".join(rows)
        + "</table>"
    )


# ---------------------------------------------------------------------------- page
def _figures(directory: Path, captions: dict[str, str]) -> list[str]:
    """Each figure once, as an image from a data URI: its SVG, else its PNG.

    In the order of the study's ``captions`` (the answer's figures first, capacity and
    checks after), then any other by name. The SVG's text is drawn as paths, so no
    font is fetched; as an image, its element ids cannot clash with another figure's.
    """
    out = []
    order = list(captions)
    names = sorted(
        {p.stem for p in directory.glob("*.svg")} | {p.stem for p in directory.glob("*.png")},
        key=lambda n: (order.index(n) if n in order else len(order), n),
    )
    for stem in names:
        path = directory / f"{stem}.svg"
        kind = "svg+xml"
        if not path.is_file():
            path, kind = directory / f"{stem}.png", "png"
        data = base64.b64encode(path.read_bytes()).decode()
        out.append(
            f'<figure class="figure" id="fig-{_e(stem)}">'
            f'<img alt="{_e(stem)}" src="data:image/{kind};base64,{data}">'
            f"<figcaption>{_e(captions.get(stem, stem))} ({_e(path.name)})</figcaption></figure>"
        )
    return out


def _as_filed(frame: pd.DataFrame) -> pd.DataFrame:
    """A table as its CSV file holds it.

    What a reader of the file sees (missing values empty, read back as such), so that
    the page shows the file whether the study is in memory or read back.
    """
    return pd.read_csv(StringIO(frame.to_csv(index=False)))


def _tables(study: Study | None) -> list[str]:
    """Each table the study shows, set as in print (:func:`sim.printed.shown`).

    Ids become words, numbers carry their units and the digits their intervals resolve;
    the file (linked) keeps every column in full.
    """
    from sim.printed import BOUND_NOTE, shown

    out = []
    for name, table in (study.shows() if study is not None else {}).items():
        t = shown(_as_filed(table), name)
        more = f" (first {_MAX_ROWS} of {len(t)} rows)" if len(t) > _MAX_ROWS else ""
        out.append(f'<h3>{_e(name)}{_e(more)} <a href="{_e(name)}">(the file)</a></h3>')
        out.append(
            '<div class="wide">' + t.head(_MAX_ROWS).to_html(index=False, border=0) + "</div>"
        )
        if t.apply(lambda c: c.astype(str).str.endswith("*")).to_numpy().any():
            out.append(f"<p class=note>{_e(BOUND_NOTE)}</p>")
    if out:
        out.insert(
            0,
            "<p class=note>Intervals: 95% confidence intervals across replications (of the "
            "mean), or, for a simulated trial's statistic, the range that holds 95% of the "
            "simulated trials; a &plusmn; is a 95% half-width.</p>",
        )
    return out


def _answer(study: Study | None, kind: str) -> list[str]:
    """The question and the answer, in sentences (escaped HTML)."""
    if study is not None:
        try:
            return study.answer()
        except (KeyError, ValueError, pd.errors.ParserError):
            pass
    return [f"The tables and figures of this {kind} follow."]


def _study(directory: Path, manifest: dict[str, Any], scenarios: list[Scenario]) -> Study | None:
    """The directory's study read back by its kind, or None if it cannot be."""
    cls = of_kind(manifest.get("kind", "run"))
    if cls is None:
        return None
    try:
        return cls.read(directory, manifest, scenarios)  # type: ignore[attr-defined]
    except (OSError, KeyError, ValueError, TypeError, pd.errors.ParserError):
        return None


def build(directory: Path, study: Study | None = None) -> str:
    """The report of an output directory, as one HTML page.

    ``study``: the study the directory holds, in memory (as the command that wrote it
    has it); by default it is read back from the directory by its kind
    (:meth:`sim.study.Study.read`).
    """
    directory = Path(directory)
    manifest, scenarios = _load(directory)
    kind = manifest.get("kind", "run")
    if study is None:
        study = _study(directory, manifest, scenarios)
    cls = of_kind(kind)
    captions: dict[str, str] = getattr(cls, "captions", {})
    names = manifest.get("scenarios") or [manifest.get("scenario"), *manifest.get("whatifs", [])]
    title = f"crisis-sim {kind}: {', '.join(str(n) for n in names if n)}"
    stamp = (
        f"seed {manifest.get('seed')}; started {manifest.get('started')}; "
        f"git {manifest.get('git_commit')}; crisis-sim "
        f"{manifest.get('versions', {}).get('crisis-sim')}"
    )
    present = sorted(
        p.name
        for p in directory.iterdir()
        if p.name != "report.html" and not p.name.startswith(".")
    )
    described = manifest.get("files", {})
    described = described if isinstance(described, dict) else {}
    links = "".join(
        f'<li><a href="{_e(name)}">{_e(name)}</a>'
        + (f": {_e(described[name])}" if name in described else "")
        + "</li>"
        for name in present
    )
    aims = study.aims() if study is not None else None
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{_e(title)}</h1><p class=stamp>{_e(stamp)}</p>",
        '<h2>Question and answer</h2><div class="answer">',
        *(
            line if isinstance(line, Html) else f"<p>{_e(line)}</p>"
            for line in _answer(study, kind)
        ),
        "</div>",
        "<h2>Figures</h2>",
        *_figures(directory, captions),
        "<h2>Tables</h2>",
        *_tables(study),
        "<h2>Scenario</h2>",
        _scenario_section(
            scenarios,
            _notes(directory),
            manifest.get("replications") if isinstance(manifest.get("replications"), int) else None,
        ),
        "<h2>STRESS-DES reporting checklist</h2>",
        _checklist_section(stress_des(manifest, scenarios, present, aims)),
        "<h2>Provenance</h2>",
        f"<p>Command: <code>{_e(' '.join(manifest.get('command', [])))}</code></p>",
        f"<p>{_e(stamp)}; wall time {_e(manifest.get('wall_seconds'))} s.</p>",
        "<p>Versions: "
        + _e(", ".join(f"{k} {v}" for k, v in manifest.get("versions", {}).items() if v))
        + "</p>",
        f"<p>Files of this directory:</p><ul>{links}</ul>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def write(directory: Path, study: Study | None = None) -> Path:
    """Write ``directory/report.html`` (atomically) and return its path.

    ``study``: as for :func:`build`.
    """
    from sim.io import atomic_text

    text = build(directory, study)
    path = Path(directory) / "report.html"
    atomic_text(path, text)
    return path
