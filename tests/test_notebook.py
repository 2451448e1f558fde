"""The example notebook runs as shipped, from a fresh kernel, and shows what it says."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]


def test_the_example_notebook_runs_from_a_fresh_kernel() -> None:
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(ROOT / "examples" / "first-study.ipynb", as_version=4)
    client = NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}
    )
    client.execute()  # raises CellExecutionError if a cell fails
    text = "\n".join(
        str(o.get("text") or o.get("data", {}).get("text/plain", ""))
        for cell in nb.cells
        if cell.cell_type == "code"
        for o in cell.outputs
    )
    assert "core-trial" in text and "readmitted within a year (%)" in text
    assert "waiting for a peer worker, mean:" in text
    assert not any(o.get("output_type") == "error" for c in nb.cells for o in c.get("outputs", []))
