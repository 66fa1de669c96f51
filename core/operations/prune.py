"""Prune: free what the package versions no longer kept used, tags first, never a digest still used.

From the journal: which finished imports (not rolled back) wrote which tag for which package
version. ``--keep N`` keeps the newest N versions of each package kind, ``--drop V`` drops one.
A tag goes only when every import that wrote it carried dropped versions only, and it still
holds what the last of them left (another writer's tag is kept, and the plan says why).

What a dropped tag held is deleted only when nothing else uses it: every other tag of the
repository is read, and its digest, the children of its index and its blobs are kept. So are
shared platform manifests, children of kept indexes, and referrers (a manifest with a
``subject``, or a tag named ``sha256-<hex>...`` as cosign writes them).

How a tag goes: an OCI layout drops it from ``index.json`` (and archfuse removes the blobs no
tag reaches, itself); Harbor deletes it through its tag API; the distribution API has no tag delete, so the tag is first pointed at a
unique placeholder manifest and the placeholder is deleted by digest (that takes the tag, and
only it). Then the dropped indexes are deleted, then the children no kept index references.

A prune is a run (kind ``prune``): each tag it removes is journaled before it goes, and the
bytes of each manifest it deletes are kept under ``<state>/prune/<run>/``, so ``rollback``
pushes them back byte-identical while the registry has not garbage-collected their blobs.
"""

from __future__ import annotations

import io
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from core import events as ev
from core.charts.protocol import ChartDestination
from core.errors import ArchfuseError, Cancelled, UsageError
from core.helpers.versions import version_key
from core.kinds import ChartAction, ImageAction, RegistryFlavour, RunKind, RunStatus
from core.oci import mediatypes as mt
from core.oci.digest import hex_of, sha256_digest
from core.oci.manifest import ManifestRef, canonical_json
from core.package.choice import ChartSelection, charts_using
from core.package.model import PackageIndex
from core.package.naming import FULL, package_row
from core.record.journal import Journal, RunRecord, TagRecord, target_name
from core.targets.base import Target
from core.terminal import printable_lines
from core.units import size_text

#: the annotation that makes each placeholder manifest unique (so deleting it takes one tag only)
PLACEHOLDER = "io.archfuse.prune.placeholder"
EMPTY_CONFIG = b"{}"
EMPTY_DIGEST = sha256_digest(EMPTY_CONFIG)
STORE_DIR = "prune"
#: the packages of a run, read again (from the scan cache) for ``--charts``: which image each chart needs
PackagesOf = Callable[[RunRecord], list[PackageIndex]]
_COSIGN_TAG = re.compile(r"^sha256-([0-9a-f]{64})")


@runtime_checkable
class DeletesManifests(Protocol):
    """A target that deletes a manifest by digest (a registry; a layout lets its garbage go)."""

    def delete_manifest(self, repository: str, digest: str) -> bool: ...


@runtime_checkable
class HarborDeletes(Protocol):
    """Harbor's own API: a tag deleted from its artifact, an artifact deleted by digest."""

    def delete_tag(self, repository: str, reference: str, tag: str) -> bool: ...

    def delete_artifact(self, repository: str, digest: str) -> bool: ...


@runtime_checkable
class DeletesChartVersions(Protocol):
    """A chart repository that deletes a chart version (ChartMuseum, Harbor's chartrepo)."""

    def location(self, name: str, version: str, *, repo: str = "") -> str: ...

    def existing(self, name: str, version: str, *, repo: str = "") -> str | None: ...

    def delete(self, name: str, version: str) -> bool: ...


@dataclass(frozen=True)
class PruneChart:
    """A chart version the prune deletes from a chart repository (not undone by rollback)."""

    name: str
    version: str
    destination: str
    versions: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "destination": self.destination,
                "versions": list(self.versions)}


