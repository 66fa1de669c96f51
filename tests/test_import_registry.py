"""Import and fusion scenarios against the real registry (CNCF distribution), checked with skopeo."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from core.demo.samples import write_sample_package
from core.oci import mediatypes as mt
from core.oci.manifest import ManifestRef, canonical_json
from tests.cli_driver import archfuse, registry_args
from tests.fixtures.registry import RegistryServer, skopeo_copy_all, skopeo_inspect_raw


def pkg(packages: list[Path], version: str, arch: str) -> Path:
    return next(p for p in packages if p.name.endswith(f"-{version}-{arch}.tar.gz"))


def scan(path: Path, state: Path) -> dict[str, Any]:
    result = archfuse("scan", path, "--json", state_dir=state)
    assert result.code == 0, result.err
    return dict(result.events[0]["packages"][0])


def tags_of(scanned: dict[str, Any]) -> dict[str, dict[str, str]]:
    """destination path:tag -> {platform: digest} of one scanned package."""
    out: dict[str, dict[str, str]] = {}
    for image in scanned["images"]:
        path = image["ref"].split("/", 1)[1]
        out.setdefault(path, {})[image["platform"]] = image["digest"]
    return out


def platforms_at(server: RegistryServer, path: str) -> dict[str, str]:
    """platform -> digest of what a tag serves, read with skopeo."""
    raw = skopeo_inspect_raw(f"{server.host}/{path}", server)
    assert raw["mediaType"] in (mt.DOCKER_MANIFEST_LIST, mt.OCI_INDEX), raw["mediaType"]
    out = {}
    for entry in raw["manifests"]:
        p = entry.get("platform", {})
        out[f"{p.get('os')}/{p.get('architecture')}"] = entry["digest"]
    return out


def import_(server: RegistryServer, state: Path, *paths: Path, extra: tuple[str, ...] = ()) -> Any:
    result = archfuse("import", *paths, *registry_args(server), "--yes", "--json", *extra,
                      state_dir=state, password=server.password)
    assert result.code == 0, result.err + result.out
    return result


def assert_copy_all(server: RegistryServer, paths: list[str], tmp_path: Path) -> None:
    for i, path in enumerate(sorted(paths)):
        skopeo_copy_all(f"{server.host}/{path}", server, tmp_path / f"copy-{i}")


@pytest.mark.parametrize("order", [("amd64", "arm64"), ("arm64", "amd64")])
def test_two_runs_fuse_both_arches(registry: RegistryServer, demo_packages: list[Path], tmp_path: Path,
                                   order: tuple[str, str]) -> None:
    state = tmp_path / "state"
    first, second = (pkg(demo_packages, "v0.11.0", arch) for arch in order)
    expected = tags_of(scan(first, state))
    for path, by_platform in tags_of(scan(second, state)).items():
        expected.setdefault(path, {}).update(by_platform)
    one = import_(registry, state, first)
    assert {e["action"] for e in one.of("image_done")} == {"new"}
    two = import_(registry, state, second)
    assert {e["action"] for e in two.of("image_done")} == {"add-arch"}
    for path, by_platform in expected.items():
        assert platforms_at(registry, path) == by_platform
    assert_copy_all(registry, list(expected), tmp_path)


def test_both_arches_in_one_run_push_one_index_per_tag(registry: RegistryServer, demo_packages: list[Path],
                                                      tmp_path: Path) -> None:
    state = tmp_path / "state"
    amd, arm = pkg(demo_packages, "v0.11.0", "amd64"), pkg(demo_packages, "v0.11.0", "arm64")
    result = import_(registry, state, amd, arm)
    expected = tags_of(scan(amd, state))
    for path, by_platform in tags_of(scan(arm, state)).items():
        expected[path].update(by_platform)
    for path, by_platform in expected.items():
        assert platforms_at(registry, path) == by_platform
        repo = path.rsplit(":", 1)[0]
        revisions = registry.storage / "docker/registry/v2/repositories" / repo / "_manifests/revisions/sha256"
        # two platform manifests and exactly one index: no intermediate single-arch tag write, no helper tags
        assert len(list(revisions.iterdir())) == 3, path
        tags_dir = registry.storage / "docker/registry/v2/repositories" / repo / "_manifests/tags"
        assert not [t.name for t in tags_dir.iterdir() if t.name.endswith(("-amd64", "-arm64"))]
    assert result.last("run_finished")["status"] == "done"


def test_reimport_uploads_nothing_and_is_unchanged(registry: RegistryServer, demo_packages: list[Path],
                                                   tmp_path: Path) -> None:
    state = tmp_path / "state"
    amd = pkg(demo_packages, "v0.11.0", "amd64")
    first = import_(registry, state, amd)
    # a cold import uploads while it scans (read once, core.run.stage); the run mounts and uploads the rest
    assert sum(e["bytes"] for e in first.of("blobs_staged")) + first.last("run_finished")["bytes_uploaded"] > 0
    again = import_(registry, state, amd)
    assert again.last("run_finished")["bytes_uploaded"] == 0
    assert {e["action"] for e in again.of("image_done")} == {"unchanged"}
    assert again.of("blob_done") == []


def test_upgrade_with_one_arch_keeps_the_other(registry: RegistryServer, demo_packages: list[Path],
                                               tmp_path: Path) -> None:
    state = tmp_path / "state"
    old_amd, old_arm = pkg(demo_packages, "v0.11.0", "amd64"), pkg(demo_packages, "v0.11.0", "arm64")
    new_amd = pkg(demo_packages, "v0.12.0", "amd64")
    import_(registry, state, old_amd, old_arm)
    before = {**tags_of(scan(old_amd, state))}
    for path, by_platform in tags_of(scan(old_arm, state)).items():
        before[path].update(by_platform)
    upgrade = tags_of(scan(new_amd, state))
    import_(registry, state, new_amd)
    shared = set(before) & set(upgrade)
    assert shared and set(upgrade) - set(before), "the demo set must have shared and new tags"
    for path in shared:  # unchanged tags keep both platforms; amd64 is v0.12.0's
        assert platforms_at(registry, path) == {**before[path], **upgrade[path]}
    for path in set(upgrade) - set(before):  # new tags get amd64 only
        assert platforms_at(registry, path) == upgrade[path]
    for path in set(before) - set(upgrade):  # tags the upgrade does not carry are left as they were
        assert platforms_at(registry, path) == before[path]
    assert_copy_all(registry, list(shared), tmp_path)


def test_same_arch_update_replaces_only_that_entry(registry: RegistryServer, demo_packages: list[Path],
                                                   tmp_path: Path) -> None:
    state = tmp_path / "state"
    amd, arm = pkg(demo_packages, "v0.11.0", "amd64"), pkg(demo_packages, "v0.11.0", "arm64")
    import_(registry, state, amd, arm)
    path = "metrics-server/metrics-server:v0.6.2"
    raw_before = skopeo_inspect_raw(f"{registry.host}/{path}", registry)
    # the same tag rebuilt: uncompressed layers give new digests for amd64
    rebuilt = write_sample_package(tmp_path / "rebuilt", "v0.11.0", "amd64", flavour="docker-legacy",
                                   charts=["metrics-server"])
    result = import_(registry, state, rebuilt)
    assert [e["action"] for e in result.of("image_done")] == ["update-arch"]
    raw_after = skopeo_inspect_raw(f"{registry.host}/{path}", registry)
    arm_before = [e for e in raw_before["manifests"] if e["platform"]["architecture"] == "arm64"]
    arm_after = [e for e in raw_after["manifests"] if e["platform"]["architecture"] == "arm64"]
    assert arm_after == arm_before
    amd_after = [e for e in raw_after["manifests"] if e["platform"]["architecture"] == "amd64"]
    assert amd_after[0]["digest"] == tags_of(scan(rebuilt, state))[path]["linux/amd64"]
    assert len(raw_after["manifests"]) == 2
    assert_copy_all(registry, [path], tmp_path)


def test_existing_index_keeps_foreign_platform_and_attestation_byte_for_byte(
    registry: RegistryServer, demo_packages: list[Path], tmp_path: Path
) -> None:
    state = tmp_path / "state"
    amd, arm = pkg(demo_packages, "v0.11.0", "amd64"), pkg(demo_packages, "v0.11.0", "arm64")
    import_(registry, state, arm)
    path = "metrics-server/metrics-server:v0.6.2"
    repo, tag = path.split(":")
    client = registry.client()
    arm_index = client.get_manifest(repo, tag)
    arm_entry = arm_index.parsed()["manifests"][0]
    # another tool added an s390x entry (pointing at the arm64 manifest, so it is fetchable) and an attestation
    s390x = {**arm_entry, "platform": {"architecture": "s390x", "os": "linux"}, "annotations": {"from": "elsewhere"}}
    attestation = {**arm_entry, "platform": {"architecture": "unknown", "os": "unknown"},
                   "annotations": {"vnd.docker.reference.digest": arm_entry["digest"],
                                   "vnd.docker.reference.type": "attestation-manifest"}}
    doc = {"schemaVersion": 2, "mediaType": mt.DOCKER_MANIFEST_LIST, "manifests": [arm_entry, s390x, attestation]}
    client.put_manifest(repo, tag, ManifestRef(canonical_json(doc), mt.DOCKER_MANIFEST_LIST))
    result = import_(registry, state, amd)
    assert [e["action"] for e in result.of("image_done") if e["destination"].endswith(path)] == ["add-arch"]
    raw = skopeo_inspect_raw(f"{registry.host}/{path}", registry)
    assert [json.dumps(e) for e in raw["manifests"][:3]] == [json.dumps(e) for e in (arm_entry, s390x, attestation)]
    assert raw["manifests"][3]["platform"] == {"architecture": "amd64", "os": "linux"}


def test_oci_layout_target_is_read_back_by_skopeo(demo_packages: list[Path], tmp_path: Path) -> None:
    state, layout = tmp_path / "state", tmp_path / "layout"
    amd, arm = pkg(demo_packages, "v0.11.0", "amd64"), pkg(demo_packages, "v0.11.0", "arm64")
    for package in (amd, arm):
        result = archfuse("import", package, "--registry", layout, "--yes", "--json", state_dir=state)
        assert result.code == 0, result.err
    from tests.fixtures.registry import skopeo

    for path in tags_of(scan(amd, state)):
        raw = json.loads(skopeo("inspect", "--raw", f"oci:{layout}:{path}").stdout)
        arches = sorted(e["platform"]["architecture"] for e in raw["manifests"])
        assert arches == ["amd64", "arm64"], path
        skopeo("copy", "--all", f"oci:{layout}:{path}", f"oci:{tmp_path / 'copy'}:{path.replace('/', '-')}")
    verify = archfuse("verify", amd, arm, "--registry", layout, "--json", state_dir=state)
    assert verify.code == 0 and verify.events[0]["ok"] is True


@pytest.mark.parametrize("variant", ["tls_registry", "token_registry"])
def test_import_with_auth_variants(variant: str, request: pytest.FixtureRequest, demo_packages: list[Path],
                                   tmp_path: Path) -> None:
    server: RegistryServer = request.getfixturevalue(variant)
    state = tmp_path / "state"
    amd, arm = pkg(demo_packages, "v0.11.0", "amd64"), pkg(demo_packages, "v0.11.0", "arm64")
    import_(server, state, amd)
    result = import_(server, state, arm)
    assert server.password and server.password not in result.out + result.err
    expected = tags_of(scan(amd, state))
    for path, by_platform in tags_of(scan(arm, state)).items():
        expected[path].update(by_platform)
    for path, by_platform in expected.items():
        assert platforms_at(server, path) == by_platform
    verify = archfuse("verify", amd, arm, *registry_args(server), "--json", state_dir=state, password=server.password)
    assert verify.code == 0, verify.out + verify.err


def test_wrong_password_is_one_clear_sentence(tls_registry: RegistryServer, demo_packages: list[Path],
                                              tmp_path: Path) -> None:
    result = archfuse("import", pkg(demo_packages, "v0.11.0", "amd64"), *registry_args(tls_registry), "--yes",
                      state_dir=tmp_path / "state", password="not-the-password")
    assert result.code == 3
    assert "not-the-password" not in result.out + result.err
    assert tls_registry.host in result.err and "Traceback" not in result.err
