"""Parallel efficiency on this machine and the Dask overhead against local processes.

    python benchmarks/bench_parallel.py [--reps 3000]

Runs the same replications of the core-trial scenario (simulation and tables, as
``crisis-sim run`` does, without writing files) serially, on local processes (one per
core) and on a local Dask cluster (one worker process per core), and prints the wall
times, the speed-up, the parallel efficiency (speed-up / processes) and Dask's time
over local processes. The default (3,000 trials) is a run of about 80 s serially.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from sim import api
from sim.config import load_scenario
from sim.runner import Dask, default_jobs

ROOT = Path(__file__).resolve().parents[1]


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=3000)
    args = ap.parse_args()
    sc = load_scenario(ROOT / "scenarios" / "core-trial.yaml")
    jobs = default_jobs()
    api.run(sc, replications=2, jobs=1)  # imports
    serial = timed(lambda: api.run(sc, replications=args.reps, jobs=1))
    processes = timed(lambda: api.run(sc, replications=args.reps, jobs=jobs))
    dask = timed(lambda: api.run(sc, replications=args.reps, dask=Dask(workers=jobs)))
    print(f"core-trial, {args.reps} replications, {jobs} cores")
    print(f"  serial              {serial:7.1f} s")
    for name, t in (("local processes", processes), ("Dask LocalCluster", dask)):
        print(
            f"  {name:<19} {t:7.1f} s   speed-up {serial / t:4.2f}   "
            f"efficiency {serial / t / jobs:5.1%}"
        )
    print(
        f"  Dask / processes    {dask / processes:7.2f}   ({dask - processes:+.1f} s: cluster "
        "start-up and scheduling)"
    )


if __name__ == "__main__":
    main()
