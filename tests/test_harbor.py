"""The Harbor client against a Harbor test server that follows Harbor's published swagger
(tests/fixtures/reference/harbor-v2.0-swagger.yaml), and against the real registry."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import socket
import tarfile
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from core.config import build_target_config
from core.errors import AuthError, SpaceMissing, TLSError, TransportError, UsageError
from core.kinds import RegistryFlavour
from core.registry.client import RegistryClient
from core.registry.credentials import Credentials
from core.registry.harbor import HarborClient, detect_flavour
from core.registry.retry import RetryPolicy
from core.targets.connect import open_harbor
from tests.fixtures.harbor import HarborTestServer, validate_request
from tests.fixtures.registry import RegistryServer, skopeo

ADMIN = Credentials("admin", "Harbor12345")
DEV = Credentials("dev", "dev")


def client_for(server: HarborTestServer, credentials: Credentials | None = ADMIN) -> HarborClient:
    return HarborClient(server.url, credentials=credentials, insecure=True)


# -- the test server itself --------------------------------------------------------------------


def test_harbor_test_server_validator_knows_the_swagger() -> None:
    assert validate_request("GET", "/ping", [], None, "") == []
    assert validate_request("HEAD", "/projects", [("project_name", "a")], None, "") == []
    good = json.dumps({"project_name": "a", "metadata": {"public": "true"}}).encode()
    assert validate_request("POST", "/projects", [], good, "application/json") == []
    assert "no such path" in validate_request("GET", "/project", [], None, "")[0]
    assert "has no DELETE" in validate_request("DELETE", "/ping", [], None, "")[0]
    assert "required query parameter 'project_name'" in validate_request("HEAD", "/projects", [], None, "")[0]
    assert (
        "undeclared query parameter 'name'"
        in validate_request("HEAD", "/projects", [("project_name", "a"), ("name", "a")], None, "")[0]
    )
    assert "body is required" in validate_request("POST", "/projects", [], None, "application/json")[0]
    wrong_type = json.dumps({"project_name": "a", "metadata": {"public": True}}).encode()
    assert (
        "body.metadata.public should be string"
        in validate_request("POST", "/projects", [], wrong_type, "application/json")[0]
    )
    typo = json.dumps({"name": "a"}).encode()
    assert (
        "body.name is not in the schema"
        in validate_request("POST", "/projects", [], typo, "application/json")[0]
    )
    too_long = json.dumps({"project_name": "a" * 256}).encode()
    assert "longer than 255" in validate_request("POST", "/projects", [], too_long, "application/json")[0]


def test_harbor_test_server_records_and_refuses_invalid_requests(harbor: HarborTestServer) -> None:
    with httpx.Client(base_url=harbor.url) as http:
        assert http.get("/api/v2.0/nope").status_code == 404
        assert http.head("/api/v2.0/projects").status_code == 400
        assert (
            http.post("/api/v2.0/projects", json={"name": "x"}, auth=("admin", "Harbor12345")).status_code
            == 400
        )
        assert http.post("/api/v2.0/projects", json={}, auth=("admin", "Harbor12345")).status_code == 400
    assert len(harbor.invalid) == 4
    assert "x" not in harbor.projects
    harbor.requests.clear()  # these were invalid on purpose


def test_harbor_test_server_answers_missing_project_like_harbor(harbor: HarborTestServer) -> None:
    with httpx.Client(base_url=harbor.url) as http:
        challenge = http.get("/v2/")
        assert challenge.status_code == 401
        assert challenge.headers["WWW-Authenticate"].startswith(f'Bearer realm="{harbor.url}/service/token"')
        token = http.get(
            "/service/token", params={"service": "harbor-registry"}, auth=("admin", "Harbor12345")
        )
        headers = {"Authorization": f"Bearer {token.json()['token']}"}
        assert http.get("/v2/", headers=headers).status_code == 200
        refused = http.post("/v2/missing/app/blobs/uploads/", headers=headers)
    assert refused.status_code == 401
    assert refused.json() == {"errors": [{"code": "UNAUTHORIZED", "message": "project missing not found"}]}


# -- flavour -----------------------------------------------------------------------------------


def test_detect_harbor_with_version(harbor: HarborTestServer) -> None:
    flavour = detect_flavour(harbor.url, credentials=ADMIN, insecure=True)
    assert flavour.name == RegistryFlavour.HARBOR and flavour.version == HarborTestServer.VERSION
    assert flavour.project_creation == "everyone"
    assert [(r.method, r.path) for r in harbor.api_requests] == [
        ("GET", "/api/v2.0/ping"),
        ("GET", "/api/v2.0/systeminfo"),
    ]
    assert harbor.api_requests[0].user is None  # the ping needs no credentials


def test_detect_harbor_anonymous_has_no_version(harbor: HarborTestServer) -> None:
    flavour = detect_flavour(harbor.url, insecure=True)
    assert flavour.name == RegistryFlavour.HARBOR and flavour.version is None


def test_detect_plain_registry_is_distribution(registry: RegistryServer) -> None:
    assert detect_flavour(registry.url, insecure=True).name == RegistryFlavour.DISTRIBUTION


def test_detect_unreachable_is_a_transport_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(TransportError, match=f"127.0.0.1:{port}"):
        detect_flavour(f"http://127.0.0.1:{port}", insecure=True, retries=RetryPolicy(attempts=2))  # not 30 s of tries


def test_plain_http_needs_insecure(harbor: HarborTestServer) -> None:
    with pytest.raises(UsageError, match="--insecure"):
        HarborClient(harbor.url)


def test_transport_is_injectable() -> None:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url.path}")
        return (
            httpx.Response(200, text="Pong")
            if request.url.path.endswith("/ping")
            else httpx.Response(200, json={})
        )

    flavour = detect_flavour("https://harbor.example", transport=httpx.MockTransport(answer))
    assert flavour.name == RegistryFlavour.HARBOR and flavour.version is None
    assert seen == ["GET /api/v2.0/ping", "GET /api/v2.0/systeminfo"]


# -- projects ----------------------------------------------------------------------------------


def test_project_exists(harbor: HarborTestServer) -> None:
    with client_for(harbor) as client:
        assert client.project_exists("library") is True
        assert client.project_exists("metrics-server") is False
    heads = harbor.calls("HEAD", "/api/v2.0/projects")
    assert [r.query for r in heads] == [[("project_name", "library")], [("project_name", "metrics-server")]]


def test_create_project_then_409_is_fine(harbor: HarborTestServer) -> None:
    with client_for(harbor) as client:
        assert client.create_project("addon", public=False) is True
        assert client.create_project("addon", public=True) is False
        assert client.project_exists("addon")
    assert harbor.projects["addon"].public is False
    posts = harbor.calls("POST", "/api/v2.0/projects")
    assert [r.status for r in posts] == [201, 409]
    assert posts[0].json == {"project_name": "addon", "metadata": {"public": "false"}}


def test_create_public_project(harbor: HarborTestServer) -> None:
    with client_for(harbor) as client:
        assert client.create_project("community", public=True)
    assert harbor.projects["community"].public is True


def test_create_project_without_rights_is_one_clear_sentence(
    harbor_factory: Callable[..., HarborTestServer],
) -> None:
    harbor = harbor_factory(creation_restriction="adminonly")
    with client_for(harbor, DEV) as client, pytest.raises(AuthError) as caught:
        client.create_project("addon", public=False)
    text = str(caught.value)
    assert f"Harbor at {harbor.url} does not let user 'dev' create project 'addon'" in text
    assert "Only system admin can create project" in text
    assert "administrator" in text
    assert "addon" not in harbor.projects


def test_create_project_anonymous_or_bad_password(harbor: HarborTestServer) -> None:
    with (
        client_for(harbor, None) as client,
        pytest.raises(AuthError, match="anonymous user create project 'addon'"),
    ):
        client.create_project("addon", public=False)
    with (
        client_for(harbor, Credentials("admin", "wrong")) as client,
        pytest.raises(AuthError, match="refused the credentials of user 'admin'"),
    ):
        client.create_project("addon", public=False)
    assert "addon" not in harbor.projects


def test_create_project_with_an_invalid_name(harbor: HarborTestServer) -> None:
    with client_for(harbor) as client, pytest.raises(Exception, match="rejected the project name 'Bad_Name'"):
        client.create_project("Bad_Name", public=False)


def test_no_cookies_are_sent_back(harbor: HarborTestServer) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        assert "cookie" not in request.headers
        return httpx.Response(201, headers={"Set-Cookie": "sid=abc; Path=/"})

    client = HarborClient("https://harbor.example", credentials=ADMIN, transport=httpx.MockTransport(answer))
    assert client.create_project("a", public=True)
    assert client.create_project("b", public=True)


# -- the registry side: what archfuse's registry client sees -----------------------------------


def test_harbor_test_server_missing_project_is_space_missing_for_the_registry_client(
    harbor: HarborTestServer,
) -> None:
    with RegistryClient(harbor.url, credentials=ADMIN, insecure=True) as client:
        client.ping()
        with pytest.raises(SpaceMissing) as caught:
            client.get_manifest("addon/metrics-server", "v0.6.2")
        assert caught.value.space == "addon"
        data = b"layer"
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        with pytest.raises(SpaceMissing, match="no project 'addon'"):
            client.put_blob("addon/metrics-server", digest, len(data), io.BytesIO(data))
        # a HEAD answer has no body to say "project not found": the client asks again to find out
        with pytest.raises(SpaceMissing, match="no project 'addon'"):
            client.blob_exists("addon/metrics-server", digest)
        with pytest.raises(SpaceMissing):
            client.head_manifest("addon/metrics-server", "v0.6.2")


def _tiny_oci_image(root: Path) -> Path:
    """An OCI layout holding one small linux/amd64 image tagged ``v1``."""
    blobs = root / "blobs" / "sha256"
    blobs.mkdir(parents=True)

    def put(data: bytes) -> dict[str, object]:
        digest = hashlib.sha256(data).hexdigest()
        (blobs / digest).write_bytes(data)
        return {"digest": f"sha256:{digest}", "size": len(data)}

    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        info = tarfile.TarInfo("hello.txt")
        info.size = 5
        tar.addfile(info, io.BytesIO(b"hello"))
    layer = gzip.compress(raw.getvalue(), mtime=0)
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "rootfs": {
                "type": "layers",
                "diff_ids": ["sha256:" + hashlib.sha256(raw.getvalue()).hexdigest()],
            },
        }
    ).encode()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **put(config)},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", **put(layer)}],
        }
    ).encode()
    entry = {
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        **put(manifest),
        "annotations": {"org.opencontainers.image.ref.name": "v1"},
    }
    (root / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [entry]}))
    (root / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    return root


def test_harbor_test_server_push_fails_until_project_exists(
    harbor_registry: HarborTestServer, registry: RegistryServer, tmp_path: Path
) -> None:
    """skopeo pushes through the Harbor test server to the real registry once the project exists."""
    image = _tiny_oci_image(tmp_path / "image")
    dest = f"docker://{harbor_registry.host}/addon/hello:v1"
    creds = ["--dest-tls-verify=false", "--dest-creds=admin:Harbor12345"]
    refused = skopeo("copy", *creds, f"oci:{image}:v1", dest, check=False)
    assert refused.returncode != 0
    assert "unauthorized" in refused.stderr  # skopeo's first request is a HEAD: Harbor's 401 has no body then
    assert any(r.path.startswith("/v2/addon/hello/") and r.status == 401 for r in harbor_registry.requests)
    assert not list(registry.storage.rglob("hello"))
    with client_for(harbor_registry) as client:
        assert client.create_project("addon", public=False)
    skopeo("copy", *creds, f"oci:{image}:v1", dest)
    raw = skopeo("inspect", "--raw", "--tls-verify=false", "--creds=admin:Harbor12345", dest).stdout
    assert json.loads(raw)["layers"][0]["size"] > 0
    direct = skopeo(
        "inspect", "--raw", "--tls-verify=false", f"docker://{registry.host}/addon/hello:v1"
    ).stdout
    assert direct == raw  # it landed in the real registry behind the test server


# -- configuration and TLS ---------------------------------------------------------------------


def test_harbor_client_for_a_target_config(harbor: HarborTestServer, tmp_path: Path) -> None:
    config = build_target_config(harbor.url, username="admin", password="Harbor12345", insecure=True, env={})
    client = open_harbor(config)
    assert client is not None and client.description == harbor.url
    assert client.detect().version == HarborTestServer.VERSION  # the credentials were used
    assert open_harbor(build_target_config(str(tmp_path / "layout"), env={})) is None


def test_tls_registry_with_and_without_its_ca(tls_registry: RegistryServer) -> None:
    with pytest.raises(TLSError, match="--ca-cert"):
        detect_flavour(tls_registry.url)
    flavour = detect_flavour(
        tls_registry.url, ca_cert=tls_registry.ca_path, credentials=tls_registry.credentials()
    )
    assert flavour.name == RegistryFlavour.DISTRIBUTION
