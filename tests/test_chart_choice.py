"""Choosing charts: ``--charts``/``--skip-charts`` take the charts named and the images they need, and an
import of some charts adds exactly their images' bytes to the registry's storage."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from core.errors import UsageError
from core.package.choice import ChartSelection
from core.package.model import BlobRecord, ChartRecord, ImageRecord, PackageIndex
from tests.cli_driver import registry_args
from tests.fixtures.registry import RegistryServer
from tests.tar_reading import read_package
from tui.cli import main


def _blobs(storage: Path) -> dict[str, Path]:
    """Every blob the registry stores: digest -> its data file."""
    root = storage / "docker" / "registry" / "v2" / "blobs" / "sha256"
    return {f"sha256:{p.parent.name}": p for p in root.glob("*/*/data")} if root.is_dir() else {}


def test_importing_two_charts_adds_exactly_their_images_bytes(
    sample_package: Callable[..., Path], registry: RegistryServer, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = sample_package("v0.12.0", "amd64", payload=256 << 10)
    tar = read_package(path)
    target = registry_args(registry)
    # metrics-server first: its base layer is shared with every other image of the package
    assert main(["import", str(path), *target, "--yes", "--json", "--charts", "metrics-server",
                 "--state-dir", str(tmp_path / "first")]) == 0
    before = _blobs(registry.storage)
    # a cold read (another state dir: no scan cache) stages blobs as it reads: only the charts taken
    assert main(["import", str(path), *target, "--yes", "--json", "--charts", "redis,cert-*",
                 "--state-dir", str(tmp_path / "second")]) == 0
    out = capsys.readouterr().out
    assert any(json.loads(line).get("event") == "blobs_staged" for line in out.splitlines() if line.startswith("{"))
    added = {d: p for d, p in _blobs(registry.storage).items() if d not in before}

    every_image_blob = tar.blobs()
    expected = {d: s for d, s in tar.blobs({"redis", "cert-manager"}).items() if d not in before}
    assert {d: added[d].stat().st_size for d in added if d in every_image_blob} == expected
    assert sum(expected.values()) > 2 * (256 << 10) // 4  # the payload of the charts taken is in it
    # everything else added is a manifest, an index, or a blob of the charts' own OCI artifacts
    documents = [json.loads(p.read_bytes()) for d, p in added.items() if d not in every_image_blob
                 and p.read_bytes().startswith(b"{") and b"schemaVersion" in p.read_bytes()]
    named = {desc["digest"] for doc in documents for desc in [doc.get("config", {}), *doc.get("layers", [])] if desc}
    rest = {d for d in added if d not in every_image_blob} - named
    assert all(b"schemaVersion" in added[d].read_bytes() for d in rest)


def _blob(n: int) -> BlobRecord:
    return BlobRecord(f"sha256:{n:064x}", 10 * n, "application/vnd.docker.image.rootfs.diff.tar.gzip", f"{n}.tar.gz")


def _index() -> PackageIndex:
    """Three charts; ``b`` and ``c`` ship the same image (``shared``) in their bundles."""
    def image(ref: str, bundle: str, n: int) -> ImageRecord:
        return ImageRecord((ref,), "linux/amd64", _blob(n), (_blob(100), _blob(n + 1)), bundle)

    charts = [ChartRecord("addon", n, "1.0.0", f"data/addon/{n}_1.0.0.bundle.tar", (), refs)
              for n, refs in (("a", ("x/a:1",)), ("b", ("x/b:1", "x/shared:1")), ("c", ("x/shared:1",)))]
    images = [image("x/a:1", charts[0].bundle, 1), image("x/b:1", charts[1].bundle, 3),
              image("x/shared:1", charts[1].bundle, 5), image("x/shared:1", charts[2].bundle, 5)]
    return PackageIndex("p.tar.gz", "p.tar.gz", "v1", "amd64", 0, "ok", charts, images)


def test_a_selection_takes_the_images_its_charts_need_and_names_what_is_shared() -> None:
    package = _index()
    (taken,) = ChartSelection.of(["b"]).apply([package])
    assert [c.name for c in taken.charts] == ["b"]
    assert sorted({r for i in taken.images for r in i.refs}) == ["x/b:1", "x/shared:1"]
    assert ChartSelection.of(["b"]).shared([package]) == {"x/shared:1": ["c"]}
    (rest,) = ChartSelection.of([], ["b,c"]).apply([package])
    assert [c.name for c in rest.charts] == ["a"] and [i.refs for i in rest.images] == [("x/a:1",)]
    assert ChartSelection.of(["addon/?"], ["a"]).apply([package])[0].charts == package.charts[1:]
    assert package.charts[0] in _index().charts and len(package.images) == 4  # the scan's index is kept
    with pytest.raises(UsageError, match="No chart of the packages is named zz"):
        ChartSelection.of(["a"], ["zz"]).apply([package])
    with pytest.raises(UsageError, match="leaves no chart"):
        ChartSelection.of(["a"], ["a"]).apply([package])


def test_plan_takes_the_charts_of_every_arch(sample_package: Callable[..., Path], tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    amd, arm = sample_package("v0.12.0", "amd64"), sample_package("v0.12.0", "arm64", charts=["redis", "cert-manager"])
    args = ["plan", str(amd), str(arm), "--registry", str(tmp_path / "layout"), "--json", "--state-dir",
            str(tmp_path / "s"), "--charts", "redis"]
    assert main(args) == 0
    chosen = json.loads(capsys.readouterr().out)
    assert sorted((i["ref"], i["platform"]) for i in chosen["images"]) == [
        (ref, platform) for ref in ("docker.io/bitnami/redis-exporter:1.50.0", "docker.io/bitnami/redis:7.0.11")
        for platform in ("linux/amd64", "linux/arm64")
    ]
    assert [c["name"] for c in chosen["charts"]] == ["redis"]  # one chart version, whatever the arches
    assert main([*args[:-1], "metrics-server"]) == 0  # only amd64 has it: the arm64 package drops out
    chosen = json.loads(capsys.readouterr().out)
    assert {i["platform"] for i in chosen["images"]} == {"linux/amd64"}
