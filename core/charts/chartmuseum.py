"""ChartMuseum's HTTP API (single tenant, or multitenant with the repo path in the URL).

Upload ``POST /api[/<repo>]/charts`` (multipart field ``chart``), existence
``HEAD /api[/<repo>]/charts/<name>/<version>``, content ``GET [/<repo>]/charts/<name>-<version>.tgz``,
overwrite with ``?force``.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from core.charts.http import ChartHttp
from core.charts.protocol import decide
from core.errors import TargetError
from core.kinds import ChartAction
from core.oci.digest import sha256_digest
from core.registry.retry import RetryPolicy

MAX_CHART = 64 << 20


class ChartMuseumDestination:
    """A ChartMuseum server; ``https://host:8081`` or, multitenant, ``https://host:8081/org/repo``."""

    #: how a choice list names this kind
    TITLE = "ChartMuseum"

    def __init__(
        self,
        url: str,
        *,
        username: str | None = None,
        password: str | None = None,
        insecure: bool = False,
        ca_cert: Path | None = None,
        transport: httpx.BaseTransport | None = None,
        retries: RetryPolicy | None = None,
        form_field: str = "chart",
    ) -> None:
        self.http = ChartHttp(
            url, name="ChartMuseum", username=username, password=password, insecure=insecure, ca_cert=ca_cert,
            transport=transport, retries=retries,
        )
        self.form_field = form_field
        tenant = self.http.path
        self._api = f"/api/{tenant}" if tenant else "/api"
        self._repo = f"/{tenant}" if tenant else ""

    def describe(self) -> str:
        return f"ChartMuseum {self.http.origin}{self._repo}"

    def ping(self) -> None:
        resp = self.http.request("GET", "/health")
        if resp.status_code != 200:
            raise self.http.fail(resp, "checking /health")
        resp = self.http.request("GET", f"{self._api}/charts")
        if resp.status_code != 200:
            raise self.http.fail(resp, "listing charts")

    def location(self, name: str, version: str, *, repo: str = "") -> str:
        return f"{self.http.origin}{self._repo}/charts/{name}-{version}.tgz"

    def existing(self, name: str, version: str, *, repo: str = "") -> str | None:
        doing = f"looking up chart {name} {version}"
        resp = self.http.request("HEAD", f"{self._api}/charts/{name}/{version}")
        if resp.status_code == 404:
            return None
        if resp.status_code != 200:
            raise self.http.fail(resp, doing)
        resp = self.http.request("GET", f"{self._repo}/charts/{name}-{version}.tgz")
        if resp.status_code != 200:
            raise self.http.fail(resp, f"downloading chart {name}-{version}.tgz")
        if len(resp.content) > MAX_CHART:
            raise TargetError(
                f"ChartMuseum {self.http.origin} serves {name}-{version}.tgz larger than {MAX_CHART} bytes."
            )
        return sha256_digest(resp.content)

    def push(self, name: str, version: str, tgz: bytes, *, repo: str = "", force: bool = False) -> str:
        digest = sha256_digest(tgz)
        action = decide(self.existing(name, version), digest, force)
        if action in (ChartAction.UNCHANGED, ChartAction.CONFLICT):
            return action
        path = f"{self._api}/charts" + ("?force" if force else "")
        files = {self.form_field: (f"{name}-{version}.tgz", tgz, "application/gzip")}
        resp = self.http.request("POST", path, files=files)
        if resp.status_code in (200, 201):
            return action
        if resp.status_code == 409:
            if force:
                raise TargetError(
                    f"ChartMuseum {self.http.origin} refuses to overwrite {name} {version} "
                    "(it runs with --disable-force-overwrite)."
                )
            # Someone stored the version between the look-up and the upload.
            return decide(self.existing(name, version), digest, False)
        raise self.http.fail(resp, f"uploading chart {name} {version}")

    def close(self) -> None:
        self.http.close()
