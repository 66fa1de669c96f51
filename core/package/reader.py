"""The streaming package reader: one forward pass over a package file, nothing written to disk.

Outer archive (``.tar.gz`` or ``.tar``) -> every ``<chart>_<version>.bundle.tar`` in it ->
``hints.yaml``, ``original-chart/``, ``images.tar`` -> blobs and ``manifest.json``. The reader
yields, in archive order: a :class:`BundleInfo` per bundle, then :class:`ChartFiles`, one
:class:`BlobMember` per blob of ``images.tar`` and :class:`ImagesFound` once ``images.tar`` ends
(so ``manifest.json`` may come before or after the blobs). Every problem is a
:class:`PackageError` whose message is one sentence naming the file and the member.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import posixpath
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Union, cast

from isal import igzip, isal_zlib

from core.errors import PackageError
from core.oci.platform import Platform, normalize_arch
from core.oci.refs import is_repository_path
from core.package import dockerarchive as da
from core.package.model import ImageRecord
from core.package.naming import is_bundle_member, package_identity, parse_bundle_member
from core.package.tarstream import (
    BLOCK,
    CHUNK,
    DIR,
    FILE,
    HARDLINK,
    SYMLINK,
    MemberStream,
    TarEntry,
    TarProblem,
    TarStream,
    TarTruncated,
    header_ok,
    safe_name,
)
from core.safeload import DocumentError, load_yaml
from core.units import size_text

#: what isal raises on corrupt deflate data (``IsalError: Invalid deflate block``; its stub calls it an instance)
_IsalError = cast("type[Exception]", isal_zlib.error)
HINTS_LIMIT = 1 << 20
CHART_YAML_LIMIT = 1 << 20
CHART_FILE_LIMIT = 16 << 20
CHART_TOTAL_LIMIT = 64 << 20
MANIFEST_LIMIT = 8 << 20
CONFIG_LIMIT = 4 << 20
JSON_KEEP_LIMIT = 64 << 20  # small JSON blobs kept per images.tar until manifest.json is matched


@dataclass(frozen=True)
class BundleInfo:
    member: str  # path of the bundle inside the outer archive
    repo: str
    chart: str
    version: str


@dataclass
class ChartFiles:
    bundle: BundleInfo
    hints: list[str]
    files: dict[str, bytes]  # paths relative to original-chart/


@dataclass
class BlobMember:
    """A blob of ``images.tar``. ``stream`` is readable once, until the next item is pulled; what is
    left unread is skipped. The bytes are hashed and checked against ``digest`` when the name promises one."""

    bundle: BundleInfo
    member: str
    size: int
    stream: BinaryIO
    digest: str | None = None  # promised by the member name; None for e.g. legacy ``<id>/layer.tar``


@dataclass
class ImagesFound:
    bundle: BundleInfo
    images: list[ImageRecord] = field(default_factory=list)


Item = Union[BundleInfo, ChartFiles, BlobMember, ImagesFound]


class _Bad(Exception):
    """A problem at a known place; turned into PackageError at the top."""


class PackageShort(PackageError):
    """The file ends before its archive does: cut short by a copy or a download (the scan adds its checksum)."""


class _Tap:
    """The raw file: counts, hashes (via ``tap``) and reports progress of what passes."""

    def __init__(
        self,
        f: BinaryIO,
        total: int,
        progress: Callable[[int, int], None] | None,
        tap: Callable[[bytes], None] | None,
    ) -> None:
        self._f = f
        self.total = total
        self.done = 0
        self._progress = progress
        self._tap = tap

    def read(self, size: int = -1, /) -> bytes:
        data = self._f.read(size)
        if data:
            self.done += len(data)
            if self._tap is not None:
                self._tap(data)
            if self._progress is not None:
                self._progress(self.done, self.total)
        return data

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class _BlobStream(MemberStream):
    """A blob member's data, hashed as it passes; keeps the first bytes and small JSON bodies.

    Read by the consumer of a :class:`BlobMember` (a run, the one read's uploads) outside the
    reader's loop, so its reads carry the reader's ``problems`` themselves: a truncated archive is
    a PackageError naming the member wherever it is found.
    """

    def __init__(
        self, inner: MemberStream, keep_json: bool, problems: Callable[[], contextlib.AbstractContextManager[None]]
    ) -> None:
        super().__init__(inner, inner.size)
        self._problems = problems
        self._hash = hashlib.sha256()
        self.magic = b""
        self._keep_json = keep_json and inner.size <= CONFIG_LIMIT
        self._kept: list[bytes] | None = None

    def read(self, size: int | None = -1, /) -> bytes:
        with self._problems():
            data = super().read(size)
        if data:
            self._hash.update(data)
            if len(self.magic) < 8:
                self.magic = (self.magic + data[:8])[:8]
                if self._kept is None and self._keep_json and self.magic[:1] == b"{":
                    self._kept = []
            if self._kept is not None:
                self._kept.append(data)
        return data

    def finish(self) -> tuple[str, bytes | None]:
        self.skip()
        return "sha256:" + self._hash.hexdigest(), b"".join(self._kept) if self._kept is not None else None


def _read_small(entry: TarEntry, limit: int, what: str) -> bytes:
    if entry.type != FILE:
        raise _Bad(f"{what} is a {entry.type} where a regular file is expected")
    if entry.size > limit:
        raise _Bad(f"{what} is {entry.size} bytes, more than the {limit} bytes allowed")
    return entry.stream.read()


def _link_target(member: TarEntry) -> str:
    """The member a link names: a hard link's name is archive-relative, a symlink's relative to its
    directory (``docker save`` writes a repeated layer as ``<id>/layer.tar -> ../<first>/layer.tar``)."""
    target = member.linkname
    if member.type == SYMLINK and not target.startswith("/"):
        target = posixpath.join(posixpath.dirname(member.name), target)
    normal = posixpath.normpath(target) if target else target
    try:
        if normal == ".." or normal.startswith("../"):
            raise TarProblem("climbs out")
        return safe_name(normal)
    except TarProblem:
        raise _Bad(f"is a link to {member.linkname!r}, outside images.tar") from None


def _parse_hints(data: bytes) -> list[str]:
    try:
        doc = load_yaml(data) if data.strip() else []
    except DocumentError as exc:
        raise _Bad(f"hints.yaml {exc}") from None
    if doc is None:
        return []
    if not isinstance(doc, list) or not all(isinstance(h, str) for h in doc):
        raise _Bad("hints.yaml is not a list of strings")
    return list(doc)


class _Reader:
    def __init__(
        self, path: Path, progress: Callable[[int, int], None] | None, tap: Callable[[bytes], None] | None
    ):
        self.path = path
        self.progress = progress
        self.tap = tap
        self.where: list[str] = []
        named = package_identity(path.name)
        self.expected_arch = normalize_arch(named.arch) if named.arch else None
        self.seen_platform: Platform | None = None
        self.raw: _Tap | None = None  # the file as read, once its reading started

    def short(self, message: str) -> PackageShort | None:
        """A :class:`PackageShort` when the read reached the end of the file before the archive ended."""
        raw = self.raw
        if raw is None or raw.done < raw.total or raw.total == 0:
            return None
        return PackageShort(f"{self.path.name}: the file is short: it ends after {size_text(raw.total)}, before its archive "
                            f"does: {': '.join([*self.where, message])}.")

    def fail(self, message: str) -> PackageError:
        return PackageError(": ".join([self.path.name, *self.where, message]) + ".")

    def run(self) -> Iterator[Item]:
        try:
            f = self.path.open("rb")
        except OSError as exc:
            raise PackageError(f"{self.path}: cannot be read ({exc.strerror or exc}).") from exc
        with f, self.problems():
            yield from self._outer(f)

    @contextlib.contextmanager
    def problems(self) -> Iterator[None]:
        """Turn what reading the archive raises into one PackageError naming the file and member:
        around the whole pass, and around each read of a blob's stream by whoever reads it."""
        try:
            yield
        except TarTruncated as exc:
            raise self.short(str(exc)) or self.fail(str(exc)) from None
        except (_Bad, TarProblem, da.ArchiveProblem) as exc:
            raise self.fail(str(exc)) from None
        except EOFError as exc:
            text = f"the compressed data is truncated or corrupt ({exc})"
            raise self.short(text) or self.fail(text) from None
        except (zlib.error, _IsalError, igzip.BadGzipFile) as exc:
            raise self.fail(f"the compressed data is truncated or corrupt ({exc})") from None
        except OSError as exc:
            raise self.fail(f"read error ({exc})") from None

    def _outer(self, f: BinaryIO) -> Iterator[Item]:
        total = os.fstat(f.fileno()).st_size
        head = f.peek(BLOCK)[:BLOCK]  # type: ignore[attr-defined]
        raw = self.raw = _Tap(f, total, self.progress, self.tap)
        src: _Tap | igzip.IGzipFile
        if head[:2] == b"\x1f\x8b":
            src = igzip.IGzipFile(fileobj=raw, mode="rb")
            kind = "gzip"
        elif header_ok(head):
            src = raw
            kind = "tar"
        else:
            raise _Bad("not a gzip or tar file")
        bundles = 0
        try:
            for entry in TarStream(src):
                if not is_bundle_member(entry.name):
                    continue
                bundles += 1
                yield from self._bundle(entry)
        except TarProblem as exc:
            if kind == "gzip" and not self.where and str(exc) == "not a tar archive":
                raise _Bad("gzip data that is not a tar archive") from None
            raise
        self.where = []
        while src.read(CHUNK):  # the rest (padding, gzip trailer): checks the CRC and feeds the tap
            pass
        if raw.done < total:  # e.g. a plain tar's trailing padding
            while raw.read(CHUNK):
                pass
        if not bundles:
            raise _Bad("no <chart>_<version>.bundle.tar inside; not an addon offline package")

    def _bundle(self, entry: TarEntry) -> Iterator[Item]:
        self.where = [f"bundle {entry.name}"]
        if entry.type != FILE:
            raise _Bad(f"is a {entry.type} where a bundle file is expected")
        name = parse_bundle_member(entry.name)
        if name is None:
            raise _Bad("the name is not <chart>_<version>.bundle.tar")
        if not is_repository_path(name.repo):
            raise _Bad(
                f"the chart source directory {name.repo!r} is not a valid repository name (lowercase letters, "
                "digits and . _ - only), so its charts could not be pushed; ask the vendor for a corrected package"
            )
        info = BundleInfo(entry.name, name.repo, name.chart, name.version)
        yield info
        hints: list[str] | None = None
        files: dict[str, bytes] = {}
        chart_bytes = 0
        images_seen = False
        chart_sent = False
        seen: set[str] = set()
        for member in TarStream(entry.stream):
            self.where = [f"bundle {entry.name}"]
            if member.type != DIR and member.name in seen:
                raise _Bad(f"holds {member.name} twice; the bundle is damaged or was tampered with")
            seen.add(member.name)
            if member.name == "hints.yaml":
                hints = _parse_hints(_read_small(member, HINTS_LIMIT, "hints.yaml"))
            elif member.name.startswith("original-chart/"):
                rel = member.name[len("original-chart/") :]
                if member.type == DIR:
                    continue
                limit = CHART_YAML_LIMIT if rel == "Chart.yaml" else CHART_FILE_LIMIT
                data = _read_small(member, limit, member.name)
                chart_bytes += len(data)
                if chart_bytes > CHART_TOTAL_LIMIT:
                    raise _Bad(f"original-chart/ holds more than the {CHART_TOTAL_LIMIT} bytes allowed")
                files[rel] = data
            elif member.name == "images.tar":
                if member.type != FILE:
                    raise _Bad(f"images.tar is a {member.type} where a regular file is expected")
                images_seen = True
                if hints is not None and "Chart.yaml" in files:
                    chart_sent = True
                    yield ChartFiles(info, hints, files)
                yield from self._images(member, info)
        self.where = [f"bundle {entry.name}"]
        if "Chart.yaml" not in files:
            raise _Bad("has no original-chart/Chart.yaml")
        if not images_seen:
            raise _Bad("has no images.tar")
        if not chart_sent:
            yield ChartFiles(info, hints or [], files)

    def _images(self, entry: TarEntry, info: BundleInfo) -> Iterator[Item]:
        blobs: dict[str, da.SeenBlob] = {}
        links: dict[str, str] = {}
        manifest: bytes | None = None
        kept = 0
        base = [f"bundle {info.member}"]
        seen: set[str] = set()
        for member in TarStream(entry.stream):
            self.where = [*base, f"images.tar member {member.name!r}"]
            if member.type == DIR:
                continue
            if member.name in seen:  # a later copy would silently replace the bytes the scan hashed
                raise _Bad("appears twice in images.tar; the archive is damaged or was tampered with")
            seen.add(member.name)
            if da.is_metadata(member.name):
                continue
            if member.type in (SYMLINK, HARDLINK):
                links[member.name] = _link_target(member)
                continue
            if member.type != FILE:
                raise _Bad(f"is a {member.type} where a regular file is expected")
            if member.name == da.MANIFEST:
                manifest = _read_small(member, MANIFEST_LIMIT, "manifest.json")
                continue
            promised = da.promised_digest(member.name)
            stream = _BlobStream(member.stream, keep_json=True, problems=self.problems)
            yield BlobMember(info, member.name, member.size, stream, promised)  # type: ignore[arg-type]
            self.where = [*base, f"images.tar member {member.name!r}"]
            digest, body = stream.finish()
            if promised is not None and digest != promised:
                raise _Bad(f"the bytes do not match the digest its name promises (they hash to {digest})")
            if body is not None:
                kept += len(body)
                if kept > JSON_KEEP_LIMIT:
                    raise _Bad(f"images.tar holds more than {JSON_KEEP_LIMIT} bytes of JSON blobs")
            blobs[member.name] = da.SeenBlob(member.name, digest, member.size, stream.magic, body)
        self.where = [*base, "images.tar"]
        if manifest is None:
            raise _Bad("has no manifest.json")
        images = da.build_images(da.parse_manifest(manifest), blobs, links, info.member)
        for image in images:
            self._check_arch(image)
        yield ImagesFound(info, images)

    def _check_arch(self, image: ImageRecord) -> None:
        platform = Platform.parse(image.platform)
        label = image.refs[0] if image.refs else image.config.digest
        if self.expected_arch is not None:
            if platform.architecture != self.expected_arch:
                raise _Bad(f"image {label} is {platform} but the archive name says {self.expected_arch}")
        elif self.seen_platform is None:
            self.seen_platform = platform
        elif platform.architecture != self.seen_platform.architecture:
            raise _Bad(f"image {label} is {platform} but other images are {self.seen_platform}")


def iter_package(
    path: Path,
    *,
    progress: Callable[[int, int], None] | None = None,
    tap: Callable[[bytes], None] | None = None,
) -> Iterator[Item]:
    """Read a package in one pass, yielding its bundles, chart files, blobs and images.

    ``progress(compressed_bytes_read, file_size)`` follows the raw file; ``tap`` sees every raw
    byte (the scan hashes the file for its sha512 sidecar this way). Raises :class:`PackageError`.
    """
    return _Reader(path, progress, tap).run()
