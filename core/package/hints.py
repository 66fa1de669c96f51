"""Image hints (relok8s format) resolved against a chart's values.

A hint is a Go-template string naming values keys, e.g.
``"{{ .image.registry }}/{{ .image.repository }}:{{ .image.tag }}"`` or ``"{{ .image }}"``.
When the resolved reference has neither tag nor digest (a hint of registry + repository only),
the tag is the chart's ``appVersion`` (Helm charts default the image tag to it), else ``latest``.
"""

from __future__ import annotations

import re
from typing import Any

_FIELD = re.compile(r"\{\{-?\s*\.([A-Za-z0-9_.-]+)\s*-?\}\}")


def _lookup(values: Any, dotted: str) -> str | None:
    node = values
    for key in dotted.split("."):
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    if node is None or isinstance(node, (dict, list)):
        return None
    return str(node)


def resolve_hint(hint: str, values: Any, app_version: str = "") -> str | None:
    """The image reference ``hint`` names in ``values``; None when a key is missing."""
    missing = False

    def sub(match: re.Match[str]) -> str:
        nonlocal missing
        value = _lookup(values, match[1])
        if value is None:
            missing = True
            return ""
        return value

    ref = _FIELD.sub(sub, hint).strip()
    if missing or not ref or "{{" in ref:
        return None
    last = ref.rsplit("/", 1)[-1]
    if "@" not in ref and ":" not in last:
        ref = f"{ref}:{app_version or 'latest'}"
    return ref
