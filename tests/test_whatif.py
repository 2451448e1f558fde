"""Policy what-ifs: common random numbers pay, capacity behaves, Little's law holds."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from helpers import SERVICE, cli, doc, scenario

from sim import api
from sim.studies import compare, parse_set, sweep

OFFER = {"n_sessions": 10}
EFFECT = {"mechanism": "itt", "hazard_ratio": 0.6, "window_days": 365}


def service(**changes):
    base = {
        "feed.discharges_per_week": 15,
        "feed.warm_up_days": 120,
        "feed.run_days": 365,
        "arms": [{"name": "usual"}, {"name": "peer", "peer_support": OFFER, "effect": EFFECT}],
    }
    base.update(changes)
    return scenario(SERVICE, **base)


def metric(result, arm: str, name: str) -> np.ndarray:
    m = result.metrics
    return m[(m["arm"] == arm) & (m["metric"] == name)]["value"].to_numpy(float)


def test_paired_ci_is_narrower_than_unpaired_for_an_offer_change() -> None:
    base = service(**{"arms": [{"name": "usual"}], "peer_workers.count": None})
    whatif = service(
        **{
            "arms": [{"name": "peer", "peer_support": OFFER, "effect": EFFECT}],
            "peer_workers.count": None,
        }
    )
    res = compare([base, whatif], replications=8, jobs=1)
    t = res.table.set_index(["metric", "policy"])
    for m in ("p_readmit_90d", "readmissions_per_100", "acute_days_per_patient"):
        ratio = t.loc[(m, "peer"), "paired_to_unpaired_ci"]
        assert ratio < 1, (m, ratio)
    assert any("Common random numbers" in n for n in res.notes)


@pytest.mark.slow
def test_capacity_moves_the_metrics_the_right_way() -> None:
    waits, lists = [], []
    for workers in (1, 2, 4, None):
        s = service(
            **{"peer_workers": {"count": workers, "caseload_per_worker": 5, "max_wait_days": 40}}
        )
        r = api.run(s, replications=3, jobs=1)
        waits.append(metric(r, "peer", "wait_days_mean").mean())
        lists.append(metric(r, "peer", "waiting_list_mean").mean())
        if workers == 1:  # one worker: the list grows and sessions start late
            assert lists[-1] > 10 and waits[-1] > 7
            assert metric(r, "peer", "p_started").mean() < 0.8
        if workers is None:  # ample workers: no one waits
            assert lists[-1] == 0 and waits[-1] == 0
    # more peer workers never lengthen the waiting list
    assert all(a >= b for a, b in zip(lists, lists[1:], strict=False)), lists
    # few ward beds: out-of-area placements appear; ample beds: none
    few = api.run(service(**{"acute_care.ward.capacity": 2}), replications=2, jobs=1)
    ample = api.run(service(**{"acute_care.ward.capacity": None}), replications=2, jobs=1)
    assert metric(few, "usual", "out_of_area_per_year").min() > 0
    assert metric(ample, "usual", "out_of_area_per_year").max() == 0
    assert metric(few, "usual", "ward_occupancy_peak").max() <= 2


@pytest.mark.statistical
def test_littles_law_on_the_ward() -> None:
    # a steady state: constant hazards, patients leave (death 3/yr), a long warm-up;
    # every readmission to an unlimited ward with exponential stays of mean 20 days.
    # L = lambda * W: mean beds occupied = ward admissions per day * mean stay.
    s = scenario(
        SERVICE,
        **{
            "feed": {
                "kind": "service",
                "discharges_per_week": 20,
                "warm_up_days": 730,
                "run_days": 730,
            },
            "readmission.baseline": {"dist": "exponential", "rate_per_day": 0.004},
            "competing": {"death_per_year": 3.0, "loss_to_follow_up_per_year": 0.0},
            "acute_care": {
                "p_ward": 1.0,
                "ward": {
                    "capacity": None,
                    "length_of_stay": {"dist": "exponential", "mean_days": 20},
                },
                "crt": {"length_of_stay": {"dist": "fixed", "days": 10}},
            },
            "arms": [{"name": "usual"}],
        },
    )
    r = api.run(s, replications=30, jobs=2)
    occupancy = metric(r, "usual", "ward_occupancy_mean")
    admissions_per_day = metric(r, "usual", "readmissions_per_year") / 365.25
    # a stay ends at discharge or death, whichever first: W = 1 / (1/20 + death rate)
    stay = 1.0 / (1.0 / 20.0 + 3.0 / 365.25)
    diff = occupancy - admissions_per_day * stay
    se = diff.std(ddof=1) / np.sqrt(len(diff))
    assert occupancy.mean() > 10
    assert abs(diff.mean()) <= 4 * se, (occupancy.mean(), (admissions_per_day * stay).mean(), se)


def test_parse_set() -> None:
    assert parse_set("peer_workers.count=1..4") == ("peer_workers.count", [1, 2, 3, 4])
    assert parse_set("x=0.5..0.7:0.1") == ("x", [0.5, 0.6, 0.7])
    assert parse_set("peer_workers.queue=fifo,risk") == ("peer_workers.queue", ["fifo", "risk"])
    from sim.config import ConfigError

    for bad in ("nothing", "x=", "x=5..1", "x=a..b"):
        with pytest.raises(ConfigError):
            parse_set(bad)


def test_sweep_grid_uses_common_random_numbers() -> None:
    s = service()
    res = sweep(
        s, [("peer_workers.count", [1, 3]), ("arms.peer.peer_support.n_sessions", [4, 8])], 2
    )
    summary, per_rep = res.summary, res.per_replication
    assert (
        len(
            summary[
                ["set:peer_workers.count", "set:arms.peer.peer_support.n_sessions"]
            ].drop_duplicates()
        )
        == 4
    )
    # usual care does not depend on peer workers or sessions: identical at every point
    usual = per_rep[(per_rep["arm"] == "usual") & (per_rep["metric"] == "p_readmit_90d")]
    assert usual.groupby("replication")["value"].nunique().max() == 1


def test_cli_compare_and_sweep(tmp_path: Path) -> None:
    base = tmp_path / "base.yaml"
    base.write_text(yaml.safe_dump(doc(SERVICE, replications=3, **{"feed.run_days": 200})))
    whatif = tmp_path / "more.yaml"
    whatif.write_text(
        "base: base.yaml\nname: more\npeer_workers:\n  count: 6\n"
        "arms:\n  - name: peer6\n    peer_support: {n_sessions: 10}\n"
    )
    out = tmp_path / "cmp"
    res = cli("compare", str(base), str(whatif), "--out", str(out), "--jobs", "1", timeout=300)
    assert res.returncode == 0, res.stderr
    assert {
        "compare.csv",
        "metrics.parquet",
        "notes.txt",
        "forest.png",
        "timeseries.parquet",
        "capacity.png",
    } <= {p.name for p in out.iterdir()}
    table = pd.read_csv(out / "compare.csv")
    assert set(table["policy"]) == {"control", "peer", "peer6"}
    assert "3 replications" in res.stdout
    # what it ran, from where: both files resolved, in order, and the manifest
    docs = list(yaml.safe_load_all((out / "scenario.resolved.yaml").read_text()))
    assert [d["arms"][-1]["name"] for d in docs] == ["peer", "peer6"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kind"] == "compare" and manifest["replications"] == 3
    assert manifest["scenarios"] == [d["name"] for d in docs]
    assert "manifest.json" in manifest["files"] and manifest["wall_seconds"] > 0
    sw = tmp_path / "sw"
    res = cli(
        "sweep",
        str(base),
        "--set",
        "peer_workers.count=1..2",
        "--out",
        str(sw),
        "--jobs",
        "1",
        "--report",
        timeout=300,
    )
    assert res.returncode == 0, res.stderr
    assert {p.name for p in sw.iterdir()} == {
        "sweep.csv",
        "sweep_metrics.parquet",
        "sweep.png",
        "sweep.svg",
        "manifest.json",
        "scenario.resolved.yaml",
        "scenario.notes.csv",
        "report.html",  # --report
    }
    assert "STRESS-DES" in (sw / "report.html").read_text(encoding="utf-8")
    manifest = json.loads((sw / "manifest.json").read_text())
    assert manifest["kind"] == "sweep" and manifest["replications"] >= 2, manifest
    assert manifest["sets"] and manifest["git_commit"] and manifest["versions"]["simpy"]
    bad = cli("sweep", str(base), "--set", "peer_workers.count=-1,2", timeout=120)
    assert bad.returncode == 2 and "peer_workers.count" in bad.stderr
    assert "Traceback" not in bad.stderr and len(bad.stderr.strip().splitlines()) == 1


def test_policies_of_the_same_name_get_distinct_labels() -> None:
    from sim.studies.compare import _policy_names

    s = scenario(SERVICE)
    labels = [label for _, _, label in _policy_names([s, s, s])]
    assert len(set(labels)) == len(labels) == 3 * len(s.arms), labels
    first = s.arms[0].name
    assert labels[0] == f"{s.name}:{first}"
    assert f"{s.name}:{first} (2)" in labels and f"{s.name}:{first} (3)" in labels
