"""A walk through every screen of the app, for the screenshot script and the snapshot tests.

``walk`` drives a running app with the keyboard, from Packages to History, and yields the
name of each stop once its workers have finished, so the caller can take a screenshot.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

STOPS = ("packages", "history-empty", "help", "target", "checks", "confirm", "run", "summary", "history")


async def settle(pilot: Any) -> None:
    """Let every worker finish and its messages be handled: twice in a row, no worker was left (a
    screen that was just pushed starts its worker when it mounts, a tick later)."""
    quiet = 0
    for _ in range(50):
        busy = any(not worker.is_finished for worker in pilot.app.workers)
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        quiet = 0 if busy else quiet + 1
        if quiet >= 2:
            return


async def walk(pilot: Any) -> AsyncIterator[str]:
    """Packages → (history, help) → Target → Checks → confirm → Run → Summary → History."""
    await settle(pilot)
    yield "packages"
    await pilot.app.run_action("history")
    await settle(pilot)
    yield "history-empty"
    await pilot.press("escape", "f1")
    await pilot.pause()
    yield "help"
    await pilot.press("escape", "n")
    await settle(pilot)
    yield "target"
    await pilot.press("ctrl+n")
    await settle(pilot)
    yield "checks"
    await pilot.press("s")
    await pilot.pause()
    yield "confirm"
    await pilot.press("y")
    await settle(pilot)
    yield "run"
    await pilot.press("n")
    await settle(pilot)
    yield "summary"
    await pilot.press("h")
    await settle(pilot)
    yield "history"


async def walk_to(pilot: Any, stop: str) -> None:
    """Drive the app until ``stop``."""
    if stop not in STOPS:
        raise ValueError(f"unknown stop {stop!r}")
    async for name in walk(pilot):
        if name == stop:
            return
    raise ValueError(f"the walk never reached {stop!r}")
