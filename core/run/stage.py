"""One read of a package for a cold import: blobs go to the registry while the scan reads them.

Without a scan cache, an import used to read each package twice: the scan (checksums and the
index the checks and the plan need), then the run (the blobs to upload). A :class:`BlobStager`
is the scan's :class:`core.package.scan.BlobSink`: each blob is uploaded, as its bytes stream
past, to the repository of the first image its bundle's hints name (``hints.yaml`` and the chart
come before ``images.tar`` in a vendor bundle). The registry checks every blob against its digest,
as the scan does, so nothing unverified is kept. The plan then finds these blobs on the target and
the run mounts them into the other repositories that need them, reading nothing again.

What this writes before the checks is content-addressed blobs no tag points at: a failed check or
a damaged package leaves every tag as it was, and the next run finds the blobs present (as after a
killed run). It is used only where the engineer has already agreed to write (``import --yes``),
only into a registry (a layout's disk is checked before anything is written to it), and any
failure (credentials, a missing space, a registry that stops answering) ends the staging quietly:
the checks then say what is wrong, and the run uploads what is left.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import BinaryIO

from core import events as ev
from core.errors import ArchfuseError
from core.helpers.parallel import SMALL_BLOB, parallel_map, round_trips
from core.package.model import ChartRecord
from core.package.reader import BlobMember
from core.package.tarstream import read_exact
from core.plan.images import landing_repositories
from core.run.concurrency import upload_slots
from core.run.engine import RunOptions
from core.run.pipe import feed_upload
from core.run.progress import stall_text
from core.run.ratelimit import RateLimit
from core.targets.registry import RegistryTarget

#: small blobs read into memory and waiting for an upload slot, at most (each is at most SMALL_BLOB)
_QUEUED_SMALL = 64
#: large blobs fed to their upload and not yet committed, at most (each holds a pipe's depth at most)
_QUEUED_LARGE = 4


@dataclass
class _Reading:
    """A reading thread's uploads in flight, and the blobs and bytes its package staged."""

    pending: list[Future[None]] = field(default_factory=list)  # small blobs, from memory
    large: list[Future[None]] = field(default_factory=list)  # large blobs fed, not yet committed
    counts: list[int] = field(default_factory=lambda: [0, 0])


