"""The package index: what a scan learns about a package, without keeping its bytes.

The index is what the plan and the import work from. It maps every blob of every image to
the tar member that holds it, so the import's single streaming pass knows, when a member
arrives, which repositories want it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from core.kinds import ChecksumStatus
from core.oci import mediatypes as mt
from core.oci.manifest import Descriptor, ManifestRef, image_manifest_bytes
from core.oci.platform import Platform
from core.package.naming import package_row


@dataclass(frozen=True)
class BlobRecord:
    """One blob of an image and where it lives in the bundle's ``images.tar``."""

    digest: str
    size: int
    media_type: str
    member: str  # member name inside images.tar

    def descriptor(self) -> Descriptor:
        return Descriptor(self.media_type, self.size, self.digest)


@dataclass(frozen=True)
class ImageRecord:
    """One image of a bundle, for one platform."""

    refs: tuple[str, ...]  # RepoTags as the package names them
    platform: str  # os/architecture[/variant]
    config: BlobRecord
    layers: tuple[BlobRecord, ...]
    bundle: str  # member path of the bundle inside the outer archive
    manifest_media_type: str = mt.DOCKER_MANIFEST

    @property
    def manifest(self) -> ManifestRef:
        """The canonical manifest archfuse pushes for this image."""
        data = image_manifest_bytes(
            self.config.descriptor(), [layer.descriptor() for layer in self.layers], self.manifest_media_type
        )
        return ManifestRef(data, self.manifest_media_type)

    @property
    def digest(self) -> str:
        return self.manifest.digest

    @property
    def size(self) -> int:
        """Bytes of config and layers."""
        return self.config.size + sum(layer.size for layer in self.layers)

    @property
    def platform_obj(self) -> Platform:
        return Platform.parse(self.platform)

    def blobs(self) -> tuple[BlobRecord, ...]:
        return (self.config, *self.layers)


@dataclass(frozen=True)
class ChartRecord:
    """One chart version (one bundle)."""

    repo: str  # source chart repository: addon, community, ...
    name: str
    version: str
    bundle: str  # member path of the bundle inside the outer archive
    hints: tuple[str, ...]
    images: tuple[str, ...]  # image references the hints resolve to in the original values
    files_key: str = ""  # key of the chart files in the chart store (core.package.chartstore)


@dataclass
class PackageIndex:
    """Everything a scan knows about one package file."""

    path: str
    name: str  # file name
    version: str
    arch: str  # from the file name, else from the image configs
    size: int  # bytes of the package file
    checksum: ChecksumStatus
    charts: list[ChartRecord] = field(default_factory=list)
    images: list[ImageRecord] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    kind: str = "full"  # full, gpu, ...: from the file name (core.package.naming.package_identity)

    @property
    def row(self) -> str:
        """The version with the kind, as the faces and the journal tell packages apart: ``v0.25.0 gpu``."""
        return package_row(self.kind, self.version)

    @property
    def image_bytes(self) -> int:
        seen: dict[str, int] = {}
        for image in self.images:
            for blob in image.blobs():
                seen[blob.digest] = blob.size
        return sum(seen.values())

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PackageIndex:
        def blob(b: dict[str, Any]) -> BlobRecord:
            return BlobRecord(**b)

        images = [
            ImageRecord(
                refs=tuple(i["refs"]),
                platform=i["platform"],
                config=blob(i["config"]),
                layers=tuple(blob(b) for b in i["layers"]),
                bundle=i["bundle"],
                manifest_media_type=i.get("manifest_media_type", mt.DOCKER_MANIFEST),
            )
            for i in data["images"]
        ]
        charts = [
            ChartRecord(**{**c, "hints": tuple(c["hints"]), "images": tuple(c["images"])}) for c in data["charts"]
        ]
        return cls(
            path=data["path"],
            name=data["name"],
            version=data["version"],
            arch=data["arch"],
            size=data["size"],
            checksum=ChecksumStatus(data["checksum"]),
            charts=charts,
            images=images,
            warnings=list(data.get("warnings", [])),
            kind=str(data.get("kind", "full")),
        )
