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
    platforms,
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


class ImageTable(DataTable[Text]):
    """Each image and platform of the plan with its stage and its own progress; work under way first."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", **kwargs)
        self.keys: dict[tuple[str, str], str] = {}  # (destination, platform) -> row key
        self.stages: dict[str, ImageStage] = {}  # row key -> stage

    def on_mount(self) -> None:
        self.add_column("stage", key="status", width=9)
        self.add_column("done", key="progress", width=4)
        self.add_column("arch", key="platform", width=5)
        self.add_column("platforms before → after", key="platforms", width=25)
        self.image_width = reference_width(self.app.size.width - 4, 9 + 4 + 5 + 25 + 2 * 5 + 2)
        self.add_column("image", key="image", width=self.image_width)

    def show(self, images: Sequence[ImagePlan]) -> None:
        self.clear()
        self.keys.clear()
        self.stages.clear()
        for i, image in enumerate(images):
            key = str(i)
            self.keys[(image.destination, image.platform)] = key
            self.stages[key] = ImageStage.WAITING
            self.add_row(
                _status(ImageStage.WAITING),
                Text(""),
                Text(image.platform.removeprefix("linux/")),
                Text(f"{platforms(image.platforms_before)} → {platforms(image.platforms_after)}"),
                Text(reference(image.repository, image.tag, self.image_width)),
                key=key,
            )

    def stage(self, event: ev.ImageProgress) -> None:
        """An image's stage and bytes; rows re-sort when a stage changes."""
        key = self.keys.get((event.destination, event.platform))
        if key is None:
            return
        self.update_cell(key, "progress", Text(_percent(event.bytes_done, event.bytes_total), style="dim"))
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
            self.update_cell(
                key, "platforms", Text(f"{platforms(event.platforms_before)} → {platforms(event.platforms_after)}")
            )
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
