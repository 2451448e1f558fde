"""Chunks of replications are sized by time: a kill loses at most about a chunk's work per
worker, whatever the size of the run (tested on the sizing rule, with times given)."""

from __future__ import annotations

import sys

import pytest

from sim.runner import _Chunker


def drain(chunker: _Chunker, seconds_per_rep: float) -> list[int]:
    sizes = []
    while chunker:
        chunk = chunker.take()
        chunker.record(len(chunk), seconds_per_rep * len(chunk))
        sizes.append(len(chunk))
    return sizes


def test_first_chunks_measure_then_chunks_hold_about_the_target_time() -> None:
    chunker = _Chunker(list(range(3000)), workers=2, seconds=20.0)
    sizes = drain(chunker, seconds_per_rep=0.5)  # 40 replications make 20 s
    assert sizes[0] == 1
    assert max(sizes) == 40 and all(s * 0.5 <= 20.0 for s in sizes)
    assert sum(sizes) == 3000


def test_the_bound_does_not_grow_with_the_run() -> None:
    for n in (100, 10_000, 1_000_000):
        sizes = drain(_Chunker(list(range(n)), workers=2, seconds=20.0), seconds_per_rep=0.01)
        assert max(sizes) * 0.01 <= 20.0 and sum(sizes) == n


def test_the_last_chunks_are_shared_out_evenly() -> None:
    sizes = drain(_Chunker(list(range(50)), workers=2, seconds=20.0), seconds_per_rep=0.001)
    assert sizes[:2] == [1, 25] and sizes[-1] == 1  # never more than half of what is left
    assert all(b <= a for a, b in zip(sizes[1:], sizes[2:], strict=False))


def test_every_replication_once_in_order() -> None:
    chunker, seen = _Chunker(list(range(500)), workers=3, seconds=1.0), []
    while chunker:
        chunk = chunker.take()
        chunker.record(len(chunk), 0.2 * len(chunk))
        seen += chunk
    assert seen == list(range(500))


def test_a_slow_start_does_not_keep_the_chunks_small() -> None:
    chunker = _Chunker(list(range(10_000)), workers=2, seconds=20.0)
    chunker.take()
    chunker.record(1, 3.0)  # a worker's first replication pays for its imports
    assert chunker.size() == 6
    chunker.take()
    chunker.record(6, 0.06)  # 10 ms a replication once started
    assert chunker.size() == 2000


@pytest.mark.skipif(sys.platform != "linux", reason="SIGALRM")
def test_a_stop_while_a_worker_is_sending_a_result_does_not_hang_the_shutdown() -> None:
    # a worker killed half-way through sending its result leaves half a message in the
    # results pipe: made here by writing one, the header promising more than follows
    import signal
    import struct
    import time
    from concurrent.futures import ProcessPoolExecutor

    from sim.runner import _kill_workers

    pool = ProcessPoolExecutor(max_workers=1)
    pool.submit(time.sleep, 0).result()  # the pool and its manager thread are up
    writer = pool._result_queue._writer
    writer._send(struct.pack("!i", 1 << 20) + b"half a result")

    def hung(signum, frame):
        raise TimeoutError("the pool's shutdown hung on the half-sent result")

    old = signal.signal(signal.SIGALRM, hung)
    signal.alarm(30)  # a safety net, not a race: without the fix it never returns
    try:
        _kill_workers(pool)
        pool.shutdown(wait=True, cancel_futures=True)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
        writer.close()  # were it still open (a failure), the interpreter's exit would hang
