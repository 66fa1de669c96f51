"""Step 5: what the run did, and a verification of the target against the packages."""

from __future__ import annotations

import contextlib
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import DataTable, Static

from core.session import VerifyReport
from tui.format import platforms, size
from tui.messages import WorkDone, WorkFailed
from tui.screens.base import Command, FlowScreen

VERIFY_STYLE = {"ok": "green"}


def report_line(paths: tuple[Path, ...]) -> str:
    """``Report: state/reports/ID.md (and .json)``, or why there is none."""
    if not paths:
        return "No report was written (see the log)."
    md = paths[0]
    more = f" (and {paths[-1].suffix})" if len(paths) > 1 else ""
    return f"Report: {md}{more}"


class SummaryScreen(FlowScreen):
    """Results per image with the verification beside them; h opens the history."""

    SUB_TITLE = "5/5 Summary"
    ACTIONS = (
        Command("Verify again", "Check the target holds every image and platform", "verify", "v"),
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
        table.add_column("action", key="result", width=11)
        table.add_column("arch", key="platform", width=7)
        table.add_column("platforms now", key="after", width=14)
        table.add_column("verify", key="verify", width=16)
        table.add_column("image", key="image")
        self.show_result()
        self.action_verify()

    def show_result(self) -> None:
        summary = self.state.summary
        text = "No run yet."
        if summary is not None:
            counts = ", ".join(f"{n} {a}" for a, n in sorted(summary.counts.items())) or "nothing to do"
            text = (
                f"Run {summary.run_id}: {summary.status} · {counts} · {size(summary.bytes_uploaded)} uploaded "
                f"in {summary.seconds:.1f} s"
            )
            if summary.failures:
                text += f"\n{summary.failures[0]}"
            text += "\n" + report_line(summary.reports)
        self.query_one("#result", Static).update(text)
        table = self.query_one(DataTable)
        table.clear()
        for i, image in enumerate(summary.images if summary is not None else ()):
            table.add_row(
                Text(image.action),
                Text(image.platform.removeprefix("linux/")),
                Text(platforms(image.platforms_after)),
                Text("…", style="dim"),
                Text(f"{image.repository}:{image.tag}"),
                key=str(i),
            )

    def action_verify(self) -> None:
        self.query_one("#verify", Static).update("Verifying the target against the packages…")
        session, packages, summary = self.session, self.state.chosen, self.state.summary
        reports = summary.reports if summary is not None else ()

        def work() -> VerifyReport:
            report = session.verify(packages)
            if reports:  # the run report gets the verification too
                from core.record.report import add_verify

                with contextlib.suppress(OSError, ValueError):  # else the report stays as the run wrote it
                    add_verify(reports[-1], report.to_json(), session.secrets)
            return report

        self.archfuse.start_work(self, "verify", work)

    def on_work_done(self, message: WorkDone) -> None:
        if message.job != "verify":
            return
        report: VerifyReport = message.result
        self.state.verify = report
        table = self.query_one(DataTable)
        summary = self.state.summary
        rows = summary.images if summary is not None else ()
        by_key = {(c.destination, c.platform): c for c in report.images}
        for i, image in enumerate(rows):
            check = by_key.get((image.destination, image.platform))
            if check is not None:
                table.update_cell(str(i), "verify", Text(check.status, style=VERIFY_STYLE.get(check.status, "bold red")))
        bad = [c for c in report.images if c.status != "ok"]
        total = len(report.images)
        line = f"verify: {total - len(bad)}/{total} images ok on {self.state.settings.describe()}"
        if bad:
            line += f"; first problem: {bad[0].detail}. Run the import again to complete it."
        self.query_one("#verify", Static).update(line)

    def on_work_failed(self, message: WorkFailed) -> None:
        self.query_one("#verify", Static).update("Verification could not run.")
        self.fail(message.message)

    def action_new_import(self) -> None:
        from tui.screens.packages import PackagesScreen

        while len(self.app.screen_stack) > 2:
            self.app.pop_screen()
        if not isinstance(self.app.screen, PackagesScreen):
            self.app.push_screen(PackagesScreen())
