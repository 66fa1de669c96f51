"""The checks list and the plan table (filterable), with totals."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Union

from rich.text import Text
from textual.widgets import DataTable, Static

from core import events as ev
from core.charts.plan import ChartPlan
from core.checks.preflight import Check
from core.run.plan import ImagePlan, Plan
from tui.format import platforms, size

#: a row of the plan table: one image for one platform, or one chart
PlanRow = Union[ImagePlan, ChartPlan]

STATUS_STYLE = {"ok": "green", "warn": "yellow", "fail": "bold red"}
ACTION_STYLE = {"new": "green", "add-arch": "cyan", "update-arch": "yellow", "unchanged": "dim", "error": "bold red",
                "conflict": "bold red"}


def status_text(status: str) -> Text:
    """``ok``/``warn``/``FAIL``: words, so the state reads without colour too."""
    word = "FAIL" if status == "fail" else status
    return Text(word, style=STATUS_STYLE.get(status, ""))


class ChecksList(Static):
    """Every preflight check: status, name, and the detail that says how to fix it."""

    def show(self, checks: Iterable[Check | ev.CheckDone]) -> None:
        """The checks, or while they run the events that announced them."""
        text = Text()
        for check in checks:
            if text:
                text.append("\n")
            status = status_text(check.status)
            text.append_text(status)
            text.append(" " * (5 - len(status.plain)))
            text.append(f"{check.name}: ", style="bold")
            text.append(check.detail)
        self.update(text if text else Text("Checking…", style="italic"))


class PlanTable(DataTable[Text]):
    """One row per image and platform; ``apply_filter`` narrows it by any word."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.rows_all: list[PlanRow] = []
        self.filter_text = ""

    def on_mount(self) -> None:
        self.add_column("action", key="action", width=11)
        self.add_column("arch", key="platform", width=7)
        self.add_column("platforms before → after", key="platforms", width=26)
        self.add_column("upload", key="upload", width=9)
        self.add_column("image", key="image")

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
        self.clear()
        for i, row in enumerate(self.visible_rows()):
            action = Text(row.action, style=ACTION_STYLE.get(row.action, ""))
            if isinstance(row, ChartPlan):
                self.add_row(
                    action, Text("chart"), Text("-"), Text("-", justify="right"),
                    Text(f"{row.repo}/{row.name}-{row.version}"), key=str(i),
                )
                continue
            self.add_row(
                action,
                Text(row.platform.removeprefix("linux/")),
                Text(f"{platforms(row.platforms_before)} → {platforms(row.platforms_after)}"),
                Text(size(row.upload_bytes) if row.upload_bytes else "-", justify="right"),
                Text(f"{row.repository}:{row.tag}"),
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
