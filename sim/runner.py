"""Replications, executors and progress.

The runner knows nothing of what a replication returns: it maps a picklable
``task(replication) -> result`` over replication indices, serially or on local
processes, hands each result to ``on_result`` as soon as its replication finishes
(so a caller can save it), and returns the results in replication order. Each
replication draws only from streams keyed by its own index, so the results do not
depend on the executor, the number of processes or the order of completion.
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any, TypeVar

__all__ = ["ReplicationFailed", "default_jobs", "run_replications"]

T = TypeVar("T")


class ReplicationFailed(RuntimeError):
    """A replication raised: which one, and the worker's traceback."""

    def __init__(self, replication: int, detail: str):
        super().__init__(f"replication {replication} failed:\n{detail}")
        self.replication = replication
        self.detail = detail

    def __reduce__(self):  # crosses the process boundary with both fields
        return (type(self), (self.replication, self.detail))


def default_jobs() -> int:
    """One process per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _chunk(task: Callable[[int], Any], reps: list[int]) -> list[tuple[int, Any]]:
    out = []
    for r in reps:
        try:
            out.append((r, task(r)))
        except Exception:  # noqa: BLE001 - reported with its replication, then re-raised
            raise ReplicationFailed(r, traceback.format_exc()) from None
    return out


def run_replications(
    task: Callable[[int], T],
    replications: Sequence[int],
    jobs: int = 1,
    progress: Callable[[int], None] | None = None,
    on_result: Callable[[int, T], None] | None = None,
) -> list[T]:
    """Run ``task`` for each replication index; results in the order given.

    Parameters
    ----------
    task
        A picklable callable (a module-level function or a ``functools.partial`` of one).
    replications
        Replication indices to run.
    jobs
        Worker processes; 1 runs in this process. Replications go to the workers in
        chunks (about four per worker) so that scheduling costs stay small.
    progress
        Called with the number of replications just finished.
    on_result
        Called with (replication, result) as each finishes, in completion order.

    Raises
    ------
    ReplicationFailed
        When a replication raises; the others already finished have been handed to
        ``on_result``.
    """
    reps = list(replications)
    results: dict[int, T] = {}

    def done(pairs: list[tuple[int, T]]) -> None:
        for r, res in pairs:
            results[r] = res
            if on_result:
                on_result(r, res)
        if progress:
            progress(len(pairs))

    if jobs <= 1 or len(reps) <= 1:
        for r in reps:
            done(_chunk(task, [r]))
        return [results[r] for r in reps]
    size = max(1, len(reps) // (jobs * 4))
    chunks = [reps[i : i + size] for i in range(0, len(reps), size)]
    with ProcessPoolExecutor(max_workers=min(jobs, len(chunks))) as pool:
        pending = {pool.submit(_chunk, task, c) for c in chunks}
        try:
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in finished:
                    done(fut.result())
        except BaseException:
            for fut in pending:
                fut.cancel()
            raise
    return [results[r] for r in reps]
