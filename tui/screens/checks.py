"""Step 3: every preflight check with its fix, and the plan as a filterable table."""

from __future__ import annotations

import dataclasses

from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Input, Static

from core import events as ev
from core.checks.preflight import Check, Preflight
from core.errors import ArchfuseError
from core.kinds import CheckStatus
from tui.format import size
from tui.messages import EngineEvent, WorkDone, WorkFailed
from tui.screens.base import Command, FlowScreen
from tui.target_settings import check_options
from tui.widgets.disk import DiskGauges
from tui.widgets.plan import ChecksList, PlanTable, totals_text


class ChecksScreen(FlowScreen):
    """Runs the preflight in a worker; Start is refused while a check fails, saying why."""

    SUB_TITLE = "3/5 Checks and plan"
    ACTIONS = (
        Command("Start the import", "Carry out the plan (asks first)", "start", "s", "Start"),
        Command("Filter the plan", "Show only rows with these words (e.g. add-arch, arm64)", "filter", "slash",
                "Filter"),
        Command("Check again", "Run every check and the plan again", "recheck", "r"),
        Command("Create registry spaces", "Create the missing Harbor projects (asks first), then check again",
                "create_spaces", "c", "Create spaces", show=False),
        Command("Back: target", "Change the target", "back", "escape", "Back"),
    )

    def __init__(self) -> None:
        super().__init__()
        self.checks: list[Check | ev.CheckDone] = []  # the events while the checks run, then the checks

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="checks-box"):
            yield ChecksList(id="checks")
        yield DiskGauges(id="gauges")
        with Horizontal(classes="row"):
            yield Static("Filter ", classes="label short")
            yield Input(placeholder="words: new, add-arch, arm64, a repository…", id="filter", compact=True)
            yield Button("Start (s)", id="start", variant="success", compact=True)
        yield PlanTable(id="plan")
        yield Static("", id="totals", markup=False)

    def on_mount(self) -> None:
        self.query_one(ChecksList).show([])
        self.query_one(DiskGauges).show([])
        self.action_recheck()

    def action_recheck(self, create_spaces: bool = False) -> None:
        """Every check and the plan again; ``create_spaces`` (asked first) creates missing Harbor projects."""
        self.checks = []
        self.state.preflight = None
        self.query_one(ChecksList).show([])
        self.query_one("#totals", Static).update(
            "Creating the registry spaces, then checking again…" if create_spaces
            else "Checking the packages and the target…"
        )
        settings, packages = self.state.settings, self.state.chosen
        if create_spaces:  # for this check only: the next check opens a session that creates nothing
            settings = dataclasses.replace(settings, create_spaces=True)
        try:
            session = self.archfuse.connect(settings)
        except ArchfuseError as err:
            self.on_work_failed(WorkFailed("preflight", str(err)))
            return
        options, checks = self.archfuse.options, check_options(settings)

        def work() -> Preflight:
            return session.preflight(packages, options=options, checks=checks)

        self.archfuse.start_work(self, "preflight", work)

    def on_engine_event(self, message: EngineEvent) -> None:
        event = message.event
        if isinstance(event, ev.CheckDone):
            self.checks.append(event)
            self.query_one(ChecksList).show(self.checks)

    def on_work_done(self, message: WorkDone) -> None:
        if message.job != "preflight":
            return
        preflight: Preflight = message.result
        self.state.preflight = preflight
        self.checks = list(preflight.checks)
        self.query_one(ChecksList).show(self.checks)
        self.query_one(DiskGauges).show(preflight.checks)
        table = self.query_one(PlanTable)
        table.show(preflight.plan.images if preflight.plan else [], preflight.charts)
        totals = totals_text(preflight.plan, len(preflight.charts))
        if preflight.failed:
            totals += f" · {len(preflight.failures)} check(s) failed: Start is refused"
        if self.missing_spaces():
            totals += " · c creates the missing registry spaces"
        self.query_one("#totals", Static).update(totals)
        table.focus()

    def on_work_failed(self, message: WorkFailed) -> None:
        self.query_one("#totals", Static).update("The checks could not run.")
        self.fail(message.message)

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "filter":
            self.query_one(PlanTable).apply_filter(event.value)

    def on_input_submitted(self, _event: Input.Submitted) -> None:
        self.query_one(PlanTable).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "start":
            self.action_start()

    def missing_spaces(self) -> tuple[str, ...]:
        """Registry spaces (Harbor projects) a failed check says are missing."""
        preflight = self.state.preflight
        if preflight is None:
            return ()
        return tuple(dict.fromkeys(i for c in preflight.checks if c.status == CheckStatus.FAIL for i in c.items))

    def action_create_spaces(self) -> None:
        spaces = self.missing_spaces()
        if not spaces:
            self.fail("No registry space is missing: creating is offered when the registry-spaces check fails.")
            return
        settings = self.state.settings
        noun = "project" if len(spaces) == 1 else "projects"
        question = (
            f"Create {len(spaces)} {settings.space_visibility} Harbor {noun} on {settings.describe()}: "
            f"{', '.join(spaces)}? Every check runs again afterwards."
        )
        self.archfuse.ask(question, lambda: self.action_recheck(create_spaces=True), yes="Create")

    def action_filter(self) -> None:
        self.query_one("#filter", Input).focus()

    def refusal(self) -> str | None:
        """Why Start is refused now, or None."""
        preflight = self.state.preflight
        if preflight is None:
            return "The checks are still running; Start is possible when they are done."
        if preflight.failed:
            first = preflight.failures[0]
            return f"Start is refused because a check failed. {first.name}: {first.detail}"
        if preflight.plan is None:
            return "There is no plan to carry out; check again with r."
        return None

    def action_start(self) -> None:
        why = self.refusal()
        if why:
            self.fail(why)
            return
        preflight = self.state.preflight
        assert preflight is not None and preflight.plan is not None
        plan = preflight.plan
        question = (
            f"Import {len(plan.images)} images ({size(plan.bytes_to_upload)} to upload) "
            f"into {self.state.settings.describe()}? Tags move only at the end."
        )
        self.archfuse.ask(question, self.start_run, yes="Start")

    def start_run(self) -> None:
        from tui.screens.run import RunScreen

        self.app.push_screen(RunScreen())
