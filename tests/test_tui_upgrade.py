"""The guided upgrade in the TUI: default selection by arch coverage, no stale state, every
decision the CLI can make (force charts, go past an ignorable failed check) and the history.

Against the real engine: an OCI layout in tmp, or the real registry (CNCF distribution on
loopback) where a registry is involved.
"""

from __future__ import annotations

import shutil
import socket
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input, Static

from core.charts.oci import OciChartDestination
from core.charts.repack import repack
from core.checks.preflight import Check, Preflight
from core.kinds import CheckKind, CheckStatus, ImageAction
from core.session import Session
from core.targets.registry import RegistryTarget
from tests.fixtures.registry import RegistryServer, skopeo_inspect_raw
from tests.test_import_charts import pull_chart
from tests.tui_support import make_app, run_through, settle, start, to_checks, to_target, workdir_fixture  # noqa: F401 - fixture
from tui import cli
from tui.format import reference
from tui.screens.checks import ChecksScreen
from tui.screens.dialogs import ConfirmDialog, ErrorDialog, HelpScreen
from tui.screens.history import HistoryScreen, RunDetailScreen
from tui.screens.packages import PickDirectory
from tui.screens.run import RunScreen
from tui.screens.target import TargetScreen
from tui.target_settings import TargetSettings
from tui.widgets.matrix import PackageMatrix
from tui.widgets.plan import PlanTable
from tui.widgets.tickbox import TickBox

NAME = "addon-offline-full-package-{}-{}.tar.gz"


def copy_packages(workdir: Path, where: str, *which: tuple[str, str]) -> Path:
    """A directory holding some of the demo packages (with their .sha512sum sidecars)."""
    folder = workdir / where
    folder.mkdir()
    for version, arch in which:
        for file in (workdir / "pk").glob(NAME.format(version, arch) + "*"):
            shutil.copy(file, folder / file.name)
    return folder


def selected(app: Any) -> set[tuple[str, str]]:
    return {(p.version, p.arch) for p in app.state.chosen}


def status_text(app: Any) -> str:
    """The Packages screen's status and note lines."""
    return " ".join(str(app.screen.query_one(f"#{line}", Static).render()) for line in ("status", "note"))


async def type_paths(pilot: Any, text: str) -> None:
    """Replace the Packages path field and press Enter (scan)."""
    field = pilot.app.screen.query_one("#paths", Input)
    field.value = ""
    field.focus()
    await pilot.pause()
    await pilot.press(*text, "enter")
    await settle(pilot)


# -- item 8: the guided upgrade -----------------------------------------------------------


async def test_default_selection_is_the_newest_version_with_every_arch_and_says_why(workdir: Path) -> None:
    copy_packages(workdir, "upgrade", ("v0.11.0", "amd64"), ("v0.11.0", "arm64"), ("v0.12.0", "amd64"))
    app = make_app()
    app.state.paths = [Path("upgrade")]
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert selected(app) == {("v0.11.0", "amd64"), ("v0.11.0", "arm64")}
        status = status_text(app)
        assert "v0.11.0, the newest version with every arch" in status and "v0.12.0 has no arm64" in status
        matrix = app.screen.query_one(PackageMatrix)
        assert str(matrix.get_cell("v0.12.0", "coverage")) == "no arm64"
        assert str(matrix.get_cell("v0.11.0", "coverage")) == "all 2"
        assert str(matrix.get_cell("v0.12.0", "arm64")).startswith("- none")


async def test_every_arch_of_the_newest_version_is_the_default_when_it_has_them_all(workdir: Path) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert selected(app) == {("v0.12.0", "amd64"), ("v0.12.0", "arm64")}
        assert "Selected v0.12.0 for every arch (amd64, arm64)." in status_text(app)


async def test_unreadable_package_is_listed_with_its_reason_and_the_others_stay_selectable(workdir: Path) -> None:
    (workdir / "pk" / NAME.format("v0.13.0", "amd64")).write_bytes(b"not a gzip archive at all")
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        matrix = app.screen.query_one(PackageMatrix)
        broken = matrix.cells[("v0.13.0", "amd64")]
        assert broken.problem and str(matrix.get_cell("v0.13.0", "amd64")) == "UNREADABLE"
        assert "1 package cannot be read" in status_text(app) and NAME.format("v0.13.0", "amd64") in status_text(app)
        assert len(app.state.packages) == 4  # the others were scanned
        assert selected(app) == {("v0.12.0", "amd64"), ("v0.12.0", "arm64")}  # v0.13.0 is not complete
        matrix.focus()
        matrix.cursor_coordinate = matrix.cursor_coordinate._replace(row=0, column=2)  # v0.13.0 amd64
        await pilot.press("space")
        await pilot.pause()
        assert isinstance(app.screen, ErrorDialog) and "cannot be selected" in app.screen.message
        await pilot.press("escape")
        await pilot.press("a")  # all: every readable package
        assert len(app.state.selected) == 4 and broken.path not in app.state.selected


