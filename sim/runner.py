"""Replications, executors and progress.

The runner knows nothing of what a replication returns: it maps a picklable
``task(replication) -> result`` over replication indices, serially, on local
processes or on a Dask distributed cluster, hands results to ``on_results`` as soon as
they finish (so a caller can save them), and returns the results in replication
order. :func:`run_chunks` does the same with a task that takes a whole chunk of
replications and returns one result for it (a run's tables, joined in the worker).
Each replication draws only from streams keyed by its own index, so the results do not
depend on the executor, the number of processes, the chunking or the order of
completion.

What a stop can lose is bounded in time: replications go to the workers in chunks
sized, from the measured time per replication, to take about :data:`CHUNK_SECONDS`
each, and a chunk's results are handed on when it finishes. Local workers ignore
Ctrl-C, SIGTERM and SIGHUP (the main process decides, and kills them when it stops)
and exit by themselves within a second if the main process dies, even by SIGKILL.
"""

from __future__ import annotations

import functools
import math
import os
import signal
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from sim.errors import ReplicationFailed, Stopped

__all__ = [
    "CHUNK_SECONDS",
    "Dask",
    "ReplicationFailed",
    "default_jobs",
    "local_cluster",
    "each",
    "run_chunks",
    "run_replications",
    "stop_on_signals",
]

T = TypeVar("T")

# A chunk of replications is sized to take about this long on a worker: what a kill
# can lose per worker (plus the chunks' start-up, which is small)
CHUNK_SECONDS = 10.0
# serially, finished replications are handed on about this often (not one by one)
_SERIAL_BATCH_SECONDS = 1.0
# how often a worker checks that the process that started it is still there
_WATCH_SECONDS = 0.5
STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


def default_jobs() -> int:
    """One process per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """While inside, SIGTERM and SIGHUP stop the work as Ctrl-C does.

    They raise :class:`~sim.errors.Stopped` (a ``KeyboardInterrupt`` that knows its
    signal) in the main thread, so that whatever saves work on Ctrl-C saves it on these
    too. Outside the main thread this does nothing. The previous handlers come back on
    the way out.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: object) -> None:
        raise Stopped(signum)

    previous = {}
    for sig in STOP_SIGNALS:
        if sig != signal.SIGINT:
            previous[sig] = signal.signal(sig, stop)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class _Chunker:
    """Cuts the replications into chunks of about :data:`CHUNK_SECONDS` of work.

    The first chunks hold one replication each, to measure; then each chunk holds as
    many as the time per replication of the last chunk to finish allows (the latest
    figure: a worker's first chunk also pays for its start-up, and a machine's load
    changes), and never more than an even share of what is left (so the last chunks
    end together). The executors keep one chunk per worker in flight and none queued
    behind it, so that no large chunk taken early waits behind another at the end while
    a worker is idle.
    """

    def __init__(self, reps: list[int], workers: int, seconds: float):
        self.left = deque(reps)
        self.workers, self.seconds = max(workers, 1), seconds
        self.per_rep: float | None = None

    def __bool__(self) -> bool:
        return bool(self.left)

    def record(self, n: int, seconds: float) -> None:
        """A chunk of ``n`` replications took ``seconds`` on its worker."""
        if n:
            self.per_rep = max(seconds / n, 1e-6)

    def size(self) -> int:
        """How many replications the next chunk holds."""
        if self.per_rep is None:
            return 1
        by_time = max(1, int(self.seconds / self.per_rep))
        return max(1, min(by_time, math.ceil(len(self.left) / self.workers)))

    def take(self) -> list[int]:
        """The next chunk."""
        n = min(self.size(), len(self.left))
        return [self.left.popleft() for _ in range(n)]


def each(task: Callable[[int], T], reps: Sequence[int]) -> list[tuple[int, T]]:
    """``task`` of each replication in turn: (replication, result) pairs.

    A replication that raises is reported with its index (:class:`ReplicationFailed`);
    an ``OSError`` (the machine refusing a write) is raised as it is.
    """
    out = []
    for r in reps:
        try:
            out.append((r, task(r)))
        except OSError:  # the machine refused (a worker's event parts: the disk is full)
            raise
        except Exception:  # noqa: BLE001 - reported with its replication, then re-raised
            raise ReplicationFailed(r, traceback.format_exc()) from None
    return out


