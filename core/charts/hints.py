"""Image hints (relok8s format): Go-template strings naming the values keys of one image.

A hint is text with ``{{ .a.b }}`` placeholders, e.g.
``"{{ .image.registry }}/{{ .image.repository }}:{{ .image.tag }}"`` or ``"{{ .image }}"``.
A leading ``.Values`` is accepted and dropped. Subchart values are reached through the
subchart's key (``{{ .sub.image.repository }}``). Everything here is pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core.errors import ChartError
from core.safeload import DocumentError, load_yaml

KeyPath = tuple[str, ...]

_PLACEHOLDER = re.compile(r"\{\{-?\s*(.*?)\s*-?\}\}")
_KEYS = re.compile(r"^\.[A-Za-z0-9_][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_][A-Za-z0-9_-]*)*$")


@dataclass(frozen=True)
class Hint:
    """A parsed hint: literal text and key paths, in order."""

    template: str
    parts: tuple[str | KeyPath, ...]

    @property
    def keys(self) -> tuple[KeyPath, ...]:
        return tuple(p for p in self.parts if isinstance(p, tuple))


def _where(bundle: str) -> str:
    return f"bundle {bundle}" if bundle else "the chart"


def parse_hint(template: str, *, bundle: str = "") -> Hint:
    """Parse one hint template; raise ChartError for anything but plain key placeholders."""
    parts: list[str | KeyPath] = []
    pos = 0
    for match in _PLACEHOLDER.finditer(template):
        if match.start() > pos:
            parts.append(template[pos : match.start()])
        expr = match.group(1)
        if not _KEYS.match(expr):
            raise ChartError(
                f"Image hint {template!r} in {_where(bundle)} uses {expr!r}, which is not a values key."
            )
        path = tuple(expr[1:].split("."))
        if path[0] == "Values" and len(path) > 1:
            path = path[1:]
        parts.append(path)
        pos = match.end()
    if pos < len(template):
        parts.append(template[pos:])
    if "{{" in template[pos:] or not any(isinstance(p, tuple) for p in parts):
        raise ChartError(f"Image hint {template!r} in {_where(bundle)} names no values key.")
    return Hint(template, tuple(parts))


def parse_hints(text: str | bytes, *, bundle: str = "") -> list[Hint]:
    """Parse hints.yaml: a YAML list of template strings (an empty file means no hints)."""
    try:
        data = load_yaml(text)
    except DocumentError as err:
        raise ChartError(f"hints.yaml in {_where(bundle)} {err}.") from None
    if data is None:
        return []
    if not isinstance(data, list) or not all(isinstance(t, str) for t in data):
        raise ChartError(f"hints.yaml in {_where(bundle)} is not a list of template strings.")
    return [parse_hint(t, bundle=bundle) for t in data]


_MISSING = object()


def lookup(values: Any, path: KeyPath) -> Any:
    """The value at ``path`` in nested mappings, or a sentinel (see :func:`has_key`) when absent."""
    node = values
    for key in path:
        if not isinstance(node, Mapping) or key not in node:
            return _MISSING
        node = node[key]
    return node


def is_missing(value: Any) -> bool:
    """True for the sentinel :func:`lookup` returns for an absent key."""
    return value is _MISSING


def scalar_text(value: Any) -> str:
    """A scalar rendered as Go's text/template prints it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def render(hint: Hint, values: Any, *, bundle: str = "") -> tuple[str, list[tuple[KeyPath, int, int]]]:
    """The text a hint renders to, and the span each key covers in it."""
    out: list[str] = []
    spans: list[tuple[KeyPath, int, int]] = []
    pos = 0
    for part in hint.parts:
        if isinstance(part, str):
            text = part
        else:
            value = lookup(values, part)
            if is_missing(value) or value is None or isinstance(value, (Mapping, list)):
                key = ".".join(part)
                what = "does not exist" if is_missing(value) or value is None else "is not a scalar"
                raise ChartError(
                    f"Image hint {hint.template!r} in {_where(bundle)} names values key {key!r}, which {what}."
                )
            text = scalar_text(value)
            spans.append((part, pos, pos + len(text)))
        out.append(text)
        pos += len(text)
    return "".join(out), spans


def with_default_tag(ref: str, app_version: str = "") -> str:
    """``ref`` with the chart's appVersion (else ``latest``) as tag when it has neither tag nor digest.

    Helm charts default an image's tag to the chart's appVersion; the package scan does the same.
    """
    if "@" in ref or ":" in ref.rsplit("/", 1)[-1]:
        return ref
    return f"{ref}:{app_version or 'latest'}"


def hinted_images(
    hints: list[str] | list[Hint], values: Any, *, app_version: str = "", bundle: str = ""
) -> list[str]:
    """The image references the hints resolve to in ``values``, in hint order, without duplicates."""
    seen: dict[str, None] = {}
    for hint in hints:
        parsed = hint if isinstance(hint, Hint) else parse_hint(hint, bundle=bundle)
        text, _ = render(parsed, values, bundle=bundle)
        seen.setdefault(with_default_tag(text, app_version), None)
    return list(seen)


def resolve_hint(hint: str, values: Any, *, app_version: str = "", bundle: str = "") -> str | None:
    """The image reference one hint names in ``values``, or None when it names keys that are not there."""
    try:
        return hinted_images([hint], values, app_version=app_version, bundle=bundle)[0]
    except ChartError:
        return None
