"""Calibration: fit a scenario's free parameters to published targets.

The scenario's ``calibration`` block names free parameters (dotted paths with bounds)
and targets (a statistic of the simulated trials, a value and a tolerance). The fit
minimises the sum of squared residuals ``(simulated - value) / tolerance`` by
bounded trust-region least squares (``scipy.optimize.least_squares``), every
evaluation running the same replications with the same seed: common random
numbers, so a change of parameter changes the statistics through the model and not
through new noise. The Jacobian is taken by forward differences with a step of 3%
of each parameter's range (the objective is a step function at finer scales, since
each patient's draws are fixed).

The result is checked on ``check_replications`` fresh-sized runs (the same seed),
and written as a copy of the scenario file in which only the fitted numbers are
replaced, with a comment block saying when, from what and how close. A target the
parameters cannot reach is reported with its miss, not hidden.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

from sim import provenance
from sim.analysis.published import simulated_values, summary_of
from sim.config import (
    ATTENDANCE_STATISTICS,
    ConfigError,
    Scenario,
    Target,
    get_field,
    load_scenario,
    number_keys,
    resolved_yaml,
    source_of,
    variant,
)
from sim.io import atomic_text
from sim.labels import arm_label, field_label, statistic_label
from sim.printed import TextTable, decimals_for, number, signed, wrap
from sim.results import Batch, RunResult
from sim.rng import study_stream
from sim.study import kind, read_table

if TYPE_CHECKING:
    from sim.store import ReplicationStore
    from sim.workspace import Workspace

__all__ = [
    "Calibration",
    "CalibrationResult",
    "calibrate",
    "target_statistic",
    "write_calibrated",
]

BEGIN = "# --- calibration: written by `crisis-sim calibrate`"
END = "# --- end of calibration ---"


class _Budget(Exception):
    pass


def target_statistic(result: RunResult, scenario: Scenario, t: Target) -> float:
    """The simulated value of a target: its summary (mean or median) across the trials."""
    if result.trial is None and t.statistic not in ATTENDANCE_STATISTICS:
        raise ConfigError(f"calibration target {t.statistic} needs a trial scenario")
    v = simulated_values(result.trial, result.metrics, scenario, t.statistic, t.arm, t.horizon_days)
    if len(v) == 0:
        return math.nan
    return float(np.median(v) if summary_of(t.statistic, t.summary) == "median" else v.mean())


def _label(scenario: Scenario, t: Target) -> str:
    h = t.horizon_days or scenario.outcomes.primary_horizon_days
    at = "" if t.statistic in ATTENDANCE_STATISTICS else f" {h:g}d"
    return f"{t.statistic} {t.arm}{at} ({summary_of(t.statistic, t.summary)})"


@dataclass
class CalibrationResult:
    """What a calibration found."""

    scenario: Scenario
    names: list[str]
    start: np.ndarray
    best: np.ndarray
    table: pd.DataFrame
    evaluations: int
    history: list[tuple[np.ndarray, float]] = field(default_factory=list)
    standard_errors: np.ndarray | None = None
    correlation: np.ndarray | None = None
    warnings: list[str] = field(default_factory=list)
    searched: int | None = None  # evaluations in the search (the rest: the Jacobian's)
    simulation_standard_errors: np.ndarray | None = None  # from the simulation's noise alone

    @property
    def all_met(self) -> bool:
        """Every target within its tolerance in the final check."""
        return bool(self.table["within_tolerance"].all())

    def parameters_table(self) -> pd.DataFrame:
        """One row per fitted parameter: its start, fitted value and approximate SE."""
        se, sim = self.standard_errors, self.simulation_standard_errors
        return pd.DataFrame(
            {
                "parameter": self.names,
                "start": self.start,
                "fitted": self.best,
                "standard_error": se if se is not None else np.nan,
                "standard_error_simulation": sim if sim is not None else np.nan,
            }
        )

    def history_table(self) -> pd.DataFrame:
        """One row per evaluation of the search: its objective and parameter values."""
        rows = [
            {"evaluation": i + 1, "objective": cost, **dict(zip(self.names, x, strict=True))}
            for i, (x, cost) in enumerate(self.history)
        ]
        return pd.DataFrame(rows, columns=["evaluation", "objective", *self.names])

    def uncertainty_entry(self, source: str) -> dict | None:
        """The fitted values' approximate joint distribution, as an ``uncertainty`` entry.

        A normal for one parameter, a multivariate normal for more; None without
        standard errors.
        """
        if self.standard_errors is None:
            return None
        if len(self.names) == 1:
            return {
                "dist": "normal",
                "path": self.names[0],
                "mean": float(f"{self.best[0]:.6g}"),
                "sd": float(f"{self.standard_errors[0]:.3g}"),
                "source": source,
            }
        corr = np.clip(np.round(self.correlation, 4), -1, 1)
        np.fill_diagonal(corr, 1.0)
        return {
            "dist": "multivariate_normal",
            "paths": list(self.names),
            "mean": [float(f"{v:.6g}") for v in self.best],
            "sd": [float(f"{v:.3g}") for v in self.standard_errors],
            "correlation": [[float(v) for v in row] for row in corr],
            "source": source,
        }


@kind
@dataclass
class Calibration:
    """A calibration's record, as a study (:class:`sim.study.Study`).

    ``scenario``: the calibrated scenario (as read back from the file written);
    ``table``, ``parameters``, ``history``: the targets met or missed, the fitted
    parameters and the search (:class:`CalibrationResult`'s tables); ``result``: the
    fit itself (None when read back from a directory).
    """

    kind: ClassVar[str] = "calibrate"
    captions: ClassVar[dict[str, str]] = {
        "calibration": "Each calibration target's miss after the fit, and the search",
    }

    scenario: Scenario
    table: pd.DataFrame
    parameters: pd.DataFrame | None
    history: pd.DataFrame | None
    replications: int
    checked: int
    evaluations: int
    calibrated_file: str
    source_name: str = ""
    result: CalibrationResult | None = None

    @classmethod
    def of(
        cls,
        res: CalibrationResult,
        scenario: Scenario,
        source: Path,
        target: Path,
        replications: int,
        checked: int,
    ) -> Calibration:
        """The record of the fit ``res`` of ``source``, written to ``target``."""
        return cls(
            scenario,
            res.table,
            res.parameters_table(),
            res.history_table(),
            replications,
            checked,
            res.evaluations,
            str(target),
            source.name,
            res,
        )

    @property
    def scenarios(self) -> list[Scenario]:
        """The calibrated scenario."""
        return [self.scenario]

    def tables(self) -> dict[str, pd.DataFrame | str]:
        """calibration.csv, parameters.csv, history.csv."""
        assert self.parameters is not None and self.history is not None
        return {
            "calibration.csv": self.table,
            "parameters.csv": self.parameters,
            "history.csv": self.history,
        }

    def figures(self) -> dict:
        """Each target's miss after the fit, and the search."""
        from sim import plots

        return {"calibration.png": plots.calibration_fit(self.table, self.history)}

    def stamp(self) -> str:
        """``N replications``."""
        return f"{self.replications} replications"

    def manifest(self, files: list[str]) -> dict[str, Any]:
        """Scenario, seed, replications, the check's, evaluations, the file written."""
        return {
            "scenarios": [self.scenario.name],
            "seed": self.scenario.seed,
            "replications": self.replications,
            "check_replications": self.checked,
            "evaluations": self.evaluations,
            "calibrated_file": self.calibrated_file,
            "files": files,
        }

    def printout(self) -> str:
        """The fitted parameters (start -> fitted), the target table and any miss."""
        assert self.result is not None
        return _text(self.result, self.source_name, self.checked)

    def shows(self) -> dict[str, pd.DataFrame]:
        """calibration.csv and parameters.csv."""
        out = {"calibration.csv": self.table}
        if self.parameters is not None:
            out["parameters.csv"] = self.parameters
        return out

    def answer(self) -> list[str]:
        """How many targets are met, which are missed, and the fitted values."""
        t = self.table
        met = int(t["within_tolerance"].sum())
        out = [
            "Can the model reproduce the published figures, and with which parameters?",
            f"{met} of {len(t)} targets within tolerance after calibration.",
        ]
        for r in t[~t["within_tolerance"].astype(bool)].itertuples():
            out.append(
                f"Missed: {r.target}: target {r.value:.4g}, simulated {r.simulated:.4g} "
                f"(tolerance {r.tolerance:.3g})."
            )
        if self.parameters is not None:
            fitted = [
                f"{field_label(r.parameter)} {r.start:.4g} \u2192 {r.fitted:.4g}"
                + (f" (SE {r.standard_error:.3g})" if pd.notna(r.standard_error) else "")
                for r in self.parameters.itertuples()
            ]
            out.append("Fitted: " + "; ".join(fitted) + ".")
        return out

    def aims(self) -> str:
        """The evaluations and replications of the fit and its check."""
        return (
            f"Calibration of the scenario's free parameters to its targets: "
            f"{self.evaluations} evaluations of {self.replications} replications each, "
            f"checked on {self.checked}."
        )

    @classmethod
    def read(
        cls, directory: Path, manifest: dict[str, Any], scenarios: list[Scenario]
    ) -> Calibration:
        """The calibration's tables back from its directory."""
        return cls(
            scenarios[0] if scenarios else None,  # type: ignore[arg-type]
            pd.read_csv(directory / "calibration.csv"),
            read_table(directory, "parameters.csv"),
            read_table(directory, "history.csv"),
            manifest.get("replications"),  # type: ignore[arg-type]
            manifest.get("check_replications"),  # type: ignore[arg-type]
            manifest.get("evaluations"),  # type: ignore[arg-type]
            str(manifest.get("calibrated_file")),
        )


def calibrate(
    scenario: Scenario | Path,
    jobs: int | None = None,
    replications: int | None = None,
    check_replications: int | None = None,
    max_evaluations: int | None = None,
    report: Callable[[str], None] | None = None,
    workspace: Workspace | None = None,
) -> CalibrationResult:
    """Fit the free parameters of a scenario read from its file; see the module docstring.

    ``scenario`` may be the file's path instead. With ``workspace`` (the study's record
    directory), each evaluation is saved as it finishes (the point's residuals, in the
    store beside the directory): an interrupted calibration resumed with the same file
    and options runs the same search, reading the evaluations saved instead of
    simulating them again, so it ends where an uninterrupted one does.
    """
    from scipy import optimize

    from sim import api  # the engine, loaded only to run

    src = source_of(scenario)
    base = scenario if isinstance(scenario, Scenario) else load_scenario(src.path)
    path = src.path
    cal = base.calibration
    if cal is None:
        raise ConfigError(f"{path}: calibration: the scenario declares no calibration block")
    doc = base.model_dump(mode="json")
    raw, lines = src.own()
    keys = []
    for i, p in enumerate(cal.parameters):
        try:
            k = number_keys(doc, p.path)
        except (KeyError, TypeError):
            raise ConfigError(
                f"{path}: calibration.parameters.{i}.path = {p.path!r}: "
                "names no number in the scenario"
            ) from None
        try:
            raw_keys = number_keys(raw, p.path)
        except (KeyError, TypeError):
            raise ConfigError(
                f"{path}: calibration.parameters.{i}.path = {p.path!r}: not set in this file "
                "(write it here, even at its default, so the calibrated file can carry it)"
            ) from None
        if raw_keys not in lines:
            raise ConfigError(f"{path}: calibration.parameters.{i}.path: no line found")
        keys.append(k)
    lo = np.array([p.lower for p in cal.parameters])
    hi = np.array([p.upper for p in cal.parameters])
    x0 = np.clip(np.array([float(get_field(doc, k)) for k in keys], float), lo, hi)
    n_reps = replications or cal.replications
    budget = max_evaluations or cal.max_evaluations
    check = check_replications or cal.check_replications
    limit = [budget]  # lifted for the standard errors' Jacobian at the end
    extra_label = [""]  # what the evaluations beyond the budget are for
    say = report or (lambda _msg: None)
    names = [p.path for p in cal.parameters]
    # by the scenario itself: two points that round to the same whole numbers are one
    # scenario, simulated once
    cache: dict[str, np.ndarray] = {}
    history: list[tuple[np.ndarray, float]] = []
    # the best evaluation's replications, which the final check reuses
    kept: dict = {"cost": math.inf, "scenario": None, "runs": []}
    store, saved_evaluations = _evaluations_store(workspace, base, n_reps, budget, check, say)

    def scenario_at(x: np.ndarray) -> Scenario:
        # a whole-number field (dumped as an int) gets a whole number
        changes = {
            name: int(round(v)) if isinstance(get_field(doc, k), int) else float(v)
            for name, k, v in zip(names, keys, x, strict=True)
        }
        return variant(base, changes, str(path))

    def residuals(x: np.ndarray) -> np.ndarray:
        sc = scenario_at(x)
        key = sc.model_dump_json()
        if key in cache:
            return cache[key]
        if len(history) >= limit[0]:
            raise _Budget
        runs: list[Batch] = []
        digest = hashlib.sha256(key.encode()).hexdigest()
        if digest in saved_evaluations:  # a resumed search: this point's evaluation is saved
            r = saved_evaluations[digest]
        else:
            result = api.run(sc, replications=n_reps, jobs=jobs, on_results=runs.append)
            r = np.array(
                [(target_statistic(result, sc, t) - t.value) / t.tolerance for t in cal.targets]
            )
            r = np.where(np.isfinite(r), r, 1e3)
            if store is not None:
                store.save_batch(_evaluation_batch(len(history), digest, r))
        cache[key] = r
        cost = float(np.sum(r**2))
        history.append((x.copy(), cost))
        if cost < kept["cost"]:
            kept.update(cost=cost, scenario=key, runs=runs)
        shown = ", ".join(f"{n.split('.')[-1]}={v:.4g}" for n, v in zip(names, x, strict=True))
        of = f"/{limit[0]:g}" if math.isfinite(limit[0]) else extra_label[0]
        say(
            f"calibrate: evaluation {len(history)}{of}: sum of squared residuals "
            f"{cost:.3g} [{shown}]"
        )
        return r

    step = 0.03 * (hi - lo)

    def jacobian(x: np.ndarray) -> np.ndarray:
        f0 = residuals(x)
        cols = []
        for i in range(len(x)):
            h = step[i] if x[i] + step[i] <= hi[i] else -step[i]
            xi = x.copy()
            xi[i] += h
            cols.append((residuals(xi) - f0) / h)
        return np.array(cols).T

    jacobians: dict[tuple[float, ...], np.ndarray] = {}

    def jacobian_kept(x: np.ndarray) -> np.ndarray:
        j = jacobian(x)
        jacobians[tuple(np.round(x, 12))] = j
        return j

    with workspace.saving(budget, "evaluations") if workspace else contextlib.nullcontext():
        try:
            optimize.least_squares(
                residuals,
                x0,
                jac=jacobian_kept,
                bounds=(lo, hi),
                x_scale=hi - lo,
                method="trf",
                max_nfev=budget,
                xtol=1e-4,
                ftol=1e-4,
            )
        except _Budget:
            say(f"calibrate: stopped at the budget of {budget} evaluations; keeping the best")
        best = min(history, key=lambda h: h[1])[0]
        chosen = dict(kept)  # its replications (evaluations for the errors below may beat it)
        jac = jacobians.get(tuple(np.round(best, 12)))
        searched = len(history)
        if jac is None:
            limit[0] = math.inf
            extra_label[0] = " (for the standard errors)"
            say("calibrate: the Jacobian at the fit, for the standard errors")
            jac = jacobian(best)
            say(
                f"calibrate: {len(history) - searched} evaluation(s) beyond the search's "
                f"{searched}, for the standard errors"
            )
        final = scenario_at(best)
        # the search ran the first replications of the best point already: only the rest now
        saved = chosen["runs"] if chosen["scenario"] == final.model_dump_json() else []
        saved = [b for b in saved if max(b.replications) < check]  # whole batches only
        reused = sum(len(b.replications) for b in saved)
        say(
            f"calibrate: checking the best parameters on {check} simulated trials "
            f"({reused} of them run in the search)"
        )
        result = api.run(final, replications=check, jobs=jobs, saved=saved)
        noise = _simulation_noise(result, final, cal.targets, n_reps)
        se, se_sim, corr, warns = _uncertainty(jac, names, lo, hi, cal.targets, noise)
        for w in warns:
            say(f"calibrate: warning: {w}")
        rows = []
        for t in cal.targets:
            v = target_statistic(result, final, t)
            rows.append(
                {
                    "target": _label(final, t),
                    "value": t.value,
                    "simulated": v,
                    "tolerance": t.tolerance,
                    "miss": v - t.value,
                    "within_tolerance": bool(abs(v - t.value) <= t.tolerance),
                    "source": t.source,
                }
            )
        return CalibrationResult(
            final,
            names,
            x0,
            best,
            pd.DataFrame(rows),
            len(history),
            history,
            se,
            corr,
            warns,
            searched=searched,
            simulation_standard_errors=se_sim,
        )


def _evaluations_store(
    workspace: Workspace | None,
    base: Scenario,
    n_reps: int,
    budget: int,
    check: int,
    say: Callable[[str], None],
) -> tuple[ReplicationStore | None, dict[str, np.ndarray]]:
    """The store a calibration saves its evaluations in, and those saved (by point).

    Each evaluation is a batch of its own (one row: its number, the SHA-256 of the
    point's scenario, the residuals), verified on resume as a run's replications are.
    """
    if workspace is None:
        return None, {}
    marker = resolved_yaml(base) + (
        f"# calibrate: {n_reps} trials an evaluation, at most {budget} evaluations, "
        f"checked on {check}\n"
    )
    store = workspace.open_store(marker, ("evaluation",))
    saved: dict[str, np.ndarray] = {}
    if workspace.resume:
        for line in workspace.verified.lines("evaluation(s)") if workspace.verified else []:
            say(f"calibrate: {line}")
        for batch in store.saved_batches():
            frame = batch.get("evaluation")
            for point, residuals in zip(frame["point"], frame["residuals"], strict=True):
                saved[point] = np.array(json.loads(residuals), float)
        say(f"calibrate: resuming: {len(saved)} evaluation(s) were saved")
    return store, saved


def _evaluation_batch(k: int, point: str, residuals: np.ndarray) -> Batch:
    """The ``k``-th evaluation as a batch to save.

    One row: the point's digest and its residuals (as JSON, which keeps floats exactly).
    """
    row = {"replication": [k], "point": [point], "residuals": [json.dumps(residuals.tolist())]}
    return Batch([k], {"evaluation": pd.DataFrame(row)})


def _simulation_noise(
    result: RunResult, scenario: Scenario, targets: Sequence[Target], n_reps: int
) -> np.ndarray:
    """Each target's simulated value's standard error at ``n_reps`` trials an evaluation.

    From the spread of the statistic over the check's trials: the SD over root ``n_reps``
    for a mean; for a median, the SD of medians of ``n_reps`` trials resampled from them
    (a bootstrap, from a stream of the scenario's seed).
    """
    out = []
    rng = study_stream(scenario.seed, "calibration-noise")
    for t in targets:
        v = simulated_values(
            result.trial, result.metrics, scenario, t.statistic, t.arm, t.horizon_days
        )
        if len(v) < 2:
            out.append(math.nan)
        elif summary_of(t.statistic, t.summary) == "median":
            medians = np.median(rng.choice(v, size=(2000, n_reps), replace=True), axis=1)
            out.append(float(medians.std(ddof=1)))
        else:
            out.append(float(v.std(ddof=1) / math.sqrt(n_reps)))
    return np.array(out)


CORRELATION_WARNING = 0.95  # |correlation| of two fitted values above which they are confounded


def _uncertainty(
    jac: np.ndarray | None,
    names: list[str],
    lo: np.ndarray,
    hi: np.ndarray,
    targets: Sequence[Target],
    noise: np.ndarray,
) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None, list[str]]:
    """Standard errors and correlation of the fitted parameters, and warnings.

    The fit minimises the squared residuals ``D (s(x) - v)``, ``D`` the inverse
    tolerances. Linearised at the fit (``J`` the residuals' Jacobian), an error ``e`` in
    the targets' values or in the simulated statistics moves the fit by
    ``-(J'J)^-1 J' D e``; so the fit's covariance is ``B S B'``, ``B = (J'J)^-1 J' D`` and
    ``S`` the diagonal of each target's error variance: its published standard error
    (``standard_error``) squared plus the simulation's noise squared (``noise``, at the
    search's trials an evaluation). Returns (the standard errors, those of the
    simulation's noise alone, the correlation, the warnings); the first is None unless
    every target gives its standard error (a tolerance is how close is close enough, not
    how well the target is known).

    Identifiability, from ``J`` alone: a parameter that moves no target (a flat column),
    a near-singular ``J'J``, or two parameters whose fitted values correlate above
    :data:`CORRELATION_WARNING` (they move the targets in nearly the same proportions).
    """
    if jac is None:
        return None, None, None, ["no Jacobian at the fit: no standard errors"]
    warns = []
    scale = hi - lo
    js = jac * scale  # per whole range of each parameter: comparable columns
    flat = [n for n, col in zip(names, js.T, strict=True) if np.max(np.abs(col)) < 1e-6]
    if flat:
        warns.append(
            "the targets do not move with " + ", ".join(flat) + " over the step the fit "
            "takes (flat): they cannot identify it; fix it, or add a target it moves"
        )
    jtj = js.T @ js
    cond = np.linalg.cond(jtj) if len(jtj) else 0.0
    if not flat and (not np.isfinite(cond) or cond > 1e10):
        warns.append(
            f"the fit is (near) singular (condition number {cond:.2g}): some combination "
            "of the parameters moves no target; the fitted values are not identified"
        )
    if len(names) > len(jac):
        warns.append(f"{len(names)} parameters but only {len(jac)} targets: not identified")
    if flat or not np.isfinite(cond) or cond > 1e10:
        return None, None, None, warns
    inv = np.linalg.inv(jtj)
    d = np.sqrt(np.diag(inv))
    shape = inv / np.outer(d, d)  # the fit's correlation as the Jacobian shapes it
    for a in range(len(names)):
        for b in range(a + 1, len(names)):
            if abs(shape[a, b]) > CORRELATION_WARNING:
                warns.append(
                    f"{field_label(names[a])} and {field_label(names[b])} are confounded "
                    f"(their fitted values correlate {shape[a, b]:+.2f}): the targets move "
                    "with them in nearly the same proportions, so they pin down one "
                    "combination of the two, not each; fix one, or add a target that tells "
                    "them apart"
                )
    tol = np.array([t.tolerance for t in targets])
    b_mat = (inv @ js.T) / tol  # B, per whole range of each parameter
    sigma = np.array(
        [t.standard_error if t.standard_error is not None else np.nan for t in targets]
    )
    noise = np.nan_to_num(noise)

    def cov_of(var: np.ndarray) -> np.ndarray:
        return (b_mat * var) @ b_mat.T * np.outer(scale, scale)

    sim = np.sqrt(np.diag(cov_of(noise**2)))
    if np.isnan(sigma).any():
        return None, sim, shape, warns
    cov = cov_of(sigma**2 + noise**2)
    se = np.sqrt(np.diag(cov))
    return se, sim, cov / np.outer(se, se), warns


