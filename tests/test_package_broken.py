"""Every bad input of issue 2: exit code 2, one sentence naming the file and the member."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from core.errors import PackageError
from core.package.scan import scan_package
from tests.fixtures.broken import BROKEN_KINDS, PLAN_ONLY_KINDS

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
    "alias-bomb": "values.yaml in bundle addon-offline/data/addon/metrics-server_3.8.3.bundle.tar expands its YAML aliases",
    "deep-values": "values.yaml in bundle addon-offline/data/addon/metrics-server_3.8.3.bundle.tar nests deeper than 64",
    "deep-hints": f"{BUNDLE}: hints.yaml nests deeper than 64 levels",
    "deep-manifest": f"{BUNDLE}: images.tar: manifest.json nests deeper than 64 levels",
    "deep-config": f"{BUNDLE}: images.tar: config 'sha256:",
    "non-ascii-tag": "manifest.json names image 'docker.m.daocloud.io/metrics-server/metrics-server:v0.6.2-\u00fcber' "
    "in RepoTags, which is not a valid",
    "bad-repo-dir": "the chart source directory 'EVIL Repo' is not a valid repository name",
    "duplicate-member": "/layer.tar': appears twice in images.tar",
    "tag-conflict": "image docker.m.daocloud.io/metrics-server/metrics-server:v0.6.2 (linux/amd64) is in bundle "
    "addon-offline/data/addon/metrics-server_3.8.3.bundle.tar and in bundle "
    "addon-offline/data/addon/ingress-nginx_4.8.0.bundle.tar with different content",
    "chart-yaml-type": "has kubeVersion as a list where Helm expects text",
}


def test_every_kind_has_an_expectation() -> None:
    assert set(EXPECTED) | set(PLAN_ONLY_KINDS) == set(BROKEN_KINDS)


@pytest.mark.parametrize("kind", [k for k in BROKEN_KINDS if k not in PLAN_ONLY_KINDS])
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
