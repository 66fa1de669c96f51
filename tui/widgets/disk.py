"""Disk as gauges: used, what the run needs, and what stays free, from the disk checks' numbers."""

from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text
from textual.widgets import Static

from core.api import Check
from tui.format import size

BAR_WIDTH = 20
USED, NEED, FREE = "█", "▓", "░"  # distinct glyphs: the gauge reads without colour too


def gauge(numbers: dict[str, int], width: int = BAR_WIDTH) -> Text:
    """``█████▓░░░░`` — used, then what the plan needs, then what stays free (of the disk's total)."""
    total = max(numbers.get("total", 0), 1)
    used = min(max(numbers.get("used", 0), 0), total)
    free = max(numbers.get("free", total - used), 0)
    need = max(numbers.get("need", 0), 0)
    used_cells = round(width * used / total)
    free_cells = width - used_cells
    need_cells = min(free_cells, max(1 if need else 0, round(width * need / total)))
    fits = need <= free
    bar = Text()
    bar.append(USED * used_cells, style="blue")
    bar.append(NEED * need_cells, style="yellow" if fits else "bold red")
    bar.append(FREE * (free_cells - need_cells), style="dim")
    return bar


def gauge_line(name: str, numbers: dict[str, int]) -> Text:
    """``spool disk  [bar] 20.0 GiB of 99.0 GiB free, needs 256.0 MiB``."""
    free, total, need = numbers.get("free", 0), numbers.get("total", 0), numbers.get("need", 0)
    text = Text(f"{name:<11} ", style="bold")
    text.append_text(gauge(numbers))
    words = f" {size(free)} of {size(total)} free, needs {size(need)}"
    text.append(words if need <= free else words + " (does not fit)", style="" if need <= free else "bold red")
    return text


class DiskGauges(Static):
    """One gauge per disk check that carries numbers (spool disk, target disk)."""

    def show(self, checks: Iterable[Check]) -> None:
        lines = [gauge_line(c.name, c.numbers) for c in checks if c.numbers]
        self.display = bool(lines)
        self.update(Text("\n").join(lines))