def write_calibrated(
    scenario: Scenario | Path, out: Path, res: CalibrationResult, checked: int
) -> str:
    """Write the calibrated scenario file and return its text.

    It is the text of the file the scenario was read from (or of the file at a path)
    with the fitted numbers replaced and a calibration comment block at the top.
    """
    src = source_of(scenario)
    source = src.path
    text = src.text
    raw, lines = src.own()
    rows = text.splitlines(keepends=True)
    for name, value in zip(res.names, res.best, strict=True):
        keys = number_keys(raw, name)
        line = lines[keys]
        key = str(keys[-1])
        pattern = re.compile(
            rf"(\b{re.escape(key)}\s*:\s*)([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)"
        )
        # the schema's type decides: an int field (dumped as int) gets a whole number
        fitted = res.scenario.model_dump(mode="json")
        is_int = isinstance(get_field(fitted, number_keys(fitted, name)), int)
        new_value = str(int(round(value))) if is_int else f"{value:.6g}"
        replaced, n = pattern.subn(lambda m, nv=new_value: m.group(1) + nv, rows[line - 1], count=1)
        if n != 1:
            raise ConfigError(f"{source}: line {line}: cannot find the number of {name} to rewrite")
        rows[line - 1] = replaced
    body = "".join(rows)
    body = re.sub(rf"{re.escape(BEGIN)}.*?{re.escape(END)}\n", "", body, flags=re.S)
    met = int(res.table["within_tolerance"].sum())
    block = [
        f"{BEGIN} on {datetime.now().astimezone().isoformat(timespec='minutes')} ---",
        f"# from {source.name} (git {_short_commit(source)}), seed {res.scenario.seed}; "
        f"{res.evaluations} evaluations; checked on {checked} simulated trials.",
        "# parameters (start -> fitted):",
        *[
            f"#   {n}: {a:.6g} -> {b:.6g}"
            + (
                f" (standard error {res.standard_errors[i]:.3g})"
                if res.standard_errors is not None
                else ""
            )
            for i, (n, a, b) in enumerate(zip(res.names, res.start, res.best, strict=True))
        ],
        *[f"# warning: {w}" for w in res.warnings],
        *_entry_lines(res, source.name),
        f"# targets: {met} of {len(res.table)} within tolerance",
        *[
            f"#   {r.target}: target {r.value:g} +- {r.tolerance:g}, simulated {r.simulated:.4g} "
            f"({'met' if r.within_tolerance else f'MISSED by {r.miss:+.3g}'})"
            for r in res.table.itertuples()
        ],
        END,
    ]
    head = ""
    if body.startswith("# yaml-language-server:"):  # an editor's modeline stays first
        head, _, body = body.partition("\n")
        head += "\n"
    new_text = head + "\n".join(block) + "\n" + body
    atomic_text(out, new_text)
    return new_text


