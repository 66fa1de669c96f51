"""Checks of the disks: where blobs are spooled, and where the target keeps its data on this node."""

from __future__ import annotations

import errno
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from core.advice import Advice
from core.checks.base import Check, CheckContext, Preflight
from core.kinds import CheckKind, CheckStatus
from core.units import size_text

OK, WARN, FAIL = CheckStatus.OK, CheckStatus.WARN, CheckStatus.FAIL

#: below this much room to spare after the plan's bytes, the disk check warns
DISK_MARGIN = 256 << 20


def measure_disk(where: Path, need: int) -> dict[str, int]:
    """A Check's ``numbers``: the file system holding ``where`` and the bytes a run may add there."""
    total, used, free = shutil.disk_usage(where)
    return {"total": total, "used": used, "free": free, "need": need}


def check_spool_disk(spool_dir: Path | None, budget: int) -> Check:
    """Free space where blobs are spooled, against the spool budget."""
    where = spool_dir or Path(tempfile.gettempdir())
    kind = CheckKind.SPOOL_DISK
    try:
        if not where.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, "it is not a directory" if where.exists() else "it does not exist")
        with tempfile.TemporaryFile(dir=where):  # the spool writes here: prove it can
            pass
        numbers = measure_disk(where, budget)
    except OSError as err:
        return Check(kind, FAIL, Advice(f"{where} cannot be used for spooling: {err.strerror or err}; "
                                        "{spool_dir} with a writable directory."))
    have, need = size_text(numbers["free"]), size_text(budget)
    if numbers["free"] < budget:
        return Check(kind, WARN,
                     Advice(f"{where} has {have} free, less than the {need} spool budget; the run spools less and "
                            "may be slower ({spool_budget} lower, or {spool_dir})."), numbers)
    return Check(kind, OK, f"{where}: {have} free, the spool needs at most {need}.", numbers)


def check_disk_for_target(path: Path | None, bytes_needed: int) -> Check:
    """Free space where the target keeps its data on this node against the bytes the plan adds.

    ``path`` is an OCI layout directory or the storage directory of a registry on this node
    (``--registry-storage``); None when the target stores its data elsewhere.
    """
    kind = CheckKind.TARGET_DISK
    need = size_text(bytes_needed)
    if path is None:
        return Check(kind, OK, Advice(f"The target stores its data on another node; the plan adds {need} there "
                                      "({registry_storage} to check a registry on this node)."))
    try:
        numbers = measure_disk(_existing_ancestor(Path(path)), bytes_needed)
    except OSError as err:
        return Check(kind, FAIL, f"Cannot read the free space of {path}: {err.strerror or err}.")
    free = numbers["free"]
    have = size_text(free)
    if free < bytes_needed:
        return Check(kind, FAIL, f"{path} has {have} free but the plan adds {need}; free "
                                 f"{size_text(bytes_needed - free)} there or choose another target.", numbers)
    if free - bytes_needed < DISK_MARGIN:
        return Check(kind, WARN, f"{path} has {have} free and the plan adds {need}, leaving less than "
                                 f"{size_text(DISK_MARGIN)}; free some space first.", numbers)
    return Check(kind, OK, f"{path} has {have} free; the plan adds {need}.", numbers)


def _existing_ancestor(path: Path) -> Path:
    """``path`` or its nearest existing parent (an OCI layout is created on first write)."""
    current = path.absolute()
    while not current.exists() and current != current.parent:
        current = current.parent
    return current


def spool_disk_step(context: CheckContext, result: Preflight) -> Iterator[Check]:
    """The spool's disk against the spool budget."""
    yield check_spool_disk(context.spool_dir, context.spool_budget)


def target_disk_step(context: CheckContext, result: Preflight) -> Iterator[Check]:
    """The target's disk on this node (an OCI layout, or ``--registry-storage``) against the plan's bytes."""
    config = context.config
    storage = config.layout_path if config is not None and config.layout_path else context.options.registry_storage
    if result.plan is not None and storage is not None:
        yield check_disk_for_target(storage, result.plan.bytes_to_upload)
