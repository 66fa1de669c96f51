"""ChartMuseum and Harbor ≤ 2.7 chartrepo destinations, against TEST SERVERS (not the products).

The test servers (tests/fixtures/chartservers.py) answer as reference/chartmuseum-api.md and
Harbor v2.7's chartrepo swagger say the real servers do; the Harbor one checks every request
against that swagger and records violations.
"""

from __future__ import annotations

import ssl
from pathlib import Path

import httpx
import pytest

from core.charts.chartmuseum import ChartMuseumDestination
from core.charts.destinations import (
    ChartDestination,
    DestinationSpec,
    make_destination,
    open_chart_destination,
)
from core.charts.harbor import HarborChartDestination
from core.charts.pipeline import PreparedChart, prepare_chart
from core.config import TargetConfig
from core.errors import AuthError, TargetError, TLSError, TransportError, UsageError
from core.kinds import ChartAction
from core.registry.client import RegistryClient
from core.registry.retry import CHECK_RETRY_FOR, DEFAULT_RETRY_FOR, NO_RETRY
from core.targets.registry import RegistryTarget
from tests.fixtures.chartfiles import IMAGES, VALUES, chart_files
from tests.fixtures.chartservers import (
    HARBOR_SWAGGER,
    ChartMuseumTestServer,
    HarborChartRepoTestServer,
    load_swagger_operations,
)
from tests.fixtures.registry import _tls_material


def _charts() -> tuple[PreparedChart, PreparedChart]:
    one = prepare_chart(chart_files(), host="registry.example.com", imported_refs=IMAGES)
    other = prepare_chart(
        chart_files(values=VALUES.replace("replicas: 1", "replicas: 3")),
        host="registry.example.com",
        imported_refs=IMAGES,
    )
    return one, other


def _cycle(dest: ChartDestination) -> None:
    """new -> unchanged -> conflict (kept) -> overwritten (force)."""
    chart, other = _charts()
    assert dest.existing(chart.name, chart.version) is None
    assert dest.push(chart.name, chart.version, chart.tgz, repo=chart.repo) == ChartAction.NEW
    assert dest.existing(chart.name, chart.version) == chart.digest
    assert dest.push(chart.name, chart.version, chart.tgz, repo=chart.repo) == ChartAction.UNCHANGED
    assert dest.push(other.name, other.version, other.tgz, repo=other.repo) == ChartAction.CONFLICT
    assert dest.existing(chart.name, chart.version) == chart.digest
    assert dest.push(other.name, other.version, other.tgz, repo=other.repo, force=True) == ChartAction.OVERWRITTEN
    assert dest.existing(other.name, other.version) == other.digest


# -- ChartMuseum ----------------------------------------------------------------------------------


def test_chartmuseum_test_server_push_cycle_and_request_shapes(chartmuseum: ChartMuseumTestServer) -> None:
    dest = ChartMuseumDestination(chartmuseum.url, username="chartuser", password="chartpass")
    assert isinstance(dest, ChartDestination)
    dest.ping()
    _cycle(dest)
    chart, other = _charts()
    assert chartmuseum.charts == {("", "metrics-server", "3.8.2"): other.tgz}
    posts = [r for r in chartmuseum.requests if r.method == "POST"]
    assert [(r.path, r.query, r.form_fields) for r in posts] == [
        ("/api/charts", "", ("chart",)),
        ("/api/charts", "force", ("chart",)),
    ]
    assert all(r.content_type.startswith("multipart/form-data") for r in posts)
    heads = {r.path for r in chartmuseum.requests if r.method == "HEAD"}
    assert heads == {"/api/charts/metrics-server/3.8.2"}
    assert ("GET", "/charts/metrics-server-3.8.2.tgz") in {(r.method, r.path) for r in chartmuseum.requests}
    assert all(r.authorized for r in chartmuseum.requests)
    assert dest.location(chart.name, chart.version) == f"{chartmuseum.url}/charts/metrics-server-3.8.2.tgz"


def test_chartmuseum_test_server_multitenant_paths() -> None:
    server = ChartMuseumTestServer(depth=2)
    try:
        dest = make_destination("chartmuseum", DestinationSpec(url=f"{server.url}/org1/repoa"))
        chart, _ = _charts()
        assert dest.push(chart.name, chart.version, chart.tgz) == ChartAction.NEW
        assert dest.push(chart.name, chart.version, chart.tgz) == ChartAction.UNCHANGED
        assert set(server.charts) == {("org1/repoa", "metrics-server", "3.8.2")}
        paths = {(r.method, r.path) for r in server.requests}
        assert ("POST", "/api/org1/repoa/charts") in paths
        assert ("HEAD", "/api/org1/repoa/charts/metrics-server/3.8.2") in paths
        assert ("GET", "/org1/repoa/charts/metrics-server-3.8.2.tgz") in paths
    finally:
        server.stop()


