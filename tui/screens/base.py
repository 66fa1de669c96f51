"""What every step of the flow shares: the frame, its commands, typed access to the app and the engine."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, cast

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Header, Input

from tui.messages import WorkDone

if TYPE_CHECKING:
    from core.api import Session
    from tui.app import ArchfuseApp, FlowState


@dataclass(frozen=True)
class Command:
    """One action of a screen: its palette entry and F1 line, and its key in the footer (if it has one)."""

    title: str  # in the command palette and F1 help
    help: str
    action: str
    key: str = ""  # empty: palette only
    label: str = ""  # the footer's word for it (default: the title)
    show: bool = True  # in the footer
    palette: bool = True  # in the command palette and F1 help
    priority: bool = False  # handled as the key arrives, before keys typed after it reach a field

    def binding(self) -> Binding:
        return Binding(self.key, self.action, self.label or self.title, show=self.show, priority=self.priority)


class FlowScreen(Screen[None]):
    """A step of the flow: a header, the screen's body, the footer.

    ``ACTIONS`` is the one list of the screen's actions: the key bindings, the command palette
    and the F1 help are all made from it.
    """

    ACTIONS: ClassVar[tuple[Command, ...]] = ()
    BODY: ClassVar[type[Widget]] = Vertical
    BODY_CLASSES: ClassVar[str] = "body"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        if "ACTIONS" in cls.__dict__:  # before textual merges the bindings
            cls.BINDINGS = [c.binding() for c in cls.ACTIONS if c.key]
        super().__init_subclass__(**kwargs)

    @classmethod
    def palette(cls) -> list[Command]:
        """The commands the palette and the F1 help list."""
        return [c for c in cls.ACTIONS if c.palette]

    def compose(self) -> ComposeResult:
        yield Header(icon="")
        with self.BODY(classes=self.BODY_CLASSES):
            yield from self.compose_body()
        yield Footer()

    def compose_body(self) -> ComposeResult:
        """The screen's own widgets, between the header and the footer."""
        yield from ()

    def on_mount(self) -> None:
        """Steady cursors when the app asks (snapshot tests, screenshots); runs after the screen's own."""
        if not self.archfuse.blink:
            for widget in self.query(Input):
                widget.cursor_blink = False

    def on_work_done(self, message: WorkDone) -> None:
        """A worker of this screen finished: its typed callback runs now, on the UI thread."""
        message.deliver()

    @property
    def archfuse(self) -> ArchfuseApp:
        return cast("ArchfuseApp", self.app)

    @property
    def state(self) -> FlowState:
        return self.archfuse.state

    @property
    def session(self) -> Session:
        """The engine session of the form's target; the screens after the Target form have one."""
        session = self.archfuse.session
        if session is None:
            raise RuntimeError(f"{type(self).__name__} needs a target: the Target form opens the session first.")
        return session

    def fail(self, message: str) -> None:
        self.archfuse.show_error(message)

    def action_back(self) -> None:
        self.app.pop_screen()
