"""Calibration finds known answers, keeps the file's comments, and admits what it cannot meet."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml
from helpers import TRIAL, cli, doc

from sim.config import ConfigError, load_scenario
from sim.studies import calibrate, write_calibrated

pytestmark = pytest.mark.slow


def scenario_file(tmp_path: Path, targets: list[dict], params: list[dict] | None = None) -> Path:
    d = doc(
        TRIAL,
        **{
            "feed.n_patients": 400,
            "competing": {},
            "readmission.baseline": {"dist": "exponential", "rate_per_day": 0.002},
            "arms.1.effect": {"mechanism": "none"},
            "calibration": {
                "replications": 30,
                "check_replications": 60,
                "max_evaluations": 25,
                "parameters": params
                or [{"path": "readmission.baseline.rate_per_day", "lower": 0.0002, "upper": 0.01}],
                "targets": targets,
            },
        },
    )
    text = "# my scenario, with a comment to keep\n" + yaml.safe_dump(d, sort_keys=False)
    path = tmp_path / "s.yaml"
    path.write_text(text)
    return path


def test_finds_the_rate_that_gives_the_target(tmp_path: Path) -> None:
    # exponential hazard: P(readmitted by 365) = 1 - exp(-365 rate); 0.30 <=> rate 0.000977
    path = scenario_file(
        tmp_path,
        [
            {"statistic": "p_readmitted", "arm": "control", "value": 0.30, "tolerance": 0.01},
        ],
    )
    res = calibrate(path, jobs=1)
    assert res.all_met, res.table
    assert res.best[0] == pytest.approx(-math.log(0.7) / 365, rel=0.08)
    out = tmp_path / "out.yaml"
    text = write_calibrated(path, out, res, 60)
    assert "# my scenario, with a comment to keep" in text and "--- calibration" in text
    assert load_scenario(out).readmission.baseline.rate_per_day == pytest.approx(
        res.best[0], rel=1e-5
    )
    # calibrating the calibrated file replaces the block rather than adding one
    text2 = write_calibrated(out, out, res, 60)
    assert text2.count("--- calibration") == 1


def test_an_unreachable_target_is_reported_with_its_miss(tmp_path: Path) -> None:
    # no parameter can give the two arms different readmission: the least-squares fit
    # compromises between 0.30 and 0.10, and says by how much each is missed
    path = scenario_file(
        tmp_path,
        [
            {"statistic": "p_readmitted", "arm": "control", "value": 0.30, "tolerance": 0.01},
            {"statistic": "p_readmitted", "arm": "peer", "value": 0.10, "tolerance": 0.01},
        ],
    )
    res = calibrate(path, jobs=1, max_evaluations=8)
    assert not res.all_met
    missed = res.table.set_index("target")
    peer = missed.loc["p_readmitted peer 365d (mean)"]
    control = missed.loc["p_readmitted control 365d (mean)"]
    assert not peer["within_tolerance"] and peer["miss"] > 0.05
    assert control["miss"] < 0  # pulled below its target toward the other
    assert peer["simulated"] == pytest.approx(control["simulated"], abs=0.03)


def test_parameter_must_be_in_the_file(tmp_path: Path) -> None:
    path = scenario_file(
        tmp_path,
        [
            {"statistic": "p_readmitted", "arm": "control", "value": 0.3, "tolerance": 0.01},
        ],
        params=[{"path": "population.frailty_variance", "lower": 0, "upper": 1}],
    )
    with pytest.raises(ConfigError, match="not set in this file"):
        calibrate(path, jobs=1)


def test_cli_power(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump(doc(TRIAL, **{"feed.n_patients": 100})))
    out = tmp_path / "p"
    res = cli(
        "power",
        str(path),
        "--n-per-arm",
        "40,80",
        "--reps",
        "20",
        "--jobs",
        "1",
        "--out",
        str(out),
        timeout=300,
    )
    assert res.returncode == 0, res.stderr
    assert {p.name for p in out.iterdir()} == {
        "power.csv",
        "power.png",
        "power.svg",
        "manifest.json",
        "scenario.resolved.yaml",
        "scenario.notes.csv",
    }
    bad = cli("power", str(path), "--n-per-arm", "a,b", timeout=60)
    assert bad.returncode == 2 and "--n-per-arm" in bad.stderr and "Traceback" not in bad.stderr


def count_file(tmp_path: Path, targets: list[dict], params: list[dict]) -> Path:
    d = doc(
        TRIAL,
        **{
            "feed.n_patients": 400,
            "competing": {},
            "outcomes": {"primary_horizon_days": 365, "endpoints": {"readmission_count": {}}},
            "readmission.baseline": {"dist": "exponential", "rate_per_day": 0.003},
            "population.frailty_variance": 0.8,
            "acute_care": {"p_ward": 1, "ward": {"length_of_stay": {"dist": "fixed", "days": 5}}},
            "peer_workers": {"weekly_session_hours": 30},
            "arms.1.effect": {"mechanism": "none"},
            "calibration": {
                "replications": 30,
                "check_replications": 30,
                "max_evaluations": 40,
                "parameters": params,
                "targets": targets,
            },
        },
    )
    path = tmp_path / "counts.yaml"
    path.write_text(yaml.safe_dump(d, sort_keys=False))
    return path


def test_recovers_known_parameters_from_their_own_count_summaries(tmp_path: Path) -> None:
    # the truth: rate 0.003/day, frailty 0.8. Its own simulated summaries (the same seed
    # and replications) are the targets; the fit starts elsewhere and must come back
    from sim import api
    from sim.studies.calibrate import target_statistic

    params = [
        {"path": "readmission.baseline.rate_per_day", "lower": 0.001, "upper": 0.006},
        {"path": "population.frailty_variance", "lower": 0.1, "upper": 2.0},
    ]
    probe = [
        {"statistic": s, "arm": "control", "value": 0, "tolerance": 1}
        for s in ("readmissions_mean", "readmissions_sd")
    ]
    truth = load_scenario(count_file(tmp_path, probe, params))
    r = api.run(truth, replications=30, jobs=1)
    targets = [
        {**t, "value": target_statistic(r, truth, tt), "tolerance": 0.01, "standard_error": 0.01}
        for t, tt in zip(probe, truth.calibration.targets, strict=True)
    ]
    path = count_file(tmp_path, targets, params)
    text = path.read_text()
    text = text.replace("rate_per_day: 0.003", "rate_per_day: 0.0045")
    path.write_text(text.replace("frailty_variance: 0.8", "frailty_variance: 0.3"))
    res = calibrate(path, jobs=1)
    assert res.all_met, res.table
    assert res.standard_errors is not None and not res.warnings
    for got, want, se in zip(res.best, (0.003, 0.8), res.standard_errors, strict=True):
        assert abs(got - want) < 3 * se, (got, want, se)
    assert res.best == pytest.approx([0.003, 0.8], rel=0.1)
    assert -1 <= res.correlation[0, 1] <= 1


def test_a_parameter_no_target_moves_is_reported_as_unidentified(tmp_path: Path) -> None:
    path = count_file(
        tmp_path,
        [{"statistic": "readmissions_mean", "arm": "control", "value": 0.8, "tolerance": 0.02}],
        [
            {"path": "readmission.baseline.rate_per_day", "lower": 0.001, "upper": 0.006},
            # peer workers are unlimited here: their hours change nothing
            {"path": "peer_workers.weekly_session_hours", "lower": 10, "upper": 40},
        ],
    )
    res = calibrate(path, jobs=1, max_evaluations=12)
    assert res.standard_errors is None
    assert any("weekly_session_hours" in w and "cannot identify" in w for w in res.warnings)


def test_the_editor_modeline_stays_the_first_line(tmp_path: Path) -> None:
    import numpy as np
    import pandas as pd

    from sim.studies.calibrate import CalibrationResult

    path = scenario_file(
        tmp_path, [{"statistic": "p_readmitted", "arm": "control", "value": 0.3, "tolerance": 0.01}]
    )
    modeline = "# yaml-language-server: $schema=../docs/scenario.schema.json"
    path.write_text(modeline + "\n" + path.read_text())
    table = pd.DataFrame(
        [
            {
                "target": "t",
                "value": 0.3,
                "simulated": 0.3,
                "tolerance": 0.01,
                "miss": 0.0,
                "within_tolerance": True,
                "source": "",
            }
        ]
    )
    res = CalibrationResult(
        load_scenario(path),
        ["readmission.baseline.rate_per_day"],
        np.array([0.002]),
        np.array([0.001]),
        table,
        1,
    )
    text = write_calibrated(path, tmp_path / "out.yaml", res, 10)
    assert text.splitlines()[0] == modeline and text.splitlines()[1].startswith("# --- calibration")
    again = write_calibrated(tmp_path / "out.yaml", tmp_path / "out.yaml", res, 10)
    assert again.splitlines()[0] == modeline and again.count("--- calibration") == 1


# the standard errors: a synthetic target whose standard error is known (a share from an
# observed trial of N_OBS patients), fitted again and again on fresh seeds
P_TRUE, N_OBS, FITS = 0.30, 200, 120


def _fit_once(k: int, root: str) -> tuple[float, float]:
    import numpy as np

    rng = np.random.default_rng([2024, k])  # the k-th "published" trial
    p_hat = rng.binomial(N_OBS, P_TRUE) / N_OBS
    d = doc(
        TRIAL,
        **{
            "seed": 1000 + k,  # a fresh simulation seed for each fit
            "feed.n_patients": 200,
            "competing": {},
            "readmission.baseline": {
                "dist": "exponential",
                "rate_per_day": -math.log(1 - P_TRUE) / 365,
            },
            "arms.1.effect": {"mechanism": "none"},
            "calibration": {
                "replications": 20,
                "check_replications": 20,
                "max_evaluations": 12,
                "parameters": [
                    {"path": "readmission.baseline.rate_per_day", "lower": 0.0002, "upper": 0.01}
                ],
                "targets": [
                    {
                        "statistic": "p_readmitted",
                        "arm": "control",
                        "value": p_hat,
                        "tolerance": 0.005,
                        "standard_error": math.sqrt(p_hat * (1 - p_hat) / N_OBS),
                    }
                ],
            },
        },
    )
    path = Path(root) / f"s{k}.yaml"
    path.write_text(yaml.safe_dump(d))
    res = calibrate(path, jobs=1)
    assert res.standard_errors is not None
    return float(res.best[0]), float(res.standard_errors[0])


def test_the_standard_error_is_the_spread_of_the_fit_over_fresh_data_and_seeds(tmp_path) -> None:
    import functools
    import multiprocessing

    import numpy as np

    with multiprocessing.get_context("fork").Pool(2) as pool:
        pairs = pool.map(functools.partial(_fit_once, root=str(tmp_path)), range(FITS))
    fitted, reported = np.array(pairs).T
    spread = fitted.std(ddof=1)
    # the SD of FITS fits is itself known to within 1 / sqrt(2 (FITS - 1)) = 6.5%: 20% is
    # three of those standard errors
    assert abs(reported.mean() / spread - 1) < 0.20, (reported.mean(), spread)


def _engagement_file(tmp_path: Path, params: list[dict], targets: list[dict]) -> Path:
    d = doc(
        TRIAL,
        **{
            "feed.n_patients": 200,
            # CORE's attendance (scenarios/core-trial.yaml): most engage, and stay
            "attendance": {
                "engagement": {"alpha": 1.4, "beta": 0.36},
                "p_never_engage": 0.12,
                "disengage_after_missed": 3,
            },
            "calibration": {
                "replications": 20,
                "check_replications": 20,
                "max_evaluations": 6,
                "parameters": params,
                "targets": targets,
            },
        },
    )
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(d))
    return path


def test_a_confounded_pair_is_warned_of_and_an_identified_one_is_not(tmp_path: Path) -> None:
    share = {"arm": "peer", "tolerance": 0.02, "standard_error": 0.03}
    # alpha and beta of the engagement distribution, with two attendance shares: both
    # shares move with the mean engagement alpha / (alpha + beta) above all
    confounded = _engagement_file(
        tmp_path,
        [
            {"path": "attendance.engagement.alpha", "lower": 0.3, "upper": 10},
            {"path": "attendance.engagement.beta", "lower": 0.05, "upper": 3},
        ],
        [
            {"statistic": "p_attended_3plus", "value": 0.72, **share},
            {"statistic": "p_attended_all", "value": 0.33, **share},
        ],
    )
    res = calibrate(confounded, jobs=1)
    assert any("are confounded" in w for w in res.warnings), res.warnings
    # the baseline hazard and the effect, with each arm's share readmitted: told apart
    identified = _engagement_file(
        tmp_path,
        [
            {"path": "readmission.baseline.scale_days", "lower": 400, "upper": 3000},
            {"path": "arms.peer.effect.hazard_ratio", "lower": 0.4, "upper": 1.0},
        ],
        [
            {**share, "statistic": "p_readmitted", "arm": "control", "value": 0.38},
            {"statistic": "p_readmitted", "value": 0.29, **share},
        ],
    )
    res = calibrate(identified, jobs=1)
    assert not any("confounded" in w or "singular" in w for w in res.warnings), res.warnings
    assert res.standard_errors is not None
