"""Run progress: the overall bar with bytes, rate and ETA, and the per-image table."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, ProgressBar, Static

from core import events as ev
from core.run.plan import ImagePlan
from tui.format import eta, platforms, rate, size

IMAGE_STATUS_STYLE = {"waiting": "dim", "done": "green", "unchanged": "dim", "failed": "bold red",
                      "cancelled": "yellow"}


class Transfer:
    """Bytes, rate and ETA from ``BytesProgress`` events (timed by the events, not a clock)."""

    def __init__(self) -> None:
        self.first: ev.BytesProgress | None = None
        self.last: ev.BytesProgress | None = None

    def update(self, event: ev.BytesProgress) -> None:
        if self.first is None:
            self.first = event
        self.last = event

    @property
    def rate(self) -> float:
        if self.first is None or self.last is None:
            return 0.0
        seconds = self.last.at - self.first.at
        moved = self.last.bytes_done - self.first.bytes_done
        return moved / seconds if seconds > 0 else 0.0

    def text(self) -> str:
        if self.last is None:
            return "Waiting for the first bytes…"
        done, total = self.last.bytes_done, self.last.bytes_total
        return f"{size(done)} of {size(total)} · {rate(self.rate)} · {eta(total - done, self.rate)} left"


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


class ImageTable(DataTable[Text]):
    """Each image and platform of the plan: waiting → done, with platforms before → after."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", **kwargs)
        self.keys: dict[str, list[str]] = {}  # destination -> row keys

    def on_mount(self) -> None:
        self.add_column("status", key="status", width=9)
        self.add_column("arch", key="platform", width=7)
        self.add_column("platforms before → after", key="platforms", width=26)
        self.add_column("image", key="image")

    def show(self, images: Sequence[ImagePlan]) -> None:
        self.clear()
        self.keys.clear()
        for i, image in enumerate(images):
            key = str(i)
            self.keys.setdefault(image.destination, []).append(key)
            self.add_row(
                _status("waiting"),
                Text(image.platform.removeprefix("linux/")),
                Text(f"{platforms(image.platforms_before)} → {platforms(image.platforms_after)}"),
                Text(f"{image.repository}:{image.tag}"),
                key=key,
            )

    def image_done(self, event: ev.ImageDone) -> None:
        status = "unchanged" if event.action == "unchanged" else "done"
        for key in self.keys.get(event.destination, []):
            self.update_cell(key, "status", _status(status))
            self.update_cell(
                key, "platforms", Text(f"{platforms(event.platforms_before)} → {platforms(event.platforms_after)}")
            )

    def mark_rest(self, status: str) -> None:
        """At the end: rows still waiting become ``status`` (failed / cancelled)."""
        for keys in self.keys.values():
            for key in keys:
                if str(self.get_cell(key, "status")).strip() == "waiting":
                    self.update_cell(key, "status", _status(status))


def _status(word: str) -> Text:
    return Text(word, style=IMAGE_STATUS_STYLE.get(word, ""))
