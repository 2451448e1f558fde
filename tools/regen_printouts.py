"""What each command prints, pinned: the text users read, reviewed and kept in
tests/golden/printouts/.

Each command runs on a shipped scenario at its fixed seed, small enough to take
seconds; its standard output is kept with what differs between two runs of the same
code masked (wall times, the temporary directory it wrote). ``tests/test_printouts.py``
runs the same commands and compares, and checks that no line is wider than 100
columns and that no identifier (``p_readmit_365d``, ``peer_support``) is left where
words belong. After a change that is meant to change a printout::

    python tools/regen_printouts.py      # then review the diff of tests/golden/printouts/
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PINNED = ROOT / "tests" / "golden" / "printouts"
S = "scenarios"

# label -> arguments ("{out}": the command's output directory; the command runs in a
# temporary directory, so that its paths print short and the same every time)
COMMANDS: dict[str, list[str]] = {
    "run-trial": ["run", f"{S}/core-trial.yaml", "--reps", "12", "--out", "{out}"],
    "run-service": ["run", f"{S}/service-baseline.yaml", "--reps", "2", "--out", "{out}"],
    "run-one": ["run", f"{S}/core-trial.yaml", "--reps", "1", "--out", "{out}"],
    "compare": [
        "compare",
        f"{S}/service-baseline.yaml",
        f"{S}/service-more-workers.yaml",
        "--reps",
        "3",
        "--out",
        "{out}",
    ],
    "sweep": [
        "sweep",
        f"{S}/service-baseline.yaml",
        "--set",
        "peer_workers.count=2,6",
        "--reps",
        "2",
        "--out",
        "{out}",
    ],
    "power": [
        "power",
        f"{S}/core-trial.yaml",
        "--n-per-arm",
        "60,120",
        "--reps",
        "20",
        "--out",
        "{out}",
    ],
    "psa": [
        "psa",
        f"{S}/core-trial.yaml",
        "--samples",
        "4",
        "--reps",
        "2",
        "--dsa-reps",
        "2",
        "--out",
        "{out}",
    ],
    "dsa": ["dsa", f"{S}/core-trial.yaml", "--reps", "2", "--out", "{out}"],
    "calibrate": [
        "calibrate",
        f"{S}/core-trial.yaml",
        "--max-evals",
        "2",
        "--reps",
        "10",
        "--check-reps",
        "10",
        "--out",
        "{out}.calibrated.yaml",
        "--dir",
        "{out}",
    ],
}

_MASKS = [
    (re.compile(r"\b\d+\.\d s\b"), "T s"),  # wall times
]


def printout(label: str) -> str:
    """The command's standard output, masked (its output directory shown as OUT)."""
    with tempfile.TemporaryDirectory() as tmp:
        args = [
            str(ROOT / a) if a.startswith(f"{S}/") else a.replace("{out}", "out")
            for a in COMMANDS[label]
        ]
        env = {**os.environ, "PYTHONHASHSEED": "0", "PYTHONPATH": str(ROOT)}
        res = subprocess.run(
            [sys.executable, "-m", "sim", *args, "--jobs", "1", "-q"],
            cwd=tmp,
            capture_output=True,
            text=True,
            env=env,
            timeout=600,
        )
        if res.returncode != 0:
            raise RuntimeError(f"{label}: exit {res.returncode}\n{res.stderr}")
        text = res.stdout
    for pattern, repl in _MASKS:
        text = pattern.sub(repl, text)
    return text


def main() -> int:
    """Write every command's printout to tests/golden/printouts/LABEL.txt."""
    PINNED.mkdir(parents=True, exist_ok=True)
    for label in COMMANDS:
        path = PINNED / f"{label}.txt"
        path.write_text(printout(label), encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
