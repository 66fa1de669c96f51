"""The target protocol: everything the engine needs from a destination.

Repositories are paths without the host (``metrics-server/metrics-server``); references are
tags or digests. Implementations: ``RegistryTarget`` (distribution API) and ``LayoutTarget``
(an OCI image layout directory).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Collection
from contextlib import AbstractContextManager
from typing import BinaryIO, Protocol, runtime_checkable

from core.events import Emit
from core.oci.manifest import ManifestRef

Progress = Callable[[int], None]
#: why a registry cannot delete a tag
NO_TAG_DELETE = (
    "distribution refuses DELETE /v2/<name>/manifests/<tag>, and deleting by digest would remove "
    "the manifest under every tag that shares it"
)


@runtime_checkable
class Target(Protocol):
    #: a display name without secrets, e.g. ``https://registry.example.com`` or ``oci:/data/layout``
    description: str
    #: the host part used in image destinations (``registry.example.com:5000``), or the layout path
    host: str
    #: whether :meth:`delete_tag` works (an OCI layout can; the distribution API has no tag delete)
    deletes_tags: bool

    def ping(self) -> None:
        """Check the target is reachable and the credentials work; raise TargetError if not."""

    def check_push(self, repositories: list[str]) -> str:
        """Prove the credentials may push to ``repositories`` (raise AuthError/SpaceMissing if not),
        writing nothing; a sentence saying what was proved."""

    def prepare(self, reads: Collection[str], writes: Collection[str]) -> None:
        """Get ready to read ``reads`` and write ``writes`` (a registry fetches their tokens up front)."""

    def blob_exists(self, repository: str, digest: str) -> bool:
        """True when the repository can serve the blob."""

    def mount_blob(self, repository: str, digest: str, from_repository: str) -> bool:
        """Make a blob present in ``repository`` from another repository; False if not possible."""

    def put_blob(
        self, repository: str, digest: str, size: int, stream: BinaryIO, progress: Progress | None = None
    ) -> None:
        """Upload ``size`` bytes read from ``stream``; the target verifies ``digest``."""

    def get_blob(self, repository: str, digest: str, max_size: int = 16 << 20) -> bytes:
        """A small blob's bytes (configs, charts)."""

    def get_manifest(self, repository: str, reference: str) -> ManifestRef | None:
        """The manifest or index a tag/digest holds, or None when absent."""

    def put_manifest(self, repository: str, reference: str, manifest: ManifestRef) -> None:
        """Store a manifest by digest or tag; a tag moves to it."""

    def tags(self, repository: str) -> list[str]:
        """The tags of one repository ([] when it does not exist)."""

    def delete_tag(self, repository: str, tag: str) -> bool:
        """Remove a tag (its manifests and blobs stay); False when it was not there."""

    def close(self) -> None:
        """Release connections and locks."""


@runtime_checkable
class Waiting(Protocol):
    """A target that can say what it is waiting for (its requests open), for a stall line."""

    def waiting(self) -> str:
        """``2 requests to https://… open; one that moves no byte for 60 s is retried …``."""

    def round_trip(self) -> float:
        """Seconds a request without a body takes lately, for estimates."""


@runtime_checkable
class Watched(Protocol):
    """A target over the network: a run hears its retries, and a cancel cuts its requests short."""

    def watch(self, emit: Emit, cancel: threading.Event | None) -> None:
        """Send retry notices to ``emit``; once ``cancel`` is set, start no request (raise Cancelled)."""

    def interrupt(self) -> int:
        """Cut the requests in flight (threads waiting on a stalled server wake); how many."""


@runtime_checkable
class BatchesTags(Protocol):
    """A target whose tag writes cost the size of all its tags (one ``index.json``): a run's tag
    phase writes them together."""

    def batch_tags(self) -> AbstractContextManager[bool]:
        """Tag writes inside are stored together when it ends; yields True."""


def tag_batch(target: Target) -> AbstractContextManager[bool]:
    """The target's tag batch (yields True: tag writes land when it ends), else nothing (False)."""
    return target.batch_tags() if isinstance(target, BatchesTags) else contextlib.nullcontext(False)
