"""The vendor installer's leftover work directories beside the packages: found, reported, and removed
(``--clean-leftovers``) once the import is agreed to."""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path

from core.advice import Advice
from core.checks.base import Check, CheckContext, Preflight, listed
from core.errors import ArchfuseError, UsageError
from core.kinds import CheckKind, CheckStatus
from core.units import size_text

#: the work directory the vendor's installer unpacks a package into
LEFTOVER_NAME = "addon-offline-target-package"


def find_vendor_leftovers(package_dirs: Iterable[Path]) -> list[tuple[Path, int]]:
    """``addon-offline-target-package`` directories beside the packages and one level up, with sizes.

    ``package_dirs`` are package directories (a package file stands for its directory). Symlinks
    are never followed: a link named like the work directory is not reported.
    """
    seen: set[Path] = set()
    found: list[tuple[Path, int]] = []
    for given in package_dirs:
        base = Path(given).absolute()
        if not _is_real_dir(base):
            base = base.parent
        for folder in (base, base.parent):
            candidate = folder / LEFTOVER_NAME
            if candidate in seen:
                continue
            seen.add(candidate)
            if _is_real_dir(candidate):
                found.append((candidate, _treesize_text(candidate)))
    return found


def check_vendor_leftovers(leftovers: list[tuple[Path, int]]) -> Check:
    """Warn about leftover work directories of the vendor's installer, with their size."""
    if not leftovers:
        return Check(CheckKind.VENDOR_LEFTOVERS, CheckStatus.OK, f"No {LEFTOVER_NAME} work directories near the packages.")
    total = sum(size for _, size in leftovers)
    shown = listed([f"{path} ({size_text(size)})" for path, size in leftovers], limit=5)
    return Check(
        CheckKind.VENDOR_LEFTOVERS,
        CheckStatus.WARN,
        Advice(f"The vendor installer's work directories hold {size_text(total)}: {shown}; archfuse does not "
               "need them; {clean_leftovers} to remove them."),
    )


def clean_vendor_leftovers(leftovers: list[tuple[Path, int]]) -> Check:
    """Remove the leftovers :func:`find_vendor_leftovers` found (``--clean-leftovers``) and report it."""
    if not leftovers:
        return check_vendor_leftovers(leftovers)
    try:
        removed = remove_vendor_leftovers([path for path, _ in leftovers])
    except ArchfuseError as err:
        return Check(CheckKind.VENDOR_LEFTOVERS, CheckStatus.WARN, str(err))
    freed = sum(size for path, size in leftovers if path in removed)
    return Check(
        CheckKind.VENDOR_LEFTOVERS,
        CheckStatus.OK,
        f"Removed {listed([str(p) for p in removed], limit=5)}, freeing {size_text(freed)}.",
    )


def remove_vendor_leftovers(paths: Iterable[Path]) -> list[Path]:
    """Remove the given ``addon-offline-target-package`` directories; returns those removed.

    Refuses (UsageError, before removing anything) any path with another name or that is a
    symlink or not a directory; links inside are removed, never followed.
    """
    targets = [Path(p).absolute() for p in paths]
    for path in targets:
        if path.name != LEFTOVER_NAME:
            raise UsageError(f"Refusing to remove {path}: only {LEFTOVER_NAME} directories are cleaned.")
        if os.path.lexists(path) and not _is_real_dir(path):
            raise UsageError(f"Refusing to remove {path}: it is a symlink or not a directory.")
    removed: list[Path] = []
    for path in targets:
        if not os.path.lexists(path):
            continue
        try:
            shutil.rmtree(path)
        except OSError as err:
            raise ArchfuseError(
                f"Could not remove {path}: {err.strerror or err}.",
                hint="Remove it by hand (rm -rf) or check its permissions.",
            ) from None
        removed.append(path)
    return removed


def _is_real_dir(path: Path) -> bool:
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def _treesize_text(root: Path) -> int:
    """Bytes of the regular files under ``root`` (hard links counted once, symlinks not followed)."""
    total = 0
    seen: set[tuple[int, int]] = set()
    for folder, _dirs, files in os.walk(root, followlinks=False):
        for name in files:
            try:
                info = os.lstat(os.path.join(folder, name))
            except OSError:
                continue
            if not stat.S_ISREG(info.st_mode) or (info.st_dev, info.st_ino) in seen:
                continue
            seen.add((info.st_dev, info.st_ino))
            total += info.st_size
    return total


def leftovers_step(context: CheckContext, result: Preflight) -> Iterator[Check]:
    """Leftovers near the packages, reported; with ``--clean-leftovers`` noted for ``Session.prepare``,
    which removes them once the import is agreed to (a check removes nothing)."""
    found = find_vendor_leftovers([Path(p.path) for p in context.packages])
    if not (found and context.options.clean_leftovers):
        yield check_vendor_leftovers(found)
        return
    result.leftovers_to_remove = tuple(found)
    total = sum(size for _, size in found)
    shown = listed([f"{path} ({size_text(size)})" for path, size in found], limit=5)
    yield Check(
        CheckKind.VENDOR_LEFTOVERS,
        CheckStatus.WARN,
        f"The vendor installer's work directories hold {size_text(total)}: {shown}; the import removes them, "
        "as asked, once it is agreed to.",
    )