def _chunk(chunk_task: Callable[[list[int]], Any], reps: list[int]) -> tuple[Any, float]:
    """Run a chunk; return its result and the seconds it took."""
    t0 = time.perf_counter()
    out = chunk_task(reps)
    return out, time.perf_counter() - t0


def _worker_start(main: int) -> None:
    """In each local worker: leave stopping to the main process, and exit if it dies.

    The worker watches both its parent (the main process; under "forkserver", the fork
    server, which exits with the main process) and the main process itself.
    """
    for sig in STOP_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)
    parent = os.getppid()

    def gone(pid: int) -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except OSError:  # exists, owned by another user: not ours, so ours is gone
            return True
        return False

    def watch() -> None:
        while True:
            time.sleep(_WATCH_SECONDS)
            if os.getppid() != parent or gone(main):
                os._exit(1)

    threading.Thread(target=watch, name="crisis-sim-orphan-watch", daemon=True).start()


def _kill_workers(pool: ProcessPoolExecutor) -> None:
    """Stop a pool's workers now, not after their chunks: the run has been stopped.

    A worker killed while it sends a result leaves half a message in the results pipe,
    and the pool's manager thread waits for the rest for ever (the parent holds the
    pipe's write end open, so the read never ends), and with it the pool's shutdown and
    the interpreter's exit. So once the workers are dead and reaped, the parent's write
    end is closed: the read ends at end of file, and the thread sees a broken pool and
    stops.
    """
    processes = getattr(pool, "_processes", None) or {}  # no public way before 3.14
    for process in list(processes.values()):
        if process.is_alive():
            process.kill()
    for process in list(processes.values()):
        process.join(timeout=10)  # killed: it exits at once
    writer = getattr(getattr(pool, "_result_queue", None), "_writer", None)
    if writer is not None:
        writer.close()


def _run_processes(chunk_task, reps: list[int], jobs: int, seconds: float, finished) -> None:
    chunker = _Chunker(reps, jobs, seconds)
    pool = ProcessPoolExecutor(
        max_workers=min(jobs, len(reps)), initializer=_worker_start, initargs=(os.getpid(),)
    )
    pending: dict = {}  # future -> its chunk's replications

    def submit() -> None:
        while chunker and len(pending) < jobs:  # a chunk per worker, none queued
            chunk = chunker.take()
            pending[pool.submit(_chunk, chunk_task, chunk)] = chunk

    try:
        while chunker or pending:
            submit()
            ready, _ = wait(pending, return_when=FIRST_COMPLETED)
            results = []
            for fut in ready:
                chunk = pending.pop(fut)
                result, took = fut.result()
                chunker.record(len(chunk), took)
                results.append((chunk, result))
            submit()  # the workers go on while the results are handed on (saved)
            for chunk, result in results:
                finished(chunk, result)
    except BaseException:
        for fut in pending:
            fut.cancel()
        _kill_workers(pool)
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def _run_dask(chunk_task, reps: list[int], spec: Dask, seconds: float, finished) -> None:
    """Chunks of replications as Dask futures; results handed back as they complete."""
    from dask.distributed import Client, as_completed

    with ExitStack() as stack:
        address = spec.address or stack.enter_context(local_cluster(spec.workers or default_jobs()))
        client = stack.enter_context(Client(address))
        workers = len(client.scheduler_info().get("workers", {})) or 1
        chunker = _Chunker(reps, workers, seconds)
        pending: dict = {}  # future -> its chunk's replications

        def submit() -> None:
            chunk = chunker.take()
            fut = client.submit(_chunk, chunk_task, chunk, pure=False)
            pending[fut] = chunk
            running.add(fut)

        running = as_completed([])
        try:
            while chunker and len(pending) < workers:
                submit()
            for fut in running:
                result, took = fut.result()
                # let the worker forget it: results kept there make its heap grow and
                # its garbage collections slower chunk after chunk
                chunk = pending.pop(fut)
                fut.release()
                chunker.record(len(chunk), took)
                while chunker and len(pending) < workers:  # the workers go on meanwhile
                    submit()
                finished(chunk, result)
        except BaseException:
            client.cancel(list(pending))
            raise


