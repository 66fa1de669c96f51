"""Verify: the target holds every image of the packages, with its platform, and every blob."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from core.jsonable import json_fields
from core.kinds import VerifyStatus
from core.oci import fusion
from core.oci.platform import Platform
from core.package.model import PackageIndex
from core.plan.images import LOOKUP_WORKERS, ImagePlan, group_images
from core.targets.base import Target


@dataclass(frozen=True)
class ImageCheck:
    ref: str
    platform: str
    destination: str
    status: VerifyStatus
    detail: str = ""

    def to_json(self) -> dict[str, object]:
        return json_fields(self, ("ref", "platform", "destination", "status", "detail"))


def verify_images(packages: list[PackageIndex], target: Target, *, prefix: str = "") -> list[ImageCheck]:
    """Check each image and platform of ``packages`` against what the target's tags hold."""
    tags = group_images(packages, prefix, target.host)
    images = [image for tag in tags for image in tag.images]
    with ThreadPoolExecutor(LOOKUP_WORKERS) as pool:
        return list(pool.map(lambda image: _verify_one(image, target), images))


def _verify_one(image: ImagePlan, target: Target) -> ImageCheck:
    def check(status: VerifyStatus, detail: str = "") -> ImageCheck:
        return ImageCheck(image.ref, image.platform, image.destination, status, detail)

    current = target.get_manifest(image.repository, image.tag)
    if current is None:
        return check(VerifyStatus.MISSING_TAG, f"{image.destination} does not exist")
    wanted = Platform.parse(image.platform)
    if current.is_index:
        entries = [
            e for e in current.parsed().get("manifests", [])
            if (p := fusion.entry_platform(e)) is not None and p.matches(wanted)
        ]
        if not entries:
            have = ", ".join(str(p) for p in fusion.index_platforms(current.parsed())) or "none"
            return check(VerifyStatus.MISSING_PLATFORM, f"{image.destination} serves {have}, not {image.platform}")
        digest = str(entries[0].get("digest"))
    else:
        digest = current.digest
    if digest != image.digest:
        return check(VerifyStatus.OTHER_DIGEST, f"{image.destination} serves {image.platform} as {digest}, the package has {image.digest}")
    if current.is_index and target.get_manifest(image.repository, digest) is None:
        return check(VerifyStatus.MISSING_CHILD, f"{image.destination} names {digest} for {image.platform}, "
                                                 f"a manifest {image.repository} no longer holds")
    for blob in image.image.blobs():
        if not target.blob_exists(image.repository, blob.digest):
            return check(VerifyStatus.MISSING_BLOB, f"blob {blob.digest} is missing from {image.repository}")
    return check(VerifyStatus.OK)
