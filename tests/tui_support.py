"""Shared by the TUI tests: demo packages in a temp dir, a stable session for snapshots."""

from __future__ import annotations

import dataclasses
import os
import threading
from pathlib import Path
from typing import Any

import humanize
import pytest

from core import events as ev
from core.advice import Advice
from core.checks.preflight import Check, Preflight
from core.demo.samples import write_demo_set
from core.package import reader, scan
from core.plan.results import RunSummary
from core.session import Session
from tui.app import ArchfuseApp, create_app
from tui.screens.checks import ChecksScreen
from tui.screens.dialogs import ConfirmDialog
from tui.screens.packages import PackagesScreen
from tui.screens.run import RunScreen
from tui.screens.target import TargetScreen
from tui.tour import settle

MIB = 1 << 20
STABLE_RUN_ID = "0123456789ab"


@pytest.fixture(name="workdir")
def workdir_fixture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temp cwd holding ``pk/`` (the demo set); targets and state go in relative paths."""
    monkeypatch.chdir(tmp_path)
    write_demo_set(tmp_path / "pk")
    return tmp_path


@pytest.fixture(name="bytes_read")
def bytes_read_fixture(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """The bytes read from each package file (by name) since the test began or last cleared it: every
    read of a package passes the package reader's raw tap, or is a sha512 of the whole file."""
    counted: dict[str, int] = {}
    tap_read, whole = reader._Tap.read, scan.file_sha512

    def read(self: Any, size: int = -1, /) -> bytes:
        data: bytes = tap_read(self, size)
        name = Path(str(getattr(self._f, "name", "?"))).name
        counted[name] = counted.get(name, 0) + len(data)
        return data

    def sha512(path: Path) -> str:
        counted[path.name] = counted.get(path.name, 0) + path.stat().st_size
        return whole(path)

    monkeypatch.setattr(reader._Tap, "read", read)
    monkeypatch.setattr(scan, "file_sha512", sha512)
    return counted


class GatedSession(Session):
    """The real session, whose run waits for the test to open the gate (to cancel mid-run)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()

    def run(self, preflight: Preflight, **kwargs: Any) -> RunSummary:
        self.entered.set()
        assert self.gate.wait(30), "the test never opened the gate"
        return super().run(preflight, **kwargs)


class StableSession(GatedSession):
    """The real engine, with what changes from run to run pinned, so snapshots are stable.

    Event times follow the bytes (1 MiB/s exactly), the spool disk's free space, the run id,
    the run's duration and the temp directory in check details are fixed. Everything else (packages, plan, platforms) is real.
    """

    def __init__(self, target: Any, *, emit: ev.Emit = ev.discard, **kwargs: Any) -> None:
        def stable(event: ev.Event) -> None:
            at = 1000.0 + (event.bytes_done / MIB if isinstance(event, ev.BytesProgress) else 0.0)
            emit(event.stamped(at))

        super().__init__(target, emit=stable, **kwargs)

    def preflight(self, packages: Any, **kwargs: Any) -> Preflight:
        result = super().preflight(packages, **kwargs)
        result.checks = [_stable_disk(_relative(c)) for c in result.checks]
        return result

    def run(self, preflight: Preflight, **kwargs: Any) -> RunSummary:
        summary = super().run(preflight, **kwargs)
        reports = tuple(path.rename(path.with_name(STABLE_RUN_ID + path.suffix)) for path in summary.reports)
        return dataclasses.replace(summary, run_id=STABLE_RUN_ID, seconds=1.5, reports=reports)


def _relative(check: Check) -> Check:
    """A check whose detail names paths under the temp cwd as the test typed them (``layout``, not
    ``/tmp/pytest-…/layout``): the engine resolves a layout to its real path."""
    here = f"{os.getcwd()}/"
    detail = check.detail
    if isinstance(detail, Advice):
        return dataclasses.replace(check, detail=Advice(detail.template.replace(here, "")))
    return dataclasses.replace(check, detail=detail.replace(here, ""))


def _stable_disk(check: Check) -> Check:
    """A disk check as on a 100 GiB disk with 20 GiB free (the plan's need is kept: it is real)."""
    if check.numbers is None:
        return check
    need = check.numbers["need"]
    numbers = {"total": 100 << 30, "used": 80 << 30, "free": 20 << 30, "need": need}
    if check.name == "spool disk":
        return dataclasses.replace(check, detail="tmp: 20.0 GiB free, the spool needs at most 256.0 MiB.", numbers=numbers)
    detail = f"layout has 20.0 GiB free; the plan adds {humanize.naturalsize(need, binary=True)}."
    return dataclasses.replace(check, detail=detail, numbers=numbers)


async def to_target(pilot: Any) -> TargetScreen:
    """From the Packages screen (once its scan is done) to the Target form, with the keyboard."""
    await settle(pilot)
    assert isinstance(pilot.app.screen, PackagesScreen)
    await pilot.press("n")
    await pilot.pause()
    assert isinstance(pilot.app.screen, TargetScreen)
    return pilot.app.screen


async def to_checks(pilot: Any) -> ChecksScreen:
    """From the Packages screen through the Target form to Checks and plan, its checks done."""
    await to_target(pilot)
    await pilot.press("ctrl+n")
    await settle(pilot)
    assert isinstance(pilot.app.screen, ChecksScreen)
    return pilot.app.screen


async def start(pilot: Any) -> None:
    """Start on Checks and plan, and say yes when asked: the Run screen opens."""
    await pilot.press("s")
    await pilot.pause()
    assert isinstance(pilot.app.screen, ConfirmDialog)
    await pilot.press("y")
    await pilot.pause()
    assert isinstance(pilot.app.screen, RunScreen)


async def run_through(pilot: Any) -> None:
    """From the Packages screen through Target and Checks to a started run, waited for to its end."""
    await to_checks(pilot)
    await start(pilot)
    await settle(pilot)


def make_app(session: type[Session] = Session, **kwargs: Any) -> ArchfuseApp:
    """The app on ``pk/`` and the layout ``layout`` (relative: stable in snapshots)."""
    return create_app([Path("pk")], "state", "layout", session_class=session, blink=False, **kwargs)
