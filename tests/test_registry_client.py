"""The registry client against the real CNCF distribution registry (plain, TLS+htpasswd, token auth).

Faults (broken chunks, 503/429, refused connections) are injected with an httpx transport that
wraps the real one; what was pushed is checked with skopeo, an independent client.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import random
import ssl
import tarfile
from collections.abc import Callable, Iterator
from email.utils import formatdate
from pathlib import Path
from typing import Any

import httpx
import pytest

from core import events as ev
from core.errors import (
    AuthError,
    DigestMismatch,
    RegistryError,
    SpaceMissing,
    TLSError,
    TransportError,
    UsageError,
)
from core.oci import mediatypes as mt
from core.oci.manifest import Descriptor, ManifestRef, image_manifest_bytes
from core.registry.client import RegistryClient
from core.registry.retry import RetryPolicy
from core.targets.base import Target
from core.targets.registry import RegistryTarget
from tests.fixtures.registry import RegistryServer, skopeo_copy_all, skopeo_inspect_raw

VARIANTS = ["registry", "tls_registry", "token_registry"]


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def blob(size: int, seed: int = 1) -> bytes:
    return random.Random(seed).randbytes(size)


@pytest.fixture(params=VARIANTS)
def server(request: pytest.FixtureRequest) -> RegistryServer:
    return request.getfixturevalue(request.param)


Rule = Callable[[httpx.Request], "httpx.Response | Exception | httpx.Request | None"]


class FaultyTransport(httpx.BaseTransport):
    """Wraps a real transport; ``rule`` may answer, raise, or rewrite a request before it goes out."""

    def __init__(self, inner: httpx.BaseTransport, rule: Rule) -> None:
        self.inner = inner
        self.rule = rule
        self.log: list[tuple[str, str]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.log.append((request.method, request.url.path))
        action = self.rule(request)
        if isinstance(action, Exception):
            raise action
        if isinstance(action, httpx.Response):
            return action
        if isinstance(action, httpx.Request):
            request = action
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()

    def count(self, method: str, fragment: str = "") -> int:
        return sum(1 for m, path in self.log if m == method and fragment in path)


def real_transport(server: RegistryServer) -> httpx.HTTPTransport:
    if server.ca_path is not None:
        return httpx.HTTPTransport(verify=ssl.create_default_context(cafile=str(server.ca_path)))
    return httpx.HTTPTransport()


def no_wait_policy(sleeps: list[float], attempts: int = 5) -> RetryPolicy:
    return RetryPolicy(attempts=attempts, sleep=sleeps.append, jitter=lambda: 0.0)


class TruncatedStream(httpx.SyncByteStream):
    """A request body that sends ``limit`` bytes, then breaks the connection."""

    def __init__(self, inner: Any, limit: int) -> None:
        self.inner = inner
        self.limit = limit

    def __iter__(self) -> Iterator[bytes]:
        sent = 0
        for chunk in self.inner:
            take = chunk[: self.limit - sent]
            yield take
            sent += len(take)
            if sent >= self.limit:
                raise httpx.WriteError("connection broken by the test")


def on_second_patch(fault: Callable[[httpx.Request], httpx.Request | Exception]) -> Rule:
    """A rule that applies ``fault`` to the second chunk (PATCH) of an upload and passes all else."""
    patches = 0

    def rule(request: httpx.Request) -> httpx.Request | Exception | None:
        nonlocal patches
        if request.method == "PATCH":
            patches += 1
            if patches == 2:
                return fault(request)
        return None

    return rule


def truncated(limit: int) -> Callable[[httpx.Request], httpx.Request]:
    """A fault that sends ``limit`` bytes of a request body, then breaks the connection."""

    def cut(request: httpx.Request) -> httpx.Request:
        stream = TruncatedStream(request.stream, limit)
        return httpx.Request(request.method, request.url, headers=request.headers, stream=stream)

    return cut


def chunking_client(
    server: RegistryServer, transport: httpx.BaseTransport, retries: RetryPolicy | None = None
) -> RegistryClient:
    """A client of ``server`` that uploads blobs over 1 KiB in 4 KiB chunks."""
    return server.client(transport=transport, chunk_threshold=1024, chunk_size=4096, retries=retries)


def small_image(arch: str = "amd64") -> tuple[bytes, bytes, ManifestRef]:
    """(config, gzipped layer, Docker v2s2 manifest) of a tiny valid image."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        payload = f"hello from {arch}\n".encode()
        info = tarfile.TarInfo("hello.txt")
        info.size = len(payload)
        info.mtime = 0
        tar.addfile(info, io.BytesIO(payload))
    layer_tar = raw.getvalue()
    layer = gzip.compress(layer_tar, mtime=0)
    config = json.dumps(
        {
            "architecture": arch,
            "os": "linux",
            "config": {},
            "rootfs": {"type": "layers", "diff_ids": [sha(layer_tar)]},
        },
        separators=(",", ":"),
    ).encode()
    data = image_manifest_bytes(
        Descriptor(mt.DOCKER_CONFIG, len(config), sha(config)),
        [Descriptor(mt.DOCKER_LAYER_GZIP, len(layer), sha(layer))],
    )
    return config, layer, ManifestRef(data, mt.DOCKER_MANIFEST)


