"""The library does all the command line does: variants through one door, a run to a
directory that resumes, errors a caller can catch, plots a notebook can compose."""

from __future__ import annotations

import ast
from pathlib import Path

import pandas as pd
import pytest
from helpers import TRIAL, assert_same_outputs, assert_same_results, scenario
from matplotlib.figure import Figure

from sim import api, errors, plots, runner, studies
from sim.config import ConfigError, load_scenario, variant
from sim.studies.run import OUTPUT_FILES, Run

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted((ROOT / "scenarios").glob("*.yaml"))


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_a_variant_that_changes_nothing_is_the_same_scenario(path: Path) -> None:
    s = load_scenario(path)
    assert variant(s, {"seed": s.seed}) == s
    assert variant(s, {"seed": 7}).seed == 7 and variant(s, {"seed": 7}) != s


def test_a_variant_is_validated_and_its_error_names_the_path() -> None:
    s = scenario(TRIAL)
    with pytest.raises(ConfigError) as info:
        variant(s, {"attendance.p_never_engage": 1.5}, "--set attendance.p_never_engage=1.5")
    message = str(info.value)
    assert message.startswith("--set attendance.p_never_engage=1.5: attendance.p_never_engage")
    assert "less than or equal to 1" in message
    with pytest.raises(ConfigError, match="peer_workers.cuont: the scenario has no field 'cuont'"):
        variant(s, {"peer_workers.cuont": 3}, "--set")
    # list items by name or by index, and a mapping replaces a whole field
    v = variant(s, {"arms.peer.effect.hazard_ratio": 0.5, "arms.0.description": "usual care"})
    assert v.arms[1].effect.hazard_ratio == 0.5 and v.arms[0].description == "usual care"
    v = variant(s, {"feed.allocation": {"control": 2, "peer": 1}})
    assert dict(v.feed.allocation) == {"control": 2, "peer": 1}


def test_nothing_in_sim_copies_a_scenario_around_the_validation() -> None:
    """``model_copy(update=...)`` skips validation: variants go through ``variant``."""
    for path in (ROOT / "sim").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr == "model_copy":
                pytest.fail(f"{path.relative_to(ROOT)}:{node.lineno}: model_copy")


def test_every_error_is_a_crisis_sim_error() -> None:
    for name in errors.__all__:
        cls = getattr(errors, name)
        if name == "Stopped":  # a signal, handled wherever Ctrl-C is
            assert issubclass(cls, KeyboardInterrupt)
        elif name != "CrisisSimWarning":
            assert issubclass(cls, errors.CrisisSimError), name
    assert issubclass(errors.CrisisSimWarning, UserWarning)
    assert issubclass(ConfigError, errors.UserError) and issubclass(ConfigError, ValueError)
    assert str(errors.UserError("a\nb\x1b[31m")) == "a\\nb\\x1b[31m"  # one line, no escapes


def test_run_to_directory_resumes_after_an_interruption(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = variant(scenario(TRIAL, **{"feed.n_patients": 60}), {"replications": 12})
    whole = studies.run_to_directory(s, tmp_path / "whole", jobs=1).result
    # serially a chunk is about a second's work: here one replication, so that the stop
    # below falls between chunks (what a stop loses is the chunk it falls in)
    monkeypatch.setattr(runner, "_SERIAL_BATCH_SECONDS", 1e-9)
    assert whole.out == tmp_path / "whole" and whole.resumed == 0

    calls = []

    def stop_after_four(n: int) -> None:
        calls.append(n)
        if sum(calls) >= 4:
            raise KeyboardInterrupt

    out = tmp_path / "stopped"
    with pytest.raises(errors.RunInterrupted) as info:
        studies.run_to_directory(s, out, jobs=1, progress=stop_after_four)
    assert info.value.saved == 4 and info.value.total == 12 and info.value.out == out
    assert not out.exists()
    with pytest.raises(errors.OutputExists, match="interrupted run is saved there"):
        studies.run_to_directory(s, out, jobs=1)
    lines: list[str] = []
    again = studies.run_to_directory(s, out, jobs=1, resume=True, report=lines.append).result
    assert again.resumed == 4 and lines == ["resuming: 4 of 12 replications were saved"]
    assert_same_results(again, whole, ("metrics", "summary", "trial", "attendance", "timeseries"))
    assert again.patients is None and whole.patients is None  # never held whole: on disk
    pd.testing.assert_frame_equal(
        pd.read_parquet(out / "patients.parquet"),
        pd.read_parquet(tmp_path / "whole" / "patients.parquet"),
    )
    in_memory = api.run(s, jobs=1).patients
    pd.testing.assert_frame_equal(pd.read_parquet(out / "patients.parquet"), in_memory)
    assert (out / "summary.csv").read_text() == (tmp_path / "whole" / "summary.csv").read_text()
    with pytest.raises(errors.OutputExists, match="already finished"):
        studies.run_to_directory(s, out, jobs=1, resume=True)


def test_plots_draw_on_the_axes_they_are_given() -> None:
    s = scenario(
        TRIAL,
        **{
            "feed.n_patients": 60,
            "outcomes.endpoints.readmission_count": {},
            "outcomes.published": {
                "source": "test",
                "figures": [{"statistic": "readmissions_mean", "arm": "peer", "value": 0.4}],
            },
        },
    )
    r = api.run(s, replications=3, jobs=1)
    fig = Figure()
    left, right = fig.subplots(1, 2)
    h = s.outcomes.primary_horizon_days
    assert plots.km_by_arm(r.patients, h, ax=left) is left
    assert plots.hazard_ratio_distribution(r.trial, h, ax=right) is right
    assert left.lines and right.patches
    own = Figure()
    # no one ever waits for a worker in this trial: no empty waiting-list panel
    assert not r.timeseries["waiting_list"].any()
    assert plots.capacity_over_time(r.timeseries, fig=own) is own and len(own.axes) == 1
    made = Run(r, 3).figures()
    assert set(made) == {n for n in OUTPUT_FILES if n.endswith(".png")}


def test_a_stop_while_writing_the_run_directory_loses_nothing(tmp_path, monkeypatch) -> None:
    s = variant(scenario(TRIAL, **{"feed.n_patients": 60}), {"replications": 4})
    whole = tmp_path / "whole"
    studies.run_to_directory(s, whole, jobs=1, events=True)

    def stopped(*args, **kwargs):
        raise KeyboardInterrupt

    out = tmp_path / "stopped"
    with monkeypatch.context() as m:  # Ctrl-C after the run, while its figures are drawn
        m.setattr(Run, "figures", stopped)
        with pytest.raises(KeyboardInterrupt):
            studies.run_to_directory(s, out, jobs=1, events=True)
    assert not out.exists()
    again = studies.run_to_directory(s, out, jobs=1, events=True, resume=True).result
    assert again.resumed == 4  # every replication, and its events, was still saved
    assert_same_outputs(out, whole)
    pd.testing.assert_frame_equal(
        pd.read_parquet(out / "events"), pd.read_parquet(whole / "events")
    )
