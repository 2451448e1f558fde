"""The report page: built from the directory alone, fetching nothing, its STRESS-DES items
filled from the run's own manifest."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import yaml
from helpers import SERVICE, doc
from helpers import cli as _cli

from sim import report
from sim.config import scenario_from_dict


class _Page(HTMLParser):
    """What the tests read of a page: figures, links, sources and the checklist rows."""

    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []
        self.svgs = 0
        self.urls: list[str] = []
        self.rows: dict[str, list[str]] = {}
        self._row: str | None = None
        self._cells: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.images.append(a.get("src", ""))
        if tag == "svg":
            self.svgs += 1
        for key in ("src", "href", "data", "action"):
            if key in a and not str(a[key]).startswith("data:"):
                self.urls.append(a[key])
        if tag == "tr" and str(a.get("id", "")).startswith("stress-"):
            self._row, self._cells = a["id"].removeprefix("stress-"), []
        if tag == "td" and self._row:
            self._cells.append("")

    def handle_endtag(self, tag):
        if tag == "tr" and self._row:
            self.rows[self._row] = self._cells
            self._row = None

    def handle_data(self, data):
        self.text.append(data)
        if self._row and self._cells:
            self._cells[-1] += data


def _files(tmp_path: Path) -> tuple[Path, Path]:
    base = doc(
        SERVICE,
        **{"feed.run_days": 120, "peer_workers.count": 3, "description": "A test service."},
    )
    whatif = doc(SERVICE, **{"feed.run_days": 120, "peer_workers.count": 6, "name": "more"})
    whatif["arms"] = [{**whatif["arms"][1], "name": "peer_more"}]
    a, b = tmp_path / "base.yaml", tmp_path / "more.yaml"
    a.write_text(yaml.safe_dump(base, sort_keys=False))
    b.write_text(yaml.safe_dump(whatif, sort_keys=False))
    return a, b


def _read(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


ITEMS = [
    "1.1", "1.2", "1.3", "2.1", "2.2", "2.3", "2.4", "2.5.1", "2.5.2", "2.5.3", "2.5.4",
    "2.5.5", "3.1", "3.2", "3.3", "3.4", "4.1", "4.2", "4.3", "5.1", "5.2", "5.3", "5.4",
    "6.1",
]  # fmt: skip


def test_a_run_report_fills_the_checklist_from_its_manifest(tmp_path: Path) -> None:
    base, _ = _files(tmp_path)
    out = tmp_path / "run"
    assert _cli("run", str(base), "--reps", "2", "--out", str(out), "--jobs", "1").returncode == 0
    res = _cli("report", str(out))
    assert res.returncode == 0, res.stderr
    page = _read(out / "report.html")
    manifest = json.loads((out / "manifest.json").read_text())
    # every figure inline, nothing fetched: the only links are the directory's own files
    pngs = sorted(p.stem for p in out.glob("*.png"))
    assert pngs == sorted(p.stem for p in out.glob("*.svg"))  # every figure in both forms
    assert len(page.images) == len(pngs) > 0 and page.svgs == 0
    assert all(src.startswith("data:image/svg+xml;base64,") for src in page.images)
    assert page.urls and all((out / url).exists() for url in page.urls), page.urls
    # the checklist: every item, filled from the manifest where the run knows it
    assert list(page.rows) == ITEMS
    said = {k: v[-1] for k, v in page.rows.items()}
    assert f"Root seed {manifest['seed']}" in said["5.2"]
    assert f"{manifest['machine']['cpus']} CPUs" in said["5.4"]
    assert str(manifest["wall_seconds"]) in said["5.4"]
    assert manifest["git_commit"] in said["6.1"]
    assert f"{manifest['replications']} replications" in said["4.3"]
    assert f"simpy {manifest['versions']['simpy']}" in said["5.1"]
    assert said["1.1"] == "A test service."
    # this scenario carries no sources (no uncertainty, economics or published block)
    author = {k for k, v in said.items() if v == report.FOR_AUTHOR}
    assert author == {"2.1", "3.1", "3.2", "3.4"}, author
    # the scenario: a field set in the file is listed, one left at its default is not
    text = "".join(page.text)
    assert "peer_workers.count" in text and "peer_workers.queue" not in text


def test_a_compare_report_shows_each_whatifs_changes_and_the_answer(tmp_path: Path) -> None:
    base, more = _files(tmp_path)
    out = tmp_path / "cmp"
    args = ["compare", str(base), str(more), "--reps", "2", "--out", str(out), "--jobs", "1"]
    assert _cli(*args).returncode == 0
    path = report.write(out)
    page = _read(path)
    text = " ".join(page.text)
    assert "more against" in text and "peer_workers.count" in text
    # the answer: a table of each policy minus the baseline, in words
    assert "policy minus control" in text and "peer more" in text
    assert "readmissions per year" in text and "95% confidence interval" in text
    assert page.rows["1.3"][-1].startswith("Policies compared")


def test_scenario_fields_lists_what_differs_from_the_defaults() -> None:
    s = scenario_from_dict(doc(SERVICE, **{"peer_workers.max_wait_days": 30}))
    fields = {path: value for path, value, _ in report.scenario_fields(s)}
    assert fields["peer_workers.max_wait_days"] == 30
    assert fields["competing.loss_to_follow_up_per_year"] == 0.02  # set in the file
    assert "peer_workers.queue" not in fields  # at its default (fifo)
    assert fields["seed"] == s.seed  # required: always listed


def test_a_directory_without_a_manifest_is_refused_in_one_line(tmp_path: Path) -> None:
    res = _cli("report", str(tmp_path))
    assert res.returncode == 2 and "no manifest.json" in res.stderr
    assert "Traceback" not in res.stderr and not (tmp_path / "report.html").exists()


def test_a_figure_gives_the_same_svg_every_time() -> None:
    import matplotlib.pyplot as plt

    from sim import figures

    fig, ax = plt.subplots()
    ax.plot([0, 1, 2], [1, 0, 2], label="a")
    ax.legend()
    first, again = figures.svg(fig), figures.svg(fig)
    plt.close(fig)
    assert first == again and b"<svg" in first
    assert b"font-face" not in first and b"@import" not in first  # text drawn as paths


def test_a_trial_reports_answer_in_trial_terms(tmp_path: Path) -> None:
    import pandas as pd
    from helpers import TRIAL

    path = tmp_path / "trial.yaml"
    path.write_text(yaml.safe_dump(doc(TRIAL), sort_keys=False))
    out = tmp_path / "trial"
    args = ["run", str(path), "--reps", "3", "--out", str(out), "--jobs", "1", "--report"]
    assert _cli(*args).returncode == 0
    text = " ".join(_read(out / "report.html").text)
    t = pd.read_csv(out / "trial_summary.csv")
    h = t["horizon_days"].iloc[0]
    hr = t[(t["horizon_days"] == h) & (t["statistic"] == "hazard_ratio")].iloc[0]
    power = t[(t["horizon_days"] == h) & (t["statistic"] == "power_hr")].iloc[0]
    assert "over 3 simulated trials" in text
    assert f"median hazard ratio {hr['median']:.2f}" in text
    assert f"power (Cox) {power['mean']:.0%}" in text


def test_field_notes_give_each_fields_file_line_and_comment(tmp_path: Path) -> None:
    from sim.config import field_notes

    base = doc(SERVICE, **{"description": "x # not a comment"})
    text = yaml.safe_dump(base, sort_keys=False)
    text = text.replace(
        "peer_workers:\n", "# --- Workers ---\n# Four, from the rota.\npeer_workers:\n"
    )
    text = text.replace("  count: 2\n", "  count: 2   # ASSUMPTION (rota 2024)\n")
    (tmp_path / "b.yaml").write_text("# the file's own header\n" + text)
    (tmp_path / "w.yaml").write_text(
        "base: b.yaml\nname: w\npeer_workers:\n  count: 5  # what-if: five\n"
    )
    notes = {f: (file, line, note) for f, file, line, note in field_notes(tmp_path / "b.yaml")}
    lines = (tmp_path / "b.yaml").read_text().splitlines()
    file, line, note = notes["peer_workers.count"]
    assert (file, note) == ("b.yaml", "ASSUMPTION (rota 2024)")
    assert lines[line - 1].strip().startswith("count: 2")
    assert notes["peer_workers"][2] == "Workers Four, from the rota."  # the block above
    assert notes["name"][2] == ""  # the header is the file's, not its first key's
    assert notes["description"][2] == ""  # a quoted " #" is not a comment
    assert notes["arms.peer.effect.hazard_ratio"][0] == "b.yaml"  # a list item by its name
    what = {f: (file, note) for f, file, _, note in field_notes(tmp_path / "w.yaml")}
    assert what["peer_workers.count"] == ("w.yaml", "what-if: five")
    assert what["feed.run_days"][0] == "b.yaml"  # inherited: the base file set it


def test_the_scenario_section_shows_each_blocks_comment_once_with_its_line(
    tmp_path: Path,
) -> None:
    s = doc(SERVICE, **{"feed.run_days": 120})
    text = yaml.safe_dump(s, sort_keys=False).replace(
        "peer_workers:\n", "# Workers: ASSUMPTION, from the rota.\npeer_workers:\n"
    )
    path = tmp_path / "s.yaml"
    path.write_text(text)
    out = tmp_path / "run"
    assert _cli("run", str(path), "--reps", "2", "--out", str(out), "--jobs", "1").returncode == 0
    page = (out / "report.html").read_text() if (out / "report.html").exists() else None
    assert page is None  # --report not given: no page
    page = report.build(out)
    line = text.splitlines().index("peer_workers:") + 1
    assert page.count("Workers: ASSUMPTION, from the rota.") == 1
    assert f"[s.yaml, line {line}]" in page
    assert f"[s.yaml, line {line + 1}]" in page  # peer_workers.count, the next line


def test_calibrate_writes_a_study_directory_with_its_report(tmp_path: Path) -> None:
    from helpers import QUICK_CALIBRATION, TRIAL

    path = tmp_path / "c.yaml"
    d = doc(TRIAL, **{"calibration": QUICK_CALIBRATION})
    path.write_text(yaml.safe_dump(d, sort_keys=False))
    out = tmp_path / "study"
    args = ["calibrate", str(path), "--dir", str(out), "--report", "--jobs", "1", "-q"]
    res = _cli(*args)
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "c.calibrated.yaml").is_file()  # the calibrated scenario, as before
    names = {p.name for p in out.iterdir()}
    assert {
        "calibration.csv",
        "parameters.csv",
        "history.csv",
        "calibration.png",
        "calibration.svg",
        "scenario.resolved.yaml",
        "scenario.notes.csv",
        "manifest.json",
        "report.html",
    } <= names
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kind"] == "calibrate" and manifest["evaluations"] >= 1
    history = pd.read_csv(out / "history.csv")
    assert list(history.columns) == ["evaluation", "objective", "readmission.baseline.scale_days"]
    page = _read(out / "report.html")
    text = " ".join(page.text)
    met = int(pd.read_csv(out / "calibration.csv")["within_tolerance"].sum())
    assert f"{met} of 1 targets within tolerance" in text
    assert "readmission baseline: scale days" in text  # the fitted parameter, in words
    assert page.rows["1.3"][-1].startswith("Calibration of the scenario")


def _study_dir(tmp_path: Path, kind: str, name: str, table: pd.DataFrame) -> Path:
    out = tmp_path / kind
    out.mkdir()
    table.to_csv(out / name, index=False)
    (out / "manifest.json").write_text(json.dumps({"kind": kind, "seed": 1}))
    return out


def test_a_sweeps_answer_is_the_paired_difference_at_each_end(tmp_path: Path) -> None:
    rows = [
        {
            "set:peer_workers.count": n,
            "arm": arm,
            "metric": "p_readmit_365d",
            "mean": 0.3,
            "ci_low": 0.2,
            "ci_high": 0.4,
            "diff_mean": None if arm == "usual_care" else d,
            "diff_ci_low": None if arm == "usual_care" else d - 0.01,
            "diff_ci_high": None if arm == "usual_care" else d + 0.01,
            "change_mean": 0.0,
            "change_ci_low": 0.0,
            "change_ci_high": 0.0,
        }
        for n, d in ((2, -0.01), (8, -0.03))
        for arm in ("usual_care", "peer_support")
    ]
    page = report.build(_study_dir(tmp_path, "sweep", "sweep.csv", pd.DataFrame(rows)))
    assert "with peer workers: count, from 2 to 8?" in page
    assert (
        "Readmitted within a year: peer support minus usual care: -1 pp (-2 to +0) at 2, "
        "-3 pp (-4 to -2) at 8." in page
    )


def test_a_power_studys_answer_gives_the_size_that_reaches_80_percent(tmp_path: Path) -> None:
    t = pd.DataFrame(
        {
            "n_per_arm": [100, 200, 300],
            "arm": "peer",
            "test": "hazard ratio (Cox)",
            "power": [0.5, 0.81, 0.9],
            "ci_low": 0.0,
            "ci_high": 1.0,
            "replications": 100,
        }
    )
    page = report.build(_study_dir(tmp_path, "power", "power.csv", t))
    assert "power 50% at 100, 81% at 200, 90% at 300 per arm" in page
    assert "80% power from 200 per arm" in page
