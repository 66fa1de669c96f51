"""Harbor replication from the form's target (the hub) to the further sites: the pair checks per site,
consent, then the replication followed live (each execution's tasks, re-runs of failed ones) and each
site verified; Escape asks, then stops following (executions Harbor already started go on there)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import RichLog, Static

from core.api import (
    Cancelled,
    CheckStatus,
    ReplicationOptions,
    ReplicationPlan,
    ReplicationSummary,
    Site,
    Stop,
)
from core.api import events as ev
from tui.format import printable, replication_line, replication_question
from tui.messages import EngineEvent, WorkFailed
from tui.screens.base import Command, FlowScreen


class ReplicationScreen(FlowScreen):
    """The plan of a replication (checks per site), consent, and the replication followed in a worker."""

    SUB_TITLE = "Replicate to sites"
    ACTIONS = (
        Command("Stop following", "Stop following the replication (asks first); Harbor finishes what it started",
                "cancel", "escape", "Stop / Back"),
        Command("Replicate", "Ask, then label, create the policies and replicate to every site", "start", "s",
                "Replicate"),
    )

    def __init__(self, sites: list[Site], run_id: str | None = None,
                 options: ReplicationOptions | None = None) -> None:
        super().__init__()
        self.sites = sites
        self.run_id = run_id
        self.options = options or ReplicationOptions()
        self.plan: ReplicationPlan | None = None
        self.summary: ReplicationSummary | None = None
        self.running = False
        self.cancel = Stop()
        self.log_lines: list[str] = []

    def compose_body(self) -> ComposeResult:
        yield Static("Checking each hub–site pair…", id="replication-phase", markup=False)
        yield RichLog(id="replication-log", max_lines=2000, wrap=True, markup=False)

    def on_mount(self) -> None:
        session, sites, run_id = self.session, self.sites, self.run_id
        self.archfuse.start_work(self, "replication-plan", lambda: session.replication_plan(sites, run_id=run_id),
                                 self.planned)

    def set_phase(self, text: str) -> None:
        self.query_one("#replication-phase", Static).update(printable(text))

    def log_line(self, text: str) -> None:
        self.log_lines.append(text)
        self.query_one(RichLog).write(printable(text))

    # -- the plan and consent ---------------------------------------------------------
    def planned(self, plan: ReplicationPlan) -> None:
        self.plan = plan
        self.refresh_bindings()
        for line in plan.render_text().split("\n"):
            self.log_line(line)
        if plan.blocked:
            first = next(c for s in plan.sites for c in s.checks if c.status == CheckStatus.FAIL)
            self.set_phase(f"Replication refused: {first.name}: {first.detail} Nothing was changed.")
            return
        self.set_phase("Every pair check passed. Press s to replicate (asks first), Escape to go back.")
        self.action_start()

    def ready(self) -> bool:
        """A plan no check refuses, not replicated yet: s may ask."""
        plan = self.plan
        return plan is not None and not plan.blocked and not self.running and self.summary is None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return self.ready() if action == "start" else True

    def action_start(self) -> None:
        plan = self.plan
        if plan is None or not self.ready():
            return
        question = replication_question(plan, self.session.target.description, (s.name for s in self.sites))
        self.archfuse.ask(question, self.replicate, yes="Replicate")

    def replicate(self) -> None:
        plan = self.plan
        assert plan is not None
        self.running = True
        self.refresh_bindings()
        self.cancel.clear()
        self.set_phase("Replicating: labelling, then each site's policy and executions (Escape stops following)…")
        session, options = self.session, self.options
        self.archfuse.start_work(self, "replicate", lambda: session.replicate(plan, options, sleep=self.wait),
                                 self.finished)

    def wait(self, seconds: float) -> None:
        """The follower's pause between looks at an execution, cut short by Escape's cancel."""
        if self.cancel.wait(seconds):
            raise Cancelled("Stopped following the replication; the executions Harbor started go on there: "
                            "look at the hub's replication page, or replicate again to follow and verify.")

    # -- events and the outcome -------------------------------------------------------
    def on_engine_event(self, message: EngineEvent) -> None:
        event = message.event
        if isinstance(event, (ev.ReplicationProgress, ev.ReplicationRerun)):
            self.log_line(replication_line(event))

    def finished(self, summary: ReplicationSummary) -> None:
        self.running = False
        self.summary = summary
        self.refresh_bindings()
        for line in summary.render_text().split("\n"):
            self.log_line(line)
        verdict = "every site replicated and verified" if summary.ok else "NOT every site is ok (see the log)"
        self.set_phase(f"Replication over: {verdict}. Escape goes back.")

    def on_work_failed(self, message: WorkFailed) -> None:
        self.running = False
        self.set_phase("The replication stopped." if message.job == "replicate" else "The plan could not be made.")
        self.log_line(message.message)
        if not self.cancel.is_set():
            self.fail(message.message)

    def action_cancel(self) -> None:
        if not self.running:
            self.app.pop_screen()
            return
        self.archfuse.ask("Stop following the replication? Harbor finishes the executions it started.",
                          self.cancel_now, yes="Stop following")

    def cancel_now(self) -> None:
        if self.running:
            self.cancel.set()
            self.set_phase("Stopping: the follower stops at its next look…")
