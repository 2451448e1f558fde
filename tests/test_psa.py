"""Probabilistic sensitivity analysis: reproducible, consistent with plain runs, and its
decomposition and decision table recomputable from its own table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers import ECONOMICS, SERVICE, cli, doc

from sim import api
from sim.config import scenario_from_dict
from sim.studies.psa import OUTCOMES, decision_table, psa, variance_decomposition


def service(parameters: list[dict]):
    d = doc(
        SERVICE,
        **{
            "feed.run_days": 200,
            "economics": ECONOMICS,
            "costs": {},
            "uncertainty": {"parameters": parameters},
        },
    )
    return scenario_from_dict(d)


UNCERTAIN = [
    {
        "dist": "ratio_ci",
        "path": "arms.peer.effect.hazard_ratio",
        "value": 0.7,
        "ci_low": 0.5,
        "ci_high": 0.98,
        "source": "test",
    },
    {"dist": "gamma", "path": "costs.ward_bed_day", "mean": 700, "sd": 100, "source": "test"},
]


def test_same_seed_same_table_serial_or_processes() -> None:
    s = service(UNCERTAIN)
    serial = psa(s, samples=6, replications=2, jobs=1)
    parallel = psa(s, samples=6, replications=2, jobs=2)
    pd.testing.assert_frame_equal(serial.table, parallel.table)
    assert list(serial.table["policy"].unique()) == ["control", "peer"]
    assert set(OUTCOMES) <= set(serial.table.columns)
    assert len(serial.table) == 6 * 2


def test_degenerate_distributions_reproduce_a_plain_run() -> None:
    # every distribution fixed at the scenario's own value: each set is the scenario,
    # and set s runs replications 2s and 2s + 1, so its outcomes are those of a plain
    # run's replications, one for one
    fixed = [
        {
            "dist": "normal",
            "path": "arms.peer.effect.hazard_ratio",
            "mean": 0.7,
            "sd": 0,
            "source": "t",
        },
        {"dist": "normal", "path": "costs.ward_bed_day", "mean": 719.10, "sd": 0, "source": "t"},
    ]
    s = service(fixed)
    res = psa(s, samples=3, replications=2, jobs=1)
    plain = api.run(s, replications=6, jobs=1).metrics
    for name, metric in OUTCOMES.items():
        m = plain[plain["metric"] == metric]
        for sample in range(3):
            mine = m[m["replication"].isin([2 * sample, 2 * sample + 1])]
            want = mine.groupby("arm", sort=False)["value"].mean()
            got = res.table[res.table["sample"] == sample].set_index("policy")[name]
            pd.testing.assert_series_equal(got, want.rename(name), check_names=False, rtol=1e-12)


def test_the_decomposition_and_the_decision_table_follow_from_the_table() -> None:
    s = service(UNCERTAIN)
    res = psa(s, samples=8, replications=3, jobs=1)
    dec = variance_decomposition(res)
    per = res.per_replication
    g = per[per["policy"] == "peer"].groupby("sample")["cost"]
    row = dec[(dec["policy"] == "peer") & (dec["outcome"] == "cost")].iloc[0]
    assert row.variance_of_set_means == pytest.approx(g.mean().var(ddof=1))
    assert row.monte_carlo_part == pytest.approx(g.var(ddof=1).mean() / 3)
    table = decision_table(res)
    for lam in (20000, 30000):
        assert table[f"p_cost_effective_at_{lam}"].sum() == pytest.approx(1.0)
        cost = res.table.pivot(index="sample", columns="policy", values="cost")
        qalys = res.table.pivot(index="sample", columns="policy", values="qalys")
        nb = lam * qalys - cost
        best = nb.idxmax(axis=1)
        for policy in ("control", "peer"):
            got = table.set_index("strategy").loc[policy, f"p_cost_effective_at_{lam}"]
            assert got == np.mean(best == policy)


def _files(tmp_path, parameters=UNCERTAIN):
    import yaml

    s = service(parameters)
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(s.model_dump(mode="json"), sort_keys=False))
    return s, path


def test_the_command_writes_the_tables_and_figures(tmp_path) -> None:
    s, path = _files(tmp_path)
    out = tmp_path / "psa"
    res = cli(
        "psa",
        str(path),
        "--samples",
        "6",
        "--reps",
        "2",
        "--dsa-reps",
        "2",
        "--out",
        str(out),
        "--jobs",
        "1",
    )
    assert res.returncode == 0, res.stderr
    assert "probability cost-effective" in res.stdout and "Monte Carlo noise" in res.stdout
    assert "One-way sensitivity" in res.stdout
    names = {p.name for p in out.iterdir()}
    assert {
        "dsa.csv",
        "tornado.csv",
        "tornado.png",
        "psa.parquet",
        "psa_replications.parquet",
        "decision.csv",
        "variance.csv",
        "parameters.csv",
        "ce_plane.png",
        "ceac.png",
        "manifest.json",
        "scenario.resolved.yaml",
    } <= names
    table = pd.read_parquet(out / "psa.parquet")
    want = psa(s, samples=6, replications=2, jobs=1).table
    pd.testing.assert_frame_equal(table, want, check_dtype=False, rtol=1e-12)
    params = pd.read_csv(out / "parameters.csv")
    assert "log-SD" in params.loc[0, "distribution"] and params.loc[0, "source"] == "test"


def test_mistakes_are_one_line_with_exit_code_2(tmp_path) -> None:
    import yaml

    plain = tmp_path / "plain.yaml"
    plain.write_text(yaml.safe_dump(doc(SERVICE), sort_keys=False))
    res = cli(
        "psa",
        str(plain),
        "--samples",
        "4",
        "--out",
        str(tmp_path / "o"),
    )
    assert res.returncode == 2 and "declares no uncertainty block" in res.stderr
    assert "Traceback" not in res.stderr and not (tmp_path / "o").exists()
    _, path = _files(tmp_path)
    res = cli(
        "psa",
        str(path),
        str(path),
        "--samples",
        "4",
        "--out",
        str(tmp_path / "o"),
    )
    assert res.returncode == 2 and "policy names must differ" in res.stderr
    # a parameter set the schema refuses: named, before the directory is made
    wide = {"dist": "normal", "path": "readmission.baseline.scale_days", "mean": 50, "sd": 100}
    _, path = _files(tmp_path, [{**wide, "source": "test"}])
    res = cli("psa", str(path), "--samples", "20", "--out", str(tmp_path / "o"))
    assert res.returncode == 2 and "set 1: readmission.baseline.scale_days" in res.stderr
    assert "Traceback" not in res.stderr and not (tmp_path / "o").exists()


def test_evppi_ranks_the_parameter_that_moves_the_decision_first() -> None:
    from sim.studies.psa import evppi_table

    s = service(UNCERTAIN)
    res = psa(s, samples=40, replications=1, jobs=1)
    e = evppi_table(res)
    first = e[e["threshold"] == 20000]
    assert list(first["parameter"]) == ["arms.peer.effect.hazard_ratio", "costs.ward_bed_day"]
    assert (first["evpi"] == first["evpi"].iloc[0]).all()
    # the ward's unit cost barely moves the incremental net benefit: EVPPI near nothing
    ward = first.set_index("parameter").loc["costs.ward_bed_day"]
    assert ward.evppi <= 3 * ward.se + 1e-6 * ward.evpi


def test_a_named_groups_evppi_is_reported_and_bounded() -> None:
    from sim.config import variant
    from sim.studies.psa import evppi_table

    s = service(UNCERTAIN)
    paths = [p["path"] for p in UNCERTAIN]
    s = variant(s, {"uncertainty.groups": {"both": paths}}, "test")
    res = psa(s, samples=40, replications=1, jobs=1)
    e = evppi_table(res)
    first = e[e["threshold"] == 20000].set_index("parameter")
    both = first.loc["both"]
    assert both.fields == " + ".join(paths)
    # never more than the EVPI (which also holds the Monte Carlo noise of one replication
    # a set); at least what the larger one alone is worth
    assert both.evppi <= both.evpi + 1e-9
    assert both.evppi >= first["evppi"].drop(both.name).max() - 3 * both.se, first


def test_the_net_benefit_decomposition_pairs_each_inner_replication() -> None:
    s = service(UNCERTAIN)
    res = psa(s, samples=6, replications=2, jobs=1)
    dec = variance_decomposition(res).set_index(["policy", "outcome"])
    row = dec.loc[("peer", "net_benefit_vs_control_at_20000")]
    per = res.per_replication
    nb = 20000 * per["qalys"] - per["cost"]
    wide = nb.groupby([per["sample"], per["inner"], per["policy"]]).first().unstack()
    inb = (wide["peer"] - wide["control"]).groupby(level="sample")
    assert row.variance_of_set_means == pytest.approx(inb.mean().var(ddof=1))
    assert row.monte_carlo_part == pytest.approx(inb.var(ddof=1).mean() / 2)


def test_the_decision_table_per_person_per_population_and_per_readmission() -> None:
    from sim.analysis.decision import discounted_population

    s = service(UNCERTAIN)
    s = scenario_from_dict(
        {**s.model_dump(mode="json"), "economics": {**ECONOMICS, "population_per_year": 500}}
    )
    res = psa(s, samples=8, replications=1, jobs=1)
    table = decision_table(res).set_index("strategy")
    t = res.table
    evpi = table["evpi_at_20000"].iloc[0]
    per_person = evpi / t["patients"].mean()
    assert table["evpi_per_person_at_20000"].iloc[0] == pytest.approx(per_person)
    want = per_person * discounted_population(500, 10, 0.035)
    assert table["evpi_population_at_20000"].iloc[0] == pytest.approx(want)
    means = t.groupby("policy")[["cost", "readmissions_per_year"]].mean()
    years = s.feed.run_days / 365.25
    averted = (
        means.loc["control", "readmissions_per_year"] - means.loc["peer", "readmissions_per_year"]
    ) * years
    assert table.loc["peer", "readmissions_averted"] == pytest.approx(averted)
    if averted > 0:
        extra = means.loc["peer", "cost"] - means.loc["control", "cost"]
        assert table.loc["peer", "discounted_cost_per_readmission_averted"] == pytest.approx(
            extra / averted
        )


def test_a_whatif_with_its_own_policy_names_takes_the_base_draws_through_a_star() -> None:
    shared = [{**UNCERTAIN[0], "path": "arms.*.effect.hazard_ratio"}, UNCERTAIN[1]]
    base = service(shared)
    d = base.model_dump(mode="json")
    d["name"] = "more"
    d["arms"] = [{**d["arms"][1], "name": "peer_more"}]
    d["peer_workers"]["count"] = 2 * d["peer_workers"]["count"]
    whatif = scenario_from_dict(d)
    r = psa(base, samples=3, replications=1, jobs=1, whatifs=(whatif,))
    assert list(r.table["policy"].unique()) == ["control", "peer", "peer_more"]
    # each set's hazard ratio reached both files' peer-support arms: the two policies
    # differ only by the number of workers
    hr = r.parameters["arms.*.effect.hazard_ratio"]
    assert hr.nunique() == 3
    # a what-if missing an exact path of the base is refused, saying why
    exact = service([UNCERTAIN[0], UNCERTAIN[1]])
    with pytest.raises(Exception, match="more: uncertainty.parameters.0.path.*every file"):
        psa(exact, samples=3, replications=1, jobs=1, whatifs=(whatif,))


def test_one_way_variants_sit_at_each_fields_percentiles() -> None:
    from scipy import stats

    from sim import uncertainty

    shares = {
        "dist": "dirichlet",
        "paths": ["population.risk_groups.0.share", "population.risk_groups.1.share"],
        "alpha": [70, 30],
        "source": "test",
    }
    joint = {
        "dist": "multivariate_normal",
        "paths": ["costs.ward_bed_day", "costs.crt_contact"],
        "mean": [700, 350],
        "sd": [70, 35],
        "correlation": [[1, 0.5], [0.5, 1]],
        "source": "test",
    }
    d = doc(SERVICE, **{"feed.run_days": 200, "economics": ECONOMICS, "costs": {}})
    d["population"] = {
        "risk_groups": [
            {"name": "low", "share": 0.6, "hazard_ratio": 1.0},
            {"name": "high", "share": 0.4, "hazard_ratio": 2.0},
        ]
    }
    d["uncertainty"] = {"parameters": [UNCERTAIN[0], shares, joint]}
    s = scenario_from_dict(d)
    plan = uncertainty.one_way(s)
    assert [(f, q) for f, q, _, _ in plan] == [
        (f, q)
        for f in [
            "arms.peer.effect.hazard_ratio",
            *shares["paths"],
            *joint["paths"],
        ]
        for q in (0.025, 0.975)
    ]
    by = {(f, q): (v, c) for f, q, v, c in plan}
    sigma = (np.log(0.98) - np.log(0.5)) / (2 * 1.959963984540054)
    v, c = by[("arms.peer.effect.hazard_ratio", 0.025)]
    assert v == pytest.approx(0.7 * np.exp(-1.959963984540054 * sigma)) and c == {
        "arms.peer.effect.hazard_ratio": v
    }
    # a Dirichlet share at its beta margin's percentile; the other share makes up the rest
    v, c = by[("population.risk_groups.0.share", 0.975)]
    assert v == pytest.approx(stats.beta.ppf(0.975, 70, 30))
    assert c["population.risk_groups.1.share"] == pytest.approx(1 - v)
    # a correlated field at its normal margin's percentile, the other at its conditional mean
    v, c = by[("costs.ward_bed_day", 0.975)]
    assert v == pytest.approx(700 + 1.959963984540054 * 70)
    assert c["costs.crt_contact"] == pytest.approx(350 + 0.5 * 35 * 1.959963984540054)
    at = uncertainty.apply(s, c)  # every variant is a valid scenario
    assert sum(g.share for g in at.population.risk_groups) == pytest.approx(1)


def test_the_one_way_table_is_plain_runs_and_the_tornado_follows_from_it() -> None:
    from sim import uncertainty
    from sim.studies.dsa import BASE, dsa

    s = service(UNCERTAIN)
    r = dsa(s, replications=2, jobs=1)
    t = r.table
    assert len(t) == (1 + 2 * 2) * 2  # (base + 2 fields x 2 ends) x 2 policies
    # the base case is the scenario's replications 0 and 1, the same draws for every variant
    plain = api.run(s, replications=2, jobs=1).metrics
    costs = plain[plain["metric"] == "cost_discounted"].groupby("arm", sort=False)["value"].mean()
    base = t[t["field"] == BASE].set_index("policy")
    assert base["cost"].to_dict() == pytest.approx(costs.to_dict(), rel=1e-12)
    field, q, v, changes = uncertainty.one_way(s)[3]  # the bed-day cost at its 97.5th
    high = api.run(uncertainty.apply(s, changes), replications=2, jobs=1).metrics
    want = high[high["metric"] == "cost_discounted"].groupby("arm", sort=False)["value"].mean()
    got = t[(t["field"] == field) & (t["quantile"] == q)].set_index("policy")["cost"]
    assert got.to_dict() == pytest.approx(want.to_dict(), rel=1e-12)
    # the tornado recomputed from the table: INB of peer vs control at the first threshold
    lam = s.economics.willingness_to_pay_per_qaly[0]
    nmb = t.assign(nmb=lam * t["qalys"] - t["cost"]).set_index(["field", "quantile", "policy"])[
        "nmb"
    ]
    bars = r.tornado.set_index("field")
    for f in ("arms.peer.effect.hazard_ratio", "costs.ward_bed_day"):
        lo, hi = sorted(t.loc[t["field"] == f, "quantile"].unique())
        inb = [nmb[(f, x, "peer")] - nmb[(f, x, "control")] for x in (lo, hi)]
        assert bars.loc[f, "outcome_at_low"] == pytest.approx(inb[0])
        assert bars.loc[f, "outcome_at_high"] == pytest.approx(inb[1])
        assert bars.loc[f, "width"] == pytest.approx(abs(inb[1] - inb[0]))
    assert list(r.tornado["width"]) == sorted(r.tornado["width"], reverse=True)
    # a lower hazard ratio helps peer support: its net benefit is higher at the low end
    hr = bars.loc["arms.peer.effect.hazard_ratio"]
    assert hr["outcome_at_low"] > hr["outcome_at_high"]


def test_a_parameter_set_that_breaks_a_rule_is_refused_before_anything_runs(monkeypatch) -> None:
    import sys

    from sim.errors import ConfigError

    module = sys.modules["sim.studies.psa"]

    # a normal with a wide spread gives some sets a negative scale, which the schema refuses
    wide = {"dist": "normal", "path": "readmission.baseline.scale_days", "mean": 50, "sd": 100}
    s = service([{**wide, "source": "test"}])
    ran = []
    monkeypatch.setattr(module, "run_chunks", lambda *a, **k: ran.append(1))
    with pytest.raises(ConfigError, match=r"set \d+"):
        psa(s, samples=20, replications=1, jobs=1)
    assert not ran
