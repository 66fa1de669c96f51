"""A small sync httpx wrapper for chart repository APIs: errors become core.errors sentences."""

from __future__ import annotations

import json
import ssl
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from core.errors import AuthError, TargetError, TLSError, TransportError
from core.http.base import find_ssl_error, ssl_context


def server_message(resp: httpx.Response) -> str:
    """The ``{"error": ...}`` text a chart API answers with, else a short body excerpt."""
    try:
        doc = resp.json()
    except (ValueError, json.JSONDecodeError):
        return resp.text.strip()[:200]
    if isinstance(doc, dict) and isinstance(doc.get("error"), str):
        return str(doc["error"])
    return resp.text.strip()[:200]


class ChartHttp:
    """An httpx client for one server; ``transport`` is injectable for tests."""

    def __init__(
        self,
        url: str,
        *,
        name: str,
        username: str | None = None,
        password: str | None = None,
        verify: bool | str = True,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 60.0,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise TargetError(f"The {name} URL {url!r} is not an http(s) URL.")
        self.origin = f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}"
        self.path = parts.path.strip("/")
        self.name = name
        auth = httpx.BasicAuth(username, password or "") if username else None
        tls: bool | ssl.SSLContext = ssl_context(Path(verify)) if isinstance(verify, str) else verify
        self.client = httpx.Client(
            base_url=self.origin, auth=auth, verify=tls, transport=transport, timeout=timeout
        )

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request; transport and TLS failures raise, HTTP statuses are the caller's."""
        try:
            return self.client.request(method, path, **kwargs)
        except httpx.ConnectError as err:
            text = str(err)
            if find_ssl_error(err) is not None:
                raise TLSError(f"TLS to {self.name} {self.origin} failed: {text}.") from err
            raise TransportError(f"Cannot connect to {self.name} {self.origin}: {text}.") from err
        except httpx.TimeoutException as err:
            raise TransportError(
                f"{self.name} {self.origin} did not answer in time ({method} {path})."
            ) from err
        except httpx.HTTPError as err:
            raise TransportError(f"{method} {path} on {self.name} {self.origin} failed: {err}.") from err

    def fail(self, resp: httpx.Response, doing: str) -> TargetError:
        """The error for an unexpected answer while ``doing`` something."""
        detail = server_message(resp)
        tail = f": {detail}" if detail else ""
        if resp.status_code in (401, 403):
            return AuthError(
                f"{self.name} {self.origin} refused the credentials while {doing} (HTTP {resp.status_code}{tail}).",
                status=resp.status_code,
            )
        if resp.status_code == 507:
            return TargetError(
                f"{self.name} {self.origin} is out of storage (HTTP 507) while {doing}; free space on it and run again."
            )
        return TargetError(f"{self.name} {self.origin} answered HTTP {resp.status_code} while {doing}{tail}.")

    def close(self) -> None:
        self.client.close()
