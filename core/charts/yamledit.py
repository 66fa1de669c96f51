"""Change scalar values in a YAML file and nothing else.

ruamel.yaml's round-trip loader finds where each value is written; the value's token is
replaced in the original text, in its original quoting style, so comments, key order,
quoting, indentation and blank lines survive byte for byte. The result is re-parsed and
compared with what was asked; if the text edit cannot be done (block scalars, aliases,
multi-line plain scalars), a ruamel round-trip dump is used instead and checked the same way.
"""

from __future__ import annotations

import copy
import io
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError as RuamelError
from ruamel.yaml.scalarstring import ScalarString

from core.errors import ChartError
from core.safeload import DocumentError, load_yaml

KeyPath = tuple[str, ...]


def _expected(text: str, edits: dict[KeyPath, str]) -> Any:
    doc = load_yaml(text)
    out = copy.deepcopy(doc)
    for path, value in edits.items():
        node = out
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    return out


def _token_end(text: str, start: int) -> int | None:
    """End offset of the scalar token at ``start``, or None when it is not a simple scalar."""
    if start >= len(text):
        return None
    first = text[start]
    if first == '"':
        i = start + 1
        while i < len(text):
            if text[i] == "\\":
                i += 2
                continue
            if text[i] == '"':
                return i + 1
            if text[i] == "\n":
                return None
            i += 1
        return None
    if first == "'":
        i = start + 1
        while i < len(text):
            if text[i] == "'":
                if text[i + 1 : i + 2] == "'":
                    i += 2
                    continue
                return i + 1
            if text[i] == "\n":
                return None
            i += 1
        return None
    if first in "|>&*!{[#\n\r":
        return None
    i = start
    while i < len(text) and text[i] not in "\r\n,]}":
        if text[i] == "#" and text[i - 1] in " \t":
            break
        i += 1
    end = i
    while end > start and text[end - 1] in " \t":
        end -= 1
    return end if end > start else None


def _render_like(old_token: str, value: str, quote_plain: bool) -> str:
    if old_token.startswith('"') or quote_plain:
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if old_token.startswith("'"):
        return "'" + value.replace("'", "''") + "'"
    return value


def _text_edit(text: str, doc: Any, edits: dict[KeyPath, str], quote_plain: bool) -> str | None:
    starts = [0]
    for i, ch in enumerate(text):
        if ch == "\n":
            starts.append(i + 1)
    spans: list[tuple[int, int, str]] = []
    for path, value in edits.items():
        node = doc
        for key in path[:-1]:
            node = node[key]
        try:
            line, col = node.lc.value(path[-1])
        except (AttributeError, KeyError, TypeError):
            return None
        start = starts[line] + col
        end = _token_end(text, start)
        if end is None:
            return None
        spans.append((start, end, _render_like(text[start:end], value, quote_plain)))
    out = text
    for start, end, new in sorted(spans, reverse=True):
        out = out[:start] + new + out[end:]
    return out


def _dump_edit(doc: Any, edits: dict[KeyPath, str]) -> str:
    for path, value in edits.items():
        node = doc
        for key in path[:-1]:
            node = node[key]
        old = node[path[-1]]
        node[path[-1]] = type(old)(value) if isinstance(old, ScalarString) else value
    rt = YAML(typ="rt")
    rt.preserve_quotes = True
    rt.width = 4096
    buf = io.StringIO()
    rt.dump(doc, buf)
    return buf.getvalue()


def edit_scalars(text: str, edits: dict[KeyPath, str], *, what: str) -> str:
    """``text`` with the value at each key path set to a new string; ``what`` names the file in errors."""
    if not edits:
        return text
    rt = YAML(typ="rt")
    rt.preserve_quotes = True
    try:
        expected = _expected(text, edits)  # first: it refuses alias bombs and deep nesting
        doc = rt.load(text)
    except DocumentError as err:
        raise ChartError(f"{what} {err}.") from None
    except (RuamelError, KeyError, TypeError) as err:
        raise ChartError(f"{what} cannot be rewritten ({str(err).splitlines()[0]}).") from err
    for attempt in ("plain", "quoted", "dump"):
        candidate: str | None
        if attempt == "dump":
            candidate = _dump_edit(doc, edits)
        else:
            candidate = _text_edit(text, doc, edits, quote_plain=attempt == "quoted")
        if candidate is None:
            continue
        try:
            if load_yaml(candidate) == expected:
                return candidate
        except DocumentError:
            pass
    raise ChartError(f"{what} cannot be rewritten without changing other values.")
