"""The scan: one read of a package into a :class:`PackageIndex`, cached by file identity.

The sha512 of the file is computed in the same pass (for its ``.sha512sum`` sidecar) and kept
in the cache, so the sidecar is re-checked on every scan, even a cached one.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from core.charts.hints import hinted_images, parse_hint
from core.charts.tree import load_tree, merged_values
from core.charts.validate import validate_chart
from core.errors import ArchfuseError, ChartError, ChecksumMismatch, PackageError
from core.events import Emit, PackageScanned, ScanProgress, discard
from core.kinds import ChecksumStatus
from core.oci.platform import Platform
from core.oci.refs import destination
from core.package.chartstore import store_chart_files
from core.package.checksum import BackgroundHash, checksum_status, expected_sha512, file_sha512
from core.package.discover import discover
from core.package.model import ChartRecord, ImageRecord, PackageIndex
from core.package.naming import package_identity
from core.package.reader import BlobMember, ChartFiles, ImagesFound, PackageShort, iter_package
from core.terminal import printable, printable_lines
from core.units import size_text

CACHE_FORMAT = 6  # 6: the package kind; 5: an image without RepoTags is a warning (issue 19); 4: the checks of issue 11
_PROGRESS_STEP = 0.01  # emit ScanProgress every 1% of the file (and at the end)


def _identity(path: Path) -> list[Any]:
    st = path.stat()
    # ctime too: a file rewritten in place with its mtime put back (cp -p, touch -r) is read again
    return [os.path.realpath(path), st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns]


def _cache_file(state_dir: Path, identity: list[Any]) -> Path:
    key = hashlib.sha256(json.dumps(identity).encode()).hexdigest()[:40]
    return state_dir / "scan-cache" / f"{key}.json"


def _load_cache(state_dir: Path, identity: list[Any]) -> tuple[PackageIndex, str] | None:
    file = _cache_file(state_dir, identity)
    try:
        doc = json.loads(file.read_text())
        if doc.get("format") != CACHE_FORMAT or doc.get("identity") != identity:
            return None
        return PackageIndex.from_json(doc["index"]), str(doc["sha512"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _store_cache(state_dir: Path, identity: list[Any], index: PackageIndex, sha512: str) -> None:
    file = _cache_file(state_dir, identity)
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        tmp = file.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(
            json.dumps(
                {"format": CACHE_FORMAT, "identity": identity, "sha512": sha512, "index": index.to_json()}
            )
        )
        os.replace(tmp, file)
    except OSError:
        pass  # a cache that cannot be written only costs time


def in_scan_cache(path: Path, state_dir: Path) -> bool:
    """True when the scan cache has an entry for ``path`` as the file is now (its scan reads no package)."""
    try:
        return _cache_file(state_dir, _identity(path)).is_file()
    except OSError:
        return False


def chart_record(files: ChartFiles, warnings: list[str]) -> ChartRecord:
    """The chart of a bundle, with the image references its hints resolve to.

    The chart must be one Helm can read and archfuse can relocate (PackageError otherwise): its
    Chart.yaml matches the bundle's name and version, values.yaml and every subchart parse
    within bounds, and every hint is a template of values keys.
    """
    bundle = files.bundle
    try:
        meta = validate_chart(files.files, bundle=bundle.member, name=bundle.chart, version=bundle.version)
        values = merged_values(load_tree(files.files, what=f"bundle {bundle.member}"))
        hints = [parse_hint(h, bundle=bundle.member) for h in files.hints]
    except ChartError as exc:
        raise PackageError(str(exc)) from None
    app_version = str(meta.metadata.get("appVersion", ""))
    images: list[str] = []
    for hint in hints:
        try:
            ref = hinted_images([hint], values, app_version=app_version, bundle=bundle.member)[0]
        except ChartError:
            warnings.append(f"bundle {bundle.member}: hint {hint.template!r} names keys values.yaml does not have")
            continue
        if ref not in images:
            images.append(ref)
    return ChartRecord(bundle.repo, meta.name, meta.version, bundle.member, tuple(files.hints), tuple(images))


def check_tag_conflicts(index: PackageIndex) -> None:
    """Refuse a package in which two bundles give one tag different content for the same platform.

    Both would be pushed to one tag and one would silently win, so one chart would run the other's
    image. The same content in several bundles is fine, even saved by different tools (the image
    config, which names every layer's uncompressed digest, is compared, not the manifest).
    """
    seen: dict[tuple[str, str, str], tuple[str, ImageRecord]] = {}
    for image in index.images:
        platform = str(Platform.parse(image.platform).normalized())
        for ref in image.refs:
            dest = destination(ref)
            first, other = seen.setdefault((dest.path, dest.tag, platform), (ref, image))
            if other.config.digest != image.config.digest:  # the config names every layer's content
                where = (
                    f"twice in bundle {image.bundle}"
                    if other.bundle == image.bundle
                    else f"in bundle {other.bundle} and in bundle {image.bundle}"
                )
                raise PackageError(
                    f"{index.name}: image {first} ({platform}) is {where} with different content; "
                    "one would silently replace the other, so the package is refused: ask the vendor for a corrected one."
                )


class BlobSink(Protocol):
    """Sees a package's charts and blobs while a scan reads it (core.run.stage uploads them then,
    so a cold import reads each package once)."""

    def chart(self, record: ChartRecord) -> None:
        """A bundle's chart, read before its images.tar when the bundle is in the vendor's order."""

    def blob(self, member: BlobMember) -> None:
        """A blob of a bundle's images.tar; its stream may be read (the scan hashes what is left)."""

    def package_done(self, path: Path) -> None:
        """The package was read to its end (its blobs handed over are settled)."""


