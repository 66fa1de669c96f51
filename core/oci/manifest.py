"""Canonical manifest and index bytes.

A docker-archive image becomes a Docker v2 schema 2 manifest whose bytes are exactly what
go-containerregistry writes for it: compact JSON, fields ``schemaVersion, mediaType, config,
layers`` and descriptor fields ``mediaType, size, digest``. The vendor's installer writes the
same bytes, so an image it already pushed is recognised as unchanged.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from core.errors import UnusableManifest
from core.oci import mediatypes as mt
from core.oci.digest import sha256_digest
from core.oci.platform import Platform
from core.safeload import DocumentError, load_json


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    size: int
    digest: str

    def to_json(self) -> dict[str, Any]:
        return {"mediaType": self.media_type, "size": self.size, "digest": self.digest}


def canonical_json(obj: Any) -> bytes:
    """Compact JSON in the key order given, as Go's encoding/json writes it."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def image_manifest_bytes(
    config: Descriptor, layers: list[Descriptor], media_type: str = mt.DOCKER_MANIFEST
) -> bytes:
    """The manifest bytes go-containerregistry writes for an image."""
    return canonical_json(
        {
            "schemaVersion": 2,
            "mediaType": media_type,
            "config": config.to_json(),
            "layers": [layer.to_json() for layer in layers],
        }
    )


@dataclass(frozen=True)
class ManifestRef:
    """A manifest as stored: its bytes, media type and digest."""

    data: bytes
    media_type: str
    digest: str = field(default="")

    def __post_init__(self) -> None:
        if not self.digest:
            object.__setattr__(self, "digest", sha256_digest(self.data))

    @property
    def size(self) -> int:
        return len(self.data)

    def parsed(self) -> dict[str, Any]:
        """The manifest as a dict, read through the bounded loader (a hostile registry's 4 MiB of
        nesting is an :class:`UnusableManifest` naming the digest, not a RecursionError)."""
        return dict(load_document(self.data, f"the manifest {self.digest}"))

    @property
    def is_index(self) -> bool:
        return mt.is_index(self.media_type)


def index_entry(manifest: ManifestRef, platform: Platform) -> dict[str, Any]:
    """An index entry for a platform manifest (go-containerregistry's field order)."""
    return {
        "mediaType": manifest.media_type,
        "size": manifest.size,
        "digest": manifest.digest,
        "platform": platform.to_descriptor(),
    }


def index_bytes(media_type: str, entries: list[dict[str, Any]], extra: dict[str, Any] | None = None) -> bytes:
    """Index bytes: ``schemaVersion, mediaType, manifests`` then any extra top-level fields kept."""
    doc: dict[str, Any] = {"schemaVersion": 2, "mediaType": media_type, "manifests": entries}
    for key, value in (extra or {}).items():
        if key not in doc:
            doc[key] = value
    return canonical_json(doc)


def load_document(data: bytes, what: str) -> Any:
    """A JSON document from a registry or layout (a manifest, a config), nesting bounded;
    :class:`UnusableManifest` saying ``what`` it is when it cannot be used."""
    try:
        return load_json(data)
    except DocumentError as err:
        raise UnusableManifest(f"{what} {err}.") from None
