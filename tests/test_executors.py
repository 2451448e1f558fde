"""Serial, local processes and Dask give the same tables, table for table (issue 5)."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from helpers import (
    ECONOMICS,
    SERVICE,
    TRIAL,
    assert_same_outputs,
    assert_same_results,
    cli,
    doc,
    scenario,
)

from sim import api
from sim.runner import Dask

pytestmark = pytest.mark.slow
distributed = pytest.importorskip("dask.distributed")

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
from regen_golden import TABLES  # noqa: E402  (every table a run returns)

# the trial with every endpoint, a fixed programme and an arm's own stays, so that the
# tables they add are held to the same rule
EMULATION = doc(
    TRIAL,
    **{
        "outcomes.endpoints": {"readmission_count": {}, "bed_days": {"test": "mann_whitney"}},
        "outcomes.published": {
            "source": "test",
            "figures": [{"statistic": "bed_days_mean", "arm": "control", "value": 9, "sd": 20}],
        },
        "arms.peer.peer_support": {"schedule": "fixed", "n_sessions": 20},
        "arms.peer.acute_care": {"ward": {"length_of_stay": {"dist": "fixed", "days": 12}}},
    },
)


@pytest.fixture(scope="module")
def cluster():
    """A local Dask cluster on the loopback interface, two worker processes."""
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as c:
        yield c


@pytest.mark.parametrize(
    "base", [TRIAL, SERVICE, EMULATION], ids=["trial", "service", "trial-emulation"]
)
def test_serial_processes_and_dask_agree(cluster, base: dict) -> None:
    s = scenario(base)
    serial = api.run(s, replications=6, jobs=1)
    processes = api.run(s, replications=6, jobs=2)
    on_dask = api.run(s, replications=6, dask=Dask(address=cluster.scheduler_address))
    assert_same_results(serial, processes, TABLES)
    assert_same_results(serial, on_dask, TABLES)


def test_cli_dask_workers_writes_the_same_files(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump(doc(TRIAL, replications=5)))
    for name, extra in (("serial", ["--jobs", "1"]), ("dask", ["--dask-workers", "2"])):
        res = cli("run", str(path), "--out", str(tmp_path / name), *extra, timeout=300)
        assert res.returncode == 0, res.stderr
    assert_same_outputs(tmp_path / "serial", tmp_path / "dask")


def test_a_psa_and_its_one_way_analysis_on_dask_give_the_serial_tables(cluster) -> None:
    from sim.studies.psa import psa

    econ = ECONOMICS
    unc = {
        "parameters": [
            {"dist": "gamma", "path": "costs.ward_bed_day", "mean": 700, "sd": 90, "source": "t"}
        ]
    }
    s = scenario(
        SERVICE, **{"feed.run_days": 150, "economics": econ, "costs": {}, "uncertainty": unc}
    )
    serial = psa(s, samples=4, replications=2, jobs=1)
    on_dask = psa(s, samples=4, replications=2, dask=Dask(address=cluster.scheduler_address))
    pd.testing.assert_frame_equal(serial.table, on_dask.table)
    pd.testing.assert_frame_equal(serial.per_replication, on_dask.per_replication)
    # and the one-way analysis
    from sim.studies.dsa import dsa

    serial = dsa(s, replications=2, jobs=1)
    on_dask = dsa(s, replications=2, dask=Dask(address=cluster.scheduler_address))
    pd.testing.assert_frame_equal(serial.table, on_dask.table)
    pd.testing.assert_frame_equal(serial.tornado, on_dask.tornado)


def test_a_sweep_on_processes_and_dask_gives_the_serial_tables(cluster) -> None:
    # a study's replication runs every point, each distinct world once (sim.api.run_many)
    from sim.studies import sweep

    s = scenario(SERVICE, **{"feed.run_days": 150})
    grid = [("peer_workers.count", [1, 3])]
    serial = sweep(s, grid, replications=4, jobs=1)
    processes = sweep(s, grid, replications=4, jobs=2)
    on_dask = sweep(s, grid, replications=4, dask=Dask(address=cluster.scheduler_address))
    for name in ("summary", "per_replication"):
        a, b, c = (getattr(r, name) for r in (serial, processes, on_dask))
        pd.testing.assert_frame_equal(a, b)
        pd.testing.assert_frame_equal(a, c)
