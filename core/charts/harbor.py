"""Harbor's chart repository API (Harbor ≤ 2.7; 2.8 removed it in favour of OCI charts).

Upload ``POST /api/chartrepo/{project}/charts`` (multipart ``chart``), version details
``GET /api/chartrepo/{project}/charts/{name}/{version}`` (``metadata.digest``), overwrite by
``DELETE`` of the version and a new upload (the API has no force flag).
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from core.charts.http import ChartHttp
from core.charts.protocol import decide
from core.errors import TargetError, UsageError
from core.kinds import ChartAction
from core.oci.digest import sha256_digest
from core.registry.retry import RetryPolicy

_DIGEST_HEX = re.compile(r"^(?:sha256:)?([0-9a-f]{64})$")


class HarborChartDestination:
    """One Harbor project's chart repository: ``https://harbor`` + project, or ``https://harbor/chartrepo/<project>``."""

    #: how a choice list names this kind
    TITLE = "Harbor chartrepo"

    def __init__(
        self,
        url: str,
        *,
        project: str | None = None,
        username: str | None = None,
        password: str | None = None,
        insecure: bool = False,
        ca_cert: Path | None = None,
        transport: httpx.BaseTransport | None = None,
        retries: RetryPolicy | None = None,
    ) -> None:
        self.http = ChartHttp(
            url, name="Harbor", username=username, password=password, insecure=insecure, ca_cert=ca_cert,
            transport=transport, retries=retries,
        )
        path = self.http.path
        if project is None and path.startswith("chartrepo/"):
            project = path[len("chartrepo/") :]
        if not project or "/" in project:
            raise UsageError(
                f"The Harbor chart repository URL {url!r} names no project (use https://host/chartrepo/PROJECT)."
            )
        self.project = project

    def describe(self) -> str:
        return f"Harbor chart repository {self.http.origin}/chartrepo/{self.project}"

    def ping(self) -> None:
        resp = self.http.request("GET", "/api/chartrepo/health")
        if resp.status_code == 404:
            raise TargetError(
                f"Harbor {self.http.origin} has no chart repository (Harbor 2.8 removed it); use --chart-repo-type oci."
            )
        if resp.status_code != 200:
            raise self.http.fail(resp, "checking the chart repository health")

    def location(self, name: str, version: str, *, repo: str = "") -> str:
        return f"{self.http.origin}/chartrepo/{self.project}/charts/{name}-{version}.tgz"

    def _version_path(self, name: str, version: str) -> str:
        return f"/api/chartrepo/{self.project}/charts/{name}/{version}"

    def existing(self, name: str, version: str, *, repo: str = "") -> str | None:
        resp = self.http.request("GET", self._version_path(name, version))
        if resp.status_code == 404:
            return None
        if resp.status_code != 200:
            raise self.http.fail(resp, f"looking up chart {name} {version}")
        try:
            digest = resp.json()["metadata"]["digest"]
        except (ValueError, KeyError, TypeError):
            digest = None
        match = _DIGEST_HEX.match(digest) if isinstance(digest, str) else None
        if not match:
            raise TargetError(f"Harbor {self.http.origin} gave no digest for chart {name} {version}.")
        return f"sha256:{match.group(1)}"

    def push(self, name: str, version: str, tgz: bytes, *, repo: str = "", force: bool = False) -> str:
        action = decide(self.existing(name, version), sha256_digest(tgz), force)
        if action in (ChartAction.UNCHANGED, ChartAction.CONFLICT):
            return action
        if action != ChartAction.NEW:
            resp = self.http.request("DELETE", self._version_path(name, version))
            if resp.status_code not in (200, 404):
                raise self.http.fail(resp, f"deleting chart {name} {version} to overwrite it")
        files = {"chart": (f"{name}-{version}.tgz", tgz, "application/gzip")}
        resp = self.http.request("POST", f"/api/chartrepo/{self.project}/charts", files=files)
        if resp.status_code in (200, 201):
            return action
        if resp.status_code == 404:
            raise TargetError(
                f"Harbor {self.http.origin} has no project {self.project!r} with a chart repository; create it first."
            )
        raise self.http.fail(resp, f"uploading chart {name} {version}")

    def close(self) -> None:
        self.http.close()
