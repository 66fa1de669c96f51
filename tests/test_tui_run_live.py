"""The run screen live, against the real registry behind the fault proxy: per-image stages, a
stalled (SIGSTOPped) registry and a cancel that returns at once, Ctrl+Q during a run, the log
pane, and a summary that tells the truth (charts, missing arches, the report)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from core.demo.samples import write_sample_package
from core.errors import STOPPED_EXIT
from core.kinds import ImageStage
from core.run.engine import RunOptions
from tests.fixtures.faultproxy import FaultProxy
from tests.fixtures.registry import RegistryServer
from tests.test_import_charts import pull_chart
from tests.test_import_registry import import_
from tests.tui_support import GatedSession, make_app, run_through, settle, start, to_checks
from tui.screens.checks import ChecksScreen
from tui.screens.dialogs import ConfirmDialog
from tui.screens.run import RunScreen
from tui.screens.summary import ReportScreen, SummaryScreen
from tui.target_settings import TargetSettings
from tui.widgets.progress import ImageTable, InFlight

BLOB_PUT = r"^/v2/.+/blobs/uploads/[^/?]+\?"  # the PUT that carries a blob
WAIT = 30.0  # seconds a condition may take before the test fails (it normally takes far less)


@pytest.fixture(name="pk")
def pk_fixture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temp cwd with ``pk/`` holding v0.12.0 for amd64 and arm64."""
    monkeypatch.chdir(tmp_path)
    for arch in ("amd64", "arm64"):
        write_sample_package(tmp_path / "pk", "v0.12.0", arch, flavour="mixed", payload=256 << 10)
    return tmp_path / "pk"


@pytest.fixture(name="paused")
def paused_fixture(registry: RegistryServer) -> Iterator[RegistryServer]:
    """The registry, let go again (SIGCONT) however the test ends."""
    yield registry
    registry.resume()


