"""What a PSA costs: parameter sets of the service scenario and its peer-support what-if.

    python benchmarks/bench_psa.py [--samples 1000] [--jobs 2]

The service baseline (usual care, and peer support from 4 workers) with its shipped
economics and uncertainty blocks (15 fields, 4 groups), against the what-if of 24
workers (scenarios/service-more-workers.yaml): three policies per set, one inner
replication each, on ``--jobs`` processes, no one-way analysis. It reports the wall
time, the cost per set against a plain replication of the same two files (``run`` of
each, timed on the same processes), and the time spent after the runs (the decision
table and the EVPPI of every field and group).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from sim import api
from sim.config import load_scenario
from sim.studies import decision_table, psa
from sim.studies.psa import evppi_table

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()

    base = load_scenario(ROOT / "scenarios" / "service-baseline.yaml")
    whatif = load_scenario(ROOT / "scenarios" / "service-more-workers.yaml")
    plain_reps = min(args.samples, 40)
    t0 = time.perf_counter()
    api.run(base, replications=plain_reps, jobs=args.jobs)
    api.run(whatif, replications=plain_reps, jobs=args.jobs)
    per_plain = (time.perf_counter() - t0) / plain_reps

    t0 = time.perf_counter()
    res = psa(base, samples=args.samples, replications=1, jobs=args.jobs, whatifs=(whatif,))
    t_runs = time.perf_counter() - t0
    t0 = time.perf_counter()
    decision_table(res)
    evppi_table(res)
    t_decision = time.perf_counter() - t0
    total = t_runs + t_decision
    per_set = t_runs / args.samples
    print(f"PSA of service-baseline + service-more-workers (3 policies), {args.samples} sets")
    print("x 1 replication,", end=" ")
    print(f"{args.jobs} processes:")
    print(f"  the sets' runs (simulation, tables, each set's scenario)  {t_runs:8.1f} s")
    print(f"  decision table and EVPPI                                 {t_decision:8.1f} s")
    print(f"  total                                                    {total:8.1f} s")
    print(f"  per set {per_set:.3f} s; a plain replication of both files {per_plain:.3f} s;")
    print(f"  ratio {per_set / per_plain:.2f} (target: at most 1.2)")


if __name__ == "__main__":
    main()
