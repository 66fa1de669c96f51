"""Step 3: every preflight check with its fix, and the plan as a filterable table."""

from __future__ import annotations

import dataclasses

from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Input, Static

from core.api import (
    ArchfuseError,
    ChartAction,
    ChartPlan,
    Check,
    CheckKind,
    CheckStatus,
    ImageAction,
    PackageDiff,
    PackageIndex,
    Preflight,
    Session,
    holds_tag,
    preflight_sites,
    site_of,
)
from core.api import events as ev
from tui.advice import say, say_error
from tui.format import printable, printable_lines, size
from tui.messages import EngineEvent, WorkFailed
from tui.screens.base import Command, FlowScreen
from tui.target_settings import check_options
from tui.widgets.disk import DiskGauges
from tui.widgets.plan import CheckLine, ChecksList, PlanTable, totals_text
from tui.widgets.siteprogress import SiteTally, site_check_lines


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
        Command("Overwrite chart conflicts", "Replace chart versions whose content differs (asks first)",
                "force_charts", "f", "Force charts", show=False),
        Command("Ignore a failed check", "Go past failed checks of an ignorable kind (asks first)", "ignore", "i",
                "Ignore", show=False),
        Command("Select the missing arches", "Add the packages the arch-coverage warnings name, then check again",
                "fill_arches", "p", "Fill arches", show=False),
        Command("Back: target", "Change the target", "back", "escape", "Back"),
    )

    def __init__(self) -> None:
        super().__init__()
        self.checks: list[Check | ev.CheckDone] = []  # the events while the checks run, then the checks
        self.upgrade: PackageDiff | None = None  # what the upgrade changes, when the packages chosen are one
        self.made_for_sites: list[Preflight] = []  # the further sites' checks, from the worker

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="checks-box"):
            yield Static("", id="site-checks", markup=False)
            yield ChecksList(id="checks")
        yield DiskGauges(id="gauges")
        with Horizontal(classes="row"):
            yield Static("Filter ", classes="label short")
            yield Input(placeholder="words: new, add-arch, arm64, a repository…", id="filter", compact=True)
            yield Button("Start (s)", id="start", variant="success", compact=True)
        yield PlanTable(id="plan")
        yield Static("", id="totals", markup=False)

    def on_mount(self) -> None:
        self.query_one("#site-checks", Static).display = False
        self.query_one(ChecksList).show([])
        self.query_one(DiskGauges).show([])
        self.action_recheck()

    def on_screen_resume(self) -> None:
        """Back from a run: what the target holds changed, so the plan is made again."""
        if self.app.screen is self and self.state.preflight is not None and not self.state.plan_is_current:
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
            self.on_work_failed(WorkFailed("preflight", say_error(err)))
            return
        options, checks = self.archfuse.options, check_options(settings)

        state = self.state
        selected = [p for p in state.packages if p.path in state.selected]
        try:
            sites = self.open_sites(create_spaces=create_spaces)
        except ArchfuseError as err:
            self.on_work_failed(WorkFailed("preflight", say_error(err)))
            return

        def work() -> Preflight:
            self.upgrade = session.upgrade_diff(selected, state.packages, session.config, state.charts)
            if sites:  # the hub and every further site at once, as the CLI's plan to several targets
                preflight, *self.made_for_sites = preflight_sites([session, *sites], packages, options=options,
                                                                  checks=checks)
            else:
                preflight = session.preflight(packages, options=options, checks=checks)
            if not create_spaces:
                return preflight
            # agreed to: created now, at the hub and at every further site that lacks them
            self.made_for_sites = [site.prepare(made) for site, made in zip(sites, self.made_for_sites)]
            return session.prepare(preflight)

        self.archfuse.start_work(self, "preflight", work, self.show_preflight)

    def open_sites(self, *, create_spaces: bool = False) -> list[Session]:
        """A session per further site (the previous ones closed), each with its events' tally;
        ``create_spaces`` (agreed to) for this check only, as for the hub."""
        state = self.state
        for old in state.site_sessions:
            old.close()
        state.site_sessions, state.site_preflights, state.site_tallies = [], [], []
        self.made_for_sites = []
        for site in state.sites:
            tally = SiteTally(site.name)
            config = dataclasses.replace(site.config, create_spaces=True) if create_spaces else site.config
            state.site_sessions.append(self.archfuse.open_session(config, emit=tally))
            state.site_tallies.append(tally)
        return list(state.site_sessions)

    def on_engine_event(self, message: EngineEvent) -> None:
        event = message.event
        if isinstance(event, ev.CheckDone):
            self.checks.append(event)
            self.query_one(ChecksList).show(self.checks, self.advice)

    def show_preflight(self, preflight: Preflight) -> None:
        """The checks and the plan the engine made, on the screen."""
        self.state.preflight = preflight
        self.state.site_preflights = list(self.made_for_sites)
        self.state.planned_after = self.state.runs_started
        self.show_sites(preflight)
        self.checks = list(preflight.checks)
        self.query_one(ChecksList).show(self.checks, self.advice)
        self.query_one(DiskGauges).show(preflight.checks)
        table = self.query_one(PlanTable)
        table.show(preflight.plan.images if preflight.plan else [], preflight.charts)
        totals = totals_text(preflight.plan, len(preflight.charts))
        if self.all_failures():
            totals += f" · {len(self.all_failures())} check(s) failed: Start is refused"
        totals += "".join(f" · {hint}" for hint in self.offers())
        lines = [totals] + ([f"Upgrade: {self.upgrade.summary()}."] if self.upgrade is not None else [])
        self.query_one("#totals", Static).update(printable_lines(lines))
        table.focus()

    def show_sites(self, hub: Preflight) -> None:
        """With further sites: the site × check table and each site's upload totals."""
        box = self.query_one("#site-checks", Static)
        box.display = bool(self.state.sites)
        if self.state.sites:
            named = [(site_of(self.session.config).name, hub)]
            named += [(s.name, p) for s, p in zip(self.state.sites, self.state.site_preflights)]
            box.update(printable_lines(site_check_lines(named)))

    def all_failures(self) -> list[Check]:
        """The failed checks of the hub and of every further site."""
        preflight = self.state.preflight
        hub = list(preflight.failures) if preflight else []
        return hub + [c for p in self.state.site_preflights for c in p.failures]

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

    def missing_spaces(self) -> list[tuple[str, tuple[str, ...]]]:
        """Registry spaces (Harbor projects) failed checks say are missing: the hub's, then each further
        site's, as (where, spaces) for the places that lack some."""
        state = self.state
        if state.preflight is None:
            return []
        places = [(state.settings.describe(), state.preflight)]
        places += [(f"site {site.name}", made) for site, made in zip(state.sites, state.site_preflights)]
        missing = [(where, tuple(dict.fromkeys(i for c in made.checks if c.status == CheckStatus.FAIL for i in c.items)))
                   for where, made in places]
        return [(where, spaces) for where, spaces in missing if spaces]

    def action_create_spaces(self) -> None:
        missing = self.missing_spaces()
        if not missing:
            self.fail("No registry space is missing: creating is offered when the registry-spaces check fails.")
            return
        count = sum(len(spaces) for _where, spaces in missing)
        noun = "project" if count == 1 else "projects"
        where = "; ".join(f"on {place}: {', '.join(spaces)}" for place, spaces in missing)
        question = (
            f"Create {count} {self.state.settings.space_visibility} Harbor {noun} {where}? "
            "Every check runs again afterwards."
        )
        self.archfuse.ask(question, lambda: self.action_recheck(create_spaces=True), yes="Create")

    def advice(self, check: CheckLine) -> str:
        """A check's detail in this screen's words, with the key that acts on it."""
        text = say(check.detail)
        if isinstance(check, Check):
            fill = self.fills(check)
            if fill:
                names = ", ".join(f"{p.version} {p.arch}" for p in fill)
                text += f" Press p to select {names} here."
        return text

    def offers(self) -> list[str]:
        """The keys that act on what the checks found, as the totals line offers them."""
        out = []
        if self.missing_spaces():
            out.append("c creates the missing registry spaces")
        if self.conflicts():
            out.append("f overwrites the chart conflicts")
        if self.can_ignore():
            out.append("i goes past the failed checks")
        if self.filling_packages():
            out.append("p selects the packages with the missing arches")
        return out

    def conflicts(self) -> list[ChartPlan]:
        """Chart versions whose content differs from the destination's (kept unless forced)."""
        preflight = self.state.preflight
        return [c for c in preflight.charts if c.action == ChartAction.CONFLICT] if preflight else []

    def action_force_charts(self) -> None:
        conflicts = self.conflicts()
        if not conflicts:
            self.fail("No chart version conflicts with the destination: there is nothing to overwrite.")
            return
        names = ", ".join(f"{c.name}-{c.version}" for c in conflicts[:5]) + (" …" if len(conflicts) > 5 else "")
        question = (
            f"Overwrite {len(conflicts)} chart version(s) on the chart destination with the package's content: "
            f"{names}? What the destination holds for them now is replaced. Every check runs again first."
        )

        def force() -> None:
            self.state.settings.force_charts = True
            self.action_recheck()

        self.archfuse.ask(question, force, yes="Overwrite")

    def ignorable_failures(self) -> list[Check]:
        """Failed checks whose kind may be gone past."""
        return [c for c in self.all_failures() if c.kind.ignorable]

    def can_ignore(self) -> bool:
        """Some check failed and every failed check may be gone past (i is offered only then)."""
        failures = self.all_failures()
        return bool(failures) and len(self.ignorable_failures()) == len(failures)

    def action_ignore(self) -> None:
        failures = self.all_failures()
        if not failures:
            self.fail("No check failed: there is nothing to go past.")
            return
        fixed = [c for c in failures if c not in self.ignorable_failures()]
        if fixed:
            self.fail(f"{fixed[0].name} cannot be gone past: without it there is no plan to run. "
                      f"Fix it first: {say(fixed[0].detail)}")
            return
        kinds = frozenset(c.kind for c in failures)
        question = (
            f"Go past {len(failures)} failed check(s) of kind {', '.join(sorted(kinds))} ({failures[0].name}: "
            f"{say(failures[0].detail)})? They become warnings and Start is allowed, at your risk."
        )

        def ignore() -> None:
            self.state.settings.ignored = self.state.settings.ignored | kinds
            self.action_recheck()

        self.archfuse.ask(question, ignore, yes="Go past")

    def fills(self, check: Check) -> list[PackageIndex]:
        """Packages not selected that hold a tag an arch-coverage warning names (its items: ``repo:tag``)."""
        if check.kind != CheckKind.ARCH_COVERAGE or check.status == CheckStatus.OK:
            return []
        state = self.state
        return [p for p in state.packages if p.path not in state.selected and holds_any(p, check.items)]

    def filling_packages(self) -> list[PackageIndex]:
        """Packages not selected that would fill the arch-coverage warnings."""
        preflight = self.state.preflight
        found = {p.path: p for c in (preflight.checks if preflight else []) for p in self.fills(c)}
        return list(found.values())

    def action_fill_arches(self) -> None:
        packages = self.filling_packages()
        if not packages:
            self.fail("No arch-coverage warning names a package you have not selected; go back to Packages "
                      "(Escape twice) to choose others.")
            return
        self.state.selected |= {p.path for p in packages}
        self.notify(printable("Selected " + ", ".join(f"{p.version} {p.arch}" for p in packages) + "; checking again."),
                    markup=False)
        self.action_recheck()

    def action_filter(self) -> None:
        self.query_one("#filter", Input).focus()

    def action_back(self) -> None:
        """Escape in the filter closes the filter (its words cleared, the plan focused); elsewhere: back."""
        field = self.query_one("#filter", Input)
        if field.has_focus:
            field.value = ""
            self.query_one(PlanTable).focus()
            return
        super().action_back()

    def refusal(self) -> str | None:
        """Why Start is refused now, or None."""
        preflight = self.state.preflight
        if preflight is None:
            return "The checks are still running; Start is possible when they are done."
        if not self.state.plan_is_current:
            return "The plan is older than the last run; it is being made again. Start when the checks are done."
        failures = self.all_failures()
        if failures:
            first = failures[0]
            where = next((f" at site {s.name}" for s, p in zip(self.state.sites, self.state.site_preflights)
                          if first in p.failures), "")
            hint = " Press i to go past it (asks first)." if self.can_ignore() else ""
            return f"Start is refused because a check failed{where}. {first.name}: {say(first.detail)}{hint}"
        if preflight.plan is None:
            return "There is no plan to carry out; check again with r."
        return None

    def action_start(self) -> None:
        why = self.refusal()
        if why:
            if self.app.screen is self and self.state.preflight is not None and not self.state.plan_is_current:
                self.action_recheck()
            self.fail(why)
            return
        preflight = self.state.preflight
        assert preflight is not None and preflight.plan is not None
        question = start_question(preflight, self.state.settings.describe())
        if self.state.sites:
            further = ", ".join(f"{s.name} ({size(p.plan.bytes_to_upload) if p.plan else 'no plan'} to upload)"
                                for s, p in zip(self.state.sites, self.state.site_preflights))
            question += f" The packages are read once and imported into the further sites too: {further}."
        self.archfuse.ask(question, self.start_run, yes="Start")

    def start_run(self) -> None:
        from tui.screens.run import RunScreen

        self.state.runs_started += 1  # from now on this plan is stale
        self.app.push_screen(RunScreen())


