"""The package matrix: versions down, architectures across, one cell per package file."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual.coordinate import Coordinate
from textual.widgets import DataTable

from core.api import ChecksumStatus, Listed, Selection, version_key
from tui.format import printable, size

#: the first column that holds packages (after the version and its arch coverage)
FIRST_ARCH_COLUMN = 2
CHECKSUM_TEXT = {ChecksumStatus.OK: "sum ok", ChecksumStatus.MISSING: "no sum", ChecksumStatus.MISMATCH: "MISMATCH"}
CHECKSUM_STYLE = {ChecksumStatus.OK: "green", ChecksumStatus.MISSING: "yellow", ChecksumStatus.MISMATCH: "bold red"}


@dataclass
class Cell:
    """One package as the matrix shows it."""

    path: str
    version: str  # with the kind when it is not full: ``v0.25.0 gpu`` (core.package.naming.package_row)
    arch: str
    size: int = 0
    checksum: ChecksumStatus | None = None  # None while scanning
    images: int = 0
    charts: int = 0
    progress: float | None = None  # 0..1 while scanning (or queued for it); None once scanned
    problem: str = ""  # why the package cannot be read (it cannot be selected)
    queued: bool = False  # waiting for its scan to start
    kind: str = "full"  # full, gpu, ...: each kind is selected on its own
    short: bool = False  # unreadable because the file ends before its archive does

    @property
    def scanning(self) -> bool:
        """Queued for the scan or being scanned: not yet known readable."""
        return self.progress is not None and not self.problem


class PackageMatrix(DataTable[Text]):
    """Space toggles the highlighted package; the selection lives in ``selected``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cursor_type="cell", zebra_stripes=False, **kwargs)
        self.cells: dict[tuple[str, str], Cell] = {}
        self.selected: set[str] = set()
        #: journal, per (version, arch): date imported into the chosen target; None: no target known
        self.imported: dict[tuple[str, str], str] | None = None

    def set_imported(self, imported: dict[tuple[str, str], str] | None) -> None:
        """What the journal says is in the target already (shown under each package)."""
        self.imported = imported
        self.redraw()

    def put(self, cell: Cell) -> None:
        """Add or update one package (moved when its scan placed it elsewhere) and redraw."""
        for key in [k for k, c in self.cells.items() if c.path == cell.path]:
            del self.cells[key]
        self.cells[(cell.version, cell.arch)] = cell
        self.redraw()

    def cell_of(self, path: str) -> Cell | None:
        """The package file ``path``'s cell, if it has one."""
        return next((c for c in self.cells.values() if c.path == path), None)

    def redraw(self) -> None:
        versions = sorted({v for v, _ in self.cells}, key=version_key, reverse=True)
        arches = sorted({a for _, a in self.cells})
        cursor = self.cursor_coordinate
        self.clear(columns=True)
        self.add_column("version", key="version")
        self.add_column("arches", key="coverage")
        for arch in arches:
            self.add_column(arch, key=arch, width=24)
        for version in versions:
            row = [Text(printable(version), style="bold"), self.coverage_text(version, arches)]
            for arch in arches:
                cell = self.cells.get((version, arch))
                row.append(self.render_cell(cell) if cell else Text("- none", style="dim"))
            self.add_row(*row, key=version, height=2 if self.imported is not None else 1)
        if self.row_count:
            column = cursor.column if cursor.column >= FIRST_ARCH_COLUMN else FIRST_ARCH_COLUMN
            self.cursor_coordinate = self.validate_cursor_coordinate(Coordinate(cursor.row, column))

    def readable(self, version: str, arch: str) -> bool:
        cell = self.cells.get((version, arch))
        return cell is not None and not cell.problem

    def coverage_text(self, version: str, arches: list[str]) -> Text:
        """``all 2`` when the version has a readable package for every arch, else ``no arm64``."""
        missing = [a for a in arches if not self.readable(version, a)]
        if not missing:
            return Text(f"all {len(arches)}", style="green")
        return Text("no " + ",".join(missing), style="yellow")

    def render_cell(self, cell: Cell) -> Text:
        if cell.problem:
            if cell.short:  # cut short by a copy: its checksum says whether the sidecar knew
                sums = f", {CHECKSUM_TEXT[cell.checksum]}" if cell.checksum is not None else ""
                return Text(f"SHORT{sums}", style="bold red")
            return Text("UNREADABLE", style="bold red")
        mark = "[x]" if cell.path in self.selected else "[ ]"
        text = Text(f"{mark} {size(cell.size):>9} ")
        if cell.progress is not None:
            text.append("queued" if cell.queued else f"scan {cell.progress:.0%}", style="italic")
        else:
            if cell.checksum is None:
                text.append("scanned", style="")
            else:
                text.append(CHECKSUM_TEXT[cell.checksum], style=CHECKSUM_STYLE[cell.checksum])
        if self.imported is not None:
            when = self.imported.get((cell.version, cell.arch))
            text.append("\n    ")
            text.append(f"imported {when}" if when else "–", style="cyan" if when else "dim")
        return text

    def highlighted(self) -> Cell | None:
        """The package under the cursor, if any."""
        if not self.row_count or self.cursor_column < FIRST_ARCH_COLUMN:
            return None
        row_key, col_key = self.coordinate_to_cell_key(self.cursor_coordinate)
        return self.cells.get((str(row_key.value), str(col_key.value)))

    def toggle(self) -> Cell | None:
        cell = self.highlighted()
        if cell is not None and not cell.problem:
            self.selected ^= {cell.path}
            self.redraw()
        return cell

    def select_all(self) -> None:
        """Select every package, or none when all are selected."""
        every = {c.path for c in self.cells.values() if not c.problem}
        self.selected = set() if self.selected >= every else every
        self.redraw()

    def listed(self) -> list[Listed]:
        """Every package as listed, for the engine's default selection."""
        return [Listed(c.path, c.version, c.arch, not c.problem, c.kind) for c in self.cells.values()]

    def select(self, chosen: Selection) -> str:
        """Select what the engine chose and return its sentence."""
        self.selected = set(chosen.paths)
        self.redraw()
        return chosen.note
