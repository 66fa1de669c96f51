"""Step 5: what the run did, tag by tag and chart by chart, checked against the target.

The table holds one row per tag of the plan (the platforms it serves now, flagged when the
repository's other tags serve an arch it lacks) and one per chart version (pushed, unchanged,
conflict kept). The verification counts images and charts as the run report does; o opens it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Markdown, Static

from core.api import (
    ChartAction,
    ImageResult,
    PackageIndex,
    Session,
    Site,
    SitesReport,
    TagCoverage,
    VerifyReport,
    VerifyStatus,
    open_session,
    site_of,
)
from tui.advice import say
from tui.format import fitted, platforms, printable, printable_lines, reference, reference_width, size
from tui.messages import WorkFailed
from tui.screens.base import Command, FlowScreen
from tui.screens.dialogs import ScrollPage
from tui.screens.history import rollback_counts
from tui.screens.replicate import ReplicationScreen
from tui.widgets.sitematrix import SiteMatrix

VERIFY_STYLE: dict[str, str] = {VerifyStatus.OK: "green"}
CHART_WORDS = {ChartAction.NEW: "pushed", ChartAction.OVERWRITTEN: "overwritten", ChartAction.UNCHANGED: "unchanged",
               ChartAction.CONFLICT: "kept", ChartAction.ERROR: "failed"}
OVERWRITE_HINT = (
    "kept: other content is there under the same version; to overwrite it, go back to Checks and plan "
    "(Escape twice), choose to overwrite kept charts, and Start again."
)


def report_line(paths: tuple[Path, ...]) -> str:
    """``Report: state/reports/ID.md (and .json)``, or why there is none."""
    if not paths:
        return "No report was written (see the log)."
    md = paths[0]
    more = f" (and {paths[-1].suffix})" if len(paths) > 1 else ""
    return f"Report: {md}{more} · o opens it"


@dataclass
class Findings:
    """What the summary's worker found: the verification and each tag's coverage."""

    verify: VerifyReport
    coverage: list[TagCoverage] = field(default_factory=list)
    sites: SitesReport | None = None  # verify across the target (first) and the further sites


@dataclass
class SummaryRow:
    """One row of the summary's table: a tag or a chart version."""

    key: str
    result: Text
    after: Text
    verify: Text
    name: str  # the repository or the chart
    version: str  # the tag or the chart version
    sep: str  # between them


