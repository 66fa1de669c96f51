"""Names from a package reach the terminal escaped (issue 19, item 4): a package file and its
directory named with ``ESC ] 0 ;`` (set the title), ``ESC [ 2 J`` (clear the screen), a carriage
return and a newline that would forge an ``[  ok] all checks passed`` line. The text output shows
them as ``\\x1b``, ``\\r``, ``\\n`` on the name's own line; ``--json`` keeps the exact name."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from core.demo.samples import write_sample_package
from core.terminal import printable, printable_lines
from tests.cli_driver import CliResult, archfuse

FORGED = "[  ok] all checks passed"
#: a directory name may hold a newline; the package name's version is ``.+`` of one line
HOSTILE_DIR = f"pk\x1b]0;owned\x07\n{FORGED}"
HOSTILE_VERSION = f"v0.12.0\x1b[2J{FORGED}\r"


@pytest.fixture(name="hostile")
def hostile_fixture(tmp_path: Path) -> Path:
    """A good package (with its checksum) renamed: the directory and the version carry escapes."""
    made = write_sample_package(tmp_path / "made", "v0.12.0", "amd64", payload=1024)
    folder = tmp_path / HOSTILE_DIR
    folder.mkdir()
    target = folder / made.name.replace("v0.12.0", HOSTILE_VERSION)
    for source in made.parent.iterdir():
        shutil.copy(source, folder / source.name.replace(made.name, target.name))
    return target


def _escaped(result: CliResult) -> None:
    shown = result.out + result.err
    assert not any(char in shown for char in "\x1b\x07\r"), shown
    assert not any(line.lstrip().startswith(FORGED) for line in shown.splitlines()), shown
    assert "\\x1b]0;owned\\x07\\n[  ok]" in shown and "\\x1b[2J" in shown


def test_printable_escapes_controls_once() -> None:
    assert printable("a\x1b[2J\nb\r\t\x7f\x9b\u202e é 中") == "a\\x1b[2J\\nb\\r\\t\\x7f\\x9b\\u202e é 中"
    assert printable(printable("\x1b\n")) == "\\x1b\\n"
    assert printable_lines(["one", "two\nthree"]).splitlines() == ["one", "two\\nthree"]


def test_scan_escapes_names_in_text_and_keeps_them_exact_in_json(hostile: Path, tmp_path: Path) -> None:
    text = archfuse("scan", hostile.parent, state_dir=tmp_path / "state")
    assert text.code == 0, text.err
    _escaped(text)
    assert f"== {printable(HOSTILE_VERSION)} x amd64" in text.out
    exact = archfuse("scan", hostile.parent, "--json", state_dir=tmp_path / "state")
    package = exact.events[0]["packages"][0]
    assert (package["path"], package["version"]) == (str(hostile), HOSTILE_VERSION)


def test_plan_import_and_history_escape_names(hostile: Path, tmp_path: Path) -> None:
    state, layout = tmp_path / "state", tmp_path / "layout"
    plan = archfuse("plan", hostile, "--registry", layout, state_dir=state)
    assert plan.code == 0, plan.err
    _escaped(plan)
    run = archfuse("import", hostile, "--registry", layout, "--yes", state_dir=state)
    assert run.code == 0, run.err
    _escaped(run)
    history = archfuse("history", state_dir=state)
    assert "\\x1b[2J" in history.out and "\x1b" not in history.out and "\r" not in history.out
    missing = archfuse("scan", tmp_path / HOSTILE_DIR / "nothing", state_dir=state)
    assert missing.code == 2 and "\x1b" not in missing.err and len(missing.err.splitlines()) == 1, missing.err


async def test_the_tui_shows_the_names_escaped(hostile: Path, tmp_path: Path) -> None:
    from textual.coordinate import Coordinate
    from textual.widgets import Static

    from tests.tui_support import settle
    from tui.app import create_app
    from tui.screens.dialogs import ErrorDialog
    from tui.screens.packages import NamesTree, PickDirectory
    from tui.widgets.matrix import PackageMatrix

    app = create_app([hostile.parent], str(tmp_path / "state"), str(tmp_path / "layout"), blink=False)
    async with app.run_test(size=(200, 40)) as pilot:
        await settle(pilot)
        matrix = app.screen.query_one(PackageMatrix)
        assert [p.path for p in app.state.packages] == [str(hostile)]  # the package itself, exact
        assert str(matrix.get_cell_at(Coordinate(0, 0))) == printable(HOSTILE_VERSION)
        matrix.move_cursor(row=0, column=2)
        await pilot.pause()
        detail = str(app.screen.query_one("#detail", Static).render())
        assert detail.startswith(printable(hostile.name) + ": 6 images") and "\x1b" not in detail
        app.push_screen(PickDirectory(tmp_path))
        await pilot.pause()
        tree = app.screen.query_one(NamesTree)
        for _ in range(200):  # the tree loads in a worker that stays (no settle): bounded rounds, no clock
            if tree.root.children:
                break
            await pilot.pause()
        labels = [str(node.label) for node in tree.root.children]
        assert printable(HOSTILE_DIR) in labels  # shown as it is: no markup, control characters escaped
        app.pop_screen()
        app.push_screen(ErrorDialog(f"Cannot read {hostile}."))
        await pilot.pause()
        message = str(app.screen.query_one("#error-message", Static).render())
        assert message == printable(f"Cannot read {hostile}.") and "\n" not in message
