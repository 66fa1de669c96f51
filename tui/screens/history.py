"""History: the runs in the journal, newest first; rollback of one, asking first."""

from __future__ import annotations

import time
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from core.api import (
    ArchfuseError,
    RollbackSummary,
    RunDetail,
    RunRecord,
    RunStatus,
    Session,
    TagRecord,
    config_for_run,
)
from tui.advice import say_error
from tui.format import printable, printable_lines, size
from tui.messages import EngineEvent, WorkFailed
from tui.screens.base import Command, FlowScreen
from tui.screens.dialogs import ScrollPage

STATUS_STYLE = {RunStatus.DONE: "green", RunStatus.FAILED: "bold red", RunStatus.CANCELLED: "yellow",
                RunStatus.INTERRUPTED: "yellow"}


def plural(n: int, noun: str) -> str:
    """``1 run``, ``2 runs``."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def nothing_to_undo(run: RunRecord, tags: list[TagRecord]) -> str:
    """Why rolling ``run`` back would change nothing, or '' when it may put tags back."""
    if run.status == RunStatus.RUNNING:
        return f"Run {run.id} is still running; roll it back when it has ended."
    if not tags:
        return f"Run {run.id} moved no tag: there is nothing to roll back."
    deletes_tags = run.target.startswith("oci:")  # an OCI layout can delete a tag; a registry cannot
    if all(t.before is None for t in tags) and not deletes_tags:
        return (
            f"Nothing can be undone: run {run.id} created every tag it wrote ({plural(len(tags), 'tag')}), and "
            f"{run.target} cannot delete a tag (the registry API has none), so a rollback would leave them all."
        )
    return ""


def detail_text(detail: RunDetail, report: Path | None) -> str:
    """The run as a page of text: packages, images, charts, tags moved, report."""
    run = detail.run
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(run.started))
    lines = [f"Run {run.id}: {run.kind}, {run.status}, started {when}", f"Target: {run.target}"]
    if run.message:
        lines.append(f"Message: {run.message}")
    lines.append("")
    lines.append(f"Packages ({len(run.packages)}):")
    lines += [f"  {p.get('version', '?')} {p.get('arch', '?')}  {p.get('name', p.get('path', ''))}" for p in run.packages]
    counts = ", ".join(f"{n} {a}" for a, n in sorted(run.counts.items())) or "none"
    lines += ["", f"Images ({plural(len(detail.images), 'row')}: {counts}; {size(run.bytes_uploaded)} uploaded):"]
    lines += [f"  {i.action:<11} {i.platform.removeprefix('linux/'):<6} {i.destination}  {i.result}" for i in sorted(detail.images, key=lambda i: (i.destination, i.platform))]
    lines += ["", f"Charts ({len(detail.charts)}):"]
    lines += [f"  {c.action:<11} {c.name}-{c.version} -> {c.destination}  {c.result}" for c in sorted(detail.charts, key=lambda c: (c.name, c.version))] or ["  none"]
    lines += ["", f"Tags moved ({len(detail.tags)}):"]
    lines += [
        f"  {t.repository}:{t.tag}  {_short(t.before) if t.before else 'created'} -> {_short(t.after)}"
        for t in detail.tags
    ] or ["  none"]
    lines += ["", f"Report: {report}" if report else "Report: none was written for this run."]
    here = f"{Path.cwd()}/"  # paths under the working directory read short, as the engineer typed them
    return "\n".join(lines).replace(here, "")


def _short(digest: str | None) -> str:
    return digest[:19] if digest else "deleted"


class RunDetailScreen(ScrollPage):
    """One run of the history, as a scrollable page; Escape closes it."""

    BINDINGS = [Binding("escape,enter,q", "dismiss", "Close")]

    def __init__(self, text: str) -> None:
        super().__init__("help", "Run detail (Escape closes)", Static(printable_lines(text.split("\n")), id="run-detail", markup=False))
        self.text = text


class HistoryScreen(FlowScreen):
    """The journal's runs; ctrl+r rolls the highlighted one back after asking."""

    SUB_TITLE = "History"
    ACTIONS = (
        Command("Open the highlighted run", "Its packages, images, charts, tags moved and report", "open", "enter",
                "Open"),
        Command("Roll back the highlighted run", "Put back the tags it moved (asks first)", "rollback", "ctrl+r",
                "Roll back"),
        Command("Free space", "Prune old versions from the highlighted run's target: bytes freed, plan, consent",
                "free_space", "f", "Free space"),
        Command("Reload the history", "Read the journal again", "reload", "f5", "Reload"),
        Command("Back", "Return to the previous screen", "back", "escape"),
    )

    def __init__(self) -> None:
        super().__init__()
        self.runs: list[RunRecord] = []

    def compose_body(self) -> ComposeResult:
        yield DataTable(id="runs", cursor_type="row", zebra_stripes=True)
        yield Static("", id="detail", markup=False)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for label, key in (("run", "id"), ("kind", "kind"), ("status", "status"), ("started", "started"),
                           ("versions", "versions"), ("arches", "arches"), ("images", "images"),
                           ("uploaded", "bytes")):
            table.add_column(label, key=key)
        self.action_reload()

    def action_reload(self) -> None:
        self.query_one("#detail", Static).update("Reading the journal…")
        self.archfuse.start_work(self, "history", self.archfuse.workspace.history, self.show_runs)

    def show_runs(self, runs: list[RunRecord]) -> None:
        self.runs = runs
        table = self.query_one(DataTable)
        table.clear()
        for run in runs:
            table.add_row(
                Text(run.id),
                Text(run.kind),
                Text(run.status, style=STATUS_STYLE.get(run.status, "")),
                Text(time.strftime("%Y-%m-%d %H:%M", time.localtime(run.started))),
                Text(printable(" ".join(sorted(set(run.versions)))) or "-"),
                Text(",".join(sorted({str(p.get("arch", "")) for p in run.packages} - {""})) or "-"),
                Text(str(run.images)),
                Text(size(run.bytes_uploaded)),
                key=run.id,
            )
        self.query_one("#detail", Static).update(
            "No runs in the journal yet." if not runs else
            f"{plural(len(runs), 'run')}. Enter opens the highlighted run; ctrl+r rolls it back (asks first)."
        )
        table.focus()

    def highlighted(self) -> RunRecord | None:
        table = self.query_one(DataTable)
        if not self.runs or not table.row_count:
            return None
        return self.runs[table.cursor_row]

    def action_rollback(self) -> None:
        run = self.highlighted()
        if run is None:
            self.fail("There is no run to roll back; pick one in the list first.")
            return
        nothing = nothing_to_undo(run, self.archfuse.workspace.run_detail(run).tags)
        if nothing:
            self.fail(nothing)
            return
        self.archfuse.ask(
            f"Roll back run {run.id} ({run.kind}, {run.status}) on {run.target}? "
            "Each tag it moved goes back to what it held before, unless someone moved it since.",
            lambda: self.rollback_now(run),
            yes="Roll back",
        )

    def rollback_now(self, run: RunRecord) -> None:
        found = self.target_session(run)
        if found is None:
            return
        session, own = found

        def work() -> RollbackSummary:
            try:
                return session.rollback(run.id)
            finally:
                if own:
                    session.close()

        self.query_one("#detail", Static).update(f"Rolling back {run.id}…")
        self.archfuse.start_work(self, "rollback", work, self.rolled_back)

    def target_session(self, run: RunRecord | None) -> tuple[Session, bool] | None:
        """The session on ``run``'s target (the app's when it is the same, else its own: an OCI layout),
        with whether it was opened for the caller; None after saying why not."""
        current = self.archfuse.session
        try:
            if current is not None and (run is None or current.target.description.rstrip("/") == run.target):
                return current, False
            if run is None:
                self.fail("There is no target to work on: pick a run in the list, or fill in the Target form first.")
                return None
            return self.archfuse.open_session(config_for_run(run)), True
        except ArchfuseError as err:
            self.fail(say_error(err))
            return None

    def action_free_space(self) -> None:
        from tui.screens.prune import PruneScreen

        found = self.target_session(self.highlighted())
        if found is not None:
            session, own = found
            self.app.push_screen(PruneScreen(session, own=own))

    def action_open(self) -> None:
        run = self.highlighted()
        if run is None:
            self.fail("There is no run to open; pick one in the list first.")
            return
        workspace = self.archfuse.workspace
        self.app.push_screen(RunDetailScreen(detail_text(workspace.run_detail(run), workspace.report_of(run.id))))

    def on_data_table_row_selected(self, _event: DataTable.RowSelected) -> None:
        self.action_open()

    def on_engine_event(self, _message: EngineEvent) -> None:
        pass  # rollback progress: the result line says what happened

    def rolled_back(self, summary: RollbackSummary) -> None:
        """A rollback finished: the list again, and what it did."""
        counts = ", ".join(f"{n} {r}" for r, n in sorted(summary.counts().items())) or "no tags"
        self.action_reload()
        self.notify(f"Rollback of {summary.rolled_back}: {summary.status} ({counts})", timeout=8)

    def on_work_failed(self, message: WorkFailed) -> None:
        self.query_one("#detail", Static).update("")
        self.fail(message.message)
