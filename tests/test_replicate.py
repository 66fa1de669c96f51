"""Harbor replication from a hub to its sites (issue 24, item 3), against the Harbor API test server
(tests/fixtures/harbor.py and harbor_replication.py): every request validated against Harbor's published
swagger, a replication copying what carries the policy's label to the peer server. Not a running Harbor."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from core import events as ev
from core.config import Secret, TargetConfig
from core.errors import UsageError
from core.kinds import CheckStatus, VerifyStatus
from core.operations.replicate import (
    ReplicationOptions, ReplicationPlan, plan_replication, policy_body, run_replication,
)
from core.record.journal import Journal
from core.registry.client import RegistryClient
from core.registry.credentials import Credentials
from core.targets.registry import RegistryTarget
from tests.fixtures.harbor import HarborTestServer, validate_request
from tests.fixtures.imports import journaled_import, make_package
from tests.fixtures.registry import RegistryServer

PASSWORD = "Harbor12345"
FAST = ReplicationOptions(poll=0.0, speed_kb=2048, single_active=True)


@dataclass(frozen=True)
class Site:
    name: str
    config: TargetConfig


def config_of(server: HarborTestServer) -> TargetConfig:
    return TargetConfig(registry_url=server.url, insecure=True, username="admin", password=Secret(PASSWORD))


@dataclass
class Pair:
    hub: HarborTestServer
    sites: list[HarborTestServer]
    run_id: str
    journal: Journal

    def plan(self) -> ReplicationPlan:
        tags = self.journal.tags_of(self.run_id)
        return plan_replication(config_of(self.hub), [Site(f"site{i}", config_of(s)) for i, s in enumerate(self.sites)],
                                self.run_id, tags)

    def writes(self) -> list[str]:
        """The hub's requests that change something."""
        return [f"{r.method} {r.path}" for r in self.hub.api_requests if r.method in ("POST", "PUT", "DELETE")]


@pytest.fixture
def pair(harbor_factory: Callable[..., HarborTestServer], registry: RegistryServer, journal: Journal) -> Pair:
    """A hub Harbor (the real registry behind it) with one journaled import into project ``addon``, and
    two site Harbors with that project, the hub's endpoints able to reach them."""
    hub = harbor_factory(upstream=registry.url, upstream_storage=registry.storage, projects=("library", "addon"))
    sites = [harbor_factory(projects=("library", "addon")) for _ in range(2)]
    for site in sites:
        hub.replication.peers[site.url] = site
    target = RegistryTarget(RegistryClient(hub.url, credentials=Credentials("admin", PASSWORD), insecure=True), hub.url)
    package = make_package(target, "1.0", "amd64")
    run_id, _ = journaled_import(journal, target, [package])
    target.close()
    return Pair(hub, sites, run_id, journal)


def failed(plan: ReplicationPlan) -> list[str]:
    return [c.detail for s in plan.sites for c in s.checks if c.status == CheckStatus.FAIL]


def test_harbor_api_test_server_replication_labels_follows_and_verifies(pair: Pair) -> None:
    plan = pair.plan()
    assert failed(plan) == [] and plan.creates == [
        "registry endpoint archfuse-site0", "registry endpoint archfuse-site1",
        "replication policy archfuse-to-site0", "replication policy archfuse-to-site1",
    ]
    seen: list[ev.Event] = []
    summary = run_replication(plan, FAST, seen.append, sleep=lambda _s: None)
    assert summary.ok, summary.render_text()
    assert [len(s.verified) for s in summary.sites] == [1, 1]
    progress = [e for e in seen if isinstance(e, ev.ReplicationProgress)]
    assert progress[-1].status == "Succeed" and progress[-1].succeed == 1
    policy = pair.hub.calls("POST", "/api/v2.0/replication/policies")[0].json
    assert policy["filters"] == [{"type": "label", "value": [plan.label], "decoration": "matches"}]
    assert policy["override"] is True and policy["trigger"] == {"type": "manual"}
    assert policy["speed"] == 2048 and policy["single_active_replication"] is True
    assert validate_request("POST", "/replication/policies", [], pair.hub.calls(
        "POST", "/api/v2.0/replication/policies")[0].body, "application/json") == []
    labelled = [r for r in pair.hub.api_requests if r.method == "POST" and r.path.endswith("/labels")
                and "/artifacts/" in r.path]
    tags = pair.journal.tags_of(pair.run_id)
    assert [r.path.split("/artifacts/")[1] for r in labelled] == [f"{t.after}/labels" for t in tags]
