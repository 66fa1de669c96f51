"""The archfuse Textual app: one factory the CLI, the tests and the screenshot script share."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.worker import Worker

from core.api import (
    STOPPED_EXIT,
    ArchfuseError,
    ChartSelection,
    PackageIndex,
    Preflight,
    RollbackSummary,
    RunOptions,
    RunRecord,
    RunStatus,
    RunSummary,
    Session,
    Site,
    SiteOutcome,
    Stop,
    TargetConfig,
    VerifyReport,
    Workspace,
    default_run_options,
    open_session,
)
from core.api import events as ev
from tui.advice import say_error
from tui.bridge import EventBridge
from tui.messages import WorkDone, WorkFailed
from tui.target_settings import TargetSettings, remembered_fields, with_remembered, with_run_options
from tui.widgets.siteprogress import SiteTally

if TYPE_CHECKING:
    from tui.screens.run import RunScreen

T = TypeVar("T")


@dataclass
class FlowState:
    """What the screens share as the engineer moves through the flow."""

    paths: list[Path]
    settings: TargetSettings
    packages: list[PackageIndex] = field(default_factory=list)
    selected: set[str] = field(default_factory=set)  # package paths
    preflight: Preflight | None = None
    summary: RunSummary | None = None
    verify: VerifyReport | None = None
    cancel: Stop = field(default_factory=Stop)  # Escape sets it; SIGHUP/SIGTERM set it naming the signal
    runs_started: int = 0  # runs started in this app
    planned_after: int = -1  # runs_started when ``preflight`` was made: older plans are never run
    charts: ChartSelection = field(default_factory=ChartSelection)  # the chart checklist's choice
    rollbacks: list[RollbackSummary] = field(default_factory=list)  # made from History in this app, in order
    sites: list[Site] = field(default_factory=list)  # further sites beside the form's target (the hub)
    #: the further sites' sessions and checks, made with the hub's (in ``sites``' order; empty with no sites)
    site_sessions: list[Session] = field(default_factory=list)
    site_preflights: list[Preflight] = field(default_factory=list)
    site_tallies: list[SiteTally] = field(default_factory=list)  # each further site's events, counted
    site_outcomes: list[SiteOutcome] = field(default_factory=list)  # how each further site's last run ended

    @property
    def exit_code(self) -> int:
        """The last run's exit code: 0 done, STOPPED_EXIT stopped safely, 1 when it (or any further site) failed."""
        if self.summary is None:
            return 0
        codes = {self.summary.exit_code, *(o.exit_code for o in self.site_outcomes)}
        return 0 if codes == {0} else (STOPPED_EXIT if codes == {STOPPED_EXIT} else 1)

    @property
    def plan_is_current(self) -> bool:
        """A plan exists and no run started since it was made (a run changes what the target holds)."""
        return self.preflight is not None and self.planned_after == self.runs_started

    @property
    def chosen(self) -> list[PackageIndex]:
        """The packages selected, with the charts the checklist takes (a package left without one drops out)."""
        packages = [p for p in self.packages if p.path in self.selected]
        if self.charts.everything:
            return packages
        return [p for p in (self.charts.select(p) for p in packages) if p.charts]


