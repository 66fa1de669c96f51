"""Human-readable sizes, rates and durations for the screens (humanize, binary units)."""

from __future__ import annotations

import humanize


def size(n: int) -> str:
    """``12.3 MiB``."""
    return humanize.naturalsize(n, binary=True, format="%.1f")


def rate(bytes_per_second: float) -> str:
    """``4.2 MiB/s``, or ``-`` before anything moved."""
    return f"{size(int(bytes_per_second))}/s" if bytes_per_second > 0 else "-"


def eta(remaining: int, bytes_per_second: float) -> str:
    """``about 3 minutes``, ``-`` when it cannot be told."""
    if bytes_per_second <= 0 or remaining <= 0:
        return "-"
    return humanize.naturaldelta(remaining / bytes_per_second)


def platforms(items: tuple[str, ...] | list[str]) -> str:
    """``amd64,arm64`` (the ``linux/`` prefix dropped: it is almost always linux)."""
    return ",".join(p.removeprefix("linux/") for p in items) or "-"
