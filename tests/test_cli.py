"""Layer 8: the command line end to end, in a subprocess as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from helpers import TRIAL, cli, doc

from sim import api
from sim.analysis.tables import PATIENT_COLUMNS
from sim.config import load_scenario

CONTRACT = [
    "replication",
    "arm",
    "patient_id",
    "risk_group",
    "entry_day",
    "sessions_offered",
    "sessions_attended",
    "first_readmission_day",
    "follow_up_days",
    "readmissions",
    "acute_days",
    "died",
]


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(doc(TRIAL, replications=2)))
    return path


def test_run_writes_the_run_directory(tiny: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    res = cli("run", str(tiny), "--out", str(out), "--jobs", "1", "--events", "--seed", "5")
    assert res.returncode == 0, res.stderr
    assert "Readmitted within a year (%)" in res.stdout and "peer" in res.stdout
    names = {p.name for p in out.iterdir()}
    assert names == {
        "scenario.resolved.yaml",
        "scenario.notes.csv",
        "manifest.json",
        "patients.parquet",
        "metrics.parquet",
        "summary.csv",
        "events",
        "trial.parquet",
        "trial_summary.csv",
        "attendance.parquet",
        "km.png",
        "hazard_ratios.png",
        "attendance.png",
        "timeseries.parquet",
        "capacity.png",
        "km.svg",
        "hazard_ratios.svg",
        "attendance.svg",
        "capacity.svg",
    }
    assert "Odds ratio" in res.stdout and "Hazard ratio (Cox)" in res.stdout
    patients = pd.read_parquet(out / "patients.parquet")
    assert list(patients.columns[: len(CONTRACT)]) == CONTRACT, "the documented contract"
    assert set(PATIENT_COLUMNS) == set(patients.columns)
    assert sorted(patients["replication"].unique()) == [0, 1]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 5 and manifest["replications"] == 2
    assert {"command", "versions", "git_commit", "started", "wall_seconds", "machine"} <= set(
        manifest
    )
    used = {"simpy", "numpy", "pandas", "pyarrow", "scipy", "statsmodels", "matplotlib", "click"}
    used |= {"scikit-learn"}
    assert all(manifest["versions"][name] for name in used), manifest["versions"]
    resolved = yaml.safe_load((out / "scenario.resolved.yaml").read_text())
    assert resolved["seed"] == 5 and resolved["peer_workers"]["queue"] == "fifo"
    assert sorted(p.name for p in (out / "events").iterdir()) == ["rep-0000000", "rep-0000001"]
    events = pd.read_parquet(out / "events")
    assert list(events.columns) == [
        "scenario",
        "replication",
        "arm",
        "patient_id",
        "episode",
        "time_days",
        "event",
        "detail",
    ]
    summary = pd.read_csv(out / "summary.csv")
    assert {"arm", "metric", "mean", "ci_low", "ci_high"} <= set(summary.columns)
    # the parts the workers wrote read back as the log the library keeps in memory
    scenario = load_scenario(tiny).model_copy(update={"seed": 5})
    kept = api.run(scenario, replications=2, jobs=1, events=True).events
    pd.testing.assert_frame_equal(events, kept)


def test_same_seed_same_files(tiny: Path, tmp_path: Path) -> None:
    for name, jobs in (("a", "1"), ("b", "2")):
        assert cli("run", str(tiny), "--out", str(tmp_path / name), "--jobs", jobs).returncode == 0
    a = pd.read_parquet(tmp_path / "a" / "patients.parquet")
    b = pd.read_parquet(tmp_path / "b" / "patients.parquet")
    pd.testing.assert_frame_equal(a, b)
    assert (tmp_path / "a" / "summary.csv").read_text() == (
        tmp_path / "b" / "summary.csv"
    ).read_text()


def test_broken_yaml_one_line_exit_2_nothing_written(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    d = doc(TRIAL)
    d["attendance"]["p_never_engage"] = 1.5
    bad.write_text(yaml.safe_dump(d, sort_keys=False))
    out = tmp_path / "never"
    res = cli("run", str(bad), "--out", str(out))
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in res.stderr
    line_no = next(
        i for i, t in enumerate(bad.read_text().splitlines(), 1) if "p_never_engage" in t
    )
    assert f"{bad}: attendance.p_never_engage (line {line_no}) = 1.5" in lines[0]
    assert not out.exists() and not any(p.name.startswith(".never") for p in tmp_path.iterdir())


def test_malformed_yaml_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nfeed: [unclosed\n")
    res = cli("validate", str(bad))
    assert res.returncode == 2 and "malformed YAML" in res.stderr and "Traceback" not in res.stderr


def test_existing_run_directory_needs_force(tiny: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    res = cli("run", str(tiny), "--out", str(out), "--jobs", "1")
    assert res.returncode == 2 and "--force" in res.stderr
    assert (out / "keep.txt").read_text() == "mine"
    res = cli("run", str(tiny), "--out", str(out), "--jobs", "1", "--force")
    assert res.returncode == 0 and (out / "patients.parquet").exists()
    assert not (out / "keep.txt").exists()


def test_bad_option_exit_2(tiny: Path) -> None:
    res = cli("run", str(tiny), "--reps", "0")
    assert res.returncode == 2 and "Traceback" not in res.stderr


def test_validate_prints_resolved_scenario(tiny: Path) -> None:
    res = cli("validate", str(tiny))
    assert res.returncode == 0
    resolved = yaml.safe_load(res.stdout)
    assert resolved["name"] == "tiny-trial" and "valid" in res.stderr
    assert resolved["attendance"]["disengage_after_missed"] == 3


def test_default_out_dir_is_fresh(tiny: Path, tmp_path: Path) -> None:
    for _ in range(2):
        res = cli("run", str(tiny), "--jobs", "1", "--reps", "1", cwd=tmp_path)
        assert res.returncode == 0, res.stderr
    assert len(list((tmp_path / "runs").iterdir())) == 2


def test_console_script_help() -> None:
    exe = Path(sys.executable).parent / "crisis-sim"
    if not exe.exists():
        pytest.skip("package not installed as a console script")
    res = subprocess.run([str(exe), "--help"], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and "validate" in res.stdout and "run" in res.stdout
