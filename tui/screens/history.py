"""History: the runs in the journal, newest first; rollback of one, asking first."""

from __future__ import annotations

import time

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import DataTable, Static

from core.errors import ArchfuseError
from core.record.journal import RunRecord
from core.run.rollback import RollbackSummary, config_for_run
from tui.format import size
from tui.messages import EngineEvent, WorkDone, WorkFailed
from tui.screens.base import Command, FlowScreen

STATUS_STYLE = {"done": "green", "failed": "bold red", "cancelled": "yellow", "interrupted": "yellow"}


class HistoryScreen(FlowScreen):
    """The journal's runs; ctrl+r rolls the highlighted one back after asking."""

    SUB_TITLE = "History"
    ACTIONS = (
        Command("Roll back the highlighted run", "Put back the tags it moved (asks first)", "rollback", "ctrl+r",
                "Roll back"),
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
                           ("versions", "versions"), ("images", "images"), ("uploaded", "bytes")):
            table.add_column(label, key=key)
        self.action_reload()

    def action_reload(self) -> None:
        self.query_one("#detail", Static).update("Reading the journal…")
        self.archfuse.start_work(self, "history", self.archfuse.workspace.history)

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
                Text(" ".join(sorted(set(run.versions))) or "-"),
                Text(str(run.images)),
                Text(size(run.bytes_uploaded)),
                key=run.id,
            )
        self.query_one("#detail", Static).update(
            "No runs in the journal yet." if not runs else
            f"{len(runs)} runs. ctrl+r rolls the highlighted run back (asks first)."
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
        self.archfuse.ask(
            f"Roll back run {run.id} ({run.kind}, {run.status}) on {run.target}? "
            "Each tag it moved goes back to what it held before, unless someone moved it since.",
            lambda: self.rollback_now(run),
            yes="Roll back",
        )

    def rollback_now(self, run: RunRecord) -> None:
        current = self.archfuse.session
        try:
            if current is not None and current.target.description.rstrip("/") == run.target:
                session, own = current, False
            else:  # the run's own target, when its journal entry is enough to reach it (an OCI layout)
                session, own = self.archfuse.open_session(config_for_run(run)), True
        except ArchfuseError as err:
            self.fail(str(err))
            return

        def work() -> RollbackSummary:
            try:
                return session.rollback(run.id)
            finally:
                if own:
                    session.close()

        self.query_one("#detail", Static).update(f"Rolling back {run.id}…")
        self.archfuse.start_work(self, "rollback", work)

    def on_engine_event(self, _message: EngineEvent) -> None:
        pass  # rollback progress: the result line says what happened

    def on_work_done(self, message: WorkDone) -> None:
        if message.job == "history":
            self.show_runs(message.result)
        elif message.job == "rollback":
            summary: RollbackSummary = message.result
            counts = ", ".join(f"{n} {r}" for r, n in sorted(summary.counts().items())) or "no tags"
            self.action_reload()
            self.notify(f"Rollback of {summary.rolled_back}: {summary.status} ({counts})", timeout=8)

    def on_work_failed(self, message: WorkFailed) -> None:
        self.query_one("#detail", Static).update("")
        self.fail(message.message)
