"""Between Packages and Target: the chart checklist. Every chart of the packages selected, its version,
images, bytes per arch and what the target holds (the journal's word); Space takes or leaves one."""

from __future__ import annotations

import sqlite3

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import DataTable, Input, Static

from core.api import ArchfuseError, ChartSelection, ChartSummary
from tui.format import printable, size
from tui.screens.base import Command, FlowScreen


class ChartsScreen(FlowScreen):
    """The charts of the packages selected; the import takes those checked and the images they need."""

    SUB_TITLE = "1/5 Packages › Charts"
    ACTIONS = (
        Command("Take or leave chart", "Toggle the highlighted chart", "toggle_chart", "space", "Take"),
        Command("All charts or none", "Take every chart shown, or none", "all_charts", "a", "All/none"),
        Command("Filter charts", "Show only the charts whose name holds a text", "filter", "slash", "Filter"),
        Command("Next: target", "Choose where the images go", "next", "n", "Next"),
        Command("Back: packages", "Choose other packages", "back", "escape", "Back"),
    )

    def __init__(self) -> None:
        super().__init__()
        self.summaries: list[ChartSummary] = []
        self.taken: set[str] = set()
        self.shown: list[str] = []  # chart names in the table's order (the filter's)
        self.arches: list[str] = []

    def compose_body(self) -> ComposeResult:
        yield Input(placeholder="/ filter by name; Enter or Escape goes back to the list", id="filter", compact=True)
        table: DataTable[Text] = DataTable(id="charts", cursor_type="row", zebra_stripes=True)
        yield table
        yield Static("", id="status", markup=False)

    def on_mount(self) -> None:
        packages = [p for p in self.state.packages if p.path in self.state.selected]
        self.summaries = self.archfuse.workspace.chart_summaries(packages, self.held())
        choice = self.state.charts
        self.taken = {s.name for s in self.summaries if choice.everything or s.name in choice.include}
        arches = sorted({a for s in self.summaries for a in s.blobs})
        table = self.query_one("#charts", DataTable)
        table.add_columns(" ", "CHART", "VERSION", "IMAGES", *(a.upper() for a in arches), "TARGET HOLDS")
        self.arches = arches
        self.refill()
        table.focus()

    def held(self) -> dict[str, set[str]] | None:
        """Chart versions the journal says the form's target holds; None without a target."""
        settings = self.state.settings
        if not settings.inputs().names_target:
            return None
        try:
            return self.archfuse.workspace.charts_held(settings.target_config())
        except (ArchfuseError, OSError, sqlite3.Error):
            return None

    def refill(self) -> None:
        """The rows the filter lets through, the cursor kept on its chart where it can be."""
        table = self.query_one("#charts", DataTable)
        text = self.query_one("#filter", Input).value.strip().lower()
        current = self.shown[table.cursor_row] if self.shown and 0 <= table.cursor_row < len(self.shown) else ""
        table.clear()
        self.shown = []
        for s in self.summaries:
            if text and text not in s.name.lower():
                continue
            self.shown.append(s.name)
            per_arch = s.bytes_per_arch
            table.add_row(
                Text("[x]" if s.name in self.taken else "[ ]"),
                Text(printable(s.name)),
                Text(printable(", ".join(s.versions))),
                Text(str(len(s.images)), justify="right"),
                *(Text(size(per_arch[a]) if a in per_arch else "-", justify="right") for a in self.arches),
                Text(printable(", ".join(s.held)) if s.held else "-"),
                key=s.name,
            )
        if current in self.shown:
            table.move_cursor(row=self.shown.index(current))
        self.show_status()

    def show_status(self) -> None:
        chosen = [s for s in self.summaries if s.name in self.taken]
        blobs: dict[str, int] = {}
        for s in chosen:
            for arch_blobs in s.blobs.values():
                blobs.update(arch_blobs)
        shared = self.selection().shared([p for p in self.state.packages if p.path in self.state.selected]) if chosen else {}
        text = f"{len(chosen)} of {len(self.summaries)} charts taken, {size(sum(blobs.values()))} of images"
        if shared:
            text += f"; {len(shared)} image(s) shared with charts left out (imported once)"
        self.query_one("#status", Static).update(text + ".")

    def selection(self) -> ChartSelection:
        """The checklist as a selection: every chart, or the names taken."""
        if len(self.taken) == len(self.summaries):
            return ChartSelection()
        return ChartSelection(tuple(sorted(self.taken)))

    # -- actions ----------------------------------------------------------------------
    def action_toggle_chart(self) -> None:
        table = self.query_one("#charts", DataTable)
        if not self.shown:
            return
        name = self.shown[table.cursor_row]
        self.taken.symmetric_difference_update({name})
        table.update_cell(name, table.ordered_columns[0].key, Text("[x]" if name in self.taken else "[ ]"))
        self.show_status()

    def action_all_charts(self) -> None:
        shown = set(self.shown)
        if shown <= self.taken:
            self.taken -= shown
        else:
            self.taken |= shown
        self.refill()

    def action_filter(self) -> None:
        self.query_one("#filter", Input).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        self.refill()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.query_one("#charts", DataTable).focus()

    def action_back(self) -> None:
        """Escape in the filter goes back to the list; elsewhere, back to Packages."""
        if self.focused is self.query_one("#filter", Input):
            self.query_one("#charts", DataTable).focus()
            return
        super().action_back()

    def action_next(self) -> None:
        if not self.taken:
            self.fail("Take at least one chart first: move to it and press Space.")
            return
        self.state.charts = self.selection()
        from tui.screens.target import TargetScreen

        self.app.push_screen(TargetScreen())
