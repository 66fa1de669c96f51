"""The engine's emit callback, turned into Textual messages.

The engine calls :meth:`EventBridge.__call__` from worker threads. Progress events carry
totals, so only the newest one matters: at most one ``ProgressTick`` per coalescing key (a kind,
an image, a blob) is in flight, and when the UI takes it, it reads the newest event. The UI
never floods.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable

from textual.message_pump import MessagePump

from core.api import events as ev
from tui.messages import EngineEvent, ProgressTick


class EventBridge:
    """Thread-safe: posts engine events to whichever screen listens now."""

    def __init__(self) -> None:
        self.listener: MessagePump | None = None
        self._lock = threading.Lock()
        self._latest: dict[Hashable, ev.Event] = {}
        self.posted = 0  # messages posted (tests check coalescing)
        self.record: ev.Emit | None = None  # sees every event, before coalescing (the run's full log)

    def __call__(self, event: ev.Event) -> None:
        record = self.record
        if record is not None:
            record(event)
        listener = self.listener
        if listener is None:
            return
        key = event.coalesce_key()
        if key is not None:
            with self._lock:
                pending = key in self._latest
                self._latest[key] = event
            if pending:
                return
            self.posted += 1
            listener.post_message(ProgressTick(lambda: self.take(key)))
            return
        self.posted += 1
        listener.post_message(EngineEvent(event))

    def take(self, key: Hashable) -> ev.Event | None:
        """The newest progress event of ``key``; the next one will post a new tick."""
        with self._lock:
            return self._latest.pop(key, None)
