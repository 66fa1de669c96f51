"""How sizes and durations read (and are typed) in every message, table, report and option."""

from __future__ import annotations

from core.errors import UsageError

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB")


def size_text(n: float) -> str:
    """``512 B``, ``17.2 KiB``, ``1.0 GiB`` (binary units)."""
    value = float(n)
    for unit in _UNITS:
        if abs(value) < 1024 or unit == _UNITS[-1]:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def parse_size(text: str, *, flag: str = "--spool-budget", minimum: int = 1 << 20) -> int:
    """``256MiB``, ``1G``, ``1048576`` -> bytes (at least ``minimum``)."""
    units = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
    s = text.strip().lower().removesuffix("b").removesuffix("i")
    num, unit = (s[:-1], s[-1]) if s and s[-1] in units and s[-1].isalpha() else (s, "")
    try:
        value = int(float(num) * units[unit])
    except (ValueError, OverflowError):  # not a number, inf or nan
        raise UsageError(f"{flag} {text!r} is not a size; write it like 256MiB or 1GiB.") from None
    if value < minimum:
        raise UsageError(f"{flag} must be at least {minimum >> 20}MiB.")
    return value


def duration_text(seconds: float) -> str:
    """``45 s``, ``10 min``, ``1 h 30 min``."""
    if seconds < 60:
        return f"{seconds:g} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h" + (f" {minutes % 60} min" if minutes % 60 else "")


_SECONDS = {"": 1.0, "s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}


def parse_duration(text: str, *, flag: str, minimum: float = 0.0) -> float:
    """``90``, ``90s``, ``10m``, ``10min``, ``1h``, ``1.5h`` -> seconds (at least ``minimum``)."""
    s = text.strip().lower().replace(" ", "")
    number = s.rstrip("abcdefghijklmnopqrstuvwxyz")
    unit = s[len(number):]
    try:
        value = float(number) * _SECONDS[unit]
    except (ValueError, KeyError):
        raise UsageError(f"{flag} {text.strip()!r} is not a duration; write it like 90s, 10m or 1h.") from None
    if not value >= minimum or value == float("inf"):
        raise UsageError(f"{flag} must be at least {duration_text(minimum)}, written like 90s, 10m or 1h.")
    return value
