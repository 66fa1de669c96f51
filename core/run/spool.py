"""A bounded spool: blobs read from the package stream wait here while uploads are in flight.

Extra memory and disk never exceed the budget, whatever the package size: a blob larger than
the budget is not spooled at all but streamed straight from the package to the target.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import BinaryIO

from core.advice import Advice
from core.errors import SpoolFull

COPY_CHUNK = 1 << 20


class SpoolBudget:
    """Counts bytes held in the spool; ``acquire`` blocks until enough is free."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self.peak = 0
        self._cond = threading.Condition()

    def fits(self, size: int) -> bool:
        """True when a blob of ``size`` bytes can ever be spooled."""
        return size <= self.limit

    def acquire(self, size: int, cancelled: threading.Event | None = None) -> bool:
        """Hold ``size`` bytes of the budget; False (nothing held) when ``cancelled`` was set while waiting."""
        with self._cond:
            while self.used + size > self.limit:
                if cancelled is not None and cancelled.is_set():
                    return False
                self._cond.wait(0.2)
            self.used += size
            self.peak = max(self.peak, self.used)
            return True

    def release(self, size: int) -> None:
        with self._cond:
            self.used -= size
            self._cond.notify_all()


def spool_copy(stream: BinaryIO, size: int, spool_dir: Path | None, memory_limit: int) -> BinaryIO:
    """Copy ``size`` bytes of ``stream`` into a spooled file (memory, then ``spool_dir``).

    A full disk becomes SpoolFull naming the directory. ``memory_limit`` 0: straight to disk.
    """
    spool = tempfile.SpooledTemporaryFile(  # noqa: SIM115 - returned to the caller, who closes it
        max_size=max(memory_limit, 1),  # SpooledTemporaryFile takes 0 as "never roll over"
        dir=str(spool_dir) if spool_dir else None,
        prefix="archfuse-spool-",
    )
    try:
        shutil.copyfileobj(stream, spool, COPY_CHUNK)
        spool.seek(0)
    except OSError as err:
        with contextlib.suppress(OSError):  # closing flushes what did not fit: ENOSPC again
            spool.close()
        _raise_if_full(err, spool_dir, size)
        raise
    return spool  # type: ignore[return-value]


def _raise_if_full(err: OSError, spool_dir: Path | None, size: int) -> None:
    """SpoolFull naming the directory for a full disk (or quota); nothing for another error."""
    if err.errno in (errno.ENOSPC, errno.EDQUOT):
        where = spool_dir or Path(tempfile.gettempdir())
        raise SpoolFull(
            f"The spool directory {where} is full while holding a {size}-byte blob.",
            hint=Advice("Free space there or {spool_dir} on a file system with room, then run the import again."),
        ) from err


class SharedSpool:
    """A blob spooled once and read by several uploads at once (one per site), each through a reader
    of its own: in memory up to ``memory_limit`` bytes, else in a file of ``spool_dir``."""

    def __init__(self, stream: BinaryIO, size: int, spool_dir: Path | None, memory_limit: int) -> None:
        self.size = size
        self._data = b""
        self._path: str | None = None
        if size <= memory_limit:
            held = io.BytesIO()
            shutil.copyfileobj(stream, held, COPY_CHUNK)
            self._data = held.getvalue()
            return
        fd, self._path = tempfile.mkstemp(prefix="archfuse-spool-", dir=str(spool_dir) if spool_dir else None)
        try:
            with os.fdopen(fd, "wb") as out:
                shutil.copyfileobj(stream, out, COPY_CHUNK)
        except OSError as err:
            self.close()
            _raise_if_full(err, spool_dir, size)
            raise

    def open(self) -> BinaryIO:
        """A reader of the blob from its start, independent of the others."""
        if self._path is None:
            return io.BytesIO(self._data)
        return open(self._path, "rb")

    def close(self) -> None:
        """Let go of the blob (its readers may still read an open file on POSIX)."""
        self._data = b""
        if self._path is not None:
            with contextlib.suppress(OSError):
                os.unlink(self._path)
            self._path = None
