"""docker-archive (``images.tar``) rules: which members are blobs, what their names promise,
and how ``manifest.json`` plus the configs become :class:`ImageRecord` s.

Flavours: go-containerregistry (``sha256:<hex>`` config, ``<hex>.tar.gz`` gzip layers),
``docker save`` before v25 (``<hex>.json`` config, ``<id>/layer.tar`` uncompressed), and
``docker save`` v25+ (``blobs/sha256/<hex>``, an OCI layout beside ``manifest.json``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from core.oci import mediatypes as mt
from core.oci.platform import Platform
from core.oci.refs import parse_ref
from core.package.model import BlobRecord, ImageRecord
from core.safeload import DocumentError, load_json

MANIFEST = "manifest.json"
_METADATA = {"repositories", "index.json", "oci-layout"}
_NAMED = [
    re.compile(r"^sha256:([0-9a-f]{64})$"),
    re.compile(r"^([0-9a-f]{64})\.tar\.gz$"),
    re.compile(r"^([0-9a-f]{64})\.json$"),
    re.compile(r"^blobs/sha256/([0-9a-f]{64})$"),
]


class ArchiveProblem(Exception):
    """A sentence about images.tar content (the reader adds file and bundle)."""


def is_metadata(member: str) -> bool:
    """Members that are neither blobs nor manifest.json (legacy ``<id>/json``, ``VERSION``, OCI files)."""
    if member in _METADATA:
        return True
    base = member.rsplit("/", 1)[-1]
    return "/" in member and not member.startswith("blobs/") and base in ("json", "VERSION")


def promised_digest(member: str) -> str | None:
    """The digest a member's name promises (``sha256:<hex>``), None when the name promises none."""
    for pattern in _NAMED:
        match = pattern.match(member)
        if match:
            return f"sha256:{match[1]}"
    return None


def layer_media_type(magic: bytes) -> str:
    """Docker layer media type from the first bytes: gzip, zstd, else an uncompressed tar."""
    if magic[:2] == b"\x1f\x8b":
        return mt.DOCKER_LAYER_GZIP
    if magic[:4] == b"\x28\xb5\x2f\xfd":
        return mt.OCI_LAYER_ZSTD
    return mt.DOCKER_LAYER


@dataclass
class SeenBlob:
    """A blob member after it has passed: its digest, size, first bytes and (small JSON) content."""

    member: str
    digest: str
    size: int
    magic: bytes
    json_bytes: bytes | None


def _resolve(name: Any, blobs: dict[str, SeenBlob], links: dict[str, str]) -> SeenBlob:
    if not isinstance(name, str):
        raise ArchiveProblem(f"manifest.json has a non-string member name {name!r}")
    seen: set[str] = set()
    while name in links and name not in seen:
        seen.add(name)
        name = links[name]
    blob = blobs.get(name)
    if blob is None:
        raise ArchiveProblem(f"manifest.json names {name!r}, which is not in images.tar")
    return blob


def parse_manifest(data: bytes) -> list[dict[str, Any]]:
    """``manifest.json`` as a list of entries, or :class:`ArchiveProblem`."""
    try:
        doc = load_json(data)
    except DocumentError as exc:
        raise ArchiveProblem(f"manifest.json {exc}") from None
    if not isinstance(doc, list) or not all(isinstance(e, dict) for e in doc):
        raise ArchiveProblem("manifest.json is not a list of images")
    return doc


def check_repo_tag(tag: str) -> None:
    """A RepoTags entry must be an ``[host/]repository:tag`` reference by the distribution grammar (ASCII)."""
    try:
        ref = parse_ref(tag)
    except ValueError:
        ref = None
    if ref is None or tag != tag.strip() or not ref.tag or ref.digest:
        raise ArchiveProblem(
            f"manifest.json names image {tag!r} in RepoTags, which is not a valid [host/]repository:tag "
            "reference (ASCII lowercase repository, tag of letters, digits, . _ -); no registry can hold it"
        )


def build_images(
    manifest: list[dict[str, Any]], blobs: dict[str, SeenBlob], links: dict[str, str], bundle: str
) -> list[ImageRecord]:
    """One :class:`ImageRecord` per manifest.json entry."""
    images: list[ImageRecord] = []
    for entry in manifest:
        config_blob = _resolve(entry.get("Config"), blobs, links)
        if config_blob.json_bytes is None:
            raise ArchiveProblem(f"config {config_blob.member!r} is not a JSON image config")
        try:
            config = load_json(config_blob.json_bytes)
        except DocumentError as exc:
            raise ArchiveProblem(f"config {config_blob.member!r} {exc}") from None
        if not isinstance(config, dict):
            raise ArchiveProblem(f"config {config_blob.member!r} is not a JSON object")
        platform = Platform.from_config(config)
        if not platform.architecture:
            raise ArchiveProblem(f"config {config_blob.member!r} names no architecture")
        layer_names = entry.get("Layers") or []
        if not isinstance(layer_names, list):
            raise ArchiveProblem("manifest.json has an image whose Layers is not a list")
        layers = []
        for name in layer_names:
            blob = _resolve(name, blobs, links)
            layers.append(BlobRecord(blob.digest, blob.size, layer_media_type(blob.magic), blob.member))
        tags = entry.get("RepoTags") or []
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise ArchiveProblem("manifest.json has an image whose RepoTags is not a list of strings")
        for tag in tags:
            check_repo_tag(tag)
        images.append(
            ImageRecord(
                refs=tuple(tags),
                platform=str(platform),
                config=BlobRecord(config_blob.digest, config_blob.size, mt.DOCKER_CONFIG, config_blob.member),
                layers=tuple(layers),
                bundle=bundle,
            )
        )
    return images
