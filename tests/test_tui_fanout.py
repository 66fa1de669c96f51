"""Checks and Run with further sites (issue 24): the hub (the form's target) and every further site
checked at once, a site x check table, then one Start importing into every site."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.widgets import Static

from core.api import Preflight, RunSummary, Secret
from core.api import events as ev
from core.config import TargetConfig
from core.errors import TargetError
from core.session import Session
from core.targets.sites import Site
from tests.fixtures.registry import RegistryServer, skopeo_inspect_raw
from tests.tui_support import make_app, start, to_checks, workdir_fixture  # noqa: F401
from tui.screens.checks import ChecksScreen
from tui.screens.dialogs import ConfirmDialog, ErrorDialog
from tui.screens.run import RunScreen
from tui.screens.summary import SummaryScreen
from tui.tour import settle
from tui.widgets.siteprogress import SiteProgress, SiteTally


async def test_checks_show_every_site_and_start_imports_into_each_registry(
    workdir: Path, registry_factory: Callable[..., RegistryServer]
) -> None:
    servers = [registry_factory(), registry_factory()]
    sites = [Site(name, TargetConfig(registry_url=s.url, insecure=True)) for name, s in zip(("east", "west"), servers)]
    app = make_app(sites=sites)
    async with app.run_test(size=(80, 24)) as pilot:
        checks = await to_checks(pilot)
        table = str(checks.query_one("#site-checks", Static).render()).split("\n")
        assert table[0].split()[:4] == ["check", "layout", "east", "west"]
        assert any(line.startswith("ok at every site: ") for line in table[1:])
        assert [line.split(":")[0] for line in table[-3:]] == ["layout", "east", "west"]
        assert len(app.state.site_preflights) == 2 and not any(p.failed for p in app.state.site_preflights)
        assert checks.query_one("#site-checks").region.bottom <= 23  # on screen at 80×24
        await pilot.press("s")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        assert "east (" in app.screen.question and "west (" in app.screen.question
        await pilot.press("y")
        await pilot.pause()
        assert isinstance(app.screen, RunScreen)
        await settle(pilot)
        run = app.screen
        lines = str(run.query_one(SiteProgress).render()).split("\n")
        assert [line.split(",")[0] for line in lines] == ["site east: done", "site west: done"]
        assert app.state.exit_code == 0
        for server, preflight in zip(servers, app.state.site_preflights):
            assert preflight.plan is not None and preflight.plan.images
            for image in preflight.plan.images:
                assert image.destination.startswith(server.host)
                manifest = skopeo_inspect_raw(image.destination, server)
                assert manifest["schemaVersion"] == 2
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, SummaryScreen)
        result = str(app.screen.query_one("#result", Static).render())
        assert "site east: done" in result and "site west: done" in result


async def test_a_failed_check_at_a_further_site_refuses_start(
    workdir: Path, registry_factory: Callable[..., RegistryServer]
) -> None:
    """A site that refuses anonymous pushes (htpasswd, no credentials given): its check fails."""
    locked = registry_factory(auth="htpasswd")
    dead = Site("dead", TargetConfig(registry_url=locked.url, insecure=True))
    east = Site("east", TargetConfig(registry_url=registry_factory().url, insecure=True))
    app = make_app(sites=[east, dead])
    async with app.run_test(size=(80, 24)) as pilot:
        checks = await to_checks(pilot)
        assert isinstance(checks, ChecksScreen)
        assert app.state.preflight is not None and not app.state.preflight.failed
        assert app.state.site_preflights[1].failed
        await pilot.press("s")
        await pilot.pause()
        assert isinstance(app.screen, ErrorDialog)
        assert "check failed at site dead" in app.screen.message


class WestFails(Session):
    """Site west's run stops with a target error before it writes (its checks passed)."""

    def run(self, preflight: Preflight, **kwargs: Any) -> RunSummary:
        if (self.config.registry_url or "").endswith(WEST_PORT[0]):
            raise TargetError("west refused the run: say so and carry on with the others.")
        return super().run(preflight, **kwargs)


