"""What a newcomer meets first on a fresh node: the install scripts' words, `-V`, `--help`, bash
completion, each check said once, and the keys the TUI names."""

from __future__ import annotations

import importlib.util
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from textual.widgets import Input, Static

import core
from tests.cli_driver import archfuse
from tests.tui_support import make_app, to_checks, workdir_fixture  # noqa: F401 - fixture
from tui.app import ArchfuseApp
from tui.cli import build_parser
from tui.screens.checks import ChecksScreen
from tui.screens.packages import PackagesScreen
from tui.screens.target import TargetScreen
from tui.widgets.plan import PlanTable

ROOT = Path(__file__).resolve().parents[1]


def load_script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(name="install_sh")
def install_sh_fixture(tmp_path: Path) -> Path:
    """The bundle's install.sh as scripts/offline-bundle writes it (no wheels beside it)."""
    path = tmp_path / "install.sh"
    path.write_text(load_script("offline_bundle").render_install(core.__version__))
    path.chmod(0o755)
    return path


def run(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), **(env or {})}
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, env=environ, timeout=60,
                          stdin=subprocess.DEVNULL, check=False)


# -- the install scripts -------------------------------------------------------------------------
def test_install_sh_says_a_python_path_that_does_not_exist_does_not(install_sh: Path, tmp_path: Path) -> None:
    missing = tmp_path / "no-such" / "python3.11"
    done = run("sh", install_sh, "--prefix", tmp_path / "p", env={"PYTHON": str(missing)})
    assert done.returncode == 1
    assert f"PYTHON={missing} does not exist" in done.stderr
    assert "0.0" not in done.stderr and "newer" not in done.stderr


def test_install_sh_prefix_without_a_value_is_a_sentence(install_sh: Path) -> None:
    for flag in ("--prefix", "--bin-dir"):
        done = run("sh", install_sh, flag)
        assert done.returncode == 2
        assert done.stderr.strip() == f"install.sh: {flag} needs a directory: {flag} DIR (see --help)"


def test_bootstrap_says_a_python_path_that_does_not_exist_does_not(tmp_path: Path) -> None:
    missing = tmp_path / "python3.11"
    done = run(ROOT / "scripts" / "bootstrap", env={"PYTHON": str(missing)})
    assert done.returncode == 1
    assert f"PYTHON={missing} does not exist" in done.stderr


def test_the_pythons_agree_install_sh_bundle_and_readme(install_sh: Path) -> None:
    pythons = load_script("offline_bundle").PYTHONS
    oldest, newest = (p.split(".")[1] for p in (pythons[0], pythons[-1]))
    text = install_sh.read_text()
    assert f"oldest={oldest} " in text and f"newest={newest}\n" in text and "@" not in text.replace("$@", "")
    readme = (ROOT / "README.md").read_text()
    assert f"CPython {pythons[0]} to {pythons[-1]}" in readme
    assert "requires-python = \">=3.9\"" in (ROOT / "pyproject.toml").read_text() and pythons[0] == "3.9"


# -- the command line ----------------------------------------------------------------------------
def test_dash_capital_v_prints_the_version() -> None:
    done = run(sys.executable, "-m", "tui.cli", "-V", env={"PYTHONPATH": str(ROOT)})
    assert done.returncode == 0 and done.stdout.strip() == f"archfuse {core.__version__}"


def test_help_names_archfuse_dir_and_the_exit_codes() -> None:
    text = build_parser().format_help()
    assert "archfuse [DIR | PACKAGE...]" in text
    assert "exit codes:" in text and "3  preflight failed" in text


def test_bash_completion_is_the_parsers_and_names_every_command_and_flag() -> None:
    completion = load_script("completion")
    script = (ROOT / "scripts" / "completion.bash").read_text()
    assert script == completion.render(build_parser()), "run: python scripts/completion.py > scripts/completion.bash"
    parser = build_parser()
    commands = completion.commands(parser)
    assert set(commands) >= {"tui", "demo", "scan", "plan", "import", "verify", "list", "diff", "history", "rollback"}
    words = set(re.findall(r"--?[\w-]+|\b[a-z]+\b", script))
    for sub in [parser, *commands.values()]:
        for action in sub._actions:
            assert set(action.option_strings) <= words, action.option_strings
    assert set(commands) <= words
    done = run("bash", "-c", f"source {ROOT / 'scripts' / 'completion.bash'}; COMP_WORDS=(archfuse imp); COMP_CWORD=1; "
               "_archfuse; echo ${COMPREPLY[*]}; COMP_WORDS=(archfuse import --ins); COMP_CWORD=2; _archfuse; "
               "echo ${COMPREPLY[*]}")
    assert done.stdout.split("\n")[:2] == ["import", "--insecure"], done.stderr


@pytest.fixture(name="closed_port")
def closed_port_fixture() -> Iterator[int]:
    """A loopback port bound and not listening: every connection is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def test_each_check_is_said_once_and_a_closed_port_is_tried_once(workdir: Path, closed_port: int) -> None:
    result = archfuse("plan", workdir / "pk", "--registry", f"http://127.0.0.1:{closed_port}", "--insecure",
                      "--retry-for", "2s", state_dir=workdir / "state")  # the check's tries end in 2 s, not in 30 s
    assert result.code == 3
    said = result.out + result.err
    failed = [line for line in said.splitlines() if "Cannot reach registry" in line and line.startswith("[fail]")]
    assert len(failed) == 1, said  # the target's check; the charts in it are not asked again
    for line in said.splitlines():
        if line.startswith("[  ok]"):
            assert said.count(line.split("] ", 1)[1]) == 1, line
    assert re.search(r"^Checks: \d+ ok, 1 fail \(each shown above\)\.$", result.out, re.M), result.out


# -- the TUI -------------------------------------------------------------------------------------
async def test_the_empty_packages_screen_names_the_browse_key(workdir: Path) -> None:
    app = ArchfuseApp([], state_dir="state", registry="layout", blink=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, PackagesScreen)
        status = str(app.screen.query_one("#status", Static).render())
        assert "press Ctrl+O to browse" in status
        await pilot.press("ctrl+o")
        await pilot.pause()
        assert type(app.screen).__name__ == "PickDirectory"  # the key browses
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen.query_one("#paths", Input).value == ""  # and nothing was typed


async def test_escape_in_the_checks_filter_closes_the_filter(workdir: Path) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        checks = await to_checks(pilot)
        table = checks.query_one(PlanTable)
        await pilot.press("slash", *"metrics")
        await pilot.pause()
        assert table.row_count < len(table.rows_all)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ChecksScreen)
        assert checks.query_one("#filter", Input).value == "" and table.has_focus
        assert table.row_count == len(table.rows_all)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, TargetScreen)
