"""Harbor's replication API (v2.0): registry endpoints, labels, policies, executions and tasks.

Paths and bodies follow Harbor's published swagger: ``GET``/``POST /registries`` (a ``Registry``),
``POST /registries/ping`` (a ``RegistryPing``), ``GET``/``POST /labels`` and ``POST .../artifacts/{reference}/labels``
(a ``Label`` with its id), ``GET``/``POST /replication/policies`` and ``PUT /replication/policies/{id}``
(a ``ReplicationPolicy``), ``POST /replication/executions`` (a ``StartReplicationExecution``; Harbor has no
call that re-runs one task: a new execution of the policy copies again what failed), ``GET
/replication/executions/{id}`` and ``/replication/executions/{id}/tasks``. A created resource's id is the
last segment of the ``Location`` header Harbor answers 201 with.
"""

from __future__ import annotations

from typing import Any

from core.advice import Advice
from core.errors import RegistryError
from core.registry.harbor import PAGE, HarborClient, _artifact_path


class HarborReplication(HarborClient):
    """The hub's side of a replication: what archfuse asks Harbor to copy to a site, and how it goes."""

    def registries(self, name: str) -> list[dict[str, Any]]:
        """The registry endpoints Harbor knows whose name contains ``name``."""
        return self._listed("/registries", "the registry endpoints", {"q": f"name=~{name}"})

    def create_registry(self, body: dict[str, Any]) -> int:
        """Create a registry endpoint (a ``Registry`` body); its id."""
        return self._created("/registries", body, f"the creation of registry endpoint '{body.get('name')}'")

    def ping_registry(self, body: dict[str, Any]) -> str:
        """``POST /registries/ping``: "" when the hub reaches the registry, else Harbor's reason."""
        response = self._send("POST", "/registries/ping", json=body, what="the ping of a registry endpoint")
        if response.status_code == 200:
            return ""
        return str(self._error(response, "the ping of a registry endpoint", project=""))

    def labels(self, name: str) -> list[dict[str, Any]]:
        """The global labels called ``name``."""
        found = self._listed("/labels", f"the labels called '{name}'", {"name": name, "scope": "g"})
        return [label for label in found if label.get("name") == name]

    def create_label(self, name: str, description: str) -> int:
        """Create the global label ``name``; its id."""
        body = {"name": name, "description": description, "color": "#0095D3", "scope": "g"}
        return self._created("/labels", body, f"the creation of label '{name}'")

    def add_label(self, repository: str, reference: str, label_id: int) -> bool:
        """Put label ``label_id`` on the artifact ``reference`` of ``repository``; False when it already was."""
        what = f"the labelling of {repository}@{reference}"
        response = self._send("POST", f"{_artifact_path(repository, reference)}/labels", json={"id": label_id}, what=what)
        if response.status_code in (200, 201):
            return True
        if response.status_code == 409:
            return False
        raise self._error(response, what, project=repository.split("/", 1)[0])

    def policies(self, name: str) -> list[dict[str, Any]]:
        """The replication policies called ``name``."""
        found = self._listed("/replication/policies", f"the replication policies called '{name}'", {"name": name})
        return [policy for policy in found if policy.get("name") == name]

    def create_policy(self, body: dict[str, Any]) -> int:
        """Create a replication policy; its id."""
        return self._created("/replication/policies", body, f"the creation of replication policy '{body.get('name')}'")

    def update_policy(self, policy_id: int, body: dict[str, Any]) -> None:
        """Replace policy ``policy_id`` with ``body``."""
        what = f"the update of replication policy '{body.get('name')}'"
        response = self._send("PUT", f"/replication/policies/{policy_id}", json=body, what=what)
        if response.status_code != 200:
            raise self._error(response, what, project="")

    def start_execution(self, policy_id: int) -> int:
        """Start an execution of policy ``policy_id``; its id."""
        return self._created("/replication/executions", {"policy_id": policy_id}, f"the start of replication policy {policy_id}")

    def execution(self, execution_id: int) -> dict[str, Any]:
        """Execution ``execution_id`` as Harbor reports it (``status``, ``total``, ``succeed``, ``failed``...)."""
        found = self._read(f"/replication/executions/{execution_id}", f"replication execution {execution_id}", project="")
        if not isinstance(found, dict):
            raise RegistryError(
                f"Harbor at {self.description} has no replication execution {execution_id}.",
                hint=Advice("Check Harbor's replication page."),
            )
        return found

    def tasks(self, execution_id: int) -> list[dict[str, Any]]:
        """The tasks of execution ``execution_id``."""
        return self._listed(f"/replication/executions/{execution_id}/tasks", f"the tasks of execution {execution_id}", {})

    # -- internals -----------------------------------------------------------------------------

    def _listed(self, path: str, what: str, params: dict[str, str]) -> list[dict[str, Any]]:
        """Every item of a paged list."""
        items: list[dict[str, Any]] = []
        page = 1
        while True:
            found = self._read(path, what, project="", params={**params, "page": str(page), "page_size": str(PAGE)})
            batch = [item for item in found if isinstance(item, dict)] if isinstance(found, list) else []
            items += batch
            if len(batch) < PAGE:
                return items
            page += 1

    def _created(self, path: str, body: dict[str, Any], what: str) -> int:
        response = self._send("POST", path, json=body, what=what)
        if response.status_code != 201:
            raise self._error(response, what, project="")
        location = response.headers.get("Location", "").rstrip("/").rsplit("/", 1)[-1]
        if not location.isdigit():
            raise RegistryError(
                f"Harbor at {self.description} answered {what} without the new id in its Location header.",
                hint=Advice("Check that the address is Harbor's."),
            )
        return int(location)
