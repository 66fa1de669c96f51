"""Packages scanned in the background, one at a time, while a face lists them.

Files the scan cache knows go first (they take no read), then the others in name order. Those the
engineer waits for (:meth:`BackgroundScan.first`) move to the front, and the package being read
gives way unless it is waited for too. A package that cannot be read is reported with its reason
and the others are scanned. Stopping (the ``cancel`` event) or giving way takes effect at the next
progress step of the package being read (one every 1 % of the file).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Union

from core import events as ev
from core.package.model import PackageIndex
from core.package.scan import ScanInterrupted, Unreadable, in_scan_cache, scan_or_reason

#: what scanning one package gives: its index, or why it cannot be read
ScanResult = Union[PackageIndex, Unreadable]


class BackgroundScan:
    """Scans ``files`` in :meth:`run` (a worker thread); ``done`` hears each result, ``emit`` the
    progress; setting ``cancel`` stops it."""

    def __init__(
        self,
        files: list[Path],
        *,
        state_dir: Path,
        emit: ev.Emit,
        done: Callable[[ScanResult], None],
        cancel: threading.Event | None = None,
    ) -> None:
        self.state_dir = state_dir
        self.emit = emit
        self.done = done
        self.cancel = cancel or threading.Event()
        self._lock = threading.Lock()
        cached = [f for f in files if in_scan_cache(f, state_dir)]
        self._pending = cached + [f for f in files if f not in cached]
        self._current: Path | None = None  # the package being read
        self._set_aside: Path | None = None  # the package being read, to give way at its next progress step
        self._ahead = 0  # packages waited for at the front of the queue

    def first(self, paths: list[str]) -> str | None:
        """Scan these next (the engineer waits for them), in the order given. The package being read,
        when it is not one of them, gives way (it is read again after them): its path is returned."""
        with self._lock:
            ahead = [f for p in paths for f in self._pending if str(f) == p]
            self._pending = ahead + [f for f in self._pending if f not in ahead]
            self._ahead = len(ahead)
            current = self._current
            if current is None or not ahead or str(current) in paths:
                return None
            self._set_aside = current
            return str(current)

    def stop(self) -> None:
        """Scan nothing more; the package being read stops at its next progress step."""
        self.cancel.set()

    def _interrupted(self) -> bool:
        return self.cancel.is_set() or (self._set_aside is not None and self._set_aside == self._current)

    def run(self) -> None:
        """Scan until every file is done or the scan is cancelled."""
        while True:
            with self._lock:
                if self.cancel.is_set() or not self._pending:
                    return
                path = self._current = self._pending.pop(0)
                self._ahead = max(0, self._ahead - 1)
            try:
                result = scan_or_reason(path, state_dir=self.state_dir, emit=self.emit, stop=self._interrupted)
            except ScanInterrupted:
                if self.cancel.is_set():
                    return
                with self._lock:  # it gave way: read again after the packages waited for
                    self._pending.insert(self._ahead, path)
                continue
            finally:
                with self._lock:
                    self._current = self._set_aside = None
            if self.cancel.is_set():
                return
            self.done(result)
