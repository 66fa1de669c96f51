"""Pilot-driven flows of the TUI against the real engine and an OCI layout target in tmp."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input

from core import events as ev
from core.errors import STOPPED_EXIT
from core.kinds import RunStatus
from core.oci import fusion
from core.plan.results import RunSummary
from core.targets.layout import LayoutTarget
from tests.tui_support import (  # noqa: F401 - fixture
    GatedSession,
    make_app,
    run_through,
    settle,
    start,
    to_checks,
    to_target,
    workdir_fixture,
)
from tui.app import ArchfuseApp
from tui.bridge import EventBridge
from tui.messages import ProgressTick
from tui.screens.checks import ChecksScreen
from tui.screens.dialogs import ConfirmDialog, ErrorDialog, HelpScreen
from tui.screens.history import HistoryScreen
from tui.screens.packages import PackagesScreen
from tui.screens.summary import SummaryScreen
from tui.screens.target import TargetScreen
from tui.target_settings import TargetSettings, check_options
from tui.widgets.disk import DiskGauges, gauge, gauge_line
from tui.widgets.matrix import PackageMatrix
from tui.widgets.plan import PlanTable

REDIS = ("bitnami/redis", "7.0.11")


def platforms_of(layout: Path, repository: str, tag: str) -> list[str]:
    manifest = LayoutTarget(layout).get_manifest(repository, tag)
    assert manifest is not None and manifest.is_index
    return sorted(str(p) for p in fusion.index_platforms(manifest.parsed()))


async def test_select_both_arches_run_and_summary_shows_fused_images(workdir: Path) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        matrix = app.screen.query_one(PackageMatrix)
        # newest version of each arch is preselected
        assert sorted(Path(p).name for p in app.state.selected) == [
            "addon-offline-full-package-v0.12.0-amd64.tar.gz",
            "addon-offline-full-package-v0.12.0-arm64.tar.gz",
        ]
        assert {(c.version, c.arch) for c in matrix.cells.values()} == {
            ("v0.11.0", "amd64"), ("v0.11.0", "arm64"), ("v0.12.0", "amd64"), ("v0.12.0", "arm64")
        }
        checks = await to_checks(pilot)
        plan = checks.query_one(PlanTable)
        preflight = app.state.preflight
        assert plan.row_count == len(preflight.plan.images) + len(preflight.charts) > len(preflight.charts)
        assert {r.action for r in plan.rows_all} == {"new"}
        await start(pilot)
        await settle(pilot)
        assert app.state.summary is not None and app.state.summary.status == "done", app.state.summary
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, SummaryScreen)
        assert app.state.verify is not None and app.state.verify.ok
        verify_line = str(app.screen.query_one("#verify").render())
        total = len(app.state.verify.images) + len(app.state.verify.charts)
        assert f"verify: {total}/{total} ok" in verify_line and f"images {len(app.state.verify.images)}/" in verify_line
        # the summary names the run report, which now carries the verification too
        md, js = app.state.summary.reports
        assert md == Path("state/reports") / f"{app.state.summary.run_id}.md" and md.is_file()
        assert f"Report: {md} (and .json)" in str(app.screen.query_one("#result").render())
        assert json.loads(js.read_text())["verify"]["ok"] is True
        assert "## Verification" in md.read_text()
    assert platforms_of(workdir / "layout", *REDIS) == ["linux/amd64", "linux/arm64"]


async def test_arm64_after_amd64_is_planned_as_add_arch_and_keeps_amd64(workdir: Path) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        matrix = app.screen.query_one(PackageMatrix)
        amd64 = next(c.path for c in matrix.cells.values() if c.version == "v0.12.0" and c.arch == "amd64")
        arm64 = next(c.path for c in matrix.cells.values() if c.version == "v0.12.0" and c.arch == "arm64")
        # deselect arm64 with the keyboard: move to its cell and press space
        matrix.move_cursor(row=0, column=3)  # version, arches, amd64, arm64
        await pilot.press("space")
        assert app.state.selected == {amd64}
        await run_through(pilot)
        assert app.state.summary.status == "done", app.state.summary.failures
        # back to packages, choose arm64 only, plan again
        await pilot.press("n")
        await settle(pilot)
        await pilot.press("i")
        await settle(pilot)
        assert isinstance(app.screen, PackagesScreen)
        matrix = app.screen.query_one(PackageMatrix)
        # the journal beside the matrix: amd64 v0.12.0 is in the layout now, the rest is not
        today = time.strftime("%Y-%m-%d")
        cells = {key: str(matrix.render_cell(cell)).split("\n")[1].strip() for key, cell in matrix.cells.items()}
        assert cells == {("v0.12.0", "amd64"): f"imported {today}", ("v0.12.0", "arm64"): "–",
                         ("v0.11.0", "amd64"): "–", ("v0.11.0", "arm64"): "–"}
        matrix.move_cursor(row=0, column=2)
        await pilot.press("space")
        matrix.move_cursor(row=0, column=3)
        await pilot.press("space")
        assert app.state.selected == {arm64}
        checks = await to_checks(pilot)
        actions = {r.action for r in checks.query_one(PlanTable).rows_all if hasattr(r, "platform")}
        assert actions == {"add-arch"}
        # the filter narrows the table by words
        await pilot.press("slash")
        for key in "metrics":
            await pilot.press(key)
        await pilot.pause()
        assert 0 < checks.query_one(PlanTable).row_count < len(checks.query_one(PlanTable).rows_all)
        checks.query_one(PlanTable).focus()
        await start(pilot)
        await settle(pilot)
        assert app.state.summary.status == "done", app.state.summary.failures
    assert platforms_of(workdir / "layout", *REDIS) == ["linux/amd64", "linux/arm64"]


async def test_cancel_asks_first_stops_safely_and_run_again_resumes(workdir: Path) -> None:
    app = make_app(GatedSession)
    async with app.run_test(size=(80, 24)) as pilot:
        await to_checks(pilot)
        session = app.session
        assert isinstance(session, GatedSession)
        session.gate.clear()
        await start(pilot)
        assert session.entered.wait(10)
        # the UI is live while the engine works: help opens and closes
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await pilot.pause()
        # escape asks first; "no" keeps the run going
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("n")
        await pilot.pause()
        assert not app.state.cancel.is_set()
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        assert app.state.cancel.is_set()
        session.gate.set()
        await settle(pilot)
        assert app.state.summary is not None and app.state.summary.status == "cancelled"
        assert LayoutTarget(workdir / "layout").get_manifest(*REDIS) is None  # no tag moved
        # run again: plan again, start, finishes
        await pilot.press("r")
        await settle(pilot)
        assert isinstance(app.screen, ChecksScreen)
        await start(pilot)
        await settle(pilot)
        assert app.state.summary.status == "done", app.state.summary.failures
    assert platforms_of(workdir / "layout", *REDIS) == ["linux/amd64", "linux/arm64"]


async def test_disk_gauges_show_spool_and_layout_disk_from_the_checks_numbers(workdir: Path) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        checks = await to_checks(pilot)
        by_name = {c.name: c for c in app.state.preflight.checks}
        layout = by_name["target disk"].numbers
        assert layout is not None and layout["need"] == app.state.preflight.plan.bytes_to_upload > 0
        assert by_name["spool disk"].numbers["need"] == app.options.spool_budget
        lines = str(checks.query_one(DiskGauges).render()).splitlines()
        assert [line.split()[0:2] for line in lines] == [["spool", "disk"], ["target", "disk"]]
        assert all("free, needs" in line for line in lines)


def test_gauge_shows_used_then_needed_then_free() -> None:
    bar = gauge({"total": 100, "used": 50, "free": 50, "need": 25}, width=20)
    assert str(bar) == "█" * 10 + "▓" * 5 + "░" * 5
    assert str(gauge({"total": 100, "used": 0, "free": 100, "need": 1}, width=10)) == "▓" + "░" * 9
    too_big = gauge_line("target disk", {"total": 100, "used": 90, "free": 10, "need": 50})
    assert str(too_big).endswith("(does not fit)")


async def test_start_is_refused_while_a_check_fails_and_says_why(workdir: Path) -> None:
    (workdir / "notadir").write_text("a file, not a layout")
    app = ArchfuseApp([Path("pk")], state_dir="state", registry="notadir", blink=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await to_checks(pilot)
        assert app.state.preflight is not None and app.state.preflight.failed
        await pilot.press("s")
        await pilot.pause()
        assert isinstance(app.screen, ErrorDialog)
        assert app.screen.message.startswith("Start is refused because a check failed. target:")
        assert "notadir" in app.screen.message and "Traceback" not in app.screen.message
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ChecksScreen)


async def test_errors_show_as_a_dialog_with_the_sentence(workdir: Path) -> None:
    app = ArchfuseApp([Path("missing-dir")], state_dir="state", registry="layout", blink=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, ErrorDialog)
        assert "missing-dir" in app.screen.message and "Traceback" not in app.screen.message
        await pilot.press("enter")
        await pilot.pause()
        # nothing selected: next says what to do
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, ErrorDialog)
        assert "Select at least one package" in app.screen.message


async def test_target_form_masks_the_password_and_tests_the_connection(workdir: Path) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await to_target(pilot)
        assert screen.query_one("#password", Input).password
        await pilot.press("ctrl+t")
        await settle(pilot)
        assert "answers" in str(screen.query_one("#status").render())
        screen.query_one("#registry", Input).value = "registry.example.com"
        await pilot.press("ctrl+t")
        await settle(pilot)
        assert isinstance(app.screen, ErrorDialog)
        assert "https://registry.example.com" in app.screen.message


async def test_command_palette_has_every_action_of_the_screen(workdir: Path) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for command in PackagesScreen.palette():
            assert command.title in titles
        assert {"Help", "History", "Quit"} <= set(titles)
        command = next(c for c in app.get_system_commands(app.screen) if c.title == "Next: target")
        await command.callback()
        await pilot.pause()
        assert isinstance(app.screen, TargetScreen)


async def test_history_screen_opens_from_anywhere(workdir: Path) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await app.run_action("history")
        await settle(pilot)
        assert isinstance(app.screen, HistoryScreen)
        detail = str(app.screen.query_one("#detail").render())
        assert "journal" in detail.lower() or "runs" in detail


class _Sink:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    def post_message(self, message: Any) -> bool:
        self.messages.append(message)
        return True


def test_bridge_coalesces_progress_and_keeps_the_newest() -> None:
    bridge = EventBridge()
    sink = _Sink()
    bridge.listener = sink
    threads = [
        threading.Thread(target=lambda k=k: [bridge(ev.BytesProgress(k * 1000 + i, 10**6)) for i in range(1000)])
        for k in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    bridge(ev.Warning("careful"))
    ticks = [m for m in sink.messages if isinstance(m, ProgressTick)]
    assert len(ticks) == 1  # nobody took the first: no more were posted
    latest = ticks[0].latest()
    assert isinstance(latest, ev.BytesProgress) and latest.bytes_done % 1000 == 999
    bridge(ev.BytesProgress(5, 10))  # taken, so the next progress posts a new tick
    assert len([m for m in sink.messages if isinstance(m, ProgressTick)]) == 2
    assert sink.messages[1].event == ev.Warning("careful").stamped(sink.messages[1].event.at)


async def test_history_lists_the_run_and_rollback_asks_then_puts_tags_back(workdir: Path) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await run_through(pilot)
        assert app.state.summary.status == "done", app.state.summary.failures
        assert LayoutTarget(workdir / "layout").get_manifest(*REDIS) is not None
        await pilot.press("n")
        await settle(pilot)
        await pilot.press("h")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, HistoryScreen)
        assert [r.id for r in screen.runs] == [app.state.summary.run_id]
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("n")  # asked first: no leaves everything
        await settle(pilot)
        assert LayoutTarget(workdir / "layout").get_manifest(*REDIS) is not None
        await pilot.press("ctrl+r")
        await pilot.pause()
        await pilot.press("y")
        await settle(pilot)
        assert [r.kind for r in screen.runs] == ["rollback", "import"]
    assert LayoutTarget(workdir / "layout").get_manifest(*REDIS) is None  # the new tag is gone again


async def test_no_color_turns_colour_off_and_states_stay_in_words(workdir: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await to_checks(pilot)
        assert app.no_color  # textual renders monochrome
        checks_text = app.screen.query_one("#checks").render()
        words = str(checks_text).split()
        assert words[0] == "ok" and "target:" in words
        rows = app.screen.query_one(PlanTable)
        assert str(rows.get_cell("0", "action")) == "new"  # the action is a word, not a colour


@pytest.mark.parametrize(("status", "code"), [(RunStatus.CANCELLED, STOPPED_EXIT), (RunStatus.FAILED, 1)])
async def test_quit_exit_code_after_a_run_says_a_safe_stop_from_a_failure(
    workdir: Path, status: RunStatus, code: int
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.state.summary = RunSummary(run_id="r", status=status, bytes_uploaded=0, seconds=0.0)
        await pilot.press("ctrl+q")
        await pilot.pause()
    assert app.return_value == code


def test_check_options_from_the_form_registry_storage() -> None:
    assert check_options(TargetSettings()).registry_storage is None
    assert check_options(TargetSettings(registry_storage="  ")).registry_storage is None
    assert check_options(TargetSettings(registry_storage=" ~/regdata ")).registry_storage == Path.home() / "regdata"
