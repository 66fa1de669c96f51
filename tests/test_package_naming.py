"""Package names, bundle names, discovery, sha512 sidecars and hint resolution."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.charts.hints import resolve_hint
from core.errors import PackageError
from core.package.checksum import checksum_status, file_sha512, sidecar_path, sidecar_text
from core.package.discover import discover, parse_package_name
from core.package.naming import parse_bundle_member


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("addon-offline-full-package-v0.12.0-amd64.tar.gz", ("v0.12.0", "amd64")),
        ("addon-offline-full-package-v0.12.0-rc.1-arm64.tar.gz", ("v0.12.0-rc.1", "arm64")),
        ("addon-offline-full-package-v0.9.0-arm64.tar", ("v0.9.0", "arm64")),
        ("addon-offline-full-package-v0.12.0-amd64.tar.gz.sha512sum", None),
        ("offline.tar.gz", None),
    ],
)
def test_parse_package_name(name: str, expected: tuple[str, str] | None) -> None:
    assert parse_package_name(name) == expected


def test_parse_bundle_member() -> None:
    b = parse_bundle_member("pkg/data/community/cert-manager_v1.12.0.bundle.tar")
    assert b is not None and (b.repo, b.chart, b.version) == ("community", "cert-manager", "v1.12.0")
    assert parse_bundle_member("data/addon/nounderscore.bundle.tar") is None
    assert parse_bundle_member("data/addon/x_1.0.tar") is None


def test_discover(tmp_path: Path) -> None:
    a = tmp_path / "addon-offline-full-package-v1-amd64.tar.gz"
    b = tmp_path / "addon-offline-full-package-v1-arm64.tar.gz"
    for p in (a, b):
        p.write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("x")
    other = tmp_path / "sub" / "renamed.tgz"
    other.parent.mkdir()
    other.write_bytes(b"x")
    assert discover([tmp_path, a, other]) == [a, b, other]
    with pytest.raises(PackageError, match="no such file"):
        discover([tmp_path / "missing.tar.gz"])
    with pytest.raises(PackageError, match="no addon-offline-full-package"):
        discover([other.parent])


def test_checksum_sidecar(tmp_path: Path) -> None:
    p = tmp_path / "addon-offline-full-package-v1-amd64.tar.gz"
    p.write_bytes(b"content")
    digest = file_sha512(p)
    assert checksum_status(p, digest) == "missing"
    sidecar_path(p).write_text(sidecar_text(p, digest))
    assert checksum_status(p, digest) == "ok"
    sidecar_path(p).write_text(sidecar_text(p, "ab" * 64))
    assert checksum_status(p, digest) == "mismatch"


VALUES = {
    "image": {"registry": "quay.io", "repository": "jetstack/cm", "tag": "v1.2"},
    "single": "docker.io/bitnami/redis:7.0",
    "notag": {"registry": "r.io", "repository": "x/y"},
    "num": {"repo": "r.io/z", "tag": 7.0},
}


@pytest.mark.parametrize(
    ("hint", "app", "expected"),
    [
        ("{{ .image.registry }}/{{ .image.repository }}:{{ .image.tag }}", "", "quay.io/jetstack/cm:v1.2"),
        ("{{.single}}", "", "docker.io/bitnami/redis:7.0"),
        ("{{ .notag.registry }}/{{ .notag.repository }}", "1.5.0", "r.io/x/y:1.5.0"),
        ("{{ .notag.registry }}/{{ .notag.repository }}", "", "r.io/x/y:latest"),
        ("{{ .num.repo }}:{{ .num.tag }}", "", "r.io/z:7.0"),
        ("{{ .image.missing }}", "", None),
        ("{{ .image }}", "", None),
    ],
)
def test_resolve_hint(hint: str, app: str, expected: str | None) -> None:
    assert resolve_hint(hint, VALUES, app_version=app) == expected
