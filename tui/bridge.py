"""The engine's emit callback, turned into Textual messages.

The engine calls :meth:`EventBridge.__call__` from worker threads. Progress events carry
totals, so only the newest one matters: at most one ``ProgressTick`` per kind is in flight,
and when the UI takes it, it reads the newest event. The UI never floods.
"""

from __future__ import annotations

import threading
from typing import Union

from textual.message_pump import MessagePump

from core import events as ev
from tui.messages import EngineEvent, ProgressTick

_Progress = Union[ev.BytesProgress, ev.ScanProgress]
_PROGRESS_KINDS = (ev.BytesProgress, ev.ScanProgress)


class EventBridge:
    """Thread-safe: posts engine events to whichever screen listens now."""

    def __init__(self) -> None:
        self.listener: MessagePump | None = None
        self._lock = threading.Lock()
        self._latest: dict[type, _Progress] = {}
        self.posted = 0  # messages posted (tests check coalescing)

    def __call__(self, event: ev.Event) -> None:
        listener = self.listener
        if listener is None:
            return
        if isinstance(event, _PROGRESS_KINDS):
            kind = type(event)
            with self._lock:
                pending = kind in self._latest
                self._latest[kind] = event
            if pending:
                return
            self.posted += 1
            listener.post_message(ProgressTick(lambda: self.take(kind)))
            return
        self.posted += 1
        listener.post_message(EngineEvent(event))

    def take(self, kind: type) -> _Progress | None:
        """The newest progress event of ``kind``; the next one will post a new tick."""
        with self._lock:
            return self._latest.pop(kind, None)
