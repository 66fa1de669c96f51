"""The site × tag × platform matrix of a verify across sites, compact: a count line per site, then
the failing cells (as many as fit; the run report holds the whole matrix)."""

from __future__ import annotations

from collections import Counter

from textual.widgets import Static

from core.api import SitesReport
from tui.format import printable_lines

#: failing cells listed under the count lines at most (the rest are counted)
FAULTS_SHOWN = 4


def site_lines(report: SitesReport, shown: int = FAULTS_SHOWN) -> list[str]:
    """``site east: 4/6 ok (missing-tag 2)`` per site, then ``[missing-tag] east: app:1.0 linux/amd64``."""
    lines = []
    for site in report.sites:
        cells = [c for c in report.cells if c.site == site]
        words = Counter(c.status for c in cells if not c.ok)
        said = ", ".join(f"{word} {n}" for word, n in sorted(words.items()))
        ok = len(cells) - sum(words.values())
        lines.append(f"site {site}: {ok}/{len(cells)} ok" + (f" ({said})" if said else ""))
    faults = report.faults
    lines += [f"  [{c.status}] {c.site}: {c.tag} {c.platform}".rstrip() for c in faults[:shown]]
    if len(faults) > shown:
        lines.append(f"  … {len(faults) - shown} more failing cell(s) in the run report")
    return lines


class SiteMatrix(Static):
    """The Summary's verify across the sites."""

    def show(self, report: SitesReport) -> None:
        self.update(printable_lines(site_lines(report)))