@dataclass(frozen=True)
class PruneTag:
    """A tag the prune removes."""

    repository: str
    tag: str
    digest: str  # what it holds (what rollback points it at again)
    versions: tuple[str, ...]  # the dropped versions whose imports wrote it
    platforms: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"repository": self.repository, "tag": self.tag, "digest": self.digest,
                "versions": list(self.versions), "platforms": list(self.platforms)}


@dataclass(frozen=True)
class PruneManifest:
    """A manifest the prune deletes by digest, with its bytes (kept for rollback)."""

    repository: str
    digest: str
    media_type: str
    role: str  # index | manifest | child
    platform: str
    versions: tuple[str, ...]
    data: bytes = field(repr=False)
    freed: int = 0  # bytes the registry's garbage collection frees with it (its own, and blobs only it used)

    def to_json(self) -> dict[str, Any]:
        return {"repository": self.repository, "digest": self.digest, "media_type": self.media_type,
                "role": self.role, "platform": self.platform, "versions": list(self.versions),
                "bytes_freed": self.freed}


@dataclass(frozen=True)
class Kept:
    """Something a dropped version touched that the prune keeps, and why."""

    subject: str
    reason: str

    def to_json(self) -> dict[str, str]:
        return {"subject": self.subject, "reason": self.reason}


@dataclass
class PrunePlan:
    """What a prune removes and keeps; writes nothing."""

    target: str
    dropped: list[str]  # package rows (version, with its kind when not the full package)
    kept_versions: list[str]
    runs: list[str]  # the imports of dropped versions only (the journal no longer counts them as held)
    tags: list[PruneTag] = field(default_factory=list)
    manifests: list[PruneManifest] = field(default_factory=list)  # in deletion order
    kept: list[Kept] = field(default_factory=list)
    flavour: str = ""  # RegistryFlavour word, or "layout"
    charts: list[PruneChart] = field(default_factory=list)  # chart versions in a chart repository
    selection: ChartSelection = field(default_factory=ChartSelection)  # the charts pruned (all by default)

    @property
    def empty(self) -> bool:
        return not self.tags and not self.manifests and not self.charts

    @property
    def bytes_freed(self) -> int:
        return sum(m.freed for m in self.manifests)

    def freed_by_version(self) -> dict[tuple[str, str], int]:
        """Bytes freed per (versions, platform): the versions × arches table."""
        out: dict[tuple[str, str], int] = {}
        for m in self.manifests:
            key = (", ".join(m.versions), m.platform or ("index" if m.role == "index" else "-"))
            out[key] = out.get(key, 0) + m.freed
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target, "dropped": self.dropped, "kept_versions": self.kept_versions, "runs": self.runs,
            "tags": [t.to_json() for t in self.tags], "manifests": [m.to_json() for m in self.manifests],
            "kept": [k.to_json() for k in self.kept], "bytes_freed": self.bytes_freed,
            "charts": [c.to_json() for c in self.charts],
            "freed": [{"versions": v, "platform": p, "bytes": n} for (v, p), n in sorted(self.freed_by_version().items())],
        }

    def render_text(self) -> str:
        if not self.dropped:
            return f"Nothing to prune on {self.target}: every version the journal knows is kept."
        lines = [f"prune {self.target}: drop {', '.join(self.dropped)}; keep {', '.join(self.kept_versions) or 'none'}"
                 + (f" ({self.selection.describe()} of the dropped versions only)" if not self.selection.everything else "")]
        lines.append(f"  tags to remove ({len(self.tags)}):")
        lines += [f"    {t.repository}:{t.tag}  {t.digest[:19]}  {' '.join(t.platforms)}" for t in self.tags]
        lines.append(f"  manifests to delete ({len(self.manifests)}):")
        lines += [f"    {m.repository}@{m.digest[:19]}  {m.role} {m.platform}  frees {size_text(m.freed)}"
                  for m in self.manifests]
        if self.charts:
            lines.append(f"  chart versions to delete from the chart repository ({len(self.charts)}; "
                         "rollback cannot bring these back, importing their version again does):")
            lines += [f"    {c.name}-{c.version}  {c.destination}" for c in self.charts]
        if self.kept:
            lines.append(f"  kept ({len(self.kept)}):")
            lines += [f"    {k.subject}: {k.reason}" for k in self.kept]
        table = self.freed_by_version()
        if table:
            lines.append("  bytes freed after garbage collection, per version and platform:")
            lines += [f"    {v}  {p}  {size_text(n)}" for (v, p), n in sorted(table.items())]
        lines.append(f"  in all: {len(self.tags)} tag(s), {len(self.manifests)} manifest(s), "
                     f"{size_text(self.bytes_freed)} freed once the registry collects its garbage")
        return printable_lines(lines)


