"""Harbor's chart repository API (Harbor ≤ 2.7; 2.8 removed it in favour of OCI charts).

Upload ``POST /api/chartrepo/{project}/charts`` (multipart ``chart``), version details
``GET /api/chartrepo/{project}/charts/{name}/{version}`` (``metadata.digest``), overwrite by
``DELETE`` of the version and a new upload (the API has no force flag).
"""

from __future__ import annotations

import re

from core.advice import Advice
from core.charts.http import ChartHttp
from core.charts.protocol import decide
from core.errors import TargetError, UsageError
from core.kinds import ChartAction
from core.oci.digest import sha256_digest
from core.registry.harbor import harbor_release

#: the first Harbor release without ChartMuseum (its chartrepo API)
NO_CHARTMUSEUM = (2, 8)

_DIGEST_HEX = re.compile(r"^(?:sha256:)?([0-9a-f]{64})$")


class HarborChartDestination(ChartHttp):
    """One Harbor project's chart repository: ``https://harbor`` + project, or ``https://harbor/chartrepo/<project>``."""

    #: how a choice list names this kind
    TITLE = "Harbor chartrepo"

    SERVER = "Harbor"

    def check_path(self, url: str) -> None:
        """The URL names one project: ``https://harbor/chartrepo/<project>``."""
        if not self.project or "/" in self.project:
            raise UsageError(
                f"The Harbor chart repository URL {url!r} names no project (use https://host/chartrepo/PROJECT)."
            )

    @property
    def project(self) -> str:
        """The Harbor project whose chart repository this is."""
        return self.path[len("chartrepo/") :] if self.path.startswith("chartrepo/") else ""

    def describe(self) -> str:
        return f"Harbor chart repository {self.origin}/chartrepo/{self.project}"

    def ping(self) -> None:
        """Harbor 2.8 and later have no chart repository: refused by the version Harbor tells (its
        ``/api/v2.0/systeminfo``), else by the chart repository's health."""
        version = self.version()
        release = harbor_release(version)
        if release is not None and release >= NO_CHARTMUSEUM:
            raise TargetError(
                Advice(f"Harbor {self.origin} is {version}: Harbor 2.8 removed ChartMuseum, so it has no chart "
                       "repository of type harbor; {chart_repo_oci} to push the charts as OCI artifacts into a "
                       "project.")
            )
        resp = self.request("GET", "/api/chartrepo/health")
        if resp.status_code == 404:
            raise TargetError(
                Advice(f"Harbor {self.origin} has no chart repository (Harbor 2.8 removed it); {{chart_repo_oci}}.")
            )
        if resp.status_code != 200:
            raise self.fail(resp, "checking the chart repository health")

    def version(self) -> str | None:
        """Harbor's build version (``harbor_version`` of ``/api/v2.0/systeminfo``); None when not shown."""
        resp = self.request("GET", "/api/v2.0/systeminfo")
        try:
            version = resp.json().get("harbor_version") if resp.status_code == 200 else None
        except (ValueError, AttributeError):
            return None
        return version if isinstance(version, str) and version else None

    def location(self, name: str, version: str, *, repo: str = "") -> str:
        return f"{self.origin}/chartrepo/{self.project}/charts/{name}-{version}.tgz"

    def _version_path(self, name: str, version: str) -> str:
        return f"/api/chartrepo/{self.project}/charts/{name}/{version}"

    def existing(self, name: str, version: str, *, repo: str = "") -> str | None:
        resp = self.request("GET", self._version_path(name, version))
        if resp.status_code == 404:
            return None
        if resp.status_code != 200:
            raise self.fail(resp, f"looking up chart {name} {version}")
        try:
            digest = resp.json()["metadata"]["digest"]
        except (ValueError, KeyError, TypeError):
            digest = None
        match = _DIGEST_HEX.match(digest) if isinstance(digest, str) else None
        if not match:
            raise TargetError(f"Harbor {self.origin} gave no digest for chart {name} {version}.")
        return f"sha256:{match.group(1)}"

    def push(self, name: str, version: str, tgz: bytes, *, repo: str = "", force: bool = False) -> ChartAction:
        action = decide(self.existing(name, version), sha256_digest(tgz), force)
        if action in (ChartAction.UNCHANGED, ChartAction.CONFLICT):
            return action
        if action != ChartAction.NEW:
            self.delete(name, version)
        files = {"chart": (f"{name}-{version}.tgz", tgz, "application/gzip")}
        resp = self.request("POST", f"/api/chartrepo/{self.project}/charts", files=files)
        if resp.status_code in (200, 201):
            return action
        if resp.status_code == 404:
            raise TargetError(
                f"Harbor {self.origin} has no project {self.project!r} with a chart repository; create it first."
            )
        raise self.fail(resp, f"uploading chart {name} {version}")
