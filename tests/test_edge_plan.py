"""Plan edge cases: how images of several packages group into tags (hand-made indexes, layout target)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from core.errors import PackageError
from core.helpers.versions import version_key
from core.operations.verify import verify_images
from core.plan.images import build_plan
from core.run.engine import ImportRun
from core.targets.layout import LayoutTarget
from tests.fixtures.imports import make_package

APP = "vendor.example/addon/app:1.0"


def _scratch(tmp_path: Path) -> LayoutTarget:
    """A second layout: packages whose blobs are written there are missing from the real target."""
    scratch = LayoutTarget(tmp_path / "scratch")
    scratch.ping()
    return scratch


def test_arm64_without_variant_and_v8_are_one_platform_newest_wins(layout: LayoutTarget) -> None:
    old = make_package(layout, "v0.9.0", "arm64")
    old.images[0] = replace(old.images[0], platform="linux/arm64/v8")
    new = make_package(layout, "v0.12.0", "arm64", seed="new")
    plan = build_plan([new, old], layout)
    (tag,) = plan.tags
    assert [i.package for i in tag.images] == [new.path]
    assert tag.result is not None and tag.result.manifest is not None
    entries = tag.result.manifest.parsed()["manifests"]
    assert [e["digest"] for e in entries] == [new.images[0].digest]


def test_newest_version_wins_a_tag_and_the_loser_uploads_nothing(layout: LayoutTarget, tmp_path: Path) -> None:
    scratch = _scratch(tmp_path)
    old = make_package(scratch, "v0.9.0", "amd64", seed="old")
    new = make_package(scratch, "v0.12.0", "amd64", seed="new")
    plan = build_plan([new, old], layout)  # natural version order, not argument or text order
    (tag,) = plan.tags
    assert [i.digest for i in tag.images] == [new.images[0].digest]
    assert set(plan.blobs) == {b.digest for b in new.images[0].blobs()}
    assert all(need.package == new.path for need in plan.blobs.values())


@pytest.mark.parametrize(
    ("ref", "why"),
    [
        ("vendor.example/addon/app@sha256:" + "a" * 64, "names a digest but no tag"),
        ("vendor.example/Addon/app:1.0", "is not a valid image reference"),
    ],
)
def test_refs_no_tag_can_hold_are_a_package_error_before_anything_is_written(
    layout: LayoutTarget, ref: str, why: str
) -> None:
    package = make_package(layout, "v1.0.0", "amd64", refs=(ref,))
    with pytest.raises(PackageError, match=why):
        build_plan([package], layout)
    with pytest.raises(PackageError, match=why):
        verify_images([package], layout)
    assert layout.refs() == []


def test_several_repo_tags_give_several_tags_of_one_manifest(layout: LayoutTarget) -> None:
    refs = (APP, "vendor.example/addon/app:latest", "mirror.example/other/app:1.0")
    package = make_package(layout, "v1.0.0", "amd64", refs=refs)
    summary = ImportRun(build_plan([package], layout), layout).execute()
    assert summary.status == "done", summary.failures
    assert {(r.repository, r.tag) for r in layout.refs()} == {
        ("addon/app", "1.0"), ("addon/app", "latest"), ("other/app", "1.0")
    }
    assert {c.status for c in verify_images([package], layout)} == {"ok"}


def test_arm_without_variant_updates_the_arm_v7_entry(layout: LayoutTarget, tmp_path: Path) -> None:
    """An ``arm`` image config without a variant is arm/v7 (as containerd reads it): one entry, updated."""
    first = make_package(layout, "v1.0.0", "arm")
    first.images[0] = replace(first.images[0], platform="linux/arm/v7")
    assert ImportRun(build_plan([first], layout), layout).execute().status == "done"
    upgrade = make_package(layout, "v1.1.0", "arm", seed="new")
    plan = build_plan([upgrade], layout)
    assert [i.action for i in plan.images] == ["update-arch"]
    assert ImportRun(plan, layout).execute().status == "done"
    index = layout.get_manifest("addon/app", "1.0")
    assert index is not None
    assert [(e["digest"], e["platform"].get("variant")) for e in index.parsed()["manifests"]] == [
        (upgrade.images[0].digest, "v7")
    ]
    assert {c.status for c in verify_images([upgrade], layout)} == {"ok"}


def test_verify_of_an_older_package_after_an_upgrade_says_other_digest(layout: LayoutTarget) -> None:
    old = make_package(layout, "v0.11.0", "amd64", seed="old")
    new = make_package(layout, "v0.12.0", "amd64", seed="new")
    for package in (old, new):
        assert ImportRun(build_plan([package], layout), layout).execute().status == "done"
    (check,) = verify_images([old], layout)
    assert check.status == "other-digest"
    assert new.images[0].digest in check.detail and old.images[0].digest in check.detail
    assert [c.status for c in verify_images([old, new], layout)] == ["ok"]  # together: the newest counts


def test_a_release_wins_over_its_release_candidate(layout: LayoutTarget, tmp_path: Path) -> None:
    scratch = _scratch(tmp_path)
    rc = make_package(scratch, "v0.12.0-rc.2", "amd64", seed="rc")
    release = make_package(scratch, "v0.12.0", "amd64", seed="ga")
    older = make_package(scratch, "v0.12.0-rc.10", "amd64", seed="rc10")
    for order in ([rc, release, older], [release, older, rc]):
        (tag,) = build_plan(order, layout).tags
        assert [i.package for i in tag.images] == [release.path]
    assert version_key("v0.12.0-rc.2") < version_key("v0.12.0-rc.10") < version_key("v0.12.0")
    assert version_key("v0.9.0") < version_key("v0.12.0") == version_key("v0.12.0+build.7")
