"""State faults: a corrupt, truncated, read-only or wrong-type journal or state dir, a full state disk.

One sentence naming the file and what to do, no traceback; a corrupt journal is set aside (kept)
and a fresh one started with a warning; the target is never touched by a state fault.
"""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
from pathlib import Path

import pytest

from core.errors import StateError
from core.plan.images import build_plan
from core.record.journal import FILE_NAME, Journal
from core.run.engine import ImportRun
from core.run.lifecycle import JournalRecorder
from core.targets.layout import LayoutTarget
from tests.cli_driver import archfuse
from tests.fixtures.imports import make_package
from tests.test_import_registry import pkg


def _one_sentence(err: str) -> str:
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.startswith("archfuse:")]
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize("damage", ["garbage", "truncated", "wrong type"])
def test_a_corrupt_journal_is_set_aside_and_a_fresh_one_started(
    damage: str, demo_packages: list[Path], tmp_path: Path
) -> None:
    state, layout = tmp_path / "state", tmp_path / "layout"
    amd = pkg(demo_packages, "v0.11.0", "amd64")
    assert archfuse("import", amd, "--registry", layout, "--yes", "--json", state_dir=state).code == 0
    journal = state / FILE_NAME
    if damage == "garbage":
        journal.write_bytes(b"this is not a database at all" * 200)
    elif damage == "truncated":
        data = journal.read_bytes()
        journal.write_bytes(data[: len(data) // 2])
    else:
        journal.unlink()
        with sqlite3.connect(journal) as db:  # a sound SQLite file, but not a journal
            db.execute("CREATE TABLE notes (text TEXT)")
            db.execute("PRAGMA user_version=7")
    original = journal.read_bytes()
    result = archfuse("history", "--json", state_dir=state)
    assert result.code == 0, result.err
    [warning] = result.of("warning")
    assert str(journal) in warning["message"] and "kept as journal.sqlite.corrupt-" in warning["message"]
    [kept] = list(state.glob("journal.sqlite.corrupt-*[0-9]"))
    assert kept.read_bytes() == original  # set aside, not deleted
    assert result.events[-1]["runs"] == []
    again = archfuse("import", amd, "--registry", layout, "--yes", "--json", state_dir=state)
    assert again.code == 0 and not again.of("warning"), again.err


@pytest.mark.parametrize("damage", ["garbage", "truncated", "a file", "a file in the way"])
def test_a_damaged_scan_cache_costs_only_time(damage: str, demo_packages: list[Path], tmp_path: Path) -> None:
    state = tmp_path / "state"
    amd = pkg(demo_packages, "v0.11.0", "amd64")
    first = archfuse("scan", amd, "--json", state_dir=state)
    cache = state / "scan-cache"
    [entry] = list(cache.iterdir())
    if damage == "garbage":
        entry.write_bytes(b"\x00\xff not json")
    elif damage == "truncated":
        entry.write_bytes(entry.read_bytes()[:100])
    elif damage == "a file":
        entry.unlink()
        entry.mkdir()
    else:
        shutil.rmtree(cache)
        cache.write_text("in the way")
    again = archfuse("scan", amd, "--json", state_dir=state)
    assert again.code == 0 and "Traceback" not in again.err, again.err
    assert again.events[0]["packages"][0]["images"] == first.events[0]["packages"][0]["images"]


def test_a_read_only_journal_fails_before_the_target_is_touched(
    demo_packages: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    state, layout = tmp_path / "state", tmp_path / "layout"
    with Journal(state):
        pass
    connect = sqlite3.connect

    def read_only(path: object, *args: object, **kwargs: object) -> sqlite3.Connection:
        kwargs.pop("uri", None)  # SQLite's own read-only mode: refused writes even for root
        return connect(f"file:{path}?mode=ro", *args, uri=True, **kwargs)

    monkeypatch.setattr("core.record.journal.sqlite3.connect", read_only)
    from tui.cli import main

    code = main(["import", str(pkg(demo_packages, "v0.11.0", "amd64")), "--registry", str(layout), "--yes",
                 "--state-dir", str(state)])
    line = _one_sentence(capsys.readouterr().err)
    assert code == 1 and "read-only" in line and str(state / FILE_NAME) in line and "--state-dir" in line
    assert not (layout / "index.json").exists()


@pytest.mark.parametrize("what", ["state dir is a file", "journal is a directory"])
def test_a_state_dir_of_the_wrong_type_is_one_sentence(
    what: str, demo_packages: list[Path], tmp_path: Path
) -> None:
    state, layout = tmp_path / "state", tmp_path / "layout"
    if what == "state dir is a file":
        state.write_text("not a directory")
    else:
        (state / FILE_NAME).mkdir(parents=True)
    result = archfuse("import", pkg(demo_packages, "v0.11.0", "amd64"), "--registry", layout, "--yes",
                      state_dir=state)
    line = _one_sentence(result.err)
    assert result.code == 1 and str(state) in line and "--state-dir" in line, line
    assert not (layout / "index.json").exists()


def test_a_full_state_disk_mid_run_fails_naming_the_journal_and_moves_no_tag(tmp_path: Path) -> None:
    layout = LayoutTarget(tmp_path / "layout")
    layout.ping()
    package = make_package(layout, "v1", "amd64")
    with Journal(tmp_path / "state") as journal:
        run_id = journal.start_run("import", layout.description, [package], {})
        pages = journal._db.execute("PRAGMA page_count").fetchone()[0]
        journal._db.execute(f"PRAGMA max_page_count={pages}")  # the state disk is full from now on
        with contextlib.suppress(StateError):
            for n in range(100000):  # use up the room left in the last page
                journal.tag_moving(run_id, "filler", f"t{n}", None, None)
        recorder = JournalRecorder(journal, run_id)
        summary = ImportRun(build_plan([package], layout), layout, recorder=recorder, run_id=run_id).execute()
    assert summary.status == "failed"
    text = summary.failures[0]
    assert "disk is full" in text and str(tmp_path / "state" / FILE_NAME) in text and "not touched" in text
    assert layout.get_manifest("addon/app", "1.0") is None  # the tag never moved


@pytest.mark.parametrize("spool", ["a file", "unwritable", "missing"])
def test_a_spool_dir_that_cannot_be_written_fails_preflight(
    spool: str, demo_packages: list[Path], tmp_path: Path
) -> None:
    where = {"a file": tmp_path / "spool-file", "unwritable": Path("/proc/self"), "missing": tmp_path / "no"}[spool]
    if spool == "a file":
        where.write_text("not a directory")
    layout = tmp_path / "layout"
    result = archfuse("import", pkg(demo_packages, "v0.11.0", "amd64"), "--registry", layout, "--yes", "--json",
                      "--spool-dir", where, "--spool-budget", "1MiB", state_dir=tmp_path / "state")
    assert result.code == 3, result.err
    [check] = [e for e in result.of("check_done") if e["name"] == "spool disk"]
    assert check["status"] == "fail" and str(where) in check["detail"] and "--spool-dir" in check["detail"]
    assert not (layout / "index.json").exists()


@pytest.mark.parametrize("budget", ["inf", "-inf", "nan", "1e400GiB"])
def test_a_spool_budget_that_is_not_a_size_is_a_usage_error(
    budget: str, demo_packages: list[Path], tmp_path: Path
) -> None:
    result = archfuse("plan", pkg(demo_packages, "v0.11.0", "amd64"), "--registry", tmp_path / "layout",
                      "--spool-budget", budget, state_dir=tmp_path / "state")
    assert result.code == 2 and "--spool-budget" in _one_sentence(result.err)