def push_image(client: RegistryClient, repo: str, tag: str, arch: str = "amd64") -> ManifestRef:
    config, layer, manifest = small_image(arch)
    for data in (config, layer):
        if not client.blob_exists(repo, sha(data)):
            client.put_blob(repo, sha(data), len(data), io.BytesIO(data))
    client.put_manifest(repo, manifest.digest, manifest)
    client.put_manifest(repo, tag, manifest)
    return manifest


# -- basics, in every variant ----------------------------------------------------------------


def test_ping_and_target_protocol(server: RegistryServer) -> None:
    with server.client() as client:
        client.ping()
        target = RegistryTarget(client, server.url)
        assert isinstance(target, Target)
        assert target.host == server.host
        assert target.description == server.url
        if server.password:
            assert server.password not in repr(target) + target.description + repr(client)


def test_monolithic_upload_head_and_get(server: RegistryServer) -> None:
    data = blob(3000)
    seen: list[int] = []
    with server.client() as client:
        assert not client.blob_exists("team/app", sha(data))
        client.put_blob("team/app", sha(data), len(data), io.BytesIO(data), progress=seen.append)
        assert client.blob_exists("team/app", sha(data))
        assert client.get_blob("team/app", sha(data)) == data
    assert sum(seen) == len(data)


def test_chunked_upload(server: RegistryServer) -> None:
    data = blob(10_000, seed=2)
    seen: list[int] = []
    transport = FaultyTransport(real_transport(server), lambda request: None)
    with chunking_client(server, transport) as client:
        client.put_blob("team/big", sha(data), len(data), io.BytesIO(data), progress=seen.append)
        assert client.get_blob("team/big", sha(data)) == data
    assert transport.count("PATCH", "/blobs/uploads/") == 3  # 4096 + 4096 + 1808
    assert transport.count("PUT", "/blobs/uploads/") == 1
    assert sum(seen) == len(data)


def test_manifest_by_tag_and_digest_keeps_exact_bytes(server: RegistryServer, tmp_path: Path) -> None:
    with server.client() as client:
        config, layer, compact = small_image()
        for data in (config, layer):
            client.put_blob("apps/hello", sha(data), len(data), io.BytesIO(data))
        # not canonical on purpose: the registry must hand back these very bytes
        pretty = ManifestRef(json.dumps(compact.parsed(), indent=3).encode() + b"\n", mt.DOCKER_MANIFEST)
        assert pretty.digest != compact.digest
        client.put_manifest("apps/hello", pretty.digest, pretty)
        client.put_manifest("apps/hello", "1.0", pretty)

        by_tag = client.get_manifest("apps/hello", "1.0")
        by_digest = client.get_manifest("apps/hello", pretty.digest)
        assert by_tag == by_digest == pretty
        assert client.head_manifest("apps/hello", "1.0") == pretty.digest
        assert client.get_manifest("apps/hello", "missing") is None
        assert client.head_manifest("apps/hello", "missing") is None
        assert client.get_manifest("apps/never", "1.0") is None

        index = ManifestRef(
            json.dumps(
                {
                    "schemaVersion": 2,
                    "mediaType": mt.DOCKER_MANIFEST_LIST,
                    "manifests": [
                        {
                            "mediaType": mt.DOCKER_MANIFEST,
                            "size": pretty.size,
                            "digest": pretty.digest,
                            "platform": {"architecture": "amd64", "os": "linux"},
                        }
                    ],
                }
            ).encode(),
            mt.DOCKER_MANIFEST_LIST,
        )
        client.put_manifest("apps/hello", "multi", index)
        assert client.get_manifest("apps/hello", "multi") == index

    raw = skopeo_inspect_raw(f"{server.host}/apps/hello:1.0", server)
    assert raw == json.loads(pretty.data)
    assert skopeo_inspect_raw(f"{server.host}/apps/hello:multi", server)["manifests"][0]["digest"] == pretty.digest
    skopeo_copy_all(f"{server.host}/apps/hello:multi", server, tmp_path / "copy")
    layout_index = json.loads((tmp_path / "copy" / "index.json").read_text())
    assert len(layout_index["manifests"]) == 1


