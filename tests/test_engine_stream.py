"""The run keeps reading the package while a large spooled blob uploads (no reader stall)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, BinaryIO

from core.demo.samples import write_sample_package
from core.helpers.parallel import SMALL_BLOB
from core.package.scan import scan_package
from core.plan.images import build_plan
from core.run.engine import ImportRun, RunOptions
from core.targets.layout import LayoutTarget

BIG = 512 << 10


class GatedTarget:
    """A layout target whose first large upload waits until another large upload has started."""

    def __init__(self, inner: LayoutTarget) -> None:
        self.inner = inner
        self.other_started = threading.Event()
        self.first_saw_other: bool | None = None
        self._lock = threading.Lock()
        self._big_uploads = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def put_blob(
        self, repository: str, digest: str, size: int, stream: BinaryIO, progress: Any = None
    ) -> None:
        if size > BIG:
            with self._lock:
                self._big_uploads += 1
                first = self._big_uploads == 1
            if first:
                self.first_saw_other = self.other_started.wait(timeout=10)
            else:
                self.other_started.set()
        self.inner.put_blob(repository, digest, size, stream, progress)


def test_large_blob_streams_while_the_spool_is_busy(tmp_path: Path) -> None:
    # six app layers of ~1 MiB each, one repository each; a 1.5 MiB spool holds only one of them
    package = write_sample_package(tmp_path / "pkg", "v0.12.0", "amd64", payload=6 << 20)
    index = scan_package(package)
    target = GatedTarget(LayoutTarget(tmp_path / "layout"))
    plan = build_plan([index], target)
    big = [n for n in plan.blobs.values() if n.blob.size > BIG]
    assert len(big) == 6 and all(len(n.repositories) == 1 for n in big)

    summary = ImportRun(plan, target, options=RunOptions(spool_budget=3 << 19)).execute()

    assert summary.status == "done", summary.failures
    assert target.first_saw_other is True  # the reader went on to the next large blob meanwhile
    assert 0 < summary.peak_spool <= 3 << 19
    again = build_plan([index], target.inner)
    assert not again.blobs and {i.action for i in again.images} == {"unchanged"}


class CountingTarget:
    """A layout target that notes, at each large upload, how many blobs the run says are in flight."""

    def __init__(self, inner: LayoutTarget) -> None:
        self.inner = inner
        self.run: ImportRun | None = None
        self.seen: list[int] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def put_blob(
        self, repository: str, digest: str, size: int, stream: BinaryIO, progress: Any = None
    ) -> None:
        assert self.run is not None
        if size > BIG:
            self.seen.append(self.run.progress.in_flight(over=SMALL_BLOB))
            threading.Event().wait(0.05)  # lets the queued uploads get as far as they can meanwhile
            self.seen.append(self.run.progress.in_flight(over=SMALL_BLOB))
        self.inner.put_blob(repository, digest, size, stream, progress)


def test_in_flight_counts_the_uploads_really_under_way_not_those_waiting_for_a_writer(tmp_path: Path) -> None:
    """``--jobs 2``: however many blobs are spooled and queued, at most 2 large ones are in flight
    (a blob waiting for a writer slot is not: the stall line said 32 uploads with Jobs = 8)."""
    package = write_sample_package(tmp_path / "pkg", "v0.12.0", "amd64", payload=6 << 20)
    index = scan_package(package)
    target = CountingTarget(LayoutTarget(tmp_path / "layout"))
    plan = build_plan([index], target)
    run = ImportRun(plan, target, options=RunOptions(workers=2, spool_budget=64 << 20))
    target.run = run
    summary = run.execute()
    assert summary.status == "done", summary.failures
    assert target.seen and max(target.seen) <= 2, target.seen
