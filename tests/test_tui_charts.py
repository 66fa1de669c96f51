"""The chart checklist between Packages and Target: filter, take or leave charts, and the plan takes those."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import DataTable, Static

from core.api import Workspace
from core.package.listing import package_diff
from tests.tui_support import make_app, settle, to_checks, workdir_fixture  # noqa: F401 - fixture
from tui.cli import main
from tui.screens.charts import ChartsScreen
from tui.screens.checks import ChecksScreen
from tui.screens.target import TargetScreen


async def test_the_chart_checklist_takes_the_charts_checked_into_the_plan(workdir: Path) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("c")  # the checklist opens from Packages, its charts read at once
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ChartsScreen)
        table = screen.query_one("#charts", DataTable)
        assert screen.shown == ["cert-manager", "ingress-nginx", "metrics-server", "redis"]
        assert [str(c.label) for c in table.ordered_columns][-3:] == ["AMD64", "ARM64", "TARGET HOLDS"]
        assert "4 of 4 charts taken" in str(screen.query_one("#status", Static).render())
        await pilot.press("a")  # none
        assert screen.taken == set()
        await pilot.press("slash", *"redis", "enter")  # filter, then back to the list
        assert screen.shown == ["redis"]
        await pilot.press("space")
        assert screen.taken == {"redis"}
        await pilot.press("slash", *["backspace"] * 5, "enter")
        assert len(screen.shown) == 4 and "1 of 4 charts taken" in str(screen.query_one("#status", Static).render())
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, TargetScreen)
        assert {c.name for p in app.state.chosen for c in p.charts} == {"redis"}
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert isinstance(app.screen, ChecksScreen)
        plan = app.state.preflight.plan if app.state.preflight else None
        assert plan is not None
        assert {i.ref for i in plan.images} == {"docker.io/bitnami/redis:7.0.11", "docker.io/bitnami/redis-exporter:1.50.0"}


async def test_the_checks_of_an_upgrade_say_what_it_changes(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = sorted(str(p) for p in (workdir / "pk").glob("*v0.11.0*.tar.gz"))
    assert main(["import", *old, "--registry", "layout", "--yes", "--json", "--state-dir", "state"]) == 0
    capsys.readouterr()
    workspace = Workspace(state_dir="state")
    packages = workspace.scan([Path("pk")])
    new = [p for p in packages if p.version == "v0.12.0"]
    expected = package_diff([p for p in packages if p.version == "v0.11.0"], new)
    assert expected.charts and expected.bytes
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await to_checks(pilot)
        totals = str(app.screen.query_one("#totals", Static).render())
        assert f"Upgrade: {expected.summary()}." in totals.replace("\n", " ")
        assert "\\n" not in totals  # a line of its own, not an escaped newline
