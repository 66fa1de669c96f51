"""Native fan-out: one read of the packages feeding several sites' runs.

Each site keeps a run of its own (:class:`~core.run.engine.ImportRun`: its plan, run lock, journal
entry, ``--limit-rate``, convergent tag writes). When a run reaches its blob phase it hands the
blobs its target lacks to its :class:`SiteFeed` and waits. Once every site has done so (or ended
without, a planned error for instance), the one reader reads each package once, spools each blob
one time (counted once in the spool budget, whatever the number of sites) and queues an upload of
it on the upload threads of each site that needs it.

A slow site holds the spooled blobs it has not sent yet, so it slows the reader, and the other
sites, only once the spool budget is full. A blob larger than the budget is streamed to every site
that needs it at once, at the pace of the slowest. A site that fails is sent nothing more; the
others go on, and its run ends failed with the reason (the next run resumes it alone: its plan
finds what it holds, and the other sites' plans find everything there).
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, cast

from core import events as ev
from core.errors import Cancelled
from core.helpers.parallel import round_trips
from core.package.reader import BlobMember, iter_package
from core.plan.images import BlobNeed
from core.run.engine import ImportRun, RunOptions
from core.run.pipe import PIECE, Pipe
from core.run.spool import SharedSpool, SpoolBudget

CANCELLED = "The run was cancelled before any tag moved; run the same import again to continue."


class SiteFeed:
    """One site's side of a :class:`FanOut`: the run's :class:`~core.run.engine.BlobFeed`."""

    def __init__(self, fanout: FanOut) -> None:
        self._fanout = fanout
        self.run: ImportRun | None = None
        self.wanted: dict[str, dict[tuple[str, str], BlobNeed]] = {}  # package -> (bundle, member) -> need
        self.done: set[str] = set()  # digests handed to this site
        self.pending: list[Future[None]] = []
        self.pool: ThreadPoolExecutor | None = None
        self.left = False

    def deliver(self, run: ImportRun, needs: list[BlobNeed]) -> None:
        """Hand ``needs`` to the shared read, then wait until this site has placed them (or failed);
        a site that needs nothing read goes on at once."""
        if not needs:
            self.leave()
            return
        for need in needs:
            self.wanted.setdefault(need.package, {})[(need.bundle, need.blob.member)] = need
        self.pool = ThreadPoolExecutor(round_trips(run.options.workers), thread_name_prefix="archfuse-site")
        try:
            self._fanout.arrive(self, run)
            for future in self.pending:
                future.result()
        finally:
            self.pool.shutdown(wait=True)
        run.check_read(needs, self.done)

    def leave(self) -> None:
        """The site's run ended (or never started): the reader waits for it no longer."""
        self._fanout.leave(self)

    @property
    def reading(self) -> bool:
        """True while the run takes blobs: it asked for some and has not failed."""
        return self.run is not None and bool(self.wanted) and not self.run.failing

    def take(self, package: str, item: BlobMember) -> BlobNeed | None:
        """The need of this site ``item`` answers (marked handed over), else None."""
        need = self.wanted.get(package, {}).get((item.bundle.member, item.member))
        if need is None or need.blob.digest in self.done or not self.reading:
            return None
        self.done.add(need.blob.digest)
        return need

    def submit(self, need: BlobNeed, stream: BinaryIO, release: ReleaseOnce, *, seekable: bool = True) -> None:
        assert self.run is not None and self.pool is not None
        self.pending.append(self.pool.submit(self.run.push_held, need, stream, release, seekable=seekable))


class ReleaseOnce:
    """Called once by each of ``count`` uploads of one spooled blob; the last lets go of it."""

    def __init__(self, count: int, last: list[SharedSpool | SpoolBudget | Pipe], size: int) -> None:
        self._left = count
        self._lock = threading.Lock()
        self._last = last
        self._size = size

    def __call__(self) -> None:
        with self._lock:
            self._left -= 1
            if self._left:
                return
        for held in self._last:
            if isinstance(held, SpoolBudget):
                held.release(self._size)
            elif isinstance(held, Pipe):
                held.abandon()
            else:
                held.close()


