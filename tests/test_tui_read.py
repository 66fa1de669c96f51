"""What the engineer reads during and after a run (issue 20, item 9), walked with Pilot at 80×24."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable, Markdown, Static

from core import events as ev
from core.checks.preflight import Check, Preflight
from core.demo.samples import write_sample_package
from core.kinds import CheckKind, CheckStatus, ChecksumStatus, ImageAction, RollbackResult
from core.package.scan import scan_or_reason
from core.record.journal import ImageRow
from core.session import Session
from tests.tui_support import (  # noqa: F401 - fixture
    GatedSession,
    make_app,
    run_through,
    settle,
    start,
    to_checks,
    workdir_fixture,
)
from tui.screens.checks import ChecksScreen
from tui.screens.dialogs import ConfirmDialog
from tui.screens.history import HistoryScreen, RunDetailScreen, image_lines
from tui.screens.packages import PackagesScreen
from tui.screens.run import RunScreen
from tui.screens.summary import ReportScreen, SummaryScreen
from tui.widgets.matrix import PackageMatrix
from tui.widgets.plan import PlanTable
from tui.widgets.progress import ImageTable

SIZE = (80, 24)
#: a log line's time: ``2026-12-07 23:24:43.512``
STAMP = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}  "


RETRY = ev.Retrying("127.0.0.1:5000", "an upload of blob sha256:abc", "connection broke", 2, 2e9, 1.5)


class NoisySession(Session):
    """The real run, with a warning and a retry said first (as a registry restart would)."""

    def run(self, preflight: Preflight, **kwargs: Any) -> Any:
        self.emit(ev.Warning("the registry answered slowly"))
        self.emit(RETRY)
        return super().run(preflight, **kwargs)


def cells(table: DataTable[Any], column: str) -> list[str]:
    """The words of one column, top to bottom."""
    return [str(table.get_cell_at((row, table.get_column_index(column)))) for row in range(table.row_count)]


async def to_summary(pilot: Any) -> SummaryScreen:
    await run_through(pilot)
    await pilot.press("n")
    await settle(pilot)
    assert isinstance(pilot.app.screen, SummaryScreen)
    return pilot.app.screen


async def rolled_back(pilot: Any) -> None:
    """From the Summary: History, roll the run back (asking first), wait for it."""
    await pilot.press("h")
    await settle(pilot)
    assert isinstance(pilot.app.screen, HistoryScreen)
    await pilot.press("ctrl+r")
    await pilot.pause()
    assert isinstance(pilot.app.screen, ConfirmDialog)
    await pilot.press("y")
    await settle(pilot)


# -- w: the full log ----------------------------------------------------------------------
async def test_w_saves_every_event_with_its_time_warnings_retries_and_the_plans_totals(workdir: Path) -> None:
    app = make_app(NoisySession)
    async with app.run_test(size=SIZE) as pilot:
        await run_through(pilot)
        screen = app.screen
        assert isinstance(screen, RunScreen)
        await pilot.press("w")
        await pilot.pause()
        logs = list((workdir / "state" / "logs").glob("run-*.log"))
        assert [p.name for p in logs] == [f"run-{screen.run_id}.log"]
        text = logs[0].read_text()
    assert "plan: 12 images: 12 new · 4 charts · 247.2 KiB to upload" in text
    assert "[  ok] target: oci:" in text  # every check
    assert re.search(STAMP + "warning: the registry answered slowly$", text, re.M)
    assert re.search(STAMP + re.escape(f"{RETRY.text()} (an upload of blob sha256:abc; next try in 1.5 s)") + "$",
                     text, re.M)
    assert re.search(STAMP + f"run {screen.run_id}: 12 images into oci:", text, re.M)
    assert len(re.findall(STAMP + "  blob sha256:", text)) >= 12  # each blob, not only what the pane shows
    assert re.search(STAMP + f"run {screen.run_id} done: 12 images, 4 charts", text, re.M)
    assert re.search(STAMP + "outcome: done, 247.2 KiB uploaded", text, re.M)


# -- image names --------------------------------------------------------------------------
async def test_image_names_whole_while_there_is_room_and_laid_out_again_on_resize(workdir: Path) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        checks = await to_checks(pilot)
        assert "ingress-nginx/controller:v1.9.0" in cells(checks.query_one(PlanTable), "image")
        await start(pilot)
        await settle(pilot)
        run = app.screen.query_one(ImageTable)
        assert "ingress-nginx/controller:v1.9.0" in cells(run, "image")
        assert "jetstack/cert-manager-controller:v1.12.0" not in cells(run, "image")  # no room at 80
        await pilot.resize_terminal(120, 40)
        await pilot.pause()
        assert "jetstack/cert-manager-controller:v1.12.0" in cells(run, "image")
        await pilot.press("n")
        await settle(pilot)
        summary = app.screen.query_one(DataTable)
        assert "ingress-nginx/kube-webhook-certgen:v20230407" in cells(summary, "image")
        await pilot.resize_terminal(*SIZE)
        await pilot.pause()
        names = cells(summary, "image")
        assert "ingress-nginx/controller:v1.9.0" in names and "jetstack/cert-manager-controller:v1.12.0" in names
        assert "ingress-nginx/kube-webhook-certgen:v20230407" not in names  # shortened again at 80
        assert cells(summary, "verify")[0] == "ok"  # the verification survives the new layout


# -- after a rollback ---------------------------------------------------------------------
async def test_summary_is_made_again_after_a_rollback_from_history(workdir: Path) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        summary = await to_summary(pilot)
        assert cells(summary.query_one(DataTable), "verify")[0] == "ok"
        await rolled_back(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is summary
        result = str(summary.query_one("#result", Static).render())
        assert "Rolled back since by run" in result and "10 deleted" in result
        assert "ok" not in cells(summary.query_one(DataTable), "verify")
        assert str(summary.query_one("#verify", Static).render()).startswith("verify: 0/16 ok")


async def test_rollback_detail_says_a_shared_explanation_once(workdir: Path) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await to_summary(pilot)
        await rolled_back(pilot)
        history = app.screen
        assert isinstance(history, HistoryScreen) and history.runs[0].kind == "rollback"
        await pilot.press("enter")
        await pilot.pause()
        detail = app.screen
        assert isinstance(detail, RunDetailScreen)
    assert detail.text.count("removed: it did not exist before the run") == 1
    assert "  All 10: removed: it did not exist before the run" in detail.text


def test_a_registrys_left_tags_share_one_explanation_their_digests_beside_them() -> None:
    why = "the tag did not exist before the run, but the registry API has no way to delete a tag, so it is left pointing at "
    rows = [ImageRow(f"r{i}:1", "", f"host:5000/r{i}:1", RollbackResult.LEFT, f"sha256:{i:064d}", why + f"sha256:{i:064d}")
            for i in range(3)]
    rows.append(ImageRow("x:1", "", "host:5000/x:1", ImageAction.ROLLED_BACK, "sha256:" + "f" * 64, "back to sha256:ff"))
    lines = image_lines(rows, "http://host:5000")
    assert sum(why in line for line in lines) == 1
    assert f"  [1] 3 rows: {why}the digest shown" in lines
    assert "  left        r0:1  sha256:000000000000  [1]" in lines
    assert "  rolled-back x:1  back to sha256:ff" in lines


# -- confirm dialogs ------------------------------------------------------------------------
async def test_confirm_dialogs_say_what_moves_a_downgrade_and_what_rollback_leaves(workdir: Path) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await to_checks(pilot)
        await pilot.press("s")
        await pilot.pause()
        assert "6 tag(s) move, only at the end: 6 new." in app.screen.question
        await pilot.press("y")
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        await pilot.press("i")  # New import: v0.11.0 now, a downgrade
        await settle(pilot)
        matrix = app.screen.query_one(PackageMatrix)
        matrix.selected = {c.path for c in matrix.cells.values() if c.version == "v0.11.0"}
        app.screen.selection_changed()
        await to_checks(pilot)
        await pilot.press("s")
        await pilot.pause()
        question = app.screen.question
        assert "5 tag(s) move, only at the end: 2 new, 3 existing (their other platforms kept)." in question
        assert "Downgrade: v0.11.0 is older than v0.12.0" in question
        await pilot.press("n")
        await pilot.pause()
        app.action_history()
        await settle(pilot)
        await pilot.press("ctrl+r")
        await pilot.pause()
        question = app.screen.question
    assert "10 tags the run created are deleted." in question
    assert "Blobs and manifests the run uploaded stay" in question


# -- History --------------------------------------------------------------------------------
async def test_history_at_80_columns_shows_target_and_run_id_and_h_opens_it_from_packages(workdir: Path) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await to_summary(pilot)
        run_id = app.workspace.history()[0].id
        await pilot.press("i")
        await settle(pilot)
        assert isinstance(app.screen, PackagesScreen)
        await pilot.press("h")
        await settle(pilot)
        assert isinstance(app.screen, HistoryScreen)
        table = app.screen.query_one(DataTable)
        assert cells(table, "id") == [run_id]
        assert cells(table, "target") == ["oci:layout"]
        assert f"\nRun {run_id} (import, done," in str(app.screen.query_one("#detail", Static).render())


# -- an unreadable package --------------------------------------------------------------------
def cut(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 6 // 10])


def test_a_short_package_is_called_short_with_its_checksum(tmp_path: Path) -> None:
    path = write_sample_package(tmp_path, "v0.0.1", "amd64", charts=["metrics-server"])
    cut(path)
    found = scan_or_reason(path)
    assert found.short and found.checksum == ChecksumStatus.MISMATCH  # type: ignore[union-attr]
    assert found.reason.startswith(f"{path.name}: the file is short: it ends after ")
    assert found.reason.endswith(f"Checksum: MISMATCH with {path.name}.sha512sum: copy the file again.")
    Path(f"{path}.sha512sum").unlink()
    assert scan_or_reason(path).checksum == ChecksumStatus.MISSING  # type: ignore[union-attr]


async def test_the_reason_a_package_is_unreadable_is_shown_whole(workdir: Path) -> None:
    package = next((workdir / "pk").glob("*v0.11.0-arm64.tar.gz"))
    cut(package)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        matrix = app.screen.query_one(PackageMatrix)
        cell = matrix.cell_of(str(Path("pk") / package.name))
        assert cell is not None and cell.short
        assert str(matrix.render_cell(cell)) == "SHORT, MISMATCH"
        matrix.move_cursor(row=1, column=3)  # v0.11.0 arm64
        await pilot.pause()
        detail = app.screen.query_one("#detail", Static)
        said = str(detail.render())
        assert said.startswith(f"{package.name}: the file is short") and said.endswith("copy the file again.")
        lines = detail.render().wrap(detail.content_size.width)  # type: ignore[union-attr]
        assert detail.content_size.height == len(lines) > 3  # every line on the screen, none cut


# -- the keys that say what they do ---------------------------------------------------------
async def test_i_is_offered_only_when_every_failed_check_can_be_passed(workdir: Path) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        checks = await to_checks(pilot)
        assert isinstance(checks, ChecksScreen)
        passable = Check(CheckKind.SPOOL_DISK, CheckStatus.FAIL, "the spool disk is full.")
        fixed = Check(CheckKind.TARGET, CheckStatus.FAIL, "the target does not answer.")
        preflight = app.state.preflight
        assert preflight is not None
        checks.show_preflight(Preflight([passable, fixed, *preflight.checks], preflight.plan, preflight.charts))
        totals = str(checks.query_one("#totals", Static).render())
        assert "i goes past" not in totals and "Press i" not in (checks.refusal() or "")
        checks.show_preflight(Preflight([passable, *preflight.checks], preflight.plan, preflight.charts))
        assert "i goes past the failed checks" in str(checks.query_one("#totals", Static).render())
        assert "Press i to go past it" in (checks.refusal() or "")


async def test_r_after_a_stop_says_it_checks_and_plans_again(workdir: Path) -> None:
    app = make_app(GatedSession)
    async with app.run_test(size=SIZE) as pilot:
        await to_checks(pilot)
        session = app.session
        assert isinstance(session, GatedSession)
        session.gate.clear()
        await start(pilot)
        assert session.entered.wait(10)
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("y")
        session.gate.set()
        await settle(pilot)
        phase = str(app.screen.query_one("#phase", Static).render())
        assert phase.startswith("Cancelled safely; press r to check and plan again, then Start")
        await pilot.press("r")
        await settle(pilot)
        assert isinstance(app.screen, ChecksScreen)


async def test_new_import_lists_packages_copied_in_after_start(workdir: Path) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await to_summary(pilot)
        write_sample_package(workdir / "pk", "v0.13.0", "amd64", charts=["metrics-server"])
        await pilot.press("i")
        await settle(pilot)
        assert isinstance(app.screen, PackagesScreen)
        matrix = app.screen.query_one(PackageMatrix)
        assert ("v0.13.0", "amd64") in matrix.cells
        assert {(c.version, c.arch) for c in matrix.cells.values() if c.path in app.state.selected} == {
            ("v0.12.0", "amd64"), ("v0.12.0", "arm64")}  # the choice made before is kept


async def test_o_shows_that_it_opens_the_report(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = make_app()
    loads = []
    load = ReportScreen.load

    async def held(self: ReportScreen) -> None:  # the report still being laid out
        loads.append(self)

    monkeypatch.setattr(ReportScreen, "load", held)
    async with app.run_test(size=SIZE) as pilot:
        await to_summary(pilot)
        await pilot.press("o")
        await pilot.pause()
        report = app.screen
        assert isinstance(report, ReportScreen) and loads == [report]
        heading = report.query_one(".dialog-title", Static)
        assert str(heading.render()) == f"Opening the report {report.path}…"
        await load(report)
        await pilot.pause()
        assert str(heading.render()) == f"{report.path} · Escape closes"
        assert "## Verification" in report.query_one(Markdown).source
