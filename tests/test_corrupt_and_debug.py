"""Corrupt compressed data is a damaged package (exit 2, one sentence naming the file), and ``--debug``
adds a traceback without changing any exit code."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.demo.samples import write_sample_package
from core.errors import ArchfuseError, PackageError, PreflightFailed, RegistryError, UsageError
from core.package.scan import scan_package
from tests.cli_driver import archfuse
from tui import cli


def _corrupt_deflate(tmp_path: Path) -> Path:
    """A sample package whose gzip stream is damaged in its middle: isal stops with an IsalError
    (``Invalid lookback distance``/``Invalid deflate block``), not zlib's error nor a CRC mismatch."""
    good = write_sample_package(tmp_path / "good", "v0.0.1", "amd64", charts=["metrics-server"])
    data = bytearray(good.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 64] = b"\xff" * 64
    bad = tmp_path / good.name
    bad.write_bytes(bytes(data))
    return bad


def test_corrupt_deflate_data_is_a_damaged_package(tmp_path: Path) -> None:
    path = _corrupt_deflate(tmp_path)
    with pytest.raises(PackageError) as info:
        scan_package(path, strict=False)
    assert info.value.exit_code == 2
    assert str(info.value).startswith(path.name + ": ") and "compressed data is truncated or corrupt" in str(info.value)


@pytest.mark.parametrize("debug", [False, True])
def test_corrupt_deflate_data_exits_2_with_one_sentence(tmp_path: Path, debug: bool) -> None:
    path = _corrupt_deflate(tmp_path)
    flags = ["--debug"] if debug else []
    scanned = archfuse("scan", path, *flags, state_dir=tmp_path / "state")
    assert scanned.code == 2, scanned.err
    lines = [line for line in scanned.err.splitlines() if line.startswith("archfuse:")]
    assert len(lines) == 1 and path.name in lines[0] and "corrupt" in lines[0]
    assert ("Traceback" in scanned.err) == debug  # --debug shows where, and changes nothing else
    layout = tmp_path / "layout"
    imported = archfuse("import", path, "--registry", layout, "--yes", *flags, state_dir=tmp_path / "state")
    assert imported.code == 2, imported.err
    assert not (layout / "index.json").exists()


@pytest.mark.parametrize(
    "error",
    [
        RegistryError("The registry http://r.example failed."),
        UsageError("Bad flag."),
        PackageError("p.tar.gz: corrupt."),
        PreflightFailed("A check failed."),
    ],
)
def test_debug_never_changes_the_exit_code(
    error: ArchfuseError, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def fail(_args: object) -> int:
        raise error

    monkeypatch.setitem(cli.COMMANDS, "scan", fail)
    assert cli.main(["scan", "x"]) == error.exit_code
    plain = capsys.readouterr().err
    assert cli.main(["scan", "x", "--debug"]) == error.exit_code
    debugged = capsys.readouterr().err
    assert "Traceback" in debugged and "Traceback" not in plain
    assert debugged.splitlines()[-1] == plain.splitlines()[-1] == f"archfuse: {error}"
