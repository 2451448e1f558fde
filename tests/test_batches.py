"""A chunk of replications travels and is saved as one batch: one frame a table.

Its tables must be exactly those of its replications' frames joined (values and column
types), whatever the scenario; chunks must come back in the order of the replications
asked for; and a resumed run whose new chunks straddle those saved before must give the
tables of an unbroken run.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from helpers import RESULT_TABLES, SERVICE, TRIAL, assert_same_results, scenario

from sim import api, runner
from sim.config import load_scenario
from sim.results import REPLICATION_TABLES, Batch

ROOT = Path(__file__).resolve().parents[1]

SCENARIOS = {
    "trial": scenario(TRIAL, **{"feed.n_patients": 80}),
    "trial with count and bed-day endpoints": scenario(
        TRIAL,
        **{
            "feed.n_patients": 80,
            "outcomes.endpoints": {"readmission_count": {}, "bed_days": {}},
        },
    ),
    "service": scenario(SERVICE),
    "core-trial.yaml": load_scenario(ROOT / "scenarios" / "core-trial.yaml"),
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_a_chunk_joined_at_once_is_its_replications_frames_joined(name: str) -> None:
    s = SCENARIOS[name]
    reps = [4, 2, 7]  # any order: the batch keeps it
    batch = api.replicate_chunk(s, reps)
    one_by_one = [api.replicate(s, r) for r in reps]
    assert batch.replications == reps
    for table in REPLICATION_TABLES:
        frames = [t[table] for t in one_by_one if t.get(table) is not None]
        if not frames:
            assert batch.get(table) is None, table
            continue
        expected = pd.concat(frames, ignore_index=True)
        pd.testing.assert_frame_equal(batch.get(table), expected, check_exact=True, obj=table)


def test_a_study_chunk_is_each_scenarios_replications_joined() -> None:
    a, b = SCENARIOS["service"], scenario(SERVICE, **{"peer_workers.count": 1})
    batches = api.replicate_many_chunk([a, b], [0, 1])
    one_by_one = [api.replicate_many([a, b], r) for r in (0, 1)]
    for i in (0, 1):
        for table in ("metrics", "timeseries"):
            expected = pd.concat([t[i][table] for t in one_by_one], ignore_index=True)
            pd.testing.assert_frame_equal(batches[i].get(table), expected, check_exact=True)


def _chunk_of(reps: list[int]) -> list[int]:
    return [r * 10 for r in reps]


@pytest.mark.parametrize("jobs", [1, 2])
def test_chunks_come_back_in_the_order_asked_and_each_is_handed_on(jobs: int) -> None:
    reps = [r + 10 * k for k in (2, 0, 1) for r in (5, 3, 9, 0, 7, 1, 8, 2, 6, 4)]
    handed: list[list[int]] = []
    counted: list[int] = []
    out = runner.run_chunks(
        _chunk_of,
        reps,
        jobs=jobs,
        progress=counted.append,
        on_results=lambda chunk, result: handed.append(chunk),
        chunk_seconds=1e-9,  # one replication a chunk after the first
    )
    assert [r for chunk, _ in out for r in chunk] == reps
    assert all(result == [r * 10 for r in chunk] for chunk, result in out)
    assert sorted(map(tuple, handed)) == sorted(tuple(chunk) for chunk, _ in out)
    assert sum(counted) == len(reps)


def test_a_resumed_run_whose_chunks_straddle_the_saved_ones_has_the_same_tables() -> None:
    s = SCENARIOS["trial"]
    whole = api.run(s, replications=8, jobs=1)
    saved = [api.replicate_chunk(s, [2, 3]), api.replicate_chunk(s, [6])]
    # serially a chunk is about a second's work: all that is left, [0, 1, 4, 5, 7], at once
    resumed = api.run(s, replications=8, jobs=1, saved=saved)
    assert_same_results(resumed, whole, (*RESULT_TABLES, "trial_summary"))
    # a saved batch with a replication not asked for is not used
    part = api.run(s, replications=[0, 1, 2], jobs=1, saved=saved)
    pd.testing.assert_frame_equal(part.trial, whole.trial[whole.trial["replication"] < 3])


def test_a_batch_of_frames_is_joined_as_they_are() -> None:
    a = pd.DataFrame({"replication": [0, 0], "x": [1.0, 2.0]})
    b = pd.DataFrame({"replication": [1], "x": [3.0]})
    batch = Batch.of([(0, {"t": a, "u": None}), (1, {"t": b, "u": None})])
    pd.testing.assert_frame_equal(batch.get("t"), pd.concat([a, b], ignore_index=True))
    assert batch.get("u") is None and batch.get("absent") is None
