"""Baselines and the hazard clock against closed forms and numeric integrals."""

from __future__ import annotations

import math

import pytest
from scipy import integrate

from sim.hazards import Exponential, LogLogistic, Piecewise, Weibull
from sim.model.clock import Clock

BASELINES = {
    "exponential": Exponential(0.004),
    "weibull<1": Weibull(0.57, 1307.0),
    "weibull>1": Weibull(1.8, 400.0),
    "loglogistic": LogLogistic(1.4, 200.0),
    "piecewise": Piecewise((0.0, 30.0, 90.0), (0.004, 0.0015, 0.0005)),
    "piecewise-flat-tail": Piecewise((0.0, 30.0), (0.004, 0.0)),
}


@pytest.mark.parametrize("name", BASELINES)
@pytest.mark.parametrize("u", [0.5, 10.0, 30.0, 89.9, 365.0, 2000.0])
def test_inverse_undoes_cumulative(name: str, u: float) -> None:
    hz = BASELINES[name]
    x = hz.H(u)
    if name == "piecewise-flat-tail" and u > 30:
        assert hz.H_inv(x) == pytest.approx(30.0)  # the smallest u reaching x
    else:
        assert hz.H_inv(x) == pytest.approx(u, rel=1e-12)


@pytest.mark.parametrize("name", BASELINES)
def test_cumulative_is_integral_of_hazard(name: str) -> None:
    hz = BASELINES[name]
    for a, b in [(1.0, 20.0), (20.0, 100.0), (100.0, 700.0)]:
        numeric = integrate.quad(hz.h, a, b, points=[30.0, 90.0], limit=200)[0]
        assert hz.H(b) - hz.H(a) == pytest.approx(numeric, rel=1e-7)


def test_flat_tail_is_never_reached() -> None:
    hz = BASELINES["piecewise-flat-tail"]
    assert hz.H_inv(hz.H(30.0) + 1e-3) == math.inf


def test_clock_constant_hazard_closed_form() -> None:
    # exponential rate 0.01, c = 2: readmission at budget / (c * rate)
    clock = Clock(Exponential(0.01), 2.0, 100.0, 0.5)
    assert clock.run(100.0, 1000.0) == pytest.approx(125.0)


def test_clock_keeps_what_was_spent_across_a_level_change() -> None:
    # rate 0.01; ratio 0.5 for 40 days from the start, then 1. Spent by 40: 0.2
    # budget 0.5: remaining 0.3 at rate 0.01 -> 30 more days: t = 70
    clock = Clock(Exponential(0.01), 1.0, 0.0, 0.5)
    clock.set_effect(0.5, 40.0, None)
    assert clock.run(0.0, 10.0) == math.inf
    assert clock.remaining == pytest.approx(0.45)
    assert clock.run(10.0, 500.0) == pytest.approx(70.0)


def test_clock_waning_matches_closed_form() -> None:
    # exponential rate r, ratio g after window w, waning half-life T:
    # spent(t) = r*[w*g + (t-w) - (1-g)*T/ln2*(1 - 2^{-(t-w)/T})]
    r, g, w, half = 0.01, 0.4, 50.0, 30.0
    budget = 1.2
    clock = Clock(Exponential(r), 1.0, 0.0, budget)
    clock.set_effect(g, w, half)
    t = clock.run(0.0, 5000.0)

    def spent(x: float) -> float:
        return r * (w * g + (x - w) - (1 - g) * half / math.log(2) * (1 - 2 ** (-(x - w) / half)))

    assert spent(t) == pytest.approx(budget, rel=1e-8)


def test_peek_spends_nothing() -> None:
    clock = Clock(Weibull(0.57, 1307.0), 1.0, 0.0, 0.3)
    t = clock.peek(0.0, 5000.0)
    assert clock.remaining == 0.3 and clock.run(0.0, 5000.0) == t
