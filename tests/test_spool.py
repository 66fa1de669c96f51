"""The spool budget: bounded, blocking, cancellable."""

from __future__ import annotations

import io
import threading

from core.run.spool import SpoolBudget, spool_copy


def test_budget_blocks_until_released_and_tracks_peak() -> None:
    budget = SpoolBudget(10)
    assert budget.acquire(6) and budget.fits(10) and not budget.fits(11)
    got = threading.Event()

    def second() -> None:
        budget.acquire(6)
        got.set()

    worker = threading.Thread(target=second)
    worker.start()
    assert not got.wait(0.3), "a second 6-byte blob must wait while 6 of 10 bytes are held"
    budget.release(6)
    worker.join(5)
    assert got.is_set() and budget.used == 6 and budget.peak == 6


def test_acquire_gives_up_when_cancelled() -> None:
    budget = SpoolBudget(10)
    budget.acquire(10)
    cancelled = threading.Event()
    cancelled.set()
    assert budget.acquire(1, cancelled) is False
    assert budget.used == 10


def test_spool_copy_keeps_every_byte() -> None:
    data = bytes(range(256)) * 1000
    spool = spool_copy(io.BytesIO(data), len(data), None, memory_limit=1024)
    try:
        assert spool.read() == data
    finally:
        spool.close()
