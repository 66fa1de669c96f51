"""The cancel event of a run, which also says why it was set: a person (Escape, Ctrl+Q) or a signal
(SIGHUP from a dropped SSH session, SIGTERM, SIGINT at the command line).

Either way the run stops the same safe way (nothing half-moved; tags move last); the journal
records a stop by a signal as ``interrupted``, one asked for on the screen as ``cancelled``.
"""

from __future__ import annotations

import threading


class Stop(threading.Event):
    """A ``threading.Event`` the engine waits on, with the signal that set it (empty: a person did)."""

    def __init__(self) -> None:
        super().__init__()
        self.signal = ""

    def interrupt(self, signal_name: str) -> None:
        """Stop because the process was told to (``SIGHUP``, ``SIGTERM``, ``SIGINT``)."""
        if not self.is_set():
            self.signal = signal_name
        self.set()

    def clear(self) -> None:
        super().clear()
        self.signal = ""

    @property
    def interrupted(self) -> bool:
        """Set by a signal rather than by a person."""
        return self.is_set() and bool(self.signal)
