"""A forward-only tar reader: members arrive one by one as bounded streams, never seeking.

Nested tars are read by opening a :class:`TarStream` over a member's stream. Problems are raised
as :class:`TarProblem` (a sentence without file context); the package reader adds the context.
Member names are normalised (``./`` and empty parts dropped) and refused when absolute or when
they climb out with ``..``.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

BLOCK = 512
CHUNK = 1 << 20
_MAX_META = 1 << 20  # longest GNU long name / pax header accepted

FILE, DIR, SYMLINK, HARDLINK, DEVICE, FIFO, OTHER = (
    "file",
    "dir",
    "symlink",
    "hardlink",
    "device",
    "fifo",
    "other",
)
_TYPES = {
    b"0": FILE, b"\0": FILE, b"7": FILE, b"5": DIR, b"1": HARDLINK, b"2": SYMLINK,
    b"3": DEVICE, b"4": DEVICE, b"6": FIFO,
}  # fmt: skip


class TarProblem(Exception):
    """Malformed, truncated or hostile tar content (message names the member when known)."""


class TarTruncated(TarProblem):
    """The tar content ends before the archive does."""


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


def read_exact(src: Readable, size: int) -> bytes:
    """Exactly ``size`` bytes from ``src`` or :class:`TarProblem` (truncated)."""
    data = src.read(size)
    if len(data) == size:
        return data
    parts = [data]
    got = len(data)
    while got < size:
        more = src.read(size - got)
        if not more:
            raise TarTruncated("the archive ends early (truncated)")
        parts.append(more)
        got += len(more)
    return b"".join(parts)


class MemberStream(io.RawIOBase):
    """The data of one tar member, readable once, in order."""

    def __init__(self, src: Readable, size: int) -> None:
        super().__init__()
        self._src = src
        self.size = size
        self.remaining = size

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1, /) -> bytes:
        if self.remaining <= 0:
            return b""
        n = self.remaining if size is None or size < 0 else min(size, self.remaining)
        data = self._src.read(n)
        if not data:
            raise TarTruncated("the archive ends early (truncated)")
        self.remaining -= len(data)
        return data

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def skip(self) -> None:
        """Read and drop what is left."""
        while self.remaining > 0:
            self.read(min(CHUNK, self.remaining))


@dataclass
class TarEntry:
    name: str  # normalised
    type: str  # file | dir | symlink | hardlink | device | fifo | other
    size: int
    linkname: str
    stream: MemberStream


def safe_name(raw: str) -> str:
    """The normalised member name, or :class:`TarProblem` when absolute or climbing with ``..``."""
    if raw.startswith("/"):
        raise TarProblem(f"member name {raw!r} is absolute")
    parts = [p for p in raw.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise TarProblem(f"member name {raw!r} contains '..'")
    return "/".join(parts)


def _number(field: bytes) -> int:
    if field[:1] and field[0] & 0x80:  # base-256 (GNU) for large sizes
        value = int.from_bytes(field[1:], "big")
        return value
    text = field.split(b"\0", 1)[0].strip(b" \0")
    if not text:
        return 0
    try:
        return int(text, 8)
    except ValueError as exc:
        raise TarProblem("a tar header has a bad number field") from exc


def _text(field: bytes) -> str:
    return field.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")


def header_ok(block: bytes) -> bool:
    """True when ``block`` is a tar header with a valid checksum."""
    if len(block) != BLOCK or block == bytes(BLOCK):
        return False
    try:
        stored = _number(block[148:156])
    except TarProblem:
        return False
    computed = sum(block[:148]) + 8 * 32 + sum(block[156:])
    return stored == computed


def _pax(data: bytes) -> dict[str, str]:
    out: dict[str, str] = {}
    pos = 0
    while pos < len(data):
        space = data.find(b" ", pos)
        if space < 0:
            break
        try:
            length = int(data[pos:space])
        except ValueError as exc:
            raise TarProblem("a pax header is malformed") from exc
        if length <= 0:
            raise TarProblem("a pax header is malformed")
        record = data[space + 1 : pos + length - 1]
        key, _, value = record.partition(b"=")
        out[key.decode("utf-8", "replace")] = value.decode("utf-8", "surrogateescape")
        pos += length
    return out


class TarStream:
    """Iterate the members of a tar read from ``src``; each member's unread data is skipped."""

    def __init__(self, src: Readable) -> None:
        self._src = src
        self._current: MemberStream | None = None
        self._pad = 0
        self._first = True

    def _finish_current(self) -> None:
        if self._current is not None:
            self._current.skip()
            self._current = None
        if self._pad:
            read_exact(self._src, self._pad)
            self._pad = 0

    def _header(self) -> bytes | None:
        block = self._src.read(BLOCK)
        if len(block) < BLOCK:
            if self._first:
                raise TarProblem("not a tar archive")
            if block:
                block += self._src.read(BLOCK - len(block))
            if len(block) < BLOCK:
                raise TarTruncated("the archive ends early (truncated)")
        if block == bytes(BLOCK):
            return None
        if not header_ok(block):
            raise TarProblem("not a tar archive" if self._first else "a tar header is corrupt")
        self._first = False
        return block

    def _meta(self, size: int) -> bytes:
        if size > _MAX_META:
            raise TarProblem("a tar extended header is too large")
        data = read_exact(self._src, size)
        read_exact(self._src, -size % BLOCK)
        return data

    def __iter__(self) -> Iterator[TarEntry]:
        long_name: str | None = None
        long_link: str | None = None
        pax: dict[str, str] = {}
        while True:
            self._finish_current()
            block = self._header()
            if block is None:
                return
            typeflag = block[156:157]
            size = _number(block[124:136])
            if typeflag == b"L":
                long_name = _text(self._meta(size))
                continue
            if typeflag == b"K":
                long_link = _text(self._meta(size))
                continue
            if typeflag == b"x":
                pax.update(_pax(self._meta(size)))
                continue
            if typeflag == b"g":
                self._meta(size)
                continue
            name = _text(block[0:100])
            if block[257:262] == b"ustar":
                prefix = _text(block[345:500])
                if prefix:
                    name = f"{prefix}/{name}"
            linkname = _text(block[157:257])
            if long_name is not None:
                name = long_name
            if long_link is not None:
                linkname = long_link
            name = pax.get("path", name)
            linkname = pax.get("linkpath", linkname)
            if "size" in pax:
                try:
                    size = int(pax["size"])
                except ValueError as exc:
                    raise TarProblem("a pax header has a bad size") from exc
            long_name = long_link = None
            pax = {}
            kind = _TYPES.get(typeflag, OTHER)
            clean = safe_name(name)
            if kind not in (FILE, OTHER):
                size = 0  # links, directories and devices carry no data (as tarfile reads them)
            self._current = MemberStream(self._src, size)
            self._pad = -size % BLOCK
            yield TarEntry(clean, kind, size, linkname, self._current)
