"""The ``<file>.sha512sum`` sidecar: what it promises and whether the file keeps the promise."""

from __future__ import annotations

import hashlib
from pathlib import Path

from core.kinds import ChecksumStatus

_SIDECAR_LIMIT = 1 << 16


def sidecar_path(path: Path) -> Path:
    return path.with_name(path.name + ".sha512sum")


def expected_sha512(path: Path) -> str | None:
    """The hex digest the sidecar gives for ``path``; None without a sidecar, '' when unreadable."""
    side = sidecar_path(path)
    if not side.is_file():
        return None
    try:
        with side.open("rb") as f:
            text = f.read(_SIDECAR_LIMIT).decode("utf-8", "replace")
    except OSError:
        return ""
    lines = [line.split() for line in text.splitlines() if line.strip()]
    for parts in lines:
        if len(parts) >= 2 and parts[-1].lstrip("*").rsplit("/", 1)[-1] == path.name:
            return parts[0].lower()
    if len(lines) == 1 and lines[0]:
        return lines[0][0].lower()
    return ""


def checksum_status(path: Path, actual_hex: str) -> ChecksumStatus:
    """``ok`` / ``missing`` / ``mismatch`` for a file whose sha512 is ``actual_hex``."""
    expected = expected_sha512(path)
    if expected is None:
        return ChecksumStatus.MISSING
    return ChecksumStatus.OK if expected == actual_hex.lower() else ChecksumStatus.MISMATCH


def file_sha512(path: Path) -> str:
    """The sha512 hex digest of a file (a read of its own; the scan computes it in its one pass)."""
    h = hashlib.sha512()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def sidecar_text(path: Path, hex_digest: str) -> str:
    """A sidecar line in ``sha512sum`` format."""
    return f"{hex_digest}  {path.name}\n"
