"""Chart repository APIs over the one HTTP stack: errors become core.errors sentences."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar, TypeVar
from urllib.parse import urlsplit

import httpx

from core.charts.protocol import DestinationSpec
from core.errors import AuthError, TargetError
from core.http.base import HttpClientOwner, http_client, transport_error
from core.http.bounds import Deadline
from core.registry.retry import CHECK_RETRIES, NO_RETRY, RetryPolicy, send_retrying


def server_message(resp: httpx.Response) -> str:
    """The ``{"error": ...}`` text a chart API answers with, else a short body excerpt."""
    try:
        doc = resp.json()
    except (ValueError, json.JSONDecodeError):
        return resp.text.strip()[:200]
    if isinstance(doc, dict) and isinstance(doc.get("error"), str):
        return str(doc["error"])
    return resp.text.strip()[:200]


_Http = TypeVar("_Http", bound="ChartHttp")


class ChartHttp(HttpClientOwner):
    """The base of the chart repository API destinations (ChartMuseum, Harbor chartrepo): one
    :func:`core.http.base.http_client` (TLS, proxy environment, timeouts), the retry policy on reads,
    and errors naming the server."""

    #: the server's kind, in every message
    SERVER: ClassVar[str] = "chart repository"
    #: methods a retry cannot repeat harmfully
    IDEMPOTENT = frozenset({"GET", "HEAD", "DELETE"})

    @classmethod
    def build(cls: type[_Http], spec: DestinationSpec) -> _Http:
        """The chart repository API at the spec's URL."""
        return cls(
            spec.url, username=spec.username, password=spec.password, insecure=spec.insecure, ca_cert=spec.ca_cert,
            retries=spec.retries,
        )

    def __init__(
        self,
        url: str,
        *,
        username: str | None = None,
        password: str | None = None,
        insecure: bool = False,
        ca_cert: Path | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 60.0,
        retries: RetryPolicy | None = None,
        deadline: Deadline | None = None,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise TargetError(f"The {self.SERVER} URL {url!r} is not an http(s) URL.")
        self.origin = self.description = f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}"
        self.path = parts.path.strip("/")
        self.check_path(url)
        self.retries = retries or CHECK_RETRIES
        auth = httpx.BasicAuth(username, password or "") if username else None
        self._http = http_client(insecure=insecure, ca_cert=ca_cert, transport=transport, timeout=timeout,
                                 base_url=self.origin, auth=auth, server=self.SERVER, deadline=deadline)

    def check_path(self, url: str) -> None:
        """Refuse (UsageError) a URL whose path this kind of server cannot use; any path by default."""

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request (reads retried); transport and TLS failures raise, HTTP statuses are the caller's."""
        what = f"{method} {path}"
        return send_retrying(
            lambda: self._http.request(method, path, **kwargs),
            self.retries if method in self.IDEMPOTENT else NO_RETRY,
            lambda exc: transport_error(exc, what, self.origin, self.SERVER),
            what=what,
        )

    def _version_path(self, name: str, version: str) -> str:
        """Where the API keeps one chart version (each server says)."""
        raise NotImplementedError

    def delete(self, name: str, version: str) -> bool:
        """Delete one chart version through the API; False when it was not there."""
        resp = self.request("DELETE", self._version_path(name, version))
        if resp.status_code == 404:
            return False
        if resp.status_code != 200:
            raise self.fail(resp, f"deleting chart {name} {version}")
        return True

    def fail(self, resp: httpx.Response, doing: str) -> TargetError:
        """The error for an unexpected answer while ``doing`` something."""
        detail = server_message(resp)
        tail = f": {detail}" if detail else ""
        if resp.status_code in (401, 403):
            return AuthError(
                f"{self.SERVER} {self.origin} refused the credentials while {doing} (HTTP {resp.status_code}{tail}).",
                status=resp.status_code,
            )
        if resp.status_code == 507:
            return TargetError(
                f"{self.SERVER} {self.origin} is out of storage (HTTP 507) while {doing}; free space on it and run again."
            )
        return TargetError(f"{self.SERVER} {self.origin} answered HTTP {resp.status_code} while {doing}{tail}.")
