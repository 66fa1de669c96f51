"""ChartMuseum's HTTP API (single tenant, or multitenant with the repo path in the URL).

Upload ``POST /api[/<repo>]/charts`` (multipart field ``chart``), existence
``HEAD /api[/<repo>]/charts/<name>/<version>``, content ``GET [/<repo>]/charts/<name>-<version>.tgz``,
overwrite with ``?force``.
"""

from __future__ import annotations

from core.charts.http import ChartHttp
from core.charts.protocol import decide
from core.errors import TargetError
from core.http.bounds import MAX_BODY
from core.kinds import ChartAction
from core.oci.digest import sha256_digest

MAX_CHART = 64 << 20


class ChartMuseumDestination(ChartHttp):
    """A ChartMuseum server; ``https://host:8081`` or, multitenant, ``https://host:8081/org/repo``."""

    #: how a choice list names this kind
    TITLE = "ChartMuseum"

    SERVER = "ChartMuseum"
    #: the multipart field the chart travels in
    FORM_FIELD = "chart"

    @property
    def _api(self) -> str:
        return f"/api/{self.path}" if self.path else "/api"

    @property
    def _repo(self) -> str:
        return f"/{self.path}" if self.path else ""

    def describe(self) -> str:
        return f"ChartMuseum {self.origin}{self._repo}"

    def ping(self) -> None:
        resp = self.request("GET", "/health")
        if resp.status_code != 200:
            raise self.fail(resp, "checking /health")
        resp = self.request("GET", f"{self._api}/charts")
        if resp.status_code != 200:
            raise self.fail(resp, "listing charts")

    def location(self, name: str, version: str, *, repo: str = "") -> str:
        return f"{self.origin}{self._repo}/charts/{name}-{version}.tgz"

    def existing(self, name: str, version: str, *, repo: str = "") -> str | None:
        doing = f"looking up chart {name} {version}"
        resp = self.request("HEAD", f"{self._api}/charts/{name}/{version}")
        if resp.status_code == 404:
            return None
        if resp.status_code != 200:
            raise self.fail(resp, doing)
        resp = self.request("GET", f"{self._repo}/charts/{name}-{version}.tgz", extensions={MAX_BODY: MAX_CHART})
        if resp.status_code != 200:
            raise self.fail(resp, f"downloading chart {name}-{version}.tgz")
        return sha256_digest(resp.content)

    def _version_path(self, name: str, version: str) -> str:
        return f"{self._api}/charts/{name}/{version}"

    def push(self, name: str, version: str, tgz: bytes, *, repo: str = "", force: bool = False) -> ChartAction:
        digest = sha256_digest(tgz)
        action = decide(self.existing(name, version), digest, force)
        if action in (ChartAction.UNCHANGED, ChartAction.CONFLICT):
            return action
        path = f"{self._api}/charts" + ("?force" if force else "")
        files = {self.FORM_FIELD: (f"{name}-{version}.tgz", tgz, "application/gzip")}
        resp = self.request("POST", path, files=files)
        if resp.status_code in (200, 201):
            return action
        if resp.status_code == 409:
            if force:
                raise TargetError(
                    f"ChartMuseum {self.origin} refuses to overwrite {name} {version} "
                    "(it runs with --disable-force-overwrite)."
                )
            # Someone stored the version between the look-up and the upload.
            return decide(self.existing(name, version), digest, False)
        raise self.fail(resp, f"uploading chart {name} {version}")