def start_question(preflight: Preflight, target: str) -> str:
    """Start's question: what is uploaded, how many tags move (new ones, existing ones rewritten), a downgrade."""
    plan = preflight.plan
    assert plan is not None
    moving = {i.destination: i for i in plan.images if i.action != ImageAction.UNCHANGED}
    created = sum(1 for i in moving.values() if not i.platforms_before)
    rewritten = len(moving) - created
    parts = [f"Import {len(plan.images)} images ({size(plan.bytes_to_upload)} to upload) into {target}?"]
    if moving:
        kinds = [f"{created} new"] if created else []
        kinds += [f"{rewritten} existing (their other platforms kept)"] if rewritten else []
        parts.append(f"{len(moving)} tag(s) move, only at the end: {', '.join(kinds)}.")
    else:
        parts.append("No tag moves: the target holds every image already.")
    downgrade = next((c for c in preflight.checks if c.kind == CheckKind.VERSION and c.status != CheckStatus.OK), None)
    if downgrade is not None:
        parts.append(f"Downgrade: {say(downgrade.detail)}")
    return " ".join(parts)


def holds_any(package: PackageIndex, tags: tuple[str, ...]) -> bool:
    """True when one of the package's images lands on one of ``tags`` (``repo:tag``, any prefix)."""
    return any(holds_tag(package, *tag.rsplit(":", 1)) for tag in tags if ":" in tag)