async def test_archfuse_dir_opens_the_tui_on_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    opened: list[Any] = []
    monkeypatch.setattr("tui.app.run_app", lambda **kwargs: opened.append(kwargs) or 0)
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)  # at a terminal, as an engineer is
    monkeypatch.setattr("sys.stdout.isatty", lambda: True)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "some" / "dir").mkdir(parents=True)
    assert cli.main(["some/dir", "--state-dir", "st"]) == 0
    assert opened == [{"paths": [Path("some/dir")], "state_dir": "st"}]


async def test_browse_key_does_not_type_into_the_path_field_and_the_picker_goes_up(workdir: Path) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        field = app.screen.query_one("#paths", Input)
        field.focus()
        await pilot.pause()
        await pilot.press("ctrl+o")
        await pilot.pause()
        assert field.value == "pk"
        picker = app.screen
        assert isinstance(picker, PickDirectory) and picker.root == (workdir / "pk").resolve()
        await pilot.press("backspace")
        await pilot.pause()
        assert picker.root == workdir.resolve()
        await pilot.press("escape")


async def test_help_lists_the_screen_keys_first_and_checkboxes_read_without_colour(workdir: Path) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        keys = str(app.screen.query_one("#screen-keys", Static).render()).splitlines()
        assert keys[0] == "Keys on 1/5 Packages" and any(line.split()[0] == "Ctrl+O" for line in keys[1:])
        assert app.screen.query_one("#screen-keys").region.bottom < 20  # above the fold at 80x24
        await pilot.press("escape", "n")
        await pilot.pause()
        box = app.screen.query_one(TickBox)
        assert str(box.render()).startswith("[ ] Insecure")
        box.value = True
        assert str(box.render()).startswith("[x] Insecure")


# -- item 6: no stale state ---------------------------------------------------------------


async def test_failed_scan_of_another_directory_clears_the_matrix_and_next_plans_nothing(workdir: Path) -> None:
    (workdir / "empty").mkdir()
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert len(app.state.packages) == 4
        await type_paths(pilot, "empty")
        assert isinstance(app.screen, ErrorDialog) and "empty" in app.screen.message
        await pilot.press("escape")
        await pilot.pause()
        assert app.state.packages == [] and app.state.selected == set()
        assert app.screen.query_one(PackageMatrix).cells == {}
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, ErrorDialog) and "Select at least one package" in app.screen.message


async def test_back_after_a_run_plans_again_and_start_never_runs_the_old_plan(workdir: Path) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await to_checks(pilot)
        old = app.state.preflight
        assert {i.action for i in old.plan.images} == {ImageAction.NEW}
        await start(pilot)
        await settle(pilot)
        assert app.state.summary.status == "done"
        assert isinstance(app.screen, RunScreen)
        await pilot.press("escape")  # back to the plan
        await settle(pilot)
        assert isinstance(app.screen, ChecksScreen)
        new = app.state.preflight
        assert new is not old and app.state.plan_is_current
        assert {i.action for i in new.plan.images} == {ImageAction.UNCHANGED}
        assert new.plan.bytes_to_upload == 0


async def test_start_refuses_a_plan_made_before_the_last_run_and_plans_again(workdir: Path) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        checks = await to_checks(pilot)
        old = app.state.preflight
        app.state.runs_started += 1  # a run started since this plan was made (as from the Run screen)
        await pilot.press("s")
        await pilot.pause()
        assert isinstance(app.screen, ErrorDialog) and "older than the last run" in app.screen.message
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is checks and app.state.preflight is not old and app.state.plan_is_current


# -- item 7: every decision the CLI can make ----------------------------------------------


