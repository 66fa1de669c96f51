"""``--jobs auto``'s control law (core.run.concurrency), fed synthetic windows: no clock, no target."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from core import events as ev
from core.helpers.parallel import ROUND_TRIPS_PER_JOB, SMALL_BLOB
from core.run.concurrency import (
    AUTO_MAX_JOBS,
    HOLD,
    ConcurrencyController,
    UploadSlots,
    upload_slots,
    window_size,
)

MB = 1_000_000


CLOCK = {"now": 0.0}


def drive(
    controller: ConcurrencyController, throughput: Callable[[int, int], float], windows: int, size: int = MB
) -> list[int]:
    """Feed ``windows`` windows of uploads to a target that moves ``throughput(limit, window)`` bytes
    a second with ``limit`` writer slots (each upload's latency by Little's law); the limit of each.
    The time goes on from the last call (CLOCK)."""
    now = CLOCK["now"]
    limits = []
    for window in range(windows):
        limit = controller.limit
        limits.append(limit)
        rate = throughput(limit, window)
        uploads = window_size(limit)
        controller.started(now)
        for _ in range(uploads):
            now += size / rate
            controller.finished(size, limit * ROUND_TRIPS_PER_JOB * size / rate, now)
    CLOCK["now"] = now
    return limits


def throttle(controller: ConcurrencyController) -> int | None:
    CLOCK["now"] += 0.01
    return controller.throttled(CLOCK["now"])


def test_it_rises_while_the_throughput_grows() -> None:
    controller = ConcurrencyController()
    limits = drive(controller, lambda limit, _: limit * 10 * MB, 30)
    top = limits.index(AUTO_MAX_JOBS)
    assert limits[: top + 1] == list(range(2, AUTO_MAX_JOBS + 1))  # one step a window up to the bound
    assert set(limits[top:]) == {AUTO_MAX_JOBS - 1, AUTO_MAX_JOBS}  # where it stays, a probe lower now and then
    assert limits[top:].count(AUTO_MAX_JOBS) > 3 * limits[top:].count(AUTO_MAX_JOBS - 1)


def test_it_holds_where_the_target_saturates() -> None:
    """Throughput flat from 4 writers on: it settles at 4, probing 5 and 3 now and then, never beyond."""
    controller = ConcurrencyController()
    limits = drive(controller, lambda limit, _: min(limit, 4) * 10 * MB, 60)
    assert 4 in limits and max(limits) == 5
    settled = limits[limits.index(4):]
    assert set(settled) == {3, 4, 5} and settled.count(4) >= 3 * (len(settled) - settled.count(4))
    assert ("more uploads at once bought no throughput" in why for _, why in controller.changes)


def test_it_backs_off_where_more_writers_slow_the_target() -> None:
    """A registry on slow disks: beyond 3 writers each one more costs throughput."""
    controller = ConcurrencyController(start=8)
    limits = drive(controller, lambda limit, _: 30 * MB * min(limit, 3) / max(1, limit - 2), 60)
    assert limits[:2] == [8, 9]  # the raise costs throughput: back, then down while that pays
    assert limits[7:13] == [7, 6, 5, 4, 3, 2]
    assert set(limits[13:]) == {2, 3, 4} and limits[13:].count(3) > 3 * (len(limits) - 13 - limits[13:].count(3))


def test_a_throttle_halves_it_once_a_window_down_to_one() -> None:
    controller = ConcurrencyController(start=9)
    assert throttle(controller) == 4
    assert throttle(controller) is None  # the same window: the uploads in flight were sent before the cut
    drive(controller, lambda limit, _: 10 * MB, 1)
    assert throttle(controller) == 2
    drive(controller, lambda limit, _: 10 * MB, 1)
    assert throttle(controller) == 1
    drive(controller, lambda limit, _: 10 * MB, 1)
    assert throttle(controller) is None and controller.limit == 1
    # held for HOLD windows after a cut, then it tries again
    assert drive(controller, lambda limit, _: 10 * MB, HOLD + 1) == [1] * (HOLD + 1)
    assert controller.limit == 2


def test_falling_throughput_with_rising_latency_cuts_it() -> None:
    """The target slows down under the same load (its disk fills, another writer came): a quarter off."""
    controller = ConcurrencyController(start=8, maximum=8)
    limits = drive(controller, lambda limit, window: 80 * MB if window < 8 else 20 * MB, 10)
    assert limits[3:] == [8] * 6 + [6]  # the window that fell cut it
    assert controller.changes[-1] == (6, "throughput fell while latency rose")


def test_a_fixed_limit_never_moves() -> None:
    controller = ConcurrencyController(8, 8, fixed=True)
    assert drive(controller, lambda limit, _: limit * MB, 10) == [8] * 10
    assert throttle(controller) is None and controller.changes == []


def test_the_slots_hold_uploads_to_the_limit_and_hear_throttling() -> None:
    told: list[ev.Event] = []
    slots = UploadSlots(ConcurrencyController(start=2), emit=told.append)
    entered = threading.Event()

    def third_large() -> None:
        with slots.hold(SMALL_BLOB + 1):
            entered.set()

    with slots.hold(SMALL_BLOB + 1), slots.hold(SMALL_BLOB + 1):  # two writer slots
        waiting = threading.Thread(target=third_large, daemon=True)
        waiting.start()
        assert not entered.wait(0.2)  # no room for a third
        slots.hear(ev.Retrying("registry", "an upload", "HTTP 429", 2, time.time(), 0.0))
        assert slots.jobs == 1
    assert entered.wait(5)  # room once the two are done
    waiting.join(5)
    assert [e.jobs for e in told if isinstance(e, ev.JobsChanged)] == [1]
    assert told[0].text() == "uploads at once: 1 (the target throttled or failed)"  # type: ignore[attr-defined]


def test_small_uploads_take_a_share_of_a_slot_under_auto_only() -> None:
    auto = upload_slots(AUTO_MAX_JOBS, True)
    fixed = upload_slots(1, False)
    assert auto.jobs == 2
    with auto.hold(1), fixed.hold(SMALL_BLOB + 1):
        assert auto._held == 1 and fixed._held == ROUND_TRIPS_PER_JOB
        with fixed.hold(10):  # small blobs are bounded by the caller's pool under a fixed --jobs
            assert fixed._held == ROUND_TRIPS_PER_JOB
