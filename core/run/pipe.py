"""Reading and uploading at once: a blob's bytes handed from the package reader to an upload thread.

An upload that reads the package itself takes turns with the registry: it reads a chunk
(gunzip, sha256), sends it, waits for the registry to take it, reads the next. With
:func:`piped_upload` the reader goes on reading into a bounded :class:`Pipe` while the upload
thread sends, so the package is read while the registry writes, as a pipeline.
"""

from __future__ import annotations

import io
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import BinaryIO, cast

PIECE = 1 << 20  # bytes read from the package at a time
DEPTH = 16 << 20  # bytes the pipe holds at most (one registry chunk: the reader keeps a chunk ahead)


class Pipe(io.RawIOBase):
    """Bytes fed by one thread and read by another, at most ``depth`` of them held at once."""

    def __init__(self, depth: int = DEPTH) -> None:
        super().__init__()
        self._depth = depth
        self._cond = threading.Condition()
        self._chunks: deque[bytes] = deque()
        self._held = 0
        self.peak = 0  # most bytes held at once
        self._current = memoryview(b"")
        self._ended = False
        self._abandoned = False

    def readable(self) -> bool:
        return True

    def feed(self, data: bytes) -> bool:
        """Hand ``data`` to the reader, waiting for room; False once the reader has given up."""
        with self._cond:
            while self._held >= self._depth and not self._abandoned:
                self._cond.wait()
            if self._abandoned:
                return False
            self._chunks.append(data)
            self._held += len(data)
            self.peak = max(self.peak, self._held)
            self._cond.notify_all()
            return True

    def end(self) -> None:
        """No more bytes: the reader sees the end once it has read what is held."""
        with self._cond:
            self._ended = True
            self._cond.notify_all()

    def abandon(self) -> None:
        """The reader stops reading (its upload ended, or failed): the feeder stops feeding."""
        with self._cond:
            self._abandoned = True
            self._chunks.clear()
            self._held = 0
            self._cond.notify_all()

    @property
    def abandoned(self) -> bool:
        return self._abandoned

    def read(self, size: int | None = -1, /) -> bytes:
        """Up to ``size`` bytes (what one fed chunk still holds at most); everything to the end for -1."""
        if size is None or size < 0:
            return b"".join(iter(lambda: self.read(PIECE), b""))
        want = size
        with self._cond:
            while not self._current and not self._chunks and not self._ended:
                self._cond.wait()
            if not self._current:
                if not self._chunks:
                    return b""  # ended
                chunk = self._chunks.popleft()
                self._held -= len(chunk)
                self._current = memoryview(chunk)
                self._cond.notify_all()
            out, self._current = self._current[:want], self._current[want:]
            return bytes(out)

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def piped_upload(
    upload: Callable[[BinaryIO], None], source: BinaryIO, size: int, pool: Executor, *, depth: int = DEPTH
) -> None:
    """Run ``upload(stream)`` on ``pool`` while this thread copies ``size`` bytes of ``source``
    into ``stream``; returns when the upload has ended, raising what it raised.

    An upload that ends without reading everything (the blob was there already, or it failed)
    leaves the rest of ``source`` unread, for the caller to skip.
    """
    feed_upload(upload, source, size, pool, depth=depth).result()


def feed_upload(
    upload: Callable[[BinaryIO], None], source: BinaryIO, size: int, pool: Executor, *, depth: int = DEPTH
) -> Future[None]:
    """As :func:`piped_upload`, but returns once ``source`` is fed (the last ``depth`` bytes at
    most still held in the pipe): the upload's end (its last chunk, the registry's commit) is the
    returned future's, so the reader goes on with the next blob meanwhile."""
    pipe = Pipe(depth)

    def run() -> None:
        try:
            upload(cast(BinaryIO, pipe))
        finally:
            pipe.abandon()

    future = pool.submit(run)
    try:
        left = size
        while left > 0 and not pipe.abandoned:
            data = source.read(min(PIECE, left))
            if not data:
                break  # short: the upload fails on it, and the reader says the archive ends early
            left -= len(data)
            if not pipe.feed(data):
                break
    finally:
        pipe.end()  # also when interrupted: the upload thread sees the end and stops
    return future