class ArchfuseApp(App[int]):
    """Packages → Target → Checks and plan → Run → Summary."""

    CSS_PATH = "archfuse.tcss"
    TITLE = "archfuse"
    ENABLE_COMMAND_PALETTE = True
    COMMAND_PALETTE_BINDING = "ctrl+p"
    BINDINGS = [
        Binding("f1", "help", "Help"),
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True),
    ]

    def __init__(
        self,
        paths: list[Path] | None = None,
        state_dir: str | Path | None = None,
        registry: str | None = None,
        *,
        session_class: type[Session] = Session,
        options: RunOptions | None = None,
        blink: bool = True,
        sites: list[Site] | None = None,
    ) -> None:
        super().__init__()
        self.bridge = EventBridge()
        self.state = FlowState(list(paths or []), TargetSettings(registry=registry or ""))
        self.options = options or default_run_options()
        with_run_options(self.state.settings, self.options)  # the Target form starts from the run options given
        self.state.sites = list(sites or [])
        self.blink = blink
        self.workspace = Workspace(state_dir=state_dir, emit=self.bridge)  # scans and history need no target
        if not registry and options is None:  # the form as it was last filled in, secrets aside
            with_remembered(self.state.settings, self.recall_form())
        self.session: Session | None = None  # opened for the form's target by connect()
        self.session_class = session_class
        self.signalled = ""  # SIGHUP or SIGTERM, once one came: the terminal may be gone
        self.writing = 0  # engine jobs in flight that write to a target (WRITING_JOBS)
        self.quiet = threading.Condition()  # notified when one of them ends
        self._loop: asyncio.AbstractEventLoop | None = None
        self._signal_handlers: dict[int, Any] = {}

    def on_mount(self) -> None:
        from tui.screens.packages import PackagesScreen

        few_colours = self.console.color_system in ("standard", "windows")
        if few_colours and not self.is_headless and "ansi-dark" in self.available_themes:
            self.theme = "ansi-dark"  # 16-colour terminals: the terminal's own palette
        self.push_screen(PackagesScreen())
        if not self.is_headless:  # a dropped SSH session (SIGHUP) or SIGTERM: stop safely, as Escape does
            self._loop = asyncio.get_running_loop()
            for signum in (signal.SIGHUP, signal.SIGTERM):
                self._signal_handlers[signum] = signal.signal(signum, self.on_signal)
        self.offer_resume()

    def on_unmount(self) -> None:
        for signum, previous in self._signal_handlers.items():
            signal.signal(signum, previous)
        if self.session is not None:
            self.session.close()

    def on_signal(self, signum: int, _frame: object) -> None:
        """SIGHUP or SIGTERM, heard in the main thread even while it is blocked writing to a terminal that
        is gone or no longer read (Textual's output queue full): a run going is told to stop safely at
        once (its Stop is an event, no screen needed), the app is asked to leave as :meth:`stop_for_signal`
        says, and :func:`exit_anyway` ends the process should the screen never let it."""
        if self.signalled or self._loop is None:
            return
        name = signal.Signals(signum).name
        self.signalled = name
        if self.writing:
            self.state.cancel.interrupt(name)
        self._loop.call_soon_threadsafe(self.stop_for_signal, name)
        threading.Thread(target=exit_anyway, args=(self,), name="archfuse-exit", daemon=True).start()

    def stop_for_signal(self, name: str) -> None:
        """SIGHUP or SIGTERM: a run going stops safely (the journal says interrupted), then archfuse
        quits with the code of a safe stop; with no run going it quits at once."""
        run = self.running_run()
        if run is None:
            self.exit(STOPPED_EXIT)
        else:
            run.stop_and_quit(signal_name=name)

    # -- what the state dir remembers ---------------------------------------------------
    def recall_form(self, target: str | None = None) -> dict[str, str | bool | int | float]:
        """The Target form kept for ``target`` (else the last one); empty when the state dir has none."""
        try:
            return self.workspace.remembered_form(target)
        except ArchfuseError:
            return {}

    def remember_form(self, settings: TargetSettings) -> None:
        """Keep the form's fields (never the password) for its target, for the next start."""
        try:
            self.workspace.remember_form(settings.target_config(), remembered_fields(settings))
        except ArchfuseError as err:  # a bad form is said by the checks; a state fault costs only the memory
            self.log.warning(f"the Target form was not remembered: {err}")

    def offer_resume(self) -> None:
        """On start: a run that a signal, a dead process or a cancel stopped, and that nothing finished
        since, is offered for resuming with the same packages and target."""
        try:
            record = self.workspace.run_to_resume()
        except ArchfuseError:
            return
        if record is not None:
            self.ask(resume_question(record), lambda: self.resume(record), yes="Resume", no="Not now")

    def resume(self, record: RunRecord) -> None:
        """The packages of ``record`` selected (scanned from the cache) and the Target form filled in as it
        was for its target; the password is asked again."""
        from tui.screens.packages import PackagesScreen

        settings = TargetSettings()
        with_run_options(settings, self.options)
        with_remembered(settings, self.recall_form(record.target))
        if not settings.registry and not settings.cluster_config:
            settings.registry = record.target
        self.state.settings = settings
        screen = self.screen
        if isinstance(screen, PackagesScreen):
            screen.resume([Path(str(p.get("path", ""))) for p in record.packages])

    # -- the engine session -----------------------------------------------------------
    def connect(self, settings: TargetSettings) -> Session:
        """The session for the form's target: the open one while the configuration is the same, else a
        new one from :func:`core.session.open_session` (the old one closed). UsageError for a bad form."""
        config = settings.target_config()
        current = self.session
        if current is not None and current.config == config and current.force_charts == settings.force_charts:
            return current
        self.session = self.open_session(config, force_charts=settings.force_charts)
        if current is not None:
            current.close()
        return self.session

    def open_session(self, config: TargetConfig, *, force_charts: bool = False, emit: ev.Emit | None = None) -> Session:
        """A session of the app's kind on ``config``, its events shown by the listening screen (or ``emit``'s)."""
        return open_session(config, state_dir=self.workspace.state_dir, emit=emit or self.bridge,
                            force_charts=force_charts, session_class=self.session_class)

    async def action_quit(self) -> None:
        """Leave; the exit code is the last run's: 0 done, 1 failed, STOPPED_EXIT stopped safely.

        During a run it asks first: stop safely and quit, or keep running. The screen never goes
        blank while work goes on: the run screen says it is stopping until the engine has.
        """
        run = self.running_run()
        if run is None:
            self.exit(self.state.exit_code)
            return
        if run.quit_after:
            self.notify("Stopping safely; archfuse quits as soon as the run has stopped.")
            return
        self.ask(
            "A run is going. Stop it safely and quit? No tag moves; running the same import again "
            "continues it.",
            run.stop_and_quit,
            yes="Stop safely and quit",
            no="Keep running",
        )

    def running_run(self) -> RunScreen | None:
        """The run screen while its run goes on, else None."""
        from tui.screens.run import RunScreen

        for screen in self.screen_stack:
            if isinstance(screen, RunScreen) and screen.running:
                return screen
        return None

    # -- engine work ------------------------------------------------------------------
    def start_work(
        self, screen: Screen[Any], job: str, fn: Callable[[], T], done: Callable[[T], None]
    ) -> Worker[None]:
        """Run ``fn`` in a thread; its events and error go to ``screen`` as messages, its result to ``done``.

        ``done`` runs on the UI thread while ``screen`` is still mounted (the result rides a
        :class:`WorkDone` message the screen delivers).
        """
        self.bridge.listener = screen
        writes = job in WRITING_JOBS
        if writes:
            with self.quiet:
                self.writing += 1

        def work() -> None:
            try:
                result = fn()
            except ArchfuseError as err:
                screen.post_message(WorkFailed(job, say_error(err)))
            except Exception as err:  # shown as a sentence, never a traceback
                screen.post_message(WorkFailed(job, f"Unexpected error ({type(err).__name__}): {err}"))
            else:
                screen.post_message(WorkDone(job, lambda: done(result)))
            finally:
                if writes:
                    with self.quiet:
                        self.writing -= 1
                        self.quiet.notify_all()

        return self.run_worker(work, name=job, group=job, thread=True, exclusive=True, exit_on_error=False)

    # -- dialogs ----------------------------------------------------------------------
    def show_error(self, message: str) -> None:
        """An error as a dialog with its sentence."""
        from tui.screens.dialogs import ErrorDialog

        self.push_screen(ErrorDialog(message))

    def ask(self, question: str, then: Callable[[], None], *, yes: str = "Yes", no: str = "No") -> None:
        """Ask first; call ``then`` only on yes."""
        from tui.screens.dialogs import ConfirmDialog

        def done(answer: bool | None) -> None:
            if answer:
                then()

        self.push_screen(ConfirmDialog(question, yes=yes, no=no), done)

    def action_help(self) -> None:
        from tui.screens.dialogs import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    # -- command palette --------------------------------------------------------------
    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """Every action of the current screen, plus the app's own."""
        from tui.screens.base import FlowScreen

        for command in screen.palette() if isinstance(screen, FlowScreen) else ():
            yield SystemCommand(command.title, command.help, _runner(screen, command.action))
        yield SystemCommand("Help", "Keys and the flow (F1)", self.action_help)
        yield SystemCommand("History", "Runs in the journal, rollback", self.action_history)
        yield SystemCommand("Quit", "Leave archfuse (Ctrl+Q)", self.action_quit)
        yield from (c for c in super().get_system_commands(screen) if c.title in ("Theme",))

    def action_history(self) -> None:
        from tui.screens.history import HistoryScreen

        if not isinstance(self.screen, HistoryScreen):
            self.push_screen(HistoryScreen())


