"""Verify across sites: every tag of the packages, at each site, as the import left it (read only).

Per site, tag and platform: the tag serves the platform (else ``lost-platform``, or ``missing-tag``),
by the package's manifest (else ``stale``), the registry holds that manifest (else ``missing-child``)
and every blob of it with its size (else ``missing-blob``); a tag right in every platform whose index
is not the hub's (the first site's, when right there) is ``other-index``. Chart versions: present with
the package's content (``missing-chart``, ``other-chart``). A site that does not answer is
``unreachable``. Safe from cron: nothing is written to a site (the session puts the matrix into each
site's newest import report).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from core.charts.protocol import ChartDestination
from core.errors import ArchfuseError
from core.helpers.parallel import DEFAULT_JOBS, parallel_map, round_trips
from core.jsonable import json_fields
from core.kinds import ChartAction, Fault
from core.oci import fusion
from core.oci.platform import Platform
from core.package.model import PackageIndex
from core.plan.charts import plan_charts
from core.plan.images import ImagePlan, TagPlan, group_images
from core.targets.base import Target
from core.terminal import printable_lines

OK = "ok"
#: the column of a tag-level cell (a chart version; a site that did not answer)
CHART = "chart"
WHOLE_SITE = "*"


@runtime_checkable
class SizesBlobs(Protocol):
    """A target that says the size it serves a blob with (a registry's HEAD, a layout's file)."""

    def blob_size(self, repository: str, digest: str) -> int | None: ...


@dataclass(frozen=True)
class SiteView:
    """One site as verify reads it: its name, its image target, its chart destination and prefix."""

    name: str
    target: Target
    charts: ChartDestination | None = None
    prefix: str = ""


@dataclass(frozen=True)
class SiteCell:
    """One site × tag × platform (or chart version) of the matrix: ``ok`` or the fault found."""

    site: str
    tag: str  # repository:tag, or the chart's name-version
    platform: str  # or "chart"
    status: str  # "ok" or a Fault word
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status == OK

    def to_json(self) -> dict[str, object]:
        return json_fields(self, ("site", "tag", "platform", "status", "detail"))


@dataclass
class SitesReport:
    """The site × tag × platform matrix."""

    sites: list[str]
    cells: list[SiteCell] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.cells)

    @property
    def faults(self) -> list[SiteCell]:
        return [c for c in self.cells if not c.ok]

    def rows(self) -> list[tuple[str, str]]:
        """(tag, platform) in the order first seen: the matrix's rows (a site that did not answer has none)."""
        return list(dict.fromkeys((c.tag, c.platform) for c in self.cells if c.tag != WHOLE_SITE))

    def status(self, site: str, tag: str, platform: str) -> str:
        """A cell's word; every cell of a site that did not answer is ``unreachable``."""
        wanted = ((site, tag, platform), (site, WHOLE_SITE, WHOLE_SITE))
        return next((c.status for c in self.cells if (c.site, c.tag, c.platform) in wanted), "")

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "sites": self.sites,
            "matrix": [{"tag": t, "platform": p, "sites": {s: self.status(s, t, p) for s in self.sites}}
                       for t, p in self.rows()],
            "faults": [c.to_json() for c in self.faults],
        }

    def render_text(self) -> str:
        rows = self.rows()
        tag_width = max([len("tag"), *(len(t) for t, _ in rows)])
        platform_width = max([len("platform"), *(len(p) for _, p in rows)])
        widths = [max(len(s), *(len(self.status(s, t, p)) for t, p in rows)) if rows else len(s) for s in self.sites]

        def line(tag: str, platform: str, cells: Iterable[str]) -> str:
            return "  ".join([tag.ljust(tag_width), platform.ljust(platform_width),
                              *(c.ljust(w) for c, w in zip(cells, widths))]).rstrip()

        lines = [line("tag", "platform", self.sites)]
        lines += [line(t, p, (self.status(s, t, p) for s in self.sites)) for t, p in rows]
        faults = self.faults
        lines += [f"  [{c.status}] {c.site}: {c.tag} {c.platform}" + (f": {c.detail}" if c.detail else "") for c in faults]
        total = len(self.cells)
        lines.append(f"verify across {len(self.sites)} site(s): {total - len(faults)}/{total} ok"
                     + ("; a repair puts back what the packages hold." if faults else "."))
        return printable_lines(lines)