@contextmanager
def local_cluster(workers: int) -> Iterator[str]:
    """A Dask cluster of ``workers`` processes on the loopback interface.

    One thread each, no dashboard; yields the scheduler's address and closes the
    cluster on the way out.
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


@dataclass(frozen=True)
class Dask:
    """Run on a Dask distributed cluster.

    An existing one (``address``), or a local one started for the run (``workers``
    processes, on the loopback interface).
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
    chunk_seconds: float | None = None,
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
        Called with the number of replications just finished.
    on_results
        Called with a list of (replication, result) pairs as they finish: a chunk's when
        it finishes; serially, every second or so (so that saving them costs little),
        and at once for those finished when a replication fails or the run is stopped.
    dask
        Run on a Dask cluster (:class:`Dask`) instead of local processes.
    chunk_seconds
        About how long a chunk of replications runs on a worker (default
        :data:`CHUNK_SECONDS`): the work a kill can lose per worker.

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

    if dask is None and (jobs <= 1 or len(reps) <= 1):
        batch: list[tuple[int, T]] = []
        since = time.monotonic()
        try:
            for r in reps:
                batch.extend(each(task, [r]))
                if progress:
                    progress(1)
                if time.monotonic() - since >= _SERIAL_BATCH_SECONDS:
                    done(batch)
                    batch, since = [], time.monotonic()
        finally:  # a failure or Ctrl-C: what finished is still handed on
            done(batch)
    else:
        run_chunks(
            functools.partial(each, task),
            reps,
            jobs,
            progress,
            lambda chunk, pairs: done(pairs),
            dask,
            chunk_seconds,
        )
    return [results[r] for r in reps]


def run_chunks(
    chunk_task: Callable[[list[int]], T],
    replications: Sequence[int],
    jobs: int = 1,
    progress: Callable[[int], None] | None = None,
    on_results: Callable[[list[int], T], None] | None = None,
    dask: Dask | None = None,
    chunk_seconds: float | None = None,
) -> list[tuple[list[int], T]]:
    """Run ``chunk_task`` on chunks of the replications: one result a chunk.

    What :func:`run_replications` does, for a task that takes a chunk's replications
    at once and returns one result for them all (a run's tables joined in the worker,
    so that one object, not one a replication, is sent back and saved). The chunks are
    runs of consecutive replications of the list given, sized as
    :func:`run_replications` sizes them; serially, about a second's work each.

    The replications are distinct indices. Returns the (replications, result) of every
    chunk, in the order of the list given;
    ``on_results`` is called with each as it finishes, ``progress`` with the number of
    replications in it. A failure loses the chunk it happened in (the chunks finished
    before it have been handed on).
    """
    reps = list(replications)
    seconds = chunk_seconds if chunk_seconds is not None else CHUNK_SECONDS
    finished_chunks: list[tuple[list[int], T]] = []

    def finished(chunk: list[int], result: T) -> None:
        finished_chunks.append((chunk, result))
        if on_results:
            on_results(chunk, result)
        if progress:
            progress(len(chunk))

    if dask is not None:
        _run_dask(chunk_task, reps, dask, seconds, finished)
    elif jobs <= 1 or len(reps) <= 1:
        chunker = _Chunker(reps, 1, _SERIAL_BATCH_SECONDS)
        while chunker:
            chunk = chunker.take()
            result, took = _chunk(chunk_task, chunk)
            chunker.record(len(chunk), took)
            finished(chunk, result)
    else:
        _run_processes(chunk_task, reps, jobs, seconds, finished)
    position = {r: i for i, r in enumerate(reps)}
    return sorted(finished_chunks, key=lambda c: position[c[0][0]])