async def test_tui_force_charts_overwrites_a_conflicting_chart_after_asking(
    workdir: Path, registry: RegistryServer
) -> None:
    app = make_app()
    app.state.settings = TargetSettings(registry=registry.url, insecure=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await run_through(pilot)
        assert app.state.summary.status == "done"
        # someone pushes other content under a chart version the run pushed
        files = pull_chart(registry, "addon/metrics-server", "3.8.3")
        files["values.yaml"] += b"# edited by hand\n"
        OciChartDestination(RegistryTarget(registry.client(), registry.url)).push(
            "metrics-server", "3.8.3", repack("metrics-server", files), repo="addon", force=True
        )
        await pilot.press("escape")  # back to Checks: planned again, the conflict shows
        await settle(pilot)
        checks = app.screen
        assert isinstance(checks, ChecksScreen)
        warning = next(c for c in app.state.preflight.checks if c.name == "charts")
        shown = str(checks.query_one("#checks", Static).render())
        assert warning.status == "warn" and shown.startswith("warn charts:")  # warnings first
        assert "press f on Checks" in shown and "--force-charts" not in shown  # the TUI's words
        assert "f overwrites the chart conflicts" in str(checks.query_one("#totals", Static).render())
        await pilot.press("f")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog) and "metrics-server-3.8.3" in app.screen.question
        await pilot.press("y")
        await settle(pilot)
        assert app.state.settings.force_charts
        assert [c.action for c in app.state.preflight.charts if c.name == "metrics-server"] == ["overwritten"]
        await start(pilot)
        await settle(pilot)
        assert app.state.summary.status == "done"
    assert not pull_chart(registry, "addon/metrics-server", "3.8.3")["values.yaml"].endswith(b"# edited by hand\n")


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_tui_goes_past_a_failed_chart_destination_check_after_asking(
    workdir: Path, registry: RegistryServer
) -> None:
    app = make_app()
    app.state.settings = TargetSettings(
        registry=registry.url, insecure=True, chart_repo=f"http://127.0.0.1:{closed_port()}",
        chart_repo_type="chartmuseum", retry_for="2s",  # the check's tries end in 2 s, not in 30 s
    )
    async with app.run_test(size=(80, 24)) as pilot:
        checks = await to_checks(pilot)
        failed = app.state.preflight.failures
        assert [c.name for c in failed] == ["chart destination"] and CheckKind.CHART_DESTINATION.ignorable
        await pilot.press("s")
        await pilot.pause()
        assert isinstance(app.screen, ErrorDialog) and "Press i to go past it" in app.screen.message
        await pilot.press("escape")
        await pilot.press("i")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog) and "chart destination" in app.screen.question
        await pilot.press("y")
        await settle(pilot)
        assert app.screen is checks and not app.state.preflight.failed
        check = next(c for c in app.state.preflight.checks if c.name == "chart destination")
        assert check.status == "warn"
        assert "i (ignore) on Checks" in str(checks.query_one("#checks", Static).render())
        await start(pilot)
        await settle(pilot)
        assert app.state.summary.status == "done", app.state.summary.failures
        destination = app.state.preflight.plan.images[0].destination
    assert skopeo_inspect_raw(destination, registry)["schemaVersion"] == 2


async def test_target_form_errors_are_worded_for_the_form(workdir: Path, registry: RegistryServer) -> None:
    app = make_app()
    app.state.settings = TargetSettings(registry=registry.url)  # plain HTTP, Insecure not ticked
    async with app.run_test(size=(80, 24)) as pilot:
        await to_target(pilot)
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert isinstance(app.screen, ErrorDialog)
        assert "tick Insecure on the Target screen" in app.screen.message and "--insecure" not in app.screen.message


async def test_spool_budget_field_reaches_the_spool_check(workdir: Path) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, TargetScreen)
        app.screen.query_one("#spool_budget", Input).value = "64MiB"
        app.screen.query_one("#spool_dir", Input).value = "spool"
        (workdir / "spool").mkdir()
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert app.options.spool_budget == 64 << 20 and app.options.spool_dir == Path("spool")
        spool = next(c for c in app.state.preflight.checks if c.name == "spool disk")
        assert spool.detail.startswith("spool:") and "64.0 MiB" in spool.detail
        await pilot.press("escape")
        await pilot.pause()
        app.screen.query_one("#spool_budget", Input).value = "lots"
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert isinstance(app.screen, ErrorDialog) and "spool budget" in app.screen.message


# -- history ------------------------------------------------------------------------------


