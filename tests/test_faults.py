"""Runs that survive faults, against the real registry (CNCF distribution), checked with skopeo.

``kill -9`` of an import at six points, the registry stopped and started mid-run, a flaky
network and a permanently failing registry (through :mod:`tests.fixtures.faultproxy`), a full
spool file system, another client writing a tag while the run merges it, and the password
kept out of everything archfuse writes. Synchronisation is deterministic: the proxy holds a
chosen request and signals the test, or the test reacts to the run's ``--json`` events.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.demo.samples import write_sample_package
from core.oci import mediatypes as mt
from core.oci.manifest import ManifestRef, canonical_json
from tests.cli_driver import archfuse
from tests.fixtures.faultproxy import FaultProxy
from tests.fixtures.registry import RegistryServer, skopeo_copy_all, skopeo_inspect_raw

ROOT = Path(__file__).resolve().parents[1]
BLOB_PUT = r"^/v2/.+/blobs/uploads/[^/?]+\?"  # the PUT that carries (or completes) a blob
UPLOAD_POST = r"^/v2/.+/blobs/uploads/$"
DIGEST_PUT = r"^/v2/.+/manifests/sha256:"
IMAGE_TAG = r"^/v2/(?!addon/|community/).+/manifests/(?!sha256:)[^/?]+$"
CHART_TAG = r"^/v2/(?:addon|community)/.+/manifests/(?!sha256:)[^/?]+$"
BOTH = ("linux/amd64", "linux/arm64")

Tags = dict[str, dict[str, str]]  # "repo:tag" -> {platform: manifest digest}


# -- packages -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Packages:
    amd: Path
    arm: Path
    amd_tags: Tags
    arm_tags: Tags

    @property
    def fused(self) -> Tags:
        out = {path: dict(by) for path, by in self.amd_tags.items()}
        for path, by in self.arm_tags.items():
            out.setdefault(path, {}).update(by)
        return out


def scanned_tags(path: Path, state: Path) -> Tags:
    result = archfuse("scan", path, "--json", state_dir=state)
    assert result.code == 0, result.err
    out: Tags = {}
    for image in result.events[0]["packages"][0]["images"]:
        out.setdefault(image["ref"].split("/", 1)[1], {})[image["platform"]] = image["digest"]
    return out


@pytest.fixture(scope="module")
def packages(tmp_path_factory: pytest.TempPathFactory) -> Packages:
    """v0.11.0 for amd64 and arm64: six images each (~130 KiB of payload per image), four charts."""
    return write_packages(tmp_path_factory.mktemp("fault-packages"))


def write_packages(root: Path) -> Packages:
    """The packages of the :func:`packages` fixture, written into ``root``."""
    amd = write_sample_package(root, "v0.11.0", "amd64", payload=768 << 10)
    arm = write_sample_package(root, "v0.11.0", "arm64", payload=768 << 10)
    state = root / "scan-state"
    return Packages(amd, arm, scanned_tags(amd, state), scanned_tags(arm, state))


# -- the import as a process, its --json events streamed ----------------------------------------


class Run:
    """``archfuse ARGS`` as a child process; ``--json`` lines are parsed as they arrive."""

    def __init__(self, *args: str | Path, state: Path, password: str | None = None,
                 wrap: tuple[str, ...] = ()) -> None:
        env = {**os.environ, "ARCHFUSE_STATE_DIR": str(state)}
        env.pop("ARCHFUSE_PASSWORD", None)
        if password is not None:
            env["ARCHFUSE_PASSWORD"] = password
        _LIVE.append(self)
        self.process = subprocess.Popen(
            [*wrap, sys.executable, "-m", "tui.cli", *map(str, args)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
            text=True, env=env, cwd=ROOT,
        )
        self.lines: list[str] = []
        self.events: list[dict[str, Any]] = []
        self._err: list[str] = []
        self._changed = threading.Condition()
        self._readers = [
            threading.Thread(target=self._read_out, daemon=True),
            threading.Thread(target=self._read_err, daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read_out(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._changed:
                self.lines.append(line)
                if line.startswith("{"):
                    self.events.append(json.loads(line))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def _read_err(self) -> None:
        assert self.process.stderr is not None
        self._err.append(self.process.stderr.read())

    def of(self, kind: str) -> list[dict[str, Any]]:
        with self._changed:
            return [e for e in self.events if e.get("event") == kind]

    def wait_event(self, kind: str, count: int = 1, timeout: float = 30) -> None:
        """Block until the run has printed ``count`` events of ``kind``."""
        with self._changed:
            ok = self._changed.wait_for(
                lambda: len([e for e in self.events if e.get("event") == kind]) >= count
                or not self._readers[0].is_alive(),
                timeout,
            )
        assert ok and len(self.of(kind)) >= count, f"no {count} {kind} events: {self.out[-2000:]}"

    def kill(self) -> None:
        """``kill -9``."""
        self.process.send_signal(signal.SIGKILL)
        self.finish()

    def finish(self, timeout: float = 60) -> int:
        code = self.process.wait(timeout)
        for reader in self._readers:
            reader.join(timeout)
        return code

    @property
    def out(self) -> str:
        return "".join(self.lines)

    @property
    def err(self) -> str:
        return "".join(self._err)

    def message(self) -> str:
        finished = self.of("run_finished")
        return str(finished[-1]["message"]) if finished else ""


_LIVE: list[Run] = []


@pytest.fixture(autouse=True)
def _no_run_left_behind() -> Iterator[None]:
    """A test that fails while a run is held must not leave the process behind."""
    yield
    while _LIVE:
        run = _LIVE.pop()
        if run.process.poll() is None:
            run.process.kill()
            run.process.wait()


def import_args(url: str, *paths: Path, extra: tuple[str, ...] = ()) -> list[str | Path]:
    return ["import", *paths, "--registry", url, "--insecure", "--yes", "--json", *extra]


def run_import(url: str, state: Path, *paths: Path, extra: tuple[str, ...] = (), expect: int = 0,
               password: str | None = None) -> Run:
    run = Run(*import_args(url, *paths, extra=extra), state=state, password=password)
    code = run.finish()
    assert code == expect, f"exit {code}, expected {expect}: {run.err[-2000:]} {run.out[-2000:]}"
    return run


# -- what the registry holds ------------------------------------------------------------------


def registry_tags(server: RegistryServer) -> list[str]:
    """Every ``repo:tag`` the registry serves, read from the registry itself (not through a proxy)."""
    with httpx.Client(base_url=server.url, timeout=10) as http:
        repositories = http.get("/v2/_catalog", params={"n": "1000"}).json().get("repositories") or []
        out = []
        for repo in repositories:
            response = http.get(f"/v2/{repo}/tags/list")
            if response.status_code == 200:
                out += [f"{repo}:{tag}" for tag in response.json().get("tags") or []]
    return sorted(out)


def platforms_at(server: RegistryServer, path: str) -> dict[str, str]:
    raw = skopeo_inspect_raw(f"{server.host}/{path}", server)
    assert raw["mediaType"] in (mt.DOCKER_MANIFEST_LIST, mt.OCI_INDEX), (path, raw["mediaType"])
    out = {}
    for entry in raw["manifests"]:
        p = entry["platform"]
        out[f"{p['os']}/{p['architecture']}"] = entry["digest"]
    return out


def assert_every_tag_whole(server: RegistryServer, work: Path) -> list[str]:
    """Every tag that exists resolves with ``skopeo copy --all`` (all its content is present)."""
    tags = registry_tags(server)
    work.mkdir(parents=True, exist_ok=True)

    def copy(item: tuple[int, str]) -> None:
        i, path = item
        skopeo_copy_all(f"{server.host}/{path}", server, work / f"copy-{i}")

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(copy, enumerate(tags)))
    return tags


def image_tags(tags: list[str]) -> list[str]:
    return [t for t in tags if not t.startswith(("addon/", "community/"))]


def assert_fused(server: RegistryServer, expected: Tags) -> None:
    for path, by_platform in expected.items():
        assert platforms_at(server, path) == by_platform, path


def history_status(state: Path, run_id: str) -> str:
    result = archfuse("history", "--json", state_dir=state)
    assert result.code == 0, result.err
    return str(next(r for r in result.events[0]["runs"] if r["id"] == run_id)["status"])


@pytest.fixture
def proxied(registry: RegistryServer, fault_proxy: Callable[..., FaultProxy]) -> tuple[RegistryServer, FaultProxy]:
    return registry, fault_proxy(registry)


# -- kill -9 --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KillPoint:
    seeded: bool  # amd64 imported before; the killed run adds arm64 (else both arches in one run)
    method: str = "PUT"
    path: str = ""
    nth: int = 1
    when: str = "before"
    event: tuple[str, int] | None = None  # kill on the run's Nth event of this kind instead
    one_read: bool = False  # a cold import's one read (blobs uploaded while scanning), not --scan-first

    @property
    def extra(self) -> tuple[str, ...]:
        return () if self.one_read else ("--scan-first",)  # else the run itself reads and uploads


KILL_POINTS = {
    "blob-upload-midway": KillPoint(False, path=BLOB_PUT, nth=4, when="midway"),
    "one-read-upload-midway": KillPoint(False, path=BLOB_PUT, nth=4, when="midway", one_read=True),
    "after-blob-events": KillPoint(False, event=("blob_done", 5)),
    "between-manifests": KillPoint(False, path=DIGEST_PUT, nth=3),
    "before-first-tag": KillPoint(True, path=IMAGE_TAG, nth=1),
    "mid-tag-updates": KillPoint(True, path=IMAGE_TAG, nth=3, when="after"),
    "during-charts": KillPoint(False, path=CHART_TAG, nth=2),
}


@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_kill_9_then_rerun_finishes(point: str, proxied: tuple[RegistryServer, FaultProxy], packages: Packages,
                                    tmp_path: Path) -> None:
    server, proxy = proxied
    how = KILL_POINTS[point]
    state = tmp_path / "state"
    if how.seeded:
        run_import(proxy.url, state, packages.amd)
        before = {path: platforms_at(server, path) for path in packages.amd_tags}
        paths: tuple[Path, ...] = (packages.arm,)
    else:
        before = {}
        paths = (packages.amd, packages.arm)

    run = Run(*import_args(proxy.url, *paths, extra=how.extra), state=state)
    if how.event is not None:
        run.wait_event(*how.event)
    else:
        rule = proxy.pause(how.method, how.path, nth=how.nth, when=how.when)
        rule.wait_hit()
    run.kill()
    proxy.clear(forward=False)
    assert run.process.returncode == -signal.SIGKILL
    assert not run.of("run_finished"), "the run finished before it was killed: the kill point was missed"
    if how.one_read:  # killed while scanning: blobs only, no run begun, no tag
        assert not run.of("run_started") and registry_tags(server) == []
    else:
        run_id = run.of("run_started")[0]["run_id"]
        assert history_status(state, run_id) == "interrupted"

    # what the killed run left: every tag whole, each one either as it was or fully fused
    left = assert_every_tag_whole(server, tmp_path / "after-kill")
    fused = packages.fused
    moved = []
    for path in image_tags(left):
        now = platforms_at(server, path)
        assert now in (before.get(path), fused[path]), (path, now)
        if now != before.get(path):
            moved.append(path)
    if point in ("blob-upload-midway", "between-manifests"):
        assert image_tags(left) == [], "no tag may move before every manifest is in"
    if point == "before-first-tag":  # the held tag never reached the registry; tags written at once
        # beside it (--jobs) may have moved, each one whole (above)
        repository, _, tag = rule.paths[0].split("?")[0].removeprefix("/v2/").rpartition("/manifests/")
        assert f"{repository}:{tag}" not in moved, moved
    if point == "mid-tag-updates":  # independent tags go at once (--jobs): the third to reach the
        # registry was written, its answer lost; the two before it were written too, maybe more since
        assert len(moved) >= 3, moved
    if point == "during-charts":  # charts go last: every image tag is fused already
        assert sorted(moved) == sorted(fused)
        assert all(platforms_at(server, path) == fused[path] for path in moved)

    again = run_import(proxy.url, state, *paths)
    assert again.of("run_finished")[-1]["status"] == "done"
    if how.seeded:  # everything but tags and charts was in: nothing is uploaded twice
        assert again.of("run_finished")[-1]["bytes_uploaded"] == 0
    assert_fused(server, fused)
    final = assert_every_tag_whole(server, tmp_path / "after-rerun")
    assert sorted(image_tags(final)) == sorted(fused)
    assert len(final) - len(image_tags(final)) == 4  # the four charts


# -- the registry restarted mid-run ----------------------------------------------------------------


def test_registry_restarted_mid_upload(proxied: tuple[RegistryServer, FaultProxy], packages: Packages,
                                       tmp_path: Path) -> None:
    server, proxy = proxied
    state = tmp_path / "state"
    held = proxy.pause("PUT", BLOB_PUT, nth=3)
    run = Run(*import_args(proxy.url, packages.amd, packages.arm), state=state)
    held.wait_hit()
    server.stop()
    retry = proxy.pause("PUT", "^" + re.escape(held.paths[0]) + "$")  # the client's next try of the same request
    held.release(forward=True)  # reaches a registry that is down: the client's connection is reset
    retry.wait_hit()
    server.start()
    retry.release(forward=True)
    code = run.finish()
    if code != 0:  # allowed: a clear failure naming the registry, then the re-run finishes
        assert code == 1 and proxy.url in run.message(), run.out[-2000:]
        run_import(proxy.url, state, packages.amd, packages.arm)
    assert_fused(server, packages.fused)
    assert_every_tag_whole(server, tmp_path / "copies")


# -- a flaky network, a failing registry --------------------------------------------------------


def test_flaky_network_run_completes(proxied: tuple[RegistryServer, FaultProxy], packages: Packages,
                                     tmp_path: Path) -> None:
    server, proxy = proxied
    rules = {
        "reset before a blob upload": proxy.reset("PUT", BLOB_PUT, nth=1),
        "upload body cut midway": proxy.cut("PUT", BLOB_PUT, nth=4),
        "503 on starting an upload": proxy.fail("POST", UPLOAD_POST, 503, nth=2),
        "502 on reading a tag": proxy.fail("GET", IMAGE_TAG, 502, nth=1),
        "500 on a manifest by digest": proxy.fail("PUT", DIGEST_PUT, 500, nth=2),
        "slow blob checks": proxy.delay("HEAD", r"/blobs/sha256:", 0.3, times=3),
        "429 with Retry-After on a tag": proxy.throttle("PUT", IMAGE_TAG, retry_after=1, nth=2),
        "reset on a chart push": proxy.reset("PUT", CHART_TAG, nth=1),
    }
    # --scan-first: these faults are for the run's own uploads (tests/test_one_read.py: the scan's)
    run = run_import(proxy.url, tmp_path / "state", packages.amd, packages.arm, extra=("--scan-first",))
    assert [name for name, rule in rules.items() if not rule.fired] == []
    throttled = rules["429 with Retry-After on a tag"].paths[0]
    tries = [at for at, method, path, _ in proxy.log if method == "PUT" and path == throttled]
    assert len(tries) == 2 and tries[1] - tries[0] >= 0.95  # Retry-After: 1 was honoured
    assert run.of("run_finished")[-1]["status"] == "done"
    assert not run.of("failure")
    # the retries were told as they happened, each naming the server, the reason and the try
    retries = run.of("retrying")
    assert retries and {r["server"] for r in retries} == {proxy.host}
    # (the 503 and the 502 hit the checks and the plan, before the run: retried, not told)
    assert {"connection broke", "HTTP 500", "HTTP 429"} <= {r["reason"] for r in retries}, retries
    assert all(r["attempt"] >= 2 and r["until"] > r["at"] for r in retries)  # until when it waits
    # every image went through its stages, in order, and ended done
    order = ["queued", "uploading", "manifests", "fusing", "done"]
    stages: dict[tuple[str, str], list[str]] = {}
    for event in run.of("image_progress"):
        seen = stages.setdefault((event["destination"], event["platform"]), [])
        if not seen or seen[-1] != event["stage"]:
            seen.append(event["stage"])
    assert stages and all(seen[-1] == "done" for seen in stages.values()), stages
    assert all(seen == sorted(seen, key=order.index) for seen in stages.values()), stages
    assert any("uploading" in seen for seen in stages.values())
    assert_fused(server, packages.fused)
    assert len(assert_every_tag_whole(server, tmp_path / "copies")) == len(packages.fused) + 4


def test_permanent_failure_exits_1_with_tags_unchanged(proxied: tuple[RegistryServer, FaultProxy],
                                                        packages: Packages, tmp_path: Path) -> None:
    server, proxy = proxied
    state = tmp_path / "state"
    run_import(proxy.url, state, packages.amd)
    before = {path: skopeo_inspect_raw(f"{server.host}/{path}", server) for path in packages.amd_tags}
    always = proxy.fail("PUT", DIGEST_PUT, 500, times=0)
    run = Run("import", packages.arm, "--registry", proxy.url, "--insecure", "--yes", "--retry-for", "4s",
              state=state)  # plain output; retries for 4 s (the default 10 min rides through a restart)
    assert run.finish() == 1
    assert always.fired >= 4  # retried before giving up: 0.25-0.5, 0.5-1, 1-2 s apart
    after = {path: skopeo_inspect_raw(f"{server.host}/{path}", server) for path in packages.amd_tags}
    assert after == before
    assert "Traceback" not in run.err
    errors = [line for line in run.err.splitlines() if line.startswith("error:")]
    assert errors and all(proxy.url in line for line in errors), run.err
    assert re.search(rf"Registry {re.escape(proxy.url)} still answered HTTP 500 to a push of manifest \S+@sha256:\S+ "
                     r"after 4 s of retries", errors[0])
    assert "run the same command again: it continues where it stopped" in run.err
    assert "failed" in run.out and proxy.url in run.out


# -- the spool file system full -----------------------------------------------------------------


@contextlib.contextmanager
def small_file_system(where: Path, size: str) -> Iterator[tuple[str, ...]]:
    """A ``size`` tmpfs at ``where``; yields the command prefix a process needs to see it.

    As root it is mounted here; otherwise the import runs in its own user and mount namespace
    (``unshare -rm``) that mounts it first.
    """
    where.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], check=True)
        try:
            yield ()
        finally:
            subprocess.run(["umount", "-l", str(where)], check=False)
        return
    if shutil.which("unshare") is None:
        pytest.fail("a size-limited file system needs root (mount -t tmpfs) or unshare (user namespaces)")
    yield ("unshare", "-rm", "sh", "-c", f'mount -t tmpfs -o size={size} tmpfs "{where}" && exec "$@"', "sh")


def test_spool_directory_full(registry: RegistryServer, tmp_path: Path) -> None:
    big = write_sample_package(tmp_path / "pkg", "v0.11.0", "amd64", payload=9 << 20)  # ~1.5 MiB app layers
    state, spool = tmp_path / "state", tmp_path / "spool"
    args = import_args(registry.url, big, extra=("--spool-budget", "8MiB", "--spool-memory", "0", "--scan-first"))
    with small_file_system(spool, "1m") as wrap:
        run = Run(*args, "--spool-dir", spool, state=state, wrap=wrap)
        assert run.finish() == 1, run.err + run.out
        if not wrap:
            assert shutil.disk_usage(spool).used == 0  # nothing left behind in the spool
    message = run.message()
    assert f"The spool directory {spool} is full" in message and "--spool-dir" in message
    assert "Traceback" not in run.err
    assert registry_tags(registry) == []
    roomy = tmp_path / "roomy"
    roomy.mkdir()
    again = Run(*args, "--spool-dir", roomy, state=state)
    assert again.finish() == 0, again.err
    assert again.of("run_finished")[-1]["status"] == "done"
    assert len(image_tags(assert_every_tag_whole(registry, tmp_path / "copies"))) == 6
    assert list(roomy.iterdir()) == []


# -- another client writes a tag while the run merges it -------------------------------------------


def with_s390x(index: ManifestRef) -> ManifestRef:
    """``index`` plus an s390x entry (pointing at its first manifest, so it resolves), as another tool adds."""
    doc = json.loads(index.data)
    extra = {**doc["manifests"][0], "platform": {"architecture": "s390x", "os": "linux"},
             "annotations": {"pushed-by": "another client"}}
    doc["manifests"].append(extra)
    return ManifestRef(canonical_json(doc), index.media_type)


def test_concurrent_tag_writer_loses_no_platform(proxied: tuple[RegistryServer, FaultProxy], packages: Packages,
                                                 tmp_path: Path) -> None:
    """Two races the engine resolves by re-reading: the tag moved after the plan read it (written
    while the run uploads), and the tag moved right after the run wrote it (the other client's
    write, based on what it read before, lands while the run's PUT answer is on its way).

    Not covered, because the registry API has no compare-and-swap: a write landing between the
    run's last read and its own PUT is overwritten by that PUT, as with any registry client.
    """
    server, proxy = proxied
    state = tmp_path / "state"
    run_import(proxy.url, state, packages.amd)
    other = server.client()
    early, late = "bitnami/redis:7.0.11", "metrics-server/metrics-server:v0.6.2"
    late_before = other.get_manifest(*late.split(":"))
    during_upload = proxy.pause("PUT", DIGEST_PUT, nth=1)
    after_write = proxy.pause("PUT", "^/v2/" + re.escape(late.replace(":", "/manifests/")) + "$", when="after")
    run = Run(*import_args(proxy.url, packages.arm), state=state)
    during_upload.wait_hit()
    repo, tag = early.split(":")
    other.put_manifest(repo, tag, with_s390x(other.get_manifest(repo, tag)))
    during_upload.release()
    after_write.wait_hit()
    repo, tag = late.split(":")
    assert {e["platform"]["architecture"] for e in json.loads(other.get_manifest(repo, tag).data)["manifests"]} == {
        "amd64", "arm64"}  # the run's write is in
    other.put_manifest(repo, tag, with_s390x(late_before))  # ... and now overwritten without arm64
    after_write.release()
    assert run.finish() == 0, run.err + run.out
    for path in (early, late):
        raw = skopeo_inspect_raw(f"{server.host}/{path}", server)
        arches = [e["platform"]["architecture"] for e in raw["manifests"]]
        assert sorted(arches) == ["amd64", "arm64", "s390x"], (path, arches)
        assert next(e for e in raw["manifests"] if e["platform"]["architecture"] == "s390x")["annotations"] == {
            "pushed-by": "another client"}
        by_platform = {f"linux/{e['platform']['architecture']}": e["digest"] for e in raw["manifests"]}
        assert {p: by_platform[p] for p in BOTH} == packages.fused[path]
    assert_every_tag_whole(server, tmp_path / "copies")


# -- the password stays secret ------------------------------------------------------------------


def test_password_appears_nowhere(token_registry: RegistryServer, fault_proxy: Callable[..., FaultProxy],
                                  packages: Packages, tmp_path: Path) -> None:
    server = token_registry
    assert server.password and server.username
    proxy = fault_proxy(server)
    state = tmp_path / "state"
    login = ("--username", server.username)
    secrets = [
        server.password,
        base64.b64encode(f"{server.username}:{server.password}".encode()).decode(),
        json.dumps(server.password)[1:-1],
    ]
    outputs: list[str] = []

    wrong = Run(*import_args(proxy.url, packages.amd, extra=login), state=state, password="Wr0ng-" + server.password)
    assert wrong.finish() == 3
    assert proxy.url in wrong.err and "Traceback" not in wrong.err
    outputs += [wrong.out, wrong.err]
    debug = Run(*import_args(proxy.url, packages.amd, extra=(*login, "--debug")), state=state,
                password="Wr0ng-" + server.password)
    assert debug.finish() != 0
    outputs += [debug.out, debug.err]

    denied = proxy.fail("PUT", DIGEST_PUT, 403, times=0)  # authenticated, then refused: an error message
    broken = run_import(proxy.url, state, packages.amd, extra=login, expect=1, password=server.password)
    assert denied.fired and f"Registry {proxy.url} denied a push of manifest" in broken.message()
    outputs += [broken.out, broken.err]
    proxy.clear()
    plain = Run("import", packages.amd, "--registry", proxy.url, "--insecure", "--yes", "--verbose", *login,
                state=state, password=server.password)
    assert plain.finish() == 0, plain.err
    outputs += [plain.out, plain.err]
    for command in (("history",), ("history", "--json")):
        shown = archfuse(*command, state_dir=state)
        assert shown.code == 0
        outputs += [shown.out, shown.err]
    assert "Wr0ng-" not in "".join(outputs)
    for secret in secrets:
        for text in outputs:
            assert secret not in text
    journal_files = [p for p in state.rglob("*") if p.is_file()]
    assert any(p.name.startswith("journal") for p in journal_files)
    for path in journal_files:
        data = path.read_bytes()
        for secret in [*secrets, "Wr0ng-"]:
            assert secret.encode() not in data, path
