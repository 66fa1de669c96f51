"""Fusion: every tag write is a merge.

Read what a tag holds now, upsert each new platform's manifest into it, keep every other
entry (other platforms, attestations, unknown entries) as it was. An upgrade that carries
only one architecture never flattens a list.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Optional

from core.errors import TargetError
from core.kinds import ImageAction
from core.oci import mediatypes as mt
from core.oci.manifest import ManifestRef, index_bytes, index_entry, load_document
from core.oci.platform import Platform

#: How a bare manifest's platform is found: read its config. (manifest) -> Platform | None
PlatformOf = Callable[[ManifestRef], Optional[Platform]]


@dataclass(frozen=True)
class Addition:
    """A platform manifest the run wants the tag to hold."""

    manifest: ManifestRef
    platform: Platform


@dataclass
class MergeResult:
    """What a tag will hold after the merge, and what changed per platform."""

    manifest: ManifestRef | None  # None when nothing changes
    actions: dict[str, ImageAction] = field(default_factory=dict)  # str(platform) -> action
    platforms_before: tuple[str, ...] = ()
    platforms_after: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        return self.manifest is not None


def _is_attestation(entry: dict[str, Any]) -> bool:
    annotations = entry.get("annotations") or {}
    if "vnd.docker.reference.type" in annotations:
        return True
    platform = entry.get("platform") or {}
    return platform.get("os") == "unknown" and platform.get("architecture") == "unknown"


def entry_platform(entry: dict[str, Any]) -> Platform | None:
    """The platform an index entry serves, or None for attestations and entries without one."""
    if _is_attestation(entry):
        return None
    return Platform.from_descriptor(entry.get("platform"))


def index_platforms(index: dict[str, Any]) -> list[Platform]:
    """Platforms an index serves, in its order."""
    out = []
    for entry in index.get("manifests", []):
        platform = entry_platform(entry)
        if platform is not None:
            out.append(platform)
    return out


def current_platforms(current: ManifestRef | None, platform_of: PlatformOf) -> tuple[str, ...]:
    """Platforms a tag serves now."""
    if current is None:
        return ()
    if current.is_index:
        return tuple(str(p) for p in index_platforms(current.parsed()))
    platform = platform_of(current)
    return (str(platform),) if platform else ()


def served_digest(current: ManifestRef | None, platform: Platform, platform_of: PlatformOf) -> str | None:
    """The digest of the manifest a tag holding ``current`` serves for ``platform``, or None."""
    if current is None:
        return None
    if not current.is_index:
        have = platform_of(current)
        return current.digest if have is not None and have.matches(platform) else None
    entries = list(current.parsed().get("manifests", []))
    slot = _find(entries, platform)
    return str(entries[slot].get("digest")) if slot is not None else None


def merge(current: ManifestRef | None, additions: list[Addition], platform_of: PlatformOf) -> MergeResult:
    """Merge ``additions`` into what a tag holds now.

    * nothing there: a new index of the additions (action ``new``);
    * a bare manifest of the same platform and digest: unchanged, left as it is;
    * a bare manifest of another platform: an index of both (``add-arch``);
    * an index: the entry of each platform is replaced in place (``update-arch``) or appended
      (``add-arch``); every other entry and top-level field is kept.
    """
    if not additions:
        raise ValueError("merge needs at least one platform manifest")
    before = current_platforms(current, platform_of)
    actions: dict[str, ImageAction] = {}
    if current is None:
        entries = [index_entry(a.manifest, a.platform) for a in additions]
        for a in additions:
            actions[str(a.platform)] = ImageAction.NEW
        data = index_bytes(_index_type_for(additions, None), entries)
        return MergeResult(ManifestRef(data, _index_type_for(additions, None)), actions, before, _after(entries))

    if not current.is_index:
        platform = platform_of(current)
        if platform is None:
            raise TargetError(
                "the tag holds a manifest whose platform cannot be read from its config; "
                "archfuse will not fuse into it. Inspect the tag and remove or retag it first."
            )
        if (
            len(additions) == 1
            and additions[0].platform.matches(platform)
            and additions[0].manifest.digest == current.digest
        ):
            return MergeResult(None, {str(platform): ImageAction.UNCHANGED}, before, before)
        entries = [index_entry(current, platform)]
        top: dict[str, Any] = {}
        index_type = _index_type_for(additions, current.media_type)
    else:
        doc = current.parsed()
        entries = list(doc.get("manifests", []))
        top = {k: v for k, v in doc.items() if k not in ("schemaVersion", "mediaType", "manifests")}
        index_type = current.media_type

    changed = False
    for addition in additions:
        key = str(addition.platform)
        slot = _find(entries, addition.platform)
        if slot is None:
            entries.append(index_entry(addition.manifest, addition.platform))
            actions[key] = ImageAction.ADD_ARCH
            changed = True
        elif entries[slot].get("digest") == addition.manifest.digest:
            actions[key] = ImageAction.UNCHANGED
        else:
            old = entries[slot]
            new = index_entry(addition.manifest, addition.platform)
            # keep the existing entry's platform object and annotations: only the manifest changes
            if old.get("platform"):
                new["platform"] = old["platform"]
            if old.get("annotations"):
                new["annotations"] = old["annotations"]
            entries[slot] = new
            actions[key] = ImageAction.UPDATE_ARCH
            changed = True
    if not changed and current.is_index:
        return MergeResult(None, actions, before, before)
    data = index_bytes(index_type, entries, top)
    return MergeResult(ManifestRef(data, index_type), actions, before, _after(entries))


def _find(entries: list[dict[str, Any]], platform: Platform) -> int | None:
    for i, entry in enumerate(entries):
        have = entry_platform(entry)
        if have is not None and have.matches(platform):
            return i
    return None


def _after(entries: list[dict[str, Any]]) -> tuple[str, ...]:
    return tuple(str(p) for p in index_platforms({"manifests": entries}))


def _index_type_for(additions: list[Addition], existing_child: str | None) -> str:
    child = existing_child or additions[0].manifest.media_type
    return mt.INDEX_FOR.get(child, mt.OCI_INDEX)


def config_platform_reader(get_blob: Callable[[str], bytes]) -> PlatformOf:
    """A PlatformOf that reads a bare manifest's config blob through ``get_blob(digest)``."""

    def platform_of(manifest: ManifestRef) -> Platform | None:
        try:
            doc = manifest.parsed()
            config = doc.get("config") or {}
            if config.get("mediaType") not in (mt.DOCKER_CONFIG, mt.OCI_CONFIG):
                return None
            parsed = load_document(get_blob(str(config["digest"])), f"the config {config['digest']}")
        except (ValueError, KeyError, TypeError):
            return None
        platform = Platform.from_config(parsed)
        return platform if platform.architecture else None

    return platform_of