def test_mount_across_repositories(server: RegistryServer) -> None:
    data = blob(2000, seed=3)
    with server.client() as client:
        client.put_blob("src/app", sha(data), len(data), io.BytesIO(data))
        assert not client.blob_exists("dst/app", sha(data))
        assert client.mount_blob("dst/app", sha(data), "src/app")
        assert client.blob_exists("dst/app", sha(data))
        absent = sha(b"never uploaded")
        assert not client.mount_blob("dst/app", absent, "src/app")
        assert not client.blob_exists("dst/app", absent)
    if server.issuer is not None:
        mount_scopes = [r.scopes for r in server.issuer.requests if "repository:dst/app:pull,push" in r.scopes]
        assert any("repository:src/app:pull" in scopes for scopes in mount_scopes)


def test_wrong_digest_is_refused_by_the_registry(registry: RegistryServer) -> None:
    data = blob(5000, seed=4)
    wrong = sha(b"something else")
    with registry.client(chunk_threshold=1024, chunk_size=2048) as client:
        with pytest.raises(DigestMismatch, match=wrong):
            client.put_blob("team/app", wrong, len(data), io.BytesIO(data))
        with pytest.raises(DigestMismatch, match=wrong):
            client.put_blob("team/app", wrong, 100, io.BytesIO(data[:100]))
        with pytest.raises(DigestMismatch, match="ended after 50 of 100 bytes"):
            client.put_blob("team/app", sha(data[:100]), 100, io.BytesIO(data[:50]))
        assert not client.blob_exists("team/app", wrong)


# -- broken chunks ---------------------------------------------------------------------------


def test_chunk_broken_before_sending_resumes_from_range(registry: RegistryServer) -> None:
    data = blob(10_000, seed=5)
    sleeps: list[float] = []
    rule = on_second_patch(lambda _request: httpx.ConnectError("connection refused by the test"))
    transport = FaultyTransport(real_transport(registry), rule)
    with chunking_client(registry, transport, no_wait_policy(sleeps)) as client:
        client.put_blob("team/big", sha(data), len(data), io.BytesIO(data))
        assert client.get_blob("team/big", sha(data)) == data
    assert transport.count("POST", "/blobs/uploads/") == 1  # resumed, not restarted
    assert transport.count("GET", "/blobs/uploads/") == 1  # the status query that gave the Range
    assert transport.count("PATCH") == 4
    assert len(sleeps) == 1


def test_chunk_broken_mid_way_recovers_with_seekable_stream(registry: RegistryServer) -> None:
    data = blob(10_000, seed=6)
    seen: list[int] = []
    transport = FaultyTransport(real_transport(registry), on_second_patch(truncated(1500)))
    with chunking_client(registry, transport, no_wait_policy([])) as client:
        client.put_blob("team/big", sha(data), len(data), io.BytesIO(data), progress=seen.append)
        assert client.get_blob("team/big", sha(data)) == data
    # distribution drops an upload whose stored size no longer matches its state: the client asks
    # (once, or twice when its resume raced the registry's handling of the broken request), then
    # starts over from the start of the seekable stream
    assert transport.count("GET", "/blobs/uploads/") >= 1
    assert transport.count("POST", "/blobs/uploads/") >= 2
    assert sum(seen) == len(data)  # rewinds are not counted twice


class OneWay(io.RawIOBase):
    def __init__(self, data: bytes) -> None:
        self._inner = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        chunk = self._inner.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def test_chunk_broken_mid_way_with_one_way_stream_fails_clearly(registry: RegistryServer) -> None:
    data = blob(10_000, seed=7)
    break_chunk = on_second_patch(truncated(10))

    def rule(request: httpx.Request) -> httpx.Request | httpx.Response | Exception | None:
        if request.method == "GET" and "/blobs/uploads/" in request.url.path:
            # the registry dropped the broken upload (as distribution does once it notices the cut);
            # answered here so the outcome does not hang on when the registry notices it
            return httpx.Response(404, json={"errors": [{"code": "BLOB_UPLOAD_UNKNOWN"}]})
        return break_chunk(request)

    transport = FaultyTransport(real_transport(registry), rule)
    with chunking_client(registry, transport, no_wait_policy([])) as client:
        with pytest.raises(TransportError, match="one-way stream") as caught:
            client.put_blob("team/big", sha(data), len(data), OneWay(data))
        assert registry.url in str(caught.value)
        assert not client.blob_exists("team/big", sha(data))


