"""Prune: tags of dropped versions go, never a digest still used; rollback puts them back until GC.

Against the real registry (CNCF distribution, deletes enabled): three versions x two arches,
tags shared between versions, a platform manifest shared by two indexes, and a referrer.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from core.demo.samples import write_sample_package
from core.oci import mediatypes as mt
from core.oci.digest import hex_of, sha256_digest
from core.oci.manifest import ManifestRef, canonical_json
from core.operations.prune import plan_prune, prune_run
from core.operations.rollback import rollback_run
from core.record.journal import Journal
from core.targets.layout import LayoutTarget
from tests.cli_driver import archfuse, registry_args
from tests.fixtures.chartservers import ChartMuseumTestServer, HarborChartRepoTestServer
from tests.fixtures.harbor import HarborTestServer
from tests.fixtures.imports import journaled_import, make_package
from tests.fixtures.registry import REGISTRY_BIN, RegistryServer, skopeo
from tests.test_chart_repos_cli import CHART_ENV, chartmuseum_args
from tests.test_consent import REFUSALS, files, refused
from tests.test_import_registry import pkg

DROPPED_IMAGE = ("ingress-nginx/controller", "v1.8.1")  # only v0.11.0 has it
KEPT_IMAGE = ("ingress-nginx/controller", "v1.9.0")
SHARED_TAG = ("metrics-server/metrics-server", "v0.6.2")  # every version has it
SIGNED = ("jetstack/cert-manager-controller", "v1.11.0")  # only v0.11.0; a referrer signs it


@dataclass
class Site:
    registry: RegistryServer
    state: Path
    packages: dict[str, list[Path]]  # version -> its two packages
    pinned: str  # the digest of the platform manifest another index shares
    referrer: str  # tag of the signature


def _blob_path(storage: Path, digest: str) -> Path:
    h = hex_of(digest)
    return storage / "docker/registry/v2/blobs/sha256" / h[:2] / h / "data"


def _storage_bytes(storage: Path) -> int:
    return sum(p.stat().st_size for p in storage.rglob("*") if p.is_file())


def _import(site: Site, version: str) -> None:
    done = archfuse("import", *site.packages[version], *registry_args(site.registry), "--yes", "--json",
                    state_dir=site.state)
    assert done.code == 0, done.err


@pytest.fixture
def site(registry: RegistryServer, demo_packages: list[Path], tmp_path: Path) -> Iterator[Site]:
    packages = {v: [pkg(demo_packages, v, a) for a in ("amd64", "arm64")] for v in ("v0.11.0", "v0.12.0")}
    packages["v0.13.0"] = [write_sample_package(tmp_path / "third", "v0.13.0", a, flavour="mixed", payload=96 << 10)
                           for a in ("amd64", "arm64")]
    made = Site(registry, tmp_path / "state", packages, "", "")
    for version in packages:
        _import(made, version)
    client = registry.client()
    try:
        # another index (not archfuse's) shares the dropped tag's amd64 manifest
        repo, tag = DROPPED_IMAGE
        index = client.get_manifest(repo, tag)
        entry = next(e for e in index.parsed()["manifests"] if e["platform"]["architecture"] == "amd64")
        pinned = ManifestRef(canonical_json({"schemaVersion": 2, "mediaType": index.media_type, "manifests": [entry]}),
                             index.media_type)
        client.put_manifest(repo, "pinned-amd64", pinned)
        made.pinned = entry["digest"]
        # a signature with a subject, tagged as cosign names them
        repo, tag = SIGNED
        subject = client.get_manifest(repo, tag)
        for data in (b"{}", b"signature"):
            client.put_blob(repo, sha256_digest(data), len(data), io.BytesIO(data))
        signature = ManifestRef(canonical_json({
            "schemaVersion": 2, "mediaType": mt.OCI_MANIFEST,
            "config": {"mediaType": mt.OCI_EMPTY, "digest": sha256_digest(b"{}"), "size": 2},
            "layers": [{"mediaType": "application/vnd.dev.cosign.simplesigning.v1+json",
                        "digest": sha256_digest(b"signature"), "size": 9}],
            "subject": {"mediaType": subject.media_type, "digest": subject.digest, "size": subject.size},
        }), mt.OCI_MANIFEST)
        made.referrer = f"sha256-{hex_of(subject.digest)}.sig"
        client.put_manifest(repo, made.referrer, signature)
    finally:
        client.close()
    yield made


def _prune(site: Site, *extra: str) -> tuple[dict[str, Any], dict[str, Any]]:
    done = archfuse("prune", *registry_args(site.registry), *extra, "--json", state_dir=site.state)
    assert done.code == 0, done.err + done.out
    return done.last("prune_plan"), done.last("prune")


def _copies(site: Site, repo: str, tag: str, dest: Path) -> bool:
    ref = f"docker://{site.registry.host}/{repo}:{tag}"
    return skopeo("copy", "--all", *site.registry.skopeo_args("src-"), ref, f"oci:{dest}", check=False).returncode == 0


def _kept_destinations(site: Site) -> set[str]:
    """Every image and chart tag the kept versions hold, as verify reads them."""
    out: set[str] = set()
    for version in ("v0.12.0", "v0.13.0"):
        done = archfuse("verify", *site.packages[version], *registry_args(site.registry), "--json", state_dir=site.state)
        assert done.code == 0, done.out  # 100 %
        report = json.loads(done.out.strip().splitlines()[-1])
        assert report["ok"] and report["images"]
        out |= {i["destination"].split("/", 1)[1] for i in report["images"]}
    return out


def _garbage_collect(server: RegistryServer) -> None:
    server.stop()
    subprocess.run([REGISTRY_BIN, "garbage-collect", str(server.config_path)], check=True, capture_output=True)
    server.start()


def test_prune_keep_2_then_gc_frees_the_dropped_version_and_nothing_shared(site: Site, tmp_path: Path) -> None:
    plan, summary = _prune(site, "--keep", "2", "--yes")

    assert plan["dropped"] == ["v0.11.0"] and plan["kept_versions"] == ["v0.12.0", "v0.13.0"]
    removed = {(t["repository"], t["tag"]) for t in plan["tags"]}
    assert DROPPED_IMAGE in removed and SIGNED in removed
    assert SHARED_TAG not in removed and KEPT_IMAGE not in removed
    kept = " ".join(f"{k['subject']}: {k['reason']}" for k in plan["kept"])
    assert f"@{site.pinned}" in kept and "platform manifest also in" in kept
    assert site.referrer in kept and "referrer" in kept
    assert f"{SHARED_TAG[0]}:{SHARED_TAG[1]}: a version kept" in kept  # every version has it
    deleted = {m["digest"] for m in plan["manifests"]}
    assert site.pinned not in deleted
    assert summary["status"] == "done" and len(summary["tags_removed"]) == len(removed)
    assert "garbage-collect" in summary["advice"] and "Never add --delete-untagged" in summary["advice"]

    client = site.registry.client()
    try:
        for repo, tag in removed:
            assert tag not in client.list_tags(repo)
        # what GC may free: the blobs of the deleted manifests no kept manifest uses
        stored = site.state / "prune" / summary["run_id"]
        unique: set[str] = set(deleted)
        for digest in deleted:
            doc = json.loads((stored / hex_of(digest)).read_bytes())
            unique |= {d["digest"] for d in [doc.get("config"), *doc.get("layers", [])] if d}
    finally:
        client.close()
    storage = site.registry.storage
    before = _storage_bytes(storage)
    _garbage_collect(site.registry)
    after = _storage_bytes(storage)

    assert before - after >= plan["bytes_freed"] > 0
    still = {d for d in unique if _blob_path(storage, d).exists()}
    # what is left of them is used by what is kept (the shared base layers), never the dropped app layers
    kept_destinations = _kept_destinations(site)  # every kept version verifies 100 %
    dests = sorted(kept_destinations | {f"{DROPPED_IMAGE[0]}:pinned-amd64", f"{SIGNED[0]}:{site.referrer}"})
    with ThreadPoolExecutor(4) as pool:  # one skopeo each, four at a time
        copied = list(pool.map(lambda n: _copies(site, *dests[n].rsplit(":", 1), tmp_path / f"copy{n}"),
                               range(len(dests))))
    assert [d for d, ok in zip(dests, copied) if not ok] == []  # every blob of each is there
    assert still and len(still) < len(unique)
    assert _blob_path(storage, site.pinned).exists()  # shared by the other index
    # undo after GC: says the blobs are gone
    done = archfuse("rollback", summary["run_id"], *registry_args(site.registry), "--yes", "--json",
                    state_dir=site.state)
    assert done.code == 1
    assert "garbage-collected" in done.out


def test_rollback_of_a_prune_before_gc_restores_every_tag_byte_identically(site: Site, tmp_path: Path) -> None:
    client = site.registry.client()
    try:
        before = {(r, t): client.get_manifest(r, t) for r, t in (DROPPED_IMAGE, SIGNED)}
        plan, summary = _prune(site, "--keep", "2", "--yes")
        assert all(client.get_manifest(r, t) is None for r, t in before)
        done = archfuse("rollback", summary["run_id"], *registry_args(site.registry), "--yes", "--json",
                        state_dir=site.state)
        assert done.code == 0, done.out + done.err
        result = done.last("rollback")
        assert {t["result"] for t in result["tags"]} == {"restored"}
        for t in plan["tags"]:
            back = client.get_manifest(t["repository"], t["tag"])
            assert back is not None and back.digest == t["digest"]
        for (repo, tag), manifest in before.items():
            assert client.get_manifest(repo, tag).data == manifest.data  # byte-identical
        for m in plan["manifests"]:
            assert client.get_manifest(m["repository"], m["digest"]) is not None
        for n, (repo, tag) in enumerate(before):
            assert _copies(site, repo, tag, tmp_path / f"back{n}")
    finally:
        client.close()


@pytest.mark.parametrize("way", REFUSALS)
def test_prune_refused_deletes_nothing(way: str, registry: RegistryServer, demo_packages: list[Path],
                                       tmp_path: Path) -> None:
    state = tmp_path / "state"
    for version in ("v0.11.0", "v0.12.0"):
        done = archfuse("import", pkg(demo_packages, version, "amd64"), *registry_args(registry), "--yes",
                        state_dir=state)
        assert done.code == 0, done.err
    before = files(registry.storage)
    result = refused(way, "prune", *registry_args(registry), "--keep", "1", state_dir=state)
    assert "tags to remove" in result.out
    assert files(registry.storage) == before


def test_prune_of_a_layout_removes_the_unused_blobs_itself(journal: Journal, layout: LayoutTarget) -> None:
    old = make_package(layout, "v1.0", "amd64", refs=("vendor.example/addon/app:1.0",))
    journaled_import(journal, layout, [old])
    journaled_import(journal, layout, [make_package(layout, "v2.0", "amd64", refs=("vendor.example/addon/app:2.0",))])
    old_layer = old.images[0].layers[0].digest

    plan = plan_prune(journal, layout, keep=1, flavour="layout")
    assert plan.dropped == ["v1.0"] and [(t.repository, t.tag) for t in plan.tags] == [("addon/app", "1.0")]
    summary = prune_run(journal, plan, layout)

    assert summary.status == "done" and layout.tags("addon/app") == ["2.0"]
    assert summary.collected[0] >= 3 and not layout.blob_exists("", old_layer)  # manifest, config, layer
    assert layout.get_manifest("addon/app", "2.0") is not None
    assert "removed the blobs" in summary.advice
    held = journal.imported_packages(layout.description)
    assert {row for row, _arch in held} == {"v2.0"}  # the pruned version is no longer held
    assert plan_prune(journal, layout, keep=1).dropped == []  # and not counted again
    undo = rollback_run(journal, summary.run_id, layout)
    assert undo.status == "failed" and "garbage-collected" in undo.tags[0].detail


def _two_versions_with(args: list[str], demo_packages: list[Path], state: Path, env: dict[str, str]) -> None:
    for version in ("v0.11.0", "v0.12.0"):
        done = archfuse("import", pkg(demo_packages, version, "amd64"), *args, "--yes", state_dir=state, env=env)
        assert done.code == 0, done.err + done.out


#: v0.11.0's chart versions v0.12.0 does not have (redis 17.11.3 is in both)
DROPPED_CHARTS = {("metrics-server", "3.8.2"), ("ingress-nginx", "4.7.1"), ("cert-manager", "v1.11.0")}


def test_chartmuseum_test_server_prune_deletes_the_dropped_chart_versions(
    registry: RegistryServer, chartmuseum: ChartMuseumTestServer, demo_packages: list[Path], tmp_path: Path
) -> None:
    state, args = tmp_path / "state", chartmuseum_args(registry, chartmuseum)
    _two_versions_with(args, demo_packages, state, CHART_ENV)
    before = {(n, v) for _r, n, v in chartmuseum.charts}
    done = archfuse("prune", *args, "--keep", "1", "--yes", "--json", state_dir=state, env=CHART_ENV)
    assert done.code == 0, done.err + done.out
    assert {(c["name"], c["version"]) for c in done.last("prune_plan")["charts"]} == DROPPED_CHARTS
    assert {(n, v) for _r, n, v in chartmuseum.charts} == before - DROPPED_CHARTS
    assert ("redis", "17.11.3") in before - DROPPED_CHARTS
    assert [r.path for r in chartmuseum.requests if r.method == "DELETE"] == sorted(
        f"/api/charts/{n}/{v}" for n, v in DROPPED_CHARTS)
    undo = archfuse("rollback", done.last("prune")["run_id"], *args, "--yes", "--json", state_dir=state, env=CHART_ENV)
    assert undo.code == 0 and "rollback cannot bring it back" in undo.out


def test_harbor_chartrepo_test_server_prune_deletes_the_dropped_chart_versions(
    registry: RegistryServer, harbor_chartrepo: HarborChartRepoTestServer, demo_packages: list[Path], tmp_path: Path
) -> None:
    args = [*registry_args(registry), "--chart-repo", f"{harbor_chartrepo.url}/chartrepo/addon",
            "--chart-repo-type", "harbor", "--chart-username", "admin"]
    env = {"ARCHFUSE_CHART_PASSWORD": "Harbor12345"}
    state = tmp_path / "state"
    _two_versions_with(args, demo_packages, state, env)
    before = {(n, v) for _r, n, v in harbor_chartrepo.charts}
    done = archfuse("prune", *args, "--keep", "1", "--yes", "--json", state_dir=state, env=env)
    assert done.code == 0, done.err + done.out
    assert {(n, v) for _r, n, v in harbor_chartrepo.charts} == before - DROPPED_CHARTS
    assert len([r for r in harbor_chartrepo.requests if r.method == "DELETE"]) == len(DROPPED_CHARTS)
    assert harbor_chartrepo.violations == []


def test_harbor_api_test_server_prune_uses_harbor_tag_api_and_shows_its_gc(
    harbor_registry: HarborTestServer, registry: RegistryServer, demo_packages: list[Path], tmp_path: Path
) -> None:
    args = ["--registry", harbor_registry.url, "--insecure", "--username", "admin", "--create-spaces"]
    state = tmp_path / "state"
    for version in ("v0.11.0", "v0.12.0"):
        done = archfuse("import", pkg(demo_packages, version, "amd64"), *args, "--yes", state_dir=state,
                        password="Harbor12345")
        assert done.code == 0, done.err + done.out
    harbor_registry.requests.clear()
    done = archfuse("prune", *args[:-1], "--keep", "1", "--yes", "--json", state_dir=state, password="Harbor12345")
    assert done.code == 0, done.err + done.out
    plan, summary = done.last("prune_plan"), done.last("prune")
    assert summary["status"] == "done" and plan["tags"] and plan["manifests"]
    deletes = [r.path for r in harbor_registry.requests if r.method == "DELETE"]
    tag_deletes = [p for p in deletes if "/tags/" in p]
    assert len(tag_deletes) == len(plan["tags"])
    assert "/api/v2.0/projects/ingress-nginx/repositories/controller/artifacts/" in " ".join(tag_deletes)
    assert len(deletes) == len(plan["tags"]) + len(plan["manifests"])
    assert not [r for r in harbor_registry.requests if r.method == "PUT"]  # no placeholder on Harbor
    client = registry.client()
    try:
        for t in plan["tags"]:
            assert t["tag"] not in client.list_tags(t["repository"])
        assert "v1.9.0" in client.list_tags(KEPT_IMAGE[0])
    finally:
        client.close()
    assert "/api/v2.0/system/gc/schedule" in summary["advice"] and '"dry_run":true' in summary["advice"]
    assert harbor_registry.invalid == []


def test_prune_charts_takes_only_the_chosen_charts_and_the_images_only_they_use(
    demo_packages: list[Path], tmp_path: Path
) -> None:
    state, layout = tmp_path / "state", tmp_path / "layout"
    old = Path(shutil.copy(pkg(demo_packages, "v0.11.0", "amd64"), tmp_path))
    for path in (old, pkg(demo_packages, "v0.12.0", "amd64")):
        assert archfuse("import", path, "--registry", layout, "--yes", state_dir=state).code == 0
    done = archfuse("prune", "--registry", layout, "--keep", "1", "--charts", "ingress-nginx", "--yes", "--json",
                    state_dir=state)
    assert done.code == 0, done.err + done.out
    plan = done.last("prune_plan")
    # the chart and the image only it used; the webhook image v0.12.0 still uses, and the other charts, stay
    assert {(t["repository"], t["tag"]) for t in plan["tags"]} == {("addon/ingress-nginx", "4.7.1"), DROPPED_IMAGE}
    target = LayoutTarget(layout)
    assert target.get_manifest(*SIGNED) is not None and target.get_manifest("addon/metrics-server", "3.8.2")
    assert target.get_manifest(*DROPPED_IMAGE) is None
    with Journal(state) as journal:  # v0.11.0 is still held: only one chart of it went
        assert "v0.11.0" in {row for row, _ in journal.imported_packages(target.description)}
    old.unlink()
    gone = archfuse("prune", "--registry", layout, "--keep", "1", "--charts", "cert-manager", "--yes",
                    state_dir=state)
    assert gone.code == 2 and f"{old} (run " in gone.err and "prune every chart" in gone.err


def test_registry_refusing_deletes_fails_the_prune_and_leaves_every_tag_as_it_was(
    registry: RegistryServer, demo_packages: list[Path], tmp_path: Path
) -> None:
    state = tmp_path / "state"
    for version in ("v0.11.0", "v0.12.0"):
        done = archfuse("import", pkg(demo_packages, version, "amd64"), *registry_args(registry), "--yes",
                        state_dir=state)
        assert done.code == 0, done.err
    client = registry.client()
    try:
        before = client.get_manifest(*DROPPED_IMAGE).digest
        registry.stop()
        config = registry.config_path.read_text()
        registry.config_path.write_text(config.replace("  delete:\n    enabled: true", "  delete:\n    enabled: false"))
        registry.start()
        done = archfuse("prune", *registry_args(registry), "--keep", "1", "--yes", "--json", state_dir=state)
        assert done.code == 1 and "does not allow deleting manifests" in done.out
        assert done.last("prune")["status"] == "failed" and done.last("prune")["tags_removed"] == []
        for t in done.last("prune_plan")["tags"]:  # pointed back, none left at a placeholder
            assert client.get_manifest(t["repository"], t["tag"]).digest == t["digest"]
        assert client.get_manifest(*DROPPED_IMAGE).digest == before
    finally:
        client.close()