WEST_PORT: list[str] = []


async def test_a_site_that_fails_does_not_fail_the_others_and_the_exit_code_is_1(
    workdir: Path, registry_factory: Callable[..., RegistryServer]
) -> None:
    east, west = registry_factory(), registry_factory()
    WEST_PORT[:] = [west.url.rsplit(":", 1)[1]]
    sites = [Site("east", TargetConfig(registry_url=east.url, insecure=True)),
             Site("west", TargetConfig(registry_url=west.url, insecure=True))]
    app = make_app(WestFails, sites=sites)
    async with app.run_test(size=(80, 24)) as pilot:
        await to_checks(pilot)
        await start(pilot)
        await settle(pilot)
        assert not isinstance(app.screen, ErrorDialog), app.screen.message  # type: ignore[attr-defined]
        lines = str(app.screen.query_one(SiteProgress).render()).split("\n")
        assert lines[0].startswith("site east: done")
        assert lines[1].startswith("site west: failed") and "west refused the run" in lines[1]
        assert app.state.summary is not None and app.state.summary.exit_code == 0  # the hub is done
        assert app.state.exit_code == 1
        image = app.state.site_preflights[0].plan.images[0]  # type: ignore[union-attr]
        assert skopeo_inspect_raw(image.destination, east)["schemaVersion"] == 2


async def test_harbor_api_test_server_spaces_missing_at_a_further_site_are_created_after_asking(
    workdir: Path, harbor_factory: Callable[..., Any], registry: RegistryServer
) -> None:
    """The hub (a layout) lacks nothing; the further site, a Harbor, lacks its projects: `c` names the
    site in its question and, agreed to, creates them there, then every check passes."""
    harbor = harbor_factory(upstream=registry.url, upstream_storage=registry.storage)
    site = Site("harbor", TargetConfig(registry_url=harbor.url, insecure=True, username="admin",
                                       password=Secret("Harbor12345")))
    app = make_app(sites=[site])
    async with app.run_test(size=(80, 24)) as pilot:
        checks = await to_checks(pilot)
        assert isinstance(checks, ChecksScreen)
        assert app.state.preflight is not None and not app.state.preflight.failed
        failing = [c for c in app.state.site_preflights[0].failures if c.name == "registry spaces"]
        assert failing and failing[0].items
        missing = set(failing[0].items)
        assert not missing & set(harbor.projects)
        await pilot.press("c")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        assert "on site harbor: " in app.screen.question and all(s in app.screen.question for s in missing)
        await pilot.press("y")
        await settle(pilot)
        assert not app.state.site_preflights[0].failed, app.state.site_preflights[0].failures
        assert missing <= set(harbor.projects)


def test_a_further_sites_line_says_its_stall_and_retries_until_bytes_move_again() -> None:
    """Frozen in the walk: the hub's line said it waited for the hub while site west held the read.
    The site's own line says what its run waits for, and forgets it once bytes move."""
    tally = SiteTally("west")
    tally(ev.RunStarted("r1", "http://127.0.0.1:5056", ("p",), 2, 0, 100))
    tally(ev.BytesProgress(40, 100))
    tally(ev.Stalled(5.0, "2 requests to http://127.0.0.1:5056 open"))
    assert tally.line() == ("site west: running, 0 images done, 40 Bytes of 100 Bytes uploaded; "
                            "no progress for 5 s — 2 requests to http://127.0.0.1:5056 open")
    tally(ev.Retrying("127.0.0.1:5056", "an upload", "connection failed", 3, 0.0, 1.0))
    assert "; retrying 127.0.0.1:5056: connection failed, try 3; waiting for it until " in tally.line()
    tally(ev.BytesProgress(60, 100))
    assert tally.line() == "site west: running, 0 images done, 60 Bytes of 100 Bytes uploaded"
