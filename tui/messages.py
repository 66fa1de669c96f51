"""Typed messages the TUI passes between engine workers and screens."""

from __future__ import annotations

from collections.abc import Callable

from textual.message import Message

from core.api import BackgroundScan, PackageIndex, Unreadable
from core.api import events as ev


class EngineEvent(Message):
    """One engine event (not a progress tick), delivered on the UI thread."""

    def __init__(self, event: ev.Event) -> None:
        super().__init__()
        self.event = event


class ProgressTick(Message):
    """Coalesced progress: call :meth:`latest` for the newest event of its kind.

    The event is read when the UI handles the tick, not when it was posted, so a burst of
    progress from a worker costs the UI one update.
    """

    def __init__(self, take: Callable[[], ev.Event | None]) -> None:
        super().__init__()
        self._take = take
        self._event: ev.Event | None = None

    def latest(self) -> ev.Event | None:
        if self._event is None:
            self._event = self._take()
        return self._event


class WorkDone(Message):
    """A worker finished; :meth:`deliver` hands its result to the screen's typed callback (UI thread)."""

    def __init__(self, job: str, deliver: Callable[[], None]) -> None:
        super().__init__()
        self.job = job
        self.deliver = deliver


class WorkFailed(Message):
    """A worker failed with an error a person can act on (one sentence, no traceback)."""

    def __init__(self, job: str, message: str) -> None:
        super().__init__()
        self.job = job
        self.message = message


class PackageRead(Message):
    """The background scan ``scan`` finished one package: its index, or why it cannot be read."""

    def __init__(self, scan: BackgroundScan, result: PackageIndex | Unreadable) -> None:
        super().__init__()
        self.scan = scan
        self.result = result
