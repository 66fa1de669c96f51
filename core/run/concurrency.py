"""``--jobs auto``: how many blob uploads go at once, found while they go.

:class:`ConcurrencyController` is the control law, pure and deterministic (the caller passes the
time): uploads are measured in windows of about one round of completions (bytes and the seconds
each upload took); after each window it

- raises the limit by one while the throughput of a window beats the one before by :data:`GAIN`;
- goes back one when a raise bought no throughput (the target is saturated there: more uploads
  would only queue, which is what rising latency says), holds for :data:`HOLD` windows, then
  probes one lower, going on down while that pays (a target that more writers slow down) and
  back up when it does not; probes alternate so, one step at a time;
- cuts the limit by half, at once, when the target throttles (``429``) or fails transiently
  (``5xx``, a broken connection: what a registry on slow disks does with too many writers), and
  by a quarter when throughput falls while the uploads' latency rises (the target slows down
  under the same load).

:class:`UploadSlots` applies a limit to the upload threads: a blob over SMALL_BLOB takes a writer
slot, a small one a share of it (:data:`core.helpers.parallel.ROUND_TRIPS_PER_JOB` small uploads
per writer slot, as ``--jobs N`` lets them go). A fixed ``--jobs N`` makes the same slots with a
controller that never moves.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from core import events as ev
from core.helpers.parallel import ROUND_TRIPS_PER_JOB, SMALL_BLOB

#: ``--jobs auto``: the most writer slots the controller goes up to
AUTO_MAX_JOBS = 16
#: ``--jobs auto``: the writer slots it starts with
AUTO_START_JOBS = 2
#: a raise is kept when the next window's throughput is at least this much higher
GAIN = 0.05
#: windows held after a raise that bought nothing or a cut, before the next raise is tried
HOLD = 4
#: a window's throughput this much below the one before, with the latency up by half: a cut
SLOWDOWN = 0.3
#: uploads completed before a window is judged, at the least (fewer: one large blob swamps it)
MIN_WINDOW = 16


def window_size(limit: int) -> int:
    """Uploads completed in a window at ``limit`` writer slots: about two rounds of them."""
    return max(MIN_WINDOW, 2 * limit * ROUND_TRIPS_PER_JOB)


@dataclass(frozen=True)
class Window:
    """One window's measure: bytes per second over all uploads and seconds per byte of one upload."""

    throughput: float
    latency: float


