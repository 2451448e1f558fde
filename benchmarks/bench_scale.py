"""How cost grows with size: patients per second and peak memory by number of discharges.

    python benchmarks/bench_scale.py [--sizes 10000 100000 1000000] [--events]
    python benchmarks/bench_scale.py --reps 10 --jobs 2 [--sizes 1000000]

One replication of the service baseline's peer-support policy, one process, each size
in a fresh Python process (so its peak memory is its own). The discharge rate is set so
that the run (two years, no warm-up) sees the given number of discharges; ward beds and
peer workers grow in proportion, so that queues stay as in the baseline. Events are off
unless ``--events``, which writes them in Parquet parts to a temporary directory, as
``crisis-sim run --events`` does. Peak memory is the process's maximum resident size;
"before the run" is that after imports and set-up (the libraries alone).

With ``--reps N`` (and ``--jobs J``), each size is instead a whole run of N
replications on J processes written to a run directory, as ``crisis-sim run`` does,
and the peak memory of the main process and of each worker is printed: the main
process holds the small tables only, the patients tables going to disk batch by batch.
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
    from sim.config import variant

    sc = _scenario(size)
    api.run(variant(sc, {"feed.run_days": 1}), 1, jobs=1)
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


def _scenario(size: int):
    from sim.config import load_scenario, scenario_from_dict

    base = load_scenario(ROOT / "scenarios" / "service-baseline.yaml")
    d = base.model_dump(mode="json")
    per_week = size * 7 / 730
    scale = per_week / d["feed"]["discharges_per_week"]
    d["feed"].update(discharges_per_week=per_week, warm_up_days=0, run_days=730)
    d["acute_care"]["ward"]["capacity"] = max(1, round(36 * scale))
    d["peer_workers"]["count"] = max(1, round(4 * scale))
    d["arms"] = [a for a in d["arms"] if a["name"] == "peer_support"]
    return scenario_from_dict(d)


def whole_run(size: int, reps: int, jobs: int) -> dict:
    """A run to a directory; peak memory of the main process and of each worker."""
    import multiprocessing
    import shutil
    import tempfile
    import threading

    from sim import studies

    peaks: dict[int, float] = {}
    stop = threading.Event()

    def watch() -> None:  # workers' peak resident size (VmHWM), sampled every second
        while not stop.wait(1.0):
            for child in multiprocessing.active_children():
                try:
                    status = Path(f"/proc/{child.pid}/status").read_text()
                except OSError:
                    continue
                for line in status.splitlines():
                    if line.startswith("VmHWM:"):
                        peaks[child.pid] = max(peaks.get(child.pid, 0), int(line.split()[1]) / 1024)

    where = Path(tempfile.mkdtemp()) / "run"
    threading.Thread(target=watch, daemon=True).start()
    t0 = time.perf_counter()
    studies.run_to_directory(_scenario(size), where, replications=reps, jobs=jobs)
    seconds = time.perf_counter() - t0
    stop.set()
    on_disk = (where / "patients.parquet").stat().st_size / 2**20
    shutil.rmtree(where.parent)
    return {
        "seconds": seconds,
        "main_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "worker_peaks_mb": sorted(peaks.values(), reverse=True),
        "patients_parquet_mb": on_disk,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--events", action="store_true", help="write the events in parts")
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--reps", type=int, help="a whole run of this many replications")
    ap.add_argument("--jobs", type=int, default=2, help="processes, with --reps")
    args = ap.parse_args()
    if args.reps:
        print(f"whole runs to a directory: {args.reps} replications on {args.jobs} processes")
        for size in args.sizes:
            r = whole_run(size, args.reps, args.jobs)
            workers = ", ".join(f"{m:,.0f}" for m in r["worker_peaks_mb"])
            print(
                f"{size:>12,} discharges a replication: {r['seconds']:.0f} s; peak memory: "
                f"main process {r['main_peak_mb']:,.0f} MB, workers {workers} MB; "
                f"patients.parquet {r['patients_parquet_mb']:,.0f} MB",
                flush=True,
            )
        return
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
