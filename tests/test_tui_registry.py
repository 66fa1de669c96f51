"""Pilot flows of the TUI against the real registry and the Harbor test server (built from Harbor's swagger)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from textual.widgets import Select

from tests.fixtures.harbor import HarborTestServer
from tests.fixtures.registry import RegistryServer, skopeo_inspect_raw
from tests.tui_support import (  # noqa: F401 - fixtures
    bytes_read_fixture,
    make_app,
    settle,
    start,
    to_checks,
    to_target,
    workdir_fixture,
)
from tui.screens.checks import ChecksScreen
from tui.screens.dialogs import ConfirmDialog, ErrorDialog
from tui.screens.summary import SummaryScreen
from tui.screens.target import TargetScreen
from tui.target_settings import TargetSettings
from tui.widgets.disk import DiskGauges
from tui.widgets.matrix import PackageMatrix

DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"


async def test_select_amd64_and_arm64_into_the_real_registry_fuses_every_image(
    workdir: Path, registry: RegistryServer
) -> None:
    app = make_app()
    app.state.settings = TargetSettings(registry=registry.url, insecure=True)  # plain HTTP: insecure in the form
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        matrix = app.screen.query_one(PackageMatrix)
        assert {(c.version, c.arch) for c in matrix.cells.values() if c.path in app.state.selected} == {
            ("v0.12.0", "amd64"), ("v0.12.0", "arm64")
        }
        await to_checks(pilot)
        assert not app.state.preflight.failed, app.state.preflight.failures
        await start(pilot)
        await settle(pilot)
        summary = app.state.summary
        assert summary is not None and summary.status == "done", summary.failures
        await pilot.press("n")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, SummaryScreen)
        assert app.state.verify is not None and app.state.verify.ok
        table = screen.query_one("#results")
        rows = [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]
        tags = [row for row in rows if row[1] != "chart"]
        assert tags and all(row[1] == "amd64,arm64" and row[2] == "ok" for row in tags), rows
        destinations = {image.destination for image in app.state.preflight.plan.images}
    for destination in destinations:
        raw = skopeo_inspect_raw(destination, registry)
        assert raw["mediaType"] == DOCKER_LIST, destination
        assert sorted(m["platform"]["architecture"] for m in raw["manifests"]) == ["amd64", "arm64"], destination


async def test_the_tuis_import_reads_each_package_once_from_start(
    workdir: Path, registry: RegistryServer, bytes_read: dict[str, int]
) -> None:
    app = make_app()
    app.state.settings = TargetSettings(registry=registry.url, insecure=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await to_checks(pilot)
        sizes = {Path(p.path).name: p.size for p in app.state.chosen}
        assert len(sizes) == 2 and {name: bytes_read[name] for name in sizes} == sizes  # the background scan's read
        bytes_read.clear()
        await start(pilot)
        await settle(pilot)
        summary = app.state.summary
        assert summary is not None and summary.status == "done", summary.failures
    assert bytes_read == sizes  # from Start: one pass over each package (the run's), nothing read twice


def harbor_app(harbor: HarborTestServer) -> Any:
    """The app with the Harbor test server's address and administrator filled in."""
    app = make_app()
    app.state.settings = TargetSettings(registry=harbor.url, insecure=True, username="admin", password="Harbor12345")
    return app