class ScanInterrupted(Exception):
    """A scan's ``stop`` said to stop: the read is unwound at its next progress step (the caller
    that asked knows why: stopped, or giving way to another package)."""


#: asked at each progress step of a read; True stops it (:class:`ScanInterrupted`)
StopCheck = Callable[[], bool]


def _read(
    path: Path, emit: Emit, state_dir: Path | None, sink: BlobSink | None = None, stop: StopCheck | None = None
) -> tuple[PackageIndex, str]:
    sha = BackgroundHash("sha512")
    last = [-1.0]
    label = str(path)

    def progress(done: int, total: int) -> None:
        if stop is not None and stop():
            raise ScanInterrupted(label)
        frac = done / total if total else 1.0
        if frac - last[0] >= _PROGRESS_STEP or done == total:
            last[0] = frac
            emit(ScanProgress(label, done, total))

    named = package_identity(path.name)
    index = PackageIndex(
        path=label,
        name=path.name,
        kind=named.kind,
        version=named.version,
        arch=named.arch,
        size=path.stat().st_size,
        checksum=ChecksumStatus.MISSING,
    )
    try:
        for item in iter_package(path, progress=progress, tap=sha.update):
            if isinstance(item, ChartFiles):
                try:
                    record = chart_record(item, index.warnings)
                except PackageError as exc:
                    raise PackageError(f"{path.name}: {exc}") from None
                if state_dir is not None:
                    record = replace(record, files_key=store_chart_files(state_dir, item))
                index.charts.append(record)
                if sink is not None:
                    sink.chart(record)
            elif isinstance(item, BlobMember):
                if sink is not None:
                    sink.blob(item)
            elif isinstance(item, ImagesFound):
                index.images.extend(item.images)
                index.warnings += [
                    f"bundle {item.bundle.member}: image {image.config.digest} ({image.platform}) has no RepoTags, "
                    "so it has no name to be imported under and is skipped"
                    for image in item.images
                    if not image.refs
                ]
    finally:
        sha.close()
    if sink is not None:
        sink.package_done(path)
    if not index.arch:
        index.arch = index.images[0].platform.split("/")[1] if index.images else "unknown"
    return index, sha.hexdigest()


