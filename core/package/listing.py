"""What goes in, before anything moves: ``archfuse list`` (a package's charts and images, as a
security team reviews them) and ``archfuse diff`` (what an upgrade changes and the bytes it moves).

Both work from scan indexes (the scan cache answers when warm), never from a target.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from core.charts.oci import oci_tag
from core.helpers.versions import version_key
from core.kinds import Change
from core.oci import mediatypes as mt
from core.oci.platform import Platform
from core.oci.refs import destination, join_path
from core.package.choice import ChartSelection, charts_using
from core.package.model import ChartRecord, ImageRecord, PackageIndex
from core.terminal import printable, printable_lines
from core.units import size_text

FORMATS = ("table", "csv", "json")
_UNCOMPRESSED = (mt.DOCKER_LAYER, mt.OCI_LAYER)


def registry_host(registry: str) -> str:
    """``https://user@host:5000/`` -> ``host:5000``; a layout directory (``oci:DIR`` or a path) as given."""
    parts = urlsplit(registry)
    if parts.scheme in ("http", "https") and parts.netloc:
        return parts.netloc.rsplit("@", 1)[-1]
    return registry.rstrip("/")


def uncompressed_size(image: ImageRecord) -> int | None:
    """Bytes of config and layers as unpacked, when every layer is stored uncompressed; None otherwise
    (a gzip'd layer says its unpacked size nowhere but in itself)."""
    if all(layer.media_type in _UNCOMPRESSED for layer in image.layers):
        return image.size
    return None


def _platform(image: ImageRecord) -> str:
    return str(Platform.parse(image.platform).normalized())


@dataclass(frozen=True)
class Where:
    """Where references land: the registry's host (empty: only the destination path) and the prefix."""

    host: str = ""
    prefix: str = ""

    def image(self, ref: str) -> str:
        try:
            dest = destination(ref, self.prefix)
        except ValueError:
            return ""
        where = f"{dest.path}:{dest.tag}" if dest.tag else dest.path
        return f"{self.host}/{where}" if self.host else where

    def chart(self, chart: ChartRecord) -> str:
        path = join_path(self.prefix, join_path(chart.repo, chart.name))
        where = f"{path}:{oci_tag(chart.version)}"
        return f"{self.host}/{where}" if self.host else where


def package_listing(
    package: PackageIndex, selection: ChartSelection | None = None, where: Where | None = None
) -> dict[str, Any]:
    """One package as ``archfuse list --format json`` gives it: identity, checksum status, the charts
    taken and the images they need (one entry per reference and platform), each image with the charts
    that use it (``shared_with``: the charts not taken that use it too)."""
    selection = selection or ChartSelection()
    where = where or Where()
    chosen = selection.select(package)
    images: dict[tuple[str, str], dict[str, Any]] = {}
    for image in chosen.images:
        users = charts_using(package, image)
        for ref in image.refs:
            entry = images.get((ref, _platform(image)))
            if entry is None:
                entry = images[(ref, _platform(image))] = {
                    "ref": ref,
                    "target": where.image(ref),
                    "platform": image.platform,
                    "digest": image.digest,
                    "config": image.config.digest,
                    "size": image.size,
                    "uncompressed_size": uncompressed_size(image),
                    "charts": [],
                    "shared_with": [],
                }
            for chart in users:
                key = "charts" if selection.chooses(chart) else "shared_with"
                if chart.name not in entry[key]:
                    entry[key].append(chart.name)
    return {
        "path": package.path,
        "name": package.name,
        "kind": package.kind,
        "version": package.version,
        "arch": package.arch,
        "checksum": package.checksum,
        "charts": [
            {
                "repo": c.repo,
                "name": c.name,
                "version": c.version,
                "target": where.chart(c),
                "images": list(c.images),
            }
            for c in chosen.charts
        ],
        "images": sorted(images.values(), key=lambda i: (i["ref"], i["platform"])),
    }