@dataclass
class PruneSummary:
    run_id: str
    plan: PrunePlan
    status: RunStatus
    tags_removed: list[str] = field(default_factory=list)
    charts_deleted: list[str] = field(default_factory=list)
    manifests_deleted: list[str] = field(default_factory=list)
    skipped: list[Kept] = field(default_factory=list)  # agreed, but no longer safe when the run looked
    collected: tuple[int, int] = (0, 0)  # blobs and bytes archfuse removed itself (an OCI layout)
    advice: str = ""

    @property
    def exit_code(self) -> int:
        return 0 if self.status == RunStatus.DONE else 1

    def to_json(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "status": self.status, "tags_removed": self.tags_removed,
                "manifests_deleted": self.manifests_deleted,
                "charts_deleted": self.charts_deleted, "skipped": [k.to_json() for k in self.skipped],
                "blobs_removed": self.collected[0], "bytes_removed": self.collected[1], "advice": self.advice}

    def render_text(self) -> str:
        lines = [f"  [kept] {k.subject}: {k.reason}" for k in self.skipped]
        lines.append(f"prune {self.run_id}: {self.status} ({len(self.tags_removed)} tag(s) removed, "
                     f"{len(self.manifests_deleted)} manifest(s) and {len(self.charts_deleted)} chart version(s) deleted; `rollback {self.run_id}` puts them back "
                     "until the registry collects its garbage)")
        if self.collected[0]:
            lines.append(f"removed {self.collected[0]} unused blob(s), {size_text(self.collected[1])}")
        if self.advice:
            lines.append(self.advice)
        return printable_lines(lines)


def gc_advice(flavour: str, url: str) -> str:
    """What to run after a prune so the registry frees the bytes."""
    if flavour == "layout":
        return "archfuse removed the blobs no tag uses from the layout itself; nothing more to run."
    if flavour == RegistryFlavour.HARBOR:
        body = '{"schedule":{"type":"Manual"},"parameters":{"dry_run":true,"delete_untagged":false}}'
        return (
            "Harbor frees the bytes in its garbage collection; run it, a dry run first: "
            f"curl -u ADMIN -X POST -H 'Content-Type: application/json' {url}/api/v2.0/system/gc/schedule "
            f"-d '{body}' (see the result under Administration > Clean Up), then the same with "
            '"dry_run":false. Keep delete_untagged false: the platform manifests of a multi-arch tag are untagged.'
        )
    return (
        "The registry frees the bytes in its garbage collection: stop it (or make it read-only), then run "
        "`docker-registry garbage-collect /etc/docker/registry/config.yml` (`registry garbage-collect CONFIG` "
        "for the upstream binary; CONFIG is the registry's own config file), and start it again. "
        "Never add --delete-untagged: it deletes every manifest no tag names directly, and the per-arch "
        "children of a multi-arch index are untagged, so the tags would still answer while their images are gone."
    )


# -- planning -------------------------------------------------------------------------------------


def _rows(run: RunRecord) -> set[str]:
    return {package_row(str(p.get("kind", FULL)), str(p.get("version", ""))) for p in run.packages}


