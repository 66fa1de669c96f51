"""Bounds on every answer a server gives: how much of it is held in memory, and how long it may take.

A hostile or broken server must not grow archfuse without end nor hold it for ever, so every
client made by :func:`core.http.base.http_client` (registry, token service, Harbor API, chart
repositories) gets two event hooks:

* **Size.** An answer's body is read through :class:`_BoundedBody`, which stops at
  :data:`DEFAULT_MAX_BODY` (4 MiB, distribution's own manifest limit: manifests, token answers,
  error bodies, tag list pages and Harbor JSON are far smaller) or at the limit a request names
  in its :data:`MAX_BODY` extension (a chart download, a config blob). Past it the read stops
  with :class:`ResponseTooLarge`, one sentence naming the server. archfuse asks for answers
  uncompressed; a compressed answer (whose decoded size the limit could not bound) is refused.
* **Time.** The read timeout restarts with every byte, so a server answering one byte a second
  never times out. Each request therefore gets a budget of seconds (:class:`Deadline`: a floor,
  plus its bytes at a minimum rate, so a large blob gets longer), charged with the time spent
  waiting on the network for it (sending, the answer's head, its body; not the time archfuse
  itself holds a request back, e.g. ``--limit-rate``). Once spent, the waiting read or write
  fails as a timeout (:data:`DEADLINE_PASSED`) and the request is retried like a broken
  connection. The network side is :func:`network_call`, used by the backend of
  :mod:`core.http.interrupt`; the budget of the request a thread is busy with is thread-local.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import httpcore
import httpx

from core.errors import RegistryError
from core.units import size_text

#: the most bytes of one answer archfuse holds unless the request names more (distribution's manifest limit)
DEFAULT_MAX_BODY = 4 << 20
#: request extension: the most bytes its answer's body may have
MAX_BODY = "archfuse.max_body"
#: request extension: the request's time budget (a :class:`_Budget`)
_BUDGET = "archfuse.budget"
#: what a timeout says when a request's deadline passed (see :func:`core.http.base.transport_detail`)
DEADLINE_PASSED = "deadline passed"

_T = TypeVar("_T")


@dataclass(frozen=True)
class Deadline:
    """How long one request may take in all: ``floor`` seconds, plus its bytes at ``min_rate`` bytes/s."""

    floor: float = 300.0
    min_rate: float = float(64 << 10)

    def budget(self, size: int) -> float:
        """Seconds for a request moving ``size`` bytes (sent and expected back)."""
        return self.floor + max(size, 0) / self.min_rate


DEFAULT_DEADLINE = Deadline()

#: seconds a registry request may move no byte before it is abandoned and retried on a new connection
#: (``--stall-timeout``: the read and write timeout of the registry client)
DEFAULT_STALL_TIMEOUT = 60.0


class ResponseTooLarge(RegistryError):
    """A server's answer is larger than archfuse reads into memory."""


class _Budget:
    """The seconds one request may still spend waiting on the network."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.spent = 0.0

    def remaining(self) -> float:
        return self.seconds - self.spent


_local = threading.local()


def _bind(budget: _Budget | None) -> None:
    _local.budget = budget


def _passed(budget: _Budget, write: bool) -> httpcore.TimeoutException:
    seconds = f"{budget.seconds:.0f}" if budget.seconds >= 10 else f"{budget.seconds:.1f}"
    text = f"{DEADLINE_PASSED}: no full answer within {seconds} s"
    return httpcore.WriteTimeout(text) if write else httpcore.ReadTimeout(text)


def network_call(op: Callable[[float | None], _T], timeout: float | None, *, write: bool = False) -> _T:
    """``op(timeout)`` (a read or write on a connection), the timeout cut to what is left of the
    budget of the request this thread is busy with, and the time it took charged to that budget."""
    budget: _Budget | None = getattr(_local, "budget", None)
    if budget is None:
        return op(timeout)
    remaining = budget.remaining()
    if remaining <= 0:
        raise _passed(budget, write)
    cut = timeout is None or remaining < timeout
    start = time.monotonic()
    try:
        return op(remaining if cut else timeout)
    except httpcore.TimeoutException:
        if cut:
            raise _passed(budget, write) from None
        raise
    finally:
        budget.spent += time.monotonic() - start


class _BoundedBody(httpx.SyncByteStream):
    """An answer's body that ends in :class:`ResponseTooLarge` past ``limit`` bytes, read on its
    request's budget."""

    def __init__(self, inner: httpx.SyncByteStream, limit: int, budget: _Budget | None, error: Callable[[], ResponseTooLarge]) -> None:
        self._inner = inner
        self._limit = limit
        self._budget = budget
        self._error = error

    def __iter__(self) -> Iterator[bytes]:
        chunks = iter(self._inner)
        total = 0
        while True:
            _bind(self._budget)  # another request of this thread may have run since the last chunk
            try:
                chunk = next(chunks)
            except StopIteration:
                return
            total += len(chunk)
            if total > self._limit:
                raise self._error()
            yield chunk

    def close(self) -> None:
        self._inner.close()


def _origin(request: httpx.Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc.decode('ascii', 'replace')}"


def _too_large(server: str, response: httpx.Response, limit: int) -> ResponseTooLarge:
    request = response.request
    origin = _origin(request)
    return ResponseTooLarge(
        f"The {server} {origin} answered {request.method} {request.url.path} with more than "
        f"{size_text(limit)}, more than archfuse reads from one answer, so it stopped reading.",
        hint=f"Check that {origin} is the {server} meant and is healthy (or the proxy in front of it).",
    )


def event_hooks(server: str, deadline: Deadline) -> dict[str, list[Callable[..., object]]]:
    """The httpx event hooks that bound every answer of a client (``server`` names its kind in
    messages: ``registry``, ``Harbor``, ``chart repository``)."""

    def on_request(request: httpx.Request) -> None:
        size = int(request.headers.get("content-length") or 0)
        expected = int(request.extensions.get(MAX_BODY, 0))
        budget = _Budget(deadline.budget(size + expected))
        request.extensions[_BUDGET] = budget
        _bind(budget)

    def on_response(response: httpx.Response) -> None:
        request = response.request
        limit = int(request.extensions.get(MAX_BODY, DEFAULT_MAX_BODY))
        encoding = response.headers.get("content-encoding", "identity").strip().lower()
        if encoding not in ("", "identity"):
            raise ResponseTooLarge(
                f"The {server} {_origin(request)} answered {request.method} {request.url.path} "
                f"{encoding}-compressed although archfuse asked for it uncompressed, so it was not read.",
                hint=f"Check the {server} (or the proxy in front of it).",
            )
        declared = response.headers.get("content-length", "")
        if request.method != "HEAD" and declared.isdigit() and int(declared) > limit:
            raise _too_large(server, response, limit)
        inner = response.stream
        assert isinstance(inner, httpx.SyncByteStream)  # a sync client's answer
        response.stream = _BoundedBody(
            inner, limit, request.extensions.get(_BUDGET), lambda: _too_large(server, response, limit)
        )

    return {"request": [on_request], "response": [on_response]}


#: the ``Accept-Encoding`` every client sends: a compressed answer's size in memory is not its size on the wire
ACCEPT_ENCODING = "identity"