def listing_json(packages: Iterable[PackageIndex], selection: ChartSelection | None = None,
                 where: Where | None = None) -> dict[str, Any]:
    """The ``archfuse list --format json`` document."""
    return {"packages": [package_listing(p, selection, where) for p in packages]}


CSV_FIELDS = (
    "record", "package", "kind", "package_version", "arch", "checksum", "name", "version", "source", "target",
    "platform", "digest", "config", "size", "uncompressed_size", "charts", "shared_with",
)  # fmt: skip


def render_listing(doc: dict[str, Any], fmt: str) -> str:
    """A listing document as ``table``, ``csv`` (one row per chart and per image) or ``json``."""
    if fmt == "json":
        return json.dumps(doc, indent=2)
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, CSV_FIELDS, lineterminator="\n")
        writer.writeheader()
        for p in doc["packages"]:
            head = {"package": p["name"], "kind": p["kind"], "package_version": p["version"], "arch": p["arch"],
                    "checksum": p["checksum"]}
            for c in p["charts"]:
                writer.writerow({**head, "record": "chart", "name": c["name"], "version": c["version"],
                                 "source": c["repo"], "target": c["target"]})
            for i in p["images"]:
                size = i["uncompressed_size"]
                writer.writerow({**head, "record": "image", "source": i["ref"], "target": i["target"],
                                 "platform": i["platform"], "digest": i["digest"], "config": i["config"],
                                 "size": i["size"], "uncompressed_size": "" if size is None else size,
                                 "charts": " ".join(i["charts"]), "shared_with": " ".join(i["shared_with"])})
        return out.getvalue().rstrip("\n")
    lines: list[str] = []
    for p in doc["packages"]:
        lines.append(f"== {p['version']} {p['kind']} {p['arch']}  {p['name']}  checksum {p['checksum']}")
        lines += ["   " + row for row in table(
            [["CHART", "VERSION", "REPO", "TARGET"]] + [[c["name"], c["version"], c["repo"], c["target"]] for c in p["charts"]]
        )]
        lines += ["   " + row for row in table(
            [["IMAGE", "PLATFORM", "TARGET", "DIGEST", "CONFIG", "SIZE", "UNPACKED", "CHARTS"]] + [
                [i["ref"], i["platform"], i["target"], i["digest"][:19], i["config"][:19], size_text(i["size"]),
                 "?" if i["uncompressed_size"] is None else size_text(i["uncompressed_size"]),
                 ", ".join(i["charts"] + [f"{n} (shared, not taken)" for n in i["shared_with"]])]
                for i in p["images"]
            ]
        )]
    return printable_lines(lines)


def table(rows: list[list[str]]) -> list[str]:
    """Rows as columns padded to what the terminal shows."""
    rows = [[printable(str(cell)) for cell in row] for row in rows]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in rows]


# -- the chart checklist -------------------------------------------------------------------------


@dataclass
class ChartSummary:
    """A chart across the packages chosen: its versions, its images, the bytes of their blobs per arch
    (each blob once), and the versions a target holds (from the journal; empty when unknown)."""

    repo: str
    name: str
    versions: list[str] = field(default_factory=list)
    images: set[str] = field(default_factory=set)
    blobs: dict[str, dict[str, int]] = field(default_factory=dict)  # arch -> digest -> size
    held: list[str] = field(default_factory=list)

    @property
    def bytes_per_arch(self) -> dict[str, int]:
        return {arch: sum(blobs.values()) for arch, blobs in sorted(self.blobs.items())}


def chart_summaries(packages: Iterable[PackageIndex], held: dict[str, set[str]] | None = None) -> list[ChartSummary]:
    """One :class:`ChartSummary` per chart name of ``packages``, sorted by name; ``held``: chart name ->
    versions the target holds."""
    out: dict[str, ChartSummary] = {}
    for package in sorted(packages, key=lambda p: version_key(p.version)):
        for chart in package.charts:
            summary = out.setdefault(chart.name, ChartSummary(chart.repo, chart.name))
            if chart.version not in summary.versions:
                summary.versions.append(chart.version)
        for image in package.images:
            for chart in charts_using(package, image):
                summary = out[chart.name]
                summary.images.update(image.refs)
                blobs = summary.blobs.setdefault(package.arch, {})
                blobs.update((b.digest, b.size) for b in image.blobs())
    for name, summary in out.items():
        summary.held = sorted((held or {}).get(name, set()), key=version_key)
    return [out[name] for name in sorted(out)]