class BlobStager:
    """Uploads the blobs of the packages a scan reads to ``target`` (see the module's docstring)."""

    def __init__(
        self,
        target: RegistryTarget,
        options: RunOptions,
        *,
        prefix: str = "",
        emit: ev.Emit = ev.discard,
        chooses: Callable[[ChartRecord], bool] | None = None,
    ) -> None:
        """``options``: the run's, for ``--jobs`` (uploads at once), ``--limit-rate`` and the stall time;
        ``chooses``: the charts taken (``--charts``): the blobs of another chart's bundle are only read past."""
        self.chooses = chooses
        self.target = target
        self.prefix = prefix
        self.emit = emit
        #: digest -> a repository of the target that holds the blob (the registry verified it)
        self.sources: dict[str, str] = {}
        self.stopped = ""  # why staging stopped: the first failure
        #: bundle member -> the repositories its hints name; blobs are uploaded to the first
        self._landing: dict[str, tuple[str, ...]] = {}
        self._claimed: set[str] = set()
        self._lock = threading.Lock()
        self._rate = RateLimit(options.rate_limit) if options.rate_limit > 0 else None
        self._pool = ThreadPoolExecutor(round_trips(options.workers), thread_name_prefix="archfuse-stage")
        #: small uploads at once: the pool's size, or what --jobs auto finds (core.run.concurrency)
        self.slots = upload_slots(max(1, options.workers), options.auto_jobs, emit=emit)
        #: per reading thread (packages may be read at once: core.package.scan.scan_paths)
        self._reading = threading.local()
        #: blobs and bytes uploaded over the whole scan (no tag points at them until a run)
        self.uploaded = (0, 0)
        self._in_flight = 0
        self.stall_after = options.stall_after
        self._last_moved = time.monotonic()
        self._last_stall = 0.0

    # -- the scan's BlobSink -------------------------------------------------------------------
    def chart(self, record: ChartRecord) -> None:
        """Where the bundle's blobs go: the repositories of the images its hints name."""
        if self.chooses is not None and not self.chooses(record):
            return  # a chart not taken: its blobs are read past (their decompression is all they cost)
        repositories = landing_repositories(record, self.prefix)
        if repositories:
            self._landing[record.bundle] = repositories

    def blob(self, member: BlobMember) -> None:
        """Upload one blob as the scan reads it (small ones from memory, on the pool)."""
        repositories = self._landing.get(member.bundle.member)
        digest = member.digest
        if self.stopped or repositories is None or digest is None:
            return  # no digest promised (a legacy ``<id>/layer.tar``): the run uploads it after the checks
        with self._lock:
            if digest in self._claimed:
                return
            self._claimed.add(digest)
        self._last_moved = time.monotonic()  # the package is being read
        reading = self._read_state()
        if member.size <= SMALL_BLOB:
            data = read_exact(member.stream, member.size)
            while len(reading.pending) >= _QUEUED_SMALL:
                reading.pending.pop(0).result()
            reading.pending.append(self._pool.submit(
                self._stage, digest, lambda: self._put_small(repositories[0], digest, data, reading.counts)
            ))  # fmt: skip
        else:  # streamed: this thread reads on while an upload thread sends (core.run.pipe), and
            # goes on to the next blob once this one is fed, without waiting for the registry's commit
            size = member.size
            while len(reading.large) >= _QUEUED_LARGE:
                reading.large.pop(0).result()
            counts = reading.counts
            reading.large.append(
                feed_upload(
                    lambda pipe: self._stage(
                        digest, lambda: self._stream_large(repositories, digest, pipe, size, counts)
                    ),
                    member.stream,
                    size,
                    self._pool,
                )
            )

    def tick(self) -> None:
        """From a :class:`core.run.progress.Watchdog`: ``Stalled`` while nothing is read or sent."""
        now = time.monotonic()
        quiet = now - self._last_moved
        if quiet >= self.stall_after and now - self._last_stall >= 1.0:
            self._last_stall = now
            waiting = self.target.client.waiting()
            self.emit(ev.Stalled(round(quiet, 1), stall_text(self._in_flight, self.target.description, waiting)))

    def package_done(self, path: Path) -> None:
        """Wait for the package's uploads and say what was staged."""
        reading = self._read_state()
        for future in reading.pending + reading.large:
            future.result()
        blobs, size = reading.counts
        del self._reading.state  # the thread's next package starts afresh
        self.emit(ev.BlobsStaged(str(path), self.target.description, blobs, size, self.stopped))

    def abandon(self) -> None:
        """The scan was interrupted (a signal: SIGHUP, SIGTERM, Ctrl-C): cut the uploads in flight
        rather than wait for them. The registry keeps their unfinished uploads, noted in the state dir,
        and the next run continues them (core.registry.uploads)."""
        with self._lock:
            self.stopped = self.stopped or "the scan was interrupted"
        halt = threading.Event()
        halt.set()
        self.target.watch(self.emit, halt)  # no request or retry more
        self.target.interrupt()

    def close(self) -> None:
        """Wait for what is in flight and end the upload threads."""
        self._pool.shutdown(wait=True)

    # -- helpers ---------------------------------------------------------------------------------
    def _read_state(self) -> _Reading:
        """This reading thread's uploads in flight and what its package staged."""
        state: _Reading | None = getattr(self._reading, "state", None)
        if state is None:
            state = self._reading.state = _Reading()
        return state

    def _stage(self, digest: str, upload: Callable[[], str]) -> None:
        """Run ``upload`` (it returns the repository that now holds the blob) and note where the blob
        is; a failure stops the staging, never the scan."""
        if self.stopped:
            return
        with self._lock:
            self._in_flight += 1
        try:
            holder = upload()
        except ArchfuseError as err:
            with self._lock:
                self.stopped = self.stopped or str(err)
            return
        finally:
            with self._lock:
                self._in_flight -= 1
            self._last_moved = time.monotonic()
        with self._lock:
            self.sources[digest] = holder

    def _put_small(self, repository: str, digest: str, data: bytes, counts: list[int]) -> str:
        """A small blob, from memory, without asking first: that costs about what asking costs (a round
        trip), and a cold import would ask for every one. Retried as any upload."""
        with self.slots.hold(len(data)):
            self.target.put_blob(repository, digest, len(data), BytesIO(data), self._sent)
        self._count(len(data), counts)
        return repository

    def _stream_large(
        self, repositories: tuple[str, ...], digest: str, stream: BinaryIO, size: int, counts: list[int]
    ) -> str:
        """A large blob: kept where a repository of its bundle holds it already (a re-import without
        the scan cache uploads it not again), else sent to the first as it is read, in chunks the
        client holds until the registry has them (a break resends the chunk). An upload the registry
        dropped cannot start over from a one-way stream: the staging stops and the run uploads what is
        left."""
        held = parallel_map(lambda repository: self.target.blob_exists(repository, digest), repositories, len(repositories))
        holder = next((r for r, have in zip(repositories, held) if have), "")
        if holder:
            return holder
        self.target.stream_blob(repositories[0], digest, size, stream, self._sent)  # fed by a read (_QUEUED_LARGE)
        self._count(size, counts)
        return repositories[0]

    def _count(self, size: int, counts: list[int]) -> None:
        """One blob of ``size`` uploaded, for its package's ``counts`` (blobs, bytes) and the whole scan."""
        with self._lock:
            counts[0] += 1
            counts[1] += size
            self.uploaded = (self.uploaded[0] + 1, self.uploaded[1] + size)

    def _sent(self, size: int) -> None:
        self._last_moved = time.monotonic()
        if self._rate is not None:
            self._rate.take(size)

