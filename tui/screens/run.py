"""Step 4: the run. Live bytes, recent rate, ETA and time; each image's stage; what is in flight
now; stalls and retries as they happen; warnings in a log pane that can grow and be saved.

Escape asks first, then sets the cancel event: the engine cuts the requests in flight and stops
before any tag moves, and running the same import again continues where it stopped. Ctrl+Q
during a run asks too (see ``ArchfuseApp.action_quit``).
"""

from __future__ import annotations

import time
from pathlib import Path

from textual.app import ComposeResult
from textual.widgets import RichLog, Static

from core.api import ImageStage, PackageIndex, Preflight, RunStatus, RunSummary, SiteOutcome, run_sites
from core.api import events as ev
from tui.advice import say
from tui.format import printable, replication_line, size
from tui.messages import EngineEvent, ProgressTick, WorkFailed
from tui.render import RunLog
from tui.screens.base import Command, FlowScreen
from tui.widgets.plan import totals_text
from tui.widgets.progress import ImageTable, InFlight, TransferProgress
from tui.widgets.siteprogress import SiteProgress

LOGS_DIR = "logs"
#: what r does after a run stopped: back to the checks, which plan again against what the target holds now
AFTER_STOP = "press r to check and plan again, then Start: it continues where the run stopped."


class RunScreen(FlowScreen):
    """Runs the plan in a worker; the UI stays live and Escape can cancel."""

    SUB_TITLE = "4/5 Run"
    ACTIONS = (
        Command("Cancel the run", "Stop safely before any tag moves (asks first)", "cancel", "escape", "Cancel"),
        Command("Summary", "Results and verification, when the run is over", "next", "n"),
        Command("Check and plan again", "Back to Checks and plan: every check and the plan again, then Start "
                "continues where the run stopped", "resume", "r", "Plan again"),
        Command("Enlarge the log", "Give the log most of the screen, or back", "toggle_log", "l", "Log"),
        Command("Save the log", "Write the log to a file in the state directory", "save_log", "w", "Save log"),
    )

    def __init__(self) -> None:
        super().__init__()
        self.running = False
        self.quit_after = False
        self.summary: RunSummary | None = None
        self.run_id = ""
        self.log_lines: list[str] = []  # what the log pane shows
        self.run_log = RunLog([])  # every event of the run, with its time: what w saves

    def compose_body(self) -> ComposeResult:
        yield Static("", id="phase", markup=False)
        yield TransferProgress(id="progress")
        yield SiteProgress("", id="site-progress", markup=False)
        yield InFlight(id="inflight")
        yield ImageTable(id="images")
        yield RichLog(id="log", max_lines=2000, wrap=True, markup=False)

    def on_mount(self) -> None:
        preflight = self.state.preflight
        assert preflight is not None and preflight.plan is not None
        self.query_one(ImageTable).show(preflight.plan.images)
        self.query_one(TransferProgress).set_total(preflight.plan.bytes_to_upload)
        self.run_log = RunLog(log_header(self.state.settings.describe(), self.state.chosen, preflight))
        self.archfuse.bridge.record = self.run_log
        self.state.cancel.clear()
        self.state.summary = None
        self.state.site_outcomes = []
        self.running = True
        self.log_line("Warnings, retries and failures appear here (l enlarges, w saves).")
        self.set_phase("Uploading blobs; manifests next, tags move last.")
        session, cancel, options = self.session, self.state.cancel, self.archfuse.options
        state = self.state
        self.query_one(SiteProgress).show(state.site_tallies)
        if state.sites:  # one read of the packages, every site fed (core.run.fanout); a failed site alone
            for tally in state.site_tallies:
                tally.reset()
            sessions, preflights = [session, *state.site_sessions], [preflight, *state.site_preflights]
            self.set_interval(0.5, self.show_sites)
            self.archfuse.start_work(
                self, "run", lambda: run_sites(sessions, preflights, cancel=cancel, options=options),
                self.finished_sites,
            )
            return
        self.archfuse.start_work(
            self, "run", lambda: session.run(preflight, cancel=cancel, options=options), self.finished
        )

    def show_sites(self) -> None:
        self.query_one(SiteProgress).show(self.state.site_tallies)

    def finished_sites(self, outcomes: list[SiteOutcome]) -> None:
        """A run to several sites ended: each further site's line says how, the hub's as a run alone."""
        hub, *further = outcomes
        self.state.site_outcomes = further
        for tally, outcome in zip(self.state.site_tallies, further):
            tally.end(outcome.status, outcome.message)
            if outcome.summary is None or outcome.status == RunStatus.FAILED:
                self.log_line(f"site {tally.name} failed: {say(outcome.message)}")
        self.show_sites()
        if hub.summary is None:
            self.on_work_failed(WorkFailed("run", say(hub.message)))
            return
        self.finished(hub.summary)

    def set_phase(self, text: str) -> None:
        self.query_one("#phase", Static).update(printable(text))

    def log_line(self, text: str) -> None:
        """A line in the log pane; a line of the screen's own (not an event's) goes in the full log too."""
        self.log_lines.append(text)
        self.query_one(RichLog).write(printable(text))

    # -- engine events ----------------------------------------------------------------
    def on_progress_tick(self, tick: ProgressTick) -> None:
        event = tick.latest()
        if isinstance(event, ev.BytesProgress):
            transfer = self.query_one(TransferProgress)
            last = transfer.transfer.last
            if last is None or event.bytes_done > last.bytes_done:
                self.query_one(InFlight).moved()
            transfer.update_from(event)
        elif isinstance(event, ev.ImageProgress):
            self.query_one(ImageTable).stage(event)
        elif isinstance(event, ev.BlobProgress):
            self.query_one(InFlight).blob(event)

    def on_engine_event(self, message: EngineEvent) -> None:
        event = message.event
        if isinstance(event, ev.RunStarted):
            self.run_id = event.run_id
            self.query_one(TransferProgress).transfer.start(event.at)
        elif isinstance(event, ev.PackageStarted):
            if not self.state.cancel.is_set():
                self.set_phase(f"Reading {Path(event.path).name} ({event.version} {event.arch})")
        elif isinstance(event, ev.BlobDone):
            self.query_one(InFlight).blob_done(event.digest)
        elif isinstance(event, ev.ImageDone):
            self.set_phase("Moving tags (last step)…")
            self.query_one(InFlight).clear_all()
            self.query_one(ImageTable).image_done(event)
        elif isinstance(event, ev.Stalled):
            self.query_one(InFlight).stall(event)
        elif isinstance(event, ev.Retrying):
            self.query_one(InFlight).retrying(event)
            self.log_line(f"{event.text()} ({event.what})")
        elif isinstance(event, (ev.ReplicationProgress, ev.ReplicationRerun)):
            self.log_line(replication_line(event))
        elif isinstance(event, ev.Warning):
            self.log_line(f"warning: {say(event.message)}")
        elif isinstance(event, ev.Failure):
            self.log_line(f"failed: {event.subject}: {say(event.message)}")
        elif isinstance(event, ev.ChartDone):
            self.log_line(f"chart {event.name}-{event.version}: {event.action} {say(event.detail)}".rstrip())
        elif isinstance(event, ev.RunFinished) and event.status == RunStatus.CANCELLED:
            self.log_line(f"cancelled: {say(event.message)}")

    def finished(self, summary: RunSummary) -> None:
        """The run ended (done, cancelled or failed): its outcome on the screen."""
        self.running = False
        self.stop_recording()
        self.run_log.note(f"outcome: {summary.status}, {size(summary.bytes_uploaded)} uploaded in "
                          f"{summary.seconds:.1f} s; exit code {summary.exit_code}")
        for tally in self.state.site_tallies if self.state.site_outcomes else []:
            self.run_log.note(tally.line())
        for failure in summary.failures:
            self.run_log.note(f"  failure: {say(failure)}")
        for path in summary.reports:
            self.run_log.note(f"  report: {path}")
        self.summary = self.state.summary = summary
        self.query_one(InFlight).clear_all()
        progress = self.query_one(TransferProgress)
        if summary.status == RunStatus.DONE:
            progress.finish(f"done: {size(summary.bytes_uploaded)} uploaded in {summary.seconds:.1f} s")
            self.set_phase("Done. Press n for the summary and verification.")
        elif summary.status == RunStatus.CANCELLED:
            self.query_one(ImageTable).mark_rest(ImageStage.CANCELLED)
            progress.finish(f"cancelled after {size(summary.bytes_uploaded)} in {summary.seconds:.1f} s; no tag moved")
            self.set_phase(f"Cancelled safely; {AFTER_STOP}")
        else:
            self.query_one(ImageTable).mark_rest(ImageStage.FAILED)
            progress.finish(f"failed after {size(summary.bytes_uploaded)}")
            first = say(summary.failures[0]) if summary.failures else "see the log"
            self.set_phase(f"Failed. Fix the cause, then {AFTER_STOP}")
            if not self.quit_after:
                self.fail(f"The run failed: {first}")
        if self.quit_after:
            self.app.exit(self.state.exit_code)  # a safe stop has its own code: it is not a failure

    def stop_recording(self) -> None:
        """The run is over: what comes next (a verification) is not the run's."""
        if self.archfuse.bridge.record is self.run_log:
            self.archfuse.bridge.record = None

    def on_unmount(self) -> None:
        self.stop_recording()

    def on_work_failed(self, message: WorkFailed) -> None:
        self.running = False
        self.stop_recording()
        self.run_log.note(f"the run could not start: {message.message}")
        self.set_phase("The run could not start.")
        if self.quit_after:
            self.app.exit(1)
            return
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
        if self.running and not self.state.cancel.is_set():
            self.state.cancel.set()
            self.set_phase("Cancelling: abandoning the uploads in flight; no tag will move…")
            self.log_line("cancel requested: abandoning the uploads in flight")
            self.run_log.note("cancel requested: abandoning the uploads in flight")

    def stop_and_quit(self, signal_name: str = "") -> None:
        """Ctrl+Q's "stop safely and quit" (or SIGHUP/SIGTERM's, ``signal_name`` saying which: the journal
        records the run as interrupted): cancel, then leave once the engine has stopped."""
        self.quit_after = True
        if signal_name and self.running:
            self.state.cancel.interrupt(signal_name)
            self.log_line(f"{signal_name}: stopping safely, then quitting")
            self.run_log.note(f"{signal_name}: stopping safely, then quitting")
        self.cancel_now()
        self.set_phase("Stopping safely, then quitting: abandoning the uploads in flight…")

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

    def action_toggle_log(self) -> None:
        self.toggle_class("log-enlarged")

    def action_save_log(self) -> None:
        """Write the run's full log (every event with its time, the checks and the plan's totals) to
        ``<state dir>/logs/run-<id>.log`` and say where."""
        name = f"run-{self.run_id or time.strftime('%Y%m%d-%H%M%S')}.log"
        path = Path(self.session.state_dir) / LOGS_DIR / name
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(self.run_log.text(), encoding="utf-8")
        except OSError as err:
            self.fail(f"The log could not be saved to {path}: {err.strerror or err}.")
            return
        self.log_line(f"log saved to {path} (the run's full log, {len(self.run_log.lines)} lines)")
        self.notify(printable(f"Log saved to {path}"), timeout=6, markup=False)


def log_header(target: str, packages: list[PackageIndex], preflight: Preflight) -> list[str]:
    """The top of the run's full log: target, packages, every check, the plan's totals and rows."""
    lines = [f"archfuse run log · target {target}", "packages:"]
    lines += [f"  {p.version} {p.arch}  {p.path}" for p in packages]
    lines.append("checks:")
    lines += [f"  [{c.status:>4}] {c.name}: {say(c.detail)}" for c in preflight.checks]
    lines.append(f"plan: {totals_text(preflight.plan, len(preflight.charts))}")
    plan = preflight.plan
    lines += [f"  {i.action:<11} {i.platform.removeprefix('linux/'):<6} {i.destination}  {size(i.upload_bytes)}"
              for i in (plan.images if plan is not None else [])]
    lines += [f"  chart {c.action:<9} {c.name}-{c.version} -> {c.destination}" for c in preflight.charts]
    return [printable(line) for line in lines]