def _imports(journal: Journal, target: str) -> list[RunRecord]:
    """Imports into ``target`` not rolled back nor pruned already, oldest first."""
    runs = journal.runs(1_000_000, target=target)
    undone = {r.parent for r in runs if r.kind == RunKind.ROLLBACK and r.status == RunStatus.DONE}
    undone |= journal.pruned_runs(target)
    return [r for r in reversed(runs)
            if r.kind == RunKind.IMPORT and r.id not in undone and r.status != RunStatus.RUNNING]


def choose_versions(runs: Iterable[RunRecord], keep: int | None, drop: str | None) -> tuple[list[str], list[str]]:
    """(dropped, kept) package rows: the newest ``keep`` of each kind kept, or ``drop`` dropped."""
    by_kind: dict[str, set[str]] = {}
    for run in runs:
        for p in run.packages:
            kind, version = str(p.get("kind", FULL)), str(p.get("version", ""))
            by_kind.setdefault(kind, set()).add(version)
    rows = {package_row(k, v) for k, versions in by_kind.items() for v in versions}
    if drop is not None:
        dropped = {package_row(k, v) for k, versions in by_kind.items() for v in versions
                   if drop in (v, package_row(k, v))}
        if not dropped:
            known = ", ".join(sorted(rows, key=version_key)) or "none"
            raise UsageError(f"The journal knows no import of version {drop!r} into this target (it knows: {known}).")
    else:
        if keep is None or keep < 1:
            raise UsageError("Say how many versions to keep (at least 1), or which version to drop.")
        dropped = {package_row(k, v) for k, versions in by_kind.items()
                   for v in sorted(versions, key=version_key, reverse=True)[keep:]}
    kept = rows - dropped
    return sorted(dropped, key=version_key), sorted(kept, key=version_key)


def plan_prune(
    journal: Journal, target: Target, *, keep: int | None = None, drop: str | None = None, flavour: str = "",
    dropped: list[str] | None = None, charts: ChartDestination | None = None,
    selection: ChartSelection | None = None, packages_of: PackagesOf | None = None,
) -> PrunePlan:
    """What pruning ``target`` to ``keep`` versions per kind (or without version ``drop``, or without the
    package rows ``dropped``) removes; reads only."""
    imports = _imports(journal, target_name(target.description))
    if dropped is None:
        dropped, kept_versions = choose_versions(imports, keep, drop)
    else:
        kept_versions = sorted(set().union(*(_rows(r) for r in imports)) - set(dropped), key=version_key)
    plan = PrunePlan(target.description, dropped, kept_versions, [], flavour=flavour,
                     selection=selection or ChartSelection())
    if not dropped:
        return plan
    partial = not plan.selection.everything
    writers: dict[tuple[str, str], list[tuple[RunRecord, TagRecord]]] = {}
    needed: set[str] = set()  # "repository:tag" of every image and chart a kept version's import holds
    needed_charts: set[tuple[str, str]] = set()
    chart_rows: dict[tuple[str, str], tuple[str, set[str]]] = {}  # of dropped versions: destination, versions
    for run in imports:
        if not _rows(run) <= set(dropped):
            needed.update(_tag_of(row.destination, target.host) for row in journal.images_of(run.id))
            needed.update(_tag_of(row.destination, target.host) for row in journal.charts_of(run.id))
            needed_charts.update((row.name, row.version) for row in journal.charts_of(run.id))
        else:
            left = _not_chosen(journal, run, plan.selection, packages_of, target.host) if partial else None
            if left is not None:
                needed.update(left[0])
                needed_charts.update(left[1])
            for row in journal.charts_of(run.id):
                if left is not None and (row.name, row.version) in left[1]:
                    needed.add(_tag_of(row.destination, target.host))
                elif row.action in (ChartAction.NEW, ChartAction.OVERWRITTEN, ChartAction.UNCHANGED):
                    chart_rows.setdefault((row.name, row.version), (row.destination, set()))[1].update(_rows(run))
        for tag in journal.tags_of(run.id):
            if tag.after is not None:
                writers.setdefault((tag.repository, tag.tag), []).append((run, tag))
    candidates: dict[tuple[str, str], tuple[str, tuple[str, ...], str]] = {}
    for key, wrote in sorted(writers.items()):
        rows = set().union(*(_rows(run) for run, _ in wrote))
        if not rows & set(dropped):
            continue
        if not rows <= set(dropped) or f"{key[0]}:{key[1]}" in needed:
            users = sorted(rows - set(dropped), key=version_key)
            plan.kept.append(Kept(f"{key[0]}:{key[1]}", f"the import of {', '.join(users)} wrote it too" if users
                                  else "a version kept (or a chart not taken) uses it too"))
            continue
        last_run, last = max(wrote, key=lambda w: w[1].written_at)
        candidates[key] = (last.after or "", tuple(sorted(rows, key=version_key)), last_run.id)
    # a run pruned whole is no longer held (some of its charts only: it still is)
    plan.runs = [] if partial else sorted(run.id for run in imports if _rows(run) <= set(dropped))
    repositories = sorted({repo for repo, _ in candidates})
    for repo in repositories:
        _plan_repository(plan, target, repo, {t: v for (r, t), v in candidates.items() if r == repo})
    if isinstance(charts, DeletesChartVersions):
        for (name, version), (destination, rows) in sorted(chart_rows.items()):
            if (name, version) in needed_charts or destination != charts.location(name, version):
                continue
            if charts.existing(name, version) is not None:
                plan.charts.append(PruneChart(name, version, destination, tuple(sorted(rows, key=version_key))))
    return plan


