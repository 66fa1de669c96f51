"""A hostile or broken server cannot exhaust the node or hold archfuse for ever.

A small loopback server plays the hostile registry (no real registry sends endless or trickling
answers): every answer archfuse reads into memory stops at its bound with one sentence naming the
server, however much the server would send, and a request whose answer trickles in (the read
timeout restarts with every byte) is abandoned at its deadline and retried like a broken
connection, saying so.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler

import pytest

from core import events as ev
from core.charts.chartmuseum import ChartMuseumDestination
from core.errors import RegistryError, TargetError, TransportError
from core.http.bounds import Deadline
from core.oci.digest import sha256_digest
from core.registry.client import RegistryClient
from core.registry.credentials import Credentials
from core.registry.harbor import HarborClient
from core.registry.retry import RetryPolicy
from core.run.progress import stall_text
from tests.fixtures.loopback import LoopbackServer

#: what the endless server sends at most: far past every bound, so an unbounded read is seen
ENDLESS = 128 << 20
#: sent past a bound while the client stops (socket buffers on both sides)
SLACK = 24 << 20
_MANIFEST = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": []}).encode()


class Hostile(LoopbackServer):
    """Answers every request the hostile way ``mode`` says: ``endless`` (a body that never ends,
    ``status`` given), ``token`` (a bearer challenge whose token service answers endlessly) or
    ``trickle`` (a whole valid manifest answer, one byte every 20 ms)."""

    def __init__(self, mode: str, status: int = 200) -> None:
        self.mode, self.status = mode, status
        self.sent = 0
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        super().__init__(_Handler)

    def stop(self) -> None:
        self.stopping.set()
        super().stop()


class _Handler(BaseHTTPRequestHandler):
    server: Hostile

    def _answer(self) -> None:
        mode = self.server.mode
        if mode == "token" and not self.path.startswith("/token"):
            self.send_response(401)
            self.send_header("WWW-Authenticate", f'Bearer realm="{self.server.url}/token",service="hostile"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if mode == "trickle":
            head = (
                "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.oci.image.index.v1+json\r\n"
                f"Content-Length: {len(_MANIFEST)}\r\nDocker-Content-Digest: {sha256_digest(_MANIFEST)}\r\n"
                "Connection: close\r\n\r\n"
            )
            for byte in head.encode() + _MANIFEST:
                if self.server.stopping.wait(0.02):
                    return
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
            return
        self.send_response(self.server.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Connection", "close")
        self.end_headers()
        piece = b"[" * (64 << 10)
        while self.server.sent < ENDLESS and not self.server.stopping.is_set():
            self.wfile.write(piece)
            with self.server.lock:
                self.server.sent += len(piece)

    def handle(self) -> None:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError, socket.timeout):
            super().handle()  # a broken pipe: the client stopped reading, what the test wants

    do_GET = do_HEAD = do_POST = do_PUT = _answer

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def hostile(request: pytest.FixtureRequest) -> Iterator[Callable[..., Hostile]]:
    servers: list[Hostile] = []

    def start(mode: str, status: int = 200) -> Hostile:
        servers.append(Hostile(mode, status))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


ONE_TRY = RetryPolicy(attempts=1)


def _registry(url: str, **kwargs: object) -> RegistryClient:
    return RegistryClient(url, insecure=True, retries=ONE_TRY, **kwargs)  # type: ignore[arg-type]


#: (server mode, status, the call, the bound of that answer)
ENDLESS_ANSWERS: dict[str, tuple[str, int, Callable[[str], object], int]] = {
    "manifest": ("endless", 200, lambda url: _registry(url).get_manifest("app", "1.0"), 4 << 20),
    "error body": ("endless", 500, lambda url: _registry(url).get_manifest("app", "1.0"), 4 << 20),
    "tags list page": ("endless", 200, lambda url: _registry(url).list_tags("app"), 4 << 20),
    "token answer": (
        "token",
        200,
        lambda url: RegistryClient(
            url, insecure=True, retries=ONE_TRY, credentials=Credentials("u", "p")
        ).get_manifest("app", "1.0"),
        4 << 20,
    ),
    "Harbor API JSON": (
        "endless", 200, lambda url: HarborClient(url, insecure=True, retries=ONE_TRY).system_info(), 4 << 20
    ),
    "chart download": (
        "endless", 200, lambda url: ChartMuseumDestination(url, retries=ONE_TRY).existing("app", "1.0"), 64 << 20
    ),
}


@pytest.mark.parametrize("kind", list(ENDLESS_ANSWERS))
def test_an_endless_answer_stops_at_its_bound_naming_the_server(
    hostile: Callable[..., Hostile], kind: str
) -> None:
    mode, status, call, bound = ENDLESS_ANSWERS[kind]
    server = hostile(mode, status)
    with pytest.raises((RegistryError, TargetError)) as err:
        call(server.url)
    message = str(err.value)
    assert server.url in message and "more than" in message and "stopped reading" in message
    assert server.sent < bound + SLACK  # the client stopped reading at its bound: its memory stayed small


def test_a_trickling_answer_is_abandoned_at_its_deadline_and_retried(hostile: Callable[..., Hostile]) -> None:
    server = hostile("trickle")  # a whole answer would take about 5 s at this pace
    retries: list[ev.Retrying] = []
    client = RegistryClient(
        server.url,
        insecure=True,
        retries=RetryPolicy(attempts=2, sleep=lambda _s: None),
        deadline=Deadline(floor=0.5),
    )
    client.watch(lambda event: retries.append(event) if isinstance(event, ev.Retrying) else None, None)
    with pytest.raises(TransportError) as err:
        client.get_manifest("app", "1.0")
    assert server.url in str(err.value) and "too slow, no full answer within 0.5 s" in str(err.value)
    assert [r.attempt for r in retries] == [2] and retries[0].reason.startswith("too slow")
    assert "retrying 127.0.0.1" in retries[0].text() and "too slow, no full answer within" in retries[0].text()


def test_the_stall_line_says_a_request_is_not_waited_for_for_ever() -> None:
    assert stall_text(2, "http://registry.example:5000") == "2 uploads to http://registry.example:5000 in flight"
    with RegistryClient("http://registry.example:5000", insecure=True, timeout=45.0) as client:
        text = stall_text(2, "http://registry.example:5000", client.waiting())
    assert text == (
        "waiting for http://registry.example:5000; one that moves no byte for 45 s is retried on a new connection"
    )
