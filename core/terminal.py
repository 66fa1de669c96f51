"""Text from a package or a server, made safe to show on a terminal (a leaf: imports nothing of core).

A member name, a directory name, an image reference or a server's error message is data the
package's author or the registry chose. Written raw to a terminal, ``ESC ] 0 ; … BEL`` sets the
window title, ``ESC [ 2 J`` clears the screen, and a newline inside a directory name starts a line
of its own that can read ``[  ok] all checks passed``. :func:`printable` shows every such character
as a visible escape instead (``\\x1b``, ``\\n``), so a name stays on its line and reads as what it is.

Every text face (the CLI's plain output, core's ``render_*`` helpers, the TUI's widgets) passes
names through it; the JSON stream does not (it carries the exact value, JSON-escaped).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

#: C0 controls (newline, carriage return and tab included), DEL, C1 controls, and the Unicode
#: bidirectional overrides and isolates, which reorder what a line seems to say
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def printable(text: str) -> str:
    """``text`` on one line with every control character shown as an escape (``\\x1b``, ``\\n``).

    Printable text (any script) is unchanged, and so is a text already escaped: applying it twice
    gives what applying it once gave.
    """
    return _UNSAFE.sub(_escape, text)


def printable_lines(lines: Iterable[str]) -> str:
    """Lines joined by newlines, each one :func:`printable` first: a newline inside a name cannot
    start a line of its own."""
    return "\n".join(printable(line) for line in lines)
