"""Reading the package while an upload sends (core.run.pipe): the bytes, the bound, the overlap, the ends."""

from __future__ import annotations

import io
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import BinaryIO

import pytest

from core.errors import TargetError
from core.run import pipe as pipe_module
from core.run.pipe import PIECE, Pipe, piped_upload


class Source(io.BytesIO):
    """A package member: counts what was read, and lets a test wait until so much was read."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.read_so_far = 0
        self.reached = threading.Condition()

    def read(self, size: int | None = -1, /) -> bytes:
        data = super().read(size)
        with self.reached:
            self.read_so_far += len(data)
            self.reached.notify_all()
        return data


@pytest.fixture
def pool() -> ThreadPoolExecutor:
    with ThreadPoolExecutor(2) as executor:
        yield executor


def test_every_byte_reaches_the_upload_in_order(pool: ThreadPoolExecutor) -> None:
    data = os.urandom(5 * PIECE + 12345)
    got: list[bytes] = []

    def upload(stream: BinaryIO) -> None:
        while chunk := stream.read(777_777):
            got.append(chunk)

    piped_upload(upload, Source(data), len(data), pool)
    assert b"".join(got) == data


def test_the_reader_runs_ahead_of_the_upload_within_the_bound(pool: ThreadPoolExecutor) -> None:
    data = os.urandom(8 * PIECE)
    source = Source(data)
    seen: list[Pipe] = []
    real = pipe_module.Pipe

    def recording(depth: int) -> Pipe:
        seen.append(real(depth))
        return seen[-1]

    def upload(stream: BinaryIO) -> None:
        # the upload waits until the reader is three pieces ahead of it: only a reader that goes on
        # while the upload has not read anything gets there
        with source.reached:
            assert source.reached.wait_for(lambda: source.read_so_far >= 3 * PIECE, timeout=30)
        assert stream.read() == data

    pipe_module.Pipe = recording
    try:
        piped_upload(upload, source, len(data), pool, depth=4 * PIECE)
    finally:
        pipe_module.Pipe = real
    assert 3 * PIECE <= seen[0].peak <= 4 * PIECE


def test_an_upload_that_ends_early_leaves_the_rest_unread(pool: ThreadPoolExecutor) -> None:
    data = os.urandom(64 * PIECE)
    source = Source(data)
    piped_upload(lambda _stream: None, source, len(data), pool, depth=2 * PIECE)  # the blob was there already
    assert source.read_so_far < len(data)  # the caller skips (and hashes) the rest


def test_a_failed_upload_is_raised_and_stops_the_reader(pool: ThreadPoolExecutor) -> None:
    data = os.urandom(64 * PIECE)
    source = Source(data)

    def upload(stream: BinaryIO) -> None:
        stream.read(PIECE)
        raise TargetError("the registry refused the blob")

    with pytest.raises(TargetError, match="refused"):
        piped_upload(upload, source, len(data), pool, depth=2 * PIECE)
    assert source.read_so_far < len(data)


def test_a_short_source_ends_the_upload(pool: ThreadPoolExecutor) -> None:
    data = os.urandom(3 * PIECE)
    got: list[int] = []

    def upload(stream: BinaryIO) -> None:
        got.append(len(stream.read()))

    piped_upload(upload, Source(data), len(data) + PIECE, pool)  # the archive ends early
    assert got == [len(data)]
