"""The Target form's further sites (issue 24): added by hand with their own credentials, or loaded from
a sites file; the first target stays the form's (single-target flows as before)."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input

from core.config import TargetConfig
from core.targets.sites import Site
from tests.fixtures.registry import RegistryServer
from tests.tui_support import make_app, run_through, to_target, workdir_fixture  # noqa: F401
from tui.screens.dialogs import ErrorDialog
from tui.screens.sites import SitesScreen
from tui.screens.summary import SummaryScreen
from tui.tour import settle
from tui.widgets.sitematrix import FAULTS_SHOWN, SiteMatrix


async def test_sites_screen_adds_a_site_with_its_own_credentials_and_loads_a_sites_file(
    workdir: Path, registry: RegistryServer
) -> None:
    (workdir / "pw").write_text("s3cret-file\n")
    (workdir / "sites.yaml").write_text(
        f"sites:\n  - name: west\n    registry: {registry.url}\n    username: carol\n    password_file: pw\n"
        "    insecure: true\n"
    )
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        target = await to_target(pilot)
        await pilot.press("ctrl+o")
        await pilot.pause()
        sites = app.screen
        assert isinstance(sites, SitesScreen)
        await pilot.press("ctrl+n")  # nothing typed: said, nothing added
        await pilot.pause()
        assert isinstance(app.screen, ErrorDialog) and app.state.sites == []
        await pilot.press("escape")
        await pilot.pause()
        for field_id, text in (("site_name", "east"), ("site_registry", registry.url),
                               ("site_username", "bob"), ("site_password", "s3cret-typed")):
            sites.query_one(f"#{field_id}", Input).value = text
        sites.query_one("#site_insecure").value = True  # type: ignore[attr-defined]
        await pilot.press("ctrl+n")
        await pilot.pause()
        [east] = app.state.sites
        assert (east.name, east.config.registry_url, east.config.username) == ("east", registry.url, "bob")
        assert east.config.password is not None and east.config.password.reveal() == "s3cret-typed"
        assert sites.query_one("#site_password", Input).value == ""  # the password leaves the screen
        remembered = app.recall_form(east.config.description)  # the site's form kept as the target's is
        assert remembered["username"] == "bob" and "s3cret" not in repr(remembered)
        sites.query_one("#sites_file", Input).value = "sites.yaml"
        await pilot.press("ctrl+l")
        await settle(pilot)
        assert [s.name for s in app.state.sites] == ["west", "east"]
        west = app.state.sites[0]
        assert west.config.username == "carol" and west.config.password is not None
        assert west.config.password.reveal() == "s3cret-file"
        assert "2 further site(s)" in str(sites.query_one("#sites-status").render())
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is target and app.state.settings.sites_file == "sites.yaml"
        assert target.query_one("#registry", Input).value == "layout"  # the first target as it was


async def test_sites_screen_says_which_sites_file_is_wrong(workdir: Path) -> None:
    (workdir / "sites.yaml").write_text("sites: []\n")
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await to_target(pilot)
        await pilot.press("ctrl+o")
        await pilot.pause()
        sites = app.screen
        assert isinstance(sites, SitesScreen)
        sites.query_one("#sites_file", Input).value = "sites.yaml"
        await pilot.press("ctrl+l")
        await settle(pilot)
        assert isinstance(app.screen, ErrorDialog)
        assert "sites.yaml: sites must be a list of sites" in app.screen.message
        assert app.state.sites == []


async def test_summary_verifies_across_the_sites_a_count_line_each_and_the_failing_cells(
    workdir: Path, registry: RegistryServer
) -> None:
    """The form's target (the layout the run imported into) and an empty real registry as a further site,
    added after the run (a run with further sites imports into them too)."""
    east = Site("east", TargetConfig(registry_url=registry.url, insecure=True))
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await run_through(pilot)
        app.state.sites = [east]
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, SummaryScreen)
        findings = app.screen.findings
        assert findings is not None and findings.sites is not None
        report = findings.sites
        cells = len([c for c in report.cells if c.site == "east"])
        assert report.sites == ["layout", "east"] and cells > 0
        text = str(app.screen.query_one(SiteMatrix).render())
        lines = text.split("\n")
        assert lines[0] == f"site layout: {cells}/{cells} ok"
        charts = len([c for c in report.cells if c.site == "east" and c.platform == "chart"])
        assert lines[1] == f"site east: 0/{cells} ok (missing-chart {charts}, missing-tag {cells - charts})"
        assert lines[2].startswith("  [missing-tag] east: ")
        assert lines[-1] == f"  … {cells - FAULTS_SHOWN} more failing cell(s) in the run report"
        assert app.screen.query_one(SiteMatrix).region.bottom <= 23  # on screen at 80×24, above the footer
