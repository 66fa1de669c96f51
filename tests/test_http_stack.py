"""One HTTP stack: the registry client, the Harbor API client and the chart repository clients honour
the proxy environment the same way, name themselves the same way, and map failures the same way."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler

import pytest

from core import __version__
from core.charts.chartmuseum import ChartMuseumDestination
from core.charts.harbor import HarborChartDestination
from core.errors import TransportError
from core.registry.client import RegistryClient
from core.registry.harbor import HarborClient
from core.registry.retry import NO_RETRY
from tests.fixtures.loopback import LoopbackServer

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


class Recorder(LoopbackServer):
    """A loopback server that answers every request with 200 ``{}`` and records its request line:
    an absolute URL when a client sent it as to a proxy, a path when it came straight."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []  # (request target, user agent)
        super().__init__(_Handler)


class _Handler(BaseHTTPRequestHandler):
    server: Recorder

    def _answer(self) -> None:
        self.server.seen.append((self.path, self.headers.get("User-Agent", "")))
        body = b"{}"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_HEAD = _answer

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Iterator[Recorder]:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    server = Recorder()
    yield server
    server.stop()


def _clients(url: str) -> dict[str, Callable[[], object]]:
    """One request through each kind of client, to ``url``."""
    return {
        "registry": lambda: RegistryClient(url, insecure=True, retries=NO_RETRY).ping(),
        "harbor api": lambda: HarborClient(url, insecure=True, retries=NO_RETRY).detect(),
        "chartmuseum": lambda: ChartMuseumDestination(url, insecure=True, retries=NO_RETRY).ping(),
        "harbor chartrepo": lambda: HarborChartDestination(f"{url}/chartrepo/addon", retries=NO_RETRY).ping(),
    }


def _proxied(server: Recorder, request: Callable[[], object]) -> bool:
    server.seen.clear()
    request()
    assert server.seen, "no request arrived"
    return all(target.startswith("http://") for target, _ in server.seen)


def test_every_client_goes_through_the_proxy_the_environment_names(
    recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the recorder is both the server and the proxy: a proxied request carries the absolute URL
    monkeypatch.setenv("HTTP_PROXY", recorder.url)
    assert {name: _proxied(recorder, call) for name, call in _clients(recorder.url).items()} == {
        "registry": True, "harbor api": True, "chartmuseum": True, "harbor chartrepo": True,
    }
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    assert {name: _proxied(recorder, call) for name, call in _clients(recorder.url).items()} == {
        "registry": False, "harbor api": False, "chartmuseum": False, "harbor chartrepo": False,
    }


def test_every_client_sends_the_archfuse_user_agent(recorder: Recorder) -> None:
    for request in _clients(recorder.url).values():
        recorder.seen.clear()
        request()
        assert {agent for _, agent in recorder.seen} == {f"archfuse/{__version__}"}


def test_an_unreachable_server_is_one_sentence_naming_it_for_every_client(recorder: Recorder) -> None:
    url = recorder.url
    recorder.stop()
    servers = {"registry": "registry", "harbor api": "Harbor", "chartmuseum": "ChartMuseum",
               "harbor chartrepo": "Harbor"}
    for name, request in _clients(url).items():
        with pytest.raises(TransportError, match=rf"^Cannot reach {servers[name]} {url} during .*connection failed"):
            request()