async def until(pilot: Any, condition: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
    """Let the app run until ``condition`` holds; fail naming ``what`` if it never does."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        await pilot.pause(0.05)


def proxied_app(proxy: FaultProxy, **kwargs: Any) -> Any:
    app = make_app(**kwargs)
    app.state.settings = TargetSettings(registry=proxy.url, insecure=True)
    return app


async def test_rows_move_through_stages_during_the_upload(
    pk: Path, registry: RegistryServer, fault_proxy: Callable[..., FaultProxy]
) -> None:
    proxy = fault_proxy(registry)
    held = proxy.pause("PUT", BLOB_PUT)
    app = proxied_app(proxy)
    async with app.run_test(size=(80, 24)) as pilot:
        await to_checks(pilot)
        await start(pilot)
        screen = app.screen
        table = screen.query_one(ImageTable)
        # one blob upload is held by the proxy: its images are uploading, and on top of the table
        await until(pilot, lambda: held.hit.is_set() and table.row_stages()[0] == ImageStage.UPLOADING,
                    "an uploading row on top")
        inflight = screen.query_one(InFlight)
        await until(pilot, lambda: str(inflight.render()).startswith("now: "), "the in-flight line")
        assert re.match(r"now: \S+:\S+ · [0-9a-f]{8} \S+ \S+/\S+ \S+", str(inflight.render())), inflight.render()
        held.release(forward=True)
        await until(pilot, lambda: not screen.running, "the end of the run")
        assert app.state.summary is not None and app.state.summary.status == "done", app.state.summary
        assert set(table.row_stages()) == {ImageStage.DONE}
        # the log pane grows and shrinks with l
        await pilot.press("l")
        assert screen.has_class("log-enlarged")
        await pilot.press("l")
        assert not screen.has_class("log-enlarged")
        # after a run Ctrl+Q quits at once
        await pilot.press("ctrl+q")
        await pilot.pause()
    assert app.return_value == 0


async def test_paused_registry_shows_the_stall_and_cancel_returns_at_once(
    pk: Path, paused: RegistryServer, fault_proxy: Callable[..., FaultProxy]
) -> None:
    proxy = fault_proxy(paused)
    held = proxy.pause("PUT", BLOB_PUT)
    app = proxied_app(proxy, options=RunOptions(stall_after=1.0))
    async with app.run_test(size=(80, 24)) as pilot:
        await to_checks(pilot)
        await start(pilot)
        screen = app.screen
        assert isinstance(screen, RunScreen)
        await until(pilot, held.hit.is_set, "a blob upload reaching the proxy")
        paused.pause()  # SIGSTOP: the registry answers nothing from now on
        held.release(forward=True)
        inflight = screen.query_one(InFlight)
        await until(pilot, lambda: "no progress for" in str(inflight.render()), "the stall line")
        assert inflight.has_class("alert")
        assert f"to {proxy.url} open; one that moves no byte" in str(inflight.render())  # the requests really open
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("y")
        await pilot.pause()
        # the requests hung on the paused registry are cut: control is back well before any timeout
        await until(pilot, lambda: not screen.running, "the cancelled run handing back control", timeout=15)
        summary = app.state.summary
        assert summary is not None and summary.status == "cancelled", summary
        log = screen.log_lines
        assert "cancel requested: abandoning the uploads in flight" in log
        assert any(line.startswith("cancelled: The run was cancelled before any tag moved") for line in log), log
        assert not any(line.startswith("failed:") for line in log), log
        # w saves the log and says where
        await pilot.press("w")
        saved = Path("state") / "logs" / f"run-{summary.run_id}.log"
        assert saved.is_file() and "cancelled: " in saved.read_text()
        assert f"log saved to {saved}" in screen.log_lines[-1]
        # the run stays resumable: let the registry go on and run again
        paused.resume()
        await pilot.press("r")
        await settle(pilot)
        assert isinstance(app.screen, ChecksScreen)
        await start(pilot)
        await settle(pilot)
        assert app.state.summary is not None and app.state.summary.status == "done", app.state.summary.failures


async def test_ctrl_q_during_a_run_asks_then_stops_safely_and_quits(pk: Path, registry: RegistryServer) -> None:
    app = make_app(GatedSession)
    app.state.settings = TargetSettings(registry=registry.url, insecure=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await to_checks(pilot)
        app.session.gate.clear()
        await start(pilot)
        screen = app.screen
        assert isinstance(screen, RunScreen) and screen.running
        await pilot.press("ctrl+q")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ConfirmDialog) and "Stop it safely and quit" in dialog.question
        labels = [str(b.label) for b in dialog.query("Button")]
        assert labels == ["Stop safely and quit (y)", "Keep running (n)"]
        await pilot.press("n")  # keep running
        await pilot.pause()
        assert app.screen is screen and screen.running and app.return_code is None
        await pilot.press("ctrl+q")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        assert app.screen is screen and "Stopping safely, then quitting" in str(screen.query_one("#phase").render())
        assert app.return_code is None  # still there, saying what it does, until the engine stopped
        app.session.gate.set()
        await until(pilot, lambda: app.return_code is not None, "the app quitting after the run stopped")
    assert app.state.summary is not None and app.state.summary.status == "cancelled", app.state.summary
    assert app.return_value == STOPPED_EXIT  # a deliberate safe stop is not a failed run


def rows_of(table: Any, key: str) -> list[str]:
    return [str(c) for c in table.get_row(key)]


async def test_summary_shows_charts_kept_and_a_tag_missing_an_arch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, registry: RegistryServer
) -> None:
    from core.charts.oci import OciChartDestination
    from core.charts.repack import repack
    from core.targets.registry import RegistryTarget

    # the registry holds v0.11.0 for both arches, and someone changed the redis chart there
    older = tmp_path / "older"
    import_(registry, tmp_path / "cli-state", *(write_sample_package(older, "v0.11.0", a) for a in ("amd64", "arm64")))
    files = pull_chart(registry, "community/redis", "17.11.3")
    files["values.yaml"] += b"# edited by hand\n"
    OciChartDestination(RegistryTarget(registry.client(), registry.url)).push(
        "redis", "17.11.3", repack("redis", files), repo="community", force=True
    )
    # the engineer imports v0.12.0 for amd64 only
    monkeypatch.chdir(tmp_path)
    write_sample_package(tmp_path / "pk", "v0.12.0", "amd64", flavour="mixed", payload=64 << 10)
    app = make_app()
    app.state.settings = TargetSettings(registry=registry.url, insecure=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await run_through(pilot)
        await pilot.press("n")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, SummaryScreen)
        table = screen.query_one("#results")
        # keyed by each row's own key (``tag:REPO:TAG``, ``chart:NAME:VERSION``): the shown reference may be shortened
        keys = [row.key.value or "" for row in table.ordered_rows]
        rows = {key.split(":", 1)[1].replace(":", "-") if key.startswith("chart:") else key.split(":", 1)[1]:
                [str(c) for c in table.get_row(key)] for key in keys}
        # charts are there: pushed, and the changed one kept, with how to overwrite it on this screen
        assert rows["redis-17.11.3"][:3] == ["kept", "chart", "other-content"], rows
        assert rows["metrics-server-3.8.3"][0] == "pushed", rows
        result = str(screen.query_one("#result").render())
        assert "1 kept" in result and "to overwrite it, go back to Checks and plan" in result
        # the tag that serves amd64 only, beside a tag of its repository serving arm64 too, is flagged
        controller = rows["ingress-nginx/controller:v1.9.0"]
        assert controller[1] == "amd64 · no arm64", controller
        # what needs the engineer comes first: the flagged tags and the kept chart, the rest in run order
        first = [k for k in keys if " · no " in rows_of(table, k)[1] or rows_of(table, k)[2] == "other-content"]
        assert "tag:ingress-nginx/controller:v1.9.0" in first and "chart:redis:17.11.3" in first
        assert keys[: len(first)] == first, keys
        verify = str(screen.query_one("#verify").render())
        report = app.state.verify
        assert report is not None
        total = len(report.images) + len(report.charts)
        assert f"verify: {total - 1}/{total} ok" in verify and "charts 3/4" in verify, verify
        assert "fewer arches than their repository's other tags" in verify
        # o opens the run report, whose counts match
        await pilot.press("o")
        await pilot.pause()
        assert isinstance(app.screen, ReportScreen)
        text = app.screen.path.read_text()
        assert "## Charts" in text and f"{total - 1}/{total} ok" in text
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen
