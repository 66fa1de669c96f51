"""Arch coverage after a run: the platforms each tag serves, and the arches its repository's
other tags serve that it lacks (``v0.11.0`` amd64 only, beside ``v0.10.0`` amd64 and arm64)."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from core.oci import fusion
from core.targets.base import Target

MAX_TAGS = 50  # other tags read per repository (the newest names last in a listing are enough)


@runtime_checkable
class TagLister(Protocol):
    """A target that can list a repository's tags."""

    def tags(self, repository: str) -> list[str]:
        """The tags of ``repository`` (empty when it has none)."""


@dataclass(frozen=True)
class TagCoverage:
    repository: str
    tag: str
    platforms: tuple[str, ...]  # what the tag serves now
    missing: tuple[str, ...]  # arches other tags of the repository serve and this one does not

    @property
    def ref(self) -> str:
        return f"{self.repository}:{self.tag}"


def _arch(platform: str) -> str:
    return platform.split("/")[1] if platform.count("/") >= 1 else platform


def _blob(target: Target, repository: str, digest: str) -> bytes:
    return target.get_blob(repository, digest)


def tag_coverage(
    target: Target, tags: Iterable[tuple[str, str]], cancel: threading.Event | None = None
) -> list[TagCoverage]:
    """Coverage of each ``(repository, tag)``, compared with the repository's other tags on ``target``."""
    wanted = list(dict.fromkeys(tags))
    served: dict[tuple[str, str], tuple[str, ...]] = {}
    lister = target if isinstance(target, TagLister) else None
    for repository in dict.fromkeys(r for r, _t in wanted):
        names = [t for r, t in wanted if r == repository]
        if lister is not None:
            others = [t for t in lister.tags(repository) if t not in names]
            names += others[-MAX_TAGS:]
        platform_of = fusion.config_platform_reader(functools.partial(_blob, target, repository))
        for tag in names:
            if cancel is not None and cancel.is_set():
                break
            manifest = target.get_manifest(repository, tag)
            served[(repository, tag)] = fusion.current_platforms(manifest, platform_of)
    out = []
    for repository, tag in wanted:
        platforms = served.get((repository, tag), ())
        arches = {_arch(p) for p in platforms}
        repository_arches = {_arch(p) for (r, _t), ps in served.items() if r == repository for p in ps}
        out.append(TagCoverage(repository, tag, platforms, tuple(sorted(repository_arches - arches))))
    return out