def test_resume_in_the_middle_of_a_chunk_from_the_servers_range() -> None:
    """A registry that keeps the part of a chunk it received (a small in-memory test server)."""
    data = blob(9000, seed=8)
    stored = bytearray()
    events: list[str] = []
    broke = False

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal broke
        path = request.url.path
        location = {"Location": "/v2/team/big/blobs/uploads/u1", "Range": f"0-{max(len(stored) - 1, 0)}"}
        if request.method == "POST":
            events.append("POST")
            return httpx.Response(202, headers=location)
        if request.method == "PATCH" and path.endswith("/u1"):
            body = request.read()
            start = int(request.headers["Content-Range"].split("-")[0])
            assert start == len(stored), "chunk must start where the registry stands"
            if start == 4000 and not broke:
                broke = True
                stored.extend(body[:1234])  # the server got part of the chunk, then the line broke
                raise httpx.ReadError("connection reset by the test")
            stored.extend(body)
            events.append(f"PATCH {start}-{start + len(body) - 1}")
            return httpx.Response(202, headers={**location, "Range": f"0-{len(stored) - 1}"})
        if request.method == "GET" and path.endswith("/u1"):
            events.append("GET")
            return httpx.Response(204, headers=location)
        if request.method == "PUT" and path.endswith("/u1"):
            assert request.url.params["digest"] == sha(bytes(stored))
            return httpx.Response(201, headers={"Docker-Content-Digest": sha(bytes(stored))})
        return httpx.Response(500)

    client = RegistryClient(
        "https://registry.test",
        transport=httpx.MockTransport(handler),
        chunk_threshold=1000,
        chunk_size=4000,
        retries=no_wait_policy([]),
    )
    client.put_blob("team/big", sha(data), len(data), io.BytesIO(data))
    assert bytes(stored) == data
    assert events == ["POST", "PATCH 0-3999", "GET", "PATCH 5234-7999", "PATCH 8000-8999"]


# -- auth and TLS ----------------------------------------------------------------------------


@pytest.mark.parametrize("variant", ["tls_registry", "token_registry"])
def test_wrong_password_is_a_clear_auth_error(variant: str, request: pytest.FixtureRequest) -> None:
    server: RegistryServer = request.getfixturevalue(variant)
    from core.registry.credentials import Credentials

    bad = Credentials(server.username or "", "wrong-Pa$$word-xyz")
    with server.client(credentials=bad) as client, pytest.raises(AuthError) as caught:
        client.ping()
    text = str(caught.value)
    assert server.url in text and "robot$archfuse" in text
    assert "wrong-Pa$$word-xyz" not in text and "wrong-Pa$$word-xyz" not in repr(caught.value)
    assert "wrong-Pa$$word-xyz" not in repr(bad) and "wrong-Pa$$word-xyz" not in str(bad)


def test_missing_credentials(tls_registry: RegistryServer, token_registry: RegistryServer) -> None:
    with tls_registry.client(credentials=None) as client, pytest.raises(AuthError, match="requires credentials"):
        client.ping()
    with token_registry.client(credentials=None) as client:
        client.ping()  # an anonymous token is fine for /v2/
        with pytest.raises(AuthError, match="refused anonymous access"):
            client.put_blob("team/app", sha(b"x"), 1, io.BytesIO(b"x"))


def test_robot_account_tokens_are_per_scope_and_cached(token_registry: RegistryServer) -> None:
    issuer = token_registry.issuer
    assert issuer is not None
    with token_registry.client() as client:
        push_image(client, "team/app", "1.0")
        push_image(client, "team/app", "1.1")
        assert client.get_manifest("team/app", "1.0") is not None
    assert {r.account for r in issuer.requests} == {"robot$archfuse"}
    asked = [tuple(r.scopes) for r in issuer.requests]
    # one token for the first pull-only check, one for push: then all cached
    assert asked == [("repository:team/app:pull",), ("repository:team/app:pull,push",)]


