"""The scan: index contents, cache, checksum status, JSON and table output."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from core.errors import ChecksumMismatch
from core.events import Event, PackageScanned, ScanProgress
from core.package.checksum import sidecar_path, sidecar_text
from core.package.scan import render_scan_table, scan_json, scan_package, scan_paths


def test_demo_set_index(demo_packages: list[Path]) -> None:
    indexes = scan_paths([demo_packages[0].parent])
    assert [(i.version, i.arch, i.checksum) for i in indexes] == [
        ("v0.11.0", "amd64", "ok"), ("v0.11.0", "arm64", "ok"), ("v0.12.0", "amd64", "ok"), ("v0.12.0", "arm64", "ok"),
    ]  # fmt: skip
    by = {(i.version, i.arch): i for i in indexes}
    old, new = by[("v0.11.0", "amd64")], by[("v0.12.0", "amd64")]
    charts = {c.name: c for c in new.charts}
    assert charts["cert-manager"].images == (
        "quay.io/jetstack/cert-manager-controller:v1.12.0",
    )  # from appVersion
    assert charts["redis"].repo == "community" and len(charts["ingress-nginx"].images) == 2
    digests_old = {i.refs[0]: i.digest for i in old.images}
    digests_new = {i.refs[0]: i.digest for i in new.images}
    same = "docker.m.daocloud.io/metrics-server/metrics-server:v0.6.2"
    assert digests_old[same] == digests_new[same]  # same tag, same ggcr flavour: same manifest
    assert "registry.k8s.io/ingress-nginx/controller:v1.9.0" not in digests_old
    arm = {i.refs[0]: i.digest for i in by[("v0.11.0", "arm64")].images}
    assert arm[same] != digests_old[same]  # distinct content per arch
    # every chart's hinted images are images of the package
    for index in indexes:
        refs = {r for i in index.images for r in i.refs}
        assert all(ref in refs for c in index.charts for ref in c.images)


def test_cache_is_used_and_invalidated(demo_packages: list[Path], tmp_path: Path) -> None:
    path = tmp_path / demo_packages[0].name
    shutil.copy(demo_packages[0], path)
    shutil.copy(sidecar_path(demo_packages[0]), sidecar_path(path))
    state = tmp_path / "state"
    events: list[Event] = []
    first = scan_package(path, state_dir=state, emit=events.append)
    assert any(isinstance(e, ScanProgress) for e in events)
    events.clear()
    second = scan_package(path, state_dir=state, emit=events.append)
    assert [type(e) for e in events] == [PackageScanned] and events[0].cached
    assert second.to_json() == first.to_json()
    # the checksum is re-judged from the cached sha512 when the sidecar changes
    sidecar_path(path).write_text(sidecar_text(path, "0" * 128))
    assert scan_package(path, state_dir=state).checksum == "mismatch"
    with pytest.raises(ChecksumMismatch):
        scan_package(path, state_dir=state, strict=True)
    sidecar_path(path).unlink()
    assert scan_package(path, state_dir=state).checksum == "missing"
    # a changed file is read again
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    events.clear()
    scan_package(path, state_dir=state, emit=events.append)
    assert not events[-1].cached


def test_cache_of_a_different_file_is_not_reused(demo_packages: list[Path], tmp_path: Path) -> None:
    path = tmp_path / "addon-offline-full-package-v0.11.0-amd64.tar.gz"
    state = tmp_path / "state"
    shutil.copy(demo_packages[0], path)
    scan_package(path, state_dir=state)
    shutil.copy(demo_packages[1], path)  # same name, other content (arm64 inside): must not hit the cache
    with pytest.raises(Exception, match="archive name says amd64"):
        scan_package(path, state_dir=state)


def test_json_and_table(demo_packages: list[Path]) -> None:
    indexes = scan_paths(demo_packages[2:])
    doc = scan_json(indexes)
    pkg = doc["packages"][1]
    assert set(pkg) >= {"path", "version", "arch", "checksum", "charts", "images"}
    assert pkg["arch"] == "arm64" and pkg["checksum"] == "ok"
    assert set(pkg["charts"][0]) >= {"repo", "name", "version", "images"}
    img = pkg["images"][0]
    assert img["platform"] == "linux/arm64" and img["digest"].startswith("sha256:") and img["size"] > 0
    table = render_scan_table(indexes)
    assert "== v0.12.0 x amd64" in table and "== v0.12.0 x arm64" in table
    assert "cert-manager" in table and "linux/arm64" in table and "checksum ok" in table
