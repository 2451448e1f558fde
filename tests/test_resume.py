"""No lost work (issue 5): replications are saved as they finish; an interrupted or killed
run is finished by --resume with the same tables as an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from helpers import TRIAL, doc

from sim.errors import ReplicationFailed
from sim.runner import run_replications

pytestmark = pytest.mark.slow


def _cli(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sim", *args], capture_output=True, text=True, timeout=600, **kw
    )


def _saved(reps: Path) -> int:
    """Replications saved by an interrupted run (in batches, each listing its own)."""
    return sum(len(json.loads((d / "replications.json").read_text())) for d in reps.glob("[0-9]*"))


def _same_outputs(a: Path, b: Path) -> None:
    for name in ("summary.csv", "metrics.csv", "trial.csv", "attendance.csv", "timeseries.csv"):
        assert (a / name).read_text() == (b / name).read_text(), name
    pd.testing.assert_frame_equal(
        pd.read_parquet(a / "patients.parquet"), pd.read_parquet(b / "patients.parquet")
    )


@pytest.mark.parametrize(
    "sig, events",
    [(signal.SIGINT, []), (signal.SIGKILL, ["--events"])],
    ids=["ctrl-c", "kill-9 with events"],
)
def test_interrupted_run_resumes_to_the_same_tables(
    tmp_path: Path, sig: int, events: list[str]
) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text(yaml.safe_dump(doc(TRIAL, **{"feed.n_patients": 2000})))
    full, part = tmp_path / "full", tmp_path / "part"
    reps = "60"
    assert _cli("run", str(scenario), "--reps", reps, "--out", str(full), *events).returncode == 0

    proc = subprocess.Popen(
        [sys.executable, "-m", "sim", "run", str(scenario), "--reps", reps, "--out", str(part)]
        + events,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    saved = tmp_path / ".part.partial" / "reps"
    deadline = time.time() + 120
    while time.time() < deadline and _saved(saved) < 6:
        time.sleep(0.05)
    os.killpg(proc.pid, sig)  # the whole process group, as a terminal's Ctrl-C does
    _, err = proc.communicate(timeout=120)
    if sig == signal.SIGINT:
        assert proc.returncode == 130, err
        assert "--resume" in err and "Traceback" not in err
    else:
        assert proc.returncode == -signal.SIGKILL
    done = _saved(saved)
    assert 6 <= done < 60, done
    assert not part.exists(), "nothing half-written where the user looks"

    res = _cli("run", str(scenario), "--reps", reps, "--resume", str(part), *events)
    assert res.returncode == 0, res.stderr
    assert f"resuming: {done} of 60" in res.stderr
    _same_outputs(full, part)
    assert not (tmp_path / ".part.partial").exists()
    if events:  # the parts of the killed attempt and of the resumed one make the same log
        assert sorted(p.name for p in (part / "events").iterdir()) == [
            f"rep-{r:07d}" for r in range(60)
        ]
        pd.testing.assert_frame_equal(
            pd.read_parquet(full / "events"), pd.read_parquet(part / "events")
        )


def test_resume_refuses_another_scenario(tmp_path: Path) -> None:
    a = tmp_path / "a.yaml"
    a.write_text(yaml.safe_dump(doc(TRIAL)))
    partial = tmp_path / ".run.partial"
    (partial / "reps").mkdir(parents=True)
    (partial / "scenario.resolved.yaml").write_text("name: something-else\n")
    res = _cli("run", str(a), "--resume", str(tmp_path / "run"))
    assert res.returncode == 2 and "another scenario or seed" in res.stderr
    res = _cli("run", str(a), "--out", str(tmp_path / "run"))
    assert res.returncode == 2 and "--resume" in res.stderr


def _fails_on_three(r: int) -> int:
    if r == 3:
        raise ZeroDivisionError("boom")
    return r


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_failing_replication_is_named(jobs: int) -> None:
    seen = []
    with pytest.raises(ReplicationFailed) as info:
        run_replications(
            _fails_on_three,
            range(8),
            jobs=jobs,
            on_results=lambda pairs: seen.extend(r for r, _ in pairs),
        )
    assert info.value.replication == 3 and "ZeroDivisionError: boom" in info.value.detail
    assert 3 not in seen
    if jobs == 1:  # serially, those finished before the failure are handed on (to be saved)
        assert seen == [0, 1, 2]


def test_serial_results_are_handed_on_in_batches_and_all_of_them() -> None:
    batches: list[list[int]] = []
    out = run_replications(
        abs,
        range(500),
        jobs=1,
        on_results=lambda pairs: batches.append([r for r, _ in pairs]),
    )
    assert out == list(range(500))
    assert [r for b in batches for r in b] == list(range(500))
    assert len(batches) < 10, "not one call per replication"
