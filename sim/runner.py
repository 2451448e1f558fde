"""Replications, executors and progress.

The runner knows nothing of what a replication returns: it maps a picklable
``task(replication) -> result`` over replication indices, serially, on local
processes or on a Dask distributed cluster, hands each result to ``on_result`` as
soon as its replication finishes (so a caller can save it; in batches, as chunks
finish), and returns the results
in replication order. Each replication draws only from streams keyed by its own
index, so the results do not depend on the executor, the number of processes or the
order of completion.
"""

from __future__ import annotations

import os
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from sim.errors import ReplicationFailed

__all__ = ["Dask", "ReplicationFailed", "default_jobs", "local_cluster", "run_replications"]

T = TypeVar("T")

# serially, finished replications are handed on about this often (not one by one)
_SERIAL_BATCH_SECONDS = 1.0


def default_jobs() -> int:
    """One process per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _chunks(reps: list[int], workers: int) -> list[list[int]]:
    """About four chunks per worker: few enough to keep scheduling cheap, enough to balance."""
    size = max(1, len(reps) // (max(workers, 1) * 4))
    return [reps[i : i + size] for i in range(0, len(reps), size)]


def _run_dask(task, reps: list[int], spec: Dask, done) -> None:
    """Chunks of replications as Dask futures; results handed back as they complete."""
    from dask.distributed import Client

    with ExitStack() as stack:
        address = spec.address or stack.enter_context(local_cluster(spec.workers or default_jobs()))
        client = stack.enter_context(Client(address))
        _submit_chunks(client, task, reps, done)


def _submit_chunks(client, task, reps: list[int], done) -> None:
    from dask.distributed import as_completed

    workers = len(client.scheduler_info().get("workers", {})) or 1
    pending = {client.submit(_chunk, task, c, pure=False) for c in _chunks(reps, workers)}
    try:
        for fut in as_completed(list(pending)):
            done(fut.result())
            # let the worker forget it: results kept there make its heap grow and
            # its garbage collections slower chunk after chunk
            pending.discard(fut)
            fut.release()
    except BaseException:
        client.cancel(list(pending))
        raise


@contextmanager
def local_cluster(workers: int) -> Iterator[str]:
    """A Dask cluster of ``workers`` processes on the loopback interface, one thread
    each, no dashboard; yields the scheduler's address and closes it on the way out.
    """
    from dask.distributed import LocalCluster

    with LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    ) as cluster:
        yield cluster.scheduler_address


def _chunk(task: Callable[[int], Any], reps: list[int]) -> list[tuple[int, Any]]:
    out = []
    for r in reps:
        try:
            out.append((r, task(r)))
        except Exception:  # noqa: BLE001 - reported with its replication, then re-raised
            raise ReplicationFailed(r, traceback.format_exc()) from None
    return out


@dataclass(frozen=True)
class Dask:
    """Run on a Dask distributed cluster: an existing one (``address``) or a local one
    started for the run (``workers`` processes, on the loopback interface).
    """

    address: str | None = None
    workers: int | None = None


def run_replications(
    task: Callable[[int], T],
    replications: Sequence[int],
    jobs: int = 1,
    progress: Callable[[int], None] | None = None,
    on_results: Callable[[list[tuple[int, T]]], None] | None = None,
    dask: Dask | None = None,
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
    on_results
        Called with a list of (replication, result) pairs as they finish: a chunk's when
        it finishes; serially, every second or so (so that saving them costs little),
        and at once for those finished when a replication fails or the run is stopped.
    dask
        Run on a Dask cluster (:class:`Dask`) instead of local processes.

    Raises
    ------
    ReplicationFailed
        When a replication raises; the others already finished have been handed to
        ``on_results``.
    """
    reps = list(replications)
    results: dict[int, T] = {}

    def done(pairs: list[tuple[int, T]]) -> None:
        results.update(pairs)
        if on_results and pairs:
            on_results(pairs)

    def finished(pairs: list[tuple[int, T]]) -> None:
        done(pairs)
        if progress:
            progress(len(pairs))

    if dask is not None:
        _run_dask(task, reps, dask, finished)
        return [results[r] for r in reps]
    if jobs <= 1 or len(reps) <= 1:
        batch: list[tuple[int, T]] = []
        since = time.monotonic()
        try:
            for r in reps:
                batch.extend(_chunk(task, [r]))
                if progress:
                    progress(1)
                if time.monotonic() - since >= _SERIAL_BATCH_SECONDS:
                    done(batch)
                    batch, since = [], time.monotonic()
        finally:  # a failure or Ctrl-C: what finished is still handed on
            done(batch)
        return [results[r] for r in reps]
    chunks = _chunks(reps, jobs)
    with ProcessPoolExecutor(max_workers=min(jobs, len(chunks))) as pool:
        pending = {pool.submit(_chunk, task, c) for c in chunks}
        try:
            while pending:
                ready, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in ready:
                    finished(fut.result())
        except BaseException:
            for fut in pending:
                fut.cancel()
            raise
    return [results[r] for r in reps]
