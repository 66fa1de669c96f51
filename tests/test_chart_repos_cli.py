"""Chart destinations chosen on the command line and by clusterConfig.yaml: ChartMuseum and Harbor chartrepo
test servers (built from their published APIs), images into the real registry."""

from __future__ import annotations

from pathlib import Path

from tests.cli_driver import archfuse, registry_args
from tests.fixtures.chartservers import ChartMuseumTestServer, HarborChartRepoTestServer
from tests.fixtures.registry import RegistryServer
from tests.test_import_registry import pkg

CHART_ENV = {"ARCHFUSE_CHART_PASSWORD": "chartpass"}


def chartmuseum_args(registry: RegistryServer, chartmuseum: ChartMuseumTestServer) -> list[str]:
    """Images to the registry, charts to the ChartMuseum test server (password from CHART_ENV)."""
    return [*registry_args(registry), "--chart-repo", chartmuseum.url, "--chart-repo-type", "chartmuseum",
            "--chart-username", "chartuser"]


def test_chartmuseum_test_server_receives_relocated_charts_from_import(
    registry: RegistryServer, chartmuseum: ChartMuseumTestServer, demo_packages: list[Path], tmp_path: Path
) -> None:
    state, amd, args = tmp_path / "state", pkg(demo_packages, "v0.11.0", "amd64"), chartmuseum_args(registry, chartmuseum)
    result = archfuse("import", amd, *args, "--yes", "--json", state_dir=state, env=CHART_ENV)
    assert result.code == 0, result.err + result.out
    assert {e["action"] for e in result.of("chart_done")} == {"new"}
    assert {(n, v) for _r, n, v in chartmuseum.charts} == {
        ("metrics-server", "3.8.2"), ("ingress-nginx", "4.7.1"), ("cert-manager", "v1.11.0"), ("redis", "17.11.3")}
    posts = [r for r in chartmuseum.requests if r.method == "POST"]
    assert posts and all(r.path.startswith("/api/charts") for r in posts)
    assert "chartpass" not in result.out + result.err
    again = archfuse("import", amd, *args, "--yes", "--json", state_dir=state, env=CHART_ENV)
    assert {e["action"] for e in again.of("chart_done")} == {"unchanged"}
    wrong = archfuse("plan", amd, *args, "--json", state_dir=state, env={"ARCHFUSE_CHART_PASSWORD": "nope"})
    assert wrong.code == 3
    assert any(c["name"] == "chart destination" and c["status"] == "fail" for c in wrong.events[-1]["checks"])


def test_harbor_chartrepo_test_server_from_cluster_config(
    registry: RegistryServer, harbor_chartrepo: HarborChartRepoTestServer, demo_packages: list[Path],
    tmp_path: Path,
) -> None:
    amd = pkg(demo_packages, "v0.11.0", "amd64")
    config = tmp_path / "clusterConfig.yaml"
    config.write_text(
        "apiVersion: provision.daocloud.io/v1alpha3\n"
        "kind: ClusterConfig\n"
        "spec:\n"
        "  imagesAndCharts:\n"
        "    type: external\n"
        f"    externalImageRepo: {registry.url}\n"
        "    externalChartRepoType: harbor\n"
        f"    externalChartRepo: {harbor_chartrepo.url}/chartrepo/addon\n"
        "    externalChartRepoUsername: admin\n"
        "    externalChartRepoPassword: Harbor12345\n"
        "  addonPackage:\n"
        f"    path: {amd}\n"
    )
    result = archfuse("import", "-c", config, "--insecure", "--yes", "--json", state_dir=tmp_path / "state")
    assert result.code == 0, result.err + result.out
    assert {e["action"] for e in result.of("image_done")} == {"new"}
    assert {(n, v) for _r, n, v in harbor_chartrepo.charts} >= {("metrics-server", "3.8.2")}
    assert "Harbor12345" not in result.out + result.err
    assert harbor_chartrepo.violations == []


def test_chartmuseum_test_server_down_fails_preflight_unless_ignored(
    registry: RegistryServer, chartmuseum: ChartMuseumTestServer, demo_packages: list[Path], tmp_path: Path
) -> None:
    state, amd, args = tmp_path / "state", pkg(demo_packages, "v0.11.0", "amd64"), chartmuseum_args(registry, chartmuseum)
    chartmuseum.stop()
    args = [*args, "--retry-for", "2s"]  # the check's tries end in 2 s, not the 30 s checks get at most
    refused = archfuse("import", amd, *args, "--yes", "--json", state_dir=state, env=CHART_ENV)
    assert refused.code == 3 and refused.of("image_done") == []
    went_on = archfuse("import", amd, *args, "--yes", "--json", "--ignore-check", "chart-destination",
                       state_dir=state, env=CHART_ENV)
    assert went_on.code == 0, went_on.err
    check = next(c for c in went_on.of("check_done") if c["name"] == "chart destination")
    assert check["status"] == "warn" and "--ignore-check chart-destination" in check["detail"]
    assert {e["action"] for e in went_on.of("image_done")} == {"new"}
    assert went_on.of("chart_done") == []
