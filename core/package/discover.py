"""Discovery: turn the paths a user gives into package files.

A package is known by its name (``addon-offline-<kind>-package-<version>-<arch>``) or, whatever
its name (the vendor's GPU package has none fixed), by its content: a top directory whose
``data/<repo>/`` holds ``<chart>_<version>.bundle.tar`` files. The content is read only up to the
first bundle's header (the vendor's order puts ``config/`` after the data, so it is not waited for).
"""

from __future__ import annotations

import tarfile
import zlib
from pathlib import Path
from typing import BinaryIO

from core import events as ev
from core.errors import PackageError
from core.package.naming import is_package_bundle, parse_package_name

__all__ = ["discover", "is_addon_package", "parse_package_name"]

#: the most members and compressed bytes read before deciding a file is no addon package
_SNIFF_MEMBERS = 256
_SNIFF_BYTES = 256 << 20


class _Bounded:
    """A file read at most ``limit`` bytes: past that it ends, so a large archive is not read through."""

    def __init__(self, f: BinaryIO, limit: int) -> None:
        self.f = f
        self.left = limit

    def read(self, size: int = -1) -> bytes:
        if self.left <= 0:
            return b""
        size = self.left if size < 0 else min(size, self.left)
        data = self.f.read(size)
        self.left -= len(data)
        return data


def is_addon_package(path: Path) -> bool:
    """True when ``path`` is a tar (gzip'd or not) whose members, before the first bundle, are laid out as
    an addon package's: ``<top>/data/<repo>/<chart>_<version>.bundle.tar``."""
    try:
        with path.open("rb") as f, tarfile.open(fileobj=_Bounded(f, _SNIFF_BYTES), mode="r|*") as tar:  # type: ignore[call-overload]
            for count, member in enumerate(tar):
                if is_package_bundle(member.name):
                    return True
                if count >= _SNIFF_MEMBERS:
                    return False
    except (tarfile.TarError, EOFError, OSError, zlib.error, ValueError):
        return False
    return False


def _candidate(path: Path) -> bool:
    """A file of a directory worth a look: not hidden, not a checksum sidecar."""
    return path.is_file() and not path.name.startswith(".") and not path.name.endswith(".sha512sum")


def discover(paths: list[Path], emit: ev.Emit = ev.discard) -> list[Path]:
    """Package files named by ``paths``: a file is taken as it is (any name); a directory gives the
    files in it named ``addon-offline-<kind>-package-<version>-<arch>.tar.gz`` (or ``.tar``), and the
    others whose content is an addon package's. Every other file of a directory is named in a
    :class:`core.events.Warning` and skipped (a checksum sidecar of a package, quietly).
    Sorted and without duplicates; :class:`PackageError` for a missing path or a directory without packages."""
    found: dict[Path, Path] = {}
    for path in paths:
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if _candidate(p))
            inside = [p for p in files if parse_package_name(p.name) or is_addon_package(p)]
            for p in files:
                if p not in inside:
                    emit(ev.Warning(f"{p}: not an addon package (no <top>/data/<repo>/<chart>_<version>.bundle.tar "
                                    "in it); skipped."))
            if not inside:
                raise PackageError(
                    f"{path}: no addon-offline-full-package-<version>-<arch>.tar.gz file (nor an archive laid out "
                    "like an addon package) in this directory."
                )
            for p in inside:
                found.setdefault(p.resolve(), p)
        elif path.is_file():
            found.setdefault(path.resolve(), path)
        elif path.exists():
            raise PackageError(f"{path}: not a regular file or directory.")
        else:
            raise PackageError(f"{path}: no such file or directory.")
    return sorted(found.values(), key=lambda p: (p.name, str(p)))