# -- diff -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChartChange:
    """A chart of one kind and arch: added (no ``old``), removed (no ``new``) or changed."""

    kind: str
    arch: str
    repo: str
    name: str
    old: str = ""  # version in OLD
    new: str = ""  # version in NEW
    images_added: tuple[str, ...] = ()  # image references its values name in NEW and not in OLD
    images_removed: tuple[str, ...] = ()

    @property
    def change(self) -> Change:
        return Change.ADDED if not self.old else Change.REMOVED if not self.new else Change.CHANGED

    def to_json(self) -> dict[str, Any]:
        return {"change": self.change, "kind": self.kind, "arch": self.arch, "repo": self.repo, "name": self.name,
                "old": self.old, "new": self.new, "images_added": list(self.images_added),
                "images_removed": list(self.images_removed)}


@dataclass(frozen=True)
class ImageChange:
    """An image reference on one platform: new, changed (another manifest) or removed."""

    ref: str
    platform: str
    old: str = ""  # manifest digest in OLD
    new: str = ""

    @property
    def change(self) -> Change:
        return Change.NEW if not self.old else Change.REMOVED if not self.new else Change.CHANGED

    def to_json(self) -> dict[str, Any]:
        return {"change": self.change, "ref": self.ref, "platform": self.platform, "old": self.old, "new": self.new}


@dataclass
class PackageDiff:
    """What NEW changes against OLD, and the blobs NEW has that OLD lacks (what an upgrade really moves)."""

    old: list[str]
    new: list[str]
    charts: list[ChartChange] = field(default_factory=list)
    images: list[ImageChange] = field(default_factory=list)
    blobs: int = 0
    bytes: int = 0
    bytes_per_arch: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"old": self.old, "new": self.new, "charts": [c.to_json() for c in self.charts],
                "images": [i.to_json() for i in self.images], "blobs": self.blobs, "bytes": self.bytes,
                "bytes_per_arch": dict(self.bytes_per_arch)}

    def summary(self) -> str:
        """One line: ``2 charts changed, 1 added, 0 removed; 3 images new, 2 changed; 4.1 MiB to move``."""
        def count(items: Iterable[ChartChange | ImageChange], what: Change) -> int:
            return sum(1 for i in items if i.change == what)

        return (
            f"charts: {count(self.charts, Change.CHANGED)} changed, {count(self.charts, Change.ADDED)} added, "
            f"{count(self.charts, Change.REMOVED)} removed; images: {count(self.images, Change.NEW)} new, "
            f"{count(self.images, Change.CHANGED)} changed, {count(self.images, Change.REMOVED)} removed; "
            f"{size_text(self.bytes)} in {self.blobs} blob(s) NEW has that OLD lacks"
        )

    def render_lines(self) -> list[str]:
        """The diff as text: the summary, the charts, the images, the bytes per arch."""
        lines = [self.summary()]
        if self.charts:
            lines += table([["CHART", "KIND", "ARCH", "CHANGE", "OLD", "NEW", "IMAGES"]] + [
                [c.name, c.kind, c.arch, c.change, c.old or "-", c.new or "-",
                 " ".join([f"+{r}" for r in c.images_added] + [f"-{r}" for r in c.images_removed]) or "-"]
                for c in self.charts
            ])
        if self.images:
            lines += table([["IMAGE", "PLATFORM", "CHANGE", "OLD", "NEW"]] + [
                [i.ref, i.platform, i.change, i.old[:19] or "-", i.new[:19] or "-"] for i in self.images
            ])
        lines += [f"{arch}: {size_text(size)} to move" for arch, size in sorted(self.bytes_per_arch.items())]
        return lines

    def render_text(self) -> str:
        return printable_lines(self.render_lines())


