"""A small client of Harbor's REST API (v2.0): flavour detection and projects (registry spaces).

Harbor keeps images in projects, the first path segment of a repository; pushing into a project
that does not exist fails. This client answers "is this registry Harbor?", "does project P
exist?" and creates projects. Paths and bodies follow Harbor's published swagger (base path
``/api/v2.0``): ``GET /ping``, ``GET /systeminfo``, ``HEAD /projects?project_name=`` and
``POST /projects`` with a ``ProjectReq`` body.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from core.advice import Advice
from core.errors import AuthError, RegistryError
from core.http.base import transport_error
from core.kinds import RegistryFlavour
from core.registry.credentials import Credentials
from core.registry.endpoint import RegistryEndpoint
from core.registry.retry import CHECK_RETRIES, send_retrying

API = "/api/v2.0"


@dataclass(frozen=True)
class Flavour:
    """What kind of registry answers at a URL."""

    name: RegistryFlavour
    version: str | None = None  # Harbor's build version when it tells (it hides it from anonymous users)
    #: Harbor's ``project_creation_restriction``: ``everyone`` or ``adminonly`` (None when unknown)
    project_creation: str | None = None

    @property
    def is_harbor(self) -> bool:
        return self.name == RegistryFlavour.HARBOR


class HarborClient(RegistryEndpoint):
    """Talk to Harbor's API at ``base_url`` (``https://host[:port]``) with basic authentication."""

    API_PATH = API
    SERVER = "Harbor"
    RETRIES = CHECK_RETRIES  # its answers are questions (projects): someone waits on them

    # -- public API ----------------------------------------------------------------------------

    def detect(self) -> Flavour:
        """Harbor when ``GET /api/v2.0/ping`` answers ``Pong``, else a plain distribution registry.

        Raises TransportError/TLSError when the server cannot be reached at all.
        """
        response = self._send("GET", "/ping", what="the Harbor ping", auth=False)
        if response.status_code != 200 or response.text.strip().strip('"') != "Pong":
            return Flavour(RegistryFlavour.DISTRIBUTION)
        info = self.system_info()
        version = info.get("harbor_version")
        restriction = info.get("project_creation_restriction")
        return Flavour(
            RegistryFlavour.HARBOR,
            version if isinstance(version, str) and version else None,
            restriction if isinstance(restriction, str) and restriction else None,
        )

    def system_info(self) -> dict[str, Any]:
        """``GET /api/v2.0/systeminfo`` (some fields are only shown to signed-in users); {} on failure."""
        response = self._send("GET", "/systeminfo", what="the Harbor system info")
        if response.status_code != 200:
            return {}
        try:
            body = response.json()
        except ValueError:
            return {}
        return body if isinstance(body, dict) else {}

    def project_exists(self, name: str) -> bool:
        """True when Harbor has a project ``name`` (``HEAD /api/v2.0/projects?project_name=``)."""
        response = self._send(
            "HEAD", "/projects", params={"project_name": name}, what=f"the check of project {name}"
        )
        if response.status_code == 200:
            return True
        if response.status_code == 404:
            return False
        raise self._error(response, f"the check of project '{name}'", project=name)

    def create_project(self, name: str, *, public: bool) -> bool:
        """Create project ``name``; True when created, False when it already existed (409).

        Raises AuthError with a plain sentence when the account may not create projects.
        """
        body = {"project_name": name, "metadata": {"public": "true" if public else "false"}}
        response = self._send("POST", "/projects", json=body, what=f"the creation of project {name}")
        if response.status_code == 201:
            return True
        if response.status_code == 409:
            return False
        raise self._error(response, f"the creation of project '{name}'", project=name, creating=True)

    # -- internals -----------------------------------------------------------------------------

    def _send(
        self,
        method: str,
        path: str,
        *,
        what: str,
        params: dict[str, str] | None = None,
        json: Any = None,
        auth: bool = True,
    ) -> httpx.Response:
        # Harbor checks a CSRF token on requests that carry its session cookie; basic auth alone is
        # exempt, so never send back cookies it sets.
        self._http.cookies.clear()
        basic = (self.credentials.username, self.credentials.password) if auth and self.credentials else None
        return send_retrying(
            lambda: self._http.request(method, path, params=params, json=json, auth=basic),
            self.retries,
            lambda exc: transport_error(exc, what, self.description, "Harbor"),
            what=what,
        )

    def _error(
        self, response: httpx.Response, what: str, *, project: str, creating: bool = False
    ) -> RegistryError:
        status = response.status_code
        message = _message(response)
        detail = f" ({message})" if message else ""
        who = f"user '{self.credentials.username}'" if self.credentials else "an anonymous user"
        # (error class, what Harbor did, what to do), first match wins
        kind: type[RegistryError]
        if status == 401 and creating and self.credentials is None:
            kind, did, hint = AuthError, f"does not let an anonymous user create project '{project}'.", Advice(
                "{Login} of an account that may create projects."
            )
        elif status == 401:
            kind, did, hint = AuthError, f"refused the credentials of {who} during {what}{detail}.", Advice(
                "Check the username and password."
            )
        elif status == 403:
            did = f"does not let {who} create project '{project}'{detail}." if creating else f"denied {who} {what}{detail}."
            kind, hint = AuthError, Advice(
                "Ask a Harbor administrator to create the project, or use an account with that right "
                "(Harbor may allow only administrators to create projects)."
            )
        elif status == 400 and creating:
            kind, did, hint = RegistryError, f"rejected the project name '{project}'{detail}.", Advice(
                "Harbor project names are lower case letters, digits and . _ -; {prefix} to choose one."
            )
        else:
            kind, did, hint = RegistryError, f"answered HTTP {status} to {what}{detail}.", Advice("Check Harbor's logs.")
        return kind(f"Harbor at {self.description} {did}", hint=hint, status=status)


def detect_flavour(
    base_url: str,
    *,
    credentials: Credentials | None = None,
    insecure: bool = False,
    ca_cert: Path | None = None,
    transport: httpx.BaseTransport | None = None,
) -> Flavour:
    """The flavour of the registry at ``base_url``: Harbor (with its version) or distribution."""
    with HarborClient(
        base_url, credentials=credentials, insecure=insecure, ca_cert=ca_cert, transport=transport
    ) as client:
        return client.detect()


def _message(response: httpx.Response) -> str:
    """Harbor's own error message(s) from an ``Errors`` body, shortened."""
    try:
        body = response.json()
    except (ValueError, UnicodeDecodeError):
        return ""
    items = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(items, list):
        return ""
    text = "; ".join(str(e.get("message") or e.get("code") or "") for e in items if isinstance(e, dict))
    return " ".join(text.split()).rstrip(".")[:200]
