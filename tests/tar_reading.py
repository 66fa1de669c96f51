"""An independent reading of addon packages with :mod:`tarfile` (never core's reader): what the tests of
``archfuse list`` and ``diff`` compare against. It knows the vendor's (go-containerregistry) images.tar."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from dataclasses import dataclass
from pathlib import Path

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"


@dataclass(frozen=True)
class TarImage:
    ref: str
    platform: str
    config: tuple[str, int]  # digest, size
    layers: tuple[tuple[str, int], ...]
    chart: str

    @property
    def blobs(self) -> tuple[tuple[str, int], ...]:
        return (self.config, *self.layers)

    @property
    def size(self) -> int:
        return sum(size for _, size in self.blobs)

    @property
    def digest(self) -> str:
        """The Docker v2 schema 2 manifest go-containerregistry writes for it (compact JSON)."""
        def desc(media_type: str, blob: tuple[str, int]) -> dict[str, object]:
            return {"mediaType": media_type, "size": blob[1], "digest": blob[0]}

        doc = {"schemaVersion": 2, "mediaType": DOCKER_MANIFEST, "config": desc(DOCKER_CONFIG, self.config),
               "layers": [desc(DOCKER_LAYER_GZIP, layer) for layer in self.layers]}
        return "sha256:" + hashlib.sha256(json.dumps(doc, separators=(",", ":")).encode()).hexdigest()


@dataclass(frozen=True)
class TarChart:
    repo: str
    name: str
    version: str


@dataclass(frozen=True)
class TarPackage:
    charts: tuple[TarChart, ...]
    images: tuple[TarImage, ...]

    def blobs(self, charts: set[str] | None = None) -> dict[str, int]:
        """Unique blobs of the images of ``charts`` (all without): digest -> size."""
        return {d: s for i in self.images if charts is None or i.chart in charts for d, s in i.blobs}


def read_package(path: Path) -> TarPackage:
    charts: list[TarChart] = []
    images: list[TarImage] = []
    with tarfile.open(path, "r:*") as outer:
        for member in outer:
            parts = member.name.split("/")
            if not member.isfile() or len(parts) != 4 or parts[1] != "data" or not parts[3].endswith(".bundle.tar"):
                continue
            name, _, version = parts[3][: -len(".bundle.tar")].partition("_")
            charts.append(TarChart(parts[2], name, version))
            data = outer.extractfile(member)
            assert data is not None
            with tarfile.open(fileobj=io.BytesIO(data.read())) as bundle:
                inner = bundle.extractfile("images.tar")
                assert inner is not None
                with tarfile.open(fileobj=io.BytesIO(inner.read())) as archive:
                    sizes = {m.name: m.size for m in archive.getmembers()}

                    def read(name: str) -> bytes:
                        f = archive.extractfile(name)
                        assert f is not None
                        return f.read()

                    for entry in json.loads(read("manifest.json")):
                        config = json.loads(read(entry["Config"]))
                        platform = f"{config['os']}/{config['architecture']}"
                        layers = tuple(("sha256:" + layer.split(".")[0], sizes[layer]) for layer in entry["Layers"])
                        for ref in entry["RepoTags"]:
                            images.append(TarImage(ref, platform, (entry["Config"], sizes[entry["Config"]]), layers, name))
    return TarPackage(tuple(charts), tuple(images))
