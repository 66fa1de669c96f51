"""Run progress: the overall bar with bytes, recent rate, ETA and time; the per-image table; the
line for what is in flight now and the alert line for stalls and retries."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, ProgressBar, Static

from core.api import ImageAction, ImagePlan, ImageStage
from core.api import events as ev
from tui.format import (
    RateWindow,
    elapsed,
    eta,
    fitted,
    platforms_change,
    printable_lines,
    rate,
    reference,
    reference_width,
    size,
    stall_line,
)

IMAGE_STATUS_STYLE: dict[str, str] = {
    ImageStage.WAITING: "dim",
    ImageStage.QUEUED: "dim",
    ImageStage.UPLOADING: "bold cyan",
    ImageStage.MANIFESTS: "cyan",
    ImageStage.FUSING: "bold magenta",
    ImageStage.DONE: "green",
    ImageStage.UNCHANGED: "dim",
    ImageStage.FAILED: "bold red",
    ImageStage.CANCELLED: "yellow",
}
#: the order of rows: work under way first, then what waits, then what is over
STAGE_RANK: dict[str, int] = {
    ImageStage.UPLOADING: 0,
    ImageStage.FUSING: 0,
    ImageStage.MANIFESTS: 1,
    ImageStage.QUEUED: 2,
    ImageStage.WAITING: 2,
    ImageStage.FAILED: 3,
    ImageStage.CANCELLED: 3,
    ImageStage.DONE: 4,
    ImageStage.UNCHANGED: 5,
}


class Transfer:
    """Bytes, recent rate, ETA and elapsed time from ``BytesProgress`` events (timed by the events)."""

    def __init__(self) -> None:
        self.started: float | None = None
        self.last: ev.BytesProgress | None = None
        self.window = RateWindow()

    def start(self, at: float) -> None:
        self.started = at

    def update(self, event: ev.BytesProgress) -> None:
        if self.started is None:
            self.started = event.at
        self.last = event
        self.window.add(event.at, event.bytes_done)

    @property
    def rate(self) -> float:
        """The recent rate, once the window holds a second or more (before that it is noise)."""
        return self.window.rate if self.window.span_covered >= 1.0 else 0.0

    @property
    def seconds(self) -> float:
        return self.last.at - self.started if self.last is not None and self.started is not None else 0.0

    def text(self) -> str:
        if self.last is None:
            return "Waiting for the first bytes…"
        done, total = self.last.bytes_done, self.last.bytes_total
        left = eta(total - done, self.rate, self.last.after_seconds)
        return (
            f"{size(done)} of {size(total)} · {rate(self.rate)} · "
            f"{left + ' left' if left != '-' else 'time left unknown'} · {elapsed(self.seconds)} elapsed"
        )


class TransferProgress(Vertical):
    """The overall bar and its line of numbers."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.transfer = Transfer()

    def compose(self) -> ComposeResult:
        yield ProgressBar(total=None, show_eta=False, id="bar")
        yield Static("Starting…", id="numbers", markup=False)

    def set_total(self, total: int) -> None:
        self.query_one(ProgressBar).update(total=max(total, 1), progress=0)

    def update_from(self, event: ev.BytesProgress) -> None:
        self.transfer.update(event)
        bar = self.query_one(ProgressBar)
        bar.update(total=max(event.bytes_total, 1), progress=event.bytes_done)
        self.query_one("#numbers", Static).update(self.transfer.text())

    def finish(self, text: str) -> None:
        bar = self.query_one(ProgressBar)
        if bar.total is not None and bar.progress < bar.total and "done" in text:
            bar.update(progress=bar.total)
        self.query_one("#numbers", Static).update(text)


