"""A bounded spool: blobs read from the package stream wait here while uploads are in flight.

Extra memory and disk never exceed the budget, whatever the package size: a blob larger than
the budget is not spooled at all but streamed straight from the package to the target.
"""

from __future__ import annotations

import contextlib
import errno
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
        if err.errno in (errno.ENOSPC, errno.EDQUOT):
            where = spool_dir or Path(tempfile.gettempdir())
            raise SpoolFull(
                f"The spool directory {where} is full while holding a {size}-byte blob.",
                hint=Advice("Free space there or {spool_dir} on a file system with room, then run the import again."),
            ) from err
        raise
    return spool  # type: ignore[return-value]
