"""A run: the plan carried out against a target, emitting events, honouring cancellation.

Order of work, so a failed or killed run leaves every tag as it was:
1. blobs, streamed from the package (one pass per package that holds a missing blob) through a
   bounded spool to concurrent uploads, or mounted from another repository of the target;
2. per-platform manifests, by digest;
3. tags last: each tag is re-read, re-merged if it moved since the plan, and written once.
A re-run is a new plan: whatever the last run finished is found present and skipped.
"""

from __future__ import annotations

import contextlib
import functools
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from core import events as ev
from core.advice import Advice
from core.charts.oci import OciChartDestination
from core.errors import ArchfuseError, BlobUnknown, Cancelled, RegistryError, TargetError
from core.helpers.parallel import DEFAULT_JOBS, parallel_map, round_trips
from core.kinds import BlobHow, ChartAction, ImageAction, ImageStage, RunStatus
from core.oci import fusion
from core.oci.manifest import ManifestRef
from core.package.reader import BlobMember, iter_package
from core.plan.charts import ChartJob, planned, push_charts
from core.plan.images import BlobNeed, ImagePlan, Plan, TagPlan
from core.plan.results import ChartResult, ImageResult, RunSummary, counts
from core.registry.retry import RETRYABLE_STATUS, Retrying, RetryPolicy
from core.run import converge
from core.run.concurrency import upload_slots
from core.run.pipe import piped_upload
from core.run.progress import STALL_AFTER, RunProgress, Watchdog
from core.run.ratelimit import RateLimit
from core.run.spool import SpoolBudget, spool_copy
from core.targets.base import Target, Waiting, Watched, tag_batch

TAG_RETRIES = 5
#: see RunOptions.recheck_after: Harbor keeps an unreferenced blob for 2 hours after it was last touched
RECHECK_AFTER = 3600.0
#: the reads around a tag write, once the client's own tries all met a transient server error:
#: distribution answers 500 ("invalid checksum digest format") to reads of a tag while other tags of
#: the same manifest are being written, for seconds when one image has thousands of tags
TAG_READ_RETRY = RetryPolicy(attempts=6, base_delay=0.5, max_delay=8.0, max_total=120.0)


@dataclass
class RunOptions:
    spool_budget: int = 256 << 20
    spool_dir: Path | None = None
    memory_spool: int = 32 << 20  # a spooled blob stays in memory up to this size
    workers: int = DEFAULT_JOBS  # --jobs: blob uploads at once; other requests: core.helpers.parallel.round_trips
    #: --jobs auto: ``workers`` is the most uploads at once, the run finds how many (core.run.concurrency)
    auto_jobs: bool = False
    rate_limit: int = 0  # --limit-rate: most bytes per second uploaded by all workers together (0: no limit)
    settle: float = converge.SETTLE  # seconds before re-reading the tags written (core.run.converge)
    stall_after: float = STALL_AFTER  # seconds without progress before the run says it is stalled
    #: seconds after which a blob seen on the target (by the plan) is looked at again before a manifest
    #: names it: online garbage collection (Harbor's) may have taken it; the look refreshes Harbor's window
    recheck_after: float = RECHECK_AFTER


class RunRecorder(Protocol):
    """What the journal hears from a run, as it happens (see core.run.lifecycle)."""
    def tag_moving(self, repository: str, tag: str, before: str | None, after: str) -> None:
        """A tag is about to move from ``before`` to ``after``."""
    def image_done(self, result: ImageResult) -> None:
        """An image's tag is written (or needed no write)."""
    def chart_done(self, result: ChartResult) -> None:
        """A chart version is pushed (or needed no push, or failed)."""

class BlobFeed(Protocol):
    """Who reads the packages for a run that shares its one read with other sites' runs (core.run.fanout)."""
    def deliver(self, run: ImportRun, needs: list[BlobNeed]) -> None:
        """Upload ``needs`` to ``run``'s target from the shared read; returns once they are placed, or
        raises as :meth:`ImportRun._read_and_push` does."""

