"""Fusion merge rules, on manifests built in memory (the registry scenarios are in test_import_*)."""

from __future__ import annotations

import json

import pytest

from core.errors import TargetError
from core.kinds import ImageAction
from core.oci import fusion
from core.oci import mediatypes as mt
from core.oci.manifest import Descriptor, ManifestRef, canonical_json, image_manifest_bytes
from core.oci.platform import Platform

AMD64 = Platform("linux", "amd64")
ARM64 = Platform("linux", "arm64")
S390X = Platform("linux", "s390x")


def manifest(seed: str) -> ManifestRef:
    config = Descriptor(mt.DOCKER_CONFIG, 10, "sha256:" + seed * 64)
    layer = Descriptor(mt.DOCKER_LAYER_GZIP, 20, "sha256:" + seed.upper().lower() * 64)
    return ManifestRef(image_manifest_bytes(config, [layer]), mt.DOCKER_MANIFEST)


def no_platform(_m: ManifestRef) -> Platform | None:
    return None


def platforms(result: fusion.MergeResult) -> list[str]:
    assert result.manifest is not None
    return [str(fusion.entry_platform(e)) for e in result.manifest.parsed()["manifests"]]


def test_new_tag_becomes_an_index_of_the_same_family() -> None:
    result = fusion.merge(None, [fusion.Addition(manifest("a"), AMD64)], no_platform)
    assert result.manifest is not None
    assert result.manifest.media_type == mt.DOCKER_MANIFEST_LIST
    assert result.actions == {"linux/amd64": ImageAction.NEW}
    assert platforms(result) == ["linux/amd64"]


def test_both_arches_in_one_write() -> None:
    adds = [fusion.Addition(manifest("a"), AMD64), fusion.Addition(manifest("b"), ARM64)]
    result = fusion.merge(None, adds, no_platform)
    assert platforms(result) == ["linux/amd64", "linux/arm64"]
    assert result.platforms_after == ("linux/amd64", "linux/arm64")


def test_bare_manifest_of_other_platform_becomes_index_of_both() -> None:
    current = manifest("a")
    result = fusion.merge(current, [fusion.Addition(manifest("b"), ARM64)], lambda m: AMD64)
    assert result.actions == {"linux/arm64": ImageAction.ADD_ARCH}
    doc = result.manifest.parsed()
    assert doc["manifests"][0]["digest"] == current.digest
    assert platforms(result) == ["linux/amd64", "linux/arm64"]


def test_same_bare_manifest_is_unchanged() -> None:
    current = manifest("a")
    result = fusion.merge(current, [fusion.Addition(manifest("a"), AMD64)], lambda m: AMD64)
    assert not result.changed
    assert result.actions == {"linux/amd64": ImageAction.UNCHANGED}


def test_bare_manifest_without_readable_platform_is_refused() -> None:
    with pytest.raises(TargetError, match="platform cannot be read"):
        fusion.merge(manifest("a"), [fusion.Addition(manifest("b"), ARM64)], no_platform)


def test_update_replaces_only_that_entry_and_keeps_others_and_attestations() -> None:
    old_amd, arm, s390 = manifest("a"), manifest("b"), manifest("c")
    attestation = {
        "mediaType": mt.OCI_MANIFEST,
        "size": 123,
        "digest": "sha256:" + "d" * 64,
        "annotations": {"vnd.docker.reference.digest": old_amd.digest, "vnd.docker.reference.type": "attestation-manifest"},
        "platform": {"architecture": "unknown", "os": "unknown"},
    }
    s390_entry = {"mediaType": s390.media_type, "size": s390.size, "digest": s390.digest,
                  "platform": {"architecture": "s390x", "os": "linux"}, "annotations": {"x": "y"}}
    doc = {
        "schemaVersion": 2,
        "mediaType": mt.OCI_INDEX,
        "manifests": [
            {"mediaType": old_amd.media_type, "size": old_amd.size, "digest": old_amd.digest,
             "platform": {"architecture": "amd64", "os": "linux"}},
            s390_entry,
            attestation,
        ],
        "annotations": {"org.example": "kept"},
    }
    current = ManifestRef(canonical_json(doc), mt.OCI_INDEX)
    new_amd = manifest("e")
    result = fusion.merge(current, [fusion.Addition(new_amd, AMD64), fusion.Addition(arm, ARM64)], no_platform)
    assert result.actions == {"linux/amd64": ImageAction.UPDATE_ARCH, "linux/arm64": ImageAction.ADD_ARCH}
    out = result.manifest.parsed()
    assert out["mediaType"] == mt.OCI_INDEX
    assert out["annotations"] == {"org.example": "kept"}
    assert out["manifests"][0]["digest"] == new_amd.digest
    assert json.dumps(out["manifests"][1]) == json.dumps(s390_entry)
    assert json.dumps(out["manifests"][2]) == json.dumps(attestation)
    assert out["manifests"][3]["digest"] == arm.digest
    assert result.platforms_before == ("linux/amd64", "linux/s390x")
    assert result.platforms_after == ("linux/amd64", "linux/s390x", "linux/arm64")


def test_index_already_holding_the_platform_is_unchanged() -> None:
    first = fusion.merge(None, [fusion.Addition(manifest("a"), AMD64), fusion.Addition(manifest("b"), ARM64)], no_platform)
    again = fusion.merge(first.manifest, [fusion.Addition(manifest("a"), AMD64)], no_platform)
    assert not again.changed
    assert again.platforms_after == ("linux/amd64", "linux/arm64")


def test_upgrade_with_one_arch_never_flattens() -> None:
    first = fusion.merge(None, [fusion.Addition(manifest("a"), AMD64), fusion.Addition(manifest("b"), ARM64)], no_platform)
    upgraded = fusion.merge(first.manifest, [fusion.Addition(manifest("c"), AMD64)], no_platform)
    assert upgraded.actions == {"linux/amd64": ImageAction.UPDATE_ARCH}
    assert upgraded.platforms_after == ("linux/amd64", "linux/arm64")
    entries = upgraded.manifest.parsed()["manifests"]
    assert entries[1]["digest"] == manifest("b").digest


def test_arm64_variant_v8_matches_empty_variant() -> None:
    first = fusion.merge(None, [fusion.Addition(manifest("b"), Platform("linux", "arm64", "v8"))], no_platform)
    again = fusion.merge(first.manifest, [fusion.Addition(manifest("b"), ARM64)], no_platform)
    assert not again.changed


def test_an_index_from_the_target_nesting_deep_within_its_size_bound_is_refused_naming_it() -> None:
    """A hostile registry's index of 100,000 nested lists (200 KB, well under the 4 MiB bound) is a
    TargetError naming the manifest's digest, for the merge and for the config reader alike."""
    deep = ManifestRef(b'{"manifests": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", mt.OCI_INDEX)
    with pytest.raises(TargetError, match=f"the manifest {deep.digest} nests deeper than"):
        fusion.merge(deep, [fusion.Addition(manifest("a"), AMD64)], no_platform)
    config = b'{"architecture": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    assert fusion.config_platform_reader(lambda _digest: config)(manifest("b")) is None
