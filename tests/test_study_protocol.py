"""A study kind is one module: a toy kind defined here, and nowhere else, gets its output
directory, its printout and its report section from the package's one lifecycle and one
report, through the protocol alone (sim.study)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd
import pytest
from helpers import TRIAL, scenario
from matplotlib.figure import Figure

from sim import report, studies, study
from sim.config import Scenario
from sim.errors import OutputExists
from sim.workspace import Workspace


@study.kind
@dataclass
class Toy:
    """A study of nothing: the scenario's seed, told three ways."""

    kind: ClassVar[str] = "toy"
    captions: ClassVar[dict[str, str]] = {"dots": "Two dots, one per arm"}

    scenario: Scenario
    table: pd.DataFrame

    @property
    def scenarios(self) -> list[Scenario]:
        return [self.scenario]

    def tables(self) -> dict[str, pd.DataFrame | str]:
        return {"toy.csv": self.table, "toy.parquet": self.table, "toy.txt": "a note\n"}

    def figures(self) -> dict[str, Figure]:
        fig = Figure(figsize=(3, 2), layout="constrained")
        fig.subplots().plot([0, 1], self.table["value"], "o")
        return {"dots.png": fig}

    def stamp(self) -> str:
        return "two rows"

    def manifest(self, files: list[str]) -> dict[str, Any]:
        return {"scenario": self.scenario.name, "seed": self.scenario.seed, "files": files}

    def printout(self) -> str:
        return f"toy of {self.scenario.name}: {len(self.table)} rows"

    def shows(self) -> dict[str, pd.DataFrame]:
        return {"toy.csv": self.table}

    def answer(self) -> list[str]:
        return ["What is the toy's answer?", f"It is {self.table['value'].sum():g} <exactly>."]

    def aims(self) -> str:
        return "To show that a kind is one module."

    @classmethod
    def read(cls, directory: Path, manifest: dict[str, Any], scenarios: list[Scenario]) -> Toy:
        return cls(scenarios[0], pd.read_csv(directory / "toy.csv"))


def _toy() -> Toy:
    s = scenario(TRIAL)
    return Toy(s, pd.DataFrame({"arm": [a.name for a in s.arms], "value": [20.0, 22.0]}))


def test_a_kind_defined_in_one_module_is_registered_beside_the_packages_own() -> None:
    kinds = study.kinds()
    assert kinds["toy"] is Toy
    assert {"run", "compare", "sweep", "power", "calibrate", "psa"} <= set(kinds)
    assert study.of_kind("nothing") is None
    with pytest.raises(ValueError, match="registered twice"):
        study.kind(type("Other", (), {"kind": "toy"}))


def test_every_kind_of_the_package_has_the_whole_protocol() -> None:
    members = [m for m in vars(study.Study) if not m.startswith("_")]
    assert {"tables", "figures", "printout", "answer", "shows", "aims", "read"} <= set(members)
    for name, cls in study.kinds().items():
        missing = [m for m in members if m != "scenarios" and not hasattr(cls, m)]
        assert not missing, f"{name} lacks {missing}"
        assert cls.kind == name


def test_a_toy_kind_gets_its_directory_printout_and_report_with_no_edit_elsewhere(
    tmp_path: Path,
) -> None:
    toy = _toy()
    out = tmp_path / "toy"
    ws = Workspace(out, "toy", notes=b"scenario,field,file,line,note\n")
    assert ws.write(toy) == out
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(
        [
            "toy.csv",
            "toy.parquet",
            "toy.txt",
            "dots.png",
            "dots.svg",
            "scenario.resolved.yaml",
            "scenario.notes.csv",
            "manifest.json",
        ]
    )
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kind"] == "toy" and manifest["scenario"] == toy.scenario.name
    assert manifest["files"] == names and list(manifest)[:2] == ["kind", "command"]
    assert "versions" in manifest and "git_commit" in manifest  # the provenance, added after
    pd.testing.assert_frame_equal(pd.read_parquet(out / "toy.parquet"), toy.table)
    assert (out / "toy.txt").read_text() == "a note\n"
    assert (out / "dots.png").read_bytes().startswith(b"\x89PNG")
    assert toy.printout() == "toy of tiny-trial: 2 rows"
    # the report, from the study in memory and read back from the directory: the same page
    in_memory = report.build(out, toy)
    assert in_memory == report.build(out)
    assert "It is 42 &lt;exactly&gt;." in in_memory  # its answer, escaped
    assert "Two dots, one per arm (dots.svg)" in in_memory  # its caption
    assert '<h3>toy.csv <a href="toy.csv">(the file)</a></h3>' in in_memory  # its table
    assert "To show that a kind is one module." in in_memory  # its aims (STRESS-DES 1.3)
    # the lifecycle's refusals hold for it too
    with pytest.raises(OutputExists, match="already exists"):
        Workspace(out, "toy")


def test_a_kind_that_cannot_read_its_directory_back_still_gets_a_page(tmp_path: Path) -> None:
    out = tmp_path / "toy"
    Workspace(out, "toy").write(_toy())
    (out / "toy.csv").unlink()  # what its read needs is gone
    page = report.build(out)
    assert "The tables and figures of this toy follow." in page
    assert "dots.svg" in page  # the figures are still the directory's


def test_the_package_studies_are_the_protocols_own() -> None:
    assert isinstance(studies.Run.kind, str) and studies.Comparison.kind == "compare"
