"""Snapshots of every screen at 80×24 (and the plan at 120×40), from a real demo run.

Stable: packages are the deterministic demo set in a temp cwd, the target is the relative
layout ``layout``, cursors do not blink, there is no clock, and what differs from run to run
(free disk, run id, duration, rate) is pinned by StableSession. Update with
``pytest tests/test_tui_snapshots.py --snapshot-update`` and look at the SVGs before committing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.tui_support import StableSession, make_app, settle, workdir_fixture  # noqa: F401 - fixture
from tui.app import ArchfuseApp
from tui.tour import walk_to

STOPS_80x24 = ["packages", "history-empty", "help", "target", "checks", "confirm", "run", "summary"]


@pytest.mark.parametrize("stop", STOPS_80x24)
def test_screen_at_80x24(stop: str, workdir: Path, snap_compare: Any) -> None:
    async def go(pilot: Any) -> None:
        await walk_to(pilot, stop)

    assert snap_compare(make_app(StableSession), terminal_size=(80, 24), run_before=go)


def test_checks_and_plan_at_120x40(workdir: Path, snap_compare: Any) -> None:
    async def go(pilot: Any) -> None:
        await walk_to(pilot, "checks")

    assert snap_compare(make_app(StableSession), terminal_size=(120, 40), run_before=go)


def test_start_refused_dialog_at_80x24(workdir: Path, snap_compare: Any) -> None:
    (workdir / "notadir").write_text("a file, not a layout")
    app = ArchfuseApp([Path("pk")], state_dir="state", registry="notadir", session_class=StableSession,
                      blink=False)

    async def go(pilot: Any) -> None:
        await settle(pilot)
        await pilot.press("n", "ctrl+n")
        await settle(pilot)
        await pilot.press("s")
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=go)
