"""Secrets in one place: the :class:`Secret` type that never shows itself, and :func:`mask`, which the
journal, the run reports and the emitted events pass every text through before it leaves archfuse.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from enum import Enum
from typing import Any

from core import events as ev

#: what a secret becomes wherever it would be written
MASK = "***"
#: a key (an option, a form field) whose value is a secret by its name
_SECRET_NAME = re.compile(r"pass|secret|token|auth|credential|api.?key|private", re.IGNORECASE)
#: ``user:password@`` in any URL
_URL_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]+@")


class Secret:
    """A secret string that never shows itself in ``repr``/``str``/f-strings; ``reveal()`` gives it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret itself, for the one place that sends it."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __copy__(self) -> Secret:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Secret:
        return self

    def __reduce__(self) -> Any:
        raise TypeError("a Secret is not serialisable")


def secret(value: str | None) -> Secret | None:
    """``Secret(value)``, or None for None or an empty string."""
    return Secret(value) if value else None


def is_secret_name(name: str) -> bool:
    """True for a key whose value is a secret by its name (``password``, ``chart_password``, ``token``…)."""
    return bool(_SECRET_NAME.search(name))


def mask(text: str, secrets: Iterable[str]) -> str:
    """``text`` with URL user info cut and every secret (longest first) replaced by :data:`MASK`."""
    text = _URL_USERINFO.sub(r"\g<scheme>", text)
    for value in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(value, MASK)
    return text


def mask_all(value: Any, secrets: Iterable[str]) -> Any:
    """A JSON-like value with :func:`mask` applied to every key and string; other scalars as text."""
    known = tuple(secrets)
    if isinstance(value, dict):
        return {mask(str(k), known): mask_all(v, known) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [mask_all(v, known) for v in value]
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return mask(str(value), known)


def masked_emit(emit: ev.Emit, secrets: Iterable[str]) -> ev.Emit:
    """``emit`` with every text field of each event passed through :func:`mask` first."""
    known = tuple(s for s in secrets if s)

    def emit_masked(event: ev.Event) -> None:
        texts = {
            f.name: mask(value, known)
            for f in dataclasses.fields(event)
            if isinstance(value := getattr(event, f.name), str) and not isinstance(value, Enum)
        }
        changed: dict[str, Any] = {name: text for name, text in texts.items() if text != getattr(event, name)}
        emit(dataclasses.replace(event, **changed) if changed else event)

    return emit_masked
