"""A dropped SSH session, a kill, no terminal, a mistyped command and keys typed ahead (issue 20, items 6-8).

SIGHUP to the TUI and SIGTERM to a headless import mid-upload stop the run safely (no tag moves),
the journal says ``interrupted`` and the exit code is the safe stop's own; the next start of the
TUI offers to resume it, with the Target form as it was (never the password).
"""

from __future__ import annotations

import array
import contextlib
import fcntl
import itertools
import os
import pty
import re
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual import events

from core.config import TargetInputs, secret, target_config
from core.demo.samples import write_sample_package
from core.errors import STOPPED_EXIT
from core.kinds import RunKind, RunStatus
from core.record.journal import Journal
from core.session import Workspace
from tests.cli_driver import archfuse
from tests.fixtures.broken import write_broken_package
from tests.fixtures.faultproxy import FaultProxy
from tests.fixtures.registry import RegistryServer
from tests.tui_support import make_app, settle, to_target, workdir_fixture  # noqa: F401 - the fixture
from tui.app import create_app
from tui.screens.dialogs import ConfirmDialog, ErrorDialog
from tui.screens.target import TargetScreen
from tui.target_settings import TargetSettings

ROOT = Path(__file__).resolve().parents[1]
BLOB_PUT = r"^/v2/.+/blobs/uploads/[^/?]+\?"  # the PUT that carries a blob
WAIT = 60.0  # seconds a step may take on a loaded machine before the test fails
PASSWORD = "S3cretPass"


@pytest.fixture(name="big")
def big_fixture(tmp_path: Path) -> Path:
    """``pk/`` with one package whose layers are large enough for an upload to be caught midway."""
    write_sample_package(tmp_path / "pk", "v0.12.0", "amd64", payload=4 << 20)
    return tmp_path / "pk"


def tags_in(registry: RegistryServer) -> list[Path]:
    return list((registry.storage / "docker/registry/v2/repositories").glob("**/_manifests/tags/*"))


def only_run(state: Path) -> Any:
    with Journal(state) as journal:
        runs = journal.runs()
    assert len(runs) == 1, runs
    return runs[0]


def remember(state: Path, url: str, **fields: Any) -> None:
    """The Target form of ``url`` as a previous start of the TUI left it (insecure: plain HTTP)."""
    config = target_config(TargetInputs(registry=url, insecure=True))
    Workspace(state_dir=state).remember_form(config, {"registry": url, "insecure": True, **fields})


