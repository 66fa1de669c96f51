"""Step 1: pick packages. A directory (or files) is scanned; the matrix shows versions × arches."""

from __future__ import annotations

import dataclasses
import shlex
import sqlite3
import time
from pathlib import Path
from typing import Any, Optional

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, DirectoryTree, Input, Static

from core.api import (
    ArchfuseError,
    BackgroundScan,
    ChartSelection,
    ChecksumStatus,
    PackageIndex,
    ScanResult,
    Unreadable,
    discover,
    package_identity,
    package_row,
)
from core.api import events as ev
from tui.advice import say_error
from tui.bridge import EventBridge
from tui.format import printable, size
from tui.messages import PackageRead, ProgressTick
from tui.screens.base import Command, FlowScreen
from tui.screens.dialogs import key_name
from tui.widgets.matrix import Cell, PackageMatrix

#: the checksum as the detail line says it
CHECKSUM_DETAIL = {ChecksumStatus.OK: "; checksum ok", ChecksumStatus.MISSING: "; no .sha512sum to check against",
                   ChecksumStatus.MISMATCH: "; checksum MISMATCH"}


BROWSE = Command("Browse for a directory", "Pick the package directory from a tree", "browse", "ctrl+o", "Browse")


class PackagesScreen(FlowScreen):
    """Packages found, as a matrix of versions × architectures; Space selects."""

    SUB_TITLE = "1/5 Packages"
    imported: dict[tuple[str, str], tuple[str, float]] | None = None  # the journal's imports into the target
    ACTIONS = (
        Command("Scan packages", "Scan the directory or files in the path field", "scan"),
        Command("Select package", "Toggle the highlighted package", "toggle_package", "space", "Select"),
        Command("Select all or none", "Every package, or none", "select_all", "a", "All/none"),
        BROWSE,
        Command("Next: target", "Choose where the images go (every chart)", "next", "n", "Next"),
        Command("Choose charts", "Take some charts of the packages selected, then the target", "charts", "c", "Charts"),
        Command("History and rollback", "Runs in the journal; roll one back", "app.history", "h", "History"),
    )

    def __init__(self) -> None:
        super().__init__()
        self.unreadable: list[Unreadable] = []
        self.default_note = ""  # why the default selection is what it is, said once after a scan
        self.note = ""  # the note line: the default's sentence and the first unreadable package's reason
        self.scan: BackgroundScan | None = None  # the scan of the packages listed, while it goes on
        self.bridge = EventBridge()  # the scan's progress, coalesced
        self.chose = False  # the engineer changed the selection since the listing: no default then
        self.waiting = False  # Next was pressed with a selected package still scanning
        self.then_charts = False  # Next leads to the chart checklist (c), not straight to the target

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
        self.bridge.listener = self
        if self.state.packages:
            self.show_packages(self.state.packages, keep_selection=True)
        elif self.state.paths:
            self.action_scan()
        else:
            self.query_one("#paths").focus()
            # the browse key, as the footer shows it: a letter would be typed into the field
            self.set_status(f"Type a directory of packages and press Enter, or press {key_name(BROWSE.key)} to browse.")

    def on_unmount(self) -> None:
        self.stop_scan()

    # -- scanning ---------------------------------------------------------------------
    def action_scan(self) -> None:
        """List the packages under the path field at once, then scan them in the background."""
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
        matrix = self.query_one(PackageMatrix)
        matrix.focus()
        try:
            files = discover(paths)
            cells = [listed(f) for f in files]
        except (ArchfuseError, OSError) as err:
            self.set_status("Scan failed: nothing to select. Fix the path and press Enter to scan again.")
            self.fail(say_error(err) if isinstance(err, ArchfuseError)
                      else f"{err.filename or text}: cannot be read ({err.strerror or err}).")
            return
        matrix.cells.update({(c.version, c.arch): c for c in cells})
        self.show_imported()

        def read(result: ScanResult) -> None:
            self.post_message(PackageRead(scan, result))

        scan = self.archfuse.workspace.background_scan(files, emit=self.bridge, done=read)
        self.scan = scan
        self.run_worker(scan.run, name="scan", group="scan", thread=True, exit_on_error=False)
        self.selection_changed(chose=False)

    def rescan(self) -> None:
        """The directory listed and scanned again (packages copied into it since appear), the selection kept
        for the packages still there (no default then: the engineer chose it)."""
        selected = set(self.state.selected)
        self.action_scan()
        matrix = self.query_one(PackageMatrix)
        if selected and matrix.cells:
            matrix.selected = {c.path for c in matrix.cells.values() if c.path in selected}
            matrix.redraw()
            self.selection_changed()

    def stop_scan(self) -> None:
        """No more scanning for this listing (a new one starts, or the screen goes)."""
        if self.scan is not None:
            self.scan.stop()
            self.scan = None

    def on_input_submitted(self, _event: Input.Submitted) -> None:
        self.action_scan()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "scan":
            self.action_scan()

    def on_progress_tick(self, tick: ProgressTick) -> None:
        event = tick.latest()
        if not isinstance(event, ev.ScanProgress) or self.scan is None:
            return
        cell = self.query_one(PackageMatrix).cell_of(event.path)
        if cell is None or cell.progress is None:
            return  # scanned already (the tick came late)
        cell.queued = False
        cell.progress = event.bytes_done / event.bytes_total if event.bytes_total else 1.0
        self.query_one(PackageMatrix).redraw()
        self.selection_changed(chose=False)

    def on_package_read(self, message: PackageRead) -> None:
        """One package scanned (or found unreadable): its cell complete; the default once all are."""
        if message.scan is not self.scan:
            return  # a listing replaced since
        matrix = self.query_one(PackageMatrix)
        result = message.result
        if isinstance(result, Unreadable):
            self.unreadable.append(result)
            old = matrix.cell_of(result.path)
            if old is not None:
                matrix.put(dataclasses.replace(old, progress=None, queued=False, problem=result.reason,
                                               short=result.short, checksum=result.checksum))
        else:
            self.state.packages.append(result)
            matrix.put(scanned(result))
        if not any(c.scanning for c in matrix.cells.values()):
            self.scan = None
            if not self.chose:
                self.default_note = matrix.select(self.archfuse.workspace.default_selection(matrix.listed()))
            if not self.state.packages:
                self.default_note = "No readable packages found there."
        self.selection_changed(chose=False)
        if self.waiting and self.app.screen is self:
            self.action_next()

    def clear_packages(self) -> None:
        """No packages: the matrix is empty and nothing is selected (a new scan, or a failed one)."""
        self.stop_scan()
        self.state.packages = []
        self.state.selected = set()
        self.unreadable = []
        self.chose = self.waiting = False
        self.default_note = self.note = ""
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
            matrix.cells[(p.version, p.arch)] = scanned(p)
        if keep_selection:
            matrix.selected = set(state.selected)
            matrix.redraw()
            self.default_note = ""
        else:
            self.default_note = matrix.select(self.archfuse.workspace.default_selection(matrix.listed()))
        self.show_imported()
        self.selection_changed(chose=False)

    def on_screen_resume(self) -> None:
        if self.state.packages:
            self.show_imported()  # a run may have imported more since
        if self.waiting:
            self.action_next()  # the scan waited for may have ended while a dialog was up

    def journal_imported(self) -> dict[tuple[str, str], tuple[str, float]] | None:
        """The journal's imports into the form's target per (version, arch); None without a target."""
        settings = self.state.settings
        if not settings.inputs().names_target:
            return None
        try:
            return self.archfuse.workspace.imported(settings.target_config())
        except (ArchfuseError, OSError, sqlite3.Error):
            return None

    def show_imported(self) -> None:
        """Beside each package: when the journal says it was imported into the chosen target."""
        self.imported = self.journal_imported()
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

    def selection_changed(self, *, chose: bool = True) -> None:
        """The selection or a scan moved on: the flow state, the status line and the detail follow.

        ``chose``: the engineer changed the selection (no default is applied after that, and a
        Next that waits for a scan is called off).
        """
        matrix = self.query_one(PackageMatrix)
        state = self.state
        state.selected = set(matrix.selected)
        if chose:
            self.chose = True
            self.waiting = False
        self.set_status(self.status_text())
        self.note = f"{self.default_note}{self.unreadable_text()}".strip()
        if not any(c.scanning for c in matrix.cells.values()):
            self.default_note = ""  # said once, after the scan
        self.show_detail()

    def status_text(self) -> str:
        """What is selected, what is still scanning, and what a key does now."""
        cells = list(self.query_one(PackageMatrix).cells.values())
        chosen = [c for c in cells if c.path in self.state.selected]
        scanning = [c for c in cells if c.scanning]
        waited = [c for c in chosen if c.scanning]
        if self.waiting and not chosen:
            return ("Waiting for the scans to end to select the newest version with every arch; then on to the "
                    "target. Space selects now (and stops waiting).")
        if self.waiting and waited:
            now = next((c for c in waited if not c.queued), waited[0])
            more = f" and {len(waited) - 1} more" if len(waited) > 1 else ""
            doing = "to be scanned" if now.queued else f"to finish scanning ({now.progress:.0%})"
            return (f"Waiting for {described(now)}{more} {doing}; then on to the target. Space changes the "
                    "selection (and stops waiting).")
        arches = ", ".join(sorted({c.arch for c in chosen})) or "none"
        readable = [c for c in cells if not c.problem]
        text = f"{len(chosen)} of {len(readable)} packages selected ({arches}), {size(sum(c.size for c in chosen))}."
        active = next((c for c in scanning if not c.queued), None)
        if active is not None:
            text += f" Scanning {described(active)} ({active.progress:.0%}), {len(scanning)} to go;"
        elif scanning:
            text += f" {len(scanning)} to scan;"
        return text + " Space selects, n goes on."

    def unreadable_text(self) -> str:
        """`` 1 package cannot be read: NAME: reason.``, or nothing."""
        if not self.unreadable:
            return ""
        first = self.unreadable[0]
        noun = "package cannot" if len(self.unreadable) == 1 else "packages cannot"
        return f" {len(self.unreadable)} {noun} be read: {first.reason}"

    def show_note(self, shown: str = "") -> None:
        """The note under the status (the default's sentence, the first unreadable package's reason);
        when the detail above already gives that reason (``shown``), the note only counts."""
        note = self.note
        if shown and self.unreadable and self.unreadable[0].path == shown:
            noun = "package cannot" if len(self.unreadable) == 1 else "packages cannot"
            name = Path(shown).name
            note = note.replace(self.unreadable_text(), f" {len(self.unreadable)} {noun} be read: {name} (why: above).")
        self.query_one("#note", Static).update(printable(note.strip()))

    def show_detail(self) -> None:
        cell = self.query_one(PackageMatrix).highlighted()
        detail = self.query_one("#detail", Static)
        self.show_note(cell.path if cell is not None and cell.problem else "")
        if cell is None:
            detail.update("")
            return
        name = Path(cell.path).name
        if cell.problem:  # whole: the detail grows to hold it
            said = cell.problem if cell.problem.startswith(name) else f"{name} cannot be read: {cell.problem}"
            detail.update(printable(said))
            return
        if cell.progress is not None:
            doing = "queued for its scan" if cell.queued else f"scanning, {cell.progress:.0%} read"
            detail.update(printable(f"{name}: {size(cell.size)}, {doing}; images, charts and checksum follow"))
            return
        package = next((p for p in self.state.packages if p.path == cell.path), None)
        warn = f"; {package.warnings[0]}" if package is not None and package.warnings else ""
        done = (self.imported or {}).get((cell.version, cell.arch))
        where = self.state.settings.describe()
        journal = f"; imported into {where} by run {done[0]}" if done else ""
        checksum = CHECKSUM_DETAIL[cell.checksum] if cell.checksum else ""
        detail.update(printable(f"{name}: {cell.images} images, {cell.charts} charts{checksum}{journal}{warn}"))

    def set_status(self, text: str) -> None:
        self.query_one("#status", Static).update(printable(text))

    def resume(self, paths: list[Path]) -> None:
        """List ``paths`` (the packages of a run to resume), select them all and go on to the target as
        soon as their scans (from the cache, normally) are done."""
        self.query_one("#paths", Input).value = " ".join(shlex.quote(str(p)) for p in paths)
        self.action_scan()
        matrix = self.query_one(PackageMatrix)
        matrix.selected = {str(p) for p in paths if matrix.cell_of(str(p)) is not None}
        matrix.redraw()
        self.selection_changed()
        if matrix.selected:
            self.action_next()

    # -- navigation -------------------------------------------------------------------
    def action_browse(self) -> None:
        def picked(path: Path | None) -> None:
            if path is not None:
                self.query_one("#paths", Input).value = shlex.quote(str(path))
                self.action_scan()

        start = next((p for p in self.state.paths if p.is_dir()), Path.cwd())
        self.app.push_screen(PickDirectory(start.resolve()), picked)

    def action_next(self) -> None:
        """On to the target; a selected package still scanning is waited for, an unreadable one refused."""
        every = list(self.query_one(PackageMatrix).cells.values())
        cells = [c for c in every if c.path in self.state.selected]
        self.waiting = False
        if not cells and not self.chose and any(c.scanning for c in every):
            self.waiting = True  # the default selection comes when the scans end; then on
            self.set_status(self.status_text())
            return
        if not cells:
            self.fail("Select at least one package first: move to it and press Space.")
            return
        broken = next((c for c in cells if c.problem), None)
        if broken is not None:
            self.set_status(self.status_text())
            self.fail(f"{described(broken)} cannot be imported: {broken.problem} Deselect it (Space) to go on "
                      "without it.")
            return
        waited = [c.path for c in cells if c.scanning]
        if waited:
            self.waiting = True
            aside = self.scan.first(waited) if self.scan is not None else None
            matrix = self.query_one(PackageMatrix)
            gave_way = matrix.cell_of(aside) if aside is not None else None
            if gave_way is not None:  # read again after those waited for
                matrix.put(dataclasses.replace(gave_way, progress=0.0, queued=True))
            self.set_status(self.status_text())
            return
        if self.then_charts:
            from tui.screens.charts import ChartsScreen

            self.app.push_screen(ChartsScreen())
            return
        from tui.screens.target import TargetScreen

        self.state.charts = ChartSelection()  # Next without the checklist: every chart
        self.app.push_screen(TargetScreen())

    def action_charts(self) -> None:
        """On to the chart checklist (then the target), once the packages selected are read."""
        self.then_charts = True
        try:
            self.action_next()
        finally:
            self.then_charts = self.waiting  # kept only while a scan is waited for