def upgrade_of(
    chosen: list[PackageIndex], available: list[PackageIndex], imported: Iterable[tuple[str, str]] = ()
) -> tuple[list[PackageIndex], list[PackageIndex]] | None:
    """The two sides of an upgrade, per kind and arch: NEW is the newest package chosen; OLD the older
    one chosen with it, else the newest older one of ``available`` that ``imported`` (the journal's
    ``(row, arch)`` imports into the target) names. None when nothing chosen is an upgrade."""
    done = set(imported)
    old: list[PackageIndex] = []
    new: list[PackageIndex] = []
    sides: dict[tuple[str, str], list[PackageIndex]] = {}
    for package in chosen:
        sides.setdefault((package.kind, package.arch), []).append(package)
    for (kind, arch), packages in sorted(sides.items()):
        packages.sort(key=lambda p: version_key(p.version))
        newest = packages[-1]
        before = packages[:-1] or [
            p for p in available
            if (p.kind, p.arch) == (kind, arch) and (p.row, p.arch) in done
            and version_key(p.version) < version_key(newest.version)
        ]
        if before:
            old.append(max(before, key=lambda p: version_key(p.version)))
            new.append(newest)
    return (old, new) if old else None


def package_diff(
    old: list[PackageIndex], new: list[PackageIndex], selection: ChartSelection | None = None
) -> PackageDiff:
    """Charts added, removed and changed (per kind and arch), images new, changed and removed (per
    reference and platform), and the blobs NEW holds that OLD does not, over the charts ``selection`` takes."""
    selection = selection or ChartSelection()
    old = [selection.select(p) for p in old]
    new = [selection.select(p) for p in new]
    diff = PackageDiff([p.path for p in old], [p.path for p in new])

    def charts(packages: list[PackageIndex]) -> dict[tuple[str, str, str, str], ChartRecord]:
        out: dict[tuple[str, str, str, str], ChartRecord] = {}
        for p in sorted(packages, key=lambda p: version_key(p.version)):  # the newest version wins
            for c in p.charts:
                out[(p.kind, p.arch, c.repo, c.name)] = c
        return out

    before, after = charts(old), charts(new)
    for key in sorted(set(before) | set(after)):
        a, b = before.get(key), after.get(key)
        if a is not None and b is not None and a.version == b.version and a.images == b.images:
            continue
        refs_a, refs_b = set(a.images if a else ()), set(b.images if b else ())
        diff.charts.append(ChartChange(
            *key, old=a.version if a else "", new=b.version if b else "",
            images_added=tuple(r for r in (b.images if b else ()) if r not in refs_a),
            images_removed=tuple(r for r in (a.images if a else ()) if r not in refs_b),
        ))  # fmt: skip

    def images(packages: list[PackageIndex]) -> dict[tuple[str, str], str]:
        out: dict[tuple[str, str], str] = {}
        for p in sorted(packages, key=lambda p: version_key(p.version)):
            for i in p.images:
                for ref in i.refs:
                    out[(ref, _platform(i))] = i.digest
        return out

    was, now = images(old), images(new)
    for ref, platform in sorted(set(was) | set(now)):
        a_digest, b_digest = was.get((ref, platform), ""), now.get((ref, platform), "")
        if a_digest != b_digest:
            diff.images.append(ImageChange(ref, platform, a_digest, b_digest))

    held = {b.digest for p in old for i in p.images for b in i.blobs()}
    moving: dict[str, tuple[int, str]] = {}
    for p in new:
        for i in p.images:
            for blob in i.blobs():
                if blob.digest not in held:
                    moving.setdefault(blob.digest, (blob.size, p.arch))
    diff.blobs = len(moving)
    diff.bytes = sum(size for size, _ in moving.values())
    for size, arch in moving.values():
        diff.bytes_per_arch[arch] = diff.bytes_per_arch.get(arch, 0) + size
    return diff