def _entry_lines(res: CalibrationResult, name: str) -> list[str]:
    """The fitted values' uncertainty as comment lines: an entry for an uncertainty block."""
    import yaml

    entry = res.uncertainty_entry(
        f"calibration of {name} (the fit's standard errors: the targets' and the "
        "simulation's, through the Jacobian at the fit)"
    )
    if entry is None:
        return []
    text = yaml.safe_dump([entry], sort_keys=False, default_flow_style=None, width=100)
    return ["# the fitted values' uncertainty, as an entry of an uncertainty block:"] + [
        f"#   {line}" for line in text.splitlines()
    ]


def _short_commit(source: Path) -> str:
    sha = provenance.git_commit(source.resolve().parent)
    return f"{sha[:7]}{'+dirty' if sha.endswith('+dirty') else ''}" if sha else "no git"


def _text(res: CalibrationResult, source_name: str, checked: int) -> str:
    """The fitted parameters with their standard errors, the targets, and the warnings."""
    searched = res.searched if res.searched is not None else res.evaluations
    more = res.evaluations - searched
    lines = [
        wrap(
            f"Calibration of {source_name}: {searched} evaluations in the search"
            + (f" and {more} more for the standard errors" if more else "")
            + f"; the fit checked on {checked:,} simulated trials."
        ),
        "",
    ]
    se, sim = res.standard_errors, res.simulation_standard_errors
    t = TextTable(["Parameter", "start", "fitted", "standard error", "of it, simulation"])
    for i, (name, a, b) in enumerate(zip(res.names, res.start, res.best, strict=True)):
        t.add(
            field_label(name),
            f"{a:.4g}",
            f"{b:.4g}",
            number(se[i], decimals_for(se[i])) if se is not None else "-",
            number(sim[i], decimals_for(sim[i])) if sim is not None else "-",
        )
    lines.append(t.render())
    if se is not None:
        lines.append(
            wrap(
                "  Standard errors from the targets' standard errors and the simulation's "
                "noise, propagated through the Jacobian at the fit.",
                indent="  ",
            )
        )
    else:
        lines.append(
            wrap(
                "  No standard errors: give each target its standard_error (how well the "
                "published figure is known; a tolerance says only how close is close "
                "enough). The last column is the simulation's noise alone.",
                indent="  ",
            )
        )
    if res.correlation is not None and len(res.names) > 1:
        pairs = [
            f"{field_label(res.names[a])} with {field_label(res.names[b])} "
            f"{res.correlation[a, b]:+.2f}"
            for a in range(len(res.names))
            for b in range(a + 1, len(res.names))
            if abs(res.correlation[a, b]) >= 0.3
        ]
        said = "; ".join(pairs) + ("; the others below 0.3" if len(res.names) > 2 else "")
        lines.append(
            wrap(
                "  Correlation of the fitted values: " + (said if pairs else "all below 0.3") + ".",
                indent="  ",
            )
        )
    for w in res.warnings:
        lines.append(wrap(f"  Warning: {w}.", indent="    "))
    entry = res.uncertainty_entry(
        f"calibration of {source_name} (the fit's standard errors: the targets' and the "
        "simulation's, through the Jacobian at the fit)"
    )
    if entry is not None:
        import yaml

        lines += ["", "The fitted values' uncertainty, as an entry of an uncertainty block:"]
        text = yaml.safe_dump([entry], sort_keys=False, default_flow_style=None, width=80)
        lines.extend("  " + line for line in text.splitlines())
    tt = TextTable(["Target", "value", "tolerance", "simulated", "miss", "met"])
    cal = res.scenario.calibration
    targets = cal.targets if cal is not None else ()
    for r, target in zip(res.table.itertuples(), targets, strict=False):
        tt.add(
            _words(res.scenario, target),
            f"{r.value:g}",
            f"{r.tolerance:g}",
            f"{r.simulated:.4g}",
            signed(r.miss, max(2, 2 - int(math.floor(math.log10(abs(r.tolerance)))))),
            "yes" if r.within_tolerance else "NO",
        )
    lines += ["", tt.render()]
    missed = res.table[~res.table["within_tolerance"]]
    if len(missed):
        lines.append(
            wrap(
                f"{len(missed)} target(s) not met: the search needs more evaluations "
                "(--max-evals), or the parameters it may change cannot reach them.",
                indent="  ",
            )
        )
    return "\n".join(lines)


def _words(scenario: Scenario, t: Target) -> str:
    """A target in words: the statistic, its arm and horizon, and its summary."""
    h = t.horizon_days or scenario.outcomes.primary_horizon_days
    at = "" if t.statistic in ATTENDANCE_STATISTICS else f", {h:g} days"
    how = summary_of(t.statistic, t.summary)
    return f"{statistic_label(t.statistic)}, {arm_label(t.arm)}{at} ({how})"
