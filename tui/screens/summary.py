"""Step 5: what the run did, tag by tag and chart by chart, checked against the target.

The table holds one row per tag of the plan (the platforms it serves now, flagged when the
repository's other tags serve an arch it lacks) and one per chart version (pushed, unchanged,
conflict kept). The verification counts images and charts as the run report does; o opens it.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Markdown, Static

from core.api import ChartAction, ImageResult, TagCoverage, VerifyReport, VerifyStatus
from tui.advice import say
from tui.format import platforms, printable, printable_lines, reference, reference_width, size
from tui.messages import WorkFailed
from tui.screens.base import Command, FlowScreen
from tui.screens.dialogs import ScrollPage

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


class ReportScreen(ScrollPage):
    """The run report's Markdown, scrollable."""

    BINDINGS = [Binding("escape,q,o", "dismiss", "Close")]

    def __init__(self, path: Path) -> None:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as err:
            text = f"The report {path} cannot be read: {err.strerror or err}."
        super().__init__("report", f"{path} · Escape closes", Markdown(text))
        self.path = path

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).focus()


class SummaryScreen(FlowScreen):
    """Results per tag and chart with the verification beside them; o opens the report."""

    SUB_TITLE = "5/5 Summary"
    ACTIONS = (
        Command("Open the report", "The run report (Markdown), scrollable", "report", "o", "Report"),
        Command("Verify again", "Check the target holds every image, platform and chart", "verify", "v"),
        Command("History and rollback", "Runs in the journal; roll one back", "app.history", "h", "History"),
        Command("New import", "Back to the package selection", "new_import", "i"),
        Command("Back", "Return to the run", "back", "escape", palette=False),
    )

    def compose_body(self) -> ComposeResult:
        yield Static("", id="result", markup=False)
        yield DataTable(id="results", cursor_type="row", zebra_stripes=True)
        yield Static("Verifying…", id="verify", markup=False)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_column("result", key="result", width=11)
        table.add_column("platforms now", key="after", width=17)
        table.add_column("verify", key="verify", width=9)
        self.image_width = reference_width(self.app.size.width - 4, 11 + 17 + 9 + 2 * 4 + 2)
        table.add_column("tag / chart", key="image", width=self.image_width)
        self.show_result()
        self.action_verify()

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
            lines.append(report_line(summary.reports))
        self.query_one("#result", Static).update(printable_lines(lines))
        table = self.query_one(DataTable)
        table.clear()
        for (repository, tag), results in self.tag_results().items():
            actions = sorted({str(r.action) for r in results})
            after = results[0].platforms_after
            table.add_row(
                Text(",".join(actions)),
                Text(platforms(after)),
                Text("…", style="dim"),
                Text(reference(repository, tag, self.image_width)),
                key=f"tag:{repository}:{tag}",
            )
        for chart in charts:
            word = CHART_WORDS.get(chart.action, chart.action)
            table.add_row(
                Text(word, style="bold yellow" if chart.action == ChartAction.CONFLICT else ""),
                Text("chart", style="dim"),
                Text("…", style="dim"),
                Text(reference(chart.name, chart.version, self.image_width, sep="-")),
                key=f"chart:{chart.name}:{chart.version}",
            )

    # -- verification -----------------------------------------------------------------
    def action_verify(self) -> None:
        self.query_one("#verify", Static).update("Verifying the target against the packages…")
        session, packages, tags = self.session, self.state.chosen, self.tags()

        def work() -> Findings:  # the verification goes into the run's report too
            return Findings(session.verify(packages), session.coverage(tags))

        self.archfuse.start_work(self, "verify", work, self.show_findings)

    def show_findings(self, found: Findings) -> None:
        """Verification and coverage, cell by cell."""
        report = found.verify
        self.state.verify = report
        table = self.query_one(DataTable)
        tag_of = {r.destination: f"{repo}:{tag}" for (repo, tag), rs in self.tag_results().items() for r in rs}
        by_tag: dict[str, list[VerifyStatus]] = {}
        for check in report.images:
            by_tag.setdefault(tag_of.get(check.destination, check.destination), []).append(check.status)
        for (repository, tag) in self.tags():
            statuses = by_tag.get(f"{repository}:{tag}", [])
            bad = [s for s in statuses if s != VerifyStatus.OK]
            word = VerifyStatus.OK if statuses and not bad else (bad[0] if bad else "-")
            table.update_cell(f"tag:{repository}:{tag}", "verify", Text(word, style=VERIFY_STYLE.get(word, "bold red")))
        for coverage in found.coverage:
            text = Text(platforms(coverage.platforms))
            if coverage.missing:
                text = Text(f"{platforms(coverage.platforms)} · no {','.join(coverage.missing)}", style="bold yellow")
            table.update_cell(f"tag:{coverage.ref}", "after", text)
        for chart in report.charts:
            with contextlib.suppress(KeyError):
                table.update_cell(
                    f"chart:{chart.name}:{chart.version}",
                    "verify",
                    Text(chart.status, style=VERIFY_STYLE.get(chart.status, "bold yellow")),
                )
        # what needs the engineer (a tag lacking an arch, a check that failed, a chart kept) comes first
        table.sort("after", "verify", key=lambda cells: not needs_attention(cells))
        table.move_cursor(row=0)
        self.query_one("#verify", Static).update(printable(verify_line(found, self.state.settings.describe())))

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

    def action_new_import(self) -> None:
        from tui.screens.packages import PackagesScreen

        while len(self.app.screen_stack) > 2:
            self.app.pop_screen()
        if not isinstance(self.app.screen, PackagesScreen):
            self.app.push_screen(PackagesScreen())


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
