"""Every bad input of issue 2: exit code 2, one sentence naming the file and the member."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from core.demo.samples import BROKEN_KINDS
from core.errors import PackageError
from core.package.scan import scan_package

BUNDLE = "bundle addon-offline/data/addon/metrics-server_3.8.3.bundle.tar"
EXPECTED = {
    "not-gzip": "not a gzip or tar file",
    "not-tar": "gzip data that is not a tar archive",
    "truncated": "truncated",
    "corrupt-bundle": f"{BUNDLE}: not a tar archive",
    "no-images-tar": f"{BUNDLE}: has no images.tar",
    "no-chart-yaml": f"{BUNDLE}: has no original-chart/Chart.yaml",
    "manifest-missing-file": "images.tar: manifest.json names '",
    "layer-digest-mismatch": ".tar.gz': the bytes do not match the digest its name promises",
    "absolute-name": "member name '/etc/cron.d/evil' is absolute",
    "dotdot-name": f"{BUNDLE}: member name 'original-chart/../../evil.yaml' contains '..'",
    "symlink": f"{BUNDLE}: hints.yaml is a symlink where a regular file is expected",
    "device": f"{BUNDLE}: original-chart/Chart.yaml is a device where a regular file is expected",
    "oversized-manifest": "manifest.json is 9437",
    "oversized-hints": f"{BUNDLE}: hints.yaml is 2097",
    "oversized-chart-yaml": f"{BUNDLE}: original-chart/Chart.yaml is 2097",
    "arch-mismatch": "is linux/amd64 but the archive name says arm64",
    "checksum-mismatch": "the sha512 does not match",
}


def test_every_kind_has_an_expectation() -> None:
    assert set(EXPECTED) == set(BROKEN_KINDS)


@pytest.mark.parametrize("kind", BROKEN_KINDS)
def test_bad_input(kind: str, broken_package: Callable[[str], Path]) -> None:
    path = broken_package(kind)
    with pytest.raises(PackageError) as info:
        scan_package(path, strict=True)
    message = str(info.value)
    assert info.value.exit_code == 2
    assert message.startswith(path.name + ": ")
    assert EXPECTED[kind] in message
    assert "\n" not in message and message.endswith(".")
    assert info.value.__cause__ is None or kind == "checksum-mismatch"


def test_checksum_mismatch_is_a_warning_unless_strict(broken_package: Callable[[str], Path]) -> None:
    index = scan_package(broken_package("checksum-mismatch"))
    assert index.checksum == "mismatch" and any("sha512" in w for w in index.warnings)
