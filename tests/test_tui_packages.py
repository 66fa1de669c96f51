"""The Packages screen lists packages at once and scans them in the background (issue 13).

The scan of one package is held half-way by a gate (a threading.Event the test opens), so what
the screen shows while a scan goes on is checked deterministically, without sleeping.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Static

from core import events as ev
from core.demo.samples import write_sample_package
from core.package import scan as scanning
from core.package.model import PackageIndex
from core.package.scan import in_scan_cache, scan_package
from tests.tui_support import make_app, settle, workdir_fixture  # noqa: F401 - fixture
from tui.screens.dialogs import ErrorDialog
from tui.screens.packages import PackagesScreen
from tui.screens.target import TargetScreen
from tui.widgets.matrix import PackageMatrix

NAME = "addon-offline-full-package-{}-{}.tar.gz"
BIG = 4 << 20  # a package this size reports its scan progress in several steps


class ScanGate:
    """Holds the scan of the package ``name`` at its first progress step short of the end."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.reached = threading.Event()
        self.opened = threading.Event()

    def wrap(self, real: Callable[..., PackageIndex]) -> Callable[..., PackageIndex]:
        def gated(path: Path, *, emit: ev.Emit, **kwargs: Any) -> PackageIndex:
            def hold(event: ev.Event) -> None:
                emit(event)
                if (isinstance(event, ev.ScanProgress) and path.name == self.name
                        and event.bytes_done < event.bytes_total and not self.opened.is_set()):
                    self.reached.set()
                    assert self.opened.wait(30), "the test never opened the gate"

            return real(path, emit=hold, **kwargs)

        return gated

    def open(self) -> None:
        self.opened.set()


@pytest.fixture(name="gate")
def gate_fixture(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ScanGate]:
    """v0.11.0 amd64 (the first package scanned) made big enough to report progress, its scan held."""
    write_sample_package(workdir / "pk", "v0.11.0", "amd64", payload=BIG)
    gate = ScanGate(NAME.format("v0.11.0", "amd64"))
    monkeypatch.setattr(scanning, "scan_package", gate.wrap(scanning.scan_package))
    yield gate
    gate.open()


async def until(pilot: Any, ready: Callable[[], bool], what: str) -> None:
    """Handle messages until ``ready()`` (a bounded number of rounds, no clock)."""
    for _ in range(200):
        if ready():
            return
        await pilot.pause()
    raise AssertionError(f"never: {what}")


async def held(pilot: Any, gate: ScanGate) -> PackageMatrix:
    """The matrix once the held package's first progress shows in it."""
    matrix = pilot.app.screen.query_one(PackageMatrix)
    key = ("v0.11.0", "amd64")
    await until(pilot, lambda: gate.reached.is_set() and bool(matrix.cells[key].progress), "the scan is held")
    return matrix


def shown(matrix: PackageMatrix, version: str, arch: str) -> str:
    """The first line of a package's cell (the second says what the journal knows)."""
    return str(matrix.get_cell(version, arch)).splitlines()[0]


def text(app: Any, widget: str) -> str:
    return str(app.screen.query_one(f"#{widget}", Static).render())


def move_to(matrix: PackageMatrix, version: str, arch: str) -> None:
    versions = sorted({v for v, _ in matrix.cells}, reverse=True)
    matrix.move_cursor(row=versions.index(version), column=2 + ["amd64", "arm64"].index(arch))


async def test_rows_appear_with_their_sizes_before_the_scan_finishes(workdir: Path, gate: ScanGate) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        try:
            matrix = await held(pilot, gate)
            files = sorted((workdir / "pk").glob("*.tar.gz"))
            assert {(c.version, c.arch): c.size for c in matrix.cells.values()} == {
                tuple(f.name.removesuffix(".tar.gz").split("-")[-2:]): f.stat().st_size for f in files
            }
            big = matrix.cells[("v0.11.0", "amd64")]
            assert 0 < big.progress < 1 and big.size > BIG
            assert shown(matrix, "v0.11.0", "amd64").endswith(f"scan {big.progress:.0%}")
            assert all(shown(matrix, v, a).endswith("queued") for v, a in matrix.cells if v == "v0.12.0")
            assert app.state.packages == [] and app.state.selected == set()  # nothing scanned, no default yet
            move_to(matrix, "v0.11.0", "amd64")
            await pilot.pause()
            assert "scanning" in text(app, "detail") and "Scanning v0.11.0 amd64" in text(app, "status")
        finally:
            gate.open()
        await settle(pilot)
        assert all(c.progress is None and c.checksum == "ok" for c in matrix.cells.values())
        assert shown(matrix, "v0.11.0", "amd64").endswith("sum ok")
        assert "checksum ok" in text(app, "detail")
        assert {(p.version, p.arch) for p in app.state.chosen} == {("v0.12.0", "amd64"), ("v0.12.0", "arm64")}


async def test_a_selection_made_during_the_scan_is_kept(workdir: Path, gate: ScanGate) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        try:
            matrix = await held(pilot, gate)
            move_to(matrix, "v0.11.0", "arm64")  # queued behind the held one
            await pilot.press("space")
            assert "1 of 4 packages selected (arm64)" in text(app, "status")
        finally:
            gate.open()
        await settle(pilot)
        assert {(p.version, p.arch) for p in app.state.chosen} == {("v0.11.0", "arm64")}  # not the default


