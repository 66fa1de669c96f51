"""Replication from the TUI (issue 24): the plan of each hub–site pair, consent, the replication followed
live and stopped on request; against the Harbor API test server (tests/fixtures/harbor.py and
harbor_replication.py), not a running Harbor."""

from __future__ import annotations

from pathlib import Path

from core.config import TargetConfig
from core.operations.replicate import ReplicationOptions
from core.session import open_session
from core.targets.sites import Site
from tests.fixtures.replication_pair import Pair, config_of
from tests.test_replicate import FAST, _differ
from tests.tui_support import make_app, run_through, workdir_fixture  # noqa: F401
from tui.app import ArchfuseApp
from tui.screens.dialogs import ConfirmDialog, ErrorDialog
from tui.screens.replicate import ReplicationScreen
from tui.screens.summary import SummaryScreen
from tui.tour import settle


def sites_of(pair: Pair) -> list[Site]:
    return [Site(f"site{i}", config_of(s)) for i, s in enumerate(pair.sites)]


def hub_app(pair: Pair) -> ArchfuseApp:
    return ArchfuseApp(state_dir=pair.journal.state_dir, blink=False, sites=sites_of(pair))


async def open_replication(app: ArchfuseApp, pair: Pair, pilot: object, options: ReplicationOptions) -> None:
    """The hub's session (as the Target form opens it) and the Replication screen for the pair's run."""
    app.session = open_session(config_of(pair.hub), state_dir=pair.journal.state_dir, emit=app.bridge)
    app.push_screen(ReplicationScreen(app.state.sites, pair.run_id, options))
    await settle(pilot)


async def test_harbor_api_test_server_tui_replication_shows_the_plan_asks_then_follows_live(pair: Pair) -> None:
    app = hub_app(pair)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_replication(app, pair, pilot, FAST)
        assert isinstance(app.screen, ConfirmDialog)  # consent first: nothing changed on the hub yet
        assert pair.writes() == []
        assert "replicate them to site0, site1?" in app.screen.question
        await pilot.press("y")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ReplicationScreen) and screen.summary is not None and screen.summary.ok
        assert "  site site0:" in screen.log_lines and "  site site1:" in screen.log_lines  # the pair checks
        followed = [line for line in screen.log_lines if line.startswith("site site0: execution ")]
        assert followed and followed[-1].endswith(" Succeed, 1 of 1 task(s) done")  # live, as the run log says it
        assert any(line.startswith("site site1: ok") for line in screen.log_lines)
        assert "every site replicated and verified" in str(screen.query_one("#replication-phase").render())
        assert not any(b.binding.key == "s" and b.enabled for b in screen.active_bindings.values())  # done: no s
        assert pair.sites[1].replication.replicated  # the site holds what the import wrote


async def test_harbor_api_test_server_tui_replication_refused_by_a_check_changes_nothing(pair: Pair) -> None:
    _differ(pair)
    app = hub_app(pair)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_replication(app, pair, pilot, FAST)
        screen = app.screen
        assert isinstance(screen, ReplicationScreen)  # no question: a failing check refuses
        assert "Replication refused: harbor version" in str(screen.query_one("#replication-phase").render())
        await pilot.press("s")
        await pilot.pause()
        assert app.screen is screen and pair.writes() == []


async def test_harbor_api_test_server_tui_replication_escape_asks_then_stops_following(pair: Pair) -> None:
    pair.hub.replication.stall_tasks = True
    app = hub_app(pair)
    async with app.run_test(size=(80, 24)) as pilot:
        # the execution runs on and the follower waits long between looks: only the cancel ends that wait
        await open_replication(app, pair, pilot, ReplicationOptions(poll=600.0, poll_max=600.0))
        await pilot.press("y")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ReplicationScreen) and screen.running
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("y")
        await settle(pilot)
        assert app.screen is screen and not screen.running and screen.summary is None
        assert "The replication stopped." in str(screen.query_one("#replication-phase").render())
        assert any("Stopped following the replication" in line for line in screen.log_lines)
        await pilot.press("escape")  # over: escape goes back
        await pilot.pause()
        assert not isinstance(app.screen, ReplicationScreen)


async def test_summary_offers_replication_only_with_further_sites(workdir: Path) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await run_through(pilot)
        await pilot.press("n")
        await settle(pilot)
        summary = app.screen
        assert isinstance(summary, SummaryScreen)

        def offered() -> bool:
            return any(b.binding.key == "p" and b.enabled for b in summary.active_bindings.values())

        assert not offered()
        await pilot.press("p")
        await settle(pilot)
        assert app.screen is summary
        app.state.sites = [Site("east", TargetConfig(registry_url="http://127.0.0.1:9", insecure=True))]
        summary.refresh_bindings()
        await pilot.pause()
        assert offered()
        await pilot.press("p")
        await settle(pilot)
        # the layout is no Harbor hub: the plan says so as a sentence
        assert isinstance(app.screen, ErrorDialog), app.screen
