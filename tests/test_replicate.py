"""Harbor replication from a hub to its sites (issue 24, item 3), against the Harbor API test server
(tests/fixtures/harbor.py and harbor_replication.py): every request validated against Harbor's published
swagger, a replication copying what carries the policy's label to the peer server. Not a running Harbor."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from core import events as ev
from core.errors import UsageError
from core.kinds import CheckStatus, VerifyStatus
from core.oci import mediatypes as mt
from core.oci.digest import sha256_digest
from core.operations.replicate import (
    ReplicationOptions,
    ReplicationPlan,
    run_replication,
)
from core.targets.layout import LayoutTarget
from tests.cli_driver import archfuse
from tests.fixtures.harbor import HarborTestServer, validate_request
from tests.fixtures.harbor_replication import Replicated
from tests.fixtures.imports import make_package
from tests.fixtures.registry import RegistryServer
from tests.fixtures.replication_pair import PASSWORD, Pair
from tui.format import replication_line
from tui.render import PlainRenderer

FAST = ReplicationOptions(poll=0.0, speed_kb=2048, single_active=True)


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


def _differ(pair: Pair) -> None:
    pair.sites[1].VERSION = "v2.9.1-test"  # type: ignore[misc]


def _unreachable(pair: Pair) -> None:
    pair.hub.replication.ping_error = "failed to ping endpoint: connection refused"


def _proxy_cache(pair: Pair) -> None:
    pair.sites[1].projects["addon"].registry_id = 7


def _full(pair: Pair) -> None:
    project = pair.sites[1].projects["addon"]
    project.quota_hard, project.quota_used = 1000, 990


def _immutable(pair: Pair) -> None:
    """Site1 holds addon/app:1.0 as another manifest, and a rule makes its tags immutable."""
    data = json.dumps({"schemaVersion": 2, "mediaType": mt.OCI_MANIFEST, "config": {
        "mediaType": mt.OCI_CONFIG, "digest": sha256_digest(b"{}"), "size": 2}, "layers": []}).encode()
    other = Replicated(data, mt.OCI_MANIFEST, sha256_digest(data))
    pair.sites[1].replication.replicated[("addon/app", "1.0")] = other
    pair.sites[1].add_immutable_rule("addon", tags="1.*")


@pytest.mark.parametrize("spoil, named", [
    (_differ, "runs Harbor v2.10.0-test and site site1"),
    (_unreachable, "cannot reach site site0"),
    (_proxy_cache, "is a proxy cache"),
    (_full, "has a storage quota of"),
    (_immutable, "has an immutable tag rule 1 (repositories '**', tags '1.*') that protects 1 existing tag(s)"),
], ids=["versions-differ", "ping-fails", "proxy-cache", "quota", "immutable"])
def test_harbor_api_test_server_replication_pair_check_fails_and_nothing_changes(
    pair: Pair, spoil: Callable[[Pair], None], named: str
) -> None:
    spoil(pair)
    plan = pair.plan()
    assert plan.blocked and any(named in detail for detail in failed(plan)), failed(plan)
    before, held = pair.writes(), [dict(s.replication.replicated) for s in pair.sites]
    with pytest.raises(UsageError, match="nothing was changed"):
        run_replication(plan, FAST, ev.discard, sleep=lambda _s: None)
    assert pair.writes() == before == []
    assert [s.replication.replicated for s in pair.sites] == held


def test_harbor_api_test_server_replication_reuses_an_existing_endpoint_and_policy(pair: Pair) -> None:
    run_replication(pair.plan(), FAST, ev.discard, sleep=lambda _s: None)
    endpoints = len(pair.hub.calls("POST", "/api/v2.0/registries"))
    again = pair.plan()
    assert again.creates == [] and all(s.registry_id and s.policy_id for s in again.sites)
    summary = run_replication(again, FAST, ev.discard, sleep=lambda _s: None)
    assert summary.ok
    assert len(pair.hub.calls("POST", "/api/v2.0/registries")) == endpoints == 2
    assert len(pair.hub.calls("POST", "/api/v2.0/replication/policies")) == 2
    assert len([r for r in pair.hub.api_requests if r.method == "PUT"]) == 2  # the policies brought up to date
    assert len(pair.hub.calls("POST", "/api/v2.0/labels")) == 1  # the label, too, is reused


def test_harbor_api_test_server_replication_reruns_a_failed_task(pair: Pair) -> None:
    pair.hub.replication.fail_tasks = 1  # the first execution's task fails
    seen: list[ev.Event] = []
    summary = run_replication(pair.plan(), FAST, seen.append, sleep=lambda _s: None)
    assert summary.ok, summary.render_text()
    first = summary.sites[0]
    assert len(first.executions) == 2 and first.status == "Succeed"
    reruns = [e for e in seen if isinstance(e, ev.ReplicationRerun)]
    assert [(e.site, e.failed, e.attempt) for e in reruns] == [("site0", 1, 1)]
    failed_progress = [e for e in seen if isinstance(e, ev.ReplicationProgress) and e.status == "Failed"]
    assert failed_progress and failed_progress[0].failed == 1
    assert len(pair.hub.calls("POST", "/api/v2.0/replication/executions")) == 3  # 2 for site0, 1 for site1


def test_harbor_api_test_server_replication_verifies_each_site_itself(pair: Pair) -> None:
    pair.hub.replication.fail_tasks = 3  # site0's task fails in every execution (one and two re-runs)
    summary = run_replication(pair.plan(), FAST, ev.discard, sleep=lambda _s: None)
    site0, site1 = summary.sites
    assert not summary.ok and summary.exit_code == 1
    assert site0.status == "Failed" and len(site0.executions) == 3 and "still failed" in site0.message
    assert [c.status for c in site0.verified] == [VerifyStatus.MISSING_TAG]
    assert site1.ok and [c.status for c in site1.verified] == [VerifyStatus.OK]
    assert "site site0: NOT OK" in summary.render_text()


# -- the command -------------------------------------------------------------------------------------


def sites_file(pair: Pair, tmp_path: Path) -> Path:
    """hub, site0 and site1, credentials from $HARBOR_PW."""
    servers = {"hub": pair.hub, "site0": pair.sites[0], "site1": pair.sites[1]}
    entries = [{"name": name, "registry": server.url, "insecure": True, "username": "admin",
                "password_env": "HARBOR_PW"} for name, server in servers.items()]
    path = tmp_path / "sites.yaml"
    path.write_text(json.dumps({"sites": entries}), encoding="utf-8")  # JSON is YAML
    return path


def test_harbor_api_test_server_sites_replicate_command_json(pair: Pair, tmp_path: Path) -> None:
    pair.hub.replication.fail_tasks = 1
    result = archfuse("sites", "replicate", "--sites", sites_file(pair, tmp_path), "--hub", "hub", "--yes",
                      "--json", "--speed-limit", "1MiB", state_dir=pair.journal.state_dir, env={"HARBOR_PW": PASSWORD})
    assert result.code == 0, result.err
    assert PASSWORD not in result.out + result.err
    names = [e.get("event") for e in result.events]
    assert names[0] == "replication_plan" and names[-1] == "replication"
    assert "replication_progress" in names and "replication_rerun" in names
    assert result.events[-1]["ok"] is True
    assert [s["site"] for s in result.events[-1]["sites"]] == ["site0", "site1"]
    assert pair.hub.calls("POST", "/api/v2.0/replication/policies")[0].json["speed"] == 1024
    assert all(s.replication.replicated for s in pair.sites)


def test_harbor_api_test_server_sites_replicate_needs_consent_and_changes_nothing(pair: Pair, tmp_path: Path) -> None:
    result = archfuse("sites", "replicate", "--sites", sites_file(pair, tmp_path), "--hub", "hub",
                      state_dir=pair.journal.state_dir, env={"HARBOR_PW": PASSWORD})
    assert result.code == UsageError.exit_code and "pass --yes" in result.err
    assert pair.writes() == [] and all(not s.replication.replicated for s in pair.sites)
    assert PASSWORD not in result.out + result.err


def test_replication_events_are_lines_in_both_faces() -> None:
    """The CLI's plain renderer and the TUI's run log word replication progress and re-runs the same way."""
    progress = ev.ReplicationProgress("east", 12, "InProgress", 5, 3, 1, 1)
    rerun = ev.ReplicationRerun("east", 13, 1, 1)
    assert PlainRenderer().line(progress) == replication_line(progress) == (
        "site east: execution 12 InProgress, 3 of 5 task(s) done, 1 failed")
    assert PlainRenderer().line(rerun) == replication_line(rerun) == (
        "site east: 1 task(s) failed; re-running them as execution 13 (re-run 1)")


def test_harbor_api_test_server_replication_verifies_a_site_image_by_image(
    pair: Pair, registry_factory: Callable[..., RegistryServer], harbor_factory: Callable[..., HarborTestServer],
    tmp_path: Path,
) -> None:
    """With the import's packages, a site is verified as an import is (core/operations/verify.py): every
    platform of every image and each of its blobs, read from the site's own registry."""
    behind = registry_factory()
    site = harbor_factory(upstream=behind.url, upstream_storage=behind.storage, projects=("library", "addon"))
    pair.hub.replication.peers[site.url] = site
    pair.sites = [site]
    scratch = LayoutTarget(tmp_path / "scratch")
    scratch.ping()
    package = make_package(scratch, "1.0", "amd64")  # the imported package again, its blobs elsewhere
    summary = run_replication(pair.plan(), FAST, ev.discard, sleep=lambda _s: None, packages=[package])
    assert summary.ok, summary.render_text()
    assert [(c.platform, c.status) for c in summary.sites[0].verified] == [("linux/amd64", VerifyStatus.OK)]