class ConcurrencyController:
    """The limit on uploads at once (writer slots), moved by what the uploads measure; thread-safe.

    ``fixed``: the limit never moves (``--jobs N``)."""

    def __init__(self, start: int = AUTO_START_JOBS, maximum: int = AUTO_MAX_JOBS, *, fixed: bool = False) -> None:
        self.maximum = max(1, maximum)
        self.limit = min(max(1, start), self.maximum)
        self.fixed = fixed
        #: every change of the limit: (new limit, why), in order
        self.changes: list[tuple[int, str]] = []
        self._lock = threading.Lock()
        self._opened: float | None = None
        self._done = 0
        self._bytes = 0
        self._busy = 0.0
        self._last: Window | None = None
        self._probed = 0  # the window being measured is at a limit a probe moved up (1) or down (-1)
        self._direction = 1  # where the next probe goes
        self._hold = 0
        self._throttled = False  # cut for throttling in this window already

    def started(self, now: float) -> None:
        """An upload starts: a window opens with the first."""
        with self._lock:
            if self._opened is None:
                self._opened = now

    def finished(self, size: int, seconds: float, now: float) -> int | None:
        """An upload of ``size`` bytes took ``seconds``; the new limit when this closed a window that
        moved it, else None."""
        with self._lock:
            self._done += 1
            self._bytes += size
            self._busy += max(seconds, 0.0)
            opened = self._opened if self._opened is not None else now - seconds
            if self.fixed or self._done < window_size(self.limit) or now <= opened:
                return None
            window = Window(self._bytes / (now - opened), self._busy / max(self._bytes, 1))
            self._reset(now)
            return self._judge(window)

    def throttled(self, now: float) -> int | None:
        """The target answered 429 or 5xx, or a connection broke: the limit halves (once a window);
        the new limit, or None when it did not move."""
        with self._lock:
            if self.fixed or self._throttled:
                return None
            self._reset(now)
            self._throttled = True
            self._last, self._probed, self._hold, self._direction = None, 0, HOLD, 1
            return self._move(max(1, self.limit // 2), "the target throttled or failed")

    # -- the law ------------------------------------------------------------------------------

    def _judge(self, window: Window) -> int | None:
        last, probed = self._last, self._probed
        self._last, self._probed, self._throttled = window, 0, False
        if last is None:
            return self._hold_or_probe("throughput measured")
        grew = window.throughput >= last.throughput * (1 + GAIN)
        if probed and grew:  # the step paid: another the same way
            return self._probe(probed, "throughput grew")
        if probed:  # it bought nothing: back, hold, and the next probe goes the other way
            self._hold, self._direction = HOLD, -probed
            why = "more uploads at once bought no throughput" if probed > 0 else "fewer uploads at once lost throughput"
            return self._move(self.limit - probed, why)
        if window.throughput < last.throughput * (1 - SLOWDOWN) and window.latency > last.latency * 1.5:
            self._hold = HOLD
            return self._move(max(1, self.limit * 3 // 4), "throughput fell while latency rose")
        return self._hold_or_probe("trying one more upload at once" if self._direction > 0 else "trying one fewer")

    def _hold_or_probe(self, why: str) -> int | None:
        if self._hold > 0:
            self._hold -= 1
            return None
        return self._probe(self._direction, why)

    def _probe(self, direction: int, why: str) -> int | None:
        """One step up (``direction`` 1) or down (-1), judged by the next window; at a bound the
        probe turns."""
        limit = self.limit + direction
        if not 1 <= limit <= self.maximum:
            self._direction = -direction
            return None
        self._probed = direction
        return self._move(limit, why)

    def _move(self, limit: int, why: str) -> int | None:
        if limit == self.limit:
            return None
        self.limit = limit
        self.changes.append((limit, why))
        return limit

    def _reset(self, now: float) -> None:
        self._opened, self._done, self._bytes, self._busy = now, 0, 0, 0.0


class UploadSlots:
    """Holds uploads back to the controller's limit: a blob over SMALL_BLOB takes a writer slot (worth
    ROUND_TRIPS_PER_JOB), a small one a single share. ``emit`` hears :class:`core.events.JobsChanged`."""

    def __init__(
        self,
        controller: ConcurrencyController,
        *,
        emit: ev.Emit = ev.discard,
        clock: Callable[[], float] = time.monotonic,
        gate_small: bool = True,
    ) -> None:
        """``gate_small``: small uploads wait for a share too (False: only the caller's pool bounds them,
        as a fixed ``--jobs N`` always did)."""
        self.controller = controller
        self.emit = emit
        self.clock = clock
        self.gate_small = gate_small
        self._held = 0
        self._free = threading.Condition()

    @property
    def jobs(self) -> int:
        """Writer slots now."""
        return self.controller.limit

    @contextlib.contextmanager
    def hold(self, size: int) -> Iterator[None]:
        """Wait for room for an upload of ``size`` bytes, hold it while the upload runs, and measure it."""
        shares = ROUND_TRIPS_PER_JOB if size > SMALL_BLOB else 1
        if size <= SMALL_BLOB and not self.gate_small:
            shares = 0
        with self._free:
            while shares and self._held and self._held + shares > self.controller.limit * ROUND_TRIPS_PER_JOB:
                self._free.wait()
            self._held += shares
        started = self.clock()
        self.controller.started(started)
        try:
            yield
        finally:
            with self._free:
                self._held -= shares
                self._free.notify_all()
        now = self.clock()  # only an upload that went through is measured
        self._told(self.controller.finished(size, now - started, now))

    def hear(self, event: ev.Event) -> None:
        """A retry of a transient failure (HTTP 429, 5xx, a broken connection) halves the limit."""
        if isinstance(event, ev.Retrying):
            self._told(self.controller.throttled(self.clock()))

    def watching(self, emit: ev.Emit) -> ev.Emit:
        """``emit`` that lets :meth:`hear` see each event first (for the target's retry notices)."""

        def both(event: ev.Event) -> None:
            self.hear(event)
            emit(event)

        return both

    def _told(self, limit: int | None) -> None:
        if limit is None:
            return
        with self._free:
            self._free.notify_all()
        self.emit(ev.JobsChanged(limit, self.controller.changes[-1][1] if self.controller.changes else ""))


def upload_slots(jobs: int, auto: bool, *, emit: ev.Emit = ev.discard) -> UploadSlots:
    """The slots of a run: ``--jobs auto`` (``auto``, up to ``jobs``) or a fixed ``--jobs jobs``."""
    if auto:
        return UploadSlots(ConcurrencyController(min(AUTO_START_JOBS, jobs), jobs), emit=emit)
    return UploadSlots(ConcurrencyController(jobs, jobs, fixed=True), emit=emit, gate_small=False)
