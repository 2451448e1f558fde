"""The uncertainty block: its rules, and draws that follow each distribution."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import yaml
from helpers import TRIAL, cli, doc
from scipy import stats

from sim import uncertainty
from sim.config import ConfigError, load_scenario, scenario_from_dict

BLOCK = {
    "parameters": [
        {
            "dist": "ratio_ci",
            "path": "arms.peer.effect.hazard_ratio",
            "value": 0.71,
            "ci_low": 0.52,
            "ci_high": 0.97,
            "source": "CORE (Johnson et al. 2018)",
        },
        {"dist": "beta", "path": "acute_care.p_ward", "alpha": 30, "beta": 20, "source": "test"},
        {
            "dist": "gamma",
            "path": "acute_care.ward.length_of_stay.mean_days",
            "mean": 30,
            "sd": 6,
            "source": "test",
        },
        {
            "dist": "lognormal",
            "path": "readmission.baseline.scale_days",
            "mean": 1000,
            "sd": 150,
            "source": "test",
        },
        {
            "dist": "normal",
            "path": "competing.death_per_year",
            "mean": 0.02,
            "sd": 0.002,
            "source": "test",
        },
        {
            "dist": "uniform",
            "path": "attendance.p_never_engage",
            "low": 0.05,
            "high": 0.2,
            "source": "test",
        },
    ]
}


def scenario(**changes):
    return scenario_from_dict(doc(TRIAL, uncertainty=BLOCK, **changes))


def test_draws_are_reproducible_and_stratified() -> None:
    s = scenario()
    a, b = uncertainty.draw(s, 200), uncertainty.draw(s, 200)
    assert a.equals(b)
    other = uncertainty.draw(scenario(seed=12), 200)
    assert not a.equals(other)
    assert list(a.columns) == uncertainty.columns(s)
    # a Latin hypercube: one point in each of the 200 strata of every margin
    u = stats.beta.cdf(a["acute_care.p_ward"], 30, 20)
    assert sorted(np.floor(u * 200).astype(int)) == list(range(200))


@pytest.mark.parametrize("sampling", ["latin_hypercube", "sobol"])
def test_each_margin_follows_its_distribution(sampling: str) -> None:
    s = scenario_from_dict(doc(TRIAL, uncertainty={**BLOCK, "sampling": sampling}))
    x = uncertainty.draw(s, 4096)
    n = len(x)

    def near(values, want, sd):  # within 4 standard errors of the mean
        assert abs(np.mean(values) - want) < 4 * sd / math.sqrt(n), (np.mean(values), want)

    near(x["acute_care.p_ward"], 0.6, math.sqrt(0.6 * 0.4 / 51))
    near(x["acute_care.ward.length_of_stay.mean_days"], 30, 6)
    assert np.std(x["acute_care.ward.length_of_stay.mean_days"]) == pytest.approx(6, rel=0.05)
    near(x["readmission.baseline.scale_days"], 1000, 150)
    near(x["competing.death_per_year"], 0.02, 0.002)
    near(x["attendance.p_never_engage"], 0.125, 0.15 / math.sqrt(12))
    # the ratio: median at the estimate, 2.5% and 97.5% at the published CI
    hr = np.log(x["arms.peer.effect.hazard_ratio"])
    q = np.quantile(hr, [0.025, 0.5, 0.975])
    assert q == pytest.approx(np.log([0.52, 0.71, 0.97]), abs=0.01)


def test_dirichlet_shares_sum_to_one_with_the_dirichlet_mean() -> None:
    groups = [
        {"name": "low", "share": 0.7, "hazard_ratio": 1.0},
        {"name": "high", "share": 0.3, "hazard_ratio": 2.0},
    ]
    d = doc(TRIAL, **{"population.risk_groups": groups})
    d["uncertainty"] = {
        "parameters": [
            {
                "dist": "dirichlet",
                "paths": ["population.risk_groups.low.share", "population.risk_groups.high.share"],
                "alpha": [70, 30],
                "source": "test",
            }
        ]
    }
    s = scenario_from_dict(d)
    x = uncertainty.draw(s, 2000)
    assert np.allclose(x.sum(axis=1), 1.0)
    sd = math.sqrt(0.7 * 0.3 / 101)
    assert abs(x["population.risk_groups.low.share"].mean() - 0.7) < 4 * sd / math.sqrt(2000)
    applied = uncertainty.apply(s, x.iloc[0].to_dict())
    assert sum(g.share for g in applied.population.risk_groups) == pytest.approx(1.0)


def test_a_set_is_applied_through_the_schema() -> None:
    s = scenario()
    row = uncertainty.draw(s, 3).iloc[1]
    at = uncertainty.apply(s, row.to_dict())
    assert at.arms[1].effect.hazard_ratio == pytest.approx(row["arms.peer.effect.hazard_ratio"])
    assert at.acute_care.p_ward == pytest.approx(row["acute_care.p_ward"])
    with pytest.raises(ConfigError, match="attendance.p_never_engage"):
        uncertainty.apply(s, {"attendance.p_never_engage": 1.5})


def test_a_path_that_names_no_number_is_refused_by_its_place() -> None:
    bad = {"parameters": [{**BLOCK["parameters"][1], "path": "acute_care.p_wards"}]}
    s = scenario_from_dict(doc(TRIAL, uncertainty=bad))
    with pytest.raises(ConfigError, match=r"uncertainty.parameters.0.path = 'acute_care.p_wards'"):
        uncertainty.check_paths(s, "s.yaml")
    uncertainty.check_paths(scenario(), "s.yaml")


def test_derived_parameters_are_said() -> None:
    said = uncertainty.describe(scenario().uncertainty.parameters[0])
    assert "log-SD 0.1591" in said and "0.71" in said  # (ln 0.97 - ln 0.52) / 3.92
    assert "shape 25" in uncertainty.describe(scenario().uncertainty.parameters[2])


@pytest.mark.parametrize(
    ("change", "where", "rule"),
    [
        ({"source": ""}, "uncertainty.parameters.0.source", "at least 1 character"),
        ({"ci_low": 0.8}, "uncertainty.parameters.0", "ci_low < value < ci_high"),
        ({"dist": "weibull"}, "uncertainty.parameters.0", "'beta'"),
    ],
)
def test_rules(tmp_path: Path, change: dict, where: str, rule: str) -> None:
    block = {"parameters": [{**BLOCK["parameters"][0], **change}]}
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(doc(TRIAL, uncertainty=block), sort_keys=False))
    with pytest.raises(ConfigError) as info:
        load_scenario(path)
    assert where in str(info.value) and rule in str(info.value), str(info.value)


def test_a_field_may_have_only_one_distribution(tmp_path: Path) -> None:
    block = {"parameters": [BLOCK["parameters"][1], BLOCK["parameters"][1]]}
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(doc(TRIAL, uncertainty=block), sort_keys=False))
    with pytest.raises(ConfigError, match="more than one distribution"):
        load_scenario(path)


def test_correlated_fields_keep_their_correlation_and_margins() -> None:
    block = {
        "parameters": [
            {
                "dist": "multivariate_normal",
                "paths": ["readmission.baseline.scale_days", "arms.peer.effect.hazard_ratio"],
                "mean": [1000.0, 0.7],
                "sd": [100.0, 0.05],
                "correlation": [[1.0, 0.8], [0.8, 1.0]],
                "source": "a calibration",
            }
        ]
    }
    s = scenario_from_dict(doc(TRIAL, uncertainty=block))
    x = uncertainty.draw(s, 4000)
    a, b = x["readmission.baseline.scale_days"], x["arms.peer.effect.hazard_ratio"]
    # sample correlation: SE about (1 - r^2) / sqrt(n) = 0.006; allow 4 of them
    assert abs(np.corrcoef(a, b)[0, 1] - 0.8) < 4 * (1 - 0.64) / math.sqrt(4000)
    assert abs(a.mean() - 1000) < 4 * 100 / math.sqrt(4000) and np.std(b) == pytest.approx(
        0.05, rel=0.05
    )


@pytest.mark.parametrize(
    ("correlation", "rule"),
    [
        ([[1.0, 0.5], [0.4, 1.0]], "symmetric"),
        ([[1.0, 1.5], [1.5, 1.0]], "less than or equal to 1"),
        ([[0.9, 0.5], [0.5, 1.0]], "ones on its diagonal"),
        ([[1, 0.9, -0.9], [0.9, 1, 0.9], [-0.9, 0.9, 1]], "positive semi-definite"),
    ],
)
def test_a_correlation_matrix_must_be_one(tmp_path: Path, correlation, rule: str) -> None:
    k = len(correlation)
    paths = [
        "readmission.baseline.scale_days",
        "arms.peer.effect.hazard_ratio",
        "acute_care.p_ward",
    ]
    entry = {
        "dist": "multivariate_normal",
        "paths": paths[:k],
        "mean": [1.0] * k,
        "sd": [1.0] * k,
        "correlation": correlation,
        "source": "test",
    }
    path = tmp_path / "s.yaml"
    path.write_text(
        yaml.safe_dump(doc(TRIAL, uncertainty={"parameters": [entry]}), sort_keys=False)
    )
    with pytest.raises(ConfigError) as info:
        load_scenario(path)
    assert "uncertainty.parameters.0" in str(info.value) and rule in str(info.value), str(
        info.value
    )


def test_a_calibration_gives_its_fitted_values_as_an_uncertainty_entry() -> None:
    import pandas as pd

    from sim.studies.calibrate import CalibrationResult

    s = scenario()
    names = ["readmission.baseline.scale_days", "arms.peer.effect.hazard_ratio"]
    res = CalibrationResult(
        s,
        names,
        np.array([900.0, 0.8]),
        np.array([1000.0, 0.7]),
        pd.DataFrame(),
        10,
        standard_errors=np.array([50.0, 0.04]),
        correlation=np.array([[1.0, -0.3], [-0.3, 1.0]]),
    )
    entry = res.uncertainty_entry("calibration of s.yaml")
    made = scenario_from_dict(doc(TRIAL, uncertainty={"parameters": [entry]}))
    assert uncertainty.columns(made) == names
    one = CalibrationResult(
        s,
        names[:1],
        np.array([900.0]),
        np.array([1000.0]),
        pd.DataFrame(),
        5,
        standard_errors=np.array([50.0]),
        correlation=np.array([[1.0]]),
    )
    assert one.uncertainty_entry("x")["dist"] == "normal"


def test_a_star_matches_every_item_that_has_the_field() -> None:
    shared = {
        "dist": "ratio_ci",
        "path": "arms.*.effect.hazard_ratio",
        "value": 0.71,
        "ci_low": 0.52,
        "ci_high": 0.97,
        "source": "test",
    }
    s = scenario_from_dict(doc(TRIAL, uncertainty={"parameters": [shared]}))
    d = s.model_dump(mode="json")
    # the control arm has no hazard ratio: only the peer arm's field is matched
    assert uncertainty.matches(d, "arms.*.effect.hazard_ratio") == ["arms.1.effect.hazard_ratio"]
    assert uncertainty.matches(d, "arms.peer.effect.hazard_ratio") == ["arms.1.effect.hazard_ratio"]
    assert uncertainty.matches(d, "arms.*.effect.no_such_field") == []
    assert uncertainty.matches(d, "acute_care.ward") == []  # a block, not a number
    uncertainty.check_paths(s, "s.yaml")
    at = uncertainty.apply(s, {"arms.*.effect.hazard_ratio": 0.5})
    assert at.arms[1].effect.hazard_ratio == 0.5 and at.arms[0].effect.mechanism == "none"
    # in the base, a * that matches nothing is a mistake, named by its place
    bad = {"parameters": [{**shared, "path": "arms.*.effect.hazard_ratios"}]}
    s = scenario_from_dict(doc(TRIAL, uncertainty=bad))
    with pytest.raises(ConfigError, match=r"parameters.0.path = 'arms.\*.effect.hazard_ratios'"):
        uncertainty.check_paths(s, "s.yaml")


@pytest.mark.parametrize(
    ("groups", "rule"),
    [
        ({"g": ["acute_care.p_ward"]}, "groups.g: a group needs at least two different fields"),
        (
            {"g": ["acute_care.p_ward", "acute_care.p_wards"]},
            "groups.g: acute_care.p_wards is not a field of the parameters above",
        ),
    ],
)
def test_a_group_names_two_or_more_of_the_fields(tmp_path: Path, groups, rule: str) -> None:
    block = {**BLOCK, "groups": groups}
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(doc(TRIAL, uncertainty=block), sort_keys=False))
    with pytest.raises(ConfigError, match=rule) as info:
        load_scenario(path)
    assert str(path) in str(info.value) and "uncertainty" in str(info.value)


def test_validate_checks_the_uncertain_paths(tmp_path: Path) -> None:

    bad = {"parameters": [{**BLOCK["parameters"][1], "path": "acute_care.p_wards"}]}
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(doc(TRIAL, uncertainty=bad), sort_keys=False))
    res = cli("validate", str(path), timeout=60)
    assert res.returncode == 2, res.stderr
    assert f"{path}: uncertainty.parameters.0.path = 'acute_care.p_wards'" in res.stderr
    assert "Traceback" not in res.stderr