def test_refused_token_is_refreshed(token_registry: RegistryServer) -> None:
    issuer = token_registry.issuer
    assert issuer is not None
    refuse_next = False

    def rule(request: httpx.Request) -> httpx.Response | None:
        nonlocal refuse_next
        if refuse_next and request.headers.get("authorization", "").startswith("Bearer "):
            refuse_next = False
            challenge = (
                f'Bearer realm="{issuer.realm}",service="archfuse-test-registry",'
                'scope="repository:team/app:pull",error="invalid_token"'
            )
            return httpx.Response(401, headers={"WWW-Authenticate": challenge}, request=request)
        return None

    transport = FaultyTransport(real_transport(token_registry), rule)
    with token_registry.client(transport=transport) as client:
        push_image(client, "team/app", "1.0")
        before = len(issuer.requests)
        refuse_next = True  # as when a token expired early on the server's clock
        assert client.get_manifest("team/app", "1.0") is not None
    assert len(issuer.requests) == before + 1


def test_push_without_push_permission(token_registry: RegistryServer) -> None:
    issuer = token_registry.issuer
    assert issuer is not None
    issuer.grant = lambda kind, name, actions: [a for a in actions if a == "pull"]
    with token_registry.client() as client:
        with pytest.raises(AuthError, match=r"repository:team/app:pull,push") as caught:
            push_image(client, "team/app", "1.0")
        assert token_registry.password not in str(caught.value)


def test_token_auth_over_tls(registry_factory: Callable[..., RegistryServer], tmp_path: Path) -> None:
    server = registry_factory(auth="token", tls=True)
    with server.client() as client:
        manifest = push_image(client, "team/app", "1.0")
    assert skopeo_inspect_raw(f"{server.host}/team/app:1.0", server) == json.loads(manifest.data)


def test_self_signed_certificate_without_ca_cert(tls_registry: RegistryServer) -> None:
    with tls_registry.client(ca_cert=None) as client, pytest.raises(TLSError) as caught:
        client.ping()
    assert "--ca-cert" in str(caught.value) and tls_registry.url in str(caught.value)


def test_insecure_skips_verification_and_allows_http(tls_registry: RegistryServer, registry: RegistryServer) -> None:
    with tls_registry.client(ca_cert=None, insecure=True) as client:
        client.ping()
    with pytest.raises(UsageError, match="--insecure"):
        RegistryClient(registry.url)
    with pytest.raises(TLSError, match="plain HTTP"):
        RegistryClient(f"https://{registry.host}", retries=no_wait_policy([])).ping()


def test_unreachable_registry_is_a_transport_error() -> None:
    sleeps: list[float] = []
    from tests.fixtures.registry import free_port

    client = RegistryClient(f"https://127.0.0.1:{free_port()}", retries=no_wait_policy(sleeps, attempts=3))
    with pytest.raises(TransportError, match="Cannot reach registry https://127.0.0.1"):
        client.ping()
    assert sleeps == [0.25, 0.5]


# -- retries ---------------------------------------------------------------------------------


def test_retry_on_503_then_429_with_retry_after(registry: RegistryServer) -> None:
    answers = [
        lambda r: httpx.Response(503, request=r),
        lambda r: httpx.Response(429, headers={"Retry-After": "3"}, request=r),
        lambda r: httpx.Response(429, headers={"Retry-After": formatdate(2_000_000_000 + 7, usegmt=True)}, request=r),
        lambda r: httpx.ConnectError("refused by the test"),
    ]

    def rule(request: httpx.Request) -> httpx.Response | Exception | None:
        if request.method == "PUT" and "/manifests/" in request.url.path and answers:
            return answers.pop(0)(request)
        return None

    sleeps: list[float] = []
    policy = RetryPolicy(attempts=6, sleep=sleeps.append, jitter=lambda: 0.0, wall_clock=lambda: 2_000_000_000.0)
    transport = FaultyTransport(real_transport(registry), rule)
    with registry.client(transport=transport, retries=policy) as client:
        manifest = push_image(client, "team/app", "1.0")
        assert client.get_manifest("team/app", "1.0") == manifest
    assert sleeps == [0.25, 3.0, 7.0, 2.0]


