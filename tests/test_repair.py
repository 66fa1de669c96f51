"""verify --repair (issue 24, item 4): a deleted child manifest, a deleted blob, a flattened tag and a
stale tag are put back from the package on a real registry; tags that were right keep their digest;
without consent nothing changes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.demo.samples import write_sample_package
from core.oci.manifest import ManifestRef, canonical_json
from tests.cli_driver import QUESTION, archfuse, at_terminal, registry_args
from tests.fixtures.registry import RegistryServer, free_port, skopeo_copy_all

#: each fault on a tag of its own; the other tags stay right
FAULTED = {
    "missing-child": "metrics-server/metrics-server:v0.6.2",
    "missing-blob": "ingress-nginx/controller:v1.9.0",
    "lost-platform": "ingress-nginx/kube-webhook-certgen:v20230407",
    "stale": "bitnami/redis:7.0.11",
}
CHART = ("addon/metrics-server", "3.8.3")  # where the import put the chart (OCI, on the image registry)
RIGHT = ("bitnami/redis-exporter:1.50.0", "jetstack/cert-manager-controller:v1.12.0")
ACCEPT = ", ".join(("application/vnd.oci.image.index.v1+json", "application/vnd.oci.image.manifest.v1+json",
                    "application/vnd.docker.distribution.manifest.v2+json",
                    "application/vnd.docker.distribution.manifest.list.v2+json"))


@pytest.fixture(scope="module")
def two_arches(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("repair-packages")
    return [write_sample_package(folder, "v0.12.0", arch) for arch in ("amd64", "arm64")]


def _get(server: RegistryServer, repository: str, reference: str) -> tuple[bytes, str]:
    response = httpx.get(f"{server.url}/v2/{repository}/manifests/{reference}", headers={"Accept": ACCEPT})
    assert response.status_code == 200, response.text
    return response.content, response.headers["content-type"]


def _put(server: RegistryServer, repository: str, reference: str, data: bytes, media_type: str) -> None:
    response = httpx.put(f"{server.url}/v2/{repository}/manifests/{reference}", content=data,
                         headers={"Content-Type": media_type})
    assert response.status_code == 201, response.text


def _delete(server: RegistryServer, repository: str, kind: str, digest: str) -> None:
    response = httpx.delete(f"{server.url}/v2/{repository}/{kind}/{digest}")
    assert response.status_code == 202, response.text


def _child(server: RegistryServer, ref: str, arch: str) -> dict[str, Any]:
    index = json.loads(_get(server, *ref.split(":"))[0])
    return dict(next(m for m in index["manifests"] if m["platform"]["architecture"] == arch))


def break_site(server: RegistryServer, fault: str) -> None:
    """Do ``fault`` to its tag on ``server``, as a registry operator, skopeo or a garbage collection would."""
    ref = FAULTED[fault]
    repository, tag = ref.split(":")
    amd = _child(server, ref, "amd64")
    if fault == "missing-child":
        _delete(server, repository, "manifests", _child(server, ref, "arm64")["digest"])
    elif fault == "missing-blob":
        layer = json.loads(_get(server, repository, amd["digest"])[0])["layers"][0]["digest"]
        _delete(server, repository, "blobs", layer)
    elif fault == "lost-platform":  # a copy without --all: the tag holds the amd64 manifest alone
        _put(server, repository, tag, *_get(server, repository, amd["digest"]))
    elif fault == "stale":  # the amd64 entry names another (an older build's) manifest
        doc = json.loads(_get(server, repository, amd["digest"])[0])
        doc["annotations"] = {"org.opencontainers.image.version": "older"}
        older = ManifestRef(canonical_json(doc), amd["mediaType"])
        _put(server, repository, older.digest, older.data, older.media_type)
        data, media_type = _get(server, repository, tag)
        index = json.loads(data)
        index["manifests"] = [dict(m, digest=older.digest, size=len(older.data)) if m["digest"] == amd["digest"] else m
                              for m in index["manifests"]]
        _put(server, repository, tag, canonical_json(index), media_type)


def digests(server: RegistryServer) -> dict[str, str]:
    """Each tag of the packages: the digest it serves."""
    refs = [*FAULTED.values(), *RIGHT]
    return {ref: ManifestRef(*_get(server, *ref.split(":"))).digest for ref in refs}


def test_repair_puts_back_each_fault_and_leaves_right_tags_alone(
    registry: RegistryServer, two_arches: list[Path], tmp_path: Path
) -> None:
    state = tmp_path / "state"
    target = registry_args(registry)
    assert archfuse("import", *two_arches, *target, "--yes", state_dir=state).code == 0
    whole = digests(registry)
    for fault in FAULTED:
        break_site(registry, fault)
    broken = digests(registry)
    verify = archfuse("verify", *two_arches, *target, "--json", state_dir=state)
    assert verify.code == 1

    refused = archfuse("verify", *two_arches, *target, "--repair", "--json", state_dir=state)
    assert refused.code == 2 and "--yes" in refused.err
    assert digests(registry) == broken  # no consent: nothing changed
    plan = refused.last("repair_plan")
    found = {(r["destination"].split("/", 1)[1], r["fault"]) for r in plan["repairs"]}
    assert {(ref, fault) for fault, ref in FAULTED.items()} <= found
    assert not {ref for ref, _ in found} & set(RIGHT)

    declined = at_terminal("verify", *two_arches, *target, "--repair", answer=b"n\n", state_dir=state)
    assert declined.code == 0 and QUESTION.decode() in declined.out and "missing-blob" in declined.out
    assert digests(registry) == broken  # "no" at the terminal: nothing changed

    repaired = archfuse("verify", *two_arches, *target, "--repair", "--yes", "--json", state_dir=state)
    assert repaired.code == 0, repaired.err + repaired.out
    assert repaired.last("run_finished")["status"] == "done"
    after = digests(registry)
    assert {ref: after[ref] for ref in RIGHT} == {ref: whole[ref] for ref in RIGHT}  # untouched
    assert after == whole  # every faulted tag serves the index the import wrote, byte for byte
    assert archfuse("verify", *two_arches, *target, state_dir=state).code == 0
    for ref in FAULTED.values():
        skopeo_copy_all(f"{registry.host}/{ref}", registry, tmp_path / ref.replace("/", "_"))
    history = archfuse("history", "--json", state_dir=state)
    assert [r["kind"] for r in json.loads(history.out)["runs"]][:2] == ["repair", "import"]

    again = archfuse("verify", *two_arches, *target, "--repair", "--json", state_dir=state)
    assert again.code == 0 and again.last("repair_plan")["repairs"] == []  # nothing left: no consent asked

    run_id = repaired.last("run_finished")["run_id"]
    assert archfuse("rollback", run_id, *target, "--yes", state_dir=state).code == 0
    assert digests(registry) == broken  # the tags the repair moved are back where it found them


# -- three sites ---------------------------------------------------------------------------------

SITES = ("hub", "site-b", "site-c")
OTHER = RIGHT[1]  # right at the hub; at the other sites, right in every platform but by another index


def sites_file(servers: list[RegistryServer], folder: Path) -> Path:
    """A sites file naming each registry (plain HTTP on loopback)."""
    path = folder / "sites.yaml"
    path.write_text("sites:\n" + "".join(f"  - name: {name}\n    registry: {server.url}\n    insecure: true\n"
                                         for name, server in zip(SITES, servers)))
    return path


@pytest.fixture
def three_sites(registry_factory: Callable[..., RegistryServer]) -> list[RegistryServer]:
    return [registry_factory() for _ in SITES]


def test_fault_matrix_at_three_sites_is_all_found_then_all_repaired(
    three_sites: list[RegistryServer], two_arches: list[Path], tmp_path: Path
) -> None:
    state = tmp_path / "state"
    sites = ["--sites", str(sites_file(three_sites, tmp_path))]
    for server in three_sites:
        assert archfuse("import", *two_arches, *registry_args(server), "--yes", state_dir=state).code == 0
    whole = [digests(server) for server in three_sites]
    for server in three_sites:
        for fault in FAULTED:
            break_site(server, fault)
        _delete(server, CHART[0], "manifests", ManifestRef(*_get(server, *CHART)).digest)  # the chart version lost
    for server in three_sites[1:]:  # another index of the same platform manifests (written in another order)
        data, media_type = _get(server, *OTHER.split(":"))
        index = json.loads(data)
        index["manifests"].reverse()
        _put(server, *OTHER.split(":"), canonical_json(index), media_type)
    broken = [digests(server) for server in three_sites]

    verified = archfuse("verify", *two_arches, *sites, "--json", state_dir=state)
    assert verified.code == 1, verified.err
    doc = json.loads(verified.out)
    assert doc["ok"] is False and doc["sites"] == list(SITES)
    found = {(f["site"], f["tag"], f["status"]) for f in doc["faults"]}
    wanted = {(site, ref, fault) for site in SITES for fault, ref in FAULTED.items()}
    chart = {(site, f"metrics-server-{CHART[1]}", "missing-chart") for site in SITES}
    chart |= {(site, OTHER, "other-index") for site in SITES[1:]}  # tag-level finds, beside the per-platform ones
    assert wanted | chart <= found, (wanted | chart) - found  # every fault, at every site, named
    assert {(f["site"], f["tag"]) for f in doc["faults"]} == {(site, tag) for site, tag, _ in wanted | chart}
    row = next(r for r in doc["matrix"] if r["tag"] == FAULTED["lost-platform"] and r["platform"] == "linux/arm64")
    assert row["sites"] == {site: "lost-platform" for site in SITES}
    assert all(set(r["sites"].values()) == {"ok"} for r in doc["matrix"] if r["tag"] == RIGHT[0])
    reports = sorted((state / "reports").glob("*.json"))  # each site's import report holds the matrix now
    assert len(reports) == len(SITES)
    assert all(json.loads(r.read_text())["sites"] == doc for r in reports)
    assert all("## Sites" in r.with_suffix(".md").read_text() for r in reports)
    assert [digests(server) for server in three_sites] == broken  # verify wrote nothing

    refused = archfuse("verify", *two_arches, *sites, "--repair", "--json", state_dir=state)
    assert refused.code == 2 and "--yes" in refused.err
    assert [digests(server) for server in three_sites] == broken  # no consent: nothing changed at any site
    plans = {e["site"]: e for e in refused.events if e.get("event") == "repair_plan"}
    assert {(site, r["destination"].split("/", 1)[1], r["fault"]) for site, e in plans.items()
            for r in e["repairs"]} == wanted | {(site, OTHER, "other-index") for site in SITES[1:]}
    assert all([c["name"] for c in e["charts"]] == ["metrics-server"] for e in plans.values())

    repaired = archfuse("verify", *two_arches, *sites, "--repair", "--yes", "--json", state_dir=state)
    assert repaired.code == 0, repaired.err + repaired.out
    assert [e["status"] for e in repaired.events if e.get("event") == "run_finished"] == ["done"] * len(SITES)
    text = archfuse("verify", *two_arches, *sites, state_dir=state)
    assert text.code == 0 and text.out.splitlines()[0].split()[-3:] == list(SITES)  # the matrix's header
    assert [digests(server) for server in three_sites] == whole  # right tags untouched, faulted ones as imported
    for number, ref in enumerate(FAULTED.values()):  # each fault's tag copied whole, from each site in turn
        server = three_sites[number % len(three_sites)]
        skopeo_copy_all(f"{server.host}/{ref}", server, tmp_path / f"{server.port}-{ref.replace('/', '_')}")


def test_verify_across_sites_names_a_site_that_does_not_answer_and_reads_the_others(
    two_arches: list[Path], tmp_path: Path
) -> None:
    state, layout = tmp_path / "state", tmp_path / "layout"
    assert archfuse("import", two_arches[0], "--registry", layout, "--yes", state_dir=state).code == 0
    sites = tmp_path / "sites.yaml"
    sites.write_text(f"sites:\n  - name: here\n    registry: {layout}\n"
                     f"  - name: gone\n    registry: http://127.0.0.1:{free_port()}\n    insecure: true\n")
    result = archfuse("verify", two_arches[0], "--sites", sites, "--retry-for", "1s", "--json", state_dir=state)
    assert result.code == 1, result.err
    doc = json.loads(result.out)
    assert [(f["site"], f["status"]) for f in doc["faults"]] == [("gone", "unreachable")]
    assert doc["matrix"] and all(r["sites"] == {"here": "ok", "gone": "unreachable"} for r in doc["matrix"])
