"""How cost grows with size: patients per second and peak memory by number of discharges.

    python benchmarks/bench_scale.py [--sizes 10000 100000 1000000] [--events]

One replication of the service baseline's peer-support policy, one process, each size
in a fresh Python process (so its peak memory is its own). The discharge rate is set so
that the run (two years, no warm-up) sees the given number of discharges; ward beds and
peer workers grow in proportion, so that queues stay as in the baseline. Events are off
unless ``--events``, which writes them in Parquet parts to a temporary directory, as
``crisis-sim run --events`` does. Peak memory is the process's maximum resident size;
"before the run" is that after imports and set-up (the libraries alone).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def one(size: int, events: bool) -> dict:
    import shutil
    import tempfile

    from sim import api
    from sim.config import load_scenario, scenario_from_dict

    base = load_scenario(ROOT / "scenarios" / "service-baseline.yaml")
    d = base.model_dump(mode="json")
    per_week = size * 7 / 730
    scale = per_week / d["feed"]["discharges_per_week"]
    d["feed"].update(discharges_per_week=per_week, warm_up_days=0, run_days=730)
    d["acute_care"]["ward"]["capacity"] = max(1, round(36 * scale))
    d["peer_workers"]["count"] = max(1, round(4 * scale))
    d["arms"] = [a for a in d["arms"] if a["name"] == "peer_support"]
    sc = scenario_from_dict(d)
    api.run(scenario_from_dict({**d, "feed": {**d["feed"], "run_days": 1}}), 1, jobs=1)
    base_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    where = Path(tempfile.mkdtemp()) if events else None
    t0 = time.perf_counter()
    result = api.run(sc, replications=1, jobs=1, events_dir=where)
    seconds = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    events_mb = 0.0
    if where is not None:
        events_mb = sum(f.stat().st_size for f in where.rglob("*.parquet")) / 2**20
        shutil.rmtree(where)
    return {
        "discharges": size,
        "patients": int(len(result.patients)),
        "seconds": seconds,
        "patients_per_second": size / seconds,
        "peak_memory_mb": peak_mb,
        "base_memory_mb": base_mb,
        "events_on_disk_mb": events_mb,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--events", action="store_true", help="write the events in parts")
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.events)))
        return
    print(f"events {'written in parts' if args.events else 'off'}")
    head = f"{'discharges':>12}{'seconds':>10}{'patients/s':>12}{'peak memory':>14}"
    print(head + f"{'before the run':>16}" + (f"{'events on disk':>16}" if args.events else ""))
    for size in args.sizes:
        out = subprocess.run(
            [sys.executable, __file__, "--one", str(size), *(["--events"] if args.events else [])],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        r = json.loads(out.strip().splitlines()[-1])
        line = (
            f"{size:>12,}{r['seconds']:>10.1f}{r['patients_per_second']:>12,.0f}"
            f"{r['peak_memory_mb']:>11,.0f} MB{r['base_memory_mb']:>13,.0f} MB"
        )
        if args.events:
            line += f"{r['events_on_disk_mb']:>13,.0f} MB"
        print(line, flush=True)


if __name__ == "__main__":
    main()