def _not_chosen(
    journal: Journal, run: RunRecord, selection: ChartSelection, packages_of: PackagesOf | None, host: str
) -> tuple[set[str], set[tuple[str, str]]]:
    """What a dropped run holds for the charts ``selection`` does not take: their image tags (also an image
    no chart names) and their (name, version); those stay."""
    if packages_of is None:
        raise UsageError("Pruning some charts only needs the packages of the dropped versions, to know which "
                         "images each chart uses.")
    packages = packages_of(run)
    tag_of_ref = {row.ref: _tag_of(row.destination, host) for row in journal.images_of(run.id)}
    tags: set[str] = set()
    charts: set[tuple[str, str]] = set()
    for package in packages:
        charts.update((c.name, c.version) for c in package.charts if not selection.chooses(c))
        for image in package.images:
            if not any(selection.chooses(c) for c in charts_using(package, image)):
                tags.update(tag_of_ref[ref] for ref in image.refs if ref in tag_of_ref)
    return tags, charts


def _plan_repository(
    plan: PrunePlan, target: Target, repo: str, candidates: dict[str, tuple[str, tuple[str, ...], str]]
) -> None:
    removing: dict[str, tuple[ManifestRef, tuple[str, ...]]] = {}
    for tag, (left, versions, run_id) in sorted(candidates.items()):
        current = target.get_manifest(repo, tag)
        if current is None:
            continue  # gone already (an earlier prune, or another client)
        if current.digest != left:
            plan.kept.append(Kept(f"{repo}:{tag}", f"it holds {current.digest}, not {left} that run {run_id} left: "
                                  "another writer moved it since, so it is kept"))
            continue
        removing[tag] = (current, versions)
    if not removing:
        return
    used: dict[str, str] = {}  # digest -> who uses it
    kept_blobs: set[str] = set()
    for tag in sorted(set(target.tags(repo)) - set(removing)):
        manifest = target.get_manifest(repo, tag)
        if manifest is None:
            continue
        used.setdefault(manifest.digest, f"{repo}:{tag}")
        doc = manifest.parsed()
        subject = doc.get("subject") if isinstance(doc.get("subject"), dict) else None
        cosign = _COSIGN_TAG.match(tag)
        if subject is not None or cosign is not None:
            of = str(subject.get("digest")) if subject is not None else f"sha256:{cosign.group(1) if cosign else ''}"
            if any(m.digest == of for m, _ in removing.values()):
                plan.kept.append(Kept(f"{repo}:{tag}", f"a referrer (signature, SBOM, attestation) of {of}: referrers are kept"))
        for child in _children(doc):
            used.setdefault(child, f"the index {repo}:{tag}")
            found = target.get_manifest(repo, child)
            kept_blobs.update(_blobs(found.parsed()) if found is not None else ())
        kept_blobs.update(_blobs(doc))
    planned = {m.digest for m in plan.manifests if m.repository == repo}
    counted: set[str] = set()

    def delete(manifest: ManifestRef, role: str, platform: str, versions: tuple[str, ...]) -> None:
        if manifest.digest in planned:
            return
        planned.add(manifest.digest)
        doc = manifest.parsed()
        sizes = _blob_sizes(doc)
        config = doc.get("config")
        if not platform and isinstance(config, dict) and config.get("mediaType") == mt.HELM_CONFIG:
            platform = "helm chart"
        freed = manifest.size + sum(n for d, n in sizes.items() if d not in kept_blobs and d not in counted)
        counted.update(sizes)
        plan.manifests.append(PruneManifest(repo, manifest.digest, manifest.media_type, role, platform, versions,
                                            manifest.data, freed))

    children: list[tuple[ManifestRef, str, tuple[str, ...]]] = []
    for tag, (manifest, versions) in sorted(removing.items()):
        doc = manifest.parsed()
        platforms = tuple(_platform(e) for e in doc.get("manifests") or [] if isinstance(e, dict))
        plan.tags.append(PruneTag(repo, tag, manifest.digest, versions, tuple(p for p in platforms if p)))
        if manifest.digest in used:
            plan.kept.append(Kept(f"{repo}@{manifest.digest}", f"also {used[manifest.digest]}: only the tag {tag} goes"))
            continue
        delete(manifest, "index" if manifest.is_index else "manifest", "", versions)
        for entry in doc.get("manifests") or []:
            if not isinstance(entry, dict):
                continue
            digest, platform = str(entry.get("digest", "")), _platform(entry)
            if digest in used:
                plan.kept.append(Kept(f"{repo}@{digest} ({platform})", f"a platform manifest also in {used[digest]}"))
                continue
            found = target.get_manifest(repo, digest)
            if found is not None:
                children.append((found, platform, versions))
    for found_child, platform, versions in children:  # the indexes first, then their children
        delete(found_child, "child", platform, versions)


