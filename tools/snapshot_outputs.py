"""Every command's output, for proving a change of structure changes nothing a user sees.

Runs each command the package has (``run`` of every shipped scenario, with and without
events; ``compare``, ``sweep``, ``power``, ``psa``, ``calibrate``, each with
``--report``; ``report`` again on each directory; ``validate``, ``schema``; and a few
refusals) at fixed seeds, then prints one line per thing a user sees: each file of each
output directory (figures and ``report.html`` included; Parquet by its rows and column
types) and each command's printout and exit code, as a hash.

What differs between two runs of the same code is masked first: start times, wall
times, the git commit and the machine (``manifest.json``, ``report.html``, the
printouts' ``N.N s``). Everything else must be byte for byte the same::

    python tools/snapshot_outputs.py --keep /tmp/before > before.txt
    ... change the code ...
    python tools/snapshot_outputs.py --keep /tmp/after > after.txt && diff before.txt after.txt

Output directories are named the same in both runs (``--keep`` decides where), since
printouts and reports name them. Every command runs with ``PYTHONHASHSEED=0``: the SVG
of compare's forest plot is not the same under every hash seed (its clip-path ids move
in the last bits of the layout; the PNG does not), so the seed is fixed for both runs.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fingerprint_tables import fingerprint  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONHASHSEED": "0"}

# (label, arguments, whether it writes an output directory: at --out, or where the
# arguments say "{out}")
COMMANDS: list[tuple[str, list[str], bool]] = [
    ("run-core-trial", ["run", "scenarios/core-trial.yaml", "--reps", "12", "--report"], True),
    ("run-core-events", ["run", "scenarios/core-trial.yaml", "--reps", "3", "--events"], True),
    ("run-early", ["run", "scenarios/core-trial-early-effect.yaml", "--reps", "8"], True),
    ("run-enrich", ["run", "scenarios/enrich-design.yaml", "--reps", "8", "--report"], True),
    ("run-service", ["run", "scenarios/service-baseline.yaml", "--reps", "2", "--report"], True),
    ("run-targeted", ["run", "scenarios/service-targeted.yaml", "--reps", "2"], True),
    ("run-reoffer", ["run", "scenarios/service-reoffer.yaml", "--reps", "2"], True),
    (
        "compare",
        [
            "compare",
            "scenarios/service-baseline.yaml",
            "scenarios/service-more-workers.yaml",
            "scenarios/service-more-sessions.yaml",
            "--reps",
            "3",
            "--report",
        ],
        True,
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
            "--report",
        ],
        True,
    ),
    (
        "power",
        ["power", "scenarios/core-trial.yaml", "--n-per-arm", "60,120", "--reps", "20", "--report"],
        True,
    ),
    (
        "psa",
        [
            "psa",
            "scenarios/service-baseline.yaml",
            "scenarios/service-more-workers.yaml",
            "--samples",
            "6",
            "--reps",
            "2",
            "--dsa-reps",
            "1",
            "--report",
        ],
        True,
    ),
    (
        "psa-trial",
        ["psa", "scenarios/core-trial.yaml", "--samples", "4", "--dsa-reps", "0"],
        True,
    ),
    (
        "calibrate",
        [
            "calibrate",
            "scenarios/core-trial.yaml",
            "--max-evals",
            "2",
            "--reps",
            "10",
            "--check-reps",
            "10",
            "--jobs",
            "1",
            "--out",
            "{out}.calibrated.yaml",
            "--dir",
            "{out}",
            "--report",
        ],
        True,
    ),
    ("validate", ["validate", "scenarios/service-baseline.yaml"], False),
    ("schema", ["schema"], False),
    ("schema-partial", ["schema", "--partial"], False),
    ("bad-file", ["run", "scenarios/nope.yaml"], False),
    ("bad-reps", ["run", "scenarios/core-trial.yaml", "--reps", "0"], False),
    ("bad-power", ["power", "scenarios/service-baseline.yaml", "--n-per-arm", "10"], False),
]

_MASKS = [
    (re.compile(r'"(started|wall_seconds|git_commit|machine|hostname)": [^,\n]*(\{[^}]*\})?'), "T"),
    (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?([+-]\d\d:\d\d)?"), "T"),
    (re.compile(r"\b\d+\.\d+ s\b"), "T s"),
    (re.compile(r"wall time [0-9.]+ s"), "wall time T s"),
    (re.compile(r"git [0-9a-f]{7,40}([+-]dirty)?|git commit [0-9a-f]{7,40}([+-]dirty)?"), "git G"),
    (re.compile(r"\b[0-9a-f]{40}([+-]dirty)?\b"), "G"),
]


def masked(data: bytes) -> bytes:
    """The bytes with times, commits and the machine masked."""
    text = data.decode("utf-8", errors="surrogateescape")
    for pattern, repl in _MASKS:
        text = pattern.sub(repl, text)
    return text.encode("utf-8", errors="surrogateescape")


def digest(path: Path) -> str:
    """A file's hash: Parquet (and event directories) by content, text masked, else bytes."""
    if path.is_dir() or path.suffix == ".parquet":
        return fingerprint(path)
    data = path.read_bytes()
    if path.suffix in {".json", ".html", ".yaml"}:
        data = masked(data)
    return hashlib.sha256(data).hexdigest()[:16]


def main() -> int:
    """Run every command and print ``label/what hash`` lines."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, required=True, help="Where the outputs go.")
    parser.add_argument("--only", help="Run only the command with this label.")
    args = parser.parse_args()
    base = args.keep.resolve()
    base.mkdir(parents=True, exist_ok=True)
    for label, command, writes in COMMANDS:
        if args.only and label != args.only:
            continue
        out = base / label
        shutil.rmtree(out, ignore_errors=True)
        placed = [a.replace("{out}", str(out)) for a in command]
        extra = ["--out", str(out), "--jobs", "1"] if writes and placed == command else []
        res = subprocess.run(
            [sys.executable, "-m", "sim", *placed, *extra],
            cwd=ROOT,
            env=ENV,
            capture_output=True,
        )
        for stream, data in (("stdout", res.stdout), ("stderr", res.stderr)):
            (base / f"{label}.{stream}").write_bytes(masked(data))
            print(f"{label}/{stream} {hashlib.sha256(masked(data)).hexdigest()[:16]}")
        print(f"{label}/exit {res.returncode}", flush=True)
        if writes and out.is_dir():
            for f in sorted(out.parent.glob(f"{label}.calibrated*")):
                print(f"{label}/{f.name} {digest(f)}")
            if (out / "report.html").is_file():  # as --report wrote it
                print(f"{label}/report.html(--report) {digest(out / 'report.html')}")
            if res.returncode == 0:  # the report again, from the directory alone
                again = subprocess.run(
                    [sys.executable, "-m", "sim", "report", str(out)],
                    cwd=ROOT,
                    env=ENV,
                    capture_output=True,
                )
                print(f"{label}/report-again exit {again.returncode}")
            for f in sorted(out.iterdir()):
                print(f"{label}/{f.name} {digest(f)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
