"""A tiny tar writer for generated packages: member sizes are known up front, so nested tars
(bundle inside the outer archive, images.tar inside a bundle) stream straight to the output
without being assembled in memory or on disk."""

from __future__ import annotations

import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Protocol

BLOCK = 512
MTIME = 1_672_531_200  # 2023-01-01T00:00:00Z: fixed, so output is deterministic


class Sink(Protocol):
    def write(self, data: bytes, /) -> int: ...


@dataclass
class Content:
    """Member data: bytes, a file on disk, or a generator of a known size."""

    size: int
    data: bytes | None = None
    path: Path | None = None
    produce: Callable[[Sink], None] | None = None

    @classmethod
    def of(cls, data: bytes) -> Content:
        return cls(len(data), data=data)

    def write_to(self, out: Sink) -> None:
        if self.data is not None:
            out.write(self.data)
        elif self.path is not None:
            with self.path.open("rb") as f:
                while chunk := f.read(1 << 20):
                    out.write(chunk)
        elif self.produce is not None:
            self.produce(out)


@dataclass
class Entry:
    """One tar member; ``children`` makes it a nested tar."""

    name: str
    kind: str = "file"  # file | dir | symlink | hardlink | chardev
    content: Content | None = None
    children: list[Entry] | None = None
    linkname: str = ""
    mode: int = 0o644

    @property
    def size(self) -> int:
        if self.children is not None:
            return tar_size(self.children)
        return self.content.size if self.content is not None else 0

    def header(self) -> bytes:
        info = tarfile.TarInfo(self.name)
        info.mtime = MTIME
        info.mode = 0o755 if self.kind == "dir" else self.mode
        info.uname = info.gname = "root"
        info.type = {
            "file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE,
            "hardlink": tarfile.LNKTYPE, "chardev": tarfile.CHRTYPE,
        }[self.kind]  # fmt: skip
        info.size = self.size if self.kind == "file" else 0
        info.linkname = self.linkname
        return info.tobuf(format=tarfile.GNU_FORMAT)

    def write_to(self, out: Sink) -> None:
        out.write(self.header())
        if self.kind != "file":
            return
        if self.children is not None:
            write_tar(self.children, out)
        elif self.content is not None:
            self.content.write_to(out)
        pad = -self.size % BLOCK
        if pad:
            out.write(bytes(pad))


def tar_size(entries: list[Entry]) -> int:
    """Bytes :func:`write_tar` writes for ``entries``."""
    total = 2 * BLOCK
    for e in entries:
        total += len(e.header())
        if e.kind == "file":
            total += e.size + (-e.size % BLOCK)
    return total


def write_tar(entries: list[Entry], out: Sink) -> None:
    """Write ``entries`` as a tar (two zero blocks at the end, no record padding)."""
    for e in entries:
        e.write_to(out)
    out.write(bytes(2 * BLOCK))


def tar_bytes(entries: list[Entry]) -> bytes:
    """A small tar in memory."""
    parts: list[bytes] = []

    class _Buf:
        def write(self, data: bytes, /) -> int:
            parts.append(bytes(data))
            return len(data)

    write_tar(entries, _Buf())
    return b"".join(parts)


@dataclass
class HashingSink:
    """Forwards writes to ``out`` and feeds them to hashers and a byte count."""

    out: BinaryIO | Sink
    hashers: list[object] = field(default_factory=list)
    count: int = 0

    def write(self, data: bytes, /) -> int:
        self.out.write(data)
        for h in self.hashers:
            h.update(data)  # type: ignore[attr-defined]
        self.count += len(data)
        return len(data)
