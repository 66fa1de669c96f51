"""The registry's own rules, checked before anything moves (issue 21): a Harbor project's quota,
immutable-tag rules, tag retention and proxy cache, and Harbor 2.8+ without ChartMuseum. Against the
Harbor API test server (tests/fixtures/harbor.py, every request validated against Harbor's swagger)
in front of the real registry, and against the real plain registry, which has no such API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from core.checks.rules import doublestar, rule_selects
from core.oci.refs import space_of
from core.package.scan import scan_paths
from core.plan.images import group_images
from core.registry.credentials import Credentials
from core.registry.harbor import HarborClient, harbor_release
from tests.cli_driver import archfuse, registry_args
from tests.fixtures.harbor import HarborTestServer, validate_request
from tests.fixtures.registry import RegistryServer
from tests.test_import_registry import pkg

PASSWORD = "Harbor12345"


def harbor_args(harbor: HarborTestServer) -> list[str]:
    return ["--registry", harbor.url, "--insecure", "--username", "admin"]


def plan(harbor: HarborTestServer, state: Path, *paths: Path, extra: tuple[str, ...] = ()) -> Any:
    result = archfuse("plan", *paths, *harbor_args(harbor), "--json", *extra, state_dir=state, password=PASSWORD)
    assert harbor.invalid == [], harbor.invalid
    return result


def checks_of(result: Any, name: str) -> list[dict[str, Any]]:
    return [c for c in result.events[-1]["checks"] if c["name"] == name]


@pytest.fixture
def projects(harbor_registry: HarborTestServer, demo_packages: list[Path]) -> HarborTestServer:
    """The Harbor test server (over the real registry) with every project the demo packages need
    (their images' and their OCI charts')."""
    packages = scan_paths([pkg(demo_packages, "v0.11.0", "amd64")], use_cache=False)
    repositories = [t.repository for t in group_images(packages, "", harbor_registry.host)]
    repositories += [c.repo for p in packages for c in p.charts]
    for space in sorted({space_of(r) for r in repositories} - set(harbor_registry.projects)):
        harbor_registry.add_project(space)
    return harbor_registry


def imported(harbor: HarborTestServer, state: Path, path: Path) -> None:
    result = archfuse("import", path, *harbor_args(harbor), "--yes", "--json", state_dir=state, password=PASSWORD)
    assert result.code == 0, result.err + result.out


# -- the Harbor test server validates what it is asked -----------------------------------------


def test_harbor_test_server_validates_path_header_and_paging_parameters() -> None:
    assert validate_request("GET", "/retentions/7", [], None, "") == []
    assert "is not an integer" in validate_request("GET", "/retentions/seven", [], None, "")[0]
    by_name = {"X-Is-Resource-Name": "true"}
    assert validate_request("GET", "/projects/addon/immutabletagrules", [("page_size", "100")], None, "", by_name) == []
    assert "above the maximum" in validate_request(
        "GET", "/projects/addon/immutabletagrules", [("page_size", "500")], None, "", by_name
    )[0]
    assert "not a boolean" in validate_request("GET", "/projects/addon", [], None, "", {"X-Is-Resource-Name": "yes"})[0]
    assert validate_request("GET", "/retentions/metadatas", [], None, "") == []  # not /retentions/{id}
    assert validate_request("GET", "/quotas", [("reference", "project"), ("reference_id", "3")], None, "") == []


def test_harbor_test_server_quota_is_read_from_quotas_when_the_summary_hides_it(harbor: HarborTestServer) -> None:
    project = harbor.projects["library"]
    project.quota_hard, project.quota_used = 1000, 400
    with HarborClient(harbor.url, credentials=Credentials("admin", PASSWORD), insecure=True) as client:
        quota = client.project_quota(project.project_id, "library")
        assert quota is not None and quota["hard"] == {"storage": 1000} and quota["used"] == {"storage": 400}
        assert client.project("library") is not None and client.project("nothing-here") is None
    assert harbor.calls("GET", "/api/v2.0/quotas")[0].query == [("reference", "project"), ("reference_id", "1")]


# -- each rule ---------------------------------------------------------------------------------


def test_harbor_test_server_quota_too_small_for_the_plan_fails(
    projects: HarborTestServer, demo_packages: list[Path], tmp_path: Path
) -> None:
    amd = pkg(demo_packages, "v0.11.0", "amd64")
    project = projects.projects["metrics-server"]
    project.quota_hard, project.quota_used = 2048, 1024
    result = plan(projects, tmp_path / "state", amd)
    assert result.code == 3, result.out
    [quota] = [c for c in checks_of(result, "quota") if c["status"] == "fail"]
    assert "Harbor project 'metrics-server' has a storage quota of 2.0 KiB with 1.0 KiB used" in quota["detail"]
    assert "raise the project's quota" in quota["detail"]
    project.quota_hard = -1  # unlimited
    again = plan(projects, tmp_path / "state", amd)
    assert again.code == 0 and all(c["status"] == "ok" for c in checks_of(again, "quota"))


def test_harbor_test_server_immutable_rule_on_an_updated_tag_fails(
    projects: HarborTestServer, demo_packages: list[Path], tmp_path: Path
) -> None:
    state = tmp_path / "state"
    amd, arm = pkg(demo_packages, "v0.11.0", "amd64"), pkg(demo_packages, "v0.11.0", "arm64")
    projects.add_immutable_rule("metrics-server", repositories="metrics-*", tags="v0.*")
    cold = plan(projects, state, amd)  # new tags: an immutable rule does not stop their first push
    assert cold.code == 0 and checks_of(cold, "immutable tags")
    assert all(c["status"] == "ok" for c in checks_of(cold, "immutable tags"))
    imported(projects, state, amd)
    fused = plan(projects, state, arm)  # add-arch: the existing tags are rewritten
    assert fused.code == 3, fused.out
    [immutable] = [c for c in checks_of(fused, "immutable tags") if c["status"] == "fail"]
    assert "immutable tag rule 1 (repositories 'metrics-*', tags 'v0.*')" in immutable["detail"]
    assert "metrics-server/metrics-server:v0.6.2" in immutable["detail"]
    assert "--prefix" in immutable["detail"]


def test_harbor_test_server_retention_that_keeps_none_of_the_tags_warns(
    projects: HarborTestServer, demo_packages: list[Path], tmp_path: Path
) -> None:
    amd = pkg(demo_packages, "v0.11.0", "amd64")
    keep = {"id": 1, "priority": 1, "disabled": False, "action": "retain", "template": "latestPushedK",
            "params": {"latestPushedK": {}},
            "tag_selectors": [{"kind": "doublestar", "decoration": "matches", "pattern": "release-*"}],
            "scope_selectors": {"repository": [{"kind": "doublestar", "decoration": "repoMatches", "pattern": "**"}]}}
    projects.set_retention("metrics-server", [keep])
    result = plan(projects, tmp_path / "state", amd)
    assert result.code == 0  # a warning: nothing is refused, the tags go later
    [retention] = checks_of(result, "retention")
    assert retention["status"] == "warn"
    assert "tag retention policy (id 1) that keeps none of" in retention["detail"]
    assert "metrics-server/metrics-server:v0.6.2" in retention["detail"]
    keep["template"], keep["tag_selectors"][0]["pattern"] = "always", "**"
    again = plan(projects, tmp_path / "state", amd)
    assert [c["status"] for c in checks_of(again, "retention")] == ["ok"]


def test_harbor_test_server_proxy_cache_project_fails(
    projects: HarborTestServer, demo_packages: list[Path], tmp_path: Path
) -> None:
    projects.projects["metrics-server"].registry_id = 4
    result = plan(projects, tmp_path / "state", pkg(demo_packages, "v0.11.0", "amd64"))
    assert result.code == 3, result.out
    [proxy] = checks_of(result, "proxy cache")
    assert proxy["status"] == "fail"
    assert "Harbor project 'metrics-server'" in proxy["detail"] and "is a proxy cache (of registry 4)" in proxy["detail"]
    assert "--prefix" in proxy["detail"]


def test_harbor_test_server_2_8_has_no_chartmuseum(
    projects: HarborTestServer, demo_packages: list[Path], tmp_path: Path
) -> None:
    chart_repo = ("--chart-repo", f"{projects.url}/chartrepo/library", "--chart-repo-type", "harbor",
                  "--chart-username", "admin")
    result = archfuse("plan", pkg(demo_packages, "v0.11.0", "amd64"), *harbor_args(projects), "--json", *chart_repo,
                      state_dir=tmp_path / "state", password=PASSWORD, env={"ARCHFUSE_CHART_PASSWORD": PASSWORD})
    assert projects.invalid == []
    assert result.code == 3, result.out
    [destination] = checks_of(result, "chart destination")
    assert destination["status"] == "fail"
    assert f"is {HarborTestServer.VERSION}: Harbor 2.8 removed ChartMuseum" in destination["detail"]
    assert "--chart-repo-type oci" in destination["detail"]


def test_a_plain_registry_has_no_such_api_so_the_rules_do_not_apply(
    registry: RegistryServer, demo_packages: list[Path], tmp_path: Path
) -> None:
    result = archfuse("plan", pkg(demo_packages, "v0.11.0", "amd64"), *registry_args(registry), "--json",
                      state_dir=tmp_path / "state")
    assert result.code == 0, result.out
    [rules] = checks_of(result, "registry rules")
    assert rules["status"] == "ok" and rules["detail"].startswith("Do not apply: ")
    kinds = {c["name"] for c in result.events[-1]["checks"]}
    assert not kinds & {"quota", "immutable tags", "retention", "proxy cache"}


# -- the rules' own words ----------------------------------------------------------------------


def test_doublestar_patterns_and_selectors_match_as_harbor_does() -> None:
    assert doublestar("**").match("a/b/c") and doublestar("*").match("abc") and not doublestar("*").match("a/b")
    assert doublestar("{app,web}-?").match("web-1") and not doublestar("{app,web}-?").match("db-1")
    assert doublestar("v[0-9].*").match("v1.2") and doublestar("[!x]y").match("ay")
    rule = {"tag_selectors": [{"kind": "doublestar", "decoration": "excludes", "pattern": "latest"}],
            "scope_selectors": {"repository": [{"kind": "doublestar", "decoration": "repoMatches",
                                                "pattern": "metrics-*"}]}}
    assert rule_selects(rule, "metrics-server/metrics-server", "v1")  # matched without the project
    assert not rule_selects(rule, "metrics-server/metrics-server", "latest")
    assert not rule_selects(rule, "metrics-server/other", "v1")
    assert not rule_selects({**rule, "disabled": True}, "metrics-server/metrics-server", "v1")
    assert harbor_release("v2.8.1-89ef156d") == (2, 8) and harbor_release("dev") is None