class FanOut:
    """One reader for several sites' runs: ``feed()`` gives each site's run its feed; the reader
    starts once every site has arrived at its blob phase or left."""

    def __init__(self, sites: int, options: RunOptions, cancel: threading.Event | None = None) -> None:
        self.options = options
        self.cancel = cancel or threading.Event()
        self.budget = SpoolBudget(options.spool_budget)
        self.feeds = [SiteFeed(self) for _ in range(sites)]
        self.bytes_read = 0  # compressed bytes read from the package files
        self._cond = threading.Condition()
        self._settled = 0  # sites arrived or left
        self._read_done = False
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._reader, name="archfuse-fanout", daemon=True)

    def __enter__(self) -> FanOut:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 tb: TracebackType | None) -> None:
        with self._cond:
            self._settled = len(self.feeds)  # whatever did not arrive will not
            self._cond.notify_all()
        self._thread.join()

    # -- the sites' side ------------------------------------------------------------------
    def arrive(self, feed: SiteFeed, run: ImportRun) -> None:
        """A site at its blob phase; returns when the read is over, raising what stopped it."""
        with self._cond:
            feed.run = run
            self._settled += 1
            self._cond.notify_all()
            while not self._read_done:
                self._cond.wait()
            error = self._error
        if error is not None:
            raise error

    def leave(self, feed: SiteFeed) -> None:
        with self._cond:
            if feed.run is None and not feed.left:  # it never arrived: it is not waited for
                feed.left = True
                self._settled += 1
                self._cond.notify_all()

    # -- the reader -----------------------------------------------------------------------
    def _reader(self) -> None:
        with self._cond:
            while self._settled < len(self.feeds):
                self._cond.wait()
        try:
            self._read_all()
        except BaseException as err:  # every site's run hears it (a package that cannot be read, a cancel)
            self._error = err
        with self._cond:
            self._read_done = True
            self._cond.notify_all()

    def _read_all(self) -> None:
        feeds = [f for f in self.feeds if f.reading]
        runs = [f.run for f in feeds if f.run is not None]
        packages = {p.path: p for run in runs for p in run.plan.packages}  # in the plans' order
        for path in packages:
            readers = [f for f in feeds if path in f.wanted and f.reading]
            if not readers:
                continue
            package = packages[path]
            for feed in readers:
                assert feed.run is not None
                feed.run.emit(ev.PackageStarted(path, package.version, package.arch))

            def progress(done: int, total: int, readers: list[SiteFeed] = readers) -> None:
                for feed in readers:
                    if feed.run is not None:
                        feed.run.progress.package_read(done, total)

            for item in iter_package(Path(path), progress=progress):
                if self.cancel.is_set():
                    raise Cancelled(CANCELLED)
                if not isinstance(item, BlobMember):
                    continue
                takers = [(f, n) for f in readers for n in (f.take(path, item),) if n is not None]
                if takers:
                    self._hand_over(item, takers)
            self.bytes_read += package.size
            for feed in readers:
                if feed.run is not None:
                    feed.run.progress.next_package(package.size)

    def _hand_over(self, item: BlobMember, takers: list[tuple[SiteFeed, BlobNeed]]) -> None:
        """Spool ``item`` once for every site of ``takers`` (or stream it to all of them at once)."""
        size, budget = item.size, self.budget
        single = all(len(need.repositories) == 1 for _feed, need in takers)
        streamed = not budget.fits(size) or (single and size * 2 > budget.limit and budget.used + size > budget.limit)
        if streamed:
            self._tee(item, takers)
            return
        if not budget.acquire(size, self.cancel):
            raise Cancelled(CANCELLED)
        try:
            spool = SharedSpool(item.stream, size, self.options.spool_dir, self.options.memory_spool)
        except BaseException:
            budget.release(size)
            raise
        release = ReleaseOnce(len(takers), [spool, budget], size)
        for feed, need in takers:
            feed.submit(need, spool.open(), release)

    def _tee(self, item: BlobMember, takers: list[tuple[SiteFeed, BlobNeed]]) -> None:
        """Stream a blob to every site of ``takers`` at once through a pipe each (uploads that cannot
        be repeated: a mount a registry refuses fails that site, as in a run to one site)."""
        pipes = [Pipe() for _ in takers]
        for (feed, need), pipe in zip(takers, pipes):
            feed.submit(need, cast(BinaryIO, pipe), ReleaseOnce(1, [pipe], 0), seekable=False)
        try:
            left = item.size
            while left > 0:
                live = [p for p in pipes if not p.abandoned]
                if not live:
                    break
                data = item.stream.read(min(PIECE, left))
                if not data:
                    break  # short: the uploads fail on it, and the reader says the archive ends early
                left -= len(data)
                for pipe in live:
                    pipe.feed(data)
        finally:
            for pipe in pipes:
                pipe.end()