def test_chartmuseum_test_server_401_is_an_auth_error(chartmuseum: ChartMuseumTestServer) -> None:
    dest = ChartMuseumDestination(chartmuseum.url, username="chartuser", password="wrong")
    chart, _ = _charts()
    with pytest.raises(
        AuthError, match=r"ChartMuseum http://127\.0\.0\.1:\d+ refused the credentials.*HTTP 401"
    ):
        dest.push(chart.name, chart.version, chart.tgz)
    with pytest.raises(AuthError):
        dest.ping()
    assert chartmuseum.charts == {}


def test_chartmuseum_test_server_507_storage_full(chartmuseum: ChartMuseumTestServer) -> None:
    chartmuseum.storage_full = True
    dest = ChartMuseumDestination(chartmuseum.url, username="chartuser", password="chartpass")
    chart, _ = _charts()
    with pytest.raises(
        TargetError, match=r"is out of storage \(HTTP 507\) while uploading chart metrics-server 3\.8\.2"
    ):
        dest.push(chart.name, chart.version, chart.tgz)
    assert chartmuseum.charts == {}


def test_chartmuseum_test_server_409_race_and_disabled_force() -> None:
    server = ChartMuseumTestServer(disable_force_overwrite=True)
    try:
        dest = ChartMuseumDestination(server.url)
        chart, other = _charts()
        # somebody stores the version between our look-up and our upload: the 409 is read as a conflict
        original_existing = dest.existing
        calls = {"n": 0}

        def racing(name: str, version: str, *, repo: str = "") -> str | None:
            calls["n"] += 1
            if calls["n"] == 1:
                server.charts[("", name, version)] = other.tgz
                return None
            return original_existing(name, version)

        dest.existing = racing
        assert dest.push(chart.name, chart.version, chart.tgz) == ChartAction.CONFLICT
        assert server.charts[("", "metrics-server", "3.8.2")] == other.tgz
        assert [r.query for r in server.requests if r.method == "POST"] == [""]
        dest.existing = original_existing
        with pytest.raises(TargetError, match="refuses to overwrite metrics-server 3.8.2"):
            dest.push(chart.name, chart.version, chart.tgz, force=True)
        assert server.charts[("", "metrics-server", "3.8.2")] == other.tgz
    finally:
        server.stop()


def test_chartmuseum_unreachable_is_a_transport_error() -> None:
    server = ChartMuseumTestServer()
    url = server.url
    server.stop()
    dest = ChartMuseumDestination(url, retries=NO_RETRY)
    with pytest.raises(TransportError, match=f"Cannot reach ChartMuseum {url} during HEAD /api/charts/a/1.0.0"):
        dest.existing("a", "1.0.0")


def test_chartmuseum_injectable_transport() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url.path}")
        return httpx.Response(404, json={"error": "not found"})

    dest = ChartMuseumDestination("https://charts.example.com:8081", transport=httpx.MockTransport(handler))
    assert dest.existing("a", "1.0.0") is None
    assert seen == ["HEAD /api/charts/a/1.0.0"]


# -- Harbor chartrepo -----------------------------------------------------------------------------


def test_harbor_chartrepo_test_server_follows_the_swagger() -> None:
    ops = {(op.method, op.template) for op in load_swagger_operations(HARBOR_SWAGGER)}
    # the operations archfuse uses exist in Harbor v2.7's swagger, with the multipart field it sends
    assert {
        ("GET", "/api/chartrepo/health"),
        ("POST", "/api/chartrepo/{repo}/charts"),
        ("GET", "/api/chartrepo/{repo}/charts/{name}/{version}"),
        ("DELETE", "/api/chartrepo/{repo}/charts/{name}/{version}"),
    } <= ops
    upload = next(
        op
        for op in load_swagger_operations()
        if op.template == "/api/chartrepo/{repo}/charts" and op.method == "POST"
    )
    assert upload.form_fields == {"chart": True, "prov": False}
    assert {201, 401, 507} <= upload.statuses


def test_harbor_chartrepo_test_server_push_cycle(harbor_chartrepo: HarborChartRepoTestServer) -> None:
    dest = HarborChartDestination(
        f"{harbor_chartrepo.url}/chartrepo/addon", username="admin", password="Harbor12345"
    )
    dest.ping()
    _cycle(dest)
    _, other = _charts()
    assert harbor_chartrepo.charts == {("addon", "metrics-server", "3.8.2"): other.tgz}
    assert harbor_chartrepo.violations == []
    calls = [
        (r.method, r.path, r.form_fields) for r in harbor_chartrepo.requests if r.method in ("POST", "DELETE")
    ]
    assert calls == [
        ("POST", "/api/chartrepo/addon/charts", ("chart",)),
        ("DELETE", "/api/chartrepo/addon/charts/metrics-server/3.8.2", ()),
        ("POST", "/api/chartrepo/addon/charts", ("chart",)),
    ]
    assert dest.describe() == f"Harbor chart repository {harbor_chartrepo.url}/chartrepo/addon"