def _tag_of(destination: str, host: str) -> str:
    """``repository:tag`` of a journaled destination (``host/repository:tag``, or ``oci://host/...``)."""
    rest = destination.split("://", 1)[-1]
    if rest.startswith(host.rstrip("/") + "/"):
        return rest[len(host.rstrip("/")) + 1:]
    return rest.split("/", 1)[1] if "/" in rest else rest


def _children(doc: dict[str, Any]) -> list[str]:
    return [str(e.get("digest")) for e in doc.get("manifests") or [] if isinstance(e, dict) and e.get("digest")]


def _blob_sizes(doc: dict[str, Any]) -> dict[str, int]:
    descs = [doc.get("config"), *(doc.get("layers") or [])]
    return {str(d["digest"]): int(d.get("size") or 0) for d in descs if isinstance(d, dict) and d.get("digest")}


def _blobs(doc: dict[str, Any]) -> set[str]:
    return set(_blob_sizes(doc))


def _platform(entry: dict[str, Any]) -> str:
    p = entry.get("platform")
    if not isinstance(p, dict):
        return ""
    return "/".join(str(p[k]) for k in ("os", "architecture", "variant") if p.get(k))


# -- the run ---------------------------------------------------------------------------------------


def store_path(state_dir: Path, run_id: str) -> Path:
    """Where a prune run keeps the manifests it deleted."""
    return Path(state_dir) / STORE_DIR / run_id