class PtyProcess:
    """``archfuse ARGS`` on its own pseudo-terminal (80x24), its screen output drained as it comes."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path) -> None:
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tui.cli", *args], stdin=slave, stdout=slave, stderr=slave, env=env, cwd=cwd,
            start_new_session=True,
        )
        os.close(slave)
        self.out = bytearray()
        self.reading = threading.Event()  # cleared: the terminal is no longer read (a dead SSH link)
        self.reading.set()
        self.reader = threading.Thread(target=self._drain, daemon=True)
        self.reader.start()

    def _drain(self) -> None:
        while True:
            self.reading.wait()
            try:
                chunk = os.read(self.master, 65536)
            except OSError:
                return
            if not chunk:
                return
            self.out += chunk

    def text(self) -> str:
        """What was drawn, escape sequences taken out."""
        return re.sub(r"\x1b(\[[0-9;?<>=]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[()][0-9A-Za-z]|[=>78])", "",
                      self.out.decode("utf-8", "replace"))

    def wait_for(self, words: str) -> None:
        deadline = time.monotonic() + WAIT
        while words not in self.text():
            assert self.proc.poll() is None, f"archfuse ended ({self.proc.returncode}) before showing {words!r}"
            assert time.monotonic() < deadline, f"never shown: {words!r}"
            time.sleep(0.1)

    def press(self, keys: bytes) -> None:
        os.write(self.master, keys)

    def unread(self) -> int:
        """Bytes the app wrote that the terminal has not read."""
        count = array.array("i", [0])
        fcntl.ioctl(self.master, termios.FIONREAD, count)
        return count[0]

    def stop_reading(self) -> None:
        """The terminal is no longer read (the link died, the session's reader froze): resizes make
        the app draw until its writes block, which they then do for ever."""
        self.reading.clear()
        unchanged = 0
        for height in itertools.islice(itertools.cycle((23, 24)), 400):
            before = self.unread()
            fcntl.ioctl(self.master, termios.TIOCSWINSZ, struct.pack("HHHH", height, 80, 0, 0))
            self.proc.send_signal(signal.SIGWINCH)
            time.sleep(0.05)  # the app's frame
            unchanged = unchanged + 1 if before and self.unread() == before else 0
            if unchanged >= 10:
                return
        raise AssertionError("the app's writes to the terminal never blocked")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        with contextlib.suppress(OSError):
            os.close(self.master)


@pytest.fixture(name="terminal")
def terminal_fixture() -> Iterator[Callable[..., PtyProcess]]:
    made: list[PtyProcess] = []

    def start(args: list[str], env: dict[str, str], cwd: Path) -> PtyProcess:
        made.append(PtyProcess(args, env, cwd))
        return made[-1]

    yield start
    for process in made:
        process.close()


def test_sighup_to_the_tui_mid_run_stops_safely_and_the_journal_says_interrupted(
    big: Path, tmp_path: Path, registry: RegistryServer, fault_proxy: Callable[..., FaultProxy],
    terminal: Callable[..., PtyProcess],
) -> None:
    proxy = fault_proxy(registry)
    held = proxy.pause("PUT", BLOB_PUT, when="midway")  # a layer half sent when the session drops
    state = tmp_path / "state"
    remember(state, proxy.url)
    env = {**os.environ, "ARCHFUSE_STATE_DIR": str(state), "TERM": "xterm-256color", "PYTHONPATH": str(ROOT)}
    env.pop("ARCHFUSE_PASSWORD", None)
    tui = terminal([str(big)], env, tmp_path)
    tui.wait_for("1 of 1 packages selected")
    tui.press(b"n")
    tui.wait_for("2/5 Target")
    tui.press(b"\x0e")  # Ctrl+N: checks and plan
    tui.wait_for("to upload")
    tui.press(b"s")
    tui.wait_for("Please confirm")
    tui.press(b"y")
    held.wait_hit(WAIT)
    tui.proc.send_signal(signal.SIGHUP)
    assert tui.proc.wait(5) == STOPPED_EXIT, tui.text()[-2000:]
    held.release(forward=True)  # the half-sent layer may complete now: still no tag may move
    assert tags_in(registry) == []
    run = only_run(state)
    assert run.status == RunStatus.INTERRUPTED and run.message.startswith("SIGHUP"), run


def test_sighup_ends_the_tui_whose_terminal_is_no_longer_read(
    tmp_path: Path, terminal: Callable[..., PtyProcess]
) -> None:
    """A terminal that takes no more output (a killed tmux session, a dead SSH link) blocks the app's
    writes, and with them the loop that heard SIGHUP: an Error dialog up, keys typed into it, the
    terminal frozen, then SIGHUP ends the process with the code of a safe stop."""
    write_broken_package(tmp_path / "pk", "not-gzip")
    env = {**os.environ, "ARCHFUSE_STATE_DIR": str(tmp_path / "state"), "TERM": "xterm-256color",
           "PYTHONPATH": str(ROOT)}
    tui = terminal([str(tmp_path / "pk")], env, tmp_path)
    tui.wait_for("cannot be read")
    tui.press(b"n")
    tui.wait_for("Close")  # the Error dialog
    tui.press(b"abc\t")
    tui.stop_reading()
    tui.proc.send_signal(signal.SIGHUP)
    assert tui.proc.wait(WAIT) == STOPPED_EXIT


def test_sigterm_to_a_headless_import_stops_safely(
    big: Path, tmp_path: Path, registry: RegistryServer, fault_proxy: Callable[..., FaultProxy]
) -> None:
    proxy = fault_proxy(registry)
    held = proxy.pause("PUT", BLOB_PUT, when="midway")
    state = tmp_path / "state"
    env = {**os.environ, "ARCHFUSE_STATE_DIR": str(state), "PYTHONPATH": str(ROOT)}
    env.pop("ARCHFUSE_PASSWORD", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui.cli", "import", str(big), "--registry", proxy.url, "--insecure", "--yes",
         "--scan-first"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT,
    )
    try:
        held.wait_hit(WAIT)
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=5)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == STOPPED_EXIT, err
    assert "SIGTERM: the run stopped safely" in err
    held.release(forward=True)
    assert tags_in(registry) == []
    run = only_run(state)
    assert run.status == RunStatus.INTERRUPTED and run.message.startswith("SIGTERM"), run


async def test_the_next_start_offers_to_resume_on_the_target_form_prefilled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    package = write_sample_package(tmp_path / "pk", "v0.12.0", "arm64")
    state = tmp_path / "state"
    url = "http://registry.example:5000"
    remember(state, url, username="admin", jobs="3")
    scanned = Workspace(state_dir=state).scan([package])
    with Journal(state) as journal:  # a run a dropped session stopped
        run_id = journal.start_run(RunKind.IMPORT, url, scanned, {})
        journal.finish_run(run_id, RunStatus.INTERRUPTED, message="SIGHUP: stopped")
    app = create_app([], str(state), blink=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, ConfirmDialog), app.screen
        assert f"Run {run_id} (v0.12.0 arm64 into {url}" in dialog.question and "was interrupted" in dialog.question
        await pilot.press("y")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, TargetScreen), screen
        values = {i.id: i.value for i in screen.query("Input")}
        assert values["registry"] == url and values["username"] == "admin" and values["jobs"] == "3"
        assert values["password"] == ""  # asked again, never stored
        assert app.state.selected == {str(package)}


async def test_the_target_form_is_remembered_without_its_password(workdir: Path) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await to_target(pilot)
        screen.query_one("#username").value = "admin"
        screen.query_one("#password").value = PASSWORD
        screen.query_one("#limit_rate").value = "20MiB"
        await pilot.press("ctrl+n")
        await settle(pilot)
    files = [p for p in (workdir / "state").rglob("*") if p.is_file()]
    assert any(p.name == "forms.json" for p in files)
    assert not [p for p in files if PASSWORD.encode() in p.read_bytes()]
    again = create_app([Path("pk")], "state", blink=False)  # the next start, no target given
    assert again.state.settings.username == "admin" and again.state.settings.limit_rate == "20MiB"
    assert again.state.settings.registry == "layout" and again.state.settings.password == ""


def test_a_field_holding_the_password_is_not_remembered(tmp_path: Path) -> None:
    config = target_config(TargetInputs(registry="https://r.example:5000", password=secret(PASSWORD), username="u"))
    workspace = Workspace(state_dir=tmp_path)
    workspace.remember_form(config, {"registry": "https://r.example:5000", "username": f"admin{PASSWORD}",
                                     "password": PASSWORD, "prefix": "p"})
    assert workspace.remembered_form() == {"registry": "https://r.example:5000", "prefix": "p"}
    assert not [p for p in tmp_path.rglob("*") if p.is_file() and PASSWORD.encode() in p.read_bytes()]


def test_no_terminal_no_tui(tmp_path: Path) -> None:
    for args in ((), (str(tmp_path),)):  # ``archfuse DIR`` is still the TUI on DIR: it needs a terminal too
        result = archfuse(*args, state_dir=tmp_path / "state", timeout=30)
        assert result.code == 2, result
        assert "needs a terminal" in result.err and "ssh -t" in result.err and "archfuse import" in result.err


def test_a_mistyped_command_is_a_usage_error(tmp_path: Path) -> None:
    result = archfuse("imprt", "pk", "--registry", "r", state_dir=tmp_path / "state", timeout=30)
    assert result.code == 2, result
    assert "did you mean `archfuse import`?" in result.err


async def test_keys_typed_ahead_of_tab_do_not_put_the_password_in_the_username(workdir: Path) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await to_target(pilot)
        screen.query_one("#username").focus()
        await pilot.pause()
        driver = app._driver
        assert driver is not None
        for key in [*"admin", "tab", *PASSWORD]:  # one burst: nothing waits for the focus to move
            event = events.Key(key, key if len(key) == 1 else None)
            event.set_sender(app)
            driver.send_message(event)
        await settle(pilot)
        values = {i.id: i.value for i in screen.query("Input")}
        assert values["username"] == "admin" and values["password"] == PASSWORD, values


async def test_a_username_holding_the_password_is_refused_with_a_sentence(workdir: Path) -> None:
    app = make_app()
    app.state.settings = TargetSettings(registry="layout", username=f"admin{PASSWORD}", password=PASSWORD)
    async with app.run_test(size=(80, 24)) as pilot:
        await to_target(pilot)
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert isinstance(app.screen, ErrorDialog)
        assert "The Username field held the password" in app.screen.message
        assert PASSWORD not in str(app.screen.query_one("#error-message").render())
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, TargetScreen) and app.screen.query_one("#username").value == ""