def test_harbor_chartrepo_test_server_401_and_missing_project(
    harbor_chartrepo: HarborChartRepoTestServer,
) -> None:
    chart, _ = _charts()
    wrong = HarborChartDestination(f"{harbor_chartrepo.url}/chartrepo/addon", username="admin", password="nope")
    with pytest.raises(AuthError, match="HTTP 401: UNAUTHORIZED"):
        wrong.push(chart.name, chart.version, chart.tgz)
    missing = HarborChartDestination(
        f"{harbor_chartrepo.url}/chartrepo/nosuch", username="admin", password="Harbor12345"
    )
    with pytest.raises(AuthError, match="project nosuch not found"):
        missing.push(chart.name, chart.version, chart.tgz)
    assert harbor_chartrepo.charts == {}
    assert harbor_chartrepo.violations == []


def test_harbor_chartrepo_test_server_507(harbor_chartrepo: HarborChartRepoTestServer) -> None:
    harbor_chartrepo.storage_full = True
    dest = make_destination("harbor", DestinationSpec(url=f"{harbor_chartrepo.url}/chartrepo/addon", username="admin", password="Harbor12345"))
    chart, _ = _charts()
    with pytest.raises(TargetError, match=r"Harbor http://127\.0\.0\.1:\d+ is out of storage \(HTTP 507\)"):
        dest.push(chart.name, chart.version, chart.tgz)
    assert harbor_chartrepo.violations == []


def test_harbor_chartrepo_test_server_records_off_swagger_requests(
    harbor_chartrepo: HarborChartRepoTestServer,
) -> None:
    # the checker itself: a request the swagger has no operation for is a violation
    httpx.post(f"{harbor_chartrepo.url}/api/chartrepo/addon/upload", content=b"x")
    httpx.post(f"{harbor_chartrepo.url}/api/chartrepo/addon/charts", files={"file": ("a.tgz", b"x")})
    assert (
        harbor_chartrepo.violations[0]
        == "POST /api/chartrepo/addon/upload is not an operation of the swagger"
    )
    assert "sent undeclared form field 'file'" in harbor_chartrepo.violations[1]
    assert "missing required form field 'chart'" in harbor_chartrepo.violations[2]


def test_harbor_url_without_project_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="names no project"):
        HarborChartDestination("https://harbor.example.com")
    with pytest.raises(UsageError, match="Unknown chart repository type 'jfrog'"):
        make_destination("jfrog", DestinationSpec(url="https://x"))


def test_chartmuseum_test_server_over_tls_with_ca_file(tmp_path: Path) -> None:
    ca_pem, chain_pem, key_pem = _tls_material()
    (tmp_path / "ca.pem").write_bytes(ca_pem)
    (tmp_path / "server.pem").write_bytes(chain_pem)
    (tmp_path / "server.key").write_bytes(key_pem)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "server.pem", tmp_path / "server.key")
    server = ChartMuseumTestServer(tls=context)
    try:
        chart, _ = _charts()
        trusted = make_destination("chartmuseum", DestinationSpec(url=server.url, ca_cert=tmp_path / "ca.pem"))
        assert trusted.push(chart.name, chart.version, chart.tgz) == ChartAction.NEW
        untrusted = make_destination("chartmuseum", DestinationSpec(url=server.url))
        with pytest.raises(TLSError, match=f"The TLS certificate of ChartMuseum {server.url} could not be verified"):
            untrusted.existing(chart.name, chart.version)
    finally:
        server.stop()


@pytest.mark.parametrize("kind", ["chartmuseum", "harbor"])
def test_chart_repository_checks_are_retried_for_retry_for_at_most_30_s(kind: str) -> None:
    """A chart repository answers questions (its check), so its reads are retried as Harbor's API is:
    ``--retry-for`` when shorter, else 30 s."""
    for retry_for, retried in ((2.0, 2.0), (DEFAULT_RETRY_FOR, CHECK_RETRY_FOR)):
        config = TargetConfig(registry_url="https://registry.example", chart_repo_url="https://charts.example/chartrepo/p",
                              chart_repo_type=kind, retry_for=retry_for)
        dest = open_chart_destination(config, RegistryTarget(RegistryClient(config.registry_url or "")))
        assert isinstance(dest, (ChartMuseumDestination, HarborChartDestination))
        assert dest.retries.max_total == retried
        dest.close()
