"""The report in a real browser (headless Chromium, Debian's ``chromium``; .ci/run installs
it): every figure renders, the page fetches nothing, the console stays quiet.

Skipped where no Chromium is installed (CI installs it, so CI always runs it).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from helpers import SERVICE, doc

from sim import report

BROWSER = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(BROWSER is None, reason="no chromium installed")

# appended to a copy of the page: counts the figures that rendered with a size
_PROBE = """<script>
window.addEventListener("load", () => {
  const figs = [...document.querySelectorAll("figure.figure")];
  const ok = figs.filter((f) => {
    const img = f.querySelector("img"), svg = f.querySelector("svg");
    if (img) return img.complete && img.naturalWidth > 0 && img.getBoundingClientRect().width > 0;
    return svg && svg.getBoundingClientRect().width > 0;
  });
  document.body.setAttribute("data-rendered", ok.length + "/" + figs.length);
});
</script>"""


def _chromium(page: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            str(BROWSER),
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=5000",
            *args,
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


def _console(stderr: str) -> list[str]:
    """What the page said on the browser's console (CSP violations, script errors)."""
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


def _run_directory(tmp_path: Path) -> Path:
    s = doc(SERVICE, **{"feed.run_days": 120, "description": "A test service."})
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(s, sort_keys=False))
    out = tmp_path / "run"
    res = subprocess.run(
        [sys.executable, "-m", "sim", "run", str(path), "--reps", "2", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr
    report.write(out)
    return out


def test_the_report_renders_every_figure_offline_with_a_quiet_console(tmp_path: Path) -> None:
    out = _run_directory(tmp_path)
    page = out / "report.html"
    shot = tmp_path / "report.png"
    res = _chromium(page, "--hide-scrollbars", "--window-size=1200,3000", f"--screenshot={shot}")
    assert _console(res.stderr) == [], _console(res.stderr)
    assert shot.stat().st_size > 20_000  # a page with figures, not a blank one
    # the figures: a copy of the page with a probe allowed to run (the network still not)
    probe = tmp_path / "probe.html"
    text = page.read_text(encoding="utf-8").replace(
        "default-src 'none';", "default-src 'none'; script-src 'unsafe-inline';"
    )
    probe.write_text(text.replace("</body>", _PROBE + "</body>"), encoding="utf-8")
    res = _chromium(probe, "--dump-dom")
    rendered = re.search(r'data-rendered="(\d+)/(\d+)"', res.stdout)
    assert rendered, res.stdout[-500:]
    ok, total = map(int, rendered.groups())
    assert ok == total == len(list(out.glob("*.png"))) > 0


def test_the_browser_check_catches_a_page_that_fetches(tmp_path: Path) -> None:
    # the check can fail: the same page with an image from the network
    out = _run_directory(tmp_path)
    bad = tmp_path / "bad.html"
    text = (out / "report.html").read_text(encoding="utf-8")
    bad.write_text(text.replace("</body>", '<img src="http://example.com/x.png"></body>'))
    said = _console(_chromium(bad, "--dump-dom").stderr)
    assert any("example.com" in line for line in said), said
