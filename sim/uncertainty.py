"""Parameter uncertainty: draw sets of a scenario's uncertain fields, and apply them.

A scenario's ``uncertainty`` block gives a distribution for any numeric field by its
dotted path. :func:`draw` spreads ``n`` points over the unit hypercube (a Latin
hypercube or a scrambled Sobol sequence, ``scipy.stats.qmc``, seeded from the scenario
seed's ``psa`` stream) and maps each coordinate through the distribution's inverse CDF
(scipy.stats): one column per field, one row per parameter set. A Dirichlet group takes
one coordinate per share, each through a gamma inverse CDF, normalised to sum to one; a
multivariate normal takes one standard normal per field, correlated by a root of the
correlation matrix (a Gaussian copula: each margin normal, jointly correlated).
:func:`apply` makes the scenario at one set through :func:`sim.config.variant`, so a
set is held to every rule a scenario file is.

A path may hold ``*`` for "every item of this list": ``arms.*.effect.hazard_ratio`` is
one uncertain quantity (CORE's hazard ratio, say) shared by every arm that has the
field, so that a what-if whose policies have other names than the base's takes the same
draw (:func:`matches`).

Parameterisations (Briggs, Claxton and Sculpher, *Decision Modelling for Health Economic
Evaluation*, 2006, ch. 4): gamma by method of moments (shape (mean/sd)^2, scale
sd^2/mean); lognormal from the value's mean and SD (log-SD sqrt(ln(1 + sd^2/mean^2)),
log-mean ln(mean) - log-SD^2 / 2); a ratio's point estimate and 95% CI as a lognormal
with log-mean ln(value) and log-SD (ln(high) - ln(low)) / (2 x 1.96).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd

from sim.config import (
    BetaDist,
    ConfigError,
    DirichletDist,
    GammaDist,
    LognormalDist,
    MultivariateNormalDist,
    NormalDist,
    RatioCIDist,
    Scenario,
    UniformDist,
    field_keys,
    get_field,
    variant,
)
from sim.rng import study_stream

__all__ = [
    "columns",
    "columns_of",
    "describe",
    "matches",
    "check_paths",
    "draw",
    "apply",
    "one_way",
]

Z975 = 1.959963984540054


def columns(scenario: Scenario) -> list[str]:
    """The dotted paths the uncertainty block varies, in its order."""
    if scenario.uncertainty is None:
        return []
    out: list[str] = []
    for p in scenario.uncertainty.parameters:
        out.extend(columns_of(p))
    return out


def columns_of(p) -> tuple[str, ...]:
    """The dotted paths one entry of the uncertainty block varies."""
    return tuple(p.paths) if isinstance(p, DirichletDist | MultivariateNormalDist) else (p.path,)


def _lognormal_log_params(mean: float, sd: float) -> tuple[float, float]:
    s2 = math.log1p((sd / mean) ** 2)
    return math.log(mean) - s2 / 2, math.sqrt(s2)


def describe(p) -> str:
    """The distribution in words, with any parameters the tool derived."""
    if isinstance(p, BetaDist):
        return f"beta(alpha {p.alpha:g}, beta {p.beta:g}): mean {p.alpha / (p.alpha + p.beta):.4g}"
    if isinstance(p, GammaDist):
        shape, scale = (p.mean / p.sd) ** 2, p.sd**2 / p.mean
        return (
            f"gamma, mean {p.mean:g}, SD {p.sd:g} (derived: shape {shape:.4g}, scale {scale:.4g})"
        )
    if isinstance(p, LognormalDist):
        mu, sigma = _lognormal_log_params(p.mean, p.sd)
        return (
            f"lognormal, mean {p.mean:g}, SD {p.sd:g} "
            f"(derived: log-mean {mu:.4g}, log-SD {sigma:.4g})"
        )
    if isinstance(p, RatioCIDist):
        sigma = (math.log(p.ci_high) - math.log(p.ci_low)) / (2 * Z975)
        return (
            f"lognormal from the ratio {p.value:g} (95% CI {p.ci_low:g}-{p.ci_high:g}) "
            f"(derived: log-mean ln {p.value:g} = {math.log(p.value):.4g}, log-SD {sigma:.4g})"
        )
    if isinstance(p, NormalDist):
        return f"normal, mean {p.mean:g}, SD {p.sd:g}"
    if isinstance(p, UniformDist):
        return f"uniform on [{p.low:g}, {p.high:g}]"
    if isinstance(p, MultivariateNormalDist):
        return (
            f"multivariate normal of {len(p.paths)} fields, means "
            + ", ".join(f"{m:g}" for m in p.mean)
            + "; SDs "
            + ", ".join(f"{v:g}" for v in p.sd)
            + " (correlated)"
        )
    assert isinstance(p, DirichletDist)
    return "Dirichlet(" + ", ".join(f"{a:g}" for a in p.alpha) + ")"


def matches(doc, dotted: str) -> list[str]:
    """The concrete dotted paths (list items by index) of the numbers ``dotted`` names.

    ``*`` stands for every item of a list; items without the rest of the path are
    skipped. Without ``*``: the one path, or nothing if it names no number.
    """
    out: list[str] = []

    def walk(node, parts: list[str], prefix: tuple[str, ...]) -> None:
        if not parts:
            if isinstance(node, int | float) and not isinstance(node, bool):
                out.append(".".join(prefix))
            return
        head, rest = parts[0], parts[1:]
        if head == "*":
            if isinstance(node, list):
                for i, item in enumerate(node):
                    walk(item, rest, (*prefix, str(i)))
            return
        try:
            (key,) = field_keys(node, head)
        except (KeyError, TypeError, AttributeError):
            return
        walk(node[key], rest, (*prefix, str(key)))

    walk(doc, dotted.split("."), ())
    return out


def check_paths(scenario: Scenario, source: str, base: Scenario | None = None) -> None:
    """Every path of the uncertainty block names a number of the scenario.

    With ``base`` (a what-if receiving the base's parameter sets), the base's block is
    checked against this scenario, and a path with ``*`` may match nothing: the
    quantity plays no part in this file.
    """
    block = (base or scenario).uncertainty
    if block is None:
        raise ConfigError(f"{source}: uncertainty: the scenario declares no uncertainty block")
    doc = scenario.model_dump(mode="json")
    for i, p in enumerate(block.parameters):
        paths = columns_of(p)
        for j, path in enumerate(paths):
            if matches(doc, path) or (base is not None and "*" in path.split(".")):
                continue
            where = f"paths.{j}" if hasattr(p, "paths") else "path"
            raise ConfigError(
                f"{source}: uncertainty.parameters.{i}.{where} = {path!r}: names no number "
                "in the scenario"
                + (" (psa applies the base's parameter sets to every file)" if base else "")
            )


def _ppf(p, u: np.ndarray) -> np.ndarray:
    from scipy import stats

    if isinstance(p, BetaDist):
        return stats.beta.ppf(u, p.alpha, p.beta)
    if isinstance(p, GammaDist):
        return stats.gamma.ppf(u, (p.mean / p.sd) ** 2, scale=p.sd**2 / p.mean)
    if isinstance(p, LognormalDist):
        mu, sigma = _lognormal_log_params(p.mean, p.sd)
        return stats.lognorm.ppf(u, sigma, scale=math.exp(mu))
    if isinstance(p, RatioCIDist):
        sigma = (math.log(p.ci_high) - math.log(p.ci_low)) / (2 * Z975)
        return stats.lognorm.ppf(u, sigma, scale=p.value)
    if isinstance(p, NormalDist):
        return stats.norm.ppf(u, p.mean, p.sd) if p.sd > 0 else np.full(len(u), p.mean)
    assert isinstance(p, UniformDist)
    return p.low + u * (p.high - p.low)


def draw(scenario: Scenario, n: int) -> pd.DataFrame:
    """``n`` parameter sets: a column per uncertain path, a row per set (index ``sample``).

    Reproducible from the scenario's seed (the ``psa`` study stream), whatever else runs.
    """
    from scipy import stats  # imported when used: a second at start-up otherwise
    from scipy.stats import qmc

    unc = scenario.uncertainty
    if unc is None:
        raise ConfigError(
            f"{scenario.name}: uncertainty: the scenario declares no uncertainty block"
        )
    dims = sum(len(columns_of(p)) for p in unc.parameters)
    rng = study_stream(scenario.seed, "psa")
    if unc.sampling == "sobol":
        engine = qmc.Sobol(dims, scramble=True, seed=rng)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # balance is best at powers of two; any n works
            u = engine.random(n)
    else:
        u = qmc.LatinHypercube(dims, seed=rng).random(n)
    u = np.clip(u, 1e-12, 1 - 1e-12)
    out: dict[str, np.ndarray] = {}
    col = 0
    for p in unc.parameters:
        if isinstance(p, MultivariateNormalDist):
            k = len(p.paths)
            z = stats.norm.ppf(u[:, col : col + k])  # independent, then correlated:
            x = np.asarray(p.mean) + (z @ _root(p.correlation).T) * np.asarray(p.sd)
            for i, path in enumerate(p.paths):
                out[path] = x[:, i]
            col += k
        elif isinstance(p, DirichletDist):
            k = len(p.paths)
            g = np.column_stack([stats.gamma.ppf(u[:, col + i], a) for i, a in enumerate(p.alpha)])
            shares = g / g.sum(axis=1, keepdims=True)
            for i, path in enumerate(p.paths):
                out[path] = shares[:, i]
            col += k
        else:
            out[p.path] = _ppf(p, u[:, col])
            col += 1
    frame = pd.DataFrame(out)
    frame.index.name = "sample"
    return frame


def _root(correlation) -> np.ndarray:
    """A matrix L with L L' = correlation (Cholesky; an eigen root if only semi-definite)."""
    c = np.asarray(correlation, float)
    try:
        return np.linalg.cholesky(c)
    except np.linalg.LinAlgError:
        w, v = np.linalg.eigh(c)
        return v * np.sqrt(np.clip(w, 0.0, None))


def _marginal_ppf(p, i: int, q: np.ndarray) -> np.ndarray:
    """Quantiles ``q`` of the ``i``-th field of an entry, on its own (its margin)."""
    from scipy import stats  # imported when used: a second at start-up otherwise

    if isinstance(p, MultivariateNormalDist):
        return stats.norm.ppf(q, p.mean[i], p.sd[i])
    if isinstance(p, DirichletDist):  # a Dirichlet share is beta(a_i, sum - a_i)
        return stats.beta.ppf(q, p.alpha[i], sum(p.alpha) - p.alpha[i])
    return _ppf(p, q)


def one_way(scenario: Scenario, q: float = 0.025) -> list[tuple[str, float, float, dict]]:
    """One-way sensitivity analysis: each uncertain field at its ``q`` and ``1 - q`` quantile.

    A list of (field, quantile, value, changes), ``changes`` being what :func:`apply`
    takes: the field at the quantile of its own distribution, every other field at the
    scenario's value. Fields drawn together keep their rules: the other shares of a
    Dirichlet are rescaled, in proportion, to sum to one with it; the other fields of
    a multivariate normal move to their mean given it (the conditional mean).
    """
    block = scenario.uncertainty
    if block is None:
        raise ConfigError(
            f"{scenario.name}: uncertainty: the scenario declares no uncertainty block"
        )
    doc = scenario.model_dump(mode="json")

    def now(path: str) -> float:
        return float(get_field(doc, field_keys(doc, matches(doc, path)[0])))

    out = []
    for p in block.parameters:
        paths = columns_of(p)
        for i, path in enumerate(paths):
            for quantile in (q, 1 - q):
                v = float(_marginal_ppf(p, i, np.array([quantile]))[0])
                changes = {path: v}
                if isinstance(p, DirichletDist):
                    rest = {o: now(o) for o in paths if o != path}
                    total = sum(rest.values())
                    for o, share in rest.items():
                        changes[o] = (1 - v) * share / total if total > 0 else (1 - v) / len(rest)
                elif isinstance(p, MultivariateNormalDist):
                    z = (v - p.mean[i]) / p.sd[i]
                    for j, o in enumerate(paths):
                        if j != i:
                            changes[o] = p.mean[j] + p.correlation[j][i] * p.sd[j] * z
                out.append((path, quantile, v, changes))
    return out


def apply(scenario: Scenario, values: Mapping[str, float], source: str = "<psa>") -> Scenario:
    """The scenario at one parameter set (whole-number fields rounded), validated.

    A path with ``*`` sets every field it matches to the same value.
    """
    doc = scenario.model_dump(mode="json")
    changes = {}
    for path, v in values.items():
        for concrete in matches(doc, path):
            current = doc
            for k in field_keys(doc, concrete):
                current = current[k]
            changes[concrete] = int(round(v)) if isinstance(current, int) else float(v)
    return variant(scenario, changes, source)
