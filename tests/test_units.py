"""Sizes read the same everywhere."""

from __future__ import annotations

from core.units import size_text


def test_size_text_units() -> None:
    assert size_text(0) == "0 B"
    assert size_text(500) == "500 B"
    assert size_text(17_613) == "17.2 KiB"
    assert size_text(256 << 20) == "256.0 MiB"
    assert size_text(3 << 40) == "3.0 TiB"
    assert size_text(5 << 50) == "5120.0 TiB"
