"""The documentation cannot drift from the code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from helpers import SERVICE, TRIAL, scenario

from sim import api
from sim.analysis.tables import PATIENT_COLUMNS

ROOT = Path(__file__).resolve().parents[1]


def test_scenario_reference_is_current() -> None:
    res = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "gen_scenario_docs.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, res.stderr


def test_every_metric_and_column_is_documented() -> None:
    text = (ROOT / "docs" / "outputs.md").read_text()
    for base in (TRIAL, SERVICE):
        result = api.run(scenario(base), replications=1, jobs=1)
        for metric in result.metrics["metric"].unique():
            generic = (
                metric.replace(metric.split("_")[2], "<H>d")
                if metric.startswith("p_readmit_")
                else metric
            )
            assert f"`{generic}`" in text, metric
    for column in PATIENT_COLUMNS:
        assert f"| `{column}` |" in text, column
    from sim.analysis.trial import TRIAL_COLUMNS

    for column in TRIAL_COLUMNS:
        assert f"`{column}`" in text, column


def test_readme_opens_with_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    test_command = next(line for line in readme.splitlines() if "pytest" in line)
    assert test_command.strip() in ci, ".ci/run runs the README's test command verbatim"


def test_the_repository_cites_only_what_it_contains() -> None:
    """Every Markdown page named in the code, scenarios, tools and docs is a page of the
    repository: none points at notes a user of the package cannot open."""
    import re

    pages = {p.name for p in ROOT.rglob("*.md") if ".git" not in p.parts}
    files = [*ROOT.glob("sim/**/*.py"), *ROOT.glob("scenarios/*.yaml"), *ROOT.glob("docs/*.md")]
    files += [ROOT / "README.md", *ROOT.glob("tools/*.py"), *ROOT.glob("benchmarks/*.py")]
    for path in files:
        text = path.read_text(encoding="utf-8")
        for name in re.findall(r"docs/([\w.-]+\.md)", text):
            assert (ROOT / "docs" / name).exists(), f"{path.name} cites docs/{name}"
        for name in re.findall(r"[\w.-]+\.md\b", text):
            assert name in pages, f"{path.name} cites {name}, not in the repository"


def test_the_readme_python_snippet_runs_as_written_under_spawn(tmp_path: Path) -> None:
    """As it would on macOS or Windows, where processes start by "spawn"."""
    text = (ROOT / "README.md").read_text()
    snippet = text.split("```python\n", 1)[1].split("```", 1)[0]
    script = tmp_path / "snippet.py"
    script.write_text(
        'import multiprocessing\nmultiprocessing.set_start_method("spawn", force=True)\n'
        + snippet.replace("replications=50", "replications=4")
    )
    res = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300, cwd=ROOT
    )
    assert res.returncode == 0, res.stderr
    assert "p_readmit_365d" in res.stdout


def test_the_reference_marks_required_what_the_schema_requires() -> None:
    import json
    import re

    schema = json.loads((ROOT / "docs" / "scenario.schema.json").read_text())
    defs = {**schema.get("$defs", {}), "Scenario": schema}
    text = (ROOT / "docs" / "scenario-reference.md").read_text()
    sections = re.split(r"^## ", text, flags=re.M)[1:]
    checked = 0
    for section in sections:
        name = section.splitlines()[0].strip()
        if name not in defs:
            continue
        marked = set(re.findall(r"^\| `(\w+)` \|.*\*\*required\*\*", section, flags=re.M))
        assert marked == set(defs[name].get("required", [])), name
        checked += 1
    assert checked > 20