def scan_package(
    path: Path,
    *,
    state_dir: Path | None = None,
    emit: Emit = discard,
    strict: bool = False,
    use_cache: bool = True,
    sink: BlobSink | None = None,
    stop: StopCheck | None = None,
) -> PackageIndex:
    """Scan one package file (cached in ``state_dir``). A sha512 mismatch is a warning, fatal when ``strict``.

    ``sink`` sees the charts and blobs when the package is read (not when the cache answers);
    ``stop`` is asked at each progress step, and True unwinds the read (:class:`ScanInterrupted`).
    """
    try:
        identity = _identity(path)
    except OSError as exc:
        raise PackageError(f"{path}: cannot be read ({exc.strerror or exc}).") from exc
    cached = _load_cache(state_dir, identity) if state_dir is not None and use_cache else None
    if cached is not None:
        index, sha512 = cached
        index.path = str(path)
    else:
        index, sha512 = _read(path, emit, state_dir, sink, stop)
        if state_dir is not None:
            _store_cache(state_dir, identity, index, sha512)
    check_tag_conflicts(index)
    index.checksum = checksum_status(path, sha512)
    index.warnings = [w for w in index.warnings if not w.startswith("checksum:")]
    if index.checksum == ChecksumStatus.MISMATCH:
        message = f"{path.name}: the sha512 does not match {path.name}.sha512sum (the file is damaged or not the one published)."
        if strict:
            raise ChecksumMismatch(message)
        index.warnings.append("checksum: " + message)
    emit(
        PackageScanned(
            str(path), index.version, index.arch, len(index.images), len(index.charts), cached is not None
        )
    )
    return index


def scan_paths(
    paths: list[Path],
    *,
    state_dir: Path | None = None,
    emit: Emit = discard,
    strict: bool = False,
    use_cache: bool = True,
    sink: BlobSink | None = None,
    at_once: int = 1,
) -> list[PackageIndex]:
    """Discover package files under ``paths`` and scan each (``use_cache=False`` reads them again).

    ``at_once`` packages are read at the same time (each on a thread of its own; ``sink`` then sees
    their charts and blobs from those threads): a cold import of both arches reads them side by
    side, so one package's uploads go on while the other is read. The first failure stops the
    other reads and is raised."""
    found = discover(paths, emit)
    if at_once <= 1 or len(found) <= 1:
        return [
            scan_package(p, state_dir=state_dir, emit=emit, strict=strict, use_cache=use_cache, sink=sink)
            for p in found
        ]
    failed = threading.Event()

    def scan(path: Path) -> PackageIndex:
        try:
            return scan_package(
                path, state_dir=state_dir, emit=emit, strict=strict, use_cache=use_cache, sink=sink,
                stop=failed.is_set,
            )  # fmt: skip
        except BaseException:
            failed.set()
            raise

    with ThreadPoolExecutor(min(at_once, len(found)), thread_name_prefix="archfuse-scan") as pool:
        futures = [pool.submit(scan, p) for p in found]
        wait(futures)
    errors = [f.exception() for f in futures if f.exception() is not None]
    first = next((e for e in errors if not isinstance(e, ScanInterrupted)), None)
    if first is not None:
        raise first
    return [f.result() for f in futures]


@dataclass(frozen=True)
class Unreadable:
    """A package file that could not be scanned, and the sentence saying why."""

    path: str
    reason: str
    short: bool = False  # the file ends before its archive does
    checksum: ChecksumStatus | None = None  # a short file's sha512 against its sidecar


#: what a short file's checksum says, after the sentence saying it is short
SHORT_CHECKSUM = {
    ChecksumStatus.MISMATCH: "Checksum: MISMATCH with {name}.sha512sum: copy the file again.",
    ChecksumStatus.MISSING: "Checksum: none ({name}.sha512sum is missing): copy the file again and compare its size.",
    ChecksumStatus.OK: "Checksum: ok, it matches {name}.sha512sum: the published file itself is incomplete; "
                       "get it again from its source.",
}


def _checksum_of(path: Path) -> ChecksumStatus:
    """``path``'s sha512 against its sidecar (read again: a short file's scan stopped before its end)."""
    if expected_sha512(path) is None:
        return ChecksumStatus.MISSING
    try:
        return checksum_status(path, file_sha512(path))
    except OSError:
        return ChecksumStatus.MISMATCH


