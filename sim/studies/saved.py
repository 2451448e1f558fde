"""Several scenarios on one set of replications, saved as they finish.

What compare, sweep and power run: each builds its scenarios (a comparison's policies
under one seed, a sweep's points, a power study's trial sizes) and runs them on the
same replications (:func:`sim.api.run_many`). Given the study's workspace, the finished
replications of every scenario are saved together, a chunk at a time, in the store
beside its directory (:class:`sim.store.ReplicationStore`): an interrupted study is
finished with ``--resume DIR``, giving the tables an uninterrupted one gives.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from sim.config import Scenario, resolved_yaml
from sim.results import RunResult, world_tables

if TYPE_CHECKING:
    from sim.runner import Dask
    from sim.workspace import Workspace

__all__ = ["run_worlds"]


def run_worlds(
    scenarios: Sequence[Scenario],
    replications: int,
    jobs: int | None = None,
    progress: Callable[[int], None] | None = None,
    dask: Dask | None = None,
    timeseries: bool = True,
    workspace: Workspace | None = None,
    report: Callable[[str], None] | None = None,
) -> list[RunResult]:
    """:func:`sim.api.run_many` of ``scenarios``, saving into ``workspace``'s store.

    The store is of these scenarios (resolved) and nothing else: a resume with other
    files, seed or options is refused. A resume given another number of replications
    says so; what is saved outside them is not used. ``report`` is told what a resume
    found (batches set aside, how many replications were saved).
    """
    from sim import api  # the engine, loaded only to run

    if workspace is None:
        return api.run_many(scenarios, replications, jobs, progress, dask, timeseries)
    marker = "---\n".join(resolved_yaml(s) for s in scenarios)
    marker += f"# {len(scenarios)} scenario(s) on the same replications\n"
    reps = list(range(replications))
    store = workspace.open_store(marker, world_tables(len(scenarios)), reps)
    if workspace.resume and report:
        for line in workspace.verified.lines() if workspace.verified else []:
            report(line)
        started = store.started_with
        if started is not None and started != reps:
            beyond = len(store.held() - set(reps))
            report(
                f"resuming with {len(reps)} replications, not the {len(started)} the study "
                "was started with"
                + (f": {beyond} saved replication(s) outside them are dropped" if beyond else "")
            )
        n_saved = store.usable(reps)
        if n_saved:
            report(f"resuming: {n_saved} of {len(reps)} replications were saved")
    with workspace.saving(len(reps)):
        return api.run_many(scenarios, reps, jobs, progress, dask, timeseries, store=store)
