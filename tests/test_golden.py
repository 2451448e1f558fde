"""Golden files: the tables of two tiny scenarios, pinned. Any change of behaviour shows
up here as a failing test, and, once meant, as a reviewed diff of tests/golden/ made by
``python tools/regen_golden.py`` (never by hand)."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden"
sys.path.insert(0, str(ROOT / "tools"))

from regen_golden import tables  # noqa: E402


@pytest.mark.parametrize("scenario", sorted(p.stem for p in GOLDEN.glob("*.yaml")))
def test_tables_match_the_golden_files(scenario: str) -> None:
    now = tables(GOLDEN / f"{scenario}.yaml")
    pinned = sorted(p.stem for p in (GOLDEN / scenario).glob("*.csv"))
    assert sorted(now) == pinned, "a table appeared or vanished: regenerate and review"
    for name, text in now.items():
        got = pd.read_csv(io.StringIO(text))
        want = pd.read_csv(GOLDEN / scenario / f"{name}.csv")
        # exact for names and counts; floats to 1e-12 relative, which forgives only a
        # library summing in another order, never a changed result
        pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-12, obj=name)
