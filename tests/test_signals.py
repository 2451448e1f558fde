"""Whatever stops a run, finished work is kept, no process is left, and --resume gives the
tables of an uninterrupted run.

Each run stops itself from inside, after a chosen number of saved batches (chosen by a
seeded generator: several points per signal), by sending the signal to its own main
process only, as `kill PID`, `timeout`, a batch scheduler or a closing terminal do. It
first writes down its worker processes, which must then be gone: killed by the main
process when it catches the signal, or, when the main process is killed outright
(SIGKILL), exiting by themselves when they see it gone.
"""

from __future__ import annotations

import json
import multiprocessing
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from helpers import TRIAL, assert_same_outputs, doc
from helpers import cli as _cli

pytestmark = [pytest.mark.slow, pytest.mark.skipif(sys.platform != "linux", reason="/proc")]

REPS = 24

# The command line in this process, chunks of one replication each (so a stop after k
# saved batches always falls in the middle of the run, however fast the machine), and a
# stop after BATCHES saved batches: SIG to this process alone, its workers written down.
STOPPER = """
import json, multiprocessing, os, sys
import sim.runner
from sim.store import ReplicationStore

SIG, BATCHES, PIDS = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
sim.runner.CHUNK_SECONDS = 1e-9
save, saves = ReplicationStore.save_batch, []


def save_then_stop(self, batch):
    save(self, batch)
    saves.append(len(batch.replications))
    if len(saves) == BATCHES:
        workers = [p.pid for p in multiprocessing.active_children()]
        with open(PIDS, "w") as f:
            json.dump(workers, f)
        os.kill(os.getpid(), SIG)


ReplicationStore.save_batch = save_then_stop
sys.argv = ["crisis-sim", *sys.argv[4:]]
from sim.cli import main

main()
"""

SIGNALS = [signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGKILL]
_rng = random.Random(20261127)
CASES = [(sig, k) for sig in SIGNALS for k in sorted(_rng.sample(range(1, REPS - 4), 2))]


def _alive(pid: int) -> bool:
    """Running (not gone, not a zombie waiting to be reaped)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    state = next(x for x in status.splitlines() if x.startswith("State:"))
    return "Z" not in state.split()[1]


def _left(pids: list[int], patience: float = 30.0) -> list[int]:
    """The processes still running after ``patience`` seconds at most (a liveness bound,
    not a speed test: they exit within a second)."""
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline:
        alive = [p for p in pids if _alive(p)]
        if not alive:
            return []
        time.sleep(0.2)
    return alive


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> tuple[Path, Path]:
    where = tmp_path_factory.mktemp("signals")
    scenario = where / "s.yaml"
    scenario.write_text(yaml.safe_dump(doc(TRIAL, **{"feed.n_patients": 300})))
    full = where / "full"
    res = _cli("run", str(scenario), "--reps", str(REPS), "--out", str(full), "--jobs", "2")
    assert res.returncode == 0, res.stderr
    return scenario, full


@pytest.mark.parametrize(
    "sig, batches", CASES, ids=[f"{signal.Signals(s).name}-after-{k}" for s, k in CASES]
)
def test_a_stopped_run_keeps_its_work_leaves_no_process_and_resumes(
    tmp_path: Path, uninterrupted, sig: int, batches: int
) -> None:
    scenario, full = uninterrupted
    out, pids = tmp_path / "run", tmp_path / "pids.json"
    args = ["run", str(scenario), "--reps", str(REPS), "--out", str(out), "--jobs", "2"]
    proc = subprocess.run(
        [sys.executable, "-c", STOPPER, str(int(sig)), str(batches), str(pids), *args],
        capture_output=True,
        text=True,
        timeout=600,
    )
    workers = json.loads(pids.read_text())
    assert len(workers) == 2
    if sig == signal.SIGKILL:
        assert proc.returncode == -signal.SIGKILL
    else:
        assert proc.returncode == 128 + sig, proc.stderr
        assert "--resume" in proc.stderr and "Traceback" not in proc.stderr
        assert f"interrupted: {batches} of {REPS} replications saved" in proc.stderr
    assert _left(workers) == [], "worker processes outlived the command"
    assert not out.exists()

    res = _cli("run", str(scenario), "--reps", str(REPS), "--resume", str(out), "--jobs", "2")
    assert res.returncode == 0, res.stderr
    assert f"resuming: {batches} of {REPS}" in res.stderr
    assert_same_outputs(out, full)


def test_workers_of_a_library_run_exit_when_the_main_process_is_killed(tmp_path: Path) -> None:
    """A script using the library, killed by SIGKILL mid-run: its workers follow it."""
    pids = tmp_path / "pids.json"
    script = f"""
import json, multiprocessing, os, signal, sys
sys.path.insert(0, {str(Path(__file__).parent)!r})
from helpers import TRIAL, scenario
from sim import api
import sim.runner
sim.runner.CHUNK_SECONDS = 1e-9
seen = []

def progress(n):
    seen.append(n)
    if len(seen) == 3:
        json.dump([p.pid for p in multiprocessing.active_children()], open({str(pids)!r}, "w"))
        os.kill(os.getpid(), signal.SIGKILL)

if __name__ == "__main__":
    api.run(scenario(TRIAL, **{{"feed.n_patients": 300}}), replications=40, jobs=2,
            progress=progress)
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=600)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    workers = json.loads(pids.read_text())
    assert workers and _left(workers) == []


START_METHODS = [m for m in ("spawn", "forkserver") if m in multiprocessing.get_all_start_methods()]


@pytest.mark.parametrize("method", START_METHODS)
def test_every_start_method_gives_the_same_tables(method: str) -> None:
    script = f"""
import multiprocessing, sys
sys.path.insert(0, {str(Path(__file__).parent)!r})
import pandas as pd
from helpers import TRIAL, scenario
from sim import api

if __name__ == "__main__":
    multiprocessing.set_start_method({method!r}, force=True)
    s = scenario(TRIAL, **{{"feed.n_patients": 120}})
    a, b = api.run(s, replications=6, jobs=2), api.run(s, replications=6, jobs=1)
    for name in ("patients", "metrics", "summary", "trial", "attendance", "timeseries"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), obj=name)
    print("same tables")
"""
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "same tables"
