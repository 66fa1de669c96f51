"""Preflight checks of the target's side: registry flavour, registry spaces, local disk, and the
leftover work directories of the vendor's installer.

Each function returns :class:`core.checks.preflight.Check` values (one sentence of detail with the fix);
none of them raises for a condition the user can fix.
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Iterable
from pathlib import Path

from core.advice import Advice
from core.checks.preflight import FAIL, OK, WARN, Check, measure_disk
from core.errors import ArchfuseError, UsageError
from core.oci.refs import space_of
from core.registry.harbor import DISTRIBUTION, HARBOR, Flavour, HarborClient
from core.units import size_text

#: the work directory the vendor's installer unpacks a package into
LEFTOVER_NAME = "addon-offline-target-package"
#: below this much room to spare after the plan's bytes, the disk check warns
DISK_MARGIN = 256 << 20




def _names(items: Iterable[str], limit: int = 10) -> str:
    items = list(items)
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


# -- flavour -----------------------------------------------------------------------------------


def check_flavour(client: HarborClient) -> tuple[Flavour | None, Check]:
    """Detect Harbor or a plain registry; the flavour is None when the server could not be asked."""
    try:
        flavour = client.detect()
    except ArchfuseError as err:
        return None, Check(
            "registry flavour", WARN, f"Could not tell whether {client.description} is Harbor: {err}"
        )
    if flavour.is_harbor:
        version = flavour.version or "version not shown to this user"
        rule = " (only administrators may create projects)" if flavour.project_creation == "adminonly" else ""
        return flavour, Check(
            "registry flavour",
            OK,
            f"{client.description} is Harbor ({version}); the first path segment of each repository is a project{rule}.",
        )
    return flavour, Check(
        "registry flavour",
        OK,
        f"{client.description} is a plain registry (distribution); repositories need no project.",
    )


# -- registry spaces ---------------------------------------------------------------------------


def check_spaces(
    plan_repositories: Iterable[str],
    flavour: str | Flavour | None,
    harbor_client: HarborClient | None,
    *,
    create: bool,
    public: bool,
    dry_run: bool = False,
) -> list[Check]:
    """Every registry space (Harbor project) the destination repositories need exists.

    On Harbor, missing projects fail with their list and the fix (``--create-spaces``); with
    ``create`` they are created (``public`` sets their visibility) and each is reported, unless
    ``dry_run`` (``archfuse plan`` writes nothing): then they are reported as to be created. On a
    plain registry spaces are implicit.
    """
    name = flavour.name if isinstance(flavour, Flavour) else flavour
    spaces = sorted({space_of(r) for r in plan_repositories if r})
    if not spaces:
        return [Check("registry spaces", OK, "The plan writes no repository.")]
    if name == DISTRIBUTION:
        return [
            Check(
                "registry spaces",
                OK,
                f"A plain registry creates repositories on push; {len(spaces)} top-level paths: {_names(spaces)}.",
            )
        ]
    if name != HARBOR or harbor_client is None:
        return [
            Check(
                "registry spaces",
                WARN,
                Advice("Not checked: the registry's flavour is unknown; on Harbor, missing projects make pushes fail "
                "({create_spaces} to create them)."),
            )
        ]
    where = harbor_client.description
    missing: list[str] = []
    for space in spaces:
        try:
            if not harbor_client.project_exists(space):
                missing.append(space)
        except ArchfuseError as err:
            return [Check("registry spaces", FAIL, str(err))]
    if not missing:
        return [
            Check(
                "registry spaces",
                OK,
                f"Harbor at {where} has every project the images need: {_names(spaces)}.",
            )
        ]
    if not create:
        noun = "project" if len(missing) == 1 else "projects"
        return [
            Check(
                "registry spaces",
                FAIL,
                Advice(f"Harbor at {where} lacks the {noun} {_names(missing)} that {len(missing)} of the destinations need; "
                "{create_spaces} to create them, or create them in Harbor."),
                items=tuple(missing),
            )
        ]
    visibility = "public" if public else "private"
    if dry_run:
        return [
            Check(
                "registry spaces",
                OK,
                f"Harbor at {where} lacks {_names(missing)}; the import creates them as {visibility} projects, "
                "as asked.",
            )
        ]
    out: list[Check] = []
    present = [s for s in spaces if s not in missing]
    if present:
        out.append(Check("registry spaces", OK, f"Harbor at {where} already has: {_names(present)}."))
    for space in missing:
        try:
            created = harbor_client.create_project(space, public=public)
        except ArchfuseError as err:
            out.append(Check(f"registry space {space}", FAIL, str(err)))
            continue
        if created:
            out.append(
                Check(
                    f"registry space {space}",
                    OK,
                    f"Created {visibility} Harbor project '{space}' on {where}.",
                )
            )
        else:
            out.append(
                Check(f"registry space {space}", OK, f"Harbor project '{space}' already exists on {where}.")
            )
    return out


# -- disk --------------------------------------------------------------------------------------


def check_disk_for_target(path: Path | None, bytes_needed: int) -> Check:
    """Free space where the target keeps its data on this node against the bytes the plan adds.

    ``path`` is an OCI layout directory or the storage directory of a registry on this node
    (``--registry-storage``); None when the target stores its data elsewhere.
    """
    need = size_text(bytes_needed)
    if path is None:
        return Check(
            "target disk",
            OK,
            Advice(f"The target stores its data on another node; the plan adds {need} there "
            "({registry_storage} to check a registry on this node)."),
        )
    where = _existing_ancestor(Path(path))
    try:
        numbers = measure_disk(where, bytes_needed)
    except OSError as err:
        return Check("target disk", FAIL, f"Cannot read the free space of {path}: {err.strerror or err}.")
    free = numbers["free"]
    have = size_text(free)
    if free < bytes_needed:
        return Check(
            "target disk",
            FAIL,
            f"{path} has {have} free but the plan adds {need}; free {size_text(bytes_needed - free)} "
            "there or choose another target.",
            numbers,
        )
    if free - bytes_needed < DISK_MARGIN:
        return Check(
            "target disk",
            WARN,
            f"{path} has {have} free and the plan adds {need}, leaving less than {size_text(DISK_MARGIN)}; "
            "free some space first.",
            numbers,
        )
    return Check("target disk", OK, f"{path} has {have} free; the plan adds {need}.", numbers)


def _existing_ancestor(path: Path) -> Path:
    """``path`` or its nearest existing parent (an OCI layout is created on first write)."""
    current = path.absolute()
    while not current.exists() and current != current.parent:
        current = current.parent
    return current


# -- the vendor's leftovers --------------------------------------------------------------------


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
        return Check("vendor leftovers", OK, f"No {LEFTOVER_NAME} work directories near the packages.")
    total = sum(size for _, size in leftovers)
    listed = _names([f"{path} ({size_text(size)})" for path, size in leftovers], limit=5)
    return Check(
        "vendor leftovers",
        WARN,
        Advice(f"The vendor installer's work directories hold {size_text(total)}: {listed}; archfuse does not need "
        "them; {clean_leftovers} to remove them."),
    )


def clean_vendor_leftovers(leftovers: list[tuple[Path, int]]) -> Check:
    """Remove the leftovers :func:`find_vendor_leftovers` found (``--clean-leftovers``) and report it."""
    if not leftovers:
        return check_vendor_leftovers(leftovers)
    try:
        removed = remove_vendor_leftovers([path for path, _ in leftovers])
    except ArchfuseError as err:
        return Check("vendor leftovers", WARN, str(err))
    freed = sum(size for path, size in leftovers if path in removed)
    return Check(
        "vendor leftovers",
        OK,
        f"Removed {_names([str(p) for p in removed], limit=5)}, freeing {size_text(freed)}.",
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
