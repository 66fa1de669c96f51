"""The registry target: the Target protocol over a :class:`RegistryClient`."""

from __future__ import annotations

import threading
from collections.abc import Collection
from typing import BinaryIO
from urllib.parse import urlsplit, urlunsplit

from core.errors import TargetError
from core.events import Emit
from core.helpers.parallel import DEFAULT_JOBS, parallel_map, round_trips
from core.oci.manifest import ManifestRef
from core.oci.refs import space_of
from core.registry.client import RegistryClient
from core.targets.base import NO_TAG_DELETE, Progress


class RegistryTarget:
    """A distribution registry as an import target."""

    deletes_tags = False

    def __init__(self, client: RegistryClient, url: str | None = None) -> None:
        self.client = client
        #: the URL as given, without any user:password part
        self.url = _without_userinfo(url) if url else client.description
        self.description = client.description
        self.host = client.host

    def ping(self, *, retry: bool = True) -> None:
        """Check reachability, TLS and credentials (one try without ``retry``)."""
        self.client.ping(retry=retry)

    def check_push(self, repositories: list[str]) -> str:
        """Prove push rights with one upload opened and cancelled per registry space written."""
        spaces: dict[str, str] = {}
        for repository in repositories:
            spaces.setdefault(space_of(repository), repository)
        parallel_map(self.client.check_push, list(spaces.values()), round_trips(DEFAULT_JOBS), name="archfuse-push-check")
        return f"may push to {', '.join(sorted(spaces))} on {self.description}."

    def prepare(self, reads: Collection[str], writes: Collection[str]) -> None:
        """Fetch bearer tokens for these repositories up front, many per token where the realm allows."""
        self.client.prepare(reads, writes)

    def blob_exists(self, repository: str, digest: str) -> bool:
        """True when the repository can serve the blob."""
        return self.client.blob_exists(repository, digest)

    def blob_size(self, repository: str, digest: str) -> int | None:
        """The size the registry serves the blob with (-1 when it does not say), None when it lacks it."""
        return self.client.blob_size(repository, digest)

    def mount_blob(self, repository: str, digest: str, from_repository: str) -> bool:
        """Cross-repository mount; False when the registry did not mount."""
        return self.client.mount_blob(repository, digest, from_repository)

    def put_blob(
        self, repository: str, digest: str, size: int, stream: BinaryIO, progress: Progress | None = None
    ) -> None:
        """Upload a blob; the registry verifies the digest."""
        self.client.put_blob(repository, digest, size, stream, progress)

    def stream_blob(
        self, repository: str, digest: str, size: int, stream: BinaryIO, progress: Progress | None = None
    ) -> None:
        """Upload a blob read once from ``stream``, chunk by chunk (a break resends the chunk; the
        registry verifies the digest)."""
        self.client.stream_blob(repository, digest, size, stream, progress)

    def get_blob(self, repository: str, digest: str, max_size: int = 16 << 20) -> bytes:
        """A small blob's bytes."""
        return self.client.get_blob(repository, digest, max_size)

    def get_manifest(self, repository: str, reference: str) -> ManifestRef | None:
        """The manifest or index at a tag or digest, or None."""
        return self.client.get_manifest(repository, reference)

    def put_manifest(self, repository: str, reference: str, manifest: ManifestRef) -> None:
        """Store a manifest by digest or tag."""
        self.client.put_manifest(repository, reference, manifest)

    def tags(self, repository: str) -> list[str]:
        """The tags of one repository ([] when it does not exist)."""
        return self.client.list_tags(repository)

    def head_manifest(self, repository: str, reference: str) -> str | None:
        """The digest a reference resolves to, or None."""
        return self.client.head_manifest(repository, reference)

    def watch(self, emit: Emit, cancel: threading.Event | None) -> None:
        """Retry notices to ``emit``; no request once ``cancel`` is set (see RegistryClient.watch)."""
        self.client.watch(emit, cancel)

    def waiting(self) -> str:
        """What the client waits for now (its requests open), and when it gives up on one."""
        return self.client.waiting()

    def round_trip(self) -> float:
        """Seconds a request without a body takes lately (see RegistryClient.round_trip)."""
        return self.client.round_trip()

    def interrupt(self) -> int:
        """Cut the requests in flight; how many."""
        return self.client.interrupt()

    def delete_tag(self, repository: str, tag: str) -> bool:
        """Refused: the distribution API has no tag delete (see ``deletes_tags``)."""
        raise TargetError(f"{self.description} cannot delete the tag {repository}:{tag}: {NO_TAG_DELETE}.")

    def delete_manifest(self, repository: str, digest: str) -> bool:
        """Delete a manifest by digest (every tag on it goes too); False when it was not there."""
        return self.client.delete_manifest(repository, digest)

    def close(self) -> None:
        """Close the client's connections."""
        self.client.close()

    def __repr__(self) -> str:
        return f"RegistryTarget({self.description!r})"


def _without_userinfo(url: str) -> str:
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[-1]))
