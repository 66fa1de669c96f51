"""Version ordering: ``v0.12.0`` after ``v0.12.0-rc.1`` after ``v0.11.9``."""

from __future__ import annotations

import re

_SEMVER = re.compile(r"^[vV]?(?P<core>\d+(?:\.\d+)*)(?:-(?P<pre>[0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$")


def _natural(text: str) -> tuple[tuple[int, int | str], ...]:
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in re.split(r"(\d+)", text) if p)


def version_key(version: str) -> tuple[object, ...]:
    """Sort key for versions like ``v0.12.0``: numbers compare as numbers, a pre-release
    (``v0.12.0-rc.1``) sorts before its release, build metadata (``+...``) is ignored."""
    match = _SEMVER.match(version)
    if match is None:
        return (_natural(version.lstrip("vV")), 1, ())
    pre = match["pre"]
    return (_natural(match["core"]), 0 if pre else 1, _natural(pre or ""))
