"""Step 4: the run. Live bytes, rate and ETA; per-image status; warnings in a log pane.

Escape asks first, then sets the cancel event: the engine stops before any tag moves, and
running the same import again continues where it stopped.
"""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.widgets import Log, Static

from core import events as ev
from core.run.engine import RunSummary
from tui.format import size
from tui.messages import EngineEvent, ProgressTick, WorkDone, WorkFailed
from tui.screens.base import Command, FlowScreen
from tui.widgets.progress import ImageTable, TransferProgress


class RunScreen(FlowScreen):
    """Runs the plan in a worker; the UI stays live and Escape can cancel."""

    SUB_TITLE = "4/5 Run"
    ACTIONS = (
        Command("Cancel the run", "Stop safely before any tag moves (asks first)", "cancel", "escape", "Cancel"),
        Command("Summary", "Results and verification, when the run is over", "next", "n"),
        Command("Run again / resume", "Plan again and continue where the run stopped", "resume", "r", "Run again"),
    )

    def __init__(self) -> None:
        super().__init__()
        self.running = False
        self.summary: RunSummary | None = None

    def compose_body(self) -> ComposeResult:
        yield Static("", id="phase", markup=False)
        yield TransferProgress(id="progress")
        yield ImageTable(id="images")
        yield Log(id="log", max_lines=500)

    def on_mount(self) -> None:
        preflight = self.state.preflight
        assert preflight is not None and preflight.plan is not None
        self.query_one(ImageTable).show(preflight.plan.images)
        self.query_one(TransferProgress).set_total(preflight.plan.bytes_to_upload)
        self.state.cancel.clear()
        self.state.summary = None
        self.running = True
        self.log_line("Warnings and failures appear here.")
        self.set_phase("Uploading blobs; manifests next, tags move last.")
        session, cancel, options = self.session, self.state.cancel, self.archfuse.options
        self.archfuse.start_work(self, "run", lambda: session.run(preflight, cancel=cancel, options=options))

    def set_phase(self, text: str) -> None:
        self.query_one("#phase", Static).update(text)

    def log_line(self, text: str) -> None:
        self.query_one(Log).write_line(text)

    # -- engine events ----------------------------------------------------------------
    def on_progress_tick(self, tick: ProgressTick) -> None:
        event = tick.latest()
        if isinstance(event, ev.BytesProgress):
            self.query_one(TransferProgress).update_from(event)

    def on_engine_event(self, message: EngineEvent) -> None:
        event = message.event
        if isinstance(event, ev.PackageStarted):
            self.set_phase(f"Reading {Path(event.path).name} ({event.version} {event.arch})")
        elif isinstance(event, ev.ImageDone):
            self.set_phase("Moving tags (last step)…")
            self.query_one(ImageTable).image_done(event)
        elif isinstance(event, ev.Warning):
            self.log_line(f"warning: {event.message}")
        elif isinstance(event, ev.Failure):
            self.log_line(f"failed: {event.subject}: {event.message}")
        elif isinstance(event, ev.ChartDone):
            self.log_line(f"chart {event.name}-{event.version}: {event.action} {event.detail}".rstrip())

    def on_work_done(self, message: WorkDone) -> None:
        if message.job != "run":
            return
        self.running = False
        summary: RunSummary = message.result
        self.summary = self.state.summary = summary
        progress = self.query_one(TransferProgress)
        if summary.status == "done":
            progress.finish(f"done: {size(summary.bytes_uploaded)} uploaded in {summary.seconds:.1f} s")
            self.set_phase("Done. Press n for the summary and verification.")
        elif summary.status == "cancelled":
            self.query_one(ImageTable).mark_rest("cancelled")
            progress.finish(f"cancelled after {size(summary.bytes_uploaded)}; no tag moved")
            self.set_phase("Cancelled safely. Press r to run again: it continues where it stopped.")
        else:
            self.query_one(ImageTable).mark_rest("failed")
            progress.finish(f"failed after {size(summary.bytes_uploaded)}")
            first = summary.failures[0] if summary.failures else "see the log"
            self.set_phase("Failed. Fix the cause, then press r to run again.")
            self.fail(f"The run failed: {first}")

    def on_work_failed(self, message: WorkFailed) -> None:
        self.running = False
        self.set_phase("The run could not start.")
        self.fail(message.message)

    # -- actions ----------------------------------------------------------------------
    def action_cancel(self) -> None:
        if not self.running:
            self.app.pop_screen()
            return
        self.archfuse.ask(
            "Cancel the run? It stops before any tag moves; running the import again continues it.",
            self.cancel_now,
            yes="Cancel run",
        )

    def cancel_now(self) -> None:
        if self.running:
            self.state.cancel.set()
            self.set_phase("Cancelling: finishing the uploads in flight…")
            self.log_line("cancel requested")

    def action_next(self) -> None:
        if self.running:
            self.fail("The run is still going; wait for it, or press Escape to cancel it.")
            return
        from tui.screens.summary import SummaryScreen

        self.app.push_screen(SummaryScreen())

    def action_resume(self) -> None:
        if self.running:
            self.fail("The run is still going.")
            return
        self.app.pop_screen()  # back to Checks, which plans again: a plan older than a run is never run
