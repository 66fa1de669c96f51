"""One read of a package for a cold import (issue 13): blobs go to the real registry while the scan
reads the package (core.run.stage); the plan finds them and the run mounts them, reading nothing
again. Checked with the registry itself, skopeo and ``archfuse verify``."""

from __future__ import annotations

import hashlib
import io
import json
import os
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import humanize
import pytest

from core import events as ev
from core.config import build_target_config
from core.demo.samples import write_sample_package
from core.errors import ArchfuseError
from core.helpers.parallel import SMALL_BLOB
from core.package import reader
from core.package.model import PackageIndex
from core.package.scan import scan_paths
from core.plan.images import build_plan
from core.record.report import report_paths
from core.run.engine import ImportRun
from core.session import READ_AT_ONCE, open_session
from core.targets.connect import open_target
from core.targets.registry import RegistryTarget
from core.units import size_text
from tests.cli_driver import archfuse, registry_args
from tests.fixtures.broken import write_broken_package
from tests.fixtures.faultproxy import FaultProxy
from tests.fixtures.registry import RegistryServer, free_port, skopeo_copy_all
from tests.test_faults import BLOB_PUT, UPLOAD_POST, Packages, registry_tags, write_packages

Reads = dict[str, int]


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Packages:
    """v0.11.0 for amd64 and arm64 (the fault tests' packages)."""
    return write_packages(tmp_path_factory.mktemp("one-read"))


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A package whose app layers are over SMALL_BLOB (about 2 MiB each)."""
    return write_sample_package(tmp_path_factory.mktemp("one-read-large"), "v0.11.0", "amd64", payload=12 << 20)


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> Reads:
    """How many times each package file was read through (every read of a package is the reader's)."""
    counted: Reads = {}
    real = reader._Reader.run

    def run(self: reader._Reader) -> Iterator[reader.Item]:
        counted[self.path.name] = counted.get(self.path.name, 0) + 1
        return real(self)

    monkeypatch.setattr(reader._Reader, "run", run)
    return counted


def _verified(server: RegistryServer, state: Path, *paths: Path, url: str = "") -> None:
    """``archfuse verify`` passes (``url``: the address the import used, charts name it)."""
    target = ["--registry", url, "--insecure"] if url else registry_args(server)
    result = archfuse("verify", *paths, *target, "--json", state_dir=state)
    assert result.code == 0 and result.events[-1]["ok"], result.out


def test_a_cold_import_reads_each_package_once(registry: RegistryServer, pair: Packages, reads: Reads,
                                               tmp_path: Path) -> None:
    seen: list[ev.Event] = []
    config = build_target_config(registry.url, insecure=True, env={})
    session = open_session(config, state_dir=tmp_path / "state", emit=seen.append)
    try:
        indexes = session.scan_to_import([pair.amd, pair.arm])
        assert isinstance(session.target, RegistryTarget)
        asked: list[tuple[str, str]] = []
        blob_exists = session.target.blob_exists
        session.target.blob_exists = lambda repository, digest: asked.append((repository, digest)) or blob_exists(repository, digest)  # type: ignore[method-assign]
        preflight = session.preflight(indexes)
        session.target.blob_exists = blob_exists  # type: ignore[method-assign]
        # what the one read put into a repository is mounted into the others of its space (the first
        # path segment) without a HEAD each (issue 21)
        space = {digest: repository.split("/")[0] for digest, repository in session.sources.items()}
        same_space = [(r, d) for r, d in asked if space.get(d) == r.split("/")[0]]
        assert not same_space and len(asked) < len(session.sources), (same_space[:3], len(asked))
        assert not preflight.failed and preflight.plan is not None
        assert preflight.plan.bytes_to_upload == 0  # every blob is on the registry: the run only mounts
        summary = session.run(preflight)
    finally:
        session.close()
    staged = [e for e in seen if isinstance(e, ev.BlobsStaged)]
    assert summary.status == "done" and summary.bytes_uploaded == sum(e.bytes for e in staged)  # the one read's
    assert reads == {pair.amd.name: 1, pair.arm.name: 1}
    assert sorted(Path(e.path).name for e in staged) == [pair.amd.name, pair.arm.name]  # read side by side
    assert all(e.blobs > 0 and e.bytes > 0 and not e.stopped for e in staged)
    assert not [e for e in seen if isinstance(e, ev.PackageStarted)]  # the run opened no package
    assert any(isinstance(e, ev.BlobDone) and e.how == "mounted" for e in seen)  # the bundles' other repositories
    _verified(registry, tmp_path / "state", pair.amd, pair.arm)
    for path in pair.fused:
        skopeo_copy_all(f"{registry.host}/{path}", registry, tmp_path / "copy")


def test_scan_first_reads_twice_and_uploads_in_the_run(registry: RegistryServer, large: Path,
                                                       tmp_path: Path) -> None:
    args = ("import", large, *registry_args(registry), "--yes", "--json")
    first = archfuse(*args, "--scan-first", state_dir=tmp_path / "state")
    assert first.code == 0, first.err
    assert not first.of("blobs_staged") and first.of("package_started")
    uploaded = first.last("run_finished")["bytes_uploaded"]
    assert uploaded > 12 << 20
    again = archfuse(*args, state_dir=tmp_path / "state-2")  # no scan cache: a one read
    assert again.code == 0, again.err
    # the registry holds every blob: the one read finds each large one in a repository of its bundle
    # and uploads none of them again (a small blob of a bundle's other image may go up again)
    assert again.of("blobs_staged") and sum(e["bytes"] for e in again.of("blobs_staged")) * 4 < uploaded
    staged = sum(e["bytes"] for e in again.of("blobs_staged"))
    assert not again.of("package_started") and again.last("run_finished")["bytes_uploaded"] == staged


def _received(server: RegistryServer, packages: list[PackageIndex]) -> int:
    """The bytes of the packages' blobs the registry stores (each once; manifests not counted)."""
    wanted = {b.digest: b.size for p in packages for i in p.images for b in i.blobs()}
    stored = {
        "sha256:" + data.parent.name: data.stat().st_size
        for data in server.storage.glob("docker/registry/v2/blobs/sha256/*/*/data")
    }
    received = sum(size for digest, size in stored.items() if digest in wanted)
    assert received == sum(wanted.values()) > 0  # every blob of the packages is there
    return received


def test_a_cold_import_reports_the_bytes_the_registry_received(
    registry_factory: Callable[..., RegistryServer], pair: Packages, tmp_path: Path
) -> None:
    """Issue 21: the one read's uploads are the run's, in its last line, its JSON event, its report
    and ``history`` (a cold import used to say "0 Bytes uploaded")."""
    packages = scan_paths([pair.amd, pair.arm], state_dir=tmp_path / "scan", use_cache=False)
    first, second = registry_factory(), registry_factory()
    state = tmp_path / "state"
    result = archfuse("import", pair.amd, pair.arm, *registry_args(first), "--yes", "--json", state_dir=state)
    assert result.code == 0, result.err
    assert result.of("blobs_staged") and not result.of("package_started")  # the one read uploaded every blob
    received = _received(first, packages)
    finished = result.last("run_finished")
    assert finished["bytes_uploaded"] == received
    report = json.loads(report_paths(state, finished["run_id"])[1].read_text())
    assert report["bytes_uploaded"] == received
    history = archfuse("history", "--json", state_dir=state)
    assert next(r for r in history.events[0]["runs"] if r["id"] == finished["run_id"])["bytes_uploaded"] == received
    plain = archfuse("import", pair.amd, pair.arm, *registry_args(second), "--yes", state_dir=tmp_path / "state-2")
    assert plain.code == 0, plain.err
    last = plain.out.strip().splitlines()[-1]
    assert f"{humanize.naturalsize(_received(second, packages), binary=True)} uploaded in" in last, last


def test_a_cached_scan_uploads_in_the_run(registry: RegistryServer, pair: Packages, tmp_path: Path) -> None:
    state = tmp_path / "state"
    assert archfuse("scan", pair.amd, state_dir=state).code == 0
    result = archfuse("import", pair.amd, *registry_args(registry), "--yes", "--json", state_dir=state)
    assert result.code == 0, result.err
    assert not result.of("blobs_staged") and result.of("package_started")
    assert result.last("run_finished")["bytes_uploaded"] > 0


def test_an_import_that_asks_first_uploads_nothing_before_the_answer(registry: RegistryServer,
                                                                      pair: Packages, tmp_path: Path) -> None:
    result = archfuse("import", pair.amd, *registry_args(registry), "--json", state_dir=tmp_path / "state")
    assert result.code == 2 and "--yes" in result.err
    assert not result.of("blobs_staged")
    assert list(registry.storage.glob("docker/registry/v2/blobs/sha256/*/*/data")) == []


def test_a_layout_is_written_only_after_the_checks(pair: Packages, tmp_path: Path) -> None:
    layout = tmp_path / "layout"
    result = archfuse("import", pair.amd, "--registry", layout, "--yes", "--json", state_dir=tmp_path / "s")
    assert result.code == 0, result.err
    assert not result.of("blobs_staged") and result.last("run_finished")["bytes_uploaded"] > 0


@pytest.mark.parametrize("kind", ["layer-digest-mismatch", "truncated"])
def test_a_damaged_package_moves_no_tag(kind: str, registry: RegistryServer, tmp_path: Path) -> None:
    path = write_broken_package(tmp_path / kind, kind)
    result = archfuse("import", path, *registry_args(registry), "--yes", state_dir=tmp_path / "state")
    assert result.code == 2, result.err
    assert "Traceback" not in result.err and path.name in result.err
    assert registry_tags(registry) == []


@pytest.mark.parametrize("flags", [(), ("--scan-first",)])
def test_a_package_cut_inside_a_large_blob_is_one_sentence(flags: tuple[str, ...], registry: RegistryServer,
                                                          large: Path, tmp_path: Path) -> None:
    """Cut where the one read's upload (not the reader's own loop) reads the blob: still exit 2 and
    one sentence naming the member, not a traceback."""
    path = tmp_path / large.name
    data = large.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    result = archfuse("import", path, *registry_args(registry), "--yes", *flags, state_dir=tmp_path / "s")
    assert result.code == 2 and "Traceback" not in result.err, result.err
    errors = [line for line in result.err.splitlines() if line.startswith("archfuse: ") and "warning" not in line]
    assert len(errors) == 1 and path.name in errors[0] and "images.tar member" in errors[0], result.err
    assert "truncated or corrupt" in errors[0]
    assert registry_tags(registry) == []


def test_a_checksum_mismatch_with_strict_moves_no_tag(registry: RegistryServer, tmp_path: Path) -> None:
    path = write_broken_package(tmp_path / "pkg", "checksum-mismatch")
    result = archfuse("import", path, *registry_args(registry), "--yes", "--strict", state_dir=tmp_path / "s")
    assert result.code != 0 and "sha512" in result.err and "Traceback" not in result.err
    assert registry_tags(registry) == []


def test_wrong_credentials_stop_before_any_upload(token_registry: RegistryServer, pair: Packages,
                                                  tmp_path: Path) -> None:
    result = archfuse("import", pair.amd, *registry_args(token_registry), "--yes", "--json",
                      state_dir=tmp_path / "s", password="not-" + token_registry.password)  # fmt: skip
    assert result.code != 0 and "Traceback" not in result.err
    assert not result.of("blobs_staged")  # the API check failed: the scan only read
    assert registry_tags(token_registry) == []


def test_a_flaky_network_while_reading_once_still_imports(registry: RegistryServer, pair: Packages,
                                                          fault_proxy: Callable[..., FaultProxy],
                                                          tmp_path: Path) -> None:
    proxy = fault_proxy(registry)
    rules = [
        proxy.cut("PUT", BLOB_PUT, nth=2),  # an upload's body cut midway: retried
        proxy.fail("POST", UPLOAD_POST, 503, nth=3),  # retried
    ]
    state = tmp_path / "state"
    result = archfuse("import", pair.amd, pair.arm, "--registry", proxy.url, "--insecure", "--yes",
                      "--json", state_dir=state)  # fmt: skip
    assert result.code == 0, result.err
    assert all(rule.fired for rule in rules)
    assert sum(e["bytes"] for e in result.of("blobs_staged")) > 0
    _verified(registry, state, pair.amd, pair.arm, url=proxy.url)


def test_a_refused_mount_falls_back_to_reading_the_package(registry: RegistryServer, pair: Packages,
                                                           reads: Reads, tmp_path: Path) -> None:
    seen: list[ev.Event] = []
    config = build_target_config(registry.url, insecure=True, env={})
    session = open_session(config, state_dir=tmp_path / "state", emit=seen.append)
    try:
        indexes = session.scan([pair.amd])
        # every blob said to be in a repository that does not hold it: the registry refuses the mounts
        nowhere = {b.digest: "nowhere/at-all" for i in indexes[0].images for b in i.blobs()}
        plan = build_plan(indexes, session.target, sources=nowhere)
        assert plan.blobs and all(not need.upload for need in plan.blobs.values())
        summary = ImportRun(plan, session.target, emit=seen.append).execute()
    finally:
        session.close()
    assert summary.status == "done", summary.failures
    assert summary.bytes_uploaded > 0 and reads[pair.amd.name] == 2  # the scan, then the run's read
    assert any(isinstance(e, ev.PackageStarted) for e in seen)
    for path in pair.amd_tags:  # (a bare run: images only, no charts)
        skopeo_copy_all(f"{registry.host}/{path}", registry, tmp_path / "copy")


def test_a_later_plan_mounts_what_an_unfinished_one_read_uploaded(registry: RegistryServer, large: Path,
                                                                  tmp_path: Path) -> None:
    """A one read whose run never came (killed, refused by another run's lock): the next plan, from
    the scan cache, finds each large blob in its bundle's first repository and mounts it."""
    config = build_target_config(registry.url, insecure=True, env={})
    state = tmp_path / "state"
    first = open_session(config, state_dir=state)
    try:
        first.scan_to_import([large])  # then no run
    finally:
        first.close()
    again = open_session(config, state_dir=state)
    try:
        preflight = again.preflight(again.scan([large]))
        assert not preflight.failed and preflight.plan is not None
        needs = list(preflight.plan.blobs.values())
        large_needs = [n for n in needs if n.blob.size > SMALL_BLOB]
        assert large_needs and all(need.source for need in large_needs)
        small = sum(n.blob.size for n in needs if n.blob.size <= SMALL_BLOB)
        assert preflight.plan.bytes_to_upload <= small
        summary = again.run(preflight)
    finally:
        again.close()
    assert summary.status == "done" and summary.bytes_uploaded <= small
    _verified(registry, state, large)


class OneWay(io.RawIOBase):
    """A stream read once, as the one read's pipe is: it cannot seek."""

    def __init__(self, data: bytes) -> None:
        self._inner = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        return self._inner.readinto(buffer)


def test_a_streamed_upload_lands_resumes_after_a_break_and_a_short_one_fails_clearly(
    registry: RegistryServer, fault_proxy: Callable[..., FaultProxy]
) -> None:
    """The one read sends a large blob as it is read (RegistryTarget.stream_blob), in chunks it holds
    until the registry confirms them: a break resends the chunk, not the blob (issue 20)."""
    data = os.urandom(24 << 20)
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    proxy = fault_proxy(registry)
    dropped = proxy.drop("PATCH", r"^/v2/.+/blobs/uploads/", nth=3)
    direct = open_target(build_target_config(registry.url, insecure=True, env={}))
    through = open_target(build_target_config(proxy.url, insecure=True, env={}))
    assert isinstance(direct, RegistryTarget) and isinstance(through, RegistryTarget)
    try:
        through.stream_blob("one/cut", digest, len(data), io.BufferedReader(OneWay(data)))
        assert dropped.fired and direct.blob_exists("one/cut", digest)
        resent = proxy.received("PATCH|PUT", r"^/v2/.+/blobs/uploads/") - len(data)
        assert 0 < resent <= 2 << 20  # half of one 2 MiB chunk, read by the proxy before the break
        with pytest.raises(ArchfuseError, match=digest):  # the package ended early
            direct.stream_blob("one/short", digest, len(data), io.BytesIO(data[:-10]))
        assert not direct.blob_exists("one/short", digest)
        sent: list[int] = []
        direct.stream_blob("one/read", digest, len(data), io.BytesIO(data), sent.append)
        assert direct.blob_exists("one/read", digest) and sum(sent) == len(data)
    finally:
        direct.close()
        through.close()


class Refuser:
    """A loopback port that accepts connections and closes them at once, counting them."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.count = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.count += 1
            conn.close()

    def close(self) -> None:
        self.sock.close()


def test_a_registry_that_does_not_answer_is_tried_once_before_the_read(pair: Packages, tmp_path: Path) -> None:
    """The one read looks once (no retries) before it starts; the checks then try patiently and say
    why. A retried look would make the engineer wait for a dead registry twice. Retries last a time
    (``--retry-for``, 3 s here), with jitter: the checks' tries vary by one from run to run, a
    retried look would add as many again."""
    counts = {}
    for name, flags in (("scan-first", ("--scan-first",)), ("one read", ())):
        refuser = Refuser()
        try:
            result = archfuse("import", pair.amd, "--registry", f"http://127.0.0.1:{refuser.port}", "--insecure",
                              "--yes", "--retry-for", "3s", *flags, state_dir=tmp_path / name)  # fmt: skip
        finally:
            refuser.close()
        assert result.code == 3 and "Traceback" not in result.err, result.err
        counts[name] = refuser.count
    # the checks retry (3 s: 0.25-0.5, 0.5-1, 1-2 s apart: about 4 tries idle, fewer on a loaded machine)
    assert counts["scan-first"] >= 2, counts
    # one look more, give or take jitter and load; a retried look would add the checks' tries again (about 4)
    assert counts["one read"] - counts["scan-first"] in (-1, 0, 1, 2), counts


def _staged(registry: RegistryServer) -> tuple[int, int]:
    """Blobs the registry stores and their bytes."""
    data = list(registry.storage.glob("docker/registry/v2/blobs/sha256/*/*/data"))
    return len(data), sum(p.stat().st_size for p in data)


@pytest.mark.parametrize("refusal", ["failed-check", "refused-package"])
def test_a_refused_one_read_says_which_blobs_it_left_untagged(refusal: str, registry: RegistryServer, pair: Packages,
                                                              tmp_path: Path) -> None:
    """Not "nothing was written": no tag moved, and the blobs the one read uploaded are counted."""
    if refusal == "failed-check":  # the chart destination does not answer: a check fails after the read
        path = pair.amd
        flags = ["--chart-repo", f"http://127.0.0.1:{free_port()}", "--chart-repo-type", "chartmuseum",
                 "--retry-for", "2s"]  # the check's tries end in 2 s, not in 30 s
    else:
        path, flags = write_broken_package(tmp_path / "pkg", "checksum-mismatch"), ["--strict"]
    result = archfuse("import", path, *registry_args(registry), "--yes", *flags, state_dir=tmp_path / "s")
    assert result.code == (3 if refusal == "failed-check" else 2), result.err
    blobs, size = _staged(registry)
    assert blobs > 0 and registry_tags(registry) == []
    said = result.out + result.err
    assert "nothing was written" not in said.lower(), said
    assert (f"No tag moved; {blobs} blob(s) ({size_text(size)}) were uploaded untagged while the packages were "
            "read: the next run reuses them, and the registry's garbage collection removes them.") in result.err


def test_a_second_spelling_of_the_target_is_refused_before_it_uploads(registry: RegistryServer, pair: Packages,
                                                                      tmp_path: Path) -> None:
    """The run lock is taken by the one read, before its first byte: a second import of the same
    registry by another name (localhost, not 127.0.0.1) is refused before it uploads anything."""
    config = build_target_config(registry.url, insecure=True)
    session = open_session(config, state_dir=tmp_path / "first")
    try:
        session.scan_to_import([pair.amd])  # holds the lock from here until close (its run re-enters it)
        before = _staged(registry)
        other = registry.url.replace("127.0.0.1", "localhost")
        result = archfuse("import", pair.arm, "--registry", other, "--insecure", "--yes", "--json",
                          state_dir=tmp_path / "second")
        assert result.code == 1 and "Another archfuse run is using" in result.err, result.err
        assert not result.of("blobs_staged") and _staged(registry) == before
    finally:
        session.close()
    again = archfuse("import", pair.arm, "--registry", registry.url.replace("127.0.0.1", "localhost"), "--insecure",
                     "--yes", "--json", state_dir=tmp_path / "second")
    assert again.code == 0, again.err  # let go at close


class _SideBySide:
    """A scan's sink that holds the first package's read at its first blob until a blob of the
    other package arrives from another thread: packages read one after the other never get there."""

    def __init__(self) -> None:
        self.first_thread = 0
        self.other_seen = threading.Event()
        self.order: list[str] = []  # "blob-1" / "blob-2" / "done-1" / "done-2", as they happen
        self._lock = threading.Lock()

    def chart(self, record: object) -> None:
        pass

    def blob(self, member: reader.BlobMember) -> None:
        me = threading.get_ident()
        with self._lock:
            self.first_thread = self.first_thread or me
            first = me == self.first_thread and len(self.order) == 0
            self.order.append("blob-1" if me == self.first_thread else "blob-2")
        if first:
            self.other_seen.wait(10)  # a bound for the failing case only: the passing case never waits it out
        else:
            self.other_seen.set()

    def package_done(self, path: Path) -> None:
        with self._lock:
            self.order.append("done-1" if threading.get_ident() == self.first_thread else "done-2")


def test_a_cold_import_reads_both_packages_side_by_side(pair: Packages) -> None:
    """The one read of a two-arch import reads both packages at once (core.session.READ_AT_ONCE):
    the second package's blobs reach the uploads before the first package's read has ended, so one
    package's uploads go on while the other is read (issue 21)."""
    sink = _SideBySide()
    indexes = scan_paths([pair.amd, pair.arm], sink=sink, at_once=READ_AT_ONCE)
    assert [i.arch for i in indexes] == ["amd64", "arm64"]  # in the order given, whatever finished first
    assert "blob-2" in sink.order[: sink.order.index("done-1")], sink.order[:5]
    assert sorted(sink.order)[-2:] == ["done-1", "done-2"]
