"""Modal dialogs: an error sentence, a yes/no question, and the F1 help."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widget import Widget
from textual.widgets import Button, Static

from tui.format import printable


class ScrollPage(ModalScreen[None]):
    """A titled page that scrolls (a run's detail, a report); the subclass's keys close it."""

    def __init__(self, page_id: str, heading: str, body: Widget) -> None:
        super().__init__()
        self.page_id = page_id
        self.heading = heading
        self.body = body

    def compose(self) -> ComposeResult:
        with VerticalScroll(id=self.page_id):
            yield Static(printable(self.heading), classes="dialog-title", markup=False)
            yield self.body


class ErrorDialog(ModalScreen[None]):
    """One sentence saying what went wrong and what to do; never a traceback."""

    BINDINGS = [Binding("escape,enter", "dismiss", "Close")]

    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="error"):
            yield Static("Error", classes="dialog-title")
            yield Static(printable(self.message), id="error-message", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Close", id="close", variant="error", compact=True)

    def on_button_pressed(self, _event: Button.Pressed) -> None:
        self.dismiss(None)


class ConfirmDialog(ModalScreen[bool]):
    """Ask first: y/Enter on Yes, n/Escape for No."""

    BINDINGS = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
        Binding("left,right,tab", "app.focus_next", show=False),
    ]

    def __init__(self, question: str, *, yes: str = "Yes", no: str = "No") -> None:
        super().__init__()
        self.question = question
        self.yes = yes
        self.no = no

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static("Please confirm", classes="dialog-title")
            yield Static(printable(self.question), id="question", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button(f"{self.yes} (y)", id="yes", variant="warning", compact=True)
                yield Button(f"{self.no} (n)", id="no", compact=True)

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")


HELP = """\
archfuse imports addon offline packages (one archive per CPU
architecture) and fuses every image tag into one multi-arch index.
Nothing is written before Start; tags move last.

The flow
  1 Packages  choose versions and architectures to import; they are
              listed at once and scanned in the background
  2 Target    registry URL or OCI layout directory; test it;
              jobs (uploads at once) and an upload rate limit
  3 Checks    every check with its fix; the plan; Start
  4 Run       live progress; Escape asks, then stops safely
              (run again to resume)
  5 Summary   results and verification; history, rollback

Keys
  Tab, Shift+Tab  move between fields   Escape  back / cancel
  Space           select a package      n       next step
  Ctrl+P          every action by name  F1      this help
  Ctrl+Q          quit
"""


class HelpScreen(ModalScreen[None]):
    """F1: the flow and the keys, plus the current screen's keys."""

    BINDINGS = [Binding("escape,f1,q", "dismiss", "Close")]

    def __init__(self, under: Screen[Any] | None = None) -> None:
        super().__init__()
        self.under = under

    def compose(self) -> ComposeResult:
        from tui.screens.base import FlowScreen

        commands = self.under.palette() if isinstance(self.under, FlowScreen) else []
        keys = "\n".join(f"  {key_name(c.key):<8} {c.title}: {c.help}" for c in commands)
        title = getattr(self.under, "SUB_TITLE", "") or "this screen"
        with VerticalScroll(id="help"):
            yield Static("archfuse help (Escape closes)", classes="dialog-title")
            if keys:
                yield Static(f"Keys on {title}\n{keys}\n", id="screen-keys", markup=False)
            yield Static(HELP, markup=False)


def key_name(key: str) -> str:
    """``ctrl+t`` → ``Ctrl+T``; ``slash`` → ``/``; no key → ``palette`` (Ctrl+P finds it)."""
    if not key:
        return "palette"
    names = {"slash": "/", "escape": "Escape", "space": "Space", "enter": "Enter"}
    first = key.split(",")[0]
    if first in names:
        return names[first]
    return "+".join(part.capitalize() if len(part) > 1 else part.upper() if "+" in first else part
                    for part in first.split("+"))
