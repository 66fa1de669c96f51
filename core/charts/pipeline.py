"""From a bundle's chart files to the ``.tgz`` archfuse pushes: validate, relocate, repack."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from core.charts.relocate import RelocatedImage, relocate
from core.charts.repack import repack
from core.charts.validate import DEFAULT_LIMITS, Limits, validate_chart
from core.oci.digest import sha256_digest


class BundleLike(Protocol):
    @property
    def member(self) -> str: ...  # the bundle's path inside the package
    @property
    def repo(self) -> str: ...  # source chart repository: addon, community, ...
    @property
    def chart(self) -> str: ...
    @property
    def version(self) -> str: ...


class ChartFilesLike(Protocol):
    """What the package reader yields per bundle (``core.package.reader.ChartFiles``)."""

    @property
    def bundle(self) -> BundleLike: ...
    @property
    def hints(self) -> list[str]: ...
    @property
    def files(self) -> dict[str, bytes]: ...  # relative to original-chart/


@dataclass(frozen=True)
class PreparedChart:
    """A chart ready to push: relocated and packed as ``<name>-<version>.tgz``."""

    name: str
    version: str
    repo: str
    tgz: bytes
    digest: str  # sha256 of tgz
    warnings: tuple[str, ...]
    images: tuple[RelocatedImage, ...] = ()
    changed: tuple[str, ...] = ()

    @property
    def filename(self) -> str:
        return f"{self.name}-{self.version}.tgz"


def prepare_chart(
    chart_files: ChartFilesLike,
    *,
    host: str,
    prefix: str = "",
    imported_refs: Iterable[str] | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> PreparedChart:
    """Validate a bundle's chart, point its hinted images at ``host``/``prefix`` and repack it.

    Raises :class:`core.errors.ChartError` (naming the bundle) for a chart that cannot be used.
    """
    bundle = chart_files.bundle
    name = bundle.member.rsplit("/", 1)[-1] or bundle.member
    meta = validate_chart(
        chart_files.files, bundle=name, name=bundle.chart, version=bundle.version, limits=limits
    )
    moved = relocate(
        chart_files.files,
        chart_files.hints,
        host=host,
        prefix=prefix,
        imported_refs=imported_refs,
        bundle=name,
        limits=limits,
    )
    tgz = repack(meta.name, moved.files)
    return PreparedChart(
        meta.name,
        meta.version,
        bundle.repo,
        tgz,
        sha256_digest(tgz),
        moved.warnings,
        moved.images,
        moved.changed,
    )
