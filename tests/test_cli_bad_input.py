"""Bad input through the command line: exit 2, one sentence, no traceback, nothing written."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli_driver import archfuse

KINDS = ["not-gzip", "truncated", "layer-digest-mismatch", "dotdot-name", "arch-mismatch"]


@pytest.mark.parametrize("kind", KINDS)
def test_scan_and_import_refuse_bad_packages(kind: str, broken_package: Callable[[str], Path],
                                             tmp_path: Path) -> None:
    path = broken_package(kind)
    scanned = archfuse("scan", path, state_dir=tmp_path / "state")
    assert scanned.code == 2
    assert "Traceback" not in scanned.err
    lines = [line for line in scanned.err.splitlines() if line.startswith("archfuse:")]
    assert len(lines) == 1 and path.name in lines[0]
    layout = tmp_path / "layout"
    imported = archfuse("import", path, "--registry", layout, "--yes", "--json", state_dir=tmp_path / "state")
    assert imported.code == 2
    assert imported.last("error")["exit_code"] == 2
    assert not (layout / "index.json").exists()


def test_usage_errors_exit_2(tmp_path: Path, demo_packages: list[Path]) -> None:
    no_target = archfuse("plan", demo_packages[0], state_dir=tmp_path)
    assert no_target.code == 2 and "--registry" in no_target.err
    plain_http = archfuse("plan", demo_packages[0], "--registry", "http://127.0.0.1:1", state_dir=tmp_path)
    assert plain_http.code == 2 and "--insecure" in plain_http.err
    missing = archfuse("scan", tmp_path / "nope.tar.gz", state_dir=tmp_path)
    assert missing.code == 2 and "nope.tar.gz" in missing.err
    budget = archfuse("import", demo_packages[0], "--registry", tmp_path / "l", "--yes", "--spool-budget", "lots",
                      state_dir=tmp_path)
    assert budget.code == 2 and "--spool-budget" in budget.err


def test_import_without_yes_off_a_terminal_asks_for_it(tmp_path: Path, demo_packages: list[Path]) -> None:
    result = archfuse("import", demo_packages[0], "--registry", tmp_path / "layout", state_dir=tmp_path / "s")
    assert result.code == 2 and "--yes" in result.err
    assert not (tmp_path / "layout" / "index.json").exists()
