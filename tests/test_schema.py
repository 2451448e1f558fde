"""The JSON Schema that `crisis-sim schema` prints describes the scenarios: every shipped
scenario validates against it (with the jsonschema package), as written and merged with
its base, and it refuses what the loader refuses."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from helpers import TRIAL, cli, doc

from sim.config import load_scenario
from sim.config.loader import Yaml12Loader

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted((ROOT / "scenarios").glob("*.yaml"))


def printed(*args: str) -> dict:
    res = cli("schema", *args, timeout=120, check=True)
    return json.loads(res.stdout)


@pytest.fixture(scope="module")
def schemas() -> dict[str, dict]:
    return {"full": printed(), "partial": printed("--partial")}


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_scenarios_validate_against_the_printed_schema(path: Path, schemas) -> None:
    raw = yaml.load(path.read_text(), Loader=Yaml12Loader)  # noqa: S506 - a safe loader
    kind = "partial" if "base" in raw else "full"
    jsonschema.validate(raw, schemas[kind])
    merged = yaml.safe_load(yaml.safe_dump(load_scenario(path).model_dump(mode="json")))
    jsonschema.validate(merged, schemas["full"])
    first = path.read_text().splitlines()[0]
    schema_file = "scenario-partial.schema.json" if kind == "partial" else "scenario.schema.json"
    assert first == f"# yaml-language-server: $schema=../docs/{schema_file}"


def test_the_schema_refuses_what_the_loader_refuses(schemas) -> None:
    for change in (
        {"attendance.p_never_engage": 1.5},
        {"seeed": 3},
        {"readmission.baseline.dist": "gompertz"},
        {"arms.1.peer_support.reoffer_after_readmission": "yes"},
    ):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(doc(TRIAL, **change), schemas["full"])
    jsonschema.validate(doc(TRIAL), schemas["full"])


def test_the_shipped_schema_files_are_the_printed_ones(schemas) -> None:
    for name, kind in (
        ("scenario.schema.json", "full"),
        ("scenario-partial.schema.json", "partial"),
    ):
        assert json.loads((ROOT / "docs" / name).read_text()) == schemas[kind]
