"""Arch coverage (fusion side): warn before an import leaves tags serving fewer architectures.

Selecting v0.11.0 amd64 with v0.10.0 arm64, or importing only amd64 of a new version into a target
whose tags serve amd64 and arm64, writes tags that serve amd64 only: arm64 nodes then cannot pull
the upgraded images. Judged per repository (vendor arm64 packages legitimately carry fewer
charts): a tag the plan creates or updates should serve every platform that the repository's
other tags in the target serve, and every platform other packages of the same run bring to that
repository.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from core.checks.base import Check, CheckContext, Preflight
from core.errors import ArchfuseError
from core.helpers.parallel import DEFAULT_JOBS, parallel_map, round_trips
from core.helpers.versions import version_key
from core.kinds import CheckKind, CheckStatus, ImageAction
from core.oci import fusion
from core.oci.platform import Platform, normalize_arch
from core.oci.refs import destination
from core.package.model import PackageIndex
from core.plan.images import Plan, TagPlan
from core.targets.base import Target

OTHER_TAGS_READ = 8  # the newest other tags of a repository read for the platforms they serve
WRITES = (ImageAction.NEW, ImageAction.ADD_ARCH, ImageAction.UPDATE_ARCH)


@dataclass
class _Gap:
    """Tags that will lack one platform their repositories serve elsewhere."""

    platform: str
    tags: list[TagPlan] = field(default_factory=list)
    versions: set[str] = field(default_factory=set)  # versions of the packages writing those tags


def coverage_step(context: CheckContext, result: Preflight) -> Iterator[Check]:
    """The preflight step: arch coverage of a plan that fuses (see :func:`check_arch_coverage`)."""
    if result.plan is not None and not result.failed_any(CheckKind.FUSION):
        available = list(context.options.available or context.packages)
        yield from check_arch_coverage(result.plan, context.target, available, jobs=round_trips(context.jobs))


def check_arch_coverage(
    plan: Plan, target: Target, available: list[PackageIndex] | None = None, *, jobs: int = round_trips(DEFAULT_JOBS)
) -> list[Check]:
    """One warning per platform some written tags will lack; none when every tag is covered.

    ``available`` are the packages the engineer gave, selected or not: one outside the plan that
    would fill a gap is named.
    """
    by_repository: dict[str, list[TagPlan]] = {}
    for tag in plan.tags:
        by_repository.setdefault(tag.repository, []).append(tag)
    written = {r: [t for t in tags if _writes(t)] for r, tags in by_repository.items()}
    written = {r: tags for r, tags in written.items() if tags}
    repositories = list(written)
    served = parallel_map(
        lambda r: _served_elsewhere(target, r, by_repository[r]), repositories, jobs, name="archfuse-coverage"
    )
    elsewhere = dict(zip(repositories, served))
    gaps: dict[str, _Gap] = {}
    for repository, tags in written.items():
        expected = dict(elsewhere[repository])
        for tag in by_repository[repository]:  # what the run's own tags of the repository will serve
            expected.update(_keyed(_after(tag)))
        for tag in tags:
            have = _keyed(_after(tag))
            for key, platform in sorted(expected.items()):
                if key not in have:
                    gap = gaps.setdefault(key, _Gap(platform))
                    gap.tags.append(tag)
                    gap.versions |= {_version_of(plan, image.package) for image in tag.images}
    if not gaps:
        return []  # quiet when every tag will serve what its repository serves
    planned = {p.path for p in plan.packages}
    others = [p for p in (available or []) if p.path not in planned]
    return [_warning(gap, others) for gap in gaps.values()]


def _writes(tag: TagPlan) -> bool:
    return any(image.action in WRITES for image in tag.images)


def _after(tag: TagPlan) -> tuple[str, ...]:
    if tag.result is not None:
        return tag.result.platforms_after
    return tuple(image.platform for image in tag.images)


def _keyed(platforms: tuple[str, ...]) -> dict[str, str]:
    """Platforms by their normalised form (arm64 is arm64/v8), keeping how they were written."""
    out: dict[str, str] = {}
    for text in platforms:
        try:
            out.setdefault(str(Platform.parse(text).normalized()), text)
        except ValueError:
            continue
    return out


def _served_elsewhere(target: Target, repository: str, planned: list[TagPlan]) -> dict[str, str]:
    """Platforms the newest other tags of ``repository`` in the target serve."""
    mine = {t.tag for t in planned}
    try:
        others = [t for t in target.tags(repository) if t not in mine]
    except ArchfuseError:
        return {}
    others.sort(key=version_key, reverse=True)
    platform_of = fusion.config_platform_reader(lambda digest: target.get_blob(repository, digest))
    out: dict[str, str] = {}
    for name in others[:OTHER_TAGS_READ]:
        try:
            out.update(_keyed(fusion.current_platforms(target.get_manifest(repository, name), platform_of)))
        except ArchfuseError:
            continue
    return out


def _version_of(plan: Plan, path: str) -> str:
    return next((p.version for p in plan.packages if p.path == path), "")


def _holds(package: PackageIndex, tag: TagPlan) -> bool:
    """True when ``package`` has an image that lands on ``tag`` (whatever the prefix)."""
    return holds_tag(package, tag.repository, tag.tag)


def holds_tag(package: PackageIndex, repository: str, tag: str) -> bool:
    """True when ``package`` has an image that lands on ``repository:tag`` (whatever the prefix)."""
    for image in package.images:
        for ref in image.refs:
            try:
                dest = destination(ref, "")
            except ValueError:
                continue
            if dest.tag == tag and (repository == dest.path or repository.endswith("/" + dest.path)):
                return True
    return False


def _warning(gap: _Gap, packages: list[PackageIndex]) -> Check:
    arch = Platform.parse(gap.platform).architecture
    example = gap.tags[0]
    serves = ", ".join(_after(example)) or "nothing"
    versions = sorted(v for v in gap.versions if v)
    fill = [
        p for p in packages
        if p.version in gap.versions and normalize_arch(p.arch) == arch and _holds(p, example)
    ]
    if fill:
        advice = f"add {fill[0].path} to this import to fill them."
    else:
        advice = f"import the {arch} package of {', '.join(versions) or 'the same version'} too, or accept it."
    count = len(gap.tags)
    repositories = len({t.repository for t in gap.tags})
    return Check(
        CheckKind.ARCH_COVERAGE,
        CheckStatus.WARN,
        f"{count} tag(s) in {repositories} repositor{'y' if repositories == 1 else 'ies'} will not serve "
        f"{gap.platform}, which other tags of the same repository serve (e.g. {example.repository}:{example.tag} will "
        f"serve {serves} only): {arch} nodes cannot pull them; {advice}",
        items=tuple(f"{t.repository}:{t.tag}" for t in gap.tags),
    )
