"""No lost work (issue 5): replications are saved as they finish; an interrupted or killed
run is finished by --resume with the same tables as an uninterrupted run."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from helpers import TRIAL, assert_same_outputs, doc
from helpers import cli as _cli

from sim.errors import ReplicationFailed
from sim.runner import run_replications

pytestmark = pytest.mark.slow


def _saved(reps: Path) -> int:
    """Replications saved by an interrupted run (in batches, each listing its own)."""
    records = [json.loads((d / "batch.json").read_text()) for d in reps.glob("[0-9]*")]
    return len({r for record in records for r in record["replications"]})


# Runs the command line in this process after arranging that the run stops itself,
# from inside, once BATCHES batches of replications are saved: by sending SIG to its
# own process group (itself and its workers), as a terminal's Ctrl-C or a kill of the
# whole job does. The stop always falls in the middle of the run, whatever the speed
# of the machine: nothing races the run.
_STOPPER = """
import os, signal, sys
from sim.store import ReplicationStore

SIG, BATCHES = int(sys.argv[1]), int(sys.argv[2])
save = ReplicationStore.save_batch
saves = []


def save_then_stop(self, batch):
    save(self, batch)
    saves.append(len(batch.replications))
    if len(saves) == BATCHES:
        os.killpg(0, SIG)


ReplicationStore.save_batch = save_then_stop
sys.argv = ["crisis-sim", *sys.argv[3:]]
from sim.cli import main

main()
"""


@pytest.mark.parametrize(
    "sig, events",
    [(signal.SIGINT, []), (signal.SIGKILL, ["--events"])],
    ids=["ctrl-c", "kill-9 with events"],
)
def test_interrupted_run_resumes_to_the_same_tables(
    tmp_path: Path, sig: int, events: list[str]
) -> None:
    scenario = tmp_path / "s.yaml"
    # with the count endpoints and a published figure: mcf.csv and published.csv too
    counted = {
        "feed.n_patients": 500,
        "outcomes.endpoints": {"readmission_count": {}, "bed_days": {}},
        "outcomes.published": {
            "source": "test",
            "figures": [{"statistic": "rate_ratio", "arm": "peer", "value": 0.7}],
        },
    }
    scenario.write_text(yaml.safe_dump(doc(TRIAL, **counted)))
    full, part = tmp_path / "full", tmp_path / "part"
    reps = "60"
    assert _cli("run", str(scenario), "--reps", reps, "--out", str(full), *events).returncode == 0

    args = ["run", str(scenario), "--reps", reps, "--out", str(part), "--jobs", "2", *events]
    proc = subprocess.run(
        [sys.executable, "-c", _STOPPER, str(int(sig)), "2", *args],
        capture_output=True,
        text=True,
        timeout=600,
        start_new_session=True,  # its own process group, which it signals
    )
    err = proc.stderr
    saved = tmp_path / ".part.partial" / "reps"
    if sig == signal.SIGINT:
        assert proc.returncode == 130, err
        assert "--resume" in err and "Traceback" not in err
    else:
        assert proc.returncode == -signal.SIGKILL
    done = _saved(saved)
    assert 2 <= done < 60, done  # two chunks of the 8 or so that 60 replications make
    assert not part.exists(), "nothing half-written where the user looks"

    res = _cli("run", str(scenario), "--reps", reps, "--resume", str(part), *events)
    assert res.returncode == 0, res.stderr
    assert f"resuming: {done} of 60" in res.stderr
    assert_same_outputs(full, part)
    assert (part / "mcf.csv").exists() and (part / "published.csv").exists()
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
    from sim.store import ReplicationStore

    ReplicationStore(tmp_path / "run", "name: something-else\n", resume=False, force=False)
    res = _cli("run", str(a), "--resume", str(tmp_path / "run"))
    assert res.returncode == 2 and "another scenario, seed or options" in res.stderr
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


def test_an_interrupted_psa_resumes_to_the_same_tables(tmp_path: Path) -> None:
    # the PSA saves each parameter set's runs as they finish, like `run`: stopped by
    # Ctrl-C it says how to finish, and --resume gives the tables of an unbroken PSA
    from helpers import ECONOMICS, SERVICE

    econ = ECONOMICS
    unc = {
        "parameters": [
            {"dist": "gamma", "path": "costs.ward_bed_day", "mean": 700, "sd": 90, "source": "t"}
        ]
    }
    d = doc(SERVICE, **{"feed.run_days": 150, "economics": econ, "costs": {}, "uncertainty": unc})
    scenario = tmp_path / "s.yaml"
    scenario.write_text(yaml.safe_dump(d))
    full, part = tmp_path / "full", tmp_path / "part"
    args = ["psa", str(scenario), "--samples", "12", "--reps", "2", "--dsa-reps", "2"]
    assert _cli(*args, "--out", str(full), "--jobs", "1").returncode == 0
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            _STOPPER,
            str(int(signal.SIGINT)),
            "2",
            *args,
            "--out",
            str(part),
            "--jobs",
            "2",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        start_new_session=True,
    )
    assert proc.returncode == 130, proc.stderr
    assert "crisis-sim psa" in proc.stderr and "--resume" in proc.stderr
    done = _saved(tmp_path / ".part.partial" / "reps")
    assert 2 <= done < 26, done  # 12 x 2 PSA runs, then 2 one-way runs (3 variants each)
    assert not part.exists()
    res = _cli(*args, "--resume", str(part))
    assert res.returncode == 0, res.stderr
    assert f"resuming: {done} of 26" in res.stderr
    assert_same_outputs(full, part)
    assert not (tmp_path / ".part.partial").exists()
