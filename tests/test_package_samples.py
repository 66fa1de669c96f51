"""The sample generator: determinism, realism, sizes."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from pathlib import Path

from core.demo.samples import VENDOR_CHARTS, VENDOR_IMAGES, vendor_shape, write_sample_package


def test_deterministic(tmp_path: Path) -> None:
    a = write_sample_package(tmp_path / "a", "v0.12.0", "arm64", flavour="mixed", payload=4096)
    b = write_sample_package(tmp_path / "b", "v0.12.0", "arm64", flavour="mixed", payload=4096)
    assert a.read_bytes() == b.read_bytes()
    assert not list((tmp_path / "a").glob(".*"))  # no spool or partial files left behind


def test_layers_are_real_gzipped_tars_with_matching_diff_ids(tmp_path: Path) -> None:
    path = write_sample_package(tmp_path, "v0.11.0", "amd64", charts=["metrics-server"])
    with tarfile.open(path) as outer:
        member = next(m for m in outer if m.name.endswith(".bundle.tar"))
        with tarfile.open(fileobj=outer.extractfile(member)) as bundle:
            images_bytes = bundle.extractfile("images.tar").read()
    images = tarfile.open(fileobj=io.BytesIO(images_bytes))  # noqa: SIM115 - in memory
    manifest = json.loads(images.extractfile("manifest.json").read())[0]
    config = json.loads(images.extractfile(manifest["Config"]).read())
    assert (config["os"], config["architecture"]) == ("linux", "amd64")
    assert len(manifest["Layers"]) == len(config["rootfs"]["diff_ids"])
    for name, diff_id in zip(manifest["Layers"], config["rootfs"]["diff_ids"]):
        data = images.extractfile(name).read()
        raw = gzip.decompress(data)
        assert data[4:8] == b"\0\0\0\0"  # gzip mtime 0
        assert "sha256:" + hashlib.sha256(raw).hexdigest() == diff_id
        with tarfile.open(fileobj=io.BytesIO(raw)) as layer:
            assert layer.getnames()


def test_payload_sets_size(tmp_path: Path) -> None:
    small = write_sample_package(tmp_path / "s", "v0.12.0", "amd64")
    big = write_sample_package(tmp_path / "b", "v0.12.0", "amd64", payload=3 << 20)
    assert small.stat().st_size < 64 << 10
    assert big.stat().st_size > 3 << 20  # incompressible


def test_bulk_adds_small_images_ten_per_chart(tmp_path: Path) -> None:
    from core.package.scan import scan_package

    path = write_sample_package(tmp_path, "v0.12.0", "amd64", bulk=23)
    index = scan_package(path)
    bulk = [c for c in index.charts if c.name.startswith("bulk-")]
    assert [(c.name, len(c.images)) for c in bulk] == [("bulk-00", 10), ("bulk-01", 10), ("bulk-02", 3)]
    refs = {r for i in index.images for r in i.refs}
    assert {f"docker.io/bulk/app-{n:04d}:1.0.0" for n in range(23)} <= refs
    assert len(refs) == 6 + 23
    assert path.stat().st_size < 1 << 20  # small images


def test_the_vendor_shape_has_the_vendors_counts_shared_bases_and_a_wide_spread_of_sizes() -> None:
    """scripts/bench.py's yardstick (issue 21): 57 charts, 300 images of 5-15 layers, base layers
    shared between images, sizes from a few KB to a few hundred MB summing to about the total."""
    total = 24 << 30
    shape = vendor_shape(total)
    assert len(shape.charts) == VENDOR_CHARTS
    assert sum(len(c.images) for c in shape.charts) == len(shape.layers) == VENDOR_IMAGES
    assert all(5 <= len(stack) <= 15 for stack in shape.layers.values())
    sizes = {key: size for stack in shape.layers.values() for key, size in stack}
    users = [sum(key in dict(stack) for stack in shape.layers.values()) for key in sizes]
    assert max(users) > 10  # a base layer under many images
    ordered = sorted(sizes.values())
    assert ordered[0] < 8 << 10 and ordered[len(ordered) // 2] < 1 << 20 and ordered[-1] > 200 << 20
    assert abs(sum(ordered) - total) < total * 0.02
    assert vendor_shape(total) == shape  # the same layout every time


def test_a_vendor_shaped_package_is_written_with_a_bundle_per_chart_and_its_bytes(tmp_path: Path) -> None:
    shape = vendor_shape(2 << 20, images=12, charts=3)
    path = write_sample_package(tmp_path, "v9.0.0", "arm64", shape=shape)
    with tarfile.open(path) as outer:
        bundles = [m.name for m in outer.getmembers() if m.name.endswith(".bundle.tar")]
    assert len(bundles) == 3 and path.stat().st_size > 2 << 20