def test_retries_are_bounded(registry: RegistryServer) -> None:
    def rule(request: httpx.Request) -> httpx.Response | None:
        if request.method == "GET" and request.url.path == "/v2/":
            return httpx.Response(503, headers={"Retry-After": "999"}, request=request)
        return None

    sleeps: list[float] = []
    policy = RetryPolicy(attempts=3, sleep=sleeps.append, jitter=lambda: 0.0, retry_after_cap=20)
    client = registry.client(transport=FaultyTransport(real_transport(registry), rule), retries=policy)
    with client, pytest.raises(RegistryError, match="HTTP 503") as caught:
        client.ping()
    assert caught.value.status == 503 and registry.url in str(caught.value)
    assert sleeps == [20.0, 20.0]

    clock = iter([0.0, 50.0]).__next__
    total = RetryPolicy(attempts=10, max_total=60, sleep=lambda s: None, jitter=lambda: 0.0, clock=clock)
    assert total.allows(0, 0.0, 1.0)
    assert not total.allows(1, 0.0, 20.0)  # 50 s gone + 20 s wait > 60 s


class _Clock:
    """A monotonic clock that moves only when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def _down_for(registry: RegistryServer, clock: _Clock, seconds: float) -> FaultyTransport:
    """The registry, refusing every connection until ``seconds`` of ``clock`` have passed (a restart)."""

    def rule(request: httpx.Request) -> Exception | None:
        return httpx.ConnectError("refused: restarting") if clock.now < seconds else None

    return FaultyTransport(real_transport(registry), rule)


def test_retries_last_a_time_budget_not_a_number_of_tries(registry: RegistryServer) -> None:
    """A registry down for 3 minutes (a restart) is waited for under the default 10-minute budget,
    however many tries that takes; each retry says until when it waits."""
    clock = _Clock()
    policy = RetryPolicy(sleep=clock.sleep, clock=clock, wall_clock=lambda: 1_000_000.0 + clock.now)
    events: list[ev.Retrying] = []
    with registry.client(transport=_down_for(registry, clock, 180.0), retries=policy) as client:
        client.watch(lambda e: events.append(e) if isinstance(e, ev.Retrying) else None, None)
        assert not client.blob_exists("team/app", "sha256:" + "0" * 64)
    assert clock.now >= 180.0 and len(clock.sleeps) > 5
    assert max(clock.sleeps) <= policy.max_delay
    assert {e.until for e in events} == {1_000_000.0 + 600.0}  # the first try's time + the budget
    assert "waiting for it until" in events[-1].text() and events[-1].attempt == len(events) + 1


def test_an_exhausted_retry_budget_says_so_and_how_to_resume(registry: RegistryServer) -> None:
    clock = _Clock()
    policy = RetryPolicy(max_total=30.0, sleep=clock.sleep, clock=clock, jitter=lambda: 0.0)
    with registry.client(transport=_down_for(registry, clock, 1e9), retries=policy) as client, pytest.raises(
        TransportError, match=r"still after 30 s of retries \(raise --retry-for to wait longer\)"
    ) as caught:
        client.ping()
    assert clock.sleeps == [0.25, 0.5, 1.0, 2.0, 4.0, 7.5, 7.5]  # one more 7.5 s would pass 30 s
    assert "run the same command again" in str(caught.value)


def test_a_check_is_retried_for_30_s_not_the_run_s_budget(registry: RegistryServer) -> None:
    """The API check (the preflight's, Test connection's) is a question someone waits on."""
    clock = _Clock()
    policy = RetryPolicy(sleep=clock.sleep, clock=clock, jitter=lambda: 0.0)
    with registry.client(transport=_down_for(registry, clock, 1e9), retries=policy) as client, pytest.raises(
        TransportError, match=r"still after 30 s of retries"
    ):
        client.ping()
    assert clock.now <= 30.0


# -- Harbor-style answers (no Harbor here: a small test server answering as Harbor does) ------


def test_harbor_like_test_server_missing_project_is_space_missing() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/service/token":
            return httpx.Response(200, json={"token": "t0k", "expires_in": 1800})
        if "authorization" not in request.headers:
            challenge = 'Bearer realm="https://harbor.test/service/token",service="harbor-registry"'
            return httpx.Response(401, headers={"WWW-Authenticate": challenge}, json={"errors": []})
        body = {"errors": [{"code": "UNAUTHORIZED", "message": "project nosuch not found: project nosuch not found"}]}
        return httpx.Response(401, json=body)

    from core.registry.credentials import Credentials

    creds = Credentials("robot$ci", "Harbor12345")
    client = RegistryClient("https://harbor.test", credentials=creds, transport=httpx.MockTransport(handler))
    with pytest.raises(SpaceMissing) as caught:
        client.put_blob("nosuch/app", sha(b"x"), 1, io.BytesIO(b"x"))
    assert caught.value.space == "nosuch"
    assert "https://harbor.test" in str(caught.value) and "nosuch/app" in str(caught.value)
    assert "Harbor12345" not in str(caught.value)


def test_harbor_like_test_server_robot_account_token_request() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/service/token":
            seen.append(request)
            return httpx.Response(200, json={"token": "t0k", "expires_in": 1800})
        if request.headers.get("authorization") != "Bearer t0k":
            challenge = 'Bearer realm="https://harbor.test/service/token",service="harbor-registry"'
            return httpx.Response(401, headers={"WWW-Authenticate": challenge})
        return httpx.Response(200, json={})

    from core.registry.credentials import Credentials

    client = RegistryClient(
        "https://harbor.test",
        credentials=Credentials("robot$ci+push", "p@ss:w$rd"),
        transport=httpx.MockTransport(handler),
    )
    client.ping()
    (token_request,) = seen
    assert token_request.url.params["account"] == "robot$ci+push"
    assert b"robot%24ci%2Bpush" in token_request.url.query
    assert token_request.headers["authorization"] == "Basic " + base64.b64encode(
        b"robot$ci+push:p@ss:w$rd"
    ).decode()


# -- credentials -------------------------------------------------------------------------------


def docker_config(tmp_path: Path, body: dict[str, Any]) -> Path:
    path = tmp_path / "docker" / "config.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(body))
    return path


def fake_helper(tmp_path: Path, name: str, username: str, secret: str) -> Path:
    """A ``docker-credential-NAME`` script that answers ``get`` for one server."""
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    script = bindir / f"docker-credential-{name}"
    answer = json.dumps({"ServerURL": "x", "Username": username, "Secret": secret})
    script.write_text(
        "#!/bin/sh\n"
        '[ "$1" = get ] || exit 2\n'
        "read server\n"
        'case "$server" in *registry.test:5000*) ;; *) echo "credentials not found" >&2; exit 1;; esac\n'
        f"echo '{answer}'\n"
    )
    script.chmod(0o755)
    return bindir


def test_credentials_precedence_flags_env_docker_config(tmp_path: Path) -> None:
    from core.registry.credentials import resolve_credentials

    config = docker_config(
        tmp_path,
        {"auths": {"https://registry.test:5000": {"auth": base64.b64encode(b"robot$cfg:cfg-secret").decode()}}},
    )
    env = {"ARCHFUSE_USERNAME": "env-user", "ARCHFUSE_PASSWORD": "env-secret", "PATH": ""}
    flags = resolve_credentials(
        "https://registry.test:5000", username="flag-user", password="flag-secret", env=env, docker_config=config
    )
    assert (flags.username, flags.password, flags.source) == ("flag-user", "flag-secret", "flags")
    from_env = resolve_credentials("registry.test:5000", env=env, docker_config=config)
    assert (from_env.username, from_env.password) == ("env-user", "env-secret")
    from_config = resolve_credentials("registry.test:5000", env={"PATH": ""}, docker_config=config)
    assert (from_config.username, from_config.password) == ("robot$cfg", "cfg-secret")
    assert resolve_credentials("other.test", env={"PATH": ""}, docker_config=config) is None
    assert "cfg-secret" not in repr(from_config) and "cfg-secret" not in str(from_config)
    with pytest.raises(UsageError, match="without a username"):
        resolve_credentials("registry.test:5000", password="p", env={})


def test_credentials_from_docker_config_dir_and_plain_fields(tmp_path: Path) -> None:
    from core.registry.credentials import resolve_credentials

    config = docker_config(tmp_path, {"auths": {"registry.test:5000": {"username": "u1", "password": "p1"}}})
    found = resolve_credentials("registry.test:5000", env={"DOCKER_CONFIG": str(config.parent), "PATH": ""})
    assert (found.username, found.password, found.source) == ("u1", "p1", "docker config")
    home = tmp_path / "home"
    docker_config(home, {"auths": {}})
    (home / ".docker").mkdir()
    (home / "docker" / "config.json").rename(home / ".docker" / "config.json")
    assert resolve_credentials("registry.test:5000", env={"HOME": str(home), "PATH": ""}) is None
    broken = docker_config(tmp_path / "b", {"auths": {"registry.test:5000": {"auth": "bm9jb2xvbg=="}}})
    with pytest.raises(UsageError, match="unreadable 'auth' entry"):
        resolve_credentials("registry.test:5000", env={"PATH": ""}, docker_config=broken)


@pytest.mark.cli  # the engine runs the credential helper as a process
def test_credentials_from_helpers_on_path(tmp_path: Path) -> None:
    from core.registry.credentials import resolve_credentials

    bindir = fake_helper(tmp_path, "fake", "robot$helper", "helper-secret")
    env = {"PATH": str(bindir)}
    per_host = docker_config(
        tmp_path / "a",
        {
            "credHelpers": {"registry.test:5000": "fake"},
            "auths": {"registry.test:5000": {"username": "ignored", "password": "x"}},
        },
    )
    found = resolve_credentials("https://registry.test:5000", env=env, docker_config=per_host)
    assert (found.username, found.password, found.source) == ("robot$helper", "helper-secret", "helper fake")
    store = docker_config(tmp_path / "b", {"credsStore": "fake", "auths": {"registry.test:5000": {}}})
    found = resolve_credentials("registry.test:5000", env=env, docker_config=store)
    assert found is not None and found.username == "robot$helper"
    assert resolve_credentials("elsewhere.test", env=env, docker_config=store) is None
    # a helper that is not installed: fall back to the auths entry
    missing = docker_config(
        tmp_path / "c",
        {"credsStore": "absent", "auths": {"registry.test:5000": {"username": "u2", "password": "p2"}}},
    )
    found = resolve_credentials("registry.test:5000", env=env, docker_config=missing)
    assert found is not None and found.username == "u2"


def test_credentials_from_docker_config_work_against_the_registry(
    tls_registry: RegistryServer, tmp_path: Path
) -> None:
    from core.registry.credentials import resolve_credentials

    pair = f"{tls_registry.username}:{tls_registry.password}".encode()
    config = docker_config(tmp_path, {"auths": {tls_registry.host: {"auth": base64.b64encode(pair).decode()}}})
    creds = resolve_credentials(tls_registry.url, env={"PATH": ""}, docker_config=config)
    with tls_registry.client(credentials=creds) as client:
        push_image(client, "team/app", "1.0")
    assert skopeo_inspect_raw(f"{tls_registry.host}/team/app:1.0", tls_registry)["mediaType"] == mt.DOCKER_MANIFEST


# -- token cache, unit level -------------------------------------------------------------------


def test_tokens_expire_and_are_fetched_again() -> None:
    from core.registry.auth import Authenticator, pull, push

    now = [1000.0]
    fetched: list[list[tuple[str, str]]] = []

    def fetch(realm: str, params: list[tuple[str, str]], basic: tuple[str, str] | None) -> httpx.Response:
        fetched.append(params)
        return httpx.Response(200, json={"token": f"t{len(fetched)}", "expires_in": 100})

    auth = Authenticator(None, "https://registry.test", fetch, clock=lambda: now[0])
    challenge = httpx.Response(
        401,
        headers={"WWW-Authenticate": 'Bearer realm="https://auth.test/token",service="svc",scope="repository:a:pull"'},
        request=httpx.Request("GET", "https://registry.test/v2/a/manifests/1"),
    )
    assert auth.on_unauthorized(challenge, (pull("a"),))
    assert fetched == [[("service", "svc"), ("scope", "repository:a:pull")]]
    assert auth.headers_for((pull("a"),)) == {"Authorization": "Bearer t1"}
    assert auth.headers_for((push("a"),)) == {"Authorization": "Bearer t2"}  # pull-only token does not cover push
    assert auth.headers_for((pull("a"),)) == {"Authorization": "Bearer t1"}
    now[0] += 95  # inside the safety margin before expiry
    assert auth.headers_for((pull("a"),)) == {"Authorization": "Bearer t3"}
    assert len(fetched) == 3


def test_plain_http_token_realm_is_refused_for_a_tls_registry() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        challenge = 'Bearer realm="http://auth.test/token",service="svc"'
        return httpx.Response(401, headers={"WWW-Authenticate": challenge})

    from core.registry.credentials import Credentials

    client = RegistryClient(
        "https://registry.test", credentials=Credentials("u", "pw"), transport=httpx.MockTransport(handler)
    )
    with pytest.raises(TLSError, match="plain-HTTP token service"):
        client.ping()


def test_target_url_never_keeps_userinfo() -> None:
    client = RegistryClient("https://registry.test:5000", transport=httpx.MockTransport(lambda r: httpx.Response(200)))
    target = RegistryTarget(client, "https://user:hunter2@registry.test:5000")
    assert "hunter2" not in target.url + target.description + repr(target)
    assert target.host == "registry.test:5000"
    with pytest.raises(UsageError, match="--prefix"):
        RegistryClient("https://registry.test:5000/team")
