"""Names the package format uses: the outer archive and the charts-syncer bundles."""

from __future__ import annotations

import re
from dataclasses import dataclass

PACKAGE_RE = re.compile(
    r"^addon-offline-full-package-(?P<version>.+)-(?P<arch>[A-Za-z0-9_]+)\.(?:tar\.gz|tgz|tar)$"
)
BUNDLE_SUFFIX = ".bundle.tar"
_CHART = re.compile(r"^[a-zA-Z][a-zA-Z0-9+-]*$")
_VERSION = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9+.-]*$")
DEFAULT_REPO = "default"  # chart source repo of a bundle at the archive's root


def parse_package_name(name: str) -> tuple[str, str] | None:
    """``addon-offline-full-package-v0.12.0-amd64.tar.gz`` -> ``('v0.12.0', 'amd64')``; None otherwise."""
    match = PACKAGE_RE.match(name)
    if not match:
        return None
    return match["version"], match["arch"]


def package_file_name(version: str, arch: str, compressed: bool = True) -> str:
    """The vendor's file name for a package."""
    return f"addon-offline-full-package-{version}-{arch}.{'tar.gz' if compressed else 'tar'}"


@dataclass(frozen=True)
class BundleName:
    repo: str
    chart: str
    version: str


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
