"""The ``<file>.sha512sum`` sidecar: what it promises and whether the file keeps the promise."""

from __future__ import annotations

import hashlib
import queue
import threading
from pathlib import Path

from core.kinds import ChecksumStatus

_SIDECAR_LIMIT = 1 << 16


def sidecar_path(path: Path) -> Path:
    return path.with_name(path.name + ".sha512sum")


def expected_sha512(path: Path) -> str | None:
    """The hex digest the sidecar gives for ``path``; None without a sidecar, '' when unreadable."""
    side = sidecar_path(path)
    if not side.is_file():
        return None
    try:
        with side.open("rb") as f:
            text = f.read(_SIDECAR_LIMIT).decode("utf-8", "replace")
    except OSError:
        return ""
    lines = [line.split() for line in text.splitlines() if line.strip()]
    for parts in lines:
        if len(parts) >= 2 and parts[-1].lstrip("*").rsplit("/", 1)[-1] == path.name:
            return parts[0].lower()
    if len(lines) == 1 and lines[0]:
        return lines[0][0].lower()
    return ""


def checksum_status(path: Path, actual_hex: str) -> ChecksumStatus:
    """``ok`` / ``missing`` / ``mismatch`` for a file whose sha512 is ``actual_hex``."""
    expected = expected_sha512(path)
    if expected is None:
        return ChecksumStatus.MISSING
    return ChecksumStatus.OK if expected == actual_hex.lower() else ChecksumStatus.MISMATCH


def file_sha512(path: Path) -> str:
    """The sha512 hex digest of a file (a read of its own; the scan computes it in its one pass)."""
    h = hashlib.sha512()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def sidecar_text(path: Path, hex_digest: str) -> str:
    """A sidecar line in ``sha512sum`` format."""
    return f"{hex_digest}  {path.name}\n"


class BackgroundHash:
    """A hash fed on a thread of its own, so it runs beside the reader rather than after it.

    The scan's sha512 costs about as much CPU as the rest of the scan together (about 1.3 s per
    GiB here); hashlib releases the GIL for large buffers, so on a second core it overlaps the
    gunzip and the blob hashes instead of adding to them. ``update`` queues the chunk (the
    queue is bounded, so memory stays at a few chunks); ``hexdigest`` waits for the thread.
    """

    _QUEUED = 16  # chunks waiting at most (the reader reads 1 MiB or less at a time)

    def __init__(self, name: str = "sha512") -> None:
        self._hash = hashlib.new(name)
        self._queue: queue.Queue[bytes | None] = queue.Queue(self._QUEUED)
        self._thread = threading.Thread(target=self._work, name=f"archfuse-{name}", daemon=True)
        self._thread.start()

    def _work(self) -> None:
        while True:
            chunk = self._queue.get()
            if chunk is None:
                return
            self._hash.update(chunk)

    def update(self, chunk: bytes) -> None:
        """Hash ``chunk`` (bytes, not a buffer that is written to again) on the hash's thread."""
        self._queue.put(bytes(chunk))

    def close(self) -> None:
        """End the thread (also after a failed read); idempotent."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()

    def hexdigest(self) -> str:
        """The digest of everything passed to :meth:`update`, once the thread has hashed it."""
        self.close()
        return self._hash.hexdigest()
