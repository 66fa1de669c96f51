"""State faults: the state dir, journal or scan cache cannot be used. One sentence, which file, what to do.

A state fault never reaches the target: the journal records a tag write before the tag moves, so
when the record fails the tag stays where it was.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import time
from pathlib import Path

from core.advice import Advice
from core.errors import StateError

_CORRUPT = ("file is not a database", "malformed", "database disk image", "not a database")


def is_corrupt(err: sqlite3.Error) -> bool:
    """True when SQLite says the file is not (or no longer) a sound database."""
    text = str(err).lower()
    return any(word in text for word in _CORRUPT)


def state_fault(path: Path, err: BaseException, *, what: str = "the journal") -> StateError:
    """A StateError naming ``path`` and what to do, for an OS or SQLite error on it."""
    text = str(err).lower()
    code = err.errno if isinstance(err, OSError) else None
    move = "or {state_dir} to use another directory"
    if code == errno.ENOSPC or "disk is full" in text or "disk full" in text:
        why, fix = "the disk is full", f"free space on the disk that holds {path.parent}, {move}"
    elif code in (errno.EACCES, errno.EPERM, errno.EROFS) or "readonly" in text or "read-only" in text:
        why, fix = "it cannot be written (read-only)", f"make {path} and {path.parent} writable by this user, {move}"
    elif code in (errno.ENOTDIR, errno.EEXIST) or isinstance(err, (NotADirectoryError, FileExistsError)):
        why, fix = "a file is in the way of a directory", f"move that file away, {move}"
    elif code == errno.EISDIR or (path.is_dir() and what != "the state dir"):
        why, fix = "it is a directory, not a file", f"move that directory away, {move}"
    elif "unable to open" in text:
        why, fix = "it cannot be opened", f"check {path.parent} is a writable directory, {move}"
    else:
        why, fix = f"{getattr(err, 'strerror', None) or err}", move
    return StateError(Advice(f"{what.capitalize()} {path} cannot be used: {why}; {fix}. The target was not touched."))


def set_aside(path: Path) -> Path:
    """Rename a corrupt file (and its SQLite companions) to ``NAME.corrupt-TIME``; return the new path."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    aside = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while aside.exists():
        n += 1
        aside = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
    os.replace(path, aside)
    for suffix in ("-wal", "-shm"):
        companion = path.with_name(path.name + suffix)
        if companion.exists():
            os.replace(companion, aside.with_name(aside.name + suffix))
    return aside


def ensure_dir(path: Path) -> Path:
    """Create the state dir ``path`` if missing; StateError when it cannot be one."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise state_fault(path, err, what="the state dir") from None
    if not path.is_dir():
        raise state_fault(path, NotADirectoryError(errno.ENOTDIR, "not a directory"), what="the state dir")
    return path
