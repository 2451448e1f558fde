"""What a PSA costs: parameter sets of the service scenario, both its policies.

    python benchmarks/bench_psa.py [--samples 1000] [--jobs 2]

The service baseline (usual care, and peer support from 4 workers), given the
illustrative economics and uncertainty blocks below (the shipped scenarios have none
yet: these numbers are for timing, not for a decision). One inner replication per set,
on ``--jobs`` processes. It reports the wall time, the cost per set against a plain
replication of the same file (``run``, timed on the same processes), and the time
spent after the runs (the decision table and EVPPI).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from sim import api
from sim.config import load_scenario, variant
from sim.studies import decision_table, psa
from sim.studies.psa import evppi_table

ROOT = Path(__file__).resolve().parents[1]

ECONOMICS = {
    "utilities": {
        name: {"value": value, "source": "illustrative, for timing only"}
        for name, value in (("community", 0.7), ("ward", 0.4), ("crt", 0.55))
    }
}
UNCERTAINTY = {
    "parameters": [
        {
            "dist": "ratio_ci",
            "path": "arms.peer_support.effect.hazard_ratio",
            "value": 0.71,
            "ci_low": 0.52,
            "ci_high": 0.97,
            "source": "CORE (Johnson et al. 2018), for timing",
        },
        {
            "dist": "gamma",
            "path": "costs.ward_bed_day",
            "mean": 719.10,
            "sd": 72.0,
            "source": "illustrative, for timing only",
        },
    ]
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()

    def prepared(name: str):
        s = load_scenario(ROOT / "scenarios" / name)
        return variant(s, {"economics": ECONOMICS, "uncertainty": UNCERTAINTY}, "benchmark")

    base = prepared("service-baseline.yaml")
    plain_reps = min(args.samples, 40)
    t0 = time.perf_counter()
    api.run(base, replications=plain_reps, jobs=args.jobs)
    per_plain = (time.perf_counter() - t0) / plain_reps

    t0 = time.perf_counter()
    res = psa(base, samples=args.samples, replications=1, jobs=args.jobs)
    t_runs = time.perf_counter() - t0
    t0 = time.perf_counter()
    decision_table(res)
    evppi_table(res)
    t_decision = time.perf_counter() - t0
    total = t_runs + t_decision
    per_set = t_runs / args.samples
    print(f"PSA of service-baseline (2 policies), {args.samples} sets x 1 replication,")
    print(f"{args.jobs} processes:")
    print(f"  the sets' runs (simulation, tables, each set's scenario)  {t_runs:8.1f} s")
    print(f"  decision table and EVPPI                                 {t_decision:8.1f} s")
    print(f"  total                                                    {total:8.1f} s")
    print(f"  per set {per_set:.3f} s; a plain replication {per_plain:.3f} s;")
    print(f"  ratio {per_set / per_plain:.2f} (target: at most 1.2)")


if __name__ == "__main__":
    main()
