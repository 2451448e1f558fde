"""Decision analysis against closed forms and hand-worked examples."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats

from sim.analysis import decision as dn


def test_a_constant_stream_discounts_to_its_closed_form() -> None:
    for rate in (0.0, 0.035, 0.1):
        for t0, t1 in ((0.0, 1.0), (0.5, 10.0), (3.0, 3.25)):
            want = integrate.quad(lambda t, r=rate: 1200.0 * (1 + r) ** -t, t0, t1)[0]
            assert dn.discounted_stream(1200.0, t0, t1, rate) == pytest.approx(want, rel=1e-10)
    # ten yearly cohorts of 100 at 3.5%: 100 * (1 - 1.035^-10) / (1 - 1/1.035)
    want = 100 * (1 - 1.035**-10) / (1 - 1 / 1.035)
    assert dn.discounted_population(100, 10, 0.035) == pytest.approx(want)
    assert dn.discount_factor(2.0, 0.035) == pytest.approx(1 / 1.035**2)


def test_incremental_analysis_labels_a_hand_worked_example() -> None:
    # A (0, 0); B (100, 1); C (150, 0.9): dearer than B and less effective, dominated;
    # D (300, 1.5): ICER vs B 400; E (500, 2.5): ICER vs D 200 < 400, so D is extendedly
    # dominated and E's ICER is against B: 400 / 1.5
    t = dn.incremental_analysis(
        ["E", "C", "A", "D", "B"], [500, 150, 0, 300, 100], [2.5, 0.9, 0, 1.5, 1.0]
    ).set_index("strategy")
    assert list(t.index) == ["A", "B", "C", "D", "E"]
    assert t["status"].to_dict() == {
        "A": "reference",
        "B": "frontier",
        "C": "dominated",
        "D": "extendedly dominated",
        "E": "frontier",
    }
    assert t.loc["C", "compared_with"] == "B"
    assert t.loc["B", "icer"] == pytest.approx(100.0)
    assert t.loc["E", "compared_with"] == "B" and t.loc["E", "icer"] == pytest.approx(400 / 1.5)
    assert t["icer"].dropna().gt(0).all(), "never a negative ICER"
    assert np.isnan(t.loc[["A", "C", "D"], "icer"]).all()


def test_a_cheaper_better_strategy_is_dominant_never_a_negative_icer() -> None:
    t = dn.incremental_analysis(["usual", "peer"], [1000, 900], [1.0, 1.1]).set_index("strategy")
    assert t.loc["peer", "status"] == "reference" and t.loc["usual", "status"] == "dominated"
    assert dn.versus_baseline(900, 1.1, 1000, 1.0) == "dominant"
    assert dn.versus_baseline(1100, 0.9, 1000, 1.0) == "dominated"
    assert dn.versus_baseline(1200, 1.1, 1000, 1.0) == "ICER 2,000 (more effective, dearer)"
    assert dn.versus_baseline(800, 0.9, 1000, 1.0) == "ICER 2,000 (less effective, cheaper)"


def test_the_acceptability_curve_sums_to_one_and_counts_the_winners() -> None:
    rng = np.random.default_rng(1)
    cost = rng.normal([1000, 1200, 1500], 200, size=(4000, 3))
    effect = rng.normal([1.0, 1.02, 1.05], 0.03, size=(4000, 3))
    wtp = [0, 10_000, 20_000, 30_000, 50_000]
    frame = dn.ceac(cost, effect, wtp, strategies=["a", "b", "c"])
    assert list(frame.columns) == ["a", "b", "c"] and list(frame.index) == wtp
    assert frame.index.name == "willingness_to_pay"
    curve = frame.to_numpy()
    assert curve.sum(axis=1) == pytest.approx(np.ones(len(wtp)))
    for w, lam in enumerate(wtp):
        nb = lam * effect - cost
        for k in range(3):
            assert curve[w, k] == np.mean(nb.argmax(axis=1) == k)
    chosen, share = dn.ceaf(cost, effect, wtp)
    for w, lam in enumerate(wtp):
        assert chosen[w] == np.argmax((lam * effect - cost).mean(axis=0))
        assert share[w] == curve[w, chosen[w]]


@pytest.mark.parametrize(("mu", "sigma"), [(0.0, 1000.0), (300.0, 1000.0), (-800.0, 500.0)])
def test_evpi_matches_the_closed_form_for_normal_incremental_net_benefit(mu, sigma) -> None:
    # two options, incremental net benefit ~ N(mu, sigma): EVPI = sigma phi(mu/sigma)
    # - |mu| Phi(-|mu|/sigma); tolerance 4 Monte Carlo standard errors of the estimate
    rng = np.random.default_rng(7)
    inb = rng.normal(mu, sigma, 400_000)
    nb = np.column_stack([np.zeros_like(inb), inb])
    want = sigma * stats.norm.pdf(mu / sigma) - abs(mu) * stats.norm.cdf(-abs(mu) / sigma)
    loss = np.maximum(inb, 0) - (inb if inb.mean() > 0 else 0.0)
    se = loss.std(ddof=1) / math.sqrt(len(inb))
    assert abs(dn.evpi(nb) - want) < 4 * se, (dn.evpi(nb), want, se)


def _two_parameter_decision(n: int = 3000, seed: int = 3):
    rng = np.random.default_rng(seed)
    phi = rng.normal(0.0, 1.0, n)  # moves the decision
    psi = rng.uniform(0.0, 1.0, n)  # the model does not use it
    noise = rng.normal(0.0, 200.0, n)
    inb = 150.0 + 600.0 * phi + 200.0 * np.sin(phi) + noise
    return np.column_stack([np.zeros(n), inb]), phi, psi


def test_evppi_of_the_only_uncertain_parameter_equals_evpi() -> None:
    nb, phi, _ = _two_parameter_decision()
    only = nb.copy()
    only[:, 1] = 150.0 + 600.0 * phi + 200.0 * np.sin(phi)  # no other uncertainty
    total = dn.evpi(only)
    part = dn.evppi(only, phi)
    assert abs(part.value - total) < max(3 * part.se, 1e-3 * total), (part, total)


def test_evppi_never_exceeds_evpi_and_an_unused_parameter_gets_none() -> None:
    nb, phi, psi = _two_parameter_decision()
    total = dn.evpi(nb)
    used, unused = dn.evppi(nb, phi), dn.evppi(nb, psi)
    both = dn.evppi(nb, np.column_stack([phi, psi]))
    assert used.value <= total and unused.value <= total and both.value <= total
    assert used.value > 0.8 * total  # phi carries nearly all the decision uncertainty
    assert unused.value < 3 * unused.se + 1e-9, unused


def test_a_groups_evppi_takes_in_the_interaction_of_its_parameters() -> None:
    # incremental net benefit x1 * x2 plus noise, x1 and x2 independent standard normals:
    # neither alone says anything about the decision (E(x1 x2 | x1) = 0), together they
    # say everything E(INB | x) can. The target is the same statistic computed from the
    # true E(INB | x) = x1 x2 on these samples.
    rng = np.random.default_rng(11)
    n = 1000
    x = rng.normal(size=(n, 3))
    inb = x[:, 0] * x[:, 1] + rng.normal(0, 0.5, n)
    nb = np.column_stack([np.zeros(n), inb])
    exact = np.column_stack([np.zeros(n), x[:, 0] * x[:, 1]])
    target = float(exact.max(axis=1).mean() - exact.mean(axis=0).max())
    group = dn.evppi(nb, x[:, :2])  # a Gaussian process (the default for a group)
    assert abs(group.value - target) < 3 * group.se, (group, target)
    additive = dn.evppi(nb, x[:, :2], method="gam")  # the additive GAM misses it
    assert additive.value < target / 3, (additive, target)
    # a group of two parameters the net benefit does not depend on: nothing to learn
    noise = np.column_stack([np.zeros(n), rng.normal(0, 0.5, n)])
    pair = dn.evppi(noise, np.column_stack([x[:, 2], rng.normal(size=n)]))
    assert pair.value < 3 * pair.se + 1e-9, pair
    assert group.value <= dn.evpi(nb) and pair.value <= dn.evpi(noise)