class NoRecorder:
    """A run nobody records (tests, tools)."""
    def tag_moving(self, repository: str, tag: str, before: str | None, after: str) -> None:
        pass

    def image_done(self, result: ImageResult) -> None:
        pass

    def chart_done(self, result: ChartResult) -> None:
        pass


class ImportRun:
    """One import run of a plan into a target."""
    def __init__(
        self,
        plan: Plan,
        target: Target,
        *,
        options: RunOptions | None = None,
        emit: ev.Emit = ev.discard,
        cancel: threading.Event | None = None,
        recorder: RunRecorder | None = None,
        run_id: str | None = None,
        charts: ChartJob | None = None,
        staged: int = 0,
        feed: BlobFeed | None = None,
    ) -> None:
        """``staged``: the bytes this import uploaded while its packages were read, before the run
        (:mod:`core.run.stage`); they are counted in the run's ``bytes_uploaded``. ``feed``: the
        packages are read by a reader other sites' runs share (:mod:`core.run.fanout`), not by this run."""
        self.plan = plan
        self.staged = staged
        self.target = target
        self.options = options or RunOptions()
        self.emit = emit
        self.cancel = cancel or threading.Event()
        self.recorder: RunRecorder = recorder or NoRecorder()
        self.run_id = run_id or uuid.uuid4().hex[:12]
        self.charts = charts
        self.feed = feed
        self.budget = SpoolBudget(self.options.spool_budget)
        self._abort = threading.Event()
        self._tags_moved = False
        self._remerged = 0
        self._failures: list[str] = []
        self._lock = threading.Lock()
        rate = self.options.rate_limit
        self._rate = RateLimit(rate, sleep=self.cancel.wait) if rate > 0 else None
        self._trips = round_trips(self.options.workers)  # requests without blob data at once
        #: blobs over SMALL_BLOB at once (and, for --jobs auto, small ones): core.run.concurrency
        self._writers = upload_slots(max(1, self.options.workers), self.options.auto_jobs, emit=self.emit)
        self._images: dict[tuple[str, str], tuple[ImageResult, ...]] = {}  # (repository, tag) -> results
        self._placed: set[tuple[str, str]] = set()  # (repository, digest): blobs this run uploaded or mounted
        self._charts: list[ChartResult] = []

    # -- public -------------------------------------------------------------------------
    def execute(self) -> RunSummary:
        """Carry out the plan; never raises for import failures (they are in the summary)."""
        started = time.monotonic()
        plan = self.plan
        read_total = sum(
            p.size for p in plan.packages if any(n.upload and n.package == p.path for n in plan.blobs.values())
        )
        self.progress = RunProgress(
            self.emit, plan, read_total, self.target.description, stall_after=self.options.stall_after,
            waiting=self.target.waiting if isinstance(self.target, Waiting) else None,
            after=self._after_bytes,
        )
        chart_plans = self.charts.plans if self.charts is not None else []
        self.emit(
            ev.RunStarted(
                self.run_id,
                self.target.description,
                tuple(p.path for p in plan.packages),
                len(plan.images),
                len(chart_plans),
                plan.bytes_to_upload,
            )
        )
        status = RunStatus.DONE
        self.progress.start()
        watched = self.target if isinstance(self.target, Watched) else None
        if watched is not None:
            watched.watch(self._writers.watching(self.emit), self.cancel)
        try:
            with Watchdog(self.progress.tick, self.cancel, self._on_cancel):
                self._check_planned_errors()
                self._prepare()
                self._upload_blobs()
                self._put_manifests()
                self._move_tags()
                self._converge_tags()
                self._push_charts()
                self._reread_tags()
        except ArchfuseError as err:
            if isinstance(err, Cancelled) or (self.cancel.is_set() and not self._tags_moved):
                status = RunStatus.CANCELLED  # a cut request fails as a cancel: logged as one, not as a failure
                with self._lock:
                    self._failures.insert(0, self._cancel_message())
            else:
                status = RunStatus.FAILED
                if str(err) not in self._failures:
                    self._fail("run", str(err))
        finally:
            if watched is not None:
                watched.watch(self.emit, None)
        if status == RunStatus.DONE and self._failures:
            status = RunStatus.FAILED
        self.progress.flush()
        seconds = time.monotonic() - started
        images = tuple(
            result
            for tag in plan.tags
            for result in self._images.get((tag.repository, tag.tag)) or _planned(tag, tag.current, tag.result)
        )
        charts = tuple(self._charts) or tuple(planned(c) for c in chart_plans)
        message = self._failures[0] if self._failures else ""
        self.emit(
            ev.RunFinished(
                self.run_id,
                status,
                len(plan.images),
                len(chart_plans),
                self.staged + self.progress.done,
                seconds,
                message,
                peak_spool=self.budget.peak,
                remerged=self._remerged,
                bytes_staged=self.staged,
            )
        )
        return RunSummary(
            self.run_id,
            status,
            self.staged + self.progress.done,
            seconds,
            counts(images),
            list(self._failures),
            self.budget.peak,
            self._remerged,
            images=images,
            charts=charts,
        )

    def _after_bytes(self) -> float:
        """Seconds the run needs after its last byte: a round trip per manifest, three per tag (read,
        write, read back) and two more (the re-read, a verify), ``jobs`` requests at once, and the
        settle before the re-read (core.run.converge)."""
        round_trip = self.target.round_trip() if isinstance(self.target, Waiting) else 0.0
        manifests = sum(1 for i in self.plan.images if i.action not in (ImageAction.UNCHANGED, ImageAction.ERROR))
        tags = sum(1 for t in self.plan.tags if t.changed)
        trips = manifests + 5 * tags
        settle = self.options.settle if tags else 0.0
        return settle + round_trip * -(-trips // max(1, self._trips))

    def _on_cancel(self) -> None:
        """From the watchdog, soon after a cancel: stop waiting for uploads (tags, once begun, finish)."""
        self._abort.set()
        if not self._tags_moved and isinstance(self.target, Watched):
            self.target.interrupt()

    # -- phases -------------------------------------------------------------------------
    def _prepare(self) -> None:
        """Tokens up front: to write every repository a tag changes in, and to read the mount sources."""
        sources = {n.source or min(n.repositories) for n in self.plan.blobs.values() if n.source or len(n.repositories) > 1}
        self.target.prepare(sorted(sources), sorted({t.repository for t in self.plan.tags if t.changed}))

    def _check_planned_errors(self) -> None:
        bad = [i for i in self.plan.images if i.action == ImageAction.ERROR]
        for image in bad:
            self._fail(image.destination, image.error)
        if bad:
            raise TargetError(
                f"{len(bad)} image tag(s) cannot be fused, so nothing was written: {bad[0].error}"
            )

    def _upload_blobs(self) -> None:
        to_read = self._mount_held()
        if self.feed is not None:
            self.feed.deliver(self, to_read)
        else:
            self._read_and_push(to_read)

    def _read_and_push(self, to_read: list[BlobNeed]) -> None:
        """Read each package holding a blob of ``to_read`` once and upload those blobs as they come."""
        by_package: dict[str, dict[tuple[str, str], BlobNeed]] = {}
        for need in to_read:
            by_package.setdefault(need.package, {})[(need.bundle, need.blob.member)] = need
        sizes = {p.path: p.size for p in self.plan.packages}
        pending: list[Future[None]] = []
        done: set[str] = set()
        with ThreadPoolExecutor(self._trips, thread_name_prefix="archfuse-upload") as pool:
            for package, wanted in by_package.items():
                self.emit(ev.PackageStarted(package, *self._package_label(package)))
                for item in iter_package(Path(package), progress=self.progress.package_read):
                    self._check_cancel()
                    if not isinstance(item, BlobMember):
                        continue
                    found = wanted.get((item.bundle.member, item.member))
                    if found is None or found.blob.digest in done:
                        continue
                    done.add(found.blob.digest)
                    if self.budget.fits(item.size) and not self._stream_past_spool(found):
                        if not self.budget.acquire(item.size, self._abort):
                            self._check_cancel()
                            self._raise_if_failed()
                        try:
                            self._check_cancel()
                            spool = spool_copy(
                                item.stream, item.size, self.options.spool_dir, self.options.memory_spool
                            )
                        except BaseException:
                            self.budget.release(item.size)
                            raise
                        pending.append(pool.submit(self._push_spooled, found, spool))
                    else:  # streamed: this thread reads on while a pool thread sends (core.run.pipe)
                        piped_upload(
                            functools.partial(self._push, found, seekable=False), item.stream, item.size, pool
                        )
                    pending = _prune(pending)
                self.progress.next_package(sizes.get(package, 0))
            for future in pending:
                future.result()
        self.check_read(to_read, done)

    def check_read(self, to_read: list[BlobNeed], done: set[str]) -> None:
        """After the read: raise the first upload failure, else TargetError for a blob of ``to_read``
        the packages did not hold (``done``: the digests read)."""
        self._raise_if_failed()
        missing = [n for n in to_read if n.blob.digest not in done]
        if missing:
            need = missing[0]
            raise TargetError(Advice(
                f"{need.package}: blob {need.blob.digest} ({need.blob.member} in {need.bundle}) was not found "
                "while reading the package; {rescan}, the file may have changed."
            ))

    def _mount_held(self) -> list[BlobNeed]:
        """Mount every blob the target holds in another repository (its ``source``) where it is
        missing; returns the blobs to read from the packages: the rest, and any mount refused."""
        mounts = [(need, repo) for need in self.plan.blobs.values() if not need.upload for repo in sorted(need.repositories)]

        def mount(item: tuple[BlobNeed, str]) -> bool:
            need, repo = item
            done = self.target.mount_blob(repo, need.blob.digest, need.source)
            if done:
                self._placed.add((repo, need.blob.digest))
                self.emit(ev.BlobDone(repo, need.blob.digest, need.blob.size, BlobHow.MOUNTED))
            self.progress.touch()
            return done

        mounted = parallel_map(mount, mounts, self._trips, check=self._check_cancel, name="archfuse-mount")
        refused = {need.blob.digest: need for (need, _repo), ok in zip(mounts, mounted) if not ok}
        return [n for n in self.plan.blobs.values() if n.upload] + list(refused.values())

    def _stream_past_spool(self, need: BlobNeed) -> bool:
        """True to stream this blob straight to the target rather than wait for room in the spool.

        A blob over half the budget cannot share the spool with another like it, so waiting would
        stop the package reader until the upload in flight ends. When it does not fit now, such a
        blob is streamed if it goes to one repository only (no second upload can be needed).
        """
        size, budget = need.blob.size, self.budget
        return size * 2 > budget.limit and len(need.repositories) == 1 and budget.used + size > budget.limit

    def _push_spooled(self, need: BlobNeed, spool: BinaryIO) -> None:
        self.push_held(need, spool, functools.partial(self.budget.release, need.blob.size))

    def push_held(self, need: BlobNeed, stream: BinaryIO, release: Callable[[], None], *,
                  seekable: bool = True) -> None:
        """Upload a blob held for this run (spooled, or piped by a shared reader when not
        ``seekable``); a failure fails the run, not the caller. ``stream`` is closed and ``release``
        called after, whatever happened."""
        try:
            if not self._abort.is_set():
                self._push(need, stream, seekable=seekable)
        except ArchfuseError as err:
            if self.cancel.is_set():  # the cancel cut it: the run stops as cancelled, not failed
                return
            self.progress.blob_done(need.blob.digest, failed=True)
            self._fail(need.blob.digest, str(err))
        finally:
            stream.close()
            release()

    @property
    def failing(self) -> bool:
        """True once an upload (or anything else) failed this run, or it was cancelled: no more blobs."""
        return self._abort.is_set()

    def _push(self, need: BlobNeed, stream: BinaryIO, *, seekable: bool) -> None:
        """Upload one blob to the first repository that needs it, then mount it into the others."""
        repos = sorted(need.repositories)
        first = repos[0]
        digest, size = need.blob.digest, need.blob.size
        with self._writing(size):  # in flight from here: a blob waiting for a writer slot is not
            sent = functools.partial(self._sent, self.progress.blob_meter(first, digest))
            self.target.put_blob(first, digest, size, stream, sent)
        self._placed.add((first, digest))
        self.emit(ev.BlobDone(first, digest, size, BlobHow.UPLOADED))
        others = repos[1:]
        mounted = parallel_map(
            lambda repo: self.target.mount_blob(repo, digest, first), others, self._trips, name="archfuse-mount"
        )
        for index, repo in enumerate(others):
            if mounted[index]:
                self._placed.add((repo, digest))
                self.emit(ev.BlobDone(repo, digest, size, BlobHow.MOUNTED))
                continue
            if not seekable:
                raise TargetError(
                    f"{self.target.description} refused to mount blob {digest} into {repo}.",
                    hint=Advice("Run the import again with a larger spool budget ({spool_budget}) so the blob can "
                                "be uploaded twice."),
                )
            stream.seek(0)
            with self._writing(size):
                self.target.put_blob(repo, digest, size, stream, sent)
            self._placed.add((repo, digest))
            self.emit(ev.BlobDone(repo, digest, size, BlobHow.UPLOADED))
        self.progress.blob_done(digest)

    @contextlib.contextmanager
    def _writing(self, size: int) -> Iterator[None]:
        """Hold one of the ``--jobs`` writer slots while a blob over :data:`SMALL_BLOB` uploads (a share of
        one for a small blob under ``--jobs auto``)."""
        with self._writers.hold(size):
            yield

    def _sent(self, meter: Callable[[int], None], size: int) -> None:
        """Bytes an upload just sent: counted (on its blob's ``meter``), and held back by ``--limit-rate``."""
        meter(size)
        if self._rate is not None:
            self._rate.take(size)

    def _put_manifests(self) -> None:
        todo: dict[tuple[str, str], ImagePlan] = {}
        for image in self.plan.images:
            if image.action not in (ImageAction.UNCHANGED, ImageAction.ERROR):
                todo[(image.repository, image.digest)] = image

        self.progress.stage(self.plan.images, ImageStage.MANIFESTS)
        stale = time.monotonic() - self.plan.planned_at >= self.options.recheck_after

        def put(item: tuple[tuple[str, str], ImagePlan]) -> None:
            (repo, digest), image = item
            if stale:  # the plan saw these blobs long ago: look again (and refresh Harbor's window)
                self._restore_blobs(image, ())
            try:
                self.target.put_manifest(repo, digest, image.manifest)
            except BlobUnknown as err:  # collected since: upload it again from the package, then once more
                self._restore_blobs(image, err.digests)
                self.target.put_manifest(repo, digest, image.manifest)
            self.progress.touch()

        # one manifest failing for good fails the run: the rest are not started
        parallel_map(put, list(todo.items()), self._trips, check=self._check_cancel, name="archfuse-manifest")

    def _restore_blobs(self, image: ImagePlan, named: tuple[str, ...]) -> None:
        """Upload again, from the package, the blobs of ``image`` its repository lacks now: those the
        registry ``named`` as unknown, else every blob this run did not place itself that a look finds
        missing (garbage collection since the plan)."""
        repo = image.repository
        blobs = [b for b in image.image.blobs() if (b.digest in named if named else (repo, b.digest) not in self._placed)]
        if not named:
            found = parallel_map(lambda b: self.target.blob_exists(repo, b.digest), blobs, self._trips,
                                 name="archfuse-recheck")
            blobs = [b for b, there in zip(blobs, found) if not there]
        if not blobs:
            return
        self.emit(ev.Warning(
            f"{len(blobs)} blob(s) of {repo}:{image.tag} ({blobs[0].digest}) seen on {self.target.description} "
            "before are gone (garbage collection?); uploading them again from the package."
        ))
        self.progress.total += sum(b.size for b in blobs)
        self._read_and_push([BlobNeed(b, image.package, image.image.bundle, {repo}) for b in blobs])

    def _move_tags(self) -> None:
        """Write every changed tag, independent tags at once (one writer per tag); a cancel arriving
        now is honoured after the last tag (see _check_cancel); a tag failing stops new ones."""
        self._check_cancel()
        self._tags_moved = True
        if isinstance(self.target, Watched):
            self.target.watch(self.emit, None)  # the tag phase, once begun, finishes
        with tag_batch(self.target) as batched:
            if not batched:
                parallel_map(self._tag_step, self.plan.tags, self._trips, name="archfuse-tag")
                return
            # one index.json for every tag (an OCI layout): written when the batch ends, reported after
            written = parallel_map(self._tag_write, self.plan.tags, self._trips, name="archfuse-tag")
        for tag, (current, result) in zip(self.plan.tags, written):
            self._tag_report(tag, current, result)

    def _tag_step(self, tag: TagPlan) -> None:
        """One tag: written when it changes, then its images reported done."""
        self._tag_report(tag, *self._tag_write(tag))

    def _tag_write(self, tag: TagPlan) -> tuple[ManifestRef | None, fusion.MergeResult | None]:
        """One tag written when it changes: what it held before and the merge written."""
        if tag.changed:
            self.progress.stage(tag.images, ImageStage.FUSING)
        written = self._write_tag(tag) if tag.changed else (tag.current, tag.result)
        self.progress.touch()
        return written

    def _tag_report(self, tag: TagPlan, current: ManifestRef | None, result: fusion.MergeResult | None) -> None:
        """One tag's images reported done (events, progress, journal)."""
        results = _planned(tag, current, result)
        self._images[(tag.repository, tag.tag)] = results
        for image in results:
            self.progress.image_done(image.destination, image.platform, image.action)
            self.emit(
                ev.ImageDone(
                    image.ref,
                    image.destination,
                    image.platforms_before,
                    image.platforms_after,
                    image.action,
                    image.tag_after or image.digest,
                )
            )
            self.recorder.image_done(image)

    def _converge_tags(self, *, final: bool = False) -> None:
        """Re-read the tags written until each serves what the run imported (core.run.converge)."""
        written = converge.written_tags(self.plan.tags)
        if written:
            self._remerged += converge.converge(
                self.target, written, self._rewrite_tag, emit=self.emit, settle=self.options.settle, jobs=self._trips,
                final=final,
            )

    def _reread_tags(self) -> None:
        """The last step against the target: after a chart phase, every tag the run wrote is read once
        more and re-merged where another writer dropped a platform meanwhile (bounded, as before the
        charts). A writer after this read is not seen: ``archfuse verify`` says what the tags serve."""
        if self._charts:
            self._converge_tags(final=True)

    def _rewrite_tag(self, tag: TagPlan) -> None:
        """Merge a tag again after another writer dropped a platform; its images' results follow."""
        current, result = self._write_tag(tag)
        self._images[(tag.repository, tag.tag)] = _planned(tag, current, result)

    def _write_tag(self, tag: TagPlan) -> tuple[ManifestRef | None, fusion.MergeResult]:
        """Write one tag: re-read, re-merge if it moved since the plan, then put it once.

        Returns what the tag held before the write and the merge written (the plan is left as it is).
        """
        assert tag.result is not None
        platform_of = fusion.config_platform_reader(lambda d: self.target.get_blob(tag.repository, d))
        result, current = tag.result, tag.current
        for _attempt in range(TAG_RETRIES):
            now = self._read_tag(tag)
            if _digest(now) != _digest(current):
                current = now
                result = fusion.merge(current, tag.additions, platform_of)
            if result.manifest is None:
                return current, result
            self.recorder.tag_moving(tag.repository, tag.tag, _digest(current), result.manifest.digest)
            self.target.put_manifest(tag.repository, tag.tag, result.manifest)
            written = self._read_tag(tag)
            if _digest(written) == result.manifest.digest:
                return current, result
            current = written  # another client wrote between our read and write: merge again
            result = fusion.merge(current, tag.additions, platform_of)
        raise TargetError(
            f"{self.target.host}/{tag.repository}:{tag.tag} kept changing while archfuse merged into it; "
            "stop the other client pushing to it and run the import again."
        )

    def _read_tag(self, tag: TagPlan) -> ManifestRef | None:
        """What a tag holds now; a transient server error that outlasted the client's tries is waited
        out with a longer backoff (:data:`TAG_READ_RETRY`), the waits told as retries."""
        what = f"a read of {tag.repository}:{tag.tag}"

        def notice(reason: str, attempt: int, delay: float, until: float) -> None:
            self.emit(ev.Retrying(self.target.host, what, reason, attempt + 2, until, delay))

        tries = Retrying(TAG_READ_RETRY, notice)
        while True:
            try:
                return self.target.get_manifest(tag.repository, tag.tag)
            except RegistryError as err:
                if err.status not in RETRYABLE_STATUS or not tries.again(str(err), reason=f"HTTP {err.status}"):
                    raise

    def _push_charts(self) -> None:
        """The chart phase, after the tags: charts point at tags that now exist."""
        if self.charts is None or not self.charts.plans:
            return
        self._check_cancel()
        destination, recorder = self.charts.destination, self.recorder
        if isinstance(destination, OciChartDestination) and destination.target is self.target:
            destination.on_tag_moving = recorder.tag_moving  # journaled like image tags: rollback undoes them
        results = push_charts(self.charts, emit=self.emit, jobs=self._trips)
        self._charts = results
        for result in results:
            self.recorder.chart_done(result)
        with self._lock:
            self._failures.extend(r.error for r in results if r.action == ChartAction.ERROR)
        kept = [r for r in results if r.action == ChartAction.CONFLICT]
        if kept:
            self.emit(ev.Warning(Advice(
                f"{len(kept)} chart version(s) were kept because the destination holds other content for them "
                f"({', '.join(f'{r.name}-{r.version}' for r in kept[:5])}); run the import again and "
                "{force_charts} to overwrite them."
            )))

    # -- helpers ------------------------------------------------------------------------
    def _package_label(self, path: str) -> tuple[str, str]:
        for package in self.plan.packages:
            if package.path == path:
                return package.version, package.arch
        return "", ""

    def _check_cancel(self) -> None:
        if self.cancel.is_set():
            self._abort.set()
            raise Cancelled(self._cancel_message())
        self._raise_if_failed()

    def _cancel_message(self) -> str:
        if self._tags_moved:  # the tag phase, once begun, finishes: only the charts are left
            return (
                "The run was cancelled after its image tags moved, before the charts were pushed; "
                "run the same import again to push them."
            )
        return "The run was cancelled before any tag moved; run the same import again to continue."

    def _fail(self, subject: str, message: str) -> None:
        with self._lock:
            self._failures.append(message)
            self._abort.set()
        self.emit(ev.Failure(subject, message))

    def _raise_if_failed(self) -> None:
        if self._abort.is_set() and self._failures:
            raise TargetError(self._failures[0])


def _prune(futures: list[Future[None]]) -> list[Future[None]]:
    """Drop finished futures, re-raising anything a worker did not turn into a failure."""
    for future in futures:
        if future.done():
            future.result()
    return [f for f in futures if not f.done()]


def _digest(manifest: ManifestRef | None) -> str | None:
    return manifest.digest if manifest else None


def _planned(
    tag: TagPlan, current: ManifestRef | None, result: fusion.MergeResult | None
) -> tuple[ImageResult, ...]:
    """Each image of a tag as the merge ``result`` over ``current`` leaves it (the plan's own when not run)."""
    before = current.digest if current is not None else ""
    after = result.manifest.digest if result is not None and result.manifest is not None else before
    return tuple(
        ImageResult(
            ref=image.ref,
            platform=image.platform,
            repository=image.repository,
            tag=image.tag,
            destination=image.destination,
            action=image.action if result is None else result.actions.get(image.platform, ImageAction.UNCHANGED),
            digest=image.digest,
            tag_before=before,
            tag_after=after,
            platforms_before=image.platforms_before if result is None else result.platforms_before,
            platforms_after=image.platforms_after if result is None else result.platforms_after,
            upload_bytes=image.upload_bytes,
            error=image.error,
        )
        for image in tag.images
    )
