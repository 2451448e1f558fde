"""The report in a real browser (headless Chromium, Debian's ``chromium``; .ci/run installs
it): every figure renders, the page fetches nothing, the console stays quiet.

Skipped where no Chromium is installed (CI installs it, so CI always runs it).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from helpers import ECONOMICS, QUICK_CALIBRATION, SERVICE, TRIAL, cli, doc

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


def _write(path: Path, d: dict, comment: str = "") -> Path:
    path.write_text(comment + yaml.safe_dump(d, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def studies(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One small output directory of every kind, each with its report (--report)."""
    tmp = tmp_path_factory.mktemp("studies")
    service = _write(
        tmp / "s.yaml",
        doc(SERVICE, **{"feed.run_days": 120, "description": "A test service."}),
        "# a comment the report shows as the source of what follows\n",
    )
    more = _write(
        tmp / "more.yaml", {"base": "s.yaml", "name": "more", "peer_workers": {"count": 4}}
    )
    trial = _write(tmp / "t.yaml", doc(TRIAL, **{"feed.n_patients": 100}))
    priced = _write(
        tmp / "p.yaml",
        doc(
            SERVICE,
            **{
                "feed.run_days": 120,
                "economics": ECONOMICS,
                "costs": {},
                "uncertainty": {
                    "parameters": [
                        {
                            "dist": "gamma",
                            "path": "costs.ward_bed_day",
                            "mean": 700,
                            "sd": 100,
                            "source": "test",
                        }
                    ]
                },
            },
        ),
    )
    calibrated = _write(
        tmp / "c.yaml", doc(TRIAL, **{"feed.n_patients": 100, "calibration": QUICK_CALIBRATION})
    )
    commands = {
        "run-trial": ["run", str(trial), "--reps", "3"],
        "run-service": ["run", str(service), "--reps", "2"],
        "compare": ["compare", str(service), str(more), "--reps", "2"],
        "sweep": ["sweep", str(service), "--set", "peer_workers.count=1..2", "--reps", "2"],
        "power": ["power", str(trial), "--n-per-arm", "30,60", "--reps", "10"],
        "psa": ["psa", str(priced), "--samples", "4", "--dsa-reps", "1"],
        "calibrate": ["calibrate", str(calibrated), "--out", str(tmp / "c.fit.yaml")],
    }
    out = {}
    for kind, args in commands.items():
        where = tmp / kind
        flag = "--dir" if kind == "calibrate" else "--out"
        res = cli(*args, flag, str(where), "--report", "--jobs", "1", "-q")
        assert res.returncode == 0, (kind, res.stderr)
        out[kind] = where
    return out


@pytest.mark.parametrize(
    "kind", ["run-trial", "run-service", "compare", "sweep", "power", "psa", "calibrate"]
)
def test_each_kind_of_report_renders_every_figure_offline_with_a_quiet_console(
    kind: str, studies: dict[str, Path], tmp_path: Path
) -> None:
    out = studies[kind]
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
    assert ok == total == len(list(out.glob("*.svg"))) == len(list(out.glob("*.png"))) > 0


def test_the_browser_check_catches_a_page_that_fetches(
    studies: dict[str, Path], tmp_path: Path
) -> None:
    # the check can fail: the same page with an image from the network
    bad = tmp_path / "bad.html"
    text = (studies["run-service"] / "report.html").read_text(encoding="utf-8")
    bad.write_text(text.replace("</body>", '<img src="http://example.com/x.png"></body>'))
    said = _console(_chromium(bad, "--dump-dom").stderr)
    assert any("example.com" in line for line in said), said


def test_a_report_prints_to_a4(studies: dict[str, Path], tmp_path: Path) -> None:
    pdf = tmp_path / "report.pdf"
    _chromium(studies["compare"] / "report.html", "--no-pdf-header-footer", f"--print-to-pdf={pdf}")
    data = pdf.read_bytes()
    boxes = re.findall(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", data)
    assert boxes, "no pages"
    # A4 is 210 x 297 mm: 595 x 842 points
    assert all(abs(float(w) - 595.3) < 1.5 and abs(float(h) - 841.9) < 1.5 for w, h in boxes)
