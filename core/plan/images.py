"""The plan: what an import will do to each tag and blob, worked out without writing anything."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from core.errors import ArchfuseError, PackageError
from core.helpers.parallel import DEFAULT_JOBS, SMALL_BLOB, parallel_map, round_trips
from core.helpers.versions import version_key
from core.jsonable import json_fields
from core.kinds import ImageAction
from core.oci import fusion
from core.oci.manifest import ManifestRef
from core.oci.platform import Platform
from core.oci.refs import ImageRef, destination
from core.package.model import BlobRecord, ChartRecord, ImageRecord, PackageIndex
from core.targets.base import Target

LOOKUP_WORKERS = 16


@dataclass
class ImagePlan:
    """One image of one package, for one platform, at one destination tag."""

    ref: str
    platform: str
    repository: str
    tag: str
    destination: str
    digest: str
    package: str
    image: ImageRecord
    action: ImageAction = ImageAction.NEW  # until build_plan has read the target
    upload_bytes: int = 0
    platforms_before: tuple[str, ...] = ()
    platforms_after: tuple[str, ...] = ()
    error: str = ""

    @property
    def manifest(self) -> ManifestRef:
        return self.image.manifest

    def to_json(self) -> dict[str, object]:
        names = ("ref", "platform", "destination", "action", "digest", "package", "upload_bytes",
                 "platforms_before", "platforms_after")
        return json_fields(self, names, if_set=("error",))


@dataclass
class TagPlan:
    """Everything the run writes to one tag: the merge of its platforms into what is there."""

    repository: str
    tag: str
    images: list[ImagePlan]
    current: ManifestRef | None = None
    result: fusion.MergeResult | None = None

    @property
    def additions(self) -> list[fusion.Addition]:
        return [fusion.Addition(i.manifest, Platform.parse(i.platform)) for i in self.images]

    @property
    def changed(self) -> bool:
        return bool(self.result and self.result.changed)


@dataclass
class BlobNeed:
    """A blob some repositories of the target lack, and where the package holds it.

    ``source`` is a repository of the target that holds the blob already (found by the plan, or
    uploaded while the scan read the package): the run mounts it from there and reads nothing.
    """

    blob: BlobRecord
    package: str
    bundle: str
    repositories: set[str] = field(default_factory=set)
    source: str = ""

    @property
    def upload(self) -> bool:
        """True when the run reads the blob from the package (nothing on the target to mount)."""
        return not self.source


@dataclass
class Plan:
    target: str
    packages: list[PackageIndex]
    tags: list[TagPlan]
    blobs: dict[str, BlobNeed]  # digest -> need
    #: when (``time.monotonic()``) the plan looked at the target: blobs it found were there then
    planned_at: float = field(default_factory=time.monotonic)

    @property
    def images(self) -> list[ImagePlan]:
        return [image for tag in self.tags for image in tag.images]

    @property
    def bytes_to_upload(self) -> int:
        return sum(need.blob.size for need in self.blobs.values() if need.upload)

    def counts(self) -> dict[ImageAction, int]:
        return dict(Counter(image.action for image in self.images))

    def to_json(self) -> dict[str, object]:
        return {
            "target": self.target,
            "images": [i.to_json() for i in self.images],
            "bytes_to_upload": self.bytes_to_upload,
            "counts": self.counts(),
        }


def group_images(packages: Iterable[PackageIndex], prefix: str, host: str) -> list[TagPlan]:
    """Group every image of the packages by destination tag; per platform the newest version wins."""
    tags: dict[tuple[str, str], dict[str, ImagePlan]] = {}
    for package in sorted(packages, key=lambda p: version_key(p.version)):
        for image in package.images:
            for ref in image.refs:
                dest = _destination(package, ref, prefix)
                key = (dest.path, dest.tag)
                slot = tags.setdefault(key, {})
                slot[_platform_key(image.platform)] = ImagePlan(
                    ref=ref,
                    platform=image.platform,
                    repository=dest.path,
                    tag=dest.tag,
                    destination=f"{host}/{dest.path}:{dest.tag}",
                    digest=image.digest,
                    package=package.path,
                    image=image,
                )
    return [TagPlan(repo, tag, list(by_platform.values())) for (repo, tag), by_platform in sorted(tags.items())]


def _platform_key(platform: str) -> str:
    """One key per platform a tag can hold: arm64 is arm64/v8, arm is arm/v7 (see Platform.matches)."""
    return str(Platform.parse(platform).normalized())


def _destination(package: PackageIndex, ref: str, prefix: str) -> ImageRef:
    """Where ``ref`` lands, or PackageError when the package names an image in a way no tag can hold."""
    try:
        dest = destination(ref, prefix)
    except ValueError:
        raise PackageError(
            f"{package.name}: image {ref!r} (RepoTags in {_bundle_of(package, ref)}) is not a valid image reference."
        ) from None
    if not dest.tag:
        raise PackageError(
            f"{package.name}: image {ref!r} (RepoTags in {_bundle_of(package, ref)}) names a digest but no tag; "
            "archfuse pushes images to tags."
        )
    return dest


def _bundle_of(package: PackageIndex, ref: str) -> str:
    return next((i.bundle for i in package.images if ref in i.refs), "images.tar")


def build_plan(
    packages: list[PackageIndex],
    target: Target,
    *,
    prefix: str = "",
    jobs: int = DEFAULT_JOBS,
    sources: Mapping[str, str] | None = None,
) -> Plan:
    """Read the target's tags and blobs (:func:`round_trips` reads at once) and decide each image's action.

    ``sources`` names repositories known to hold blobs (digest -> repository; core.run.stage
    uploads blobs while scanning): a blob a repository lacks is mounted from there, not uploaded.
    """
    tags = group_images(packages, prefix, target.host)
    target.prepare(sorted({t.repository for t in tags}), ())
    reads = round_trips(jobs)
    parallel_map(lambda t: _plan_tag(t, target), tags, reads, name="archfuse-plan")
    return plan_blobs(packages, tags, target, prefix=prefix, jobs=jobs, sources=sources)


def plan_blobs(
    packages: list[PackageIndex],
    tags: list[TagPlan],
    target: Target,
    *,
    prefix: str = "",
    jobs: int = DEFAULT_JOBS,
    sources: Mapping[str, str] | None = None,
) -> Plan:
    """The plan of ``tags`` whose actions are decided: the blobs the images the run writes need, and
    where each is read from (a repository to mount from, or the package)."""
    reads = round_trips(jobs)
    blobs = _missing_blobs(tags, target, reads, sources or {})
    _find_in_bundle(blobs, packages, prefix, target, reads)
    for tag in tags:
        for image in tag.images:
            image.upload_bytes = sum(
                blobs[b.digest].blob.size
                for b in image.image.blobs()
                if b.digest in blobs and blobs[b.digest].upload and image.repository in blobs[b.digest].repositories
            )
    return Plan(target.description, packages, tags, blobs)


def _plan_tag(tag: TagPlan, target: Target) -> None:
    tag.current = target.get_manifest(tag.repository, tag.tag)
    platform_of = fusion.config_platform_reader(lambda digest: target.get_blob(tag.repository, digest))
    try:
        tag.result = fusion.merge(tag.current, tag.additions, platform_of)
    except ArchfuseError as err:
        for image in tag.images:
            image.action, image.error = ImageAction.ERROR, str(err)
        return
    for image in tag.images:
        image.action = tag.result.actions.get(image.platform, ImageAction.UNCHANGED)
        image.platforms_before = tag.result.platforms_before
        image.platforms_after = tag.result.platforms_after
    _find_dangling(tag, target)


def _find_dangling(tag: TagPlan, target: Target) -> None:
    """Index entries whose manifest the registry no longer holds (deleted by digest, or collected).

    Looked for where it matters: each entry naming a manifest the run carries unchanged (the run
    stores it again: ``repair``), and, when the run writes the tag, every entry it keeps — the
    registry refuses an index naming a manifest it lacks, so the tag's images fail in the plan,
    naming the lost entry, rather than in the run ("blob unknown").
    """
    assert tag.result is not None
    index = tag.result.manifest if tag.changed else tag.current
    if index is None or not index.is_index:
        return
    carried = {image.digest: image for image in tag.images}
    lost: list[str] = []
    for entry in index.parsed().get("manifests", []):
        digest = str(entry.get("digest", ""))
        image = carried.get(digest)
        if image is None and not tag.changed:
            continue  # neither written nor carried by this run
        if image is not None and image.action != ImageAction.UNCHANGED:
            continue  # the run stores it anyway
        if target.get_manifest(tag.repository, digest) is not None:
            continue
        if image is not None:
            image.action = tag.result.actions[image.platform] = ImageAction.REPAIR
        else:
            platform = fusion.entry_platform(entry)
            lost.append(f"{platform or 'an attestation'} ({digest})")
    if lost:
        error = (
            f"the index names {', '.join(lost)}, which the registry no longer holds (a dangling entry); "
            "the registry refuses an index naming a manifest it lacks, so the tag cannot be written: "
            "import the package of that platform with this one, or push that image again first."
        )
        for image in tag.images:
            image.action, image.error = ImageAction.ERROR, error


def _missing_blobs(
    tags: list[TagPlan], target: Target, jobs: int, sources: Mapping[str, str]
) -> dict[str, BlobNeed]:
    wanted: dict[tuple[str, str], tuple[BlobRecord, ImagePlan]] = {}
    for tag in tags:
        for image in tag.images:
            if image.action in (ImageAction.UNCHANGED, ImageAction.ERROR):
                continue
            for blob in image.image.blobs():
                wanted.setdefault((image.repository, blob.digest), (blob, image))
    keys = list(wanted)
    known = {(repository, digest) for digest, repository in sources.items()}  # put there this session

    def present_at(key: tuple[str, str]) -> bool:
        repository, digest = key
        if key in known:
            return True
        if _same_space(sources.get(digest, ""), repository):
            # put into a repository of the same space this session: mounted without asking first
            # (a mount of a blob the repository holds already changes nothing, and costs what asking costs)
            return False
        return target.blob_exists(repository, digest)

    present = parallel_map(present_at, keys, jobs, name="archfuse-plan")
    held = dict(sources)  # digest -> a repository holding it, to mount from
    for (repository, digest), have in zip(keys, present):
        if have:
            held.setdefault(digest, repository)
    needs: dict[str, BlobNeed] = {}
    for key, have in zip(keys, present):
        if have:
            continue
        blob, image = wanted[key]
        need = needs.setdefault(
            blob.digest, BlobNeed(blob, image.package, image.image.bundle, source=held.get(blob.digest, ""))
        )
        need.repositories.add(key[0])
    return needs


def _same_space(source: str, repository: str) -> bool:
    """Both repositories in one registry space (a Harbor project: the first path segment), where a
    mount from one into the other is allowed as surely as the upload was."""
    return bool(source) and source.split("/", 1)[0] == repository.split("/", 1)[0]


def landing_repositories(chart: ChartRecord, prefix: str = "") -> tuple[str, ...]:
    """The repositories of the images a bundle's hints name, in hint order: a cold import's one read
    uploads the bundle's blobs to the first (core.run.stage)."""
    repositories: list[str] = []
    for ref in chart.images:
        try:
            path = destination(ref, prefix).path
        except ValueError:
            continue  # the scan refuses the package for it
        if path not in repositories:
            repositories.append(path)
    return tuple(repositories)


def _find_in_bundle(
    needs: dict[str, BlobNeed], packages: list[PackageIndex], prefix: str, target: Target, jobs: int
) -> None:
    """A large blob still to upload may be in its bundle's first repository already: where a cold
    import's one read put it (core.run.stage) before the run was stopped or refused. That repository
    is asked (HEAD), and the blob is mounted from there if it holds it. Small blobs are not looked
    for: uploading one again costs about what asking costs."""
    landing = {
        (package.path, chart.bundle): repositories[0]
        for package in packages
        for chart in package.charts
        if (repositories := landing_repositories(chart, prefix))
    }
    probes = [
        (landing[key], need)
        for need in needs.values()
        if need.upload and need.blob.size > SMALL_BLOB
        and (key := (need.package, need.bundle)) in landing and landing[key] not in need.repositories
    ]
    held = parallel_map(lambda p: target.blob_exists(p[0], p[1].blob.digest), probes, jobs, name="archfuse-plan")
    for (repository, need), have in zip(probes, held):
        if have:
            need.source = repository