def verify_sites(
    packages: list[PackageIndex], sites: list[SiteView], *, state_dir: Path, jobs: int = DEFAULT_JOBS
) -> SitesReport:
    """Read every site (at once) and build the matrix; the first site is the hub others are compared with."""
    report = SitesReport([s.name for s in sites])
    if not sites:
        return report
    hub_cells, hub_index = _check_site(packages, sites[0], {}, state_dir, jobs)
    rest = parallel_map(lambda site: _check_site(packages, site, hub_index, state_dir, jobs)[0], sites[1:],
                        len(sites), name="archfuse-sites")
    for cells in [hub_cells, *rest]:
        report.cells.extend(cells)
    return report


def _check_site(
    packages: list[PackageIndex], site: SiteView, hub_index: dict[str, str], state_dir: Path, jobs: int
) -> tuple[list[SiteCell], dict[str, str]]:
    """One site's cells, and the index digest of each of its tags found right (``repository:tag``)."""
    tags = group_images(packages, site.prefix, site.target.host)
    try:
        checked = parallel_map(lambda tag: _check_tag(site, tag, hub_index), tags, round_trips(jobs),
                               name="archfuse-sites")
        cells = [cell for tag_cells, _ in checked for cell in tag_cells]
        right = {f"{t.repository}:{t.tag}": digest for t, (_, digest) in zip(tags, checked) if digest}
        if site.charts is not None and any(p.charts for p in packages):
            plans = plan_charts(packages, site.charts, host=site.target.host, prefix=site.prefix, state_dir=state_dir)
            status = {ChartAction.UNCHANGED: OK, ChartAction.NEW: Fault.MISSING_CHART, ChartAction.CONFLICT: Fault.OTHER_CHART}
            cells += [SiteCell(site.name, f"{p.name}-{p.version}", CHART, status.get(p.action, Fault.OTHER_CHART),
                               p.error or ("" if p.action == ChartAction.UNCHANGED else p.destination))
                      for p in plans]
    except ArchfuseError as err:
        return [SiteCell(site.name, WHOLE_SITE, WHOLE_SITE, Fault.UNREACHABLE, str(err))], {}
    return cells, right


def _check_tag(site: SiteView, tag: TagPlan, hub_index: dict[str, str]) -> tuple[list[SiteCell], str]:
    """The cells of one tag at one site, and its index digest when every platform is right."""
    name = f"{tag.repository}:{tag.tag}"
    target = site.target
    current = target.get_manifest(tag.repository, tag.tag)
    platform_of = fusion.config_platform_reader(lambda d: target.get_blob(tag.repository, d))
    found = [(image, _check_image(target, current, image, platform_of)) for image in tag.images]
    if current is not None and all(status == OK for _, (status, _) in found):
        hub = hub_index.get(name)
        if hub is not None and hub != current.digest:
            detail = f"{name} is the index {current.digest}, the hub's is {hub} (the same platform manifests)"
            found = [(image, (Fault.OTHER_INDEX, detail)) for image, _ in found]
    cells = [SiteCell(site.name, name, image.platform, status, detail) for image, (status, detail) in found]
    right = current.digest if current is not None and all(c.ok for c in cells) else ""
    return cells, right


def _check_image(
    target: Target, current: Any, image: ImagePlan, platform_of: fusion.PlatformOf
) -> tuple[str, str]:
    """One platform of a tag: ``ok`` or the fault, with a sentence."""
    where = f"{image.repository}:{image.tag}"
    if current is None:
        return Fault.MISSING_TAG, f"{where} does not exist"
    served = fusion.served_digest(current, Platform.parse(image.platform), platform_of)
    if served is None:
        have = ", ".join(fusion.current_platforms(current, platform_of)) or "nothing"
        return Fault.LOST_PLATFORM, f"{where} serves {have}, not {image.platform}"
    if served != image.digest:
        return Fault.STALE, f"{where} serves {image.platform} as {served}, the package has {image.digest}"
    if current.is_index and target.get_manifest(image.repository, image.digest) is None:
        return Fault.MISSING_CHILD, f"{where} names {image.digest} ({image.platform}), which the registry lost"
    for blob in image.image.blobs():
        size = target.blob_size(image.repository, blob.digest) if isinstance(target, SizesBlobs) else (
            -1 if target.blob_exists(image.repository, blob.digest) else None)
        if size is None:
            return Fault.MISSING_BLOB, f"blob {blob.digest} of {image.platform} is missing from {image.repository}"
        if size not in (-1, blob.size):
            return Fault.MISSING_BLOB, f"blob {blob.digest} of {image.platform} is {size} bytes, not {blob.size}"
    return OK, ""