def resume_question(record: RunRecord) -> str:
    """The offer to resume a run that stopped before it finished."""
    what = ", ".join(f"{p.get('version')} {p.get('arch')}" for p in record.packages) or "its packages"
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(record.started))
    how = "was interrupted" if record.status == RunStatus.INTERRUPTED else "was cancelled"
    return (f"Run {record.id} ({what} into {record.target}, started {when}) {how} before it finished. Resume it "
            "with the same packages and target? The Target form is filled in as it was; type the password again.")


def _runner(screen: Screen[Any], action: str) -> Callable[[], Any]:
    async def run() -> None:
        await screen.run_action(action)

    return run


#: engine jobs that write to a target: after a signal, the process ends only once they have stopped
WRITING_JOBS = frozenset({"run", "rollback", "prune"})
#: seconds the app has to leave after a signal's safe stop, before the process ends without the screen
EXIT_GRACE = 3.0


def exit_anyway(app: ArchfuseApp) -> None:
    """After SIGHUP or SIGTERM: a terminal that is gone or no longer read (a killed tmux session, a dead
    SSH link) can block Textual's output for ever, and the app with it (its loop waits to write a
    frame; its exit waits for the output thread), so no signal is heard again. Once the engine jobs
    that write have ended (the run stopped safely, the journal says so), the app has
    :data:`EXIT_GRACE` seconds to leave; then the process ends without its screen, with the app's
    exit code (a safe stop's when it has none yet)."""
    with app.quiet:
        app.quiet.wait_for(lambda: app.writing == 0)
    threading.Event().wait(EXIT_GRACE)
    os._exit(int(app.return_code or STOPPED_EXIT))


#: the app, as the CLI, the tests and scripts/screenshots make it
create_app = ArchfuseApp


def run_app(paths: list[Path], state_dir: str | None, registry: str | None = None) -> int:
    """Open the TUI; the exit code is the last run's (0 done, 1 failed, STOPPED_EXIT stopped safely)."""
    app = create_app(paths, state_dir, registry)
    result = app.run()
    return int(result or 0)
