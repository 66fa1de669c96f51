"""Plain and JSON renderers of engine events for the headless CLI (no textual, no rich)."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Hashable
from typing import IO, Any

import humanize

from core.api import ImageStage, RunStatus, printable
from core.api import events as ev
from tui.format import RateWindow, elapsed, eta, replication_line, stall_line

PLAIN_PROGRESS_INTERVAL = 2.0
PLAIN_STALL_INTERVAL = 10.0  # seconds between repeated stall lines
#: the stages the plain output prints as they start (every stage with --verbose; done has its own line)
PLAIN_STAGES = (ImageStage.UPLOADING, ImageStage.FAILED)


#: one line at a time on the output, whatever thread writes it (the sites of a run to several)
_WRITING = threading.Lock()


def json_line(obj: dict[str, Any], out: IO[str] | None = None) -> None:
    """Print one JSON object as a line."""
    _write_line(out or sys.stdout, json.dumps(obj, sort_keys=False))


def _write_line(stream: IO[str], line: str) -> None:
    with _WRITING:
        stream.write(line + "\n")
        stream.flush()


class JsonRenderer:
    """``--json``: one event per line on stdout; progress coalesced to a few lines a second per key
    (an image's stage changes always get their line)."""

    def __init__(self, out: IO[str] | None = None, interval: float = 0.5, *, site: str = "") -> None:
        """``site``: the name of the site the events come from, a ``site`` field of each line (a run
        to several sites)."""
        self.out = out or sys.stdout
        self.interval = interval
        self.site = site
        self._last: dict[Hashable, float] = {}
        self._stages: dict[Hashable, str] = {}

    def __call__(self, event: ev.Event) -> None:
        key = event.coalesce_key()
        if key is not None:
            now = time.monotonic()
            stage = event.stage if isinstance(event, ev.ImageProgress) else ""
            if now - self._last.get(key, 0.0) < self.interval and self._stages.get(key, "") == stage:
                return
            self._last[key] = now
            self._stages[key] = stage
        doc = event.to_json()
        json_line({**doc, "site": self.site} if self.site else doc, self.out)


class PlainRenderer:
    """Readable progress lines on stderr, results on stdout; each line :func:`printable` (one line,
    no control character from a name reaches the terminal)."""

    def __init__(self, out: IO[str] | None = None, err: IO[str] | None = None, verbose: bool = False, *,
                 site: str = "") -> None:
        """``site``: the name of the site the events come from, before each line (several sites)."""
        self.site = site
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.verbose = verbose
        self._last = 0.0
        self._started = time.monotonic()
        self._rate = RateWindow()
        self._stages: dict[tuple[str, str], str] = {}
        self._last_stall = -PLAIN_STALL_INTERVAL

    def __call__(self, event: ev.Event) -> None:
        line = self.line(event)
        if line is None:
            return
        stream = self.out if isinstance(event, (ev.ImageDone, ev.ChartDone, ev.RunFinished)) else self.err
        if self.site:
            line = f"[{self.site}] {line}"
        _write_line(stream, printable(line))  # names from a package or a server: no control characters

    def line(self, event: ev.Event) -> str | None:
        """The text for one event, or None to stay quiet."""
        if isinstance(event, ev.BytesProgress):
            now = time.monotonic()
            self._rate.add(now, event.bytes_done)
            if now - self._last < PLAIN_PROGRESS_INTERVAL:
                return None
            self._last = now
            return progress_text(event, now - self._started, self._rate.rate)
        if isinstance(event, ev.ImageProgress):
            return self._stage_line(event)
        if isinstance(event, ev.Stalled):
            if event.seconds - self._last_stall < PLAIN_STALL_INTERVAL and event.seconds >= self._last_stall:
                return None
            self._last_stall = event.seconds
            return stall_line(event)
        if isinstance(event, ev.Retrying):
            return event.text()
        if isinstance(event, ev.JobsChanged):
            return event.text() if self.verbose else None
        if isinstance(event, (ev.ReplicationProgress, ev.ReplicationRerun)):
            return replication_line(event)
        if isinstance(event, ev.ScanProgress):
            now = time.monotonic()
            if now - self._last < PLAIN_PROGRESS_INTERVAL:
                return None
            self._last = now
            return f"scanning {event.path}: {_pct(event.bytes_done, event.bytes_total)}"
        if isinstance(event, ev.PackageScanned):
            how = "cached" if event.cached else "scanned"
            return f"{how} {event.path}: {event.version} {event.arch}, {event.charts} charts, {event.images} images"
        if isinstance(event, ev.BlobsStaged):
            return staged_text(event)
        if isinstance(event, ev.CheckDone):
            return f"[{event.status:>4}] {event.name}: {event.detail}"
        if isinstance(event, ev.RunStarted):
            self._started = time.monotonic()
            self._rate = RateWindow()
            return (
                f"run {event.run_id}: {event.images} images into {event.target}, "
                f"{humanize.naturalsize(event.bytes_total, binary=True)} to upload"
            )
        if isinstance(event, ev.PackageStarted):
            return f"reading {event.path} ({event.version} {event.arch})"
        if isinstance(event, ev.BlobDone):
            return f"  blob {event.digest[:19]} {event.how} to {event.repository}" if self.verbose else None
        if isinstance(event, ev.ImageDone):
            before = ",".join(event.platforms_before) or "-"
            after = ",".join(event.platforms_after) or "-"
            return f"{event.action:<11} {event.destination}  [{before}] -> [{after}]"
        if isinstance(event, ev.ChartDone):
            extra = f" ({event.detail})" if event.detail else ""
            return f"chart {event.action:<9} {event.name}-{event.version} -> {event.destination}{extra}"
        if isinstance(event, ev.TagRemerged):
            lost = ", ".join(event.missing)
            served = ", ".join(event.platforms_now) or "nothing"
            return f"warning: another client rewrote {event.destination} (it served {served}, without {lost}); merged {lost} back"
        if isinstance(event, ev.TagsConverged):
            if not event.remerged:
                return None
            when = " (read again after the charts)" if event.final else ""
            return f"{event.remerged} tag(s) merged again after another client dropped platforms of this run{when}"
        if isinstance(event, ev.Warning):
            return f"warning: {event.message}"
        if isinstance(event, ev.Failure):
            return f"error: {event.subject}: {event.message}"
        if isinstance(event, ev.RunFinished):
            text = (
                f"run {event.run_id} {event.status}: {event.images} images, {event.charts} charts, "
                f"{humanize.naturalsize(event.bytes_uploaded, binary=True)} uploaded in {event.seconds:.1f}s"
            )
            if event.bytes_staged:
                text += f" ({humanize.naturalsize(event.bytes_staged, binary=True)} of it while the packages were read)"

            if event.remerged:
                text += f"; {event.remerged} tag(s) re-merged after another client rewrote them"
            return text + (f" — {event.message}" if event.message and event.status != RunStatus.DONE else "")
        return None


    def _stage_line(self, event: ev.ImageProgress) -> str | None:
        """An image's stage as it starts (stages repeat in byte updates: printed once)."""
        key = (event.destination, event.platform)
        if self._stages.get(key) == event.stage:
            return None
        self._stages[key] = event.stage
        if event.stage not in PLAIN_STAGES and not self.verbose:
            return None
        amount = f" ({humanize.naturalsize(event.bytes_total, binary=True)})" if event.bytes_total else ""
        return f"  {event.stage:<10} {event.destination} {event.platform}{amount}"


class RunLog:
    """A run's full log, as ``w`` on the Run screen saves it: every event with its time, in the plain
    renderer's words (verbose: each blob, each stage), progress every few seconds, retries with what
    they retry and when. Thread-safe: the engine's worker threads call it."""

    def __init__(self, header: list[str]) -> None:
        self.header = list(header)
        self.lines: list[str] = []
        self._words = PlainRenderer(verbose=True)
        self._lock = threading.Lock()

    def __call__(self, event: ev.Event) -> None:
        with self._lock:
            line = self.line(event)
            if line is not None:
                self.lines.append(f"{stamp(event.at)}  {printable(line)}")

    def line(self, event: ev.Event) -> str | None:
        if isinstance(event, ev.Retrying):
            return f"{event.text()} ({event.what}; next try in {event.delay:.1f} s)"
        return self._words.line(event)

    def note(self, text: str, at: float | None = None) -> None:
        """A line of the face's own (a cancel asked for, the log saved)."""
        with self._lock:
            self.lines.append(f"{stamp(at if at is not None else time.time())}  {printable(text)}")

    def text(self) -> str:
        with self._lock:
            return "\n".join([*self.header, "", *self.lines]) + "\n"


def stamp(at: float) -> str:
    """``2026-12-07 23:24:43.512``: an event's time in the log."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(at)) + f".{int(at * 1000) % 1000:03d}"


def progress_text(event: ev.BytesProgress, seconds: float, rate: float | None = None) -> str:
    """``0:42 uploaded 1.2 GiB / 3.4 GiB (35%), 80.0 MiB/s, ETA 30 seconds``: ``rate`` is a recent
    rate (the run's average when not given)."""
    if rate is None:
        rate = event.bytes_done / seconds if seconds > 0 else 0.0
    text = (
        f"{elapsed(seconds)} uploaded {humanize.naturalsize(event.bytes_done, binary=True)} / "
        f"{humanize.naturalsize(event.bytes_total, binary=True)} ({_pct(event.bytes_done, event.bytes_total)})"
    )
    if rate > 0:
        text += f", {humanize.naturalsize(rate, binary=True)}/s"
        left = max(event.bytes_total - event.bytes_done, 0)
        if left:
            text += f", ETA {eta(left, rate, event.after_seconds)}"
    return text


def staged_text(event: ev.BlobsStaged) -> str:
    """``read once: 12 blobs (1.0 GiB) uploaded to … while scanning``, and why it stopped early."""
    text = (
        f"read once: {event.blobs} blob(s) ({humanize.naturalsize(event.bytes, binary=True)}) of {event.path} "
        f"uploaded to {event.target} while scanning"
    )
    if event.stopped:
        text += f"; stopped early, the rest follows the checks ({event.stopped})"
    return text


def _pct(done: int, total: int) -> str:
    return f"{100 * done / total:.0f}%" if total else "100%"