class InFlight(Static):
    """``now: IMAGE · blob sha256:… 3.0 MiB of 12.0 MiB (+2 more)``, and stalls and retries below it."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__("", markup=False, **kwargs)
        self.blobs: dict[str, ev.BlobProgress] = {}
        self.done: set[str] = set()  # a late progress tick of a finished blob must not bring it back
        self.stalled: ev.Stalled | None = None
        self.retry: ev.Retrying | None = None

    def blob(self, event: ev.BlobProgress) -> None:
        if event.digest not in self.done:
            self.blobs[event.digest] = event
            self.refresh_text()

    def blob_done(self, digest: str) -> None:
        self.done.add(digest)
        if self.blobs.pop(digest, None) is not None:
            self.refresh_text()

    def moved(self) -> None:
        """Bytes moved: a stall, and the retry that explained it, are over."""
        if self.stalled is not None or self.retry is not None:
            self.stalled = self.retry = None
            self.refresh_text()

    def stall(self, event: ev.Stalled) -> None:
        self.stalled = event
        self.refresh_text()

    def retrying(self, event: ev.Retrying) -> None:
        self.retry = event
        self.refresh_text()

    def clear_all(self) -> None:
        self.blobs.clear()
        self.stalled = self.retry = None
        self.refresh_text()

    def refresh_text(self) -> None:
        lines = []
        if self.stalled is not None:
            lines.append(stall_line(self.stalled, self.retry))
        elif self.retry is not None:
            lines.append(self.retry.text())
        if self.blobs:
            first = next(iter(self.blobs.values()))
            more = f" (+{len(self.blobs) - 1})" if len(self.blobs) > 1 else ""
            lines.append(
                f"now: {first.image} · {first.digest[7:15]} {size(first.bytes_done)}/{size(first.bytes_total)}{more}"
            )
        self.update(printable_lines(lines))
        self.set_class(self.stalled is not None or self.retry is not None, "alert")


#: widths of the run table's columns other than the image (the platforms column is fitted to its words)
STAGE_WIDTH, DONE_WIDTH, ARCH_WIDTH, WIDE_PLATFORMS = 9, 4, 5, 25
#: below this many columns, platforms read ``amd64,+arm64`` instead of ``amd64 → amd64,arm64``
WIDE_SCREEN = 100


class ImageTable(DataTable[Text]):
    """Each image and platform of the plan with its stage and its own progress; work under way first.

    Laid out for its width, again on resize: the image names get what the other columns leave.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", **kwargs)
        self.keys: dict[tuple[str, str], str] = {}  # (destination, platform) -> row key
        self.stages: dict[str, ImageStage] = {}  # row key -> stage
        self.images: dict[str, ImagePlan] = {}  # row key -> the plan's image
        self.percent: dict[str, str] = {}  # row key -> its done column
        self.changes: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}  # row key -> platforms before, after
        self.width_laid_out = 0
        self.image_width = 0
        self.compact = False

    def on_resize(self) -> None:
        if self.available_width() != self.width_laid_out:
            self.refill()

    def available_width(self) -> int:
        """Columns the table may fill (the screen's, before the table has a size of its own)."""
        return self.size.width or self.app.size.width - 4

    def show(self, images: Sequence[ImagePlan]) -> None:
        self.keys.clear()
        self.stages.clear()
        self.images.clear()
        self.percent.clear()
        self.changes.clear()
        for i, image in enumerate(images):
            key = str(i)
            self.keys[(image.destination, image.platform)] = key
            self.stages[key] = ImageStage.WAITING
            self.images[key] = image
            self.changes[key] = (image.platforms_before, image.platforms_after)
        self.refill()

    def platforms_text(self, key: str) -> Text:
        before, after = self.changes[key]
        return Text(platforms_change(before, after, compact=self.compact))

    def refill(self) -> None:
        """Columns for the width now, and every row again in its current stage."""
        total = self.width_laid_out = self.available_width()
        self.compact = total < WIDE_SCREEN
        header = "platforms" if self.compact else "platforms before → after"
        platforms_width = fitted(header, (self.platforms_text(k).plain for k in self.images), WIDE_PLATFORMS)
        fixed = STAGE_WIDTH + DONE_WIDTH + ARCH_WIDTH + platforms_width + 2 * 5 + 2  # padding, scrollbar
        self.image_width = reference_width(total, fixed)
        self.clear(columns=True)
        self.add_column("stage", key="status", width=STAGE_WIDTH)
        self.add_column("done", key="progress", width=DONE_WIDTH)
        self.add_column("arch", key="platform", width=ARCH_WIDTH)
        self.add_column(header, key="platforms", width=platforms_width)
        self.add_column("image", key="image", width=self.image_width)
        for key, image in self.images.items():
            self.add_row(
                _status(self.stages[key]),
                Text(self.percent.get(key, ""), style="dim"),
                Text(image.platform.removeprefix("linux/")),
                self.platforms_text(key),
                Text(reference(image.repository, image.tag, self.image_width)),
                key=key,
            )
        if self.images:
            self.sort_active_first()

    def stage(self, event: ev.ImageProgress) -> None:
        """An image's stage and bytes; rows re-sort when a stage changes."""
        key = self.keys.get((event.destination, event.platform))
        if key is None:
            return
        self.percent[key] = _percent(event.bytes_done, event.bytes_total)
        self.update_cell(key, "progress", Text(self.percent[key], style="dim"))
        if self.stages.get(key) != event.stage:
            self.stages[key] = event.stage
            self.update_cell(key, "status", _status(event.stage))
            self.sort_active_first()

    def image_done(self, event: ev.ImageDone) -> None:
        status = ImageStage.UNCHANGED if event.action == ImageAction.UNCHANGED else ImageStage.DONE
        for (destination, _platform), key in self.keys.items():
            if destination != event.destination:
                continue
            if self.stages.get(key) != status:
                self.stages[key] = status
                self.update_cell(key, "status", _status(status))
            self.changes[key] = (event.platforms_before, event.platforms_after)
            self.update_cell(key, "platforms", self.platforms_text(key))
        self.sort_active_first()

    def mark_rest(self, status: ImageStage) -> None:
        """At the end: rows not finished become ``status`` (failed / cancelled)."""
        for key, stage in list(self.stages.items()):
            if stage not in (ImageStage.DONE, ImageStage.UNCHANGED, ImageStage.FAILED):
                self.stages[key] = status
                self.update_cell(key, "status", _status(status))
        self.sort_active_first()

    def sort_active_first(self) -> None:
        """Rows under way on top, so they stay in view at 80×24; the plan's order within a stage."""
        self.sort("status", "image", "platform", key=lambda cells: (STAGE_RANK.get(str(cells[0]), 9),
                                                                      str(cells[1]), str(cells[2])))

    def row_stages(self) -> list[str]:
        """The stage words top to bottom, as shown."""
        return [str(self.get_row_at(i)[0]) for i in range(self.row_count)]


def _percent(done: int, total: int) -> str:
    if total <= 0:
        return ""
    return f"{100 * done // total:>3}%"


def _status(word: ImageStage) -> Text:
    return Text(str(word), style=IMAGE_STATUS_STYLE.get(word, ""))