async def test_history_shows_arches_opens_a_run_and_counts_one_run(workdir: Path) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await run_through(pilot)
        run_id = app.state.summary.run_id
        await app.run_action("history")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, HistoryScreen)
        table = screen.query_one("#runs")
        assert str(table.get_cell(run_id, "arches")) == "amd64,arm64"
        assert str(screen.query_one("#detail", Static).render()).startswith("1 run.")
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, RunDetailScreen)
        text = app.screen.text
        assert f"Run {run_id}: import, done" in text and "v0.12.0 arm64" in text
        assert "Tags moved (" in text and "bitnami/redis:7.0.11  created -> sha256:" in text
        assert "Charts (4):" in text and f"Report: state/reports/{run_id}.md" in text.replace(str(workdir) + "/", "")


async def test_rollback_says_first_when_nothing_can_be_undone(workdir: Path, registry: RegistryServer) -> None:
    app = make_app()
    app.state.settings = TargetSettings(registry=registry.url, insecure=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await run_through(pilot)
        await app.run_action("history")
        await settle(pilot)
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert isinstance(app.screen, ErrorDialog)  # said, not asked
        assert app.screen.message.startswith("Nothing can be undone") and "created every tag" in app.screen.message


# -- item 4: readable at 80 columns ---------------------------------------------------------


def test_reference_is_shortened_in_the_middle_keeping_the_tag() -> None:
    one, two = (reference("ingress-nginx/controller", tag, 24) for tag in ("v1.8.1", "v1.9.0"))
    assert (one, two) == ("ingre…/controller:v1.8.1", "ingre…/controller:v1.9.0")
    assert reference("bitnami/redis", "7.0.11", 24) == "bitnami/redis:7.0.11"
    assert len(reference("a" * 60, "v1", 20)) == 20


async def test_plan_rows_keep_image_action_and_arch_in_view_at_80_columns(workdir: Path) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        checks = await to_checks(pilot)
        table = checks.query_one(PlanTable)
        assert [c.key.value for c in table.ordered_columns][:3] == ["image", "action", "platform"]
        assert sum(c.get_render_width(table) for c in table.ordered_columns) <= table.size.width
        images = {str(table.get_cell(str(i), "image")) for i in range(table.row_count)}
        assert "ingress-nginx/controller:v1.9.0" in images  # whole: the other columns are as wide as their words


class CoverageSession(Session):
    """The real session, plus an arch-coverage warning shaped as the engine's (its items are the
    tags left without arm64), so a snapshot needs no earlier run."""

    def preflight(self, packages: Any, **kwargs: Any) -> Preflight:
        result = super().preflight(packages, **kwargs)
        if ("v0.12.0", "arm64") not in {(p.version, p.arch) for p in packages}:
            result.checks.insert(0, Check(CheckKind.ARCH_COVERAGE, CheckStatus.WARN,
                                          "1 tag(s) in 1 repository will not serve linux/arm64, which other tags of "
                                          "the same repository serve: arm64 nodes cannot pull them.",
                                          items=("ingress-nginx/controller:v1.9.0",)))
        return result


async def test_arch_coverage_warning_shows_its_fix_and_p_selects_the_filling_package(workdir: Path) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        matrix = app.screen.query_one(PackageMatrix)
        await pilot.press("a", "a")  # all, then none
        for column in (2, 3):  # v0.11.0 amd64 and arm64
            matrix.move_cursor(row=1, column=column)
            await pilot.press("space")
        assert selected(app) == {("v0.11.0", "amd64"), ("v0.11.0", "arm64")}
        await run_through(pilot)
        assert app.state.summary.status == "done"
        await pilot.press("escape", "escape", "escape")  # Run → Checks → Target → Packages
        await settle(pilot)
        matrix = app.screen.query_one(PackageMatrix)
        await pilot.press("a", "a")
        matrix.move_cursor(row=0, column=2)  # the upgrade: v0.12.0 amd64 only
        await pilot.press("space")
        assert selected(app) == {("v0.12.0", "amd64")}
        checks = await to_checks(pilot)
        warning = next(c for c in app.state.preflight.checks if c.kind == CheckKind.ARCH_COVERAGE)  # the engine's
        assert warning.status == CheckStatus.WARN
        shown = str(checks.query_one("#checks", Static).render())
        assert shown.startswith("warn arch coverage:") and "Press p to select v0.12.0 arm64 here." in shown
        await pilot.press("p")
        await settle(pilot)
        assert selected(app) == {("v0.12.0", "amd64"), ("v0.12.0", "arm64")}
        assert CheckKind.ARCH_COVERAGE not in {c.kind for c in app.state.preflight.checks if c.status != "ok"}
