"""Regenerate the golden tables of tests/test_golden.py: the only way they change.

    python tools/regen_golden.py          # rewrite tests/golden/<scenario>/*.csv
    git diff tests/golden                 # review: every changed number is a changed result

Run it only for a change that is meant to change results, and say why in the commit.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden"
sys.path.insert(0, str(ROOT))
from sim.results import RUN_TABLES as TABLES  # noqa: E402  (every table a run returns)


def tables(path: Path) -> dict[str, str]:
    """CSV text of every table of a serial run of the scenario at ``path``."""
    from sim.api import run
    from sim.config import load_scenario

    result = run(load_scenario(path), jobs=1)
    out = {}
    for name in TABLES:
        frame = getattr(result, name)
        if frame is not None:
            out[name] = frame.to_csv(index=False, lineterminator="\n")
    return out


def main() -> int:
    """Write each golden scenario's tables beside it."""
    for scenario in sorted(GOLDEN.glob("*.yaml")):
        where = GOLDEN / scenario.stem
        where.mkdir(exist_ok=True)
        for name, text in tables(scenario).items():
            (where / f"{name}.csv").write_text(text, encoding="utf-8")
            print(f"wrote {(where / f'{name}.csv').relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
