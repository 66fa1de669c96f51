"""The forward-only tar reader, checked against Python's tarfile as the independent writer."""

from __future__ import annotations

import io
import tarfile

import pytest

from core.package.tarstream import DIR, FILE, SYMLINK, TarProblem, TarStream, safe_name


def _tar(
    members: list[tuple[str, bytes]], fmt: int = tarfile.PAX_FORMAT, symlink: str | None = None
) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as t:
        t.addfile(_dir("dir"))
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
        if symlink:
            info = tarfile.TarInfo("link")
            info.type = tarfile.SYMTYPE
            info.linkname = symlink
            t.addfile(info)
    return buf.getvalue()


def _dir(name: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    return info


@pytest.mark.parametrize("fmt", [tarfile.PAX_FORMAT, tarfile.GNU_FORMAT, tarfile.USTAR_FORMAT])
def test_reads_what_tarfile_writes_including_long_names(fmt: int) -> None:
    long = "a/" + "x" * 90 + "/" + "y" * 60 + ".txt"  # > 100 chars: pax path / GNU longname / ustar prefix
    members = [(long, b"hello"), ("b.bin", bytes(range(256)) * 5), ("empty", b"")]
    entries = [
        (e.name, e.type, e.stream.read()) for e in TarStream(io.BytesIO(_tar(members, fmt, symlink="b.bin")))
    ]
    assert entries[0][:2] == ("dir", DIR)
    assert [(n, d) for n, t, d in entries if t == FILE] == members
    assert entries[-1][:2] == ("link", SYMLINK)


def test_unread_member_data_is_skipped() -> None:
    data = _tar([("one", b"1" * 1000), ("two", b"2" * 10)])
    stream = iter(TarStream(io.BytesIO(data)))
    next(stream)  # dir
    first = next(stream)
    assert first.stream.read(3) == b"111"
    second = next(stream)
    assert (second.name, second.stream.read()) == ("two", b"2" * 10)


def test_truncated_tar_is_reported() -> None:
    data = _tar([("big", b"z" * 5000)])
    with pytest.raises(TarProblem, match="truncated"):
        for entry in TarStream(io.BytesIO(data[:2000])):
            entry.stream.read()


def test_missing_end_of_archive_is_truncation() -> None:
    data = _tar([("f", b"abc")])
    cut = data[: 512 * 3]  # dir header, file header, file block, and nothing after
    with pytest.raises(TarProblem, match="truncated"):
        list(TarStream(io.BytesIO(cut)))


def test_not_a_tar() -> None:
    with pytest.raises(TarProblem, match="not a tar archive"):
        list(TarStream(io.BytesIO(b"hello world" * 100)))


@pytest.mark.parametrize(
    ("raw", "problem"),
    [("/etc/passwd", "absolute"), ("a/../../b", "'..'"), ("..", "'..'")],
)
def test_hostile_names_are_refused(raw: str, problem: str) -> None:
    with pytest.raises(TarProblem, match=problem):
        safe_name(raw)
    with pytest.raises(TarProblem, match=problem):
        list(TarStream(io.BytesIO(_tar([(raw, b"x")]))))


def test_names_are_normalised() -> None:
    assert safe_name("./data//addon/./x.tar") == "data/addon/x.tar"
