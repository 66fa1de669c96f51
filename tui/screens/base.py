"""What every step of the flow shares: typed access to the app, its state and the engine."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from textual.screen import Screen

if TYPE_CHECKING:
    from tui.app import ArchfuseApp, FlowState


class FlowScreen(Screen[None]):
    """A step of the flow. ``COMMANDS_LIST`` feeds the command palette and F1 help."""

    COMMANDS_LIST: list[tuple[str, str, str]] = []

    @property
    def archfuse(self) -> ArchfuseApp:
        return cast("ArchfuseApp", self.app)

    @property
    def state(self) -> FlowState:
        return self.archfuse.state

    @property
    def session(self) -> Any:
        return self.archfuse.session

    def fail(self, message: str) -> None:
        self.archfuse.show_error(message)

    def unblink(self) -> None:
        """Steady cursors when the app asks (snapshot tests, screenshots)."""
        if not self.archfuse.blink:
            from textual.widgets import Input

            for widget in self.query(Input):
                widget.cursor_blink = False
