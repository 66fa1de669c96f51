"""Repair: put back what a target lost of the packages' images, by the import's own path.

``verify --repair`` plans an import of the packages (core.plan.images: read each tag, merge, find
dangling index entries), then also looks at the blobs of every image the plan would leave as it is
(a deleted blob leaves the tag looking right). What it puts back, per platform of a tag:

* ``missing-child``: the index names a platform manifest the registry lost: stored again from the package;
* ``missing-blob``: a blob of a platform manifest is gone: uploaded again, the manifest stored again;
* ``lost-platform``: the tag was flattened (an index lost a platform, or a single manifest replaced it):
  merged back (core.oci.fusion), every other entry kept;
* ``stale``: the tag serves a platform by another (older) manifest than the package's: that entry replaced;
* ``missing-tag``: the tag is gone: written again;
* ``other-index`` (several sites): every platform is right, but the index is not the hub's: the hub's
  index is written, byte for byte, when the site holds every manifest it names.

Tags found right are left out of the run entirely: nothing is read from the package for them and they
are not written. The repair is a journaled run (kind ``repair``): history shows it and ``rollback``
puts back the tags it moved. A chart version the chart repository lost is pushed again; one holding
other content is left alone (the import's ``force`` decides that).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core import events as ev
from core.charts.protocol import ChartDestination
from core.helpers.parallel import DEFAULT_JOBS, parallel_map, round_trips
from core.jsonable import json_fields
from core.kinds import ChartAction, Fault, ImageAction, RunKind
from core.oci import fusion
from core.oci.manifest import ManifestRef
from core.package.model import PackageIndex
from core.plan.charts import ChartJob, ChartPlan
from core.plan.images import ImagePlan, Plan, TagPlan, build_plan, plan_blobs
from core.plan.results import RunSummary
from core.run.engine import RunOptions
from core.run.lifecycle import journaled_run
from core.targets.base import Target
from core.terminal import printable_lines
from core.units import size_text

#: the plan's action for an image, as the fault it repairs (REPAIR is a missing child or blob: see _fault)
_FAULT_OF: dict[ImageAction, Fault] = {
    ImageAction.NEW: Fault.MISSING_TAG,
    ImageAction.ADD_ARCH: Fault.LOST_PLATFORM,
    ImageAction.UPDATE_ARCH: Fault.STALE,
}


@dataclass(frozen=True)
class RepairItem:
    """One platform of one tag the repair puts back, and what it found wrong."""

    destination: str
    platform: str
    fault: Fault
    digest: str  # the package's manifest for the platform
    detail: str = ""

    def to_json(self) -> dict[str, object]:
        return json_fields(self, ("destination", "platform", "fault", "digest", "detail"))


@dataclass
class RepairPlan:
    """What a repair puts back on one target; writes nothing."""

    target: str
    plan: Plan  # the import plan of the tags to repair only
    items: list[RepairItem] = field(default_factory=list)
    cannot: list[RepairItem] = field(default_factory=list)  # found wrong, but not repairable from the packages
    charts: list[ChartPlan] = field(default_factory=list)  # chart versions the chart repository lost
    right: int = 0  # tags found right (left alone)
    #: what each tag found right holds (``repository:tag``): the indexes other sites take from the hub
    indexes: dict[str, ManifestRef] = field(default_factory=dict, repr=False)

    @property
    def empty(self) -> bool:
        return not self.items and not self.charts

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "repairs": [i.to_json() for i in self.items],
            "cannot": [i.to_json() for i in self.cannot],
            "charts": [{"name": c.name, "version": c.version, "destination": c.destination, "fault": Fault.MISSING_CHART}
                       for c in self.charts],
            "tags_right": self.right,
            "bytes_to_upload": self.plan.bytes_to_upload,
        }

    def render_text(self) -> str:
        if self.empty and not self.cannot:
            return f"Nothing to repair on {self.target}: every tag of the packages is right ({self.right})."
        lines = [f"repair {self.target}: {len(self.items)} platform(s) of {len(self.plan.tags)} tag(s) to put back, "
                 f"{size_text(self.plan.bytes_to_upload)} to upload from the packages; {self.right} tag(s) right, left alone"]
        lines += [f"  [{i.fault}] {i.destination} {i.platform}" + (f": {i.detail}" if i.detail else "") for i in self.items]
        lines += [f"  [{Fault.MISSING_CHART}] chart {c.name}-{c.version}: pushed again to {c.destination}" for c in self.charts]
        if self.cannot:
            lines.append(f"  cannot repair ({len(self.cannot)}):")
            lines += [f"    {i.destination} {i.platform}: {i.detail}" for i in self.cannot]
        return printable_lines(lines)


def plan_repair(
    packages: list[PackageIndex],
    target: Target,
    *,
    prefix: str = "",
    jobs: int = DEFAULT_JOBS,
    charts: list[ChartPlan] | None = None,
    hub: Mapping[str, ManifestRef] | None = None,
) -> RepairPlan:
    """What putting back the packages' images (and the chart versions of ``charts`` that are missing) on
    ``target`` takes; reads only. ``hub``: the indexes of the tags right at the hub (its plan's
    ``indexes``), for a tag right here in every platform but by another index."""
    full = build_plan(packages, target, prefix=prefix, jobs=jobs)
    lost_blobs = _lost_blobs(full, target, round_trips(jobs))
    items: list[RepairItem] = []
    cannot: list[RepairItem] = []
    tags: list[TagPlan] = []
    for tag in full.tags:
        broken = False
        for image in tag.images:
            if image.action == ImageAction.ERROR:
                cannot.append(RepairItem(image.destination, image.platform, Fault.MISSING_CHILD, image.digest, image.error))
                continue
            blobs = lost_blobs.get(id(image), [])
            if blobs and tag.result is not None:
                image.action = tag.result.actions[image.platform] = ImageAction.REPAIR
            if image.action == ImageAction.UNCHANGED:
                continue
            broken = True
            items.append(RepairItem(image.destination, image.platform, *_fault(image, blobs)))
        errors = any(i.action == ImageAction.ERROR for i in tag.images)
        if not broken and not errors and hub is not None:
            broken = _take_hub_index(tag, hub.get(f"{tag.repository}:{tag.tag}"), target, items, cannot)
        if broken and not errors:
            tags.append(tag)
    plan = plan_blobs(packages, tags, target, prefix=prefix, jobs=jobs)
    missing_charts = [c for c in charts or [] if c.action == ChartAction.NEW]
    right = [t for t in full.tags if t not in tags and not any(i.action == ImageAction.ERROR for i in t.images)]
    indexes = {f"{t.repository}:{t.tag}": t.current for t in right if t.current is not None}
    return RepairPlan(target.description, plan, items, cannot, missing_charts, len(right), indexes)


def _take_hub_index(
    tag: TagPlan, index: ManifestRef | None, target: Target, items: list[RepairItem], cannot: list[RepairItem]
) -> bool:
    """A tag right in every platform whose index is not the hub's ``index``: planned to take the hub's, byte
    for byte (True), when this site holds every manifest that index names; else said in ``cannot``."""
    if index is None or tag.current is None or tag.current.digest == index.digest or not index.is_index:
        return False
    name = f"{target.host}/{tag.repository}:{tag.tag}"
    lacking = [str(e.get("digest")) for e in index.parsed().get("manifests", [])
               if target.get_manifest(tag.repository, str(e.get("digest"))) is None]
    if lacking:
        cannot.append(RepairItem(name, "", Fault.OTHER_INDEX, index.digest,
                                 f"the hub's index names {lacking[0]}, which this site lacks: import its package here"))
        return False
    after = tuple(str(p) for p in fusion.index_platforms(index.parsed()))
    tag.result = fusion.MergeResult(index, {i.platform: ImageAction.REPAIR for i in tag.images},
                                    tag.images[0].platforms_before, after)
    for image in tag.images:
        image.action = ImageAction.REPAIR
    items.append(RepairItem(name, "index", Fault.OTHER_INDEX, index.digest,
                            f"every platform is right, but the index is {tag.current.digest}: the hub's is written"))
    return True


def _lost_blobs(plan: Plan, target: Target, jobs: int) -> dict[int, list[str]]:
    """Per image the plan leaves as it is (by ``id``), the digests of its blobs its repository lacks."""
    looks = [(image, blob.digest) for image in plan.images if image.action == ImageAction.UNCHANGED
             for blob in image.image.blobs()]
    there = parallel_map(lambda look: target.blob_exists(look[0].repository, look[1]), looks, jobs,
                         name="archfuse-repair")
    lost: dict[int, list[str]] = {}
    for (image, digest), found in zip(looks, there):
        if not found:
            lost.setdefault(id(image), []).append(digest)
    return lost


def _fault(image: ImagePlan, blobs: list[str]) -> tuple[Fault, str, str]:
    """The fault an image's planned action repairs, the package's digest, and a sentence on what is put back."""
    if blobs:
        return Fault.MISSING_BLOB, image.digest, f"{len(blobs)} blob(s) gone (e.g. {blobs[0]}): uploaded again"
    if image.action == ImageAction.REPAIR:
        return Fault.MISSING_CHILD, image.digest, f"the index names {image.digest}, which the registry lost: stored again"
    fault = _FAULT_OF.get(image.action, Fault.MISSING_TAG)
    serves = ", ".join(image.platforms_before) or "nothing"
    sentence = {
        Fault.MISSING_TAG: "the tag is gone: written again",
        Fault.LOST_PLATFORM: f"the tag serves {serves} only: the platform is merged back",
        Fault.STALE: f"the tag serves it by another manifest: pointed at {image.digest} again",
    }[fault]
    return fault, image.digest, sentence


def repair_run(
    plan: RepairPlan,
    target: Target,
    *,
    state_dir: Path,
    charts: ChartDestination | None = None,
    options: RunOptions | None = None,
    settings: dict[str, Any] | None = None,
    secrets: tuple[str, ...] = (),
    emit: ev.Emit = ev.discard,
    cancel: threading.Event | None = None,
) -> RunSummary:
    """Carry out an agreed repair: the import run of its tags (and missing charts), journaled as a repair."""
    job = ChartJob(plan.charts, charts) if charts is not None and plan.charts else None
    return journaled_run(plan.plan, target, state_dir=state_dir, charts=job, options=options,
                         settings={**(settings or {}), "repair": True}, secrets=secrets, emit=emit, cancel=cancel,
                         kind=RunKind.REPAIR)
