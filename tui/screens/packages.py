"""Step 1: pick packages. A directory (or files) is scanned; the matrix shows versions × arches."""

from __future__ import annotations

import shlex
import sqlite3
import time
from pathlib import Path
from typing import Any, Optional

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, DirectoryTree, Input, Static

from core import events as ev
from core.errors import ArchfuseError
from core.package.model import PackageIndex
from core.package.naming import parse_package_name
from core.package.scan import Unreadable
from tui.format import size
from tui.messages import EngineEvent, ProgressTick, WorkFailed
from tui.screens.base import Command, FlowScreen
from tui.target_settings import TargetSettings
from tui.widgets.matrix import Cell, PackageMatrix


class PackagesScreen(FlowScreen):
    """Packages found, as a matrix of versions × architectures; Space selects."""

    SUB_TITLE = "1/5 Packages"
    imported: dict[tuple[str, str], tuple[str, float]] | None = None  # the journal's imports into the target
    ACTIONS = (
        Command("Scan packages", "Scan the directory or files in the path field", "scan"),
        Command("Select package", "Toggle the highlighted package", "toggle_package", "space", "Select"),
        Command("Select all or none", "Every package, or none", "select_all", "a", "All/none"),
        Command("Browse for a directory", "Pick the package directory from a tree", "browse", "ctrl+o", "Browse"),
        Command("Next: target", "Choose where the images go", "next", "n", "Next"),
    )

    def __init__(self) -> None:
        super().__init__()
        self.unreadable: list[Unreadable] = []
        self.default_note = ""  # why the default selection is what it is, said once after a scan

    def compose_body(self) -> ComposeResult:
        with Horizontal(classes="row"):
            yield Static("Packages ", classes="label")
            yield Input(
                " ".join(shlex.quote(str(p)) for p in self.state.paths),
                placeholder="directory or package files; Enter scans",
                id="paths",
                compact=True,
                select_on_focus=False,  # a stray key must not wipe the paths
            )
            yield Button("Scan", id="scan", compact=True)
        yield PackageMatrix(id="matrix")
        yield Static("", id="detail", markup=False)
        yield Static("", id="status", markup=False)
        yield Static("", id="note", markup=False)

    def on_mount(self) -> None:
        if self.state.packages:
            self.show_packages(self.state.packages, keep_selection=True)
        elif self.state.paths:
            self.action_scan()
        else:
            self.query_one("#paths").focus()
            self.set_status("Type a directory of packages and press Enter, or press b to browse.")

    # -- scanning ---------------------------------------------------------------------
    def action_scan(self) -> None:
        text = self.query_one("#paths", Input).value.strip()
        if not text:
            self.fail("Name a directory of packages or package files first.")
            return
        try:
            paths = [Path(p).expanduser() for p in shlex.split(text)]
        except ValueError as err:
            self.fail(f"The path field cannot be read: {err}.")
            return
        self.state.paths = paths
        self.clear_packages()  # what was shown belongs to the old paths: it can no longer be chosen
        self.set_status("Scanning…")
        workspace = self.archfuse.workspace
        self.archfuse.start_work(self, "scan", lambda: workspace.scan_each(paths), self.scanned)
        self.query_one(PackageMatrix).focus()

    def on_input_submitted(self, _event: Input.Submitted) -> None:
        self.action_scan()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "scan":
            self.action_scan()

    def on_progress_tick(self, tick: ProgressTick) -> None:
        event = tick.latest()
        if isinstance(event, ev.ScanProgress) and event.bytes_total:
            pct = event.bytes_done / event.bytes_total
            self.set_status(f"Scanning {Path(event.path).name}: {pct:.0%}")

    def on_engine_event(self, message: EngineEvent) -> None:
        event = message.event
        if isinstance(event, ev.PackageScanned):
            matrix = self.query_one(PackageMatrix)
            matrix.put(Cell(event.path, event.version, event.arch, progress=1.0, images=event.images,
                            charts=event.charts))

    def scanned(self, found: tuple[list[PackageIndex], list[Unreadable]]) -> None:
        """A scan finished: its packages in the matrix, the unreadable ones noted."""
        packages, unreadable = found
        self.unreadable = list(unreadable)
        self.show_packages(packages)

    def on_work_failed(self, message: WorkFailed) -> None:
        self.clear_packages()
        self.set_status("Scan failed: nothing to select. Fix the path and press Enter to scan again.")
        self.fail(message.message)

    def clear_packages(self) -> None:
        """No packages: the matrix is empty and nothing is selected (a new scan, or a failed one)."""
        self.state.packages = []
        self.state.selected = set()
        self.unreadable = []
        self.query_one("#note", Static).update("")
        matrix = self.query_one(PackageMatrix)
        matrix.cells.clear()
        matrix.selected = set()
        matrix.redraw()
        self.show_detail()

    def show_packages(self, packages: list[PackageIndex], *, keep_selection: bool = False) -> None:
        """Fill the matrix from scan results."""
        state = self.state
        state.packages = list(packages)
        matrix = self.query_one(PackageMatrix)
        matrix.cells.clear()
        for p in packages:
            matrix.cells[(p.version, p.arch)] = Cell(
                p.path, p.version, p.arch, p.size, p.checksum, len(p.images), len(p.charts)
            )
        for bad in self.unreadable:
            named = parse_package_name(Path(bad.path).name)
            if named is not None and named not in matrix.cells:
                matrix.cells[named] = Cell(bad.path, *named, problem=bad.reason)
        if keep_selection:
            matrix.selected = set(state.selected)
            matrix.redraw()
            self.default_note = ""
        else:
            self.default_note = matrix.select_default()
        self.show_imported()
        self.selection_changed()
        if not packages:
            self.set_status("No readable packages found there.")

    def on_screen_resume(self) -> None:
        if self.state.packages:
            self.show_imported()  # a run may have imported more since

    def show_imported(self) -> None:
        """Beside each package: when the journal says it was imported into the chosen target."""
        self.imported = journal_imported(self.archfuse.workspace.state_dir, self.state.settings)
        dates = None if self.imported is None else {k: _date(ended) for k, (_run, ended) in self.imported.items()}
        self.query_one(PackageMatrix).set_imported(dates)
        self.show_detail()

    # -- selection --------------------------------------------------------------------
    def action_toggle_package(self) -> None:
        cell = self.query_one(PackageMatrix).highlighted()
        if cell is not None and cell.problem:
            self.fail(f"{Path(cell.path).name} cannot be selected: {cell.problem}")
            return
        self.query_one(PackageMatrix).toggle()
        self.selection_changed()

    def action_select_all(self) -> None:
        self.query_one(PackageMatrix).select_all()
        self.selection_changed()

    def on_data_table_cell_highlighted(self, _event: Any) -> None:
        self.show_detail()

    def on_data_table_cell_selected(self, _event: Any) -> None:
        self.action_toggle_package()

    def selection_changed(self) -> None:
        matrix = self.query_one(PackageMatrix)
        state = self.state
        state.selected = set(matrix.selected)
        chosen = state.chosen
        total = sum(p.size for p in chosen)
        arches = ", ".join(sorted({p.arch for p in chosen})) or "none"
        self.set_status(
            f"{len(chosen)} of {len(state.packages)} packages selected ({arches}), {size(total)}. "
            "Space selects, n goes on."
        )
        self.query_one("#note", Static).update(f"{self.default_note}{self.unreadable_text()}".strip())
        self.default_note = ""  # said once, after the scan
        self.show_detail()

    def unreadable_text(self) -> str:
        """`` 1 package cannot be read: NAME: reason.``, or nothing."""
        if not self.unreadable:
            return ""
        first = self.unreadable[0]
        noun = "package cannot" if len(self.unreadable) == 1 else "packages cannot"
        return f" {len(self.unreadable)} {noun} be read: {first.reason}"

    def show_detail(self) -> None:
        cell = self.query_one(PackageMatrix).highlighted()
        detail = self.query_one("#detail", Static)
        if cell is None:
            detail.update("")
            return
        if cell.problem:
            detail.update(f"{Path(cell.path).name} cannot be read: {cell.problem}")
            return
        package = next((p for p in self.state.packages if p.path == cell.path), None)
        warn = f"; {package.warnings[0]}" if package is not None and package.warnings else ""
        done = (self.imported or {}).get((cell.version, cell.arch))
        where = self.state.settings.describe()
        journal = f"; imported into {where} by run {done[0]}" if done else ""
        detail.update(f"{Path(cell.path).name}: {cell.images} images, {cell.charts} charts{journal}{warn}")

    def set_status(self, text: str) -> None:
        self.query_one("#status", Static).update(text)

    # -- navigation -------------------------------------------------------------------
    def action_browse(self) -> None:
        def picked(path: Path | None) -> None:
            if path is not None:
                self.query_one("#paths", Input).value = shlex.quote(str(path))
                self.action_scan()

        start = next((p for p in self.state.paths if p.is_dir()), Path.cwd())
        self.app.push_screen(PickDirectory(start.resolve()), picked)

    def action_next(self) -> None:
        state = self.state
        if not state.chosen:
            self.fail("Select at least one package first: move to it and press Space.")
            return
        from tui.screens.target import TargetScreen

        self.app.push_screen(TargetScreen())


