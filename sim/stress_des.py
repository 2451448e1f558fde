"""The STRESS-DES reporting checklist, filled from what an output directory knows.

STRESS-DES: Monks T, Currie CSM, Onggo BS, et al. Strengthening the reporting of
empirical simulation studies: introducing the STRESS guidelines. *J Simulation*
2019;13:55-67. :data:`ITEMS` is the checklist as data: each item's number, its name in
the guidelines, and what a run says of it (a function of :class:`Facts`; None where
only the author can say). The report (:mod:`sim.report`) renders :func:`items`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sim.config import Scenario

__all__ = ["FOR_AUTHOR", "Facts", "ITEMS", "items"]

FOR_AUTHOR = "For the author: the run cannot know this."


@dataclass(frozen=True)
class Facts:
    """What the items read.

    The manifest, the scenarios (base first), the directory's files, the study's aims and
    the sources the scenario carries (by field).
    """

    manifest: dict[str, Any]
    scenarios: list[Scenario]
    files: list[str]
    aims: str | None
    sources: dict[str, str]

    @property
    def s(self) -> Scenario:
        """The base scenario (items that read it are left out without one)."""
        return self.scenarios[0]

    @property
    def entry(self) -> str:
        """How patients enter: a trial's recruitment, or a service's discharges."""
        s, feed = self.s, self.s.feed
        if s.is_trial:
            return (
                f"a trial of {feed.n_patients} patients recruited over "  # type: ignore[union-attr]
                f"{feed.recruitment_days:g} days, followed {feed.follow_up_days:g} days"  # type: ignore[union-attr]
            )
        return f"discharges arriving as a Poisson stream, {feed.discharges_per_week:g} a week"  # type: ignore[union-attr]


def _cap(n: int | None) -> str:
    return "unlimited" if n is None else str(n)


def _logic(f: Facts) -> str:
    s = f.s
    return (
        f"Patients discharged from a crisis resolution team ({f.entry}) face a readmission "
        f"hazard ({s.readmission.baseline.dist} baseline, gamma frailty variance "
        f"{s.population.frailty_variance:g}); peer support offered per arm; a readmission "
        "goes to a ward or CRT home treatment for a length of stay, and its discharge starts "
        "a new episode; exit at the end of follow-up, death or loss to follow-up."
    )


def _resources(f: Facts) -> str:
    s = f.s
    workers, crt = s.peer_workers, s.acute_care.crt
    return (
        f"Peer workers: {workers.count if workers.count is not None else 'unlimited'}"
        + (f", {workers.caseload_per_worker} places each" if workers.count is not None else "")
        + f"; ward beds: {_cap(s.acute_care.ward.capacity)}"
        + (f"; CRT places: {_cap(crt.capacity)}" if crt is not None else "")
        + "."
    )


def _queues(f: Facts) -> str:
    workers = f.s.peer_workers
    lapse = f", offers lapse after {workers.max_wait_days:g} days" if workers.max_wait_days else ""
    return (
        f"Peer-support waiting list ({workers.queue}{lapse}); a full ward: "
        f"{f.s.acute_care.ward.overflow}."
    )


def _estimation(f: Facts) -> str | None:
    reps = f.manifest.get("replications")
    if not reps:
        return None
    return (
        f"{reps} replications; means with 95% t-intervals across replications; policies "
        "compared on the same random draws (paired differences)."
    )


def _system(f: Facts) -> str | None:
    m, machine = f.manifest, f.manifest.get("machine", {})
    if not machine:
        return None
    return (
        f"{machine.get('platform')}, {machine.get('cpus')} CPUs; wall time "
        f"{m.get('wall_seconds')} s, started {m.get('started')}"
    )


def _sharing(f: Facts) -> str | None:
    commit = f.manifest.get("git_commit")
    if not commit:
        return None
    version = f.manifest.get("versions", {}).get("crisis-sim")
    return (
        f"crisis-sim {version} at git commit {commit}; where the code and data are "
        "published: " + FOR_AUTHOR
    )


Say = Callable[[Facts], "str | None"] | None

#: (number, item, what the run says or None for the author, whether it reads the scenario:
#: such items are left out when the directory holds no scenario)
ITEMS: list[tuple[str, str, Say, bool]] = [
    (
        "1.1",
        "Purpose of the model",
        lambda f: f.s.description.strip() if f.scenarios else None,
        False,
    ),
    ("1.2", "Model outputs", lambda f: "Files of this directory: " + ", ".join(f.files), False),
    ("1.3", "Experimentation aims", lambda f: f.aims, False),
    ("2.1", "Base model overview diagram", None, False),
    ("2.2", "Base model logic", _logic, True),
    (
        "2.3",
        "Scenario logic",
        lambda f: (
            "Arms (policies): "
            + "; ".join(
                f"{a.name}: {a.description or a.name}" for sc in f.scenarios for a in sc.arms
            )
        ),
        True,
    ),
    (
        "2.4",
        "Algorithms",
        lambda f: (
            "Readmission times simulated exactly: one Exp(1) hazard budget per episode, "
            "spent against the cumulative hazard in closed form (a root finder only where none "
            "exists); no time steps."
        ),
        True,
    ),
    ("2.5.1", "Entities", lambda f: "Patients (one random stream each).", True),
    (
        "2.5.2",
        "Activities",
        lambda f: "Peer-support sessions (attended or missed), ward stays, CRT home treatment.",
        True,
    ),
    ("2.5.3", "Resources", _resources, True),
    ("2.5.4", "Queues", _queues, True),
    (
        "2.5.5",
        "Entry and exit points",
        lambda f: f"Entry: {f.entry}. Exit: end of follow-up, death, loss to follow-up.",
        True,
    ),
    (
        "3.1",
        "Data sources",
        lambda f: "; ".join(sorted(set(f.sources.values()))) if f.scenarios else None,
        False,
    ),
    ("3.2", "Pre-processing", None, False),
    (
        "3.3",
        "Input parameters",
        lambda f: "The Scenario section above: every field not at its default.",
        False,
    ),
    ("3.4", "Assumptions", None, False),
    (
        "4.1",
        "Initialisation",
        lambda f: (
            "Empty at the start; patients enter as recruited."
            if f.s.is_trial
            else f"Warm-up of {f.s.feed.warm_up_days:g} days, not counted"
        ),  # type: ignore[union-attr]
        True,
    ),
    (
        "4.2",
        "Run length",
        lambda f: (
            f"{f.s.feed.follow_up_days:g} days of follow-up from each entry"  # type: ignore[union-attr]
            if f.s.is_trial
            else f"{f.s.feed.run_days:g} days measured after the warm-up"
        ),  # type: ignore[union-attr]
        True,
    ),
    ("4.3", "Estimation approach", _estimation, False),
    (
        "5.1",
        "Software or programming language",
        lambda f: ", ".join(f"{k} {v}" for k, v in f.manifest.get("versions", {}).items() if v),
        False,
    ),
    (
        "5.2",
        "Random sampling",
        lambda f: (
            f"Root seed {f.manifest.get('seed')}; named numpy.random.Generator streams "
            "derived with SeedSequence from (seed, replication, stream, patient): the same "
            "results whatever the number of processes."
        ),
        False,
    ),
    (
        "5.3",
        "Model execution",
        lambda f: (
            f"Event-driven (SimPy); {f.manifest.get('jobs') or 'local'} worker "
            f"process(es); command: {' '.join(f.manifest.get('command', []))}"
        ),
        False,
    ),
    ("5.4", "System specification", _system, False),
    ("6.1", "Computer model sharing statement", _sharing, False),
]


def items(facts: Facts) -> list[tuple[str, str, str]]:
    """The checklist filled from ``facts``: (number, item, what this run says).

    Items the run cannot know say :data:`FOR_AUTHOR`; those that read the scenario are
    left out when there is none.
    """
    out = []
    for number, item, say, reads_scenario in ITEMS:
        if reads_scenario and not facts.scenarios:
            continue
        text = say(facts) if say is not None else None
        out.append((number, item, text if text else FOR_AUTHOR))
    return out
