"""Checks a chart must pass before anything is relocated or pushed.

Every failure is a :class:`ChartError` whose sentence names the bundle (or archive).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from core.charts.helmmeta import HelmMetadataError, helm_metadata
from core.errors import ChartError
from core.safeload import DocumentError

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.+_-]*$")


@dataclass(frozen=True)
class Limits:
    """Size limits for one chart (Helm's own: 5 MiB per file, 100 MiB unpacked)."""

    file_size: int = 5 << 20
    total_size: int = 100 << 20


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class ChartMeta:
    """Chart.yaml: its name, version and the whole document, as Helm reads them."""

    name: str
    version: str
    metadata: dict[str, Any]


def check_path(path: str, *, what: str) -> None:
    """Refuse absolute paths, ``..`` components, backslashes and control characters."""
    parts = path.split("/")
    if (
        not path
        or path.startswith("/")
        or "\\" in path
        or any(ord(c) < 32 for c in path)
        or ".." in parts
        or re.match(r"^[A-Za-z]:", path)
    ):
        raise ChartError(f"{what} holds a file with a hostile name: {path!r}.")


def check_files(files: dict[str, bytes], *, what: str, limits: Limits = DEFAULT_LIMITS) -> None:
    """Hostile names and oversized files."""
    total = 0
    for path, data in files.items():
        check_path(path, what=what)
        if len(data) > limits.file_size:
            raise ChartError(
                f"{what} holds {path!r} of {len(data)} bytes, over the {limits.file_size} byte limit."
            )
        total += len(data)
    if total > limits.total_size:
        raise ChartError(f"{what} holds more than {limits.total_size} bytes of chart files.")


def chart_meta(data: bytes | None, *, what: str) -> ChartMeta:
    """Chart.yaml as Helm reads it (:mod:`core.charts.helmmeta`); it must have a usable name and version."""
    if data is None:
        raise ChartError(f"{what} has no Chart.yaml.")
    try:
        doc = helm_metadata(data)
    except (DocumentError, HelmMetadataError) as err:
        raise ChartError(f"Chart.yaml in {what} {err}; Helm cannot read it.") from None
    name, version = doc.get("name", ""), doc.get("version", "")
    if not _NAME.match(name):
        raise ChartError(f"Chart.yaml in {what} has no valid name (found {name!r}).")
    if not _VERSION.match(version):
        raise ChartError(f"Chart.yaml in {what} has no valid version (found {version!r}).")
    return ChartMeta(name, version, doc)


def validate_chart(
    files: dict[str, bytes], *, bundle: str, name: str, version: str, limits: Limits = DEFAULT_LIMITS
) -> ChartMeta:
    """Check the files of a bundle's chart and that Chart.yaml matches the bundle's name and version."""
    what = f"bundle {bundle}"
    check_files(files, what=what, limits=limits)
    meta = chart_meta(files.get("Chart.yaml"), what=what)
    if (meta.name, meta.version) != (name, version):
        raise ChartError(
            f"Chart.yaml in {what} names {meta.name} {meta.version}, but the bundle is {name} {version}."
        )
    return meta

