"""Packages scanned in the background, one at a time, for the Packages screen (no textual here).

Files the scan cache knows go first (they take no read), then the others in name order. Those the
engineer waits for (Next pressed with them selected) move to the front, and the package being read
gives way unless it is waited for too. A package that cannot be read is reported with its reason
and the others are scanned. Stopping or giving way takes effect at the next progress step of the
package being read (the engine reports one every 1 % of the file).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Union

from core import events as ev
from core.errors import ArchfuseError
from core.package.model import PackageIndex
from core.package.scan import Unreadable, in_scan_cache, scan_package

#: what scanning one package gives: its index, or why it cannot be read
ScanResult = Union[PackageIndex, Unreadable]


class ScanStopped(Exception):
    """Raised inside a package's scan once the background scan is stopped (it unwinds the read)."""


class ScanSetAside(Exception):
    """Raised inside a package's scan that gives way to the packages waited for (it is scanned later)."""


class BackgroundScan:
    """Scans ``files`` in :meth:`run` (a worker thread); ``done`` hears each result, ``emit`` the progress."""

    def __init__(
        self,
        files: list[Path],
        *,
        state_dir: Path,
        emit: ev.Emit,
        done: Callable[[ScanResult], None],
    ) -> None:
        self.state_dir = state_dir
        self.emit = emit
        self.done = done
        self.stopped = threading.Event()
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
        self.stopped.set()

    def run(self) -> None:
        """Scan until every file is done or :meth:`stop` is called."""
        while True:
            with self._lock:
                if self.stopped.is_set() or not self._pending:
                    return
                path = self._current = self._pending.pop(0)
                self._ahead = max(0, self._ahead - 1)
            try:
                result = self.scan(path)
            except ScanStopped:
                return
            except ScanSetAside:
                with self._lock:
                    self._pending.insert(self._ahead, path)
                continue
            finally:
                with self._lock:
                    self._current = self._set_aside = None
            if self.stopped.is_set():
                return
            self.done(result)

    def scan(self, path: Path) -> ScanResult:
        """One package: its index, or why it cannot be read (raises only :class:`ScanStopped` and
        :class:`ScanSetAside`)."""
        try:
            return scan_package(path, state_dir=self.state_dir, emit=self._emit)
        except (ScanStopped, ScanSetAside):
            raise
        except ArchfuseError as err:
            return Unreadable(str(path), str(err))
        except OSError as err:
            return Unreadable(str(path), f"{path.name}: cannot be read ({err.strerror or err}).")
        except Exception as err:  # one package's surprise must not stop the others
            return Unreadable(str(path), f"{path.name}: unexpected error ({type(err).__name__}): {err}")

    def _emit(self, event: ev.Event) -> None:
        if self.stopped.is_set():
            raise ScanStopped
        if self._set_aside is not None and self._set_aside == self._current:
            raise ScanSetAside
        self.emit(event)
