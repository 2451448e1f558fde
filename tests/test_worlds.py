"""Studies simulate each distinct world once per replication, and get the same tables."""

from __future__ import annotations

import pandas as pd
import pytest
from helpers import ECONOMICS, SERVICE, TRIAL, assert_same_results, doc, scenario

from sim import api
from sim.config import scenario_from_dict, variant
from sim.model.engine import simulate_replication, world_keys
from sim.studies import compare, sweep


def _counting(monkeypatch) -> list[tuple[str, tuple[int, ...] | None]]:
    """Record each world the studies simulate: (scenario name, policies)."""
    calls: list[tuple[str, tuple[int, ...] | None]] = []
    real = api.stream_replication

    def counted(sc, replication, sink, *args, policies=None, **kw):
        calls.append((sc.name, None if policies is None else tuple(policies)))
        return real(sc, replication, sink, *args, policies=policies, **kw)

    monkeypatch.setattr(api, "stream_replication", counted)
    return calls


def test_a_sweep_simulates_an_untouched_policy_once_per_replication(monkeypatch) -> None:
    # the worker count changes the peer policy's world only: usual care is simulated once
    s = scenario(SERVICE, **{"costs": {"peer_worker_hour": 30.0}})
    calls = _counting(monkeypatch)
    res = sweep(s, [("peer_workers.count", [1, 2, 3])], replications=2, jobs=1)
    per_rep = res.per_replication
    assert sorted(calls) == sorted([(s.name, (0,))] * 2 + [(s.name, (1,))] * 6)
    # the same tables as each point run on its own; the cost of the workers, which
    # depends on the swept field, is counted at each point
    for count in (1, 2, 3):
        alone = api.run(variant(s, {"peer_workers.count": count}, "test"), 2, jobs=1)
        mine = per_rep[per_rep["set:peer_workers.count"] == count]
        pd.testing.assert_frame_equal(
            mine.drop(columns="set:peer_workers.count").reset_index(drop=True), alone.metrics
        )
    costs = per_rep[(per_rep["metric"] == "cost_total_per_year") & (per_rep["arm"] == "peer")]
    assert costs.groupby("set:peer_workers.count")["value"].mean().is_monotonic_increasing


def test_a_what_ifs_unchanged_baseline_is_simulated_once(monkeypatch) -> None:
    base = scenario(SERVICE)
    more = variant(base, {"name": "more-sessions", "arms.peer.peer_support.n_sessions": 12}, "t")
    calls = _counting(monkeypatch)
    res = compare([base, more], replications=2, jobs=1)
    # control alike in both files: 2 replications x (control, peer, peer with 12 sessions)
    assert len(calls) == 6
    policies = {"tiny-service:control", "tiny-service:peer", "more-sessions:control"}
    assert set(res.table["policy"]) == policies | {"more-sessions:peer"}
    both = res.metrics.pivot_table(
        index=["replication", "metric"], columns="policy", values="value", aggfunc="first"
    )
    pd.testing.assert_series_equal(
        both["tiny-service:control"], both["more-sessions:control"], check_names=False
    )


def test_run_many_gives_each_scenarios_run(monkeypatch) -> None:
    # services with and without economics, with a warm-up change (a new world), and a
    # trial with its endpoints and a cost change (the same world, other metrics)
    service = scenario(SERVICE, economics=ECONOMICS)
    points = [
        service,
        variant(service, {"costs": {"ward_bed_day": 400.0}}, "t"),
        variant(service, {"feed.warm_up_days": 30}, "t"),
        scenario(SERVICE),
    ]
    trial = scenario(TRIAL, **{"outcomes.endpoints.readmission_count": {}})
    trials = [trial, variant(trial, {"costs": {"ward_bed_day": 400.0}}, "t")]
    calls = _counting(monkeypatch)
    many = api.run_many([*points, *trials], 2, jobs=1)
    # the first service's two worlds serve the cost change; the warm-up change is new;
    # without economics the reduction keeps less, so the last service is new too; the
    # trial's one world serves both trials
    assert len(calls) == 2 * (2 + 2 + 2 + 1)
    for sc, got in zip([*points, *trials], many, strict=True):
        assert_same_results(
            got, api.run(sc, 2, jobs=1), ("metrics", "summary", "timeseries", "trial")
        )


@pytest.mark.parametrize(
    "change",
    [
        {"costs": {"ward_bed_day": 999.0}},
        {"outcomes.primary_horizon_days": 30},
        {"name": "renamed", "description": "another"},
        {"replications": 7},
        {"economics": ECONOMICS},
    ],
)
def test_fields_outside_a_worlds_key_change_no_event(change) -> None:
    # what world_keys leaves out must not change what the engine does
    s = scenario(SERVICE)
    other = variant(s, change, "t")
    assert world_keys(s) == world_keys(other)
    assert simulate_replication(s, 0)[1] == simulate_replication(other, 0)[1]


def test_a_policy_without_peer_support_ignores_workers_and_attendance() -> None:
    s = scenario(SERVICE)
    other = variant(s, {"peer_workers.count": 1, "attendance.p_never_engage": 0.5}, "t")
    a, b = world_keys(s), world_keys(other)
    assert a[0] == b[0] and a[1] != b[1]  # control alike; the peer policy not
    only_control = [e for e in simulate_replication(s, 0)[1] if e[0] == 0]
    assert only_control == [e for e in simulate_replication(other, 0)[1] if e[0] == 0]


def test_every_other_field_is_in_the_key() -> None:
    # a field a world depends on changes its key (a sample of each block)
    s = scenario(SERVICE)
    for change in (
        {"seed": 12},
        {"feed.discharges_per_week": 11},
        {"readmission.baseline.scale_days": 900},
        {"acute_care.p_ward": 0.6},
        {"competing.death_per_year": 0.03},
        {"population.frailty_variance": 0.5},
    ):
        assert world_keys(variant(s, change, "t")) != world_keys(s), change
    trial = scenario(TRIAL)
    changed = scenario_from_dict(doc(TRIAL, **{"arms.peer.effect.hazard_ratio": 0.5}))
    assert world_keys(changed) != world_keys(trial)


def test_a_calibrations_check_reuses_the_searchs_replications(tmp_path, monkeypatch) -> None:
    import yaml
    from helpers import QUICK_CALIBRATION

    from sim.studies import calibrate

    cal = {**QUICK_CALIBRATION, "replications": 10, "check_replications": 15}
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(doc(TRIAL, calibration=cal), sort_keys=False))
    calls: list[int] = []
    real = api.replicate

    def counted(sc, replication, *args, **kw):
        calls.append(replication)
        return real(sc, replication, *args, **kw)

    monkeypatch.setattr(api, "replicate", counted)
    res = calibrate(path, jobs=1)
    # 10 trials per evaluation, then only the check's 5 the search did not run
    assert len(calls) == 10 * len(res.history) + 5
    assert sorted(calls[-5:]) == [10, 11, 12, 13, 14]
