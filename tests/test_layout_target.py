"""The OCI layout target, read back by skopeo (containers/image) as the independent checker."""

from __future__ import annotations

import gzip
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import textwrap
import time
from pathlib import Path

import pytest

from core.errors import DigestMismatch, LayoutError, NotFound
from core.oci import mediatypes as mt
from core.oci.digest import hex_of, sha256_digest
from core.oci.manifest import Descriptor, ManifestRef, image_manifest_bytes, index_bytes, index_entry
from core.oci.platform import Platform
from core.targets.base import Target
from core.targets.layout import REF_NAME, TMP_DIR, LayoutTarget, list_refs, split_ref_name
from core.targets.oci_form import oci_form

REPO = "metrics-server/metrics-server"
ROOT = Path(__file__).resolve().parent.parent
SKOPEO = shutil.which("skopeo")


def skopeo(*args: str) -> str:
    assert SKOPEO, "skopeo is required (apt-get install skopeo)"
    done = subprocess.run([SKOPEO, *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _layer(content: bytes) -> tuple[bytes, str]:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        info = tarfile.TarInfo("hello.txt")
        info.size, info.mtime = len(content), 0
        tf.addfile(info, io.BytesIO(content))
    raw = buf.getvalue()
    return gzip.compress(raw, mtime=0), sha256_digest(raw)


def put_image(target: LayoutTarget, arch: str, payload: bytes = b"") -> ManifestRef:
    """A tiny real image (config + one gzip layer + Docker v2s2 manifest) stored by digest."""
    gz, diff_id = _layer(arch.encode() + payload)
    config = json.dumps(
        {
            "architecture": arch,
            "os": "linux",
            "config": {},
            "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        }
    ).encode()
    for blob in (gz, config):
        target.put_blob(REPO, sha256_digest(blob), len(blob), io.BytesIO(blob))
    manifest = ManifestRef(
        image_manifest_bytes(
            Descriptor(mt.DOCKER_CONFIG, len(config), sha256_digest(config)),
            [Descriptor(mt.DOCKER_LAYER_GZIP, len(gz), sha256_digest(gz))],
        ),
        mt.DOCKER_MANIFEST,
    )
    target.put_manifest(REPO, manifest.digest, manifest)
    return manifest


def put_list(target: LayoutTarget, tag: str, payload: bytes = b"") -> tuple[ManifestRef, list[ManifestRef]]:
    children = [put_image(target, arch, payload) for arch in ("amd64", "arm64")]
    entries = [index_entry(m, Platform("linux", a)) for m, a in zip(children, ("amd64", "arm64"))]
    index = ManifestRef(index_bytes(mt.DOCKER_MANIFEST_LIST, entries), mt.DOCKER_MANIFEST_LIST)
    target.put_manifest(REPO, tag, index)
    return index, children


@pytest.fixture
def layout(tmp_path: Path) -> LayoutTarget:
    target = LayoutTarget(tmp_path / "layout")
    target.create()
    return target


def test_is_a_target_and_creates_a_layout_on_the_first_write(tmp_path: Path) -> None:
    layout = LayoutTarget(tmp_path / "new" / "layout")
    assert isinstance(layout, Target)
    assert layout.host == str(layout.path)
    assert layout.description == f"oci:{layout.path}"
    layout.ping()
    assert not layout.path.exists(), "ping (a plan) must write nothing"
    layout.put_blob(REPO, sha256_digest(b"x"), 1, io.BytesIO(b"x"))
    assert json.loads((layout.path / "oci-layout").read_text()) == {"imageLayoutVersion": "1.0.0"}
    assert json.loads((layout.path / "index.json").read_text())["manifests"] == []


def test_manifest_list_of_two_platforms_is_read_back_by_skopeo(layout: LayoutTarget, tmp_path: Path) -> None:
    index, children = put_list(layout, "v0.6.2")
    ref = f"oci:{layout.path}:{REPO}:v0.6.2"

    raw = json.loads(skopeo("inspect", "--raw", ref))
    assert raw["mediaType"] == mt.OCI_INDEX
    platforms = sorted(e["platform"]["architecture"] for e in raw["manifests"])
    assert platforms == ["amd64", "arm64"]
    # the OCI form points at the same configs and layers as the Docker manifests archfuse wrote
    assert len(raw["manifests"]) == len(children)
    for entry, child in zip(raw["manifests"], children):
        oci_child = json.loads(layout.get_blob(REPO, entry["digest"]))
        assert oci_child["config"]["digest"] == child.parsed()["config"]["digest"]
        assert oci_child["layers"][0]["digest"] == child.parsed()["layers"][0]["digest"]

    other = tmp_path / "other"
    skopeo("copy", "--all", ref, f"oci:{other}:x")
    copied = json.loads((other / "index.json").read_text())["manifests"]
    assert [e["annotations"][REF_NAME] for e in copied] == ["x"]
    for child in children:  # every layer travelled
        layer = child.parsed()["layers"][0]["digest"]
        assert (other / "blobs" / "sha256" / hex_of(layer)).is_file()

    # archfuse itself reads back exactly the Docker list it wrote
    assert layout.get_manifest(REPO, "v0.6.2") == index


def test_single_docker_manifest_tag_is_an_image_to_skopeo(layout: LayoutTarget) -> None:
    manifest = put_image(layout, "arm64")
    layout.put_manifest(REPO, "single", manifest)
    info = json.loads(skopeo("inspect", f"oci:{layout.path}:{REPO}:single"))
    assert info["Architecture"] == "arm64"
    assert layout.get_manifest(REPO, "single") == manifest


def test_blobs_manifests_and_refs_read_back(layout: LayoutTarget) -> None:
    index, children = put_list(layout, "v1")
    config_digest = children[0].parsed()["config"]["digest"]
    assert layout.blob_exists(REPO, config_digest)
    assert layout.blob_exists("any/other/repo", config_digest)  # one blob store
    assert layout.mount_blob("any/other/repo", config_digest, REPO)
    missing = sha256_digest(b"nope")
    assert not layout.blob_exists(REPO, missing)
    assert not layout.mount_blob(REPO, missing, "x")
    with pytest.raises(NotFound, match=missing):
        layout.get_blob(REPO, missing)
    assert json.loads(layout.get_blob(REPO, config_digest))["architecture"] == "amd64"
    with pytest.raises(LayoutError, match="read limit"):
        layout.get_blob(REPO, config_digest, max_size=10)

    by_digest = layout.get_manifest(REPO, children[1].digest)
    assert by_digest == children[1]
    assert layout.get_manifest(REPO, "absent") is None
    assert layout.get_manifest("other/repo", "v1") is None
    assert layout.get_manifest(REPO, missing) is None

    layout.put_manifest("library/nginx", "1.25", children[0])
    refs = list_refs(layout.path)
    assert [(r.repository, r.tag) for r in refs] == [("library/nginx", "1.25"), (REPO, "v1")]
    assert refs[1].digest == index.digest and refs[1].media_type == mt.DOCKER_MANIFEST_LIST
    assert refs[1].oci_digest != index.digest
    assert layout.tags(REPO) == ["v1"]
    assert split_ref_name("a/b:c") == ("a/b", "c") and split_ref_name("latest") == ("", "latest")


def test_tag_overwrite_replaces_the_entry(layout: LayoutTarget) -> None:
    put_list(layout, "v1", b"first")
    second, _ = put_list(layout, "v1", b"second")
    names = [
        e["annotations"][REF_NAME] for e in json.loads((layout.path / "index.json").read_text())["manifests"]
    ]
    assert names == [f"{REPO}:v1"]
    assert layout.get_manifest(REPO, "v1") == second
    raw = json.loads(skopeo("inspect", "--raw", f"oci:{layout.path}:{REPO}:v1"))
    expected = oci_form(second, lambda d: layout.get_blob(REPO, d))[0]
    assert sha256_digest(json.dumps(raw, separators=(",", ":")).encode()) == expected.digest


def test_oci_manifest_is_tagged_as_it_is(layout: LayoutTarget) -> None:
    docker = put_image(layout, "amd64")
    oci = oci_form(docker, lambda d: b"")[0]
    layout.put_manifest(REPO, "oci", oci)
    entry = json.loads((layout.path / "index.json").read_text())["manifests"][0]
    assert entry["digest"] == oci.digest and entry["mediaType"] == mt.OCI_MANIFEST
    assert entry["annotations"] == {REF_NAME: f"{REPO}:oci"}
    assert layout.get_manifest(REPO, "oci") == oci


def test_oci_form_keeps_other_entries() -> None:
    child = ManifestRef(
        image_manifest_bytes(Descriptor(mt.DOCKER_CONFIG, 2, sha256_digest(b"{}")), []), mt.DOCKER_MANIFEST
    )
    attestation = {
        "mediaType": mt.OCI_MANIFEST,
        "size": 1,
        "digest": sha256_digest(b"a"),
        "annotations": {"vnd.docker.reference.type": "attestation-manifest"},
        "platform": {"architecture": "unknown", "os": "unknown"},
    }
    entry = {**index_entry(child, Platform("linux", "arm64")), "annotations": {"k": "v"}}
    docker_list = ManifestRef(
        index_bytes(mt.DOCKER_MANIFEST_LIST, [entry, attestation], {"annotations": {"t": "1"}}),
        mt.DOCKER_MANIFEST_LIST,
    )
    converted, children = oci_form(docker_list, lambda d: child.data if d == child.digest else b"")
    doc = converted.parsed()
    assert doc["mediaType"] == mt.OCI_INDEX and doc["annotations"] == {"t": "1"}
    assert doc["manifests"][1] == attestation
    first = doc["manifests"][0]
    assert first["digest"] == children[0].digest and first["mediaType"] == mt.OCI_MANIFEST
    assert first["platform"] == {"architecture": "arm64", "os": "linux"} and first["annotations"] == {
        "k": "v"
    }
    assert children[0].parsed()["config"]["mediaType"] == mt.OCI_CONFIG
    # deterministic: the same Docker bytes give the same OCI bytes
    assert oci_form(docker_list, lambda d: child.data)[0] == converted


def test_digest_mismatch_is_refused_and_stores_nothing(layout: LayoutTarget) -> None:
    data = b"real content"
    claimed = sha256_digest(b"other content")
    with pytest.raises(DigestMismatch, match=claimed):
        layout.put_blob(REPO, claimed, len(data), io.BytesIO(data))
    assert not layout.blob_exists(REPO, claimed)
    assert list((layout.path / TMP_DIR).iterdir()) == []
    with pytest.raises(DigestMismatch, match="ended after 4 of 10"):
        layout.put_blob(REPO, sha256_digest(b"0123456789"), 10, io.BytesIO(b"0123"))
    manifest = ManifestRef(b'{"schemaVersion":2}', mt.OCI_MANIFEST)
    with pytest.raises(DigestMismatch):
        layout.put_manifest(REPO, claimed, manifest)
    with pytest.raises(DigestMismatch):
        layout.put_manifest(REPO, "t", ManifestRef(b"{}", mt.OCI_MANIFEST, claimed))
    assert layout.get_manifest(REPO, "t") is None


def test_corrupt_blob_on_disk_is_reported(layout: LayoutTarget) -> None:
    data = b"config"
    digest = sha256_digest(data)
    layout.put_blob(REPO, digest, len(data), io.BytesIO(data))
    (layout.path / "blobs" / "sha256" / hex_of(digest)).write_bytes(b"tampered")
    with pytest.raises(DigestMismatch, match=digest):
        layout.get_blob(REPO, digest)


def test_progress_and_existing_blob_consumes_stream(layout: LayoutTarget) -> None:
    data = os.urandom(3 << 20)
    digest = sha256_digest(data)
    seen: list[int] = []
    layout.put_blob(REPO, digest, len(data), io.BytesIO(data), seen.append)
    assert sum(seen) == len(data) and len(seen) == 3
    stream = io.BytesIO(data + b"next member")
    layout.put_blob(REPO, digest, len(data), stream)  # already there: stream still consumed
    assert stream.read() == b"next member"
    assert layout.get_blob(REPO, digest) == data


_WRITER = textwrap.dedent(
    """
    import io, sys
    from pathlib import Path
    from core.targets.layout import LayoutTarget
    from core.oci.manifest import ManifestRef
    target = LayoutTarget(Path(sys.argv[1]))
    name = sys.argv[2]
    for i in range(int(sys.argv[3])):
        data = ('{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","n":"%s-%d"}' % (name, i)).encode()
        target.put_manifest("repo/" + name, "t%d" % i, ManifestRef(data, "application/vnd.oci.image.manifest.v1+json"))
    """
)


def test_two_processes_never_lose_each_others_tags(layout: LayoutTarget) -> None:
    count = 40
    procs = [
        subprocess.Popen([sys.executable, "-c", _WRITER, str(layout.path), name, str(count)], cwd=ROOT)
        for name in ("a", "b")
    ]
    assert [p.wait(timeout=60) for p in procs] == [0, 0]
    refs = layout.refs()
    assert len(refs) == 2 * count
    assert {r.repository for r in refs} == {"repo/a", "repo/b"}
    assert not [p for p in layout.path.iterdir() if p.name.endswith(".tmp")]


def test_lock_is_reentrant(layout: LayoutTarget) -> None:
    manifest = put_image(layout, "amd64")
    with layout.locked():
        assert layout.get_manifest(REPO, "v1") is None
        layout.put_manifest(REPO, "v1", manifest)
    assert layout.get_manifest(REPO, "v1") == manifest


_KILLED = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from core.targets.layout import LayoutTarget
    target = LayoutTarget(Path(sys.argv[1]))
    # 1 MiB promised, the parent writes half then kills us
    target.put_blob("r", sys.argv[2], 1 << 20, sys.stdin.buffer.raw)  # unbuffered: partial reads
    """
)


def test_killed_write_leaves_no_blob_and_its_temp_is_cleaned(layout: LayoutTarget) -> None:
    data = os.urandom(1 << 20)
    digest = sha256_digest(data)
    proc = subprocess.Popen(
        [sys.executable, "-c", _KILLED, str(layout.path), digest], cwd=ROOT, stdin=subprocess.PIPE
    )
    assert proc.stdin is not None
    proc.stdin.write(data[: 1 << 19])
    proc.stdin.flush()
    tmp_dir = layout.path / TMP_DIR
    deadline = time.monotonic() + 30
    while not any(p.stat().st_size > 0 for p in tmp_dir.iterdir()):  # wait until it is mid-write
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.01)
    # while the writer lives, its temp is locked and survives a cleanup
    assert layout.clean_temp(older_than=0) == 0
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stdin.close()
    assert not layout.blob_exists("r", digest)
    assert len(list(tmp_dir.iterdir())) == 1
    assert layout.clean_temp() == 0  # too fresh to be judged stale
    assert layout.clean_temp(older_than=0) == 1
    assert list(tmp_dir.iterdir()) == []


def test_ping_cleans_stale_temp_files(layout: LayoutTarget) -> None:
    stale = layout.path / TMP_DIR / "leftover"
    stale.write_bytes(b"partial")
    os.utime(stale, (time.time() - 3600, time.time() - 3600))
    fresh = layout.path / TMP_DIR / "fresh"
    fresh.write_bytes(b"in flight")
    layout.ping()
    assert not stale.exists() and fresh.exists()


def test_bad_places_are_clear_errors(tmp_path: Path) -> None:
    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(LayoutError, match="is a file"):
        LayoutTarget(a_file).ping()
    with pytest.raises(LayoutError, match="Cannot create the OCI layout directory"):
        LayoutTarget(a_file / "sub").ping()
    busy = tmp_path / "home"
    busy.mkdir()
    (busy / "notes.txt").write_text("x")
    with pytest.raises(LayoutError, match="neither empty nor an OCI image layout"):
        LayoutTarget(busy).ping()
    broken = LayoutTarget(tmp_path / "broken")
    broken.create()
    (broken.path / "index.json").write_text("{not json")
    with pytest.raises(LayoutError, match="index.json is not valid JSON"):
        broken.get_manifest(REPO, "v1")


def test_missing_layout_reads_as_empty(tmp_path: Path) -> None:
    target = LayoutTarget(tmp_path / "nothing")
    assert target.get_manifest(REPO, "v1") is None
    assert list_refs(tmp_path / "nothing") == []


def test_first_writes_from_many_threads_create_one_layout(tmp_path: Path) -> None:
    import threading

    layout = LayoutTarget(tmp_path / "fresh")
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def write(i: int) -> None:
        data = f"blob {i}".encode()
        start.wait()
        try:
            layout.put_blob(REPO, sha256_digest(data), len(data), io.BytesIO(data))
        except BaseException as exc:  # collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert errors == []
    assert all(layout.blob_exists(REPO, sha256_digest(f"blob {i}".encode())) for i in range(8))


def test_a_layout_is_one_target_whatever_its_spelling(
    demo_packages: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``./dir``, ``dir`` and ``oci:/abs/dir``: one journal target, one lock, one downgrade check, one rollback."""
    from tui.cli import main

    monkeypatch.chdir(tmp_path)
    state = ["--state-dir", str(tmp_path / "state")]
    new = next(p for p in demo_packages if p.name.endswith("-v0.12.0-amd64.tar.gz"))
    old = next(p for p in demo_packages if p.name.endswith("-v0.11.0-amd64.tar.gz"))
    assert main(["import", str(new), "--registry", "./layout", "--yes", "--json", *state]) == 0
    run_id = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"run_finished"' in line][0]["run_id"]
    assert main(["plan", str(old), "--registry", f"oci:{tmp_path}/layout", "--json", *state]) == 0
    [version] = [c for c in json.loads(capsys.readouterr().out.splitlines()[-1])["checks"] if c["name"] == "version"]
    assert version["status"] == "warn" and "downgrade" in version["detail"]
    assert main(["rollback", run_id, "--registry", "layout", "--yes", "--json", *state]) == 0
    assert '"status": "done"' in capsys.readouterr().out


def test_an_index_nesting_100000_levels_is_refused_naming_it(tmp_path: Path) -> None:
    # an existing layout another tool (or a hostile user) wrote: read through the bounded loader
    path = tmp_path / "layout"
    path.mkdir()
    (path / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    depth = 100_000
    (path / "index.json").write_text('{"schemaVersion": 2, "manifests": [' + "[" * depth + "]" * depth + "]}")
    target = LayoutTarget(path)
    with pytest.raises(LayoutError) as err:
        target.tags("app")
    assert f"{path / 'index.json'} nests deeper than 64 levels" in str(err.value)
    with pytest.raises(LayoutError, match="nests deeper"):
        list_refs(path)
