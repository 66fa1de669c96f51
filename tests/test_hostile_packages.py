"""Hostile or inconsistent packages through the command line (issue 11, item 2): exit 2, one
sentence naming the file, no traceback, no hang, and nothing written to the real registry or
an OCI layout."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from core.errors import PackageError
from core.package.scan import CACHE_FORMAT, _cache_file, _identity, check_tag_conflicts, scan_package
from tests.cli_driver import CliResult, archfuse, registry_args
from tests.fixtures.broken import PLAN_ONLY_KINDS
from tests.fixtures.registry import RegistryServer

HOSTILE = {
    "alias-bomb": "expands its YAML aliases",
    "deep-values": "values.yaml in bundle",
    "deep-hints": "hints.yaml nests deeper than 64 levels",
    "deep-manifest": "manifest.json nests deeper than 64 levels",
    "deep-config": "nests deeper than 64 levels",
    "non-ascii-tag": "is not a valid [host/]repository:tag reference",
    "bad-repo-dir": "the chart source directory 'EVIL Repo' is not a valid repository name",
    "duplicate-member": "appears twice in images.tar",
    "tag-conflict": "with different content",
    "chart-yaml-type": "has kubeVersion as a list where Helm expects text",
    "unsplittable-hint": "cannot be pointed at",
}
OTHER = "sha256:" + "0" * 64
HANG_GUARD = 60  # seconds: a hang (an alias bomb expanded) fails the test instead of stalling the suite


def _refused(result: CliResult, path: Path, fragment: str) -> None:
    assert result.code == 2, result.err
    assert "Traceback" not in result.err
    lines = [line for line in result.err.splitlines()
             if line.startswith("archfuse:") and not line.startswith("archfuse: warning:")]
    assert len(lines) == 1, result.err
    assert path.name in lines[0] and fragment in lines[0]


def _tags(storage: Path) -> list[Path]:
    return list(storage.glob("docker/registry/v2/repositories/**/_manifests/tags/*"))


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_plan_and_import_refuse_hostile_packages_and_write_nothing(
    kind: str, broken_package: Callable[[str], Path], registry: RegistryServer, tmp_path: Path
) -> None:
    path = broken_package(kind)
    state = tmp_path / "state"
    target = registry_args(registry)
    _refused(archfuse("plan", path, *target, state_dir=state, timeout=HANG_GUARD), path, HOSTILE[kind])
    _refused(archfuse("import", path, *target, "--yes", state_dir=state, timeout=HANG_GUARD), path, HOSTILE[kind])
    assert _tags(registry.storage) == []
    layout = tmp_path / "layout"
    _refused(archfuse("import", path, "--registry", layout, "--yes", state_dir=state, timeout=HANG_GUARD),
             path, HOSTILE[kind])
    assert not (layout / "index.json").exists()


def test_plan_only_kinds_pass_the_scan(broken_package: Callable[[str], Path]) -> None:
    for kind in PLAN_ONLY_KINDS:
        assert scan_package(broken_package(kind)).charts


def test_the_same_tag_with_the_same_content_in_two_bundles_is_fine(
    sample_package: Callable[..., Path], tmp_path: Path
) -> None:
    index = scan_package(sample_package(charts=["metrics-server"]))
    image = index.images[0]
    index.images.append(replace(image, bundle="addon-offline/data/community/other_1.0.0.bundle.tar"))
    check_tag_conflicts(index)  # identical content: no error
    index.images.append(replace(image, bundle="y_1.bundle.tar", layers=image.layers[:1]))  # same config
    check_tag_conflicts(index)  # the same image saved another way (e.g. layers uncompressed): fine
    index.images.append(replace(image, bundle="x_1.bundle.tar", config=replace(image.config, digest=OTHER)))
    with pytest.raises(PackageError, match="x_1.bundle.tar with different content"):
        check_tag_conflicts(index)


def test_a_cached_scan_does_not_bypass_the_checks(broken_package: Callable[[str], Path], tmp_path: Path) -> None:
    """A cache entry written before these checks (an older format) is read again; a current one is re-checked."""
    state = tmp_path / "state"
    path = broken_package("tag-conflict")
    identity = _identity(path)
    good = scan_package(broken_package("checksum-mismatch"))
    first = good.images[0]
    other = replace(first, bundle="b_1.bundle.tar", config=replace(first.config, digest=OTHER))
    conflicting = replace(good, images=[*good.images, other])
    cache = _cache_file(state, identity)
    cache.parent.mkdir(parents=True)
    for fmt, index in ((CACHE_FORMAT - 1, good), (CACHE_FORMAT, conflicting)):
        doc = {"format": fmt, "identity": identity, "sha512": "0" * 128, "index": index.to_json()}
        cache.write_text(json.dumps(doc))
        with pytest.raises(PackageError, match="with different content"):
            scan_package(path, state_dir=state)