async def test_tui_harbor_test_server_missing_spaces_are_created_after_asking(
    workdir: Path, harbor_registry: HarborTestServer
) -> None:
    app = harbor_app(harbor_registry)
    async with app.run_test(size=(80, 24)) as pilot:
        checks = await to_checks(pilot)
        preflight = app.state.preflight
        assert preflight.failed
        failing = [c for c in preflight.failures if c.name == "registry spaces"]
        assert failing and failing[0].items, preflight.failures
        missing = failing[0].items
        assert "c creates the missing registry spaces" in str(checks.query_one("#totals").render())
        # the command palette offers it too
        titles = [c.title for c in app.get_system_commands(checks)]
        assert "Create registry spaces" in titles
        # asked first: no creates nothing
        await pilot.press("c")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ConfirmDialog)
        assert all(space in dialog.question for space in missing) and "public" in dialog.question
        await pilot.press("n")
        await settle(pilot)
        assert not harbor_registry.calls("POST", "/api/v2.0/projects")
        assert app.state.preflight is preflight
        # yes creates them and checks again
        await pilot.press("c")
        await pilot.pause()
        await pilot.press("y")
        await settle(pilot)
        assert isinstance(app.screen, ChecksScreen)
        after = app.state.preflight
        assert after is not None and not after.failed, after.failures
        created = [c for c in after.checks if c.name.startswith("registry space ")]
        assert sorted(c.name.removeprefix("registry space ") for c in created) == sorted(missing)
        assert all("Created public Harbor project" in c.detail for c in created)
        assert set(missing) <= set(harbor_registry.projects)
        assert len(harbor_registry.calls("POST", "/api/v2.0/projects")) == len(missing)
        assert "Created public Harbor project" in str(checks.query_one("#checks").render())
        # the setting was for that check only
        assert app.state.settings.create_spaces is False
        # nothing left to create: c says so
        await pilot.press("c")
        await pilot.pause()
        assert isinstance(app.screen, ErrorDialog) and "No registry space is missing" in app.screen.message
    assert not harbor_registry.invalid


async def _type(pilot: Any, field: str, text: str) -> None:
    """Focus a field of the Target form and type into it, key by key."""
    pilot.app.screen.query_one(f"#{field}").focus()
    await pilot.pause()
    await pilot.press(*text)


async def test_registry_storage_field_feeds_the_target_disk_gauge(workdir: Path, registry: RegistryServer) -> None:
    (workdir / "regdata").mkdir()
    app = make_app()
    app.state.settings = TargetSettings(registry=registry.url, insecure=True)
    async with app.run_test(size=(80, 24)) as pilot:
        # without it, a registry's disk is elsewhere: no target-disk check, no gauge for it
        checks = await to_checks(pilot)
        assert "target disk" not in {c.name for c in app.state.preflight.checks}
        assert [line.split()[:2] for line in str(checks.query_one(DiskGauges).render()).splitlines()] == [
            ["spool", "disk"]
        ]
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, TargetScreen)
        await _type(pilot, "registry_storage", "regdata")
        await pilot.press("ctrl+n")
        await settle(pilot)
        checks = app.screen
        assert isinstance(checks, ChecksScreen)
        assert app.state.settings.registry_storage == "regdata"
        preflight = app.state.preflight
        disk = {c.name: c for c in preflight.checks}["target disk"]
        assert disk.numbers is not None
        assert disk.numbers["total"] == shutil.disk_usage(workdir / "regdata").total
        assert disk.numbers["need"] == preflight.plan.bytes_to_upload > 0
        lines = str(checks.query_one(DiskGauges).render()).splitlines()
        assert [line.split()[:2] for line in lines] == [["spool", "disk"], ["target", "disk"]]


async def test_tui_space_visibility_private_creates_private_harbor_projects(
    workdir: Path, harbor_registry: HarborTestServer
) -> None:
    app = harbor_app(harbor_registry)
    async with app.run_test(size=(80, 24)) as pilot:
        await to_target(pilot)
        assert app.screen.query_one("#space_visibility", Select).value == "public"
        # the keyboard: open the list, one down, pick
        await _type(pilot, "space_visibility", "")
        await pilot.press("enter", "down", "enter")
        await pilot.pause()
        assert app.screen.query_one("#space_visibility", Select).value == "private"
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert isinstance(app.screen, ChecksScreen)
        assert app.state.settings.space_visibility == "private"
        missing = next(c for c in app.state.preflight.failures if c.name == "registry spaces").items
        assert missing
        await pilot.press("c")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        assert "private Harbor project" in app.screen.question
        await pilot.press("y")
        await settle(pilot)
        after = app.state.preflight
        assert after is not None and not after.failed, after.failures
        created = [c for c in after.checks if c.name.startswith("registry space ")]
        assert created and all("Created private Harbor project" in c.detail for c in created)
        assert all(harbor_registry.projects[space].public is False for space in missing)
    assert not harbor_registry.invalid
