"""The checks list and the plan table (filterable), with totals."""

from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text
from textual.widgets import DataTable, Static

from tui.format import platforms, size

STATUS_STYLE = {"ok": "green", "warn": "yellow", "fail": "bold red"}
ACTION_STYLE = {"new": "green", "add-arch": "cyan", "update-arch": "yellow", "unchanged": "dim", "error": "bold red",
                "conflict": "bold red"}


def status_text(status: str) -> Text:
    """``ok``/``warn``/``FAIL``: words, so the state reads without colour too."""
    word = "FAIL" if status == "fail" else status
    return Text(word, style=STATUS_STYLE.get(status, ""))


class ChecksList(Static):
    """Every preflight check: status, name, and the detail that says how to fix it."""

    def show(self, checks: Iterable[object]) -> None:
        text = Text()
        for check in checks:
            if text:
                text.append("\n")
            status = status_text(getattr(check, "status", ""))
            text.append_text(status)
            text.append(" " * (5 - len(status.plain)))
            text.append(f"{getattr(check, 'name', '')}: ", style="bold")
            text.append(str(getattr(check, "detail", "")))
        self.update(text if text else Text("Checking…", style="italic"))


class PlanTable(DataTable[Text]):
    """One row per image and platform; ``apply_filter`` narrows it by any word."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)  # type: ignore[arg-type]
        self.rows_all: list[object] = []
        self.filter_text = ""

    def on_mount(self) -> None:
        self.add_column("action", key="action", width=11)
        self.add_column("arch", key="platform", width=7)
        self.add_column("platforms before → after", key="platforms", width=26)
        self.add_column("upload", key="upload", width=9)
        self.add_column("image", key="image")

    def show(self, images: list[object], charts: list[object] | None = None) -> None:
        self.rows_all = list(images) + list(charts or [])
        self.refill()

    def apply_filter(self, text: str) -> None:
        self.filter_text = text.strip().lower()
        self.refill()

    def visible(self) -> list[object]:
        words = self.filter_text.split()
        return [row for row in self.rows_all if all(w in _haystack(row) for w in words)]

    def refill(self) -> None:
        self.clear()
        for i, row in enumerate(self.visible()):
            action = str(getattr(row, "action", ""))
            if not hasattr(row, "platform"):  # a chart
                self.add_row(
                    Text(action, style=ACTION_STYLE.get(action, "")),
                    Text("chart"),
                    Text("-"),
                    Text("-", justify="right"),
                    Text(f"{getattr(row, 'repo', '')}/{getattr(row, 'name', '')}-{getattr(row, 'version', '')}"),
                    key=str(i),
                )
                continue
            upload = int(getattr(row, "upload_bytes", 0))
            self.add_row(
                Text(action, style=ACTION_STYLE.get(action, "")),
                Text(str(getattr(row, "platform", "")).removeprefix("linux/")),
                Text(f"{platforms(row.platforms_before)} → {platforms(row.platforms_after)}"),  # type: ignore[attr-defined]
                Text(size(upload) if upload else "-", justify="right"),
                Text(f"{row.repository}:{row.tag}"),  # type: ignore[attr-defined]
                key=str(i),
            )


def _haystack(row: object) -> str:
    fields = ("action", "repository", "tag", "platform", "ref", "destination", "name", "version", "repo")
    kind = "image" if hasattr(row, "platform") else "chart"
    return " ".join([kind, *(str(getattr(row, f, "")) for f in fields)]).lower()


def totals_text(plan: object | None, charts: int = 0) -> str:
    """``8 images: 4 add-arch, 4 new · 1.2 MiB to upload``."""
    if plan is None:
        return "No plan: the target could not be read."
    counts = plan.counts()  # type: ignore[attr-defined]
    parts = ", ".join(f"{n} {a}" for a, n in sorted(counts.items()))
    images = len(plan.images)  # type: ignore[attr-defined]
    chart_text = f" · {charts} charts" if charts else ""
    return f"{images} images: {parts or 'none'}{chart_text} · {size(plan.bytes_to_upload)} to upload"  # type: ignore[attr-defined]