def _store(state_dir: Path, run_id: str, manifests: list[PruneManifest]) -> None:
    folder = store_path(state_dir, run_id)
    folder.mkdir(parents=True, exist_ok=True)
    for m in manifests:
        (folder / hex_of(m.digest)).write_bytes(m.data)
    (folder / "manifests.json").write_text(json.dumps([m.to_json() for m in manifests], indent=1))


def prune_run(
    journal: Journal,
    plan: PrunePlan,
    target: Target,
    *,
    charts: ChartDestination | None = None,
    harbor: HarborDeletes | None = None,
    packages_of: PackagesOf | None = None,
    emit: ev.Emit = ev.discard,
    cancel: threading.Event | None = None,
) -> PruneSummary:
    """Carry out an agreed plan: planned again under the target's lock, only what is in both goes.
    ``harbor``: the target is Harbor, whose tag API removes a tag (no placeholder)."""
    with journal.lock(target.description):
        started = time.monotonic()
        again = plan_prune(journal, target, dropped=plan.dropped, flavour=plan.flavour, charts=charts,
                           selection=plan.selection, packages_of=packages_of)
        rid = journal.start_run(RunKind.PRUNE, target.description, [], {
            "dropped": plan.dropped, "kept_versions": plan.kept_versions, "runs": again.runs,
            **({"charts": plan.selection.describe()} if not plan.selection.everything else {})})
        emit(ev.RunStarted(rid, target.description, (), len(again.tags) + len(again.manifests), 0, 0))
        summary = PruneSummary(rid, again, RunStatus.DONE)
        agreed_tags = {(t.repository, t.tag, t.digest) for t in plan.tags}
        agreed = {(m.repository, m.digest) for m in plan.manifests}
        summary.skipped = [Kept(f"{t.repository}:{t.tag}", "no longer safe to remove when the prune ran; kept")
                           for t in plan.tags if (t.repository, t.tag, t.digest) not in
                           {(x.repository, x.tag, x.digest) for x in again.tags}]
        tags = [t for t in again.tags if (t.repository, t.tag, t.digest) in agreed_tags]
        manifests = [m for m in again.manifests if (m.repository, m.digest) in agreed]
        agreed_charts = {(c.name, c.version) for c in plan.charts}
        chart_versions = [c for c in again.charts if (c.name, c.version) in agreed_charts]
        message = ""
        try:
            _store(journal.state_dir, rid, manifests)
            for tag in tags:
                _stop_if(cancel)
                journal.tag_moving(rid, tag.repository, tag.tag, tag.digest, None)
                if harbor is not None:
                    harbor.delete_tag(tag.repository, tag.digest, tag.tag)
                else:
                    _untag(target, tag.repository, tag.tag, tag.digest, rid)
                summary.tags_removed.append(f"{tag.repository}:{tag.tag}")
            for m in manifests:
                _stop_if(cancel)
                if harbor is not None:  # deleting an index may have taken its children with it: False then
                    harbor.delete_artifact(m.repository, m.digest)
                elif isinstance(target, DeletesManifests):
                    target.delete_manifest(m.repository, m.digest)
                destination = f"{target.host}/{m.repository}@{m.digest}"
                journal.record_image(rid, f"{m.repository}@{m.digest}", m.platform, destination, ImageAction.PRUNED,
                                     m.digest, f"{m.role} deleted")
                summary.manifests_deleted.append(f"{m.repository}@{m.digest}")
                emit(ev.ImageDone(f"{m.repository}@{m.digest}", destination, (m.platform,) if m.platform else (), (),
                                  ImageAction.PRUNED, m.digest))
            for chart in chart_versions:
                _stop_if(cancel)
                if isinstance(charts, DeletesChartVersions) and charts.delete(chart.name, chart.version):
                    journal.chart_done(rid, chart.name, chart.version, chart.destination, ChartAction.DELETED,
                                       "deleted by prune")
                    summary.charts_deleted.append(f"{chart.name}-{chart.version}")
                    emit(ev.ChartDone(chart.name, chart.version, chart.destination, ChartAction.DELETED))
            collect = getattr(target, "collect_garbage", None)
            if callable(collect):
                summary.collected = collect()
        except Cancelled as err:
            summary.status, message = RunStatus.CANCELLED, str(err)
        except ArchfuseError as err:
            summary.status, message = RunStatus.FAILED, str(err)
            emit(ev.Failure(target.description, message))
        summary.advice = gc_advice(plan.flavour, getattr(target, "url", target.description))
        counts = {ImageAction.PRUNED: len(summary.manifests_deleted)}
        journal.finish_run(rid, summary.status, counts, 0, message)
        emit(ev.RunFinished(rid, summary.status, len(summary.manifests_deleted), 0, 0,
                            time.monotonic() - started, message))
    return summary