def listed(file: Path) -> Cell:
    """A package file as listed before its scan: version and arch from its name, its size."""
    named = package_identity(file.name)
    return Cell(str(file), package_row(named.kind, named.version), named.arch or "?", file.stat().st_size,
                progress=0.0, queued=True, kind=named.kind)


def scanned(package: PackageIndex) -> Cell:
    """A scanned package's cell."""
    return Cell(package.path, package.row, package.arch, package.size, package.checksum, len(package.images),
                len(package.charts), kind=package.kind)


def described(cell: Cell) -> str:
    """``v0.11.0 amd64``."""
    return f"{cell.version} {cell.arch}"


def _date(ts: float) -> str:
    return time.strftime("%Y-%m-%d", time.localtime(ts))


class NamesTree(DirectoryTree):
    """A directory tree whose names are shown as they are: no markup, control characters escaped."""

    def process_label(self, label: str | Text) -> Text:
        return Text(printable(label.plain if isinstance(label, Text) else label))


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
            yield Static(printable(str(self.root)), id="picker-root", markup=False)
            yield NamesTree(self.root, id="tree")

    def action_up(self) -> None:
        """Show the parent directory's tree."""
        self.root = self.root.parent
        self.query_one(DirectoryTree).path = self.root
        self.query_one("#picker-root", Static).update(printable(str(self.root)))

    def on_directory_tree_directory_selected(self, event: DirectoryTree.DirectorySelected) -> None:
        self.dismiss(event.path)

    def on_directory_tree_file_selected(self, event: DirectoryTree.FileSelected) -> None:
        self.dismiss(event.path.parent)