async def test_next_waits_for_a_selected_package_still_scanning_then_goes_on(workdir: Path, gate: ScanGate) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        try:
            matrix = await held(pilot, gate)
            move_to(matrix, "v0.11.0", "amd64")
            await pilot.press("space")
            move_to(matrix, "v0.12.0", "arm64")  # last in the queue
            await pilot.press("space", "n")
            assert isinstance(app.screen, PackagesScreen)
            status = text(app, "status")
            held_at = matrix.cells[("v0.11.0", "amd64")].progress
            assert status.startswith(f"Waiting for v0.11.0 amd64 and 1 more to finish scanning ({held_at:.0%}); then on")
        finally:
            gate.open()
        await until(pilot, lambda: isinstance(app.screen, TargetScreen), "Next goes on")
        assert {(p.version, p.arch) for p in app.state.chosen} == {("v0.11.0", "amd64"), ("v0.12.0", "arm64")}
        # the package waited for was scanned before the ones queued ahead of it
        assert [(p.version, p.arch) for p in app.state.packages][:2] == [("v0.11.0", "amd64"), ("v0.12.0", "arm64")]
        await settle(pilot)


async def test_next_before_the_default_selection_waits_for_it_then_goes_on(workdir: Path, gate: ScanGate) -> None:
    """Next pressed while the scans still run and nothing is chosen yet: no "select a package" error; it
    waits for the default selection (newest version with every arch) and goes on with it."""
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        try:
            await held(pilot, gate)
            assert app.state.selected == set()  # the default comes once every scan has ended
            await pilot.press("n")
            await pilot.pause()
            assert isinstance(app.screen, PackagesScreen)  # no error dialog
            assert text(app, "status").startswith("Waiting for the scans to end to select the newest version")
        finally:
            gate.open()
        await until(pilot, lambda: isinstance(app.screen, TargetScreen), "Next goes on")
        assert {(p.version, p.arch) for p in app.state.chosen} == {("v0.12.0", "amd64"), ("v0.12.0", "arm64")}
        await settle(pilot)


async def test_the_package_being_read_gives_way_to_the_one_next_waits_for(workdir: Path, gate: ScanGate) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        try:
            matrix = await held(pilot, gate)  # v0.11.0 amd64 is being read
            move_to(matrix, "v0.12.0", "arm64")
            await pilot.press("space", "n")
            assert shown(matrix, "v0.11.0", "amd64").endswith("queued")  # read again later
            assert "Waiting for v0.12.0 arm64 to be scanned; then on to the target." in text(app, "status")
        finally:
            gate.open()
        await until(pilot, lambda: isinstance(app.screen, TargetScreen), "Next goes on")
        assert [(p.version, p.arch) for p in app.state.chosen] == [("v0.12.0", "arm64")]
        await settle(pilot)
        assert [(p.version, p.arch) for p in app.state.packages][0] == ("v0.12.0", "arm64")
        assert len(app.state.packages) == 4 and matrix.cells[("v0.11.0", "amd64")].checksum == "ok"


async def test_next_refuses_a_selected_package_that_turns_out_unreadable_and_the_others_stay(
    workdir: Path, gate: ScanGate
) -> None:
    broken = workdir / "pk" / NAME.format("v0.13.0", "amd64")
    broken.write_bytes(b"not a gzip archive at all")
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        try:
            matrix = await held(pilot, gate)
            assert matrix.cells[("v0.13.0", "amd64")].size == broken.stat().st_size  # listed before its scan
            move_to(matrix, "v0.13.0", "amd64")
            await pilot.press("space", "n")
            assert "Waiting for v0.13.0 amd64" in text(app, "status")
        finally:
            gate.open()
        await until(pilot, lambda: isinstance(app.screen, ErrorDialog), "Next refuses")
        assert app.screen.message.startswith("v0.13.0 amd64 cannot be imported: ")
        assert "Deselect it" in app.screen.message
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, PackagesScreen)
        assert shown(matrix, "v0.13.0", "amd64") == "UNREADABLE"
        assert len(app.state.packages) == 4 and all(c.checksum == "ok" for c in matrix.cells.values() if not c.problem)


async def test_cached_packages_are_complete_while_another_is_still_scanning(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with make_app().run_test(size=(80, 24)) as pilot:
        await settle(pilot)  # the demo set in the scan cache
    write_sample_package(workdir / "pk", "v0.10.0", "amd64", payload=BIG)  # first by name, not in the cache
    gate = ScanGate(NAME.format("v0.10.0", "amd64"))
    monkeypatch.setattr(scanning, "scan_package", gate.wrap(scanning.scan_package))
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        try:
            matrix = pilot.app.screen.query_one(PackageMatrix)
            await until(pilot, lambda: gate.reached.is_set() and len(app.state.packages) == 4, "the cached ones")
            assert matrix.cells[("v0.10.0", "amd64")].progress is not None
            assert all(c.checksum == "ok" for k, c in matrix.cells.items() if k[0] != "v0.10.0")
        finally:
            gate.open()
        await settle(pilot)


async def test_a_new_listing_stops_the_scan_of_the_old_one(workdir: Path, gate: ScanGate) -> None:
    (workdir / "other").mkdir()
    write_sample_package(workdir / "other", "v0.9.0", "amd64")
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        try:
            matrix = await held(pilot, gate)
            old = app.screen.scan
            app.screen.query_one("#paths").value = "other"
            await app.screen.run_action("scan")
            assert old is not None and old.cancel.is_set()
        finally:
            gate.open()
        await settle(pilot)
        assert [(p.version, p.arch) for p in app.state.packages] == [("v0.9.0", "amd64")]
        assert list(matrix.cells) == [("v0.9.0", "amd64")]


def test_in_scan_cache_follows_the_file(workdir: Path) -> None:
    package = workdir / "pk" / NAME.format("v0.11.0", "amd64")
    state = workdir / "state"
    assert not in_scan_cache(package, state)
    scan_package(package, state_dir=state)
    assert in_scan_cache(package, state)
    package.write_bytes(package.read_bytes() + b"\0")  # another file now
    assert not in_scan_cache(package, state)