def scan_each(
    paths: list[Path],
    *,
    state_dir: Path | None = None,
    emit: Emit = discard,
    use_cache: bool = True,
) -> tuple[list[PackageIndex], list[Unreadable]]:
    """Like :func:`scan_paths`, but a package that cannot be read is set aside with its reason
    while the others are scanned (a face lists it and keeps the rest selectable)."""
    packages: list[PackageIndex] = []
    unreadable: list[Unreadable] = []
    for path in discover(paths, emit):
        result = scan_or_reason(path, state_dir=state_dir, emit=emit, use_cache=use_cache)
        if isinstance(result, Unreadable):
            unreadable.append(result)
        else:
            packages.append(result)
    return packages, unreadable


def scan_or_reason(
    path: Path,
    *,
    state_dir: Path | None = None,
    emit: Emit = discard,
    use_cache: bool = True,
    stop: StopCheck | None = None,
) -> PackageIndex | Unreadable:
    """One package's index, or the sentence saying why it cannot be read: one package's surprise
    never stops the others (raises only :class:`ScanInterrupted`)."""
    try:
        return scan_package(path, state_dir=state_dir, emit=emit, use_cache=use_cache, stop=stop)
    except ScanInterrupted:
        raise
    except PackageShort as err:
        status = _checksum_of(path)
        return Unreadable(str(path), f"{err} {SHORT_CHECKSUM[status].format(name=path.name)}", short=True,
                          checksum=status)
    except ArchfuseError as err:
        return Unreadable(str(path), str(err))
    except OSError as err:
        return Unreadable(str(path), f"{path.name}: cannot be read ({err.strerror or err}).")
    except Exception as err:  # one package's surprise must not stop the others
        return Unreadable(str(path), f"{path.name}: unexpected error ({type(err).__name__}): {err}")


def scan_json(indexes: list[PackageIndex]) -> dict[str, Any]:
    """The ``archfuse scan --json`` document of the CLI contract."""
    packages = []
    for index in indexes:
        images = [
            {
                "ref": ref,
                "platform": image.platform,
                "digest": image.digest,
                "size": image.size,
                "config": image.config.digest,
                "bundle": image.bundle,
            }
            for image in index.images
            for ref in image.refs
        ]
        packages.append(
            {
                "path": index.path,
                "name": index.name,
                "kind": index.kind,
                "version": index.version,
                "arch": index.arch,
                "size": index.size,
                "checksum": index.checksum,
                "image_bytes": index.image_bytes,
                "charts": [
                    {"repo": c.repo, "name": c.name, "version": c.version, "images": list(c.images)}
                    for c in index.charts
                ],
                "images": images,
                "warnings": list(index.warnings),
            }
        )
    return {"packages": packages}




def _table(rows: list[list[str]]) -> list[str]:
    rows = [[printable(cell) for cell in row] for row in rows]  # widths of what the terminal shows
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in rows]


def render_scan_table(indexes: list[PackageIndex]) -> str:
    """A plain-text table of the scan, one block per version x arch."""
    out: list[str] = []
    for index in sorted(indexes, key=lambda i: (i.version, i.arch, i.name)):
        out.append(f"== {index.row} x {index.arch}  {index.name}")
        out.append(
            f"   {size_text(index.size)} file, {size_text(index.image_bytes)} of images, checksum {index.checksum}, "
            f"{len(index.charts)} charts, {len(index.images)} images"
        )
        if index.charts:
            out.extend("   " + line for line in _table([["CHART", "VERSION", "REPO", "IMAGES"]] + [
                [c.name, c.version, c.repo, ", ".join(c.images) or "-"] for c in index.charts
            ]))  # fmt: skip
        if index.images:
            out.extend("   " + line for line in _table([["IMAGE", "PLATFORM", "SIZE", "DIGEST"]] + [
                [", ".join(i.refs) or "(untagged)", i.platform, size_text(i.size), i.digest[:19]] for i in index.images
            ]))  # fmt: skip
        out.extend(f"   warning: {w}" for w in index.warnings)
        out.append("")
    return printable_lines(out).rstrip() + "\n"
