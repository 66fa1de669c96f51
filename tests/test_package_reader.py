"""The streaming reader on generated packages, checked against an independent unpack with tarfile."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path
from typing import Any

import pytest

from core.demo.samples import ARCHES, FLAVOURS
from core.oci import mediatypes as mt
from core.package.reader import BlobMember, BundleInfo, ChartFiles, ImagesFound, iter_package


def _unpack(path: Path) -> dict[str, dict[str, bytes]]:
    """bundle member -> {images.tar member -> bytes}, by Python's tarfile (the independent reader)."""
    out: dict[str, dict[str, bytes]] = {}
    with tarfile.open(path) as outer:
        for m in outer:
            if m.name.endswith(".bundle.tar"):
                with tarfile.open(fileobj=outer.extractfile(m)) as bundle:
                    images = bundle.extractfile("images.tar")
                    assert images is not None
                    with tarfile.open(fileobj=io.BytesIO(images.read())) as it:
                        out[m.name] = {x.name: it.extractfile(x).read() for x in it if x.isfile()}
    return out


def _gcr_manifest(config: bytes, layers: list[bytes]) -> bytes:
    def desc(media: str, data: bytes) -> str:
        return f'{{"mediaType":"{media}","size":{len(data)},"digest":"sha256:{hashlib.sha256(data).hexdigest()}"}}'

    parts = ",".join(
        desc(mt.DOCKER_LAYER_GZIP if d[:2] == b"\x1f\x8b" else mt.DOCKER_LAYER, d) for d in layers
    )
    return (
        f'{{"schemaVersion":2,"mediaType":"{mt.DOCKER_MANIFEST}","config":{desc(mt.DOCKER_CONFIG, config)},'
        f'"layers":[{parts}]}}'
    ).encode()


@pytest.mark.parametrize("arch", ARCHES)
@pytest.mark.parametrize("flavour", FLAVOURS)
def test_every_flavour_and_arch(
    flavour: str, arch: str, flavour_packages: dict[tuple[str, str], Path]
) -> None:
    path = flavour_packages[(flavour, arch)]
    truth = _unpack(path)
    items = list(iter_package(path))
    images = [i for it in items if isinstance(it, ImagesFound) for i in it.images]
    assert len(images) == 6
    assert {i.platform for i in images} == {f"linux/{arch}"}
    for image in images:
        members = truth[image.bundle]
        manifest = {e["RepoTags"][0]: e for e in json.loads(members["manifest.json"])}
        entry = manifest[image.refs[0]]
        config = members[entry["Config"]]
        assert json.loads(config)["architecture"] == arch
        layers = [members[n] for n in entry["Layers"]]
        assert image.manifest.data == _gcr_manifest(config, layers)
        assert image.size == len(config) + sum(map(len, layers))
    kinds = {layer.media_type for i in images for layer in i.layers}
    expected = {
        "ggcr": {mt.DOCKER_LAYER_GZIP},
        "docker-legacy": {mt.DOCKER_LAYER},
        "docker-oci": {mt.DOCKER_LAYER_GZIP, mt.DOCKER_LAYER},
    }[flavour]
    assert kinds == expected


def test_item_order_and_chart_files(flavour_packages: dict[tuple[str, str], Path]) -> None:
    items = list(iter_package(flavour_packages[("ggcr", "amd64")]))
    bundles = [i for i in items if isinstance(i, BundleInfo)]
    assert [(b.repo, b.chart) for b in bundles] == [
        ("addon", "metrics-server"), ("addon", "ingress-nginx"), ("community", "redis"), ("community", "cert-manager"),
    ]  # fmt: skip
    charts = [i for i in items if isinstance(i, ChartFiles)]
    redis = next(c for c in charts if c.bundle.chart == "redis")
    assert redis.hints == ["{{ .image }}", "{{ .metrics.image }}"]
    assert {"Chart.yaml", "values.yaml", "templates/deployment.yaml", "charts/common/Chart.yaml"} <= set(
        redis.files
    )
    assert b"# Redis" in redis.files["values.yaml"]
    # each bundle: BundleInfo, ChartFiles, blobs..., ImagesFound
    kinds = [type(i).__name__ for i in items[: items.index(bundles[1])]]
    assert kinds[0:2] == ["BundleInfo", "ChartFiles"] and kinds[-1] == "ImagesFound"
    assert set(kinds[2:-1]) == {"BlobMember"}


def test_blob_streams_can_be_read_partly_or_not_at_all(flavour_packages: dict[tuple[str, str], Path]) -> None:
    path = flavour_packages[("ggcr", "arm64")]
    truth = _unpack(path)
    got: dict[tuple[str, str], bytes] = {}
    for n, item in enumerate(iter_package(path)):
        if isinstance(item, BlobMember):
            if n % 3 == 0:
                got[(item.bundle.member, item.member)] = item.stream.read()
            elif n % 3 == 1:
                item.stream.read(7)
            assert item.digest is not None
    assert got
    for (bundle, member), data in got.items():
        assert data == truth[bundle][member]
        assert "sha256:" + hashlib.sha256(data).hexdigest() == (
            member if member.startswith("sha256:") else "sha256:" + member.split(".")[0]
        )


def _platforms(path: Path) -> list[str]:
    return [i.platform for it in iter_package(path) if isinstance(it, ImagesFound) for i in it.images]


def test_manifest_first_plain_tar_and_other_names(sample_package: Any) -> None:
    a = _platforms(sample_package(flavour="docker-legacy", manifest_first=True))
    b = _platforms(sample_package(flavour="docker-oci", compress=False, arch="arm64"))
    c = _platforms(sample_package(arch="arm64", name="vendor-drop.tgz"))
    assert set(a) == {"linux/amd64"} and set(b) == {"linux/arm64"} and set(c) == {"linux/arm64"}


def test_manifest_first_gives_same_images(sample_package: Any) -> None:
    first = sample_package(flavour="docker-legacy", manifest_first=True, name="first.tar.gz")
    last = sample_package(flavour="docker-legacy", name="last.tar.gz")

    def digests(p: Path) -> list[str]:
        return [i.digest for it in iter_package(p) if isinstance(it, ImagesFound) for i in it.images]

    assert digests(first) == digests(last)


def test_progress_reaches_file_size(flavour_packages: dict[tuple[str, str], Path]) -> None:
    path = flavour_packages[("docker-oci", "amd64")]
    seen: list[tuple[int, int]] = []
    for _ in iter_package(path, progress=lambda done, total: seen.append((done, total))):
        pass
    assert seen[-1] == (path.stat().st_size, path.stat().st_size)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_legacy_layer_links_resolve_to_their_target() -> None:
    from core.package.dockerarchive import SeenBlob, build_images

    config = json.dumps({"architecture": "amd64", "os": "linux"}).encode()
    blobs = {
        "c.json": SeenBlob("c.json", "sha256:" + "c" * 64, len(config), b"{", config),
        "aaa/layer.tar": SeenBlob("aaa/layer.tar", "sha256:" + "a" * 64, 1024, b"etc/", None),
    }
    links = {"bbb/layer.tar": "aaa/layer.tar"}  # docker save writes duplicate layers as links
    manifest = [{"Config": "c.json", "RepoTags": ["x.io/y:1"], "Layers": ["aaa/layer.tar", "bbb/layer.tar"]}]
    (image,) = build_images(manifest, blobs, links, "b")
    assert [layer.member for layer in image.layers] == ["aaa/layer.tar", "aaa/layer.tar"]
    assert image.layers[0].media_type == mt.DOCKER_LAYER
