"""Layer 1: schema errors, one test per rule; every message names file, field and rule."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from helpers import SERVICE, TRIAL, doc

from sim.config import ConfigError, Scenario, load_scenario, resolved_yaml

SCENARIOS = sorted((Path(__file__).parents[1] / "scenarios").glob("*.yaml"))


def write(tmp_path: Path, document: dict | str, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    text = document if isinstance(document, str) else yaml.safe_dump(document, sort_keys=False)
    path.write_text(text)
    return path


def error_of(tmp_path: Path, document: dict | str) -> str:
    path = write(tmp_path, document)
    with pytest.raises(ConfigError) as info:
        load_scenario(path)
    message = str(info.value)
    assert "\n" not in message, "errors are one line"
    assert message.startswith(str(path)), "errors start with the file"
    return message


def line_of(path_text: str, needle: str) -> int:
    return next(i for i, line in enumerate(path_text.splitlines(), 1) if needle in line)


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_shipped_scenarios_validate(path: Path) -> None:
    scenario = load_scenario(path)
    assert isinstance(scenario, Scenario)
    # the resolved YAML is itself a valid scenario, equal to the original
    again = Scenario.model_validate(yaml.safe_load(resolved_yaml(scenario)))
    assert again == scenario


def test_unknown_key_names_path_and_line(tmp_path: Path) -> None:
    d = doc(TRIAL)
    d["readmission"]["baseline"]["shpe"] = 0.5
    msg = error_of(tmp_path, d)
    text = (tmp_path / "s.yaml").read_text()
    assert "readmission.baseline.shpe" in msg
    assert f"(line {line_of(text, 'shpe')})" in msg
    assert "unknown field" in msg


def test_wrong_type(tmp_path: Path) -> None:
    msg = error_of(tmp_path, doc(TRIAL, **{"feed.n_patients": "many"}))
    assert "feed.n_patients" in msg and "'many'" in msg and "integer" in msg


def test_probability_above_one(tmp_path: Path) -> None:
    msg = error_of(tmp_path, doc(TRIAL, **{"attendance.p_never_engage": 1.5}))
    assert "attendance.p_never_engage" in msg and "1.5" in msg and "less than or equal to 1" in msg


def test_negative_duration(tmp_path: Path) -> None:
    msg = error_of(tmp_path, doc(TRIAL, **{"feed.follow_up_days": -30}))
    assert "feed.follow_up_days" in msg and "-30" in msg and "greater than 0" in msg


def test_nonpositive_weibull_shape_makes_hazard_undefined(tmp_path: Path) -> None:
    msg = error_of(tmp_path, doc(TRIAL, **{"readmission.baseline.shape": 0}))
    assert "readmission.baseline.shape" in msg and "greater than 0" in msg


def test_non_finite_number(tmp_path: Path) -> None:
    msg = error_of(tmp_path, doc(TRIAL, **{"readmission.baseline.scale_days": float("inf")}))
    assert "readmission.baseline.scale_days" in msg and "finite" in msg


def test_unknown_distribution_name(tmp_path: Path) -> None:
    msg = error_of(tmp_path, doc(TRIAL, **{"readmission.baseline.dist": "gompertz"}))
    assert "readmission.baseline" in msg and "'gompertz'" in msg
    assert "weibull" in msg, "the message lists the known names"


def test_missing_required_field(tmp_path: Path) -> None:
    d = doc(TRIAL)
    del d["acute_care"]["ward"]["length_of_stay"]
    msg = error_of(tmp_path, d)
    assert "acute_care.ward.length_of_stay" in msg and "missing" in msg


def test_malformed_yaml_gives_line(tmp_path: Path) -> None:
    msg = error_of(tmp_path, "name: x\nseed: 1\nfeed: {kind: trial, n_patients: [\n  oops\n")
    assert "malformed YAML" in msg and "line" in msg


def test_not_a_mapping(tmp_path: Path) -> None:
    assert "mapping" in error_of(tmp_path, "- a\n- b\n")


def test_empty_file(tmp_path: Path) -> None:
    assert "empty" in error_of(tmp_path, "")


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_bytes(b"name: caf\xe9\n")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_scenario(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_scenario(tmp_path / "nope.yaml")


def test_risk_shares_must_sum_to_one(tmp_path: Path) -> None:
    groups = [
        {"name": "a", "share": 0.5, "hazard_ratio": 1},
        {"name": "b", "share": 0.3, "hazard_ratio": 2},
    ]
    msg = error_of(tmp_path, doc(TRIAL, **{"population.risk_groups": groups}))
    assert "population" in msg and "sum to 1" in msg


def test_allocation_must_name_the_arms(tmp_path: Path) -> None:
    msg = error_of(tmp_path, doc(TRIAL, **{"feed.allocation": {"control": 1, "pear": 1}}))
    assert "feed.allocation" in msg and "exactly the arms" in msg


def test_a_horizon_past_the_follow_up_names_the_horizon_to_change(tmp_path: Path) -> None:
    msg = error_of(tmp_path, doc(TRIAL, **{"feed.follow_up_days": 200}))
    assert "outcomes.primary_horizon_days (line" in msg and "200" in msg, msg
    msg = error_of(
        tmp_path,
        doc(TRIAL, **{"outcomes.primary_horizon_days": 100, "feed.follow_up_days": 110}),
    )
    assert "outcomes.secondary_horizons_days.0" in msg and "110" in msg, msg


def test_a_short_follow_up_is_the_default_primary_horizon(tmp_path: Path) -> None:
    d = doc(TRIAL, **{"feed.follow_up_days": 270})
    d["outcomes"] = {}
    s = load_scenario(write(tmp_path, d))
    assert s.outcomes.primary_horizon_days == 270
    d["feed"]["follow_up_days"] = 540
    assert load_scenario(write(tmp_path, d)).outcomes.primary_horizon_days == 365


def test_crt_may_be_left_out_only_when_every_readmission_goes_to_a_ward(tmp_path: Path) -> None:
    d = doc(TRIAL)
    del d["acute_care"]["crt"]
    msg = error_of(tmp_path, d)
    assert "acute_care.crt" in msg and "p_ward is 0.5" in msg, msg
    d["acute_care"]["p_ward"] = 1
    assert load_scenario(write(tmp_path, d)).acute_care.crt is None


@pytest.mark.parametrize(
    ("changes", "where", "rule"),
    [
        (
            {
                "arms.peer.peer_support.schedule": "fixed",
                "arms.peer.peer_support.reoffer_after_readmission": True,
            },
            "arms.1.peer_support.reoffer_after_readmission",
            "per_episode only",
        ),
        (
            {"arms.peer.peer_support.pause_in_hospital": True},
            "arms.1.peer_support.pause_in_hospital",
            "schedule: fixed only",
        ),
        (
            {"arms.peer.peer_support.schedule": "weekly"},
            "arms.1.peer_support.schedule",
            "'per_episode' or 'fixed'",
        ),
        (
            {"arms.peer.acute_care": {"ward": {"capacity": 3}}},
            "arms.1.acute_care.ward.capacity",
            "cannot differ by arm in a trial",
        ),
        (
            {"arms.peer.acute_care": {"p_ward": 1.5}},
            "arms.1.acute_care.p_ward",
            "less than or equal to 1",
        ),
        (
            {"arms.peer.attendance": {"disengage_after_missed": 0}},
            "arms.1.attendance.disengage_after_missed",
            "greater than or equal to 1",
        ),
        (
            {"outcomes.endpoints": {"readmission_count": {"test": "z_test"}}},
            "outcomes.endpoints.readmission_count.test",
            "'negative_binomial'",
        ),
        (
            {"outcomes.endpoints": {"bed_days": {"alternative": "smaller"}}},
            "outcomes.endpoints.bed_days.alternative",
            "'two-sided', 'less' or 'greater'",
        ),
        (
            {"outcomes.endpoints": {"bed_days": {"alpha": 1.5}}},
            "outcomes.endpoints.bed_days.alpha",
            "less than 1",
        ),
        (
            {
                "outcomes.published": {
                    "source": "x",
                    "figures": [{"statistic": "rate_ratio", "arm": "peer", "value": 0.8}],
                }
            },
            "outcomes.published.figures.0.statistic",
            "needs outcomes.endpoints.readmission_count",
        ),
        (
            {
                "outcomes.published": {
                    "source": "x",
                    "figures": [{"statistic": "p_readmitted", "arm": "pear", "value": 0.3}],
                }
            },
            "outcomes.published.figures.0.arm",
            "names no arm",
        ),
        (
            {
                "outcomes.published": {
                    "source": "x",
                    "figures": [
                        {"statistic": "p_readmitted", "arm": "peer", "value": 0.3, "ci_low": 0.2}
                    ],
                }
            },
            "outcomes.published.figures.0",
            "both ci_low and ci_high",
        ),
        (
            {
                "outcomes.published": {
                    "source": "x",
                    "figures": [
                        {
                            "statistic": "p_readmitted",
                            "arm": "peer",
                            "value": 0.3,
                            "horizon_days": 200,
                        }
                    ],
                }
            },
            "outcomes.published.figures.0.horizon_days",
            "not an outcome horizon",
        ),
        (
            {
                "outcomes.published": {
                    "source": "x",
                    "figures": [{"statistic": "readmission_rate", "arm": "peer", "value": 0.3}],
                }
            },
            "outcomes.published.figures.0.statistic",
            "'p_readmitted'",
        ),
        (
            {"arms.peer.peer_support.phases": [{"n_sessions": 2, "interval_days": 7}]},
            "arms.1.peer_support.phases",
            "schedule: fixed only",
        ),
        (
            {
                "arms.peer.peer_support.schedule": "fixed",
                "arms.peer.peer_support.phases": [{"n_sessions": 2, "interval_days": 7}],
            },
            "arms.1.peer_support.n_sessions",
            "the phases' total (2)",
        ),
        (
            {
                "arms.peer.peer_support": {
                    "schedule": "fixed",
                    "interval_days": 7,
                    "phases": [{"n_sessions": 2, "interval_days": 14}],
                }
            },
            "arms.1.peer_support.interval_days",
            "shortest interval (14)",
        ),
    ],
)
def test_trial_emulation_rules(tmp_path: Path, changes: dict, where: str, rule: str) -> None:
    msg = error_of(tmp_path, doc(TRIAL, **changes))
    assert f"{where} (line" in msg and rule in msg, msg


def test_an_arm_change_that_leaves_acute_care_invalid_is_named(tmp_path: Path) -> None:
    d = doc(TRIAL, **{"acute_care.p_ward": 1, "arms.peer.acute_care": {"p_ward": 0.7}})
    del d["acute_care"]["crt"]
    msg = error_of(tmp_path, d)
    assert "arms.1.acute_care.crt" in msg and "once this arm's changes are applied" in msg, msg


# a calibration block that names the arm "peer", for bases that derived files change
PEER_CALIBRATION = {
    "parameters": [{"path": "seed", "lower": 0, "upper": 1}],
    "targets": [{"statistic": "p_readmitted", "arm": "peer", "value": 0.3, "tolerance": 0.1}],
}


def test_base_changes_one_arm_by_name_and_replaces_evidence_blocks(tmp_path: Path) -> None:
    base = doc(
        TRIAL,
        **{
            "outcomes.published": {"source": "base trial", "p_readmitted": {"control": 0.4}},
            "calibration": PEER_CALIBRATION,
        },
    )
    write(tmp_path, base, "base.yaml")
    child = write(
        tmp_path,
        "base: base.yaml\nname: child\n"
        "arms:\n  peer:\n    effect: {mechanism: dose_response, hazard_ratio_at_full_dose: 0.6}\n"
        "    peer_support: {n_sessions: 12}\n"
        "outcomes:\n  published: {source: my trial, figures: []}\n"
        "calibration: null\n",
        "child.yaml",
    )
    s = load_scenario(child)
    peer = s.arms[1]
    assert [a.name for a in s.arms] == ["control", "peer"]
    assert peer.peer_support.n_sessions == 12 and peer.peer_support.interval_days == 7
    assert peer.effect.mechanism == "dose_response"  # a new mechanism: replaced whole
    assert s.outcomes.published.source == "my trial" and s.outcomes.published.p_readmitted == {}
    assert s.calibration is None
    bad = write(tmp_path, "base: base.yaml\narms:\n  pear: {description: x}\n", "bad.yaml")
    with pytest.raises(ConfigError) as info:
        load_scenario(bad)
    assert "arms.pear (line 3): names no arm of base.yaml" in str(info.value)
    typo = write(tmp_path, "base: base.yaml\narms:\n  peer: {efect: {}}\n", "typo.yaml")
    with pytest.raises(ConfigError) as info:
        load_scenario(typo)
    assert "arms.1.efect (line 3)" in str(info.value), str(info.value)


def test_an_inherited_calibration_naming_a_dropped_arm_says_how_to_drop_it(tmp_path: Path) -> None:
    base = doc(
        TRIAL,
        **{"calibration": PEER_CALIBRATION},
    )
    write(tmp_path, base, "base.yaml")
    child = write(
        tmp_path,
        "base: base.yaml\narms: [{name: control}, {name: other}]\n"
        "feed: {allocation: {control: 1, other: 1}}\n",
        "child.yaml",
    )
    with pytest.raises(ConfigError) as info:
        load_scenario(child)
    assert "calibration.targets.0.arm" in str(info.value) and "`calibration: null`" in str(
        info.value
    )


@pytest.mark.parametrize(
    ("breaks", "rates", "rule"),
    [
        ([0, 30], [0.01], "same length"),
        ([5, 30], [0.01, 0.002], "start at 0"),
        ([0, 30, 30], [0.01, 0.002, 0.001], "increasing"),
        ([0, 30], [0.01, -0.1], "greater than or equal to 0"),
    ],
)
def test_piecewise_rules(tmp_path: Path, breaks: list, rates: list, rule: str) -> None:
    base = {"dist": "piecewise", "breaks_days": breaks, "rates_per_day": rates}
    msg = error_of(tmp_path, doc(TRIAL, **{"readmission.baseline": base}))
    assert "readmission.baseline" in msg and rule in msg


def test_offer_to_unknown_risk_group(tmp_path: Path) -> None:
    msg = error_of(tmp_path, doc(TRIAL, **{"arms.1.peer_support.risk_groups": ["high"]}))
    assert "arms.1.peer_support.risk_groups" in msg and "unknown risk group" in msg


def test_effect_needs_an_offer(tmp_path: Path) -> None:
    msg = error_of(
        tmp_path, doc(TRIAL, **{"arms.0.effect": {"mechanism": "itt", "hazard_ratio": 0.5}})
    )
    assert "arms.0" in msg and "needs a peer_support offer" in msg


def test_duplicate_arm_names(tmp_path: Path) -> None:
    d = doc(SERVICE)
    d["arms"][1]["name"] = "control"
    assert "unique" in error_of(tmp_path, d)


def test_rate_changes_in_order(tmp_path: Path) -> None:
    changes = [{"from_day": 100, "per_week": 5}, {"from_day": 50, "per_week": 8}]
    msg = error_of(tmp_path, doc(SERVICE, **{"feed.rate_changes": changes}))
    assert "feed" in msg and "increasing" in msg


def test_negative_seed(tmp_path: Path) -> None:
    assert "seed" in error_of(tmp_path, doc(TRIAL, seed=-1))


def test_base_file_merges_and_reports_the_overriding_file(tmp_path: Path) -> None:
    write(tmp_path, doc(SERVICE), "base.yaml")
    child = write(
        tmp_path, "base: base.yaml\nname: child\npeer_workers:\n  count: 7\n", "child.yaml"
    )
    s = load_scenario(child)
    assert s.name == "child" and s.peer_workers.count == 7
    assert s.peer_workers.caseload_per_worker == 5, "unchanged fields come from the base"
    bad = write(tmp_path, "base: base.yaml\npeer_workers:\n  count: -1\n", "bad.yaml")
    with pytest.raises(ConfigError) as info:
        load_scenario(bad)
    assert str(info.value).startswith(str(bad)) and "peer_workers.count (line 3)" in str(info.value)


def test_base_cycle(tmp_path: Path) -> None:
    write(tmp_path, "base: b.yaml\n", "a.yaml")
    write(tmp_path, "base: a.yaml\n", "b.yaml")
    with pytest.raises(ConfigError, match="cycle"):
        load_scenario(tmp_path / "a.yaml")


def test_base_missing(tmp_path: Path) -> None:
    path = write(tmp_path, "base: gone.yaml\nname: x\n")
    with pytest.raises(ConfigError, match="gone.yaml: no such file"):
        load_scenario(path)


def test_yaml_cannot_construct_python_objects(tmp_path: Path) -> None:
    msg = error_of(tmp_path, "name: !!python/object/apply:os.system ['echo hi']\n")
    assert "malformed YAML" in msg


# YAML 1.1's traps, which PyYAML falls into and YAML 1.2 (the loader here) does not:
# each is now a string, which the schema refuses where a number or a boolean is expected.
TRAPS = [
    ("feed.recruitment_days", "7:58", "valid number"),  # 1.1: base 60, 478
    ("seed", "on", "valid integer"),  # 1.1: True, so seed 1
    ("replications", "yes", "valid integer"),
    ("arms.1.peer_support.reoffer_after_readmission", "yes", "valid boolean"),
    ("arms.1.peer_support.reoffer_after_readmission", "off", "valid boolean"),
    ("arms.1.peer_support.reoffer_after_readmission", "1", "valid boolean"),
]


@pytest.mark.parametrize("field, text, rule", TRAPS, ids=[f"{f}={t}" for f, t, _ in TRAPS])
def test_yaml_1_1_traps_are_refused(tmp_path: Path, field: str, text: str, rule: str) -> None:
    d = doc(TRIAL, **{field: "PLACEHOLDER"})
    source = yaml.safe_dump(d, sort_keys=False).replace("PLACEHOLDER", text)
    message = error_of(tmp_path, source)
    assert f"{field} (line " in message and rule in message, message


def test_yaml_1_2_numbers_and_booleans_mean_what_they_say(tmp_path: Path) -> None:
    d = doc(TRIAL, **{"feed.recruitment_days": "A", "seed": "B", "feed.n_patients": "C"})
    d["arms"][1]["peer_support"]["reoffer_after_readmission"] = "D"
    text = yaml.safe_dump(d, sort_keys=False)
    for key, value in {"A": "478.5", "B": "010", "C": "0x20", "D": "true"}.items():
        text = text.replace(f"'{key}'", value).replace(f" {key}\n", f" {value}\n")
    s = load_scenario(write(tmp_path, text))
    assert s.feed.recruitment_days == 478.5 and s.seed == 10 and s.feed.n_patients == 32
    assert s.arms[1].peer_support.reoffer_after_readmission is True


def test_every_mistake_is_listed_with_a_suggestion_for_typos(tmp_path: Path) -> None:
    d = doc(TRIAL, **{"attendance.p_never_engage": 1.5, "readmission.baseline.shape": -1})
    d["seeed"] = d.pop("seed")
    d["arms"][1]["peer_support"]["n_sesions"] = d["arms"][1]["peer_support"].pop("n_sessions")
    path = write(tmp_path, d)
    with pytest.raises(ConfigError) as info:
        load_scenario(path)
    lines = str(info.value).splitlines()
    text = path.read_text()
    assert len(lines) == 4, lines
    assert all(x.startswith(f"{path}: ") for x in lines)
    expected = [
        f"seeed (line {line_of(text, 'seeed')}) = 11: unknown field; did you mean 'seed'?",
        f"readmission.baseline.shape (line {line_of(text, 'shape')}) = -1",
        f"attendance.p_never_engage (line {line_of(text, 'p_never')}) = 1.5",
        f"arms.1.peer_support.n_sesions (line {line_of(text, 'n_sesions')}) = 10: unknown "
        "field; did you mean 'n_sessions'?",
    ]
    for want in expected:
        assert sum(want in x for x in lines) == 1, (want, lines)
    numbers = [int(x.split("(line ")[1].split(")")[0]) for x in lines]
    assert numbers == sorted(numbers), "in the file's order"
    assert not any("required field is missing" in x for x in lines)  # the typo says it


def test_a_far_off_key_gets_no_suggestion_and_the_list_is_capped(tmp_path: Path) -> None:
    d = doc(TRIAL)
    d["xyzzy"] = 1
    assert error_of(tmp_path, d).endswith(": xyzzy (line 50) = 1: unknown field")
    for i in range(30):
        d[f"unknown_{i}"] = i
    path = write(tmp_path, d, "many.yaml")
    with pytest.raises(ConfigError) as info:
        load_scenario(path)
    lines = str(info.value).splitlines()
    assert len(lines) == 21 and lines[-1] == f"{path}: ... and 11 more"


def test_arm_changes_survive_the_resolved_file_and_variants(tmp_path: Path) -> None:
    # an arm's changes hold only what was given: written back (the resolved scenario, a
    # variant) they must mean the same, not "every field at its default"
    from sim.config import variant

    d = doc(
        TRIAL,
        **{
            "arms.peer.acute_care": {"ward": {"length_of_stay": {"dist": "fixed", "days": 3}}},
            "arms.peer.attendance": {"p_never_engage": 0.4},
        },
    )
    s = load_scenario(write(tmp_path, d))
    again = load_scenario(write(tmp_path, yaml.safe_load(resolved_yaml(s)), "resolved.yaml"))
    seeded = variant(s, {"seed": 99})
    for other in (again, seeded):
        assert other.acute_care_of(other.arms[1]) == s.acute_care_of(s.arms[1])
        assert other.attendance_of(other.arms[1]) == s.attendance_of(s.arms[1])
    assert s.acute_care_of(s.arms[1]).ward.capacity == 5, "capacity is the scenario's"
    assert s.attendance_of(s.arms[1]).disengage_after_missed == 3
    # a change to a block the arm left out makes it
    made = variant(s, {"arms.control.acute_care.p_ward": 1.0}, "--set")
    assert made.acute_care_of(made.arms[0]).p_ward == 1.0
    assert made.acute_care_of(made.arms[1]).p_ward == 0.5


def test_a_scenario_remembers_its_file_and_no_file_is_read_twice(monkeypatch) -> None:
    import pickle

    from sim.config import field_notes, load_scenarios, variant

    here = Path(__file__).parents[1] / "scenarios"
    reads: list[str] = []
    read_bytes = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda p: reads.append(p.name) or read_bytes(p))
    monkeypatch.setattr(Path, "read_text", lambda p, *a, **k: pytest.fail(f"{p} read again"))
    base, whatif = load_scenarios(
        [here / "service-baseline.yaml", here / "service-more-workers.yaml"]
    )
    # the what-if's base is the first file: read once for both
    assert sorted(reads) == ["service-baseline.yaml", "service-more-workers.yaml"]
    assert whatif.source.path.name == "service-more-workers.yaml"
    assert [p.name for p in whatif.source.texts] == [
        "service-more-workers.yaml",
        "service-baseline.yaml",
    ]
    # the notes, a variant's notes and the file's own document come from what was read
    notes = field_notes(whatif)
    assert ("peer_workers.count", "service-more-workers.yaml") in {(f, n) for f, n, _, _ in notes}
    assert ("acute_care.crt.capacity", "service-baseline.yaml") in {(f, n) for f, n, _, _ in notes}
    seeded = variant(base, {"seed": 1}, "--seed")
    assert seeded.source is base.source and field_notes(seeded) == field_notes(base)
    own, lines = whatif.source.own()
    assert "base" in own and ("peer_workers", "count") in lines
    assert len(reads) == 2
    # where a scenario came from is not what it is: equal to the same fields made in
    # memory, and left behind when it is sent to a worker
    again = Scenario.model_validate(base.model_dump())
    assert again == base and again.source is None
    assert pickle.loads(pickle.dumps(base)).source is None


def test_an_item_that_fails_is_the_first_line_not_the_list_it_empties(tmp_path: Path) -> None:
    bad = {**PEER_CALIBRATION["targets"][0], "summary": "sd"}
    message = error_of(tmp_path, doc(TRIAL, calibration={**PEER_CALIBRATION, "targets": [bad]}))
    first = message.splitlines()[0]
    assert "calibration.targets.0.summary" in first and "'mean' or 'median'" in first, message
    assert "at least 1 item" not in message


def test_a_published_figure_carries_its_own_source_on_one_line(tmp_path: Path) -> None:
    figure = {
        "statistic": "p_readmitted",
        "arm": "control",
        "horizon_days": 120,
        "value": 0.2,
        "derived": True,
        "source": "worked out from\n  table 2:\n  20/100",
    }
    path = write(
        tmp_path,
        doc(TRIAL, **{"outcomes.published": {"source": "the paper", "figures": [figure]}}),
    )
    from sim import api

    table = api.run(load_scenario(path), replications=2, jobs=1).published
    row = table.set_index("horizon_days").loc[120]
    assert row["source"] == "worked out from table 2: 20/100" and bool(row["derived"])


def test_an_arm_may_lose_people_to_follow_up_at_its_own_rate(tmp_path: Path) -> None:
    from sim import api

    d = doc(TRIAL, **{"feed.n_patients": 400, "competing": {"loss_to_follow_up_per_year": 0.0}})
    d["arms"][1]["loss_to_follow_up_per_year"] = 2.0  # most of the peer arm lost in a year
    s = load_scenario(write(tmp_path, d))
    summary = api.run(s, replications=2, jobs=1).summary.set_index(["arm", "metric"])
    assert summary.loc[("control", "p_lost"), "mean"] == 0.0
    assert summary.loc[("peer", "p_lost"), "mean"] > 0.5
