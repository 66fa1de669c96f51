"""The TUI's "free space": from History, the bytes freed per version and arch, the plan, consent,
progress and the summary, through the session (an OCI layout target in tmp)."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import DataTable, Static

from core.targets.layout import LayoutTarget
from tests.cli_driver import archfuse
from tests.tui_support import make_app, settle, workdir_fixture  # noqa: F401 - fixture
from tui.screens.dialogs import ConfirmDialog
from tui.screens.history import HistoryScreen
from tui.screens.prune import PruneScreen

DROPPED = ("ingress-nginx/controller", "v1.8.1")  # only v0.11.0 has it
KEPT = ("ingress-nginx/controller", "v1.9.0")


def _import_both_versions(workdir: Path) -> None:
    for version in ("v0.11.0", "v0.12.0"):
        done = archfuse("import", *sorted((workdir / "pk").glob(f"*-{version}-*.tar.gz")), "--registry", workdir / "layout",
                        "--yes", state_dir=workdir / "state")
        assert done.code == 0, done.err


async def test_free_space_from_history_plans_asks_then_prunes(workdir: Path) -> None:
    _import_both_versions(workdir)
    layout = LayoutTarget(workdir / "layout")
    assert layout.get_manifest(*DROPPED) is not None
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.action_history()
        await settle(pilot)
        assert isinstance(app.screen, HistoryScreen)
        await pilot.press("f")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, PruneScreen) and screen.plan is not None
        assert screen.plan.empty and screen.keep == 2  # two versions, two kept
        await pilot.press("minus")
        await settle(pilot)
        plan = screen.plan
        assert plan is not None and plan.dropped == ["v0.11.0"] and not plan.empty
        table = screen.query_one("#freed", DataTable)
        assert table.row_count == len(plan.freed_by_version()) > 1  # per version and platform
        assert {p for _, p in plan.freed_by_version()} >= {"linux/amd64", "linux/arm64"}
        await pilot.press("p")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("n")  # no: nothing changes
        await settle(pilot)
        assert layout.get_manifest(*DROPPED) is not None
        await pilot.press("p")
        await pilot.pause()
        await pilot.press("y")
        await settle(pilot)
        assert not screen.running
        status = str(screen.query_one("#prune-status", Static).render())
        assert "done" in status
        assert "removed the blobs no tag uses" in str(screen.query_one("#prune-plan", Static).render())
    assert layout.get_manifest(*DROPPED) is None and layout.get_manifest(*KEPT) is not None
