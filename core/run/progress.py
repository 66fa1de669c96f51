"""A run's progress: bytes overall, per blob and per image, each image's stage, and stalls.

Upload threads report bytes as they go; events leave throttled (``PROGRESS_INTERVAL``) and carry
totals, so a renderer may keep only the newest per key. Stage changes leave at once. A
:class:`Watchdog` thread keeps time moving while nothing does (a heartbeat, ``Stalled``) and
reacts to a cancel within a fraction of a second.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from core import events as ev
from core.kinds import ImageAction, ImageStage
from core.plan.images import ImagePlan, Plan

PROGRESS_INTERVAL = 0.1  # seconds between throttled progress events
HEARTBEAT = 1.0  # a BytesProgress at least this often while the run goes on (time and rate move)
TICK = 0.25  # how often the watchdog looks
#: seconds without a byte before a run says it is stalled: with small send buffers (core.http.interrupt)
#: a frozen registry stops the bytes at once, so the stall line shows within about this long
STALL_AFTER = 3.0

ImageKey = tuple[str, str]  # (destination, platform)


@dataclass
class _Blob:
    repository: str
    image: str
    size: int
    sent: int = 0


def _key(image: ImagePlan) -> ImageKey:
    return image.destination, image.platform


class RunProgress:
    """Thread-safe counters of one run that emit throttled progress events."""

    def __init__(
        self, emit: ev.Emit, plan: Plan, read_total: int, target: str, *, stall_after: float = STALL_AFTER,
        waiting: Callable[[], str] | None = None, after: Callable[[], float] | None = None,
    ) -> None:
        """``waiting``: what the target is waiting for now (its requests open), for the stall line;
        ``after``: seconds the run needs after its last byte (manifests, tags, verify), for the ETA."""
        self.emit, self.total, self.read_total, self.target = emit, plan.bytes_to_upload, read_total, target
        self.stall_after = stall_after  # seconds without any progress before ``Stalled``
        self._waiting = waiting
        self._after = after
        self.done = 0
        self.read = 0
        self._read_base = 0
        self._last_emit = 0.0
        self._last_stall = 0.0
        self.last_moved = time.monotonic()
        self._lock = threading.RLock()
        self._in_flight: dict[str, _Blob] = {}
        self._sent: dict[str, int] = {}
        self._finished: set[str] = set()  # blobs in every repository that needs them
        uploads = {digest: need for digest, need in plan.blobs.items() if need.upload}  # mounts carry no bytes
        self._sizes = {digest: need.blob.size for digest, need in uploads.items()}
        self._images: dict[ImageKey, ImagePlan] = {}
        self._blobs_of: dict[ImageKey, list[str]] = {}
        self._users: dict[str, list[ImageKey]] = {}
        self._stages: dict[ImageKey, ImageStage] = {}
        self._dirty: set[ImageKey] = set()
        for image in plan.images:
            key = _key(image)
            self._images[key] = image
            digests = sorted(
                {
                    b.digest
                    for b in image.image.blobs()
                    if b.digest in uploads and image.repository in uploads[b.digest].repositories
                }
            ) if image.action not in (ImageAction.UNCHANGED, ImageAction.ERROR) else []
            self._blobs_of[key] = digests
            for digest in digests:
                self._users.setdefault(digest, []).append(key)

    # -- stages -------------------------------------------------------------------------------
    def start(self) -> None:
        """Every image's first stage: unchanged, failed (a planned error) or queued."""
        with self._lock:
            for key, image in self._images.items():
                if image.action == ImageAction.UNCHANGED:
                    self._set(key, ImageStage.UNCHANGED)
                elif image.action == ImageAction.ERROR:
                    self._set(key, ImageStage.FAILED)
                else:
                    self._set(key, ImageStage.QUEUED)

    def stage(self, images: Iterable[ImagePlan], stage: ImageStage) -> None:
        """Move images to ``stage`` (images that are unchanged or failed stay so)."""
        with self._lock:
            self.last_moved = time.monotonic()
            for image in images:
                key = _key(image)
                if self._stages.get(key) not in (ImageStage.UNCHANGED, ImageStage.FAILED):
                    self._set(key, stage)

    def image_done(self, destination: str, platform: str, action: ImageAction) -> None:
        """An image's tag was written (or needed nothing): done or unchanged."""
        final = ImageStage.UNCHANGED if action == ImageAction.UNCHANGED else ImageStage.DONE
        key = (destination, platform)
        with self._lock:
            if key in self._images and self._stages.get(key) != ImageStage.FAILED:
                self._set(key, final)

    def _set(self, key: ImageKey, stage: ImageStage) -> None:
        if self._stages.get(key) == stage:
            return
        self._stages[key] = stage
        self._dirty.discard(key)
        self.emit(self._image_event(key))

    def _label(self, key: ImageKey) -> str:
        image = self._images[key]
        return f"{image.repository}:{image.tag}"

    def _image_event(self, key: ImageKey) -> ev.ImageProgress:
        digests = self._blobs_of[key]
        done = sum(min(self._sent.get(d, 0), self._sizes[d]) for d in digests)
        total = sum(self._sizes[d] for d in digests)
        return ev.ImageProgress(key[0], key[1], self._stages[key], done, total)

    # -- bytes --------------------------------------------------------------------------------
    def blob_meter(self, repository: str, digest: str) -> Callable[[int], None]:
        """The progress callback of one blob upload; its images start uploading."""
        users = self._users.get(digest, [])
        size = self._sizes.get(digest, 0)
        with self._lock:
            self._in_flight[digest] = _Blob(repository, self._label(users[0]) if users else repository, size)
            for key in users:
                if self._stages.get(key) == ImageStage.QUEUED:
                    self._set(key, ImageStage.UPLOADING)

        def sent(n: int) -> None:
            with self._lock:
                self.done += n
                self._sent[digest] = self._sent.get(digest, 0) + n
                blob = self._in_flight.get(digest)
                if blob is not None:
                    blob.sent += n
                self._dirty.update(users)
                self.last_moved = time.monotonic()
            self._maybe_emit()

        return sent

    def blob_done(self, digest: str, failed: bool = False) -> None:
        """A blob is in every repository that needed it (or failed): its images move on when complete."""
        with self._lock:
            self._in_flight.pop(digest, None)
            self._finished.add(digest)
            self.last_moved = time.monotonic()
            for key in self._users.get(digest, []):
                if failed:
                    self._set(key, ImageStage.FAILED)
                elif self._stages.get(key) in (ImageStage.QUEUED, ImageStage.UPLOADING) and all(
                    d in self._finished for d in self._blobs_of[key]
                ):
                    self._set(key, ImageStage.MANIFESTS)

    def in_flight(self, over: int = 0) -> int:
        """Blobs on their way now (those larger than ``over`` bytes: ``SMALL_BLOB`` for the ones that
        hold a ``--jobs`` writer slot)."""
        with self._lock:
            return sum(1 for blob in self._in_flight.values() if blob.size > over)

    def package_read(self, done: int, _total: int) -> None:
        self.read = self._read_base + done
        if not self._in_flight:  # reading is progress, unless it only fills the spool behind stuck uploads
            self.last_moved = time.monotonic()
        self._maybe_emit()

    def next_package(self, size: int) -> None:
        self._read_base += size
        self.read = self._read_base

    def touch(self) -> None:
        """Something finished (a manifest, a tag): the run is not stalled."""
        self.last_moved = time.monotonic()

    def _maybe_emit(self, force: bool = False) -> None:
        with self._lock:
            now = time.monotonic()
            if not force and now - self._last_emit < PROGRESS_INTERVAL:
                return
            self._last_emit = now
            after = self._after() if self._after is not None else 0.0
            self.emit(ev.BytesProgress(self.done, self.total, self.read, self.read_total, after))
            for key in sorted(self._dirty):
                self.emit(self._image_event(key))
            self._dirty.clear()
            for digest, blob in self._in_flight.items():
                self.emit(ev.BlobProgress(blob.repository, digest, blob.image, blob.sent, blob.size))

    def flush(self) -> None:
        self._maybe_emit(force=True)

    def tick(self) -> None:
        """From the watchdog: a heartbeat while nothing is sent, and ``Stalled`` once nothing moves."""
        now = time.monotonic()
        quiet = now - self.last_moved
        if now - self._last_emit >= HEARTBEAT:
            self._maybe_emit(force=True)
        if quiet >= self.stall_after and now - self._last_stall >= 1.0:
            self._last_stall = now
            waiting = self._waiting() if self._waiting is not None else ""
            self.emit(ev.Stalled(round(quiet, 1), stall_text(self.in_flight(), self.target, waiting)))


def stall_text(uploads: int, target: str, waiting: str = "") -> str:
    """What a stalled run or read waits for: what the target says (``2 requests to http://… open;
    one that moves no byte for 60 s is retried on a new connection``), else ``3 uploads to … in flight``."""
    if waiting:
        return waiting
    return f"{uploads} upload{'s' if uploads != 1 else ''} to {target} in flight" if uploads else f"waiting for {target}"


class Watchdog:
    """A thread that calls ``tick`` (a heartbeat: progress, stalls) every TICK seconds and
    ``on_cancel`` once, soon after ``cancel`` is set."""

    def __init__(
        self, tick: Callable[[], None], cancel: threading.Event | None = None, on_cancel: Callable[[], None] = lambda: None
    ) -> None:
        self.tick, self.cancel, self.on_cancel = tick, cancel or threading.Event(), on_cancel
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="archfuse-watchdog", daemon=True)

    def __enter__(self) -> Watchdog:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        cancelled = False
        while not self._stop.wait(TICK):
            if not cancelled and self.cancel.is_set():
                cancelled = True
                self.on_cancel()
            self.tick()
