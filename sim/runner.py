"""Replications, executors and progress.

The runner knows nothing of what a replication returns: it maps a picklable
``task(replication) -> result`` over replication indices, serially or on local
processes, and returns the results in replication order. Each replication draws
only from streams keyed by its own index, so the results do not depend on the
executor or the number of processes.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import TypeVar

__all__ = ["default_jobs", "run_replications"]

T = TypeVar("T")


def default_jobs() -> int:
    """One process per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def run_replications(
    task: Callable[[int], T],
    replications: Sequence[int],
    jobs: int = 1,
    progress: Callable[[int], None] | None = None,
) -> list[T]:
    """Run ``task`` for each replication index; results in the order given.

    Parameters
    ----------
    task
        A picklable callable (a module-level function or a ``functools.partial`` of one).
    replications
        Replication indices to run.
    jobs
        Worker processes; 1 runs in this process.
    progress
        Called with the number of replications just finished (1 each time).
    """
    reps = list(replications)
    if jobs <= 1 or len(reps) <= 1:
        out = []
        for r in reps:
            out.append(task(r))
            if progress:
                progress(1)
        return out
    results: dict[int, T] = {}
    with ProcessPoolExecutor(max_workers=min(jobs, len(reps))) as pool:
        futures = {pool.submit(task, r): r for r in reps}
        try:
            for fut in as_completed(futures):
                results[futures[fut]] = fut.result()
                if progress:
                    progress(1)
        except BaseException:
            for fut in futures:
                fut.cancel()
            raise
    return [results[r] for r in reps]
