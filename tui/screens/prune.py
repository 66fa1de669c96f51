"""Free space: prune the versions no longer kept — bytes freed per version and arch, the plan, consent,
progress and the summary. Every step is the session's (``prune_plan``, ``prune``), as the CLI's."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Static

from core.api import ImageAction, PrunePlan, PruneSummary, Session, events
from tui.format import printable, size
from tui.messages import EngineEvent, WorkFailed
from tui.screens.base import Command, FlowScreen

DEFAULT_KEEP = 2


class PruneScreen(FlowScreen):
    """Keep the newest N versions of each package kind; what the others used is freed after asking."""

    SUB_TITLE = "Free space"
    ACTIONS = (
        Command("Keep one more version", "Keep the newest N+1 versions of each package kind", "more", "plus",
                "Keep +1"),
        Command("Keep one version fewer", "Keep the newest N-1 versions (at least 1)", "fewer", "minus", "Keep -1"),
        Command("Prune", "Remove the tags and manifests of the plan (asks first)", "prune", "p", "Prune"),
        Command("Back", "Return to the history", "back", "escape"),
    )

    def __init__(self, session: Session, *, own: bool = False, keep: int = DEFAULT_KEEP) -> None:
        super().__init__()
        self.target_session = session
        self.own = own  # opened for this screen: closed when it goes
        self.keep = keep
        self.plan: PrunePlan | None = None
        self.deleted = 0
        self.running = False

    def compose_body(self) -> ComposeResult:
        yield Static("", id="prune-head", markup=False)
        yield DataTable(id="freed", cursor_type="row", zebra_stripes=True)
        with VerticalScroll(id="prune-plan-scroll"):
            yield Static("", id="prune-plan", markup=False)
        yield Static("", id="prune-status", markup=False)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for label, key in (("versions", "versions"), ("platform", "platform"), ("freed", "freed")):
            table.add_column(label, key=key)
        self.replan()

    def replan(self) -> None:
        self.plan = None
        self.status(f"Planning: keep the newest {self.keep} version(s) of each package kind…")
        keep = self.keep
        self.archfuse.start_work(self, "prune-plan", lambda: self.target_session.prune_plan(keep=keep), self.show_plan)

    def status(self, text: str) -> None:
        self.query_one("#prune-status", Static).update(printable(text))

    def show_plan(self, plan: PrunePlan) -> None:
        self.plan = plan
        self.query_one("#prune-head", Static).update(printable(
            f"{plan.target}: keep {', '.join(plan.kept_versions) or 'none'}; "
            f"drop {', '.join(plan.dropped) or 'nothing'}"
        ))
        table = self.query_one(DataTable)
        table.clear()
        for (versions, platform), freed in sorted(plan.freed_by_version().items()):
            table.add_row(Text(printable(versions)), Text(platform), Text(size(freed), justify="right"))
        self.query_one("#prune-plan", Static).update(plan.render_text())
        self.status(
            "Nothing to free: every tag is still used." if plan.empty else
            f"{len(plan.tags)} tag(s), {len(plan.manifests)} manifest(s), {size(plan.bytes_freed)} after garbage "
            "collection. p prunes (asks first); +/- keeps more or fewer versions."
        )

    def action_more(self) -> None:
        if not self.running:
            self.keep += 1
            self.replan()

    def action_fewer(self) -> None:
        if not self.running and self.keep > 1:
            self.keep -= 1
            self.replan()

    def action_prune(self) -> None:
        plan = self.plan
        if plan is None or self.running:
            return
        if plan.empty:
            self.fail("There is nothing to prune: keep fewer versions, or import newer ones first.")
            return
        self.archfuse.ask(
            f"Remove {len(plan.tags)} tag(s) and delete {len(plan.manifests)} manifest(s) of "
            f"{', '.join(plan.dropped)} from {plan.target}? Nothing another tag uses is touched; the History "
            "rolls it back until the registry collects its garbage.",
            lambda: self.prune_now(plan),
            yes="Prune",
        )

    def prune_now(self, plan: PrunePlan) -> None:
        self.running, self.deleted = True, 0
        self.status(f"Pruning: 0 of {len(plan.manifests)} manifest(s) deleted…")
        self.archfuse.start_work(self, "prune", lambda: self.target_session.prune(plan), self.pruned)

    def on_engine_event(self, message: EngineEvent) -> None:
        event = message.event
        if isinstance(event, events.ImageDone) and event.action == ImageAction.PRUNED and self.plan is not None:
            self.deleted += 1
            self.status(f"Pruning: {self.deleted} of {len(self.plan.manifests)} manifest(s) deleted…")

    def pruned(self, summary: PruneSummary) -> None:
        self.running = False
        self.query_one("#prune-plan", Static).update(summary.render_text())
        self.status(f"Prune {summary.run_id}: {summary.status}. Escape returns to the history.")
        self.notify(f"Prune {summary.run_id}: {summary.status}", timeout=8)

    def on_work_failed(self, message: WorkFailed) -> None:
        self.running = False
        self.status("")
        self.fail(message.message)

    def on_unmount(self) -> None:
        if self.own:
            self.target_session.close()
