"""Discovery: turn the paths a user gives into package files."""

from __future__ import annotations

from pathlib import Path

from core.errors import PackageError
from core.package.naming import parse_package_name

__all__ = ["discover", "parse_package_name"]


def discover(paths: list[Path]) -> list[Path]:
    """Package files named by ``paths``: a file is taken as it is (any name), a directory gives
    the files in it named ``addon-offline-full-package-<version>-<arch>.tar.gz`` (or ``.tar``).
    Sorted and without duplicates; :class:`PackageError` for a missing path or an empty directory."""
    found: dict[Path, Path] = {}
    for path in paths:
        if path.is_dir():
            inside = [p for p in path.iterdir() if p.is_file() and parse_package_name(p.name)]
            if not inside:
                raise PackageError(
                    f"{path}: no addon-offline-full-package-<version>-<arch>.tar.gz file in this directory."
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
