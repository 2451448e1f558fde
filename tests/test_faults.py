"""Saved work is never lost or mixed, whatever the disk, the path or a second process does.

Each fault is made to happen at a chosen point, never by racing the run: the command
line runs in a fresh process under an injector that makes the store's saves one
replication each and, after K saves, stops the run (as a signal does) or makes the
disk refuse (an ``OSError`` as a full disk gives). Where the test may mount, a small
tmpfs fills for real. After each fault: the message and exit code, nothing in the
final location, and a resume that gives tables identical, row for row, to an
uninterrupted run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from helpers import TRIAL, assert_same_outputs, doc

from sim.lock import DirectoryLock, lock_path

pytestmark = [pytest.mark.slow, pytest.mark.skipif(sys.platform != "linux", reason="flock")]

REPS = 12

# the command line under faults: argv[1] is the fault ("-" none; "stop:K", "enospc:K",
# "final:ERRNO", "lock:ERRNO", "big-chunks"), the rest the command
INJECTOR = """
import errno, os, sys
import sim.runner, sim.io, sim.lock
from sim.store import ReplicationStore

fault, args = sys.argv[1], sys.argv[2:]
kind, _, k = fault.partition(":")
if kind == "big-chunks":  # a resume's chunks as large as they come: they straddle the saved
    sim.runner.CHUNK_SECONDS = sim.runner._SERIAL_BATCH_SECONDS = 1e9
else:
    sim.runner.CHUNK_SECONDS = sim.runner._SERIAL_BATCH_SECONDS = 1e-9
save, saves = ReplicationStore.save_batch, []


def save_then_fault(self, batch):
    if kind == "enospc" and len(saves) == int(k):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self.reps))
    save(self, batch)
    saves.append(len(batch.replications))
    if kind == "stop" and len(saves) == int(k):
        raise KeyboardInterrupt


ReplicationStore.save_batch = save_then_fault
if kind == "final":
    def refuse(tmp, out):
        raise OSError(int(k), os.strerror(int(k)), str(out))
    sim.io.swap_into_place = refuse
if kind == "lock":  # the lock's file cannot be made: the place refuses writes
    import types

    def refuse_open(path, *a, **kw):
        raise OSError(int(k), os.strerror(int(k)), str(path))
    sim.lock.os = types.SimpleNamespace(**{**vars(os), "open": refuse_open})
sys.argv = ["crisis-sim", *args]
from sim.cli import main

