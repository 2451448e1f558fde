"""Fingerprints of every table the commands write, for proving a change changes no result.

Runs, through the command line and at each scenario's fixed seed, every shipped scenario
(``run``), a ``compare`` of the service policies, a ``sweep`` and a ``power`` study,
then prints one line per table file: its name and a hash of its contents (CSV bytes;
Parquet read back and hashed row by row with its column types, so file metadata does
not count). Figures, ``manifest.json`` (times, versions) and the run time printed are
left out.

    python tools/fingerprint_tables.py > before.txt
    ... change the code ...
    python tools/fingerprint_tables.py > after.txt && diff before.txt after.txt

``--keep DIR`` keeps the outputs there, to diff the tables themselves when a hash differs.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"

# (label, command arguments); replications kept small: identity, not precision, is checked
STUDIES = [
    ("core-trial", ["run", "scenarios/core-trial.yaml", "--reps", "30"]),
    ("core-trial-events", ["run", "scenarios/core-trial.yaml", "--reps", "4", "--events"]),
    ("core-trial-early-effect", ["run", "scenarios/core-trial-early-effect.yaml", "--reps", "30"]),
    ("service-baseline", ["run", "scenarios/service-baseline.yaml", "--reps", "3"]),
    ("service-more-sessions", ["run", "scenarios/service-more-sessions.yaml", "--reps", "3"]),
    ("service-more-workers", ["run", "scenarios/service-more-workers.yaml", "--reps", "3"]),
    ("service-reoffer", ["run", "scenarios/service-reoffer.yaml", "--reps", "3"]),
    ("service-targeted", ["run", "scenarios/service-targeted.yaml", "--reps", "3"]),
    ("enrich-design", ["run", "scenarios/enrich-design.yaml", "--reps", "20"]),
    (
        "compare",
        [
            "compare",
            "scenarios/service-baseline.yaml",
            "scenarios/service-more-workers.yaml",
            "--reps",
            "3",
        ],
    ),
    (
        "sweep",
        [
            "sweep",
            "scenarios/service-baseline.yaml",
            "--set",
            "peer_workers.count=2,6",
            "--reps",
            "2",
        ],
    ),
    ("power", ["power", "scenarios/core-trial.yaml", "--n-per-arm", "60,120", "--reps", "20"]),
]

SKIPPED = {"manifest.json"}


def fingerprint(path: Path) -> str:
    """A hash of a table file's contents (Parquet: its rows and column types, not metadata)."""
    if path.is_dir() or path.suffix == ".parquet":
        frame = pd.read_parquet(path)
        if path.is_dir():  # a partitioned event log: order by replication, part, row
            frame = frame.sort_values(
                ["replication", "arm", "patient_id", "episode", "time_days"], kind="stable"
            ).reset_index(drop=True)
        rows = pd.util.hash_pandas_object(frame, index=False).to_numpy()
        # the hash of a value does not see its type (1 as int32 or int64): the types too
        types = ",".join(f"{c}:{t}" for c, t in frame.dtypes.items())
        digest = hashlib.sha256(rows.tobytes() + types.encode())
    else:
        digest = hashlib.sha256(path.read_bytes())
    return digest.hexdigest()[:16]


def main() -> int:
    """Run every study and print ``label/file hash`` lines."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="Keep the outputs in this directory.")
    parser.add_argument("--only", help="Run only the study with this label.")
    args = parser.parse_args()
    base = args.keep or Path(tempfile.mkdtemp(prefix="fingerprints-"))
    base.mkdir(parents=True, exist_ok=True)
    for label, command in STUDIES:
        if args.only and label != args.only:
            continue
        out = base / label
        subprocess.run(
            [sys.executable, "-m", "sim", *command, "--out", str(out), "--force", "--jobs", "1"],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        for f in sorted(out.iterdir()):
            if f.name in SKIPPED or f.suffix == ".png":
                continue
            print(f"{label}/{f.name} {fingerprint(f)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