def _stop_if(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise Cancelled("The prune was cancelled; what it removed is journaled (roll it back, or run it again).")


def _untag(target: Target, repository: str, tag: str, digest: str, run_id: str) -> None:
    """Remove one tag: a layout deletes it; a registry points it at a unique placeholder, deleted by digest
    (a registry that refuses the delete gets the tag pointed back at ``digest``)."""
    if target.deletes_tags:
        target.delete_tag(repository, tag)
        return
    if not isinstance(target, DeletesManifests):
        raise UsageError(f"{target.description} can neither delete a tag nor a manifest, so it cannot be pruned.")
    if not target.blob_exists(repository, EMPTY_DIGEST):
        target.put_blob(repository, EMPTY_DIGEST, len(EMPTY_CONFIG), io.BytesIO(EMPTY_CONFIG))
    doc = {
        "schemaVersion": 2,
        "mediaType": mt.OCI_MANIFEST,
        "config": {"mediaType": mt.OCI_EMPTY, "digest": EMPTY_DIGEST, "size": len(EMPTY_CONFIG)},
        "layers": [],
        "annotations": {PLACEHOLDER: f"{run_id} {repository}:{tag} {uuid.uuid4().hex}"},
    }
    placeholder = ManifestRef(canonical_json(doc), mt.OCI_MANIFEST)
    original = target.get_manifest(repository, digest)
    target.put_manifest(repository, tag, placeholder)
    try:
        target.delete_manifest(repository, placeholder.digest)
    except ArchfuseError:
        if original is not None:
            target.put_manifest(repository, tag, original)  # as it was: nothing half done
        raise


# -- undo ------------------------------------------------------------------------------------------


def restore_pruned(state_dir: Path, run_id: str, target: Target) -> dict[str, str]:
    """Push back the manifests prune run ``run_id`` deleted (children first), byte-identical; per digest
    that could not go back, why (its blobs were garbage-collected)."""
    folder = store_path(state_dir, run_id)
    listing = folder / "manifests.json"
    if not listing.is_file():
        return {}
    entries = json.loads(listing.read_text())
    problems: dict[str, str] = {}
    order = sorted(entries, key=lambda e: 0 if e["role"] != "index" else 1)
    for entry in order:
        repo, digest = str(entry["repository"]), str(entry["digest"])
        if target.get_manifest(repo, digest) is not None:
            continue
        manifest = ManifestRef((folder / hex_of(digest)).read_bytes(), str(entry["media_type"]), digest)
        doc = manifest.parsed()
        missing = [d for d in _blobs(doc) if not target.blob_exists(repo, d)]
        missing += [d for d in _children(doc) if d in problems or target.get_manifest(repo, d) is None]
        if missing:
            problems[digest] = (
                f"the registry has garbage-collected what {digest} needs ({len(missing)} blob(s) or manifest(s) "
                f"missing, e.g. {missing[0]}), so it cannot be put back; import its version again instead"
            )
            continue
        target.put_manifest(repo, digest, manifest)
    return problems