main()
"""


def crisis(fault: str, *args: str, jobs: str = "1") -> subprocess.CompletedProcess:
    """The command line under ``fault`` (``-``: none), in a fresh process."""
    more = ["--jobs", jobs, "-q"] if args[0] in ("run", "compare", "psa") else []
    return subprocess.run(
        [sys.executable, "-c", INJECTOR, fault, *args, *more],
        capture_output=True,
        text=True,
        timeout=600,
    )


def one_line(res: subprocess.CompletedProcess) -> str:
    """The error a user reads: one line, no traceback."""
    assert "Traceback" not in res.stderr, res.stderr
    lines = [x for x in res.stderr.splitlines() if x.strip()]
    assert len(lines) == 1, res.stderr
    return lines[0]


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> tuple[Path, Path]:
    """A small trial scenario, and its uninterrupted run of REPS replications."""
    root = tmp_path_factory.mktemp("faults")
    scenario = root / "s.yaml"
    scenario.write_text(yaml.safe_dump(doc(TRIAL, **{"feed.n_patients": 120})))
    full = root / "full"
    res = crisis("-", "run", str(scenario), "--reps", str(REPS), "--out", str(full))
    assert res.returncode == 0, res.stderr
    return scenario, full


def stopped(scenario: Path, out: Path, k: int, *more: str) -> Path:
    """A run of REPS stopped after ``k`` saves; its store."""
    res = crisis(f"stop:{k}", "run", str(scenario), "--reps", str(REPS), "--out", str(out), *more)
    assert res.returncode == 130, res.stderr
    assert f"{k} of {REPS} replications saved" in res.stderr
    assert not out.exists()
    store = out.parent / f".{out.name}.partial"
    # the message names the hidden folder, and what is there says how to finish
    assert f"(in {store})" in res.stderr, res.stderr
    assert f"--resume {out}" in (store / "README.txt").read_text()
    return store


def batches(store: Path) -> list[Path]:
    return sorted((store / "reps").glob("[0-9]*"))


def test_resume_without_reps_finishes_the_run_that_was_started(files, tmp_path) -> None:
    scenario, full = files
    out = tmp_path / "run"
    stopped(scenario, out, 5)
    # the scenario's own default is 3 replications: the resume finishes the 12 started
    res = crisis("-", "run", str(scenario), "--resume", str(out))
    assert res.returncode == 0, res.stderr
    assert json.loads((out / "manifest.json").read_text())["replications"] == REPS
    assert_same_outputs(full, out)
    assert not (tmp_path / ".run.partial").exists() and not lock_path(out).exists()


def test_another_number_of_replications_on_resume_is_said(files, tmp_path) -> None:
    scenario, _ = files
    out = tmp_path / "run"
    stopped(scenario, out, 7)
    res = crisis("-", "run", str(scenario), "--resume", str(out), "--reps", "4")
    assert res.returncode == 0, res.stderr
    assert "resuming with 4 replications, not the 12 the run was started with" in res.stderr
    assert "3 saved replication(s) outside them are dropped" in res.stderr
    four = tmp_path / "four"
    assert crisis("-", "run", str(scenario), "--reps", "4", "--out", str(four)).returncode == 0
    assert_same_outputs(four, out)


def _damage(store: Path, how: str, other: Path) -> str:
    """Damage the saved work ``how``; the reason the resume must give."""
    first, second = batches(store)[:2]
    if how == "a table deleted":
        (second / "metrics.parquet").unlink()
        return "metrics.parquet is missing"
    if how == "a table truncated":
        f = second / "trial.parquet"
        f.write_bytes(f.read_bytes()[:100])
        return "trial.parquet has 100 bytes"
    if how == "a table changed":
        f = second / "patients.parquet"
        data = bytearray(f.read_bytes())
        data[len(data) // 2] ^= 0xFF
        f.write_bytes(bytes(data))
        return "patients.parquet is not the file saved"
    if how == "its record emptied":
        (first / "batch.json").write_text("")
        return "batch.json) is missing or unreadable"
    if how == "a batch of another run":
        shutil.copytree(batches(other)[0], store / "reps" / "0000099-feedbeef")
        return "it belongs to another run"
    assert how == "a batch saved twice"
    shutil.copytree(first, store / "reps" / f"{first.name[:8]}ffffffff")
    return "it holds replication(s) saved already (1)"


@pytest.mark.parametrize(
    "how",
    [
        "a table deleted",
        "a table truncated",
        "a table changed",
        "its record emptied",
        "a batch of another run",
        "a batch saved twice",
    ],
)
def test_damaged_or_foreign_saved_work_is_set_aside_and_run_again(files, tmp_path, how) -> None:
    scenario, full = files
    out = tmp_path / "run"
    store = stopped(scenario, out, 6)
    other = stopped(scenario, tmp_path / "other", 2, "--seed", "99")
    why = _damage(store, how, other)
    res = crisis("-", "run", str(scenario), "--resume", str(out))
    assert res.returncode == 0, res.stderr
    assert "set aside a saved batch" in res.stderr and why in res.stderr, res.stderr
    assert_same_outputs(full, out)


def test_one_writer_per_directory(files, tmp_path) -> None:
    scenario, full = files
    out = tmp_path / "run"
    store = stopped(scenario, out, 4)
    saved = sorted(p.name for p in batches(store))
    live = DirectoryLock(out, ["crisis-sim", "run", "live.yaml"]).acquire()  # a live run
    try:
        for args in (
            ["--resume", str(out)],  # a second resume
            ["--out", str(out), "--force", "--seed", "5"],  # a new run over it
            ["--out", str(out)],
        ):
            res = crisis("-", "run", str(scenario), *args)
            assert res.returncode == 2, res.stderr
            line = one_line(res)
            assert f"in use by a live crisis-sim, process {os.getpid()}" in line, line
            assert "crisis-sim run live.yaml" in line and f"kill {os.getpid()}" in line
        # the live run's saved work is untouched, and compare and psa are refused alike
        assert sorted(p.name for p in batches(store)) == saved
        res = crisis("-", "compare", str(scenario), str(scenario), "--out", str(out))
        assert res.returncode == 2 and "in use by a live crisis-sim" in res.stderr
    finally:
        live.release()
    # a lock left by a process that died is no lock: the kernel let it go
    lock_path(out).write_text(json.dumps({"pid": 999999999, "command": "crisis-sim run x"}))
    res = crisis("-", "run", str(scenario), "--resume", str(out))
    assert res.returncode == 0, res.stderr
    assert_same_outputs(full, out)
    assert not lock_path(out).exists()


def test_a_full_disk_mid_run_keeps_what_is_saved(files, tmp_path) -> None:
    scenario, full = files
    out = tmp_path / "run"
    res = crisis("enospc:4", "run", str(scenario), "--reps", str(REPS), "--out", str(out))
    assert res.returncode == 3, res.stderr
    line = one_line(res)
    assert "No space left on device" in line and f"4 of {REPS} replications are saved" in line
    assert f"once fixed, finish with: crisis-sim run {scenario} --resume {out}" in line
    store = tmp_path / ".run.partial"
    assert not out.exists() and len(batches(store)) == 4
    assert not list((store / "reps").glob(".*"))  # no half-written batch
    res = crisis("-", "run", str(scenario), "--resume", str(out))
    assert res.returncode == 0, res.stderr
    assert_same_outputs(full, out)


@pytest.mark.parametrize("elsewhere", [False, True], ids=["in place", "--out elsewhere"])
def test_a_full_disk_at_the_final_write_keeps_everything(files, tmp_path, elsewhere) -> None:
    scenario, full = files
    out = tmp_path / "run"
    res = crisis("final:28", "run", str(scenario), "--reps", str(REPS), "--out", str(out))
    assert res.returncode == 3, res.stderr
    line = one_line(res)
    assert "No space left on device" in line and f"{REPS} of {REPS} replications are saved" in line
    assert not out.exists() and not list(tmp_path.glob(".run.partial-*"))
    target = tmp_path / "elsewhere" if elsewhere else out
    more = ["--out", str(target)] if elsewhere else []
    res = crisis("-", "run", str(scenario), "--resume", str(out), *more)
    assert res.returncode == 0, res.stderr
    assert "resuming: 12 of 12" in res.stderr
    assert_same_outputs(full, target)
    assert not (tmp_path / ".run.partial").exists()
    assert out.exists() != elsewhere


def _mount_tmpfs(where: Path, size: str) -> bool:
    where.mkdir()
    try:
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
            capture_output=True,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def test_a_disk_that_fills_for_real_then_resume_after_freeing_it(files, tmp_path) -> None:
    scenario, _ = files
    disk = tmp_path / "small"
    if not _mount_tmpfs(disk, "2m"):
        pytest.skip("cannot mount a tmpfs here (not root, or no mount namespace)")
    try:
        out = disk / "run"
        args = ["run", str(scenario), "--reps", "40", "--events", "--out", str(out)]
        res = crisis("-", *args)
        assert res.returncode == 3, res.stderr
        line = one_line(res)
        assert "No space left on device" in line and "replications are saved" in line
        assert "once fixed, finish with:" in line and not out.exists()
        subprocess.run(["mount", "-o", "remount,size=64m", str(disk)], check=True, timeout=30)
        res = crisis("-", "run", str(scenario), "--resume", str(out), "--events")
        assert res.returncode == 0, res.stderr
        whole = tmp_path / "whole"
        res = crisis("-", "run", str(scenario), "--reps", "40", "--events", "--out", str(whole))
        assert res.returncode == 0, res.stderr
        assert_same_outputs(whole, out)
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True, timeout=30)


def test_names_that_cannot_be_made_are_refused_before_any_work(files, tmp_path) -> None:
    scenario, _ = files
    cases = [
        (tmp_path / ("r" * 245), "at most 238 here"),  # fits, but its temporary name would not
        (tmp_path / "/".join(["d" * 200] * 21), "a path of"),  # 4,232 characters
        (tmp_path / "s.txt" / "run", "it is a file, not a directory"),
    ]
    (tmp_path / "s.txt").write_text("not a directory")
    for out, why in cases:
        for command in (["run", str(scenario)], ["compare", str(scenario), str(scenario)]):
            res = crisis("-", *command, "--out", str(out))
            assert res.returncode == 3, res.stderr
            assert why in one_line(res), res.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.txt"]  # nothing was made


def test_a_place_that_refuses_writes_fails_in_a_second(files, tmp_path) -> None:
    scenario, _ = files
    out = tmp_path / "ro" / "cmp"
    for command in (["run", str(scenario)], ["compare", str(scenario), str(scenario)]):
        res = crisis("lock:30", *command, "--out", str(out))  # EROFS: a read-only file system
        assert res.returncode == 3, res.stderr
        line = one_line(res)
        assert "Read-only file system" in line and ".cmp.lock" in line
        assert not out.exists() and not (out.parent / ".cmp.partial").exists()


def test_report_to_a_place_that_refuses_writes_is_one_line(files, tmp_path) -> None:
    _, full = files
    copy = tmp_path / "copy"
    shutil.copytree(full, copy)
    injector = INJECTOR.replace(
        'if kind == "lock":',
        'if kind == "atomic":\n'
        "    def refuse_text(path, text):\n"
        "        raise OSError(int(k), os.strerror(int(k)), str(path))\n"
        "    sim.io.atomic_text = refuse_text\n"
        'if kind == "lock":',
    )
    res = subprocess.run(
        [sys.executable, "-c", injector, "atomic:13", "report", str(copy)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert res.returncode == 3 and "Permission denied" in one_line(res), res.stderr


def test_tables_are_in_replication_order_however_the_run_was_pieced_together(
    files, tmp_path
) -> None:
    scenario, full = files
    out = tmp_path / "run"
    store = stopped(scenario, out, 6)
    # replications 2 and 3 lost: the resume runs 2 alone (its first chunk measures), then
    # one big chunk, 3 and 6 to 11, which straddles the saved 4 and 5
    for b in batches(store):
        if b.name.startswith(("0000002-", "0000003-")):
            shutil.rmtree(b)
    res = crisis("big-chunks", "run", str(scenario), "--resume", str(out))
    assert res.returncode == 0, res.stderr
    assert_same_outputs(full, out)  # patients.parquet row for row


# the studies of several scenarios on the same replications: each saves them as it goes
STUDIES = {
    "compare": lambda s: ["compare", str(s), "--reps", str(REPS)],
    "sweep": lambda s: (
        ["sweep", str(s), "--set", "arms.1.effect.hazard_ratio=0.6,0.8"]
        + ["--reps", str(REPS), "--jobs", "1", "-q"]
    ),
    "power": lambda s: (
        ["power", str(s), "--n-per-arm", "40,60", "--reps", str(REPS)] + ["--jobs", "1", "-q"]
    ),
}


@pytest.mark.parametrize("study", list(STUDIES))
def test_a_study_of_several_scenarios_is_resumed_to_the_same_tables(files, tmp_path, study) -> None:
    scenario, _ = files
    args = STUDIES[study](scenario)
    full, out = tmp_path / "full", tmp_path / "out"
    res = crisis("-", *args, "--out", str(full))
    assert res.returncode == 0, res.stderr
    res = crisis("stop:5", *args, "--out", str(out))
    assert res.returncode == 130, res.stderr
    assert f"5 of {REPS} replications saved" in res.stderr and not out.exists()
    assert f"crisis-sim {study}" in res.stderr and f"--resume {out}" in res.stderr
    store = tmp_path / ".out.partial"
    (batches(store)[1] / "metrics.0.parquet").unlink()  # a damaged batch: set aside
    # the command it names, --reps left out: the resume finishes the study started
    res = crisis("-", *[a for a in args if a not in ("--reps", str(REPS))], "--resume", str(out))
    assert res.returncode == 0, res.stderr
    assert "set aside a saved batch (1 replication(s)): metrics.0.parquet is missing" in res.stderr
    assert f"resuming: 4 of {REPS} replications were saved" in res.stderr
    assert_same_outputs(full, out)
    assert not store.exists() and not lock_path(out).exists()
    # saved work of other scenarios is not resumed: a study is finished as it was started
    other = tmp_path / "other"
    assert crisis("stop:2", *args, "--out", str(other)).returncode == 130
    changed = tmp_path / "changed.yaml"
    changed.write_text(scenario.read_text().replace("seed: 11", "seed: 12"))
    res = crisis("-", *STUDIES[study](changed), "--resume", str(other))
    assert res.returncode == 2 and "another scenario, seed or options" in one_line(res)


def test_a_calibration_is_resumed_to_the_same_fit(tmp_path) -> None:
    d = doc(
        TRIAL,
        **{
            "feed.n_patients": 200,
            "competing": {},
            "readmission.baseline": {"dist": "exponential", "rate_per_day": 0.002},
            "arms.1.effect": {"mechanism": "none"},
            "calibration": {
                "replications": 10,
                "check_replications": 10,
                "max_evaluations": 8,
                "parameters": [
                    {"path": "readmission.baseline.rate_per_day", "lower": 0.0002, "upper": 0.01}
                ],
                "targets": [
                    {"statistic": "p_readmitted", "arm": "control", "value": 0.3, "tolerance": 0.01}
                ],
            },
        },
    )
    scenario = tmp_path / "s.yaml"
    scenario.write_text(yaml.safe_dump(d, sort_keys=False))
    args = ["calibrate", str(scenario), "--jobs", "1"]
    full, out = tmp_path / "full", tmp_path / "out"
    res = crisis("-", *args, "--out", str(tmp_path / "a.yaml"), "--dir", str(full))
    assert res.returncode == 0, res.stderr
    res = crisis("stop:3", *args, "--out", str(tmp_path / "b.yaml"), "--dir", str(out))
    assert res.returncode == 130 and "3 of 8 evaluations saved" in res.stderr, res.stderr
    assert not out.exists() and not (tmp_path / "b.yaml").exists()
    assert f"--resume {out}" in res.stderr
    res = crisis("-", *args, "--out", str(tmp_path / "b.yaml"), "--resume", str(out))
    assert res.returncode == 0, res.stderr
    assert "calibrate: resuming: 3 evaluation(s) were saved" in res.stderr
    # the fit (the notes differ: the calibrated files' comment blocks say when)
    for name in ("calibration.csv", "parameters.csv", "history.csv"):
        assert (full / name).read_text() == (out / name).read_text(), name
    a, b = (tmp_path / f"{x}.calibration.csv" for x in "ab")
    assert a.read_text() == b.read_text()
    assert not (tmp_path / ".out.partial").exists()


def test_the_disk_running_out_is_forecast_from_the_first_batches(tmp_path, monkeypatch) -> None:
    import warnings
    from collections import namedtuple

    import numpy as np
    import pandas as pd

    from sim.errors import CrisisSimWarning
    from sim.results import Batch
    from sim.store import ReplicationStore

    store = ReplicationStore(tmp_path / "run", "name: x\n", resume=False, force=False)
    store.expect(100)  # 100 replications, each saving about 1.6 MB (incompressible)
    usage = namedtuple("usage", "total used free")
    free = [10**9]
    monkeypatch.setattr("sim.store.shutil.disk_usage", lambda p: usage(0, 0, free[0]))
    rng = np.random.default_rng(1)

    def save(r: int) -> None:
        frame = pd.DataFrame({"replication": r, "x": rng.random(200_000)})
        store.save_batch(Batch([r], {"metrics": frame}))

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        save(0)  # the rest and the directory need ~1.6 * (99 * 2 + 1) = 320 MB: 1 GB is free
        assert not seen
        free[0] = 200 * 10**6  # now they will not fit: said after the 2nd batch, once
        save(1)
        save(2)
        save(3)
    said = [str(w.message) for w in seen if issubclass(w.category, CrisisSimWarning)]
    assert len(said) == 1, said
    assert "MB more disk" in said[0] and "200 MB is free" in said[0], said[0]