def journal_imported(state_dir: Path, settings: TargetSettings) -> dict[tuple[str, str], tuple[str, float]] | None:
    """The journal's imports into the form's target per (version, arch); None without a target."""
    if not settings.inputs().names_target:
        return None
    from core.record.journal import Journal

    try:
        description = settings.target_config().description
        with Journal(state_dir) as journal:
            return journal.imported_packages(description)
    except (ArchfuseError, OSError, sqlite3.Error):
        return None


def _date(ts: float) -> str:
    return time.strftime("%Y-%m-%d", time.localtime(ts))


class PickDirectory(ModalScreen[Optional[Path]]):
    """A directory tree: Enter on a directory picks it, Backspace goes up, Escape cancels."""

    BINDINGS = [Binding("escape", "dismiss", "Cancel"), Binding("backspace", "up", "Up a directory")]

    def __init__(self, root: Path) -> None:
        super().__init__()
        self.root = root

    def compose(self) -> ComposeResult:
        with Vertical(id="picker"):
            yield Static("Pick the package directory (Enter picks, Backspace goes up, Escape cancels)",
                         classes="dialog-title")
            yield Static(str(self.root), id="picker-root", markup=False)
            yield DirectoryTree(self.root, id="tree")

    def action_up(self) -> None:
        """Show the parent directory's tree."""
        self.root = self.root.parent
        self.query_one(DirectoryTree).path = self.root
        self.query_one("#picker-root", Static).update(str(self.root))

    def on_directory_tree_directory_selected(self, event: DirectoryTree.DirectorySelected) -> None:
        self.dismiss(event.path)

    def on_directory_tree_file_selected(self, event: DirectoryTree.FileSelected) -> None:
        self.dismiss(event.path.parent)
