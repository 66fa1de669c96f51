"""Snapshots of every screen at 80×24 and 120×40, from a real demo run, and of the hard cases:
a failed check, warnings (a chart conflict), an arch-coverage warning, an unreadable package,
the history and a run's detail.

Stable: packages are the deterministic demo set in a temp cwd, the target is the relative
layout ``layout``, cursors do not blink, there is no clock, and what differs from run to run
(free disk, run id, duration, rate, dates) is pinned by StableSession and the ``pinned`` fixture.
Update with ``pytest tests/test_tui_snapshots.py --snapshot-update`` and look at the SVGs before
committing.
"""

from __future__ import annotations

import time
import types
from pathlib import Path
from typing import Any

import pytest

from core.charts.oci import OciChartDestination
from core.charts.repack import repack, unpack
from core.config import TargetConfig
from core.targets.layout import LayoutTarget
from core.targets.sites import Site
from tests.test_tui_upgrade import NAME, CoverageSession
from tests.tui_support import (  # noqa: F401 - fixture
    STABLE_RUN_ID,
    StableSession,
    make_app,
    run_through,
    settle,
    start,
    to_checks,
    workdir_fixture,
)
from tui.app import ArchfuseApp
from tui.tour import walk_to

SIZES = {"80x24": (80, 24), "120x40": (120, 40)}
STOPS = ["packages", "history-empty", "help", "target", "checks", "confirm", "run", "summary", "history"]


@pytest.fixture(name="pinned")
def pinned_fixture(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run ids and the dates the screens show, the same on every run of the test."""
    monkeypatch.setattr("core.record.journal.uuid", types.SimpleNamespace(uuid4=lambda: types.SimpleNamespace(
        hex=STABLE_RUN_ID + "0" * 20)))
    fixed = time.gmtime(1_764_500_000)  # 2025-11-30 10:53 UTC
    monkeypatch.setattr("tui.screens.history.time", types.SimpleNamespace(strftime=time.strftime,
                                                                            localtime=lambda _s=None: fixed))
    monkeypatch.setattr("tui.screens.packages.time", types.SimpleNamespace(strftime=time.strftime,
                                                                             localtime=lambda _s=None: fixed))


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("stop", STOPS)
def test_screen(stop: str, size: str, workdir: Path, pinned: None, snap_compare: Any) -> None:
    async def go(pilot: Any) -> None:
        await walk_to(pilot, stop)

    assert snap_compare(make_app(StableSession), terminal_size=SIZES[size], run_before=go)


@pytest.mark.parametrize("size", SIZES)
def test_failed_check_refuses_start(size: str, workdir: Path, snap_compare: Any) -> None:
    (workdir / "notadir").write_text("a file, not a layout")
    app = ArchfuseApp([Path("pk")], state_dir="state", registry="notadir", session_class=StableSession,
                      blink=False)

    async def go(pilot: Any) -> None:
        await settle(pilot)
        await pilot.press("n", "ctrl+n")
        await settle(pilot)
        await pilot.press("s")
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZES[size], run_before=go)


@pytest.mark.parametrize("size", SIZES)
def test_chart_conflict_warning_first_with_the_key_that_overwrites(
    size: str, workdir: Path, pinned: None, snap_compare: Any
) -> None:
    async def go(pilot: Any) -> None:
        await run_through(pilot)
        layout = LayoutTarget(workdir / "layout")
        charts = OciChartDestination(layout)
        manifest = layout.get_manifest("addon/metrics-server", "3.8.3")
        assert manifest is not None
        layer = manifest.parsed()["layers"][0]["digest"]
        _top, files = unpack(layout.get_blob("addon/metrics-server", layer), what="chart")
        files["values.yaml"] += b"# edited by hand\n"
        charts.push("metrics-server", "3.8.3", repack("metrics-server", files), repo="addon", force=True)
        await pilot.press("escape")  # back to Checks: planned again
        await settle(pilot)

    assert snap_compare(make_app(StableSession), terminal_size=SIZES[size], run_before=go)


class StableCoverageSession(CoverageSession, StableSession):
    """The arch-coverage warning, with the disk and run numbers pinned."""


@pytest.mark.parametrize("size", SIZES)
def test_arch_coverage_warning_names_the_package_that_fills_it(size: str, workdir: Path, snap_compare: Any) -> None:
    async def go(pilot: Any) -> None:
        await settle(pilot)
        matrix = pilot.app.screen.query_one("#matrix")
        matrix.move_cursor(row=0, column=3)
        await pilot.press("space")
        await to_checks(pilot)

    assert snap_compare(make_app(StableCoverageSession), terminal_size=SIZES[size], run_before=go)


@pytest.mark.parametrize("size", SIZES)
def test_unreadable_package_listed_and_default_by_arch_coverage(size: str, workdir: Path, snap_compare: Any) -> None:
    (workdir / "pk" / NAME.format("v0.13.0", "amd64")).write_bytes(b"not a gzip archive at all")
    (workdir / "pk" / NAME.format("v0.12.0", "arm64")).unlink()

    async def go(pilot: Any) -> None:
        await settle(pilot)

    assert snap_compare(make_app(StableSession), terminal_size=SIZES[size], run_before=go)


@pytest.mark.parametrize("size", SIZES)
def test_history_run_detail(size: str, workdir: Path, pinned: None, snap_compare: Any) -> None:
    async def go(pilot: Any) -> None:
        await walk_to(pilot, "history")
        await pilot.press("enter")
        await pilot.pause()

    assert snap_compare(make_app(StableSession), terminal_size=SIZES[size], run_before=go)


def test_summary_with_a_further_site_80x24(workdir: Path, pinned: None, snap_compare: Any) -> None:
    """The site matrix under the summary: the layout imported into, and an empty layout as a further site
    (added after the run: a run with further sites imports into them too)."""
    east = Site("east", TargetConfig(layout_path=Path("east")))

    async def go(pilot: Any) -> None:
        await walk_to(pilot, "run")
        pilot.app.state.sites = [east]
        await pilot.press("n")
        await settle(pilot)

    assert snap_compare(make_app(StableSession), terminal_size=SIZES["80x24"], run_before=go)


def test_sites_screen_80x24(workdir: Path, snap_compare: Any) -> None:
    async def go(pilot: Any) -> None:
        await walk_to(pilot, "target")
        await pilot.press("ctrl+o")
        await pilot.pause()
        for field_id, text in (("site_name", "west"), ("site_registry", "https://west.example:5000")):
            pilot.app.screen.query_one(f"#{field_id}").value = text
        await pilot.press("ctrl+n")
        await pilot.pause()

    assert snap_compare(make_app(StableSession), terminal_size=SIZES["80x24"], run_before=go)
