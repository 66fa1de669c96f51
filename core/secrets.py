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
#: where a URL starts in a text: its scheme and ``//``
_URL_START = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://")
#: what ends a URL's authority (RFC 3986), and what ends a URL in a message
_AUTHORITY_END = re.compile(r"[/?#]")
_URL_END = re.compile(r"\s")
#: shorter secrets are not searched for in text (see :func:`mask`)
MIN_MASKED_LENGTH = 6


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


def split_userinfo(url: str) -> tuple[str, str | None]:
    """``url`` without its ``user:password@``, and that user info as written (None without one).

    As RFC 3986 reads an authority, the user info ends at the *last* ``@`` before the host, so a
    password typed unencoded with ``@``, ``/``, ``?`` or ``#`` in it is taken out whole (the
    authority then ends at the first ``/``, ``?`` or ``#`` after that ``@``). An ``@`` that only
    a path, query or fragment holds (``https://host/a@b``) is user info only when what comes
    before it has a ``:`` (a password): with a password that cannot be told from a path, the
    safe reading hides it. Text without ``scheme://`` at its start is returned as it is.
    """
    start = _URL_START.match(url)
    if start is None:
        return url, None
    rest = url[start.end() :]
    at = rest.rfind("@")
    if at < 0:
        return url, None
    authority_end = _AUTHORITY_END.search(rest)
    if authority_end is not None and authority_end.start() < at and ":" not in rest[:at]:
        return url, None  # ``https://host/path@x``: an @ of the path, no credentials
    return url[: start.end()] + rest[at + 1 :], rest[:at]


def hide_userinfo(text: str) -> str:
    """``text`` with the ``user:password@`` of every URL in it cut (a URL ends at white space)."""
    out: list[str] = []
    pos = 0
    for start in _URL_START.finditer(text):
        if start.start() < pos:
            continue  # a scheme inside user info already cut
        end_match = _URL_END.search(text, start.end())
        end = end_match.start() if end_match else len(text)
        out += [text[pos : start.start()], split_userinfo(text[start.start() : end])[0]]
        pos = end
    return "".join(out) + text[pos:]


def mask(text: str, secrets: Iterable[str]) -> str:
    """``text`` with URL user info cut and every long enough secret replaced by :data:`MASK`.

    Secrets are kept out of messages by construction: a URL's user info is taken out where the
    URL is read (:func:`split_userinfo`), passwords live in :class:`Secret`, and headers are never
    put into messages. The substring search here is only a safety net, and a safety net must not
    give away what it guards: replacing every ``e`` of a text when the password is ``e`` turns
    ``versions`` into ``v***rsions``, which mangles the text and tells the reader the password.
    So a secret shorter than :data:`MIN_MASKED_LENGTH` characters is never searched for (its
    occurrences are almost always ordinary text, and a mask would reveal it), while a longer
    one is masked wherever it occurs: it is unlikely to be ordinary text, so where it occurs it
    is most likely the secret itself, and the mask hides it. Longer secrets are masked first,
    so a secret that holds another one is masked whole.
    """
    text = hide_userinfo(text)
    for value in sorted({s for s in secrets if len(s) >= MIN_MASKED_LENGTH}, key=len, reverse=True):
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
