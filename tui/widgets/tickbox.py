"""A checkbox whose state reads without colour: ``[x]`` ticked, ``[ ]`` not."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Checkbox


class TickBox(Checkbox):
    """Textual's checkbox tells its state by colour only; this one says it in characters too."""

    def render(self) -> Content:
        mark = "[x]" if self.value else "[ ]"
        label = self._label.stylize_before(self.get_visual_style("toggle--label"))
        return Content.assemble(mark, " ", label)
