"""Names the package format uses: the outer archive and the charts-syncer bundles."""

from __future__ import annotations

import re
from dataclasses import dataclass

PACKAGE_RE = re.compile(
    r"^addon-offline-(?P<kind>[a-z0-9]+(?:-[a-z0-9]+)*?)-package-(?P<version>.+)-(?P<arch>[A-Za-z0-9_]+)"
    r"\.(?:tar\.gz|tgz|tar)$"
)
FULL = "full"  # the kind of the vendor's main package (addon-offline-full-package-...)
_ARCHIVE_SUFFIX = re.compile(r"\.(?:tar\.gz|tgz|tar)$", re.IGNORECASE)
_LOOSE_VERSION = re.compile(r"(?<![A-Za-z0-9])[vV]?\d+(?:\.\d+){1,3}(?:-(?:rc|alpha|beta)\.?\d*)?(?![A-Za-z0-9.])")
_LOOSE_ARCH = {"amd64": "amd64", "arm64": "arm64", "aarch64": "arm64"}
_NOT_KIND = {"addon", "addons", "offline", "package", "packages", "pkg", "for", "the", "and"}
BUNDLE_SUFFIX = ".bundle.tar"
_CHART = re.compile(r"^[a-zA-Z][a-zA-Z0-9+-]*$")
_VERSION = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9+.-]*$")
DEFAULT_REPO = "default"  # chart source repo of a bundle at the archive's root


def parse_package_name(name: str) -> tuple[str, str] | None:
    """``addon-offline-full-package-v0.12.0-amd64.tar.gz`` -> ``('v0.12.0', 'amd64')`` (any kind:
    ``addon-offline-gpu-package-...`` too); None otherwise."""
    match = PACKAGE_RE.match(name)
    if not match:
        return None
    return match["version"], match["arch"]


@dataclass(frozen=True)
class PackageName:
    """What a package file's name says: its kind (``full``, ``gpu``, ...), version and arch; the
    version is ``unknown`` and the arch empty where the name does not say (the images tell the arch)."""

    kind: str
    version: str
    arch: str


def package_identity(name: str) -> PackageName:
    """The kind, version and arch a package's file name gives. The vendor's pattern
    ``addon-offline-<kind>-package-<version>-<arch>`` gives all three; another name (the GPU
    package's is not fixed: ``Addons-for-GPU-v0.25.0-amd64.tar.gz``) gives a version and an arch
    where it holds a token like one, and its other words, lower-cased, as the kind."""
    match = PACKAGE_RE.match(name)
    if match:
        return PackageName(match["kind"], match["version"], match["arch"])
    stem = _ARCHIVE_SUFFIX.sub("", name)
    found = _LOOSE_VERSION.search(stem)
    version = found.group(0) if found else "unknown"
    if found:
        stem = stem[: found.start()] + " " + stem[found.end():]
    words = [w for w in re.split(r"[^a-z0-9]+", stem.lower().replace("x86_64", "amd64")) if w]
    arch = next((_LOOSE_ARCH[w] for w in words if w in _LOOSE_ARCH), "")
    kind = "-".join(w for w in words if w not in _LOOSE_ARCH and w not in _NOT_KIND)
    return PackageName(kind or FULL, version, arch)


def package_row(kind: str, version: str) -> str:
    """How the faces name a package's version with its kind: ``v0.25.0`` (full), ``v0.25.0 gpu``."""
    return version if kind == FULL else f"{version} {kind}"


def package_file_name(version: str, arch: str, compressed: bool = True, kind: str = FULL) -> str:
    """The vendor's file name for a package."""
    return f"addon-offline-{kind}-package-{version}-{arch}.{'tar.gz' if compressed else 'tar'}"


@dataclass(frozen=True)
class BundleName:
    repo: str
    chart: str
    version: str


def is_package_bundle(member: str) -> bool:
    """True for a bundle where a package keeps them: ``<top>/data/<repo>/<chart>_<version>.bundle.tar``."""
    parts = member.strip("/").split("/")
    return len(parts) == 4 and parts[1] == "data" and parse_bundle_member(member) is not None


def is_bundle_member(member: str) -> bool:
    """True when a member of the outer archive is named like a bundle."""
    return member.rsplit("/", 1)[-1].endswith(BUNDLE_SUFFIX)


def parse_bundle_member(member: str) -> BundleName | None:
    """``data/addon/foo_1.2.3.bundle.tar`` -> repo ``addon``, chart ``foo``, version ``1.2.3``."""
    parent, _, base = member.rpartition("/")
    if not base.endswith(BUNDLE_SUFFIX):
        return None
    chart, sep, version = base[: -len(BUNDLE_SUFFIX)].partition("_")
    if not sep or not _CHART.match(chart) or not _VERSION.match(version):
        return None
    repo = parent.rsplit("/", 1)[-1] if parent else DEFAULT_REPO
    return BundleName(repo, chart, version)
