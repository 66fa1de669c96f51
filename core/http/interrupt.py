"""Connections that can be cut from another thread, so a cancel does not wait for a stalled server.

Closing an httpx client does not wake a thread blocked sending to (or waiting on) a server that
stopped answering: that thread waits for its read timeout (minutes). :class:`CuttableBackend`
keeps the sockets it opened and :meth:`CuttableBackend.cut` shuts them down, which wakes such
threads at once with a transport error.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from collections.abc import Iterable
from typing import Any, Union

import httpcore
import httpx

from core.http.bounds import network_call

_SocketOption = Union[  # evaluated at import: Python 3.9 has no X | Y here
    tuple[int, int, int], tuple[int, int, Union[bytes, bytearray]], tuple[int, int, None, int]
]


class _Stream(httpcore.NetworkStream):
    """A connection's stream that its backend can cut; TLS is started on the same tracked stream."""

    def __init__(self, inner: httpcore.NetworkStream, backend: CuttableBackend) -> None:
        self._inner = inner
        self._backend = backend

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return network_call(lambda cut: self._inner.read(max_bytes, cut), timeout)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        network_call(lambda cut: self._inner.write(buffer, cut), timeout, write=True)

    def close(self) -> None:
        self._backend.forget(self)
        self._inner.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        self._inner = self._inner.start_tls(ssl_context, server_hostname, timeout)
        return self

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)

    def cut(self) -> None:
        """Shut the socket down both ways: a thread blocked on it wakes with an error."""
        sock = self._inner.get_extra_info("socket")
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


#: the send buffer of every connection (``SO_SNDBUF``; the kernel doubles it): small, so bytes an upload
#: counts as sent are on their way to the server, not waiting in a buffer (a frozen server shows at once)
SEND_BUFFER = 512 << 10


class CuttableBackend(httpcore.NetworkBackend):
    """httpcore's synchronous backend, keeping the open streams so :meth:`cut` can shut them down;
    its connections have a small send buffer (:data:`SEND_BUFFER`)."""

    def __init__(self, send_buffer: int = SEND_BUFFER) -> None:
        self._inner = httpcore.SyncBackend()
        self._send_buffer = send_buffer
        self._streams: set[_Stream] = set()
        self._lock = threading.Lock()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[_SocketOption] | None = None,
    ) -> httpcore.NetworkStream:
        options = [*(socket_options or ()), (socket.SOL_SOCKET, socket.SO_SNDBUF, self._send_buffer)]
        stream = _Stream(self._inner.connect_tcp(host, port, timeout, local_address, options), self)
        with self._lock:
            self._streams.add(stream)
        return stream

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[_SocketOption] | None = None
    ) -> httpcore.NetworkStream:
        return self._inner.connect_unix_socket(path, timeout, socket_options)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)

    def forget(self, stream: _Stream) -> None:
        with self._lock:
            self._streams.discard(stream)

    def cut(self) -> int:
        """Shut down every open connection; the number cut."""
        with self._lock:
            streams = list(self._streams)
        for stream in streams:
            stream.cut()
        return len(streams)


def make_cuttable(client: httpx.Client) -> CuttableBackend:
    """Route ``client``'s own connections (direct, and through a proxy the environment names) through a
    :class:`CuttableBackend` (the one already there, else a new one), and return it. The client keeps
    httpx's transports, TLS and limits. Its streams also keep each request's deadline
    (:func:`core.http.bounds.network_call`)."""
    pools = []
    for transport in [client._transport, *client._mounts.values()]:  # see below
        pool = transport._pool if isinstance(transport, httpx.HTTPTransport) else None
        if isinstance(pool, httpcore.ConnectionPool):  # HTTP proxies too; httpx has no public way in
            pools.append(pool)
    found = [p._network_backend for p in pools if isinstance(p._network_backend, CuttableBackend)]
    backend = found[0] if found else CuttableBackend()
    for pool in pools:
        pool._network_backend = backend
    return backend
