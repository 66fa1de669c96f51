"""The checks list and the plan table (filterable), with totals."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Union

from rich.text import Text
from textual.widgets import DataTable, Static

from core.api import ChartAction, ChartPlan, Check, CheckStatus, ImageAction, ImagePlan, Plan
from core.api import events as ev
from tui.format import fitted, platforms_change, printable, reference, reference_width, size

#: a row of the plan table: one image for one platform, or one chart
PlanRow = Union[ImagePlan, ChartPlan]

STATUS_STYLE = {CheckStatus.OK: "green", CheckStatus.WARN: "yellow", CheckStatus.FAIL: "bold red"}
ACTION_STYLE: dict[str, str] = {
    ImageAction.NEW: "green", ImageAction.ADD_ARCH: "cyan", ImageAction.UPDATE_ARCH: "yellow", ImageAction.REPAIR: "magenta",
    ImageAction.UNCHANGED: "dim",
    ImageAction.ERROR: "bold red", ChartAction.CONFLICT: "bold red",
}


def status_text(status: CheckStatus) -> Text:
    """``ok``/``warn``/``FAIL``: words, so the state reads without colour too."""
    word = "FAIL" if status == CheckStatus.FAIL else status
    return Text(word, style=STATUS_STYLE.get(status, ""))


#: a row of the checks list: a check, or while the checks run the event that announced it
CheckLine = Union[Check, ev.CheckDone]


#: failures first, then warnings: what needs the engineer is always at the top of the list
SEVERITY = {CheckStatus.FAIL: 0, CheckStatus.WARN: 1}


def by_severity(checks: Iterable[CheckLine]) -> list[CheckLine]:
    """Failures, then warnings, then the rest, each in the order they ran."""
    return sorted(checks, key=lambda c: SEVERITY.get(c.status, 2))


class ChecksList(Static):
    """Every preflight check, failures and warnings first: status, name, and how to fix it."""

    def show(self, checks: Iterable[CheckLine], words: Callable[[CheckLine], str] = lambda c: c.detail) -> None:
        """The checks (or the events announcing them while they run); ``words`` gives a check's detail
        with its advice for this screen (e.g. "tick Insecure")."""
        text = Text()
        for check in by_severity(checks):
            if text:
                text.append("\n")
            status = status_text(check.status)
            text.append_text(status)
            text.append(" " * (5 - len(status.plain)))
            text.append(f"{printable(check.name)}: ", style="bold")
            text.append(printable(words(check)))
        self.update(text if text else Text("Checking…", style="italic"))


#: widths of the plan's columns other than the image (cell padding included)
ACTION_WIDTH, ARCH_WIDTH, UPLOAD_WIDTH = 11, 5, 9
WIDE_PLATFORMS, COMPACT_PLATFORMS = 25, 13
#: below this many columns, platforms read ``amd64,+arm64`` instead of ``amd64 → amd64,arm64``
WIDE_SCREEN = 100


class PlanTable(DataTable[Text]):
    """One row per image and platform, the image first; ``apply_filter`` narrows it by any word."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.rows_all: list[PlanRow] = []
        self.filter_text = ""
        self.width_laid_out = 0

    def on_mount(self) -> None:
        self.refill()

    def on_resize(self) -> None:
        if self.available_width() != self.width_laid_out:
            self.refill()

    def available_width(self) -> int:
        """Columns the table may fill (the screen's, before the table has a size of its own)."""
        return self.size.width or self.app.size.width - 4

    def show(self, images: Sequence[ImagePlan], charts: Sequence[ChartPlan] = ()) -> None:
        self.rows_all = [*images, *charts]
        self.refill()

    def apply_filter(self, text: str) -> None:
        self.filter_text = text.strip().lower()
        self.refill()

    def visible_rows(self) -> list[PlanRow]:
        """The rows the filter lets through (every word somewhere in the row)."""
        words = self.filter_text.split()
        return [row for row in self.rows_all if all(w in _haystack(row) for w in words)]

    def refill(self) -> None:
        """Columns for the width now, each as wide as its words; the image names get the rest."""
        total = self.width_laid_out = self.available_width()
        compact = total < WIDE_SCREEN
        rows = self.visible_rows()
        images = [r for r in rows if isinstance(r, ImagePlan)]
        header = "platforms" if compact else "platforms before → after"
        action_width = fitted("action", (str(r.action) for r in rows), ACTION_WIDTH)
        platforms_width = fitted(
            header, (platforms_change(r.platforms_before, r.platforms_after, compact=compact) for r in images),
            COMPACT_PLATFORMS if compact else WIDE_PLATFORMS,
        )
        fixed = action_width + ARCH_WIDTH + platforms_width + UPLOAD_WIDTH + 2 * 5 + 2  # padding, scrollbar
        image_width = reference_width(total, fixed)
        self.clear(columns=True)
        self.add_column("image", key="image", width=image_width)
        self.add_column("action", key="action", width=action_width)
        self.add_column("arch", key="platform", width=ARCH_WIDTH)
        self.add_column(header, key="platforms", width=platforms_width)
        self.add_column("upload", key="upload", width=UPLOAD_WIDTH)
        for i, row in enumerate(rows):
            action = Text(row.action, style=ACTION_STYLE.get(row.action, ""))
            if isinstance(row, ChartPlan):
                self.add_row(
                    Text(reference(f"{row.repo}/{row.name}", row.version, image_width, sep="-")),
                    action, Text("chart"), Text("-"), Text("-", justify="right"), key=str(i),
                )
                continue
            self.add_row(
                Text(reference(row.repository, row.tag, image_width)),
                action,
                Text(row.platform.removeprefix("linux/")),
                Text(platforms_change(row.platforms_before, row.platforms_after, compact=compact)),
                Text(size(row.upload_bytes) if row.upload_bytes else "-", justify="right"),
                key=str(i),
            )


def _haystack(row: PlanRow) -> str:
    if isinstance(row, ChartPlan):
        words = ["chart", row.action, row.destination, row.name, row.version, row.repo]
    else:
        words = ["image", row.action, row.repository, row.tag, row.platform, row.ref, row.destination]
    return " ".join(words).lower()


def totals_text(plan: Plan | None, charts: int = 0) -> str:
    """``8 images: 4 add-arch, 4 new · 1.2 MiB to upload``."""
    if plan is None:
        return "No plan: the target could not be read."
    parts = ", ".join(f"{n} {a}" for a, n in sorted(plan.counts().items()))
    chart_text = f" · {charts} charts" if charts else ""
    return f"{len(plan.images)} images: {parts or 'none'}{chart_text} · {size(plan.bytes_to_upload)} to upload"
