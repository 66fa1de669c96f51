"""A small client of Harbor's REST API (v2.0): flavour detection and projects (registry spaces).

Harbor keeps images in projects, the first path segment of a repository; pushing into a project
that does not exist fails. This client answers "is this registry Harbor?", "does project P
exist?" and creates projects, and reads the project's own rules the checks compare the plan
with (quota, immutable tags, retention, proxy cache). Paths and bodies follow Harbor's published
swagger (base path ``/api/v2.0``): ``GET /ping``, ``GET /systeminfo``, ``HEAD /projects?project_name=``,
``POST /projects`` with a ``ProjectReq`` body, ``GET /projects/{name}`` and ``/projects/{name}/summary``,
``GET /quotas?reference=project&reference_id=``, ``GET /projects/{name}/immutabletagrules`` and
``GET /retentions/{id}``; for a prune, ``DELETE`` of a tag (``.../artifacts/{reference}/tags/{tag}``)
and of an artifact.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from core.advice import Advice
from core.errors import AuthError, RegistryError
from core.http.base import transport_error
from core.kinds import RegistryFlavour
from core.registry.credentials import Credentials
from core.registry.endpoint import RegistryEndpoint
from core.registry.retry import CHECK_RETRIES, RetryPolicy, send_retrying

API = "/api/v2.0"
#: rules read per page (the swagger's most)
PAGE = 100
#: a project name in a path is a name, never an id (swagger parameter ``isResourceName``)
BY_NAME = {"X-Is-Resource-Name": "true"}


def harbor_release(version: str | None) -> tuple[int, int] | None:
    """``(2, 8)`` of Harbor's build version ``v2.8.1-89ef156d``; None when it says none."""
    match = re.match(r"^[vV]?(\d+)\.(\d+)", version or "")
    return (int(match.group(1)), int(match.group(2))) if match else None


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

    def project(self, name: str) -> dict[str, Any] | None:
        """Project ``name`` as Harbor describes it (``registry_id``, ``metadata.retention_id``...);
        None when there is none (``GET /projects/{name}``)."""
        return self._read(f"/projects/{name}", f"the details of project '{name}'", project=name)

    def project_summary(self, name: str) -> dict[str, Any] | None:
        """The summary of project ``name`` (its ``quota``'s ``hard`` and ``used`` when the user may see them)."""
        return self._read(f"/projects/{name}/summary", f"the summary of project '{name}'", project=name)

    def project_quota(self, project_id: int, name: str) -> dict[str, Any] | None:
        """The quota of a project (``GET /quotas?reference=project&reference_id=``); None when not shown."""
        found = self._read(
            "/quotas", f"the quota of project '{name}'", project=name,
            params={"reference": "project", "reference_id": str(project_id)},
        )
        quotas = [q for q in found if isinstance(q, dict)] if isinstance(found, list) else []
        return quotas[0] if quotas else None

    def immutable_rules(self, name: str) -> list[dict[str, Any]]:
        """Every immutable-tag rule of project ``name``, page by page."""
        rules: list[dict[str, Any]] = []
        page = 1
        while True:
            found = self._read(
                f"/projects/{name}/immutabletagrules", f"the immutable tag rules of project '{name}'",
                project=name, params={"page": str(page), "page_size": str(PAGE)},
            )
            batch = [r for r in found if isinstance(r, dict)] if isinstance(found, list) else []
            rules += batch
            if len(batch) < PAGE:
                return rules
            page += 1

    def retention_policy(self, retention_id: int, name: str) -> dict[str, Any] | None:
        """The tag retention policy ``retention_id`` of project ``name`` (``GET /retentions/{id}``)."""
        return self._read(f"/retentions/{retention_id}", f"the tag retention policy of project '{name}'", project=name)

    def delete_tag(self, repository: str, reference: str, tag: str) -> bool:
        """Delete one tag of the artifact ``reference`` (its digest) in ``repository`` (``project/name``),
        leaving the artifact: Harbor's tag API. False when Harbor had no such tag."""
        what = f"the deletion of tag {repository}:{tag}"
        response = self._send("DELETE", f"{_artifact_path(repository, reference)}/tags/{quote(tag, safe='')}", what=what)
        return self._deleted(response, what, repository)

    def delete_artifact(self, repository: str, digest: str) -> bool:
        """Delete the artifact ``digest`` of ``repository`` (with any tag still on it); False when it was not there."""
        what = f"the deletion of artifact {repository}@{digest}"
        return self._deleted(self._send("DELETE", _artifact_path(repository, digest), what=what), what, repository)

    def _deleted(self, response: httpx.Response, what: str, repository: str) -> bool:
        if response.status_code == 200:
            return True
        if response.status_code == 404:
            return False
        raise self._error(response, what, project=repository.split("/", 1)[0])

    # -- internals -----------------------------------------------------------------------------

    def _read(
        self, path: str, what: str, *, project: str, params: dict[str, str] | None = None
    ) -> Any:
        """The JSON Harbor answers to ``GET path``; None on 404; RegistryError on another refusal."""
        headers = BY_NAME if path.startswith("/projects/") else None
        response = self._send("GET", path, params=params, what=what, headers=headers)
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise self._error(response, what, project=project)
        try:
            return response.json()
        except ValueError:
            raise RegistryError(
                f"Harbor at {self.description} answered {what} with something that is not JSON.",
                hint=Advice("Check that the address is Harbor's."),
            ) from None

    def _send(
        self,
        method: str,
        path: str,
        *,
        what: str,
        params: dict[str, str] | None = None,
        json: Any = None,
        auth: bool = True,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        # Harbor checks a CSRF token on requests that carry its session cookie; basic auth alone is
        # exempt, so never send back cookies it sets.
        self._http.cookies.clear()
        basic = (self.credentials.username, self.credentials.password) if auth and self.credentials else None
        return send_retrying(
            lambda: self._http.request(method, path, params=params, json=json, auth=basic, headers=headers),
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
    retries: RetryPolicy | None = None,
) -> Flavour:
    """The flavour of the registry at ``base_url``: Harbor (with its version) or distribution.

    ``retries``: the policy of its questions; :data:`CHECK_RETRIES` unless given."""
    with HarborClient(
        base_url, credentials=credentials, insecure=insecure, ca_cert=ca_cert, transport=transport, retries=retries
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


def _artifact_path(repository: str, reference: str) -> str:
    """``/projects/P/repositories/R/artifacts/REF``: Harbor wants the repository name (without its project)
    URL-encoded twice, so a ``/`` in it survives its router."""
    project, _, name = repository.partition("/")
    encoded = quote(quote(name, safe=""), safe="")
    return f"/projects/{quote(project, safe='')}/repositories/{encoded}/artifacts/{quote(reference, safe=':')}"