class ReportScreen(ScrollPage):
    """The run report's Markdown, scrollable; its heading says it is opening until the report is shown
    (a report of many images takes a moment to lay out)."""

    BINDINGS = [Binding("escape,q,o", "dismiss", "Close")]

    def __init__(self, path: Path) -> None:
        super().__init__("report", f"Opening the report {path}…", Markdown(""))
        self.path = path

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).focus()
        self.call_after_refresh(self.load)  # the "Opening…" heading is drawn first

    async def load(self) -> None:
        """Read the report and show it; the heading then says how to close it."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except OSError as err:
            text = f"The report {self.path} cannot be read: {err.strerror or err}."
        await self.query_one(Markdown).update(text)
        self.query_one(".dialog-title", Static).update(printable(f"{self.path} · Escape closes"))


class SummaryScreen(FlowScreen):
    """Results per tag and chart with the verification beside them; o opens the report."""

    SUB_TITLE = "5/5 Summary"
    ACTIONS = (
        Command("Open the report", "The run report (Markdown), scrollable", "report", "o", "Report"),
        Command("Verify again", "Check the target holds every image, platform and chart", "verify", "v"),
        Command("History and rollback", "Runs in the journal; roll one back", "app.history", "h", "History"),
        Command("New import", "Back to the package selection", "new_import", "i"),
        Command("Replicate to the sites", "Harbor replication of this run from the target to the further sites: "
                "pair checks, consent, followed live", "replicate", "p", "Replicate"),
        Command("Back", "Return to the run", "back", "escape", palette=False),
    )

    def compose_body(self) -> ComposeResult:
        yield Static("", id="result", markup=False)
        yield DataTable(id="results", cursor_type="row", zebra_stripes=True)
        yield Static("Verifying…", id="verify", markup=False)
        if self.state.sites:
            yield SiteMatrix("Verifying the sites…", id="site-matrix", markup=False)

    def __init__(self) -> None:
        super().__init__()
        self.rollbacks_seen = 0  # rollbacks made from History when the summary was last made
        self.findings: Findings | None = None  # the verification, once it is in
        self.image_width = 0
        self.width_laid_out = 0

    def on_screen_resume(self) -> None:
        """Back from History: a rollback made there changed the target, so the summary is made again."""
        if len(self.state.rollbacks) != self.rollbacks_seen:
            self.rollbacks_seen = len(self.state.rollbacks)
            self.show_result()
            self.action_verify()

    def on_mount(self) -> None:
        self.rollbacks_seen = len(self.state.rollbacks)
        self.show_result()
        self.action_verify()

    def on_resize(self) -> None:
        if self.app.size.width != self.width_laid_out:
            self.refill()

    # -- what the run did -------------------------------------------------------------
    def tag_results(self) -> dict[tuple[str, str], list[ImageResult]]:
        """The run's image results by ``(repository, tag)``, in the run's order."""
        summary = self.state.summary
        out: dict[tuple[str, str], list[ImageResult]] = {}
        for result in summary.images if summary is not None else ():
            out.setdefault((result.repository, result.tag), []).append(result)
        return out

    def tags(self) -> list[tuple[str, str]]:
        return list(self.tag_results())

    def show_result(self) -> None:
        summary = self.state.summary
        lines = ["No run yet."]
        if summary is not None:
            counts = ", ".join(f"{n} {a}" for a, n in sorted(summary.counts.items())) or "nothing to do"
            lines = [
                f"Run {summary.run_id}: {summary.status} · images: {counts} · {size(summary.bytes_uploaded)} "
                f"uploaded in {summary.seconds:.1f} s"
            ]
            if summary.failures:
                lines.append(say(summary.failures[0]))
        charts = summary.charts if summary is not None else ()
        if charts:
            words: dict[str, int] = {}
            for chart in charts:
                word = CHART_WORDS.get(chart.action, chart.action)
                words[word] = words.get(word, 0) + 1
            line = "charts: " + ", ".join(f"{n} {w}" for w, n in sorted(words.items()))
            if any(c.action == ChartAction.CONFLICT for c in charts):
                line += " · " + OVERWRITE_HINT
            lines.append(line)
        if summary is not None:
            lines += [f"Rolled back since by run {r.run_id}: {r.status} ({rollback_counts(r)}); the table and the "
                      "verification are of the target now." for r in self.state.rollbacks if r.rolled_back == summary.run_id]
            lines.append(report_line(summary.reports))
            if self.state.site_outcomes:  # the further sites' runs of this fan-out, each as it ended
                lines += [t.line() for t in self.state.site_tallies]
        self.query_one("#result", Static).update(printable_lines(lines))
        self.refill()

    def rows(self) -> list[SummaryRow]:
        """One row per tag and chart version: the run's result, and the verification once it is in."""
        found = self.findings
        verified = found is not None
        by_tag: dict[str, list[VerifyStatus]] = {}
        coverage: dict[str, TagCoverage] = {}
        charts: dict[tuple[str, str], VerifyStatus] = {}
        if found is not None:
            tag_of = {r.destination: f"{repo}:{tag}" for (repo, tag), rs in self.tag_results().items() for r in rs}
            for check in found.verify.images:
                by_tag.setdefault(tag_of.get(check.destination, check.destination), []).append(check.status)
            coverage = {c.ref: c for c in found.coverage}
            charts = {(c.name, c.version): c.status for c in found.verify.charts}
        out = []
        for (repository, tag), results in self.tag_results().items():
            ref = f"{repository}:{tag}"
            after = Text(platforms(results[0].platforms_after))
            cover = coverage.get(ref)
            if cover is not None:
                after = Text(platforms(cover.platforms))
                if cover.missing:
                    after = Text(f"{platforms(cover.platforms)} · no {','.join(cover.missing)}", style="bold yellow")
            verify = Text("…", style="dim")
            if verified:
                statuses = by_tag.get(ref, [])
                bad = [s for s in statuses if s != VerifyStatus.OK]
                word = VerifyStatus.OK if statuses and not bad else (bad[0] if bad else "-")
                verify = Text(word, style=VERIFY_STYLE.get(word, "bold red"))
            actions = Text(",".join(sorted({str(r.action) for r in results})))
            out.append(SummaryRow(f"tag:{ref}", actions, after, verify, repository, tag, ":"))
        summary = self.state.summary
        for chart in summary.charts if summary is not None else ():
            said = CHART_WORDS.get(chart.action, chart.action)
            status = charts.get((chart.name, chart.version))
            verify = Text("…", style="dim") if status is None else Text(status, style=VERIFY_STYLE.get(status, "bold yellow"))
            out.append(SummaryRow(
                f"chart:{chart.name}:{chart.version}",
                Text(said, style="bold yellow" if chart.action == ChartAction.CONFLICT else ""),
                Text("chart", style="dim"), verify, chart.name, chart.version, "-",
            ))
        if verified:  # what needs the engineer (a tag lacking an arch, a check that failed, a chart kept) first
            out.sort(key=lambda row: not needs_attention((row.after, row.verify)))
        return out

    def refill(self) -> None:
        """The table laid out for the screen's width: the other columns as wide as their words, the
        image names in the rest (shortened in the middle only when they do not fit)."""
        rows = self.rows()
        self.width_laid_out = self.app.size.width
        widths = {
            "result": fitted("result", (r.result.plain for r in rows), 11),
            "after": fitted("platforms now", (r.after.plain for r in rows), 24),
            "verify": fitted("verify", (r.verify.plain for r in rows), 11),
        }
        self.image_width = reference_width(self.width_laid_out - 4, sum(widths.values()) + 2 * 4 + 2)
        table = self.query_one(DataTable)
        table.clear(columns=True)
        table.add_column("result", key="result", width=widths["result"])
        table.add_column("platforms now", key="after", width=widths["after"])
        table.add_column("verify", key="verify", width=widths["verify"])
        table.add_column("tag / chart", key="image", width=self.image_width)
        for row in rows:
            name = Text(reference(row.name, row.version, self.image_width, sep=row.sep))
            table.add_row(row.result, row.after, row.verify, name, key=row.key)

    # -- verification -----------------------------------------------------------------
    def action_verify(self) -> None:
        self.query_one("#verify", Static).update("Verifying the target against the packages…")
        session, packages, tags, sites = self.session, self.state.chosen, self.tags(), list(self.state.sites)

        def work() -> Findings:  # the verification (and the sites' matrix) goes into the run's report too
            found = Findings(session.verify(packages), session.coverage(tags))
            if sites:
                found.sites = verify_across(session, packages, sites)
            return found

        self.archfuse.start_work(self, "verify", work, self.show_findings)

    def show_findings(self, found: Findings) -> None:
        """Verification and coverage, cell by cell; the rows that need the engineer first."""
        self.findings = found
        self.state.verify = found.verify
        self.refill()
        self.query_one(DataTable).move_cursor(row=0)
        self.query_one("#verify", Static).update(printable(verify_line(found, self.state.settings.describe())))
        if found.sites is not None:
            self.query_one(SiteMatrix).show(found.sites)

    def on_work_failed(self, message: WorkFailed) -> None:
        self.query_one("#verify", Static).update("Verification could not run.")
        self.fail(message.message)

    # -- actions ----------------------------------------------------------------------
    def action_report(self) -> None:
        summary = self.state.summary
        if summary is None or not summary.reports:
            self.fail("This run has no report (see the run's log).")
            return
        self.app.push_screen(ReportScreen(summary.reports[0]))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Replication is offered once a run finished and further sites are configured."""
        if action == "replicate":
            return bool(self.state.sites) and self.state.summary is not None
        return True

    def action_replicate(self) -> None:
        summary = self.state.summary
        if summary is None or not self.state.sites:
            return
        self.app.push_screen(ReplicationScreen(self.state.sites, summary.run_id))

    def action_new_import(self) -> None:
        """Back to Packages, the directory scanned again: packages copied into it since are listed too."""
        from tui.screens.packages import PackagesScreen

        while len(self.app.screen_stack) > 2:
            self.app.pop_screen()
        screen = self.app.screen
        if isinstance(screen, PackagesScreen):
            screen.rescan()
        else:
            self.app.push_screen(PackagesScreen())


def verify_across(hub: Session, packages: list[PackageIndex], sites: list[Site]) -> SitesReport:
    """The site × tag × platform matrix of the hub (the form's target) and the further sites, each
    site read through a session of its own, closed after."""
    opened: list[tuple[str, Session]] = []
    try:
        for site in sites:
            opened.append((site.name, open_session(site.config, state_dir=hub.state_dir)))
        return hub.verify_sites(packages, [(site_of(hub.config).name, hub), *opened])
    finally:
        for _, session in opened:
            session.close()


def needs_attention(cells: tuple[object, ...]) -> bool:
    """A summary row (its "platforms now" and "verify" cells) the engineer should look at first."""
    after, verify = (str(cell) for cell in cells)
    return " · no " in after or verify not in (VerifyStatus.OK, "-", "…")


def verify_line(found: Findings, target: str) -> str:
    """``verify: 19/21 ok on TARGET (images 19/19, charts 0/2)`` and the first problem, as the report counts."""
    report = found.verify
    bad_images = [c for c in report.images if c.status != VerifyStatus.OK]
    bad_charts = [c for c in report.charts if c.status != VerifyStatus.OK]
    total = len(report.images) + len(report.charts)
    ok = total - len(bad_images) - len(bad_charts)
    line = f"verify: {ok}/{total} ok on {target}"
    if report.charts:
        line += (
            f" (images {len(report.images) - len(bad_images)}/{len(report.images)}, "
            f"charts {len(report.charts) - len(bad_charts)}/{len(report.charts)})"
        )
    if bad_images:
        line += f"; first problem: {say(bad_images[0].detail)}. Run the import again to complete it."
    elif bad_charts:
        line += f"; chart {bad_charts[0].name}-{bad_charts[0].version}: {bad_charts[0].status}."
    flagged = [c for c in found.coverage if c.missing]
    if flagged:
        line += (
            f"\n{len(flagged)} tag(s) serve fewer arches than their repository's other tags "
            f"({flagged[0].ref} lacks {', '.join(flagged[0].missing)}): import that arch's package too."
        )
    return line
