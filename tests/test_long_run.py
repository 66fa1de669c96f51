"""A long run against a real registry that is not always there: garbage collection during the run,
resumed uploads, stalls and restarts (issue 20)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from core import events as ev
from core.demo.samples import write_sample_package
from core.errors import BlobUnknown, TargetError
from core.kinds import VerifyStatus
from core.oci.manifest import ManifestRef
from core.operations.verify import verify_images
from core.package.model import PackageIndex
from core.package.scan import scan_package
from core.plan.images import build_plan
from core.run.engine import ImportRun, RunOptions
from core.targets.registry import RegistryTarget
from tests.fixtures.registry import RegistryServer


class NoManifests(RegistryTarget):
    """A registry target whose manifest pushes fail: a run leaves only blobs behind."""

    def put_manifest(self, repository: str, reference: str, manifest: ManifestRef) -> None:
        raise TargetError("manifest pushes refused by the test")


class CountingTarget(RegistryTarget):
    """A registry target that counts manifest pushes refused for a blob the registry lacks."""

    refused = 0

    def put_manifest(self, repository: str, reference: str, manifest: ManifestRef) -> None:
        try:
            super().put_manifest(repository, reference, manifest)
        except BlobUnknown:
            self.refused += 1
            raise


def _blobs_only(registry: RegistryServer, tmp_path: Path) -> PackageIndex:
    """A package whose blobs (not its manifests, nor tags) the registry holds: a failed earlier run."""
    package = write_sample_package(tmp_path / "pkg", "v0.12.0", "amd64", payload=2 << 20)
    index = scan_package(package)
    target = NoManifests(registry.client(), registry.url)
    summary = ImportRun(build_plan([index], target), target).execute()
    assert summary.status == "failed" and "refused by the test" in summary.failures[0]
    return index


def _collect(registry: RegistryServer, repository: str, digest: str) -> None:
    """Take a blob out of a repository, as garbage collection does (distribution's blob delete)."""
    response = httpx.delete(f"{registry.url}/v2/{repository}/blobs/{digest}")
    assert response.status_code == 202, response.text


def _verified(index: PackageIndex, registry: RegistryServer) -> None:
    with registry.client() as client:
        checks = verify_images([index], RegistryTarget(client, registry.url))
    assert checks and {c.status for c in checks} == {VerifyStatus.OK}, checks


def _planned_then_collected(
    registry: RegistryServer, tmp_path: Path, target: RegistryTarget
) -> tuple[PackageIndex, Any]:
    index = _blobs_only(registry, tmp_path)
    plan = build_plan([index], target)
    assert not plan.blobs  # the plan found every blob on the target
    image = plan.images[0]
    layer = image.image.layers[-1]
    _collect(registry, image.repository, layer.digest)
    return index, plan


def test_a_blob_collected_between_plan_and_manifest_push_is_uploaded_again(
    registry: RegistryServer, tmp_path: Path
) -> None:
    target = CountingTarget(registry.client(), registry.url)
    index, plan = _planned_then_collected(registry, tmp_path, target)
    events: list[ev.Event] = []
    summary = ImportRun(plan, target, emit=events.append).execute()
    assert summary.status == "done", summary.failures
    assert target.refused == 1  # the registry named the blob; it went up again and the push was retried
    assert any(isinstance(e, ev.Warning) and "gone (garbage collection?)" in e.message for e in events)
    _verified(index, registry)


def test_blobs_the_plan_saw_long_ago_are_looked_at_again_before_the_manifest(
    registry: RegistryServer, tmp_path: Path
) -> None:
    target = CountingTarget(registry.client(), registry.url)
    index, plan = _planned_then_collected(registry, tmp_path, target)
    summary = ImportRun(plan, target, options=RunOptions(recheck_after=0.0)).execute()
    assert summary.status == "done", summary.failures
    assert target.refused == 0  # found missing by the look before the push, not by the push
    _verified(index, registry)
