"""Charts as OCI artifacts in a real registry (CNCF distribution) and in an OCI layout.

Read-back goes around archfuse: skopeo for the manifest, plain HTTP for the blobs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import yaml

from core.charts.destinations import DestinationSpec, make_destination
from core.charts.hints import hinted_images
from core.charts.oci import OciChartDestination
from core.charts.pipeline import prepare_chart
from core.charts.repack import unpack
from core.charts.tree import chart_values
from core.errors import RegistryError
from core.kinds import ChartAction
from core.oci import mediatypes as mt
from core.oci.digest import sha256_digest
from core.oci.manifest import ManifestRef
from core.targets.layout import LayoutTarget
from core.targets.registry import RegistryTarget
from tests.fixtures.chartfiles import HINTS, IMAGES, VALUES, chart_files
from tests.fixtures.registry import RegistryServer, skopeo_inspect_raw


def _blob(server: RegistryServer, repository: str, digest: str) -> bytes:
    resp = httpx.get(f"{server.url}/v2/{repository}/blobs/{digest}", follow_redirects=True)
    assert resp.status_code == 200
    assert sha256_digest(resp.content) == digest
    return resp.content


def test_oci_chart_push_read_back_unchanged_conflict_force(registry: RegistryServer) -> None:
    target = RegistryTarget(registry.client())
    dest = OciChartDestination(target, prefix="charts")
    chart = prepare_chart(
        chart_files(version="3.8.2+build.1"), host=registry.host, prefix="img", imported_refs=IMAGES
    )
    repository = "charts/addon/metrics-server"
    assert (
        dest.location(chart.name, chart.version, repo=chart.repo)
        == f"{registry.host}/{repository}:3.8.2_build.1"
    )
    assert dest.existing(chart.name, chart.version, repo=chart.repo) is None

    assert dest.push(chart.name, chart.version, chart.tgz, repo=chart.repo) == ChartAction.NEW

    manifest = skopeo_inspect_raw(f"{registry.host}/{repository}:3.8.2_build.1", registry)
    assert manifest["mediaType"] == mt.OCI_MANIFEST
    assert manifest["config"]["mediaType"] == mt.HELM_CONFIG
    assert [layer["mediaType"] for layer in manifest["layers"]] == [mt.HELM_CHART]
    config = json.loads(_blob(registry, repository, manifest["config"]["digest"]))
    assert (config["name"], config["version"], config["apiVersion"], config["appVersion"]) == (
        "metrics-server",
        "3.8.2+build.1",
        "v2",
        "0.6.2",
    )
    tgz = _blob(registry, repository, manifest["layers"][0]["digest"])
    assert tgz == chart.tgz
    top, files = unpack(tgz, what="read back")
    assert top == "metrics-server"
    values_text = files["values.yaml"].decode()
    assert "  registry: " + registry.host + "   # keep this comment" in values_text
    assert values_text.startswith("# Default values for metrics-server.")
    assert len(values_text.splitlines()) == len(VALUES.splitlines())
    assert hinted_images(HINTS, chart_values(files)) == [
        f"{registry.host}/img/metrics-server/metrics-server:v0.6.2",
        f"{registry.host}/img/autoscaling/addon-resizer:1.8.14",
        f"{registry.host}/img/bitnami/kubectl:1.27",
        f"{registry.host}/img/library/busybox:1.36",
    ]

    # re-import: same chart, same bytes, nothing written
    again = prepare_chart(
        chart_files(version="3.8.2+build.1"), host=registry.host, prefix="img", imported_refs=IMAGES
    )
    assert again.digest == chart.digest
    assert dest.existing(chart.name, chart.version, repo=chart.repo) == chart.digest
    assert dest.push(again.name, again.version, again.tgz, repo=again.repo) == ChartAction.UNCHANGED

    # other content under the same version: kept, then overwritten only with force
    changed_values = VALUES.replace("replicas: 1", "replicas: 2")
    other = prepare_chart(
        chart_files(version="3.8.2+build.1", values=changed_values),
        host=registry.host,
        prefix="img",
        imported_refs=IMAGES,
    )
    assert other.digest != chart.digest
    assert dest.push(other.name, other.version, other.tgz, repo=other.repo) == ChartAction.CONFLICT
    kept = skopeo_inspect_raw(f"{registry.host}/{repository}:3.8.2_build.1", registry)
    assert kept["layers"][0]["digest"] == chart.digest
    assert dest.push(other.name, other.version, other.tgz, repo=other.repo, force=True) == ChartAction.OVERWRITTEN
    now = skopeo_inspect_raw(f"{registry.host}/{repository}:3.8.2_build.1", registry)
    assert now["layers"][0]["digest"] == other.digest
    assert (
        yaml.safe_load(unpack(_blob(registry, repository, other.digest), what="t")[1]["values.yaml"])[
            "replicas"
        ]
        == 2
    )
    target.close()


def test_oci_tag_holding_an_image_is_a_conflict(registry: RegistryServer) -> None:
    target = RegistryTarget(registry.client())
    dest = make_destination("oci", DestinationSpec(target=target))
    chart = prepare_chart(chart_files(), host=registry.host)
    # a non-chart manifest under the chart's tag: an empty OCI image
    config = b"{}"
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": mt.OCI_MANIFEST,
            "config": {"mediaType": mt.OCI_CONFIG, "size": 2, "digest": sha256_digest(config)},
            "layers": [],
        }
    ).encode()
    base = f"{registry.url}/v2/addon/metrics-server"
    upload = httpx.post(f"{base}/blobs/uploads/")
    location = upload.headers["Location"]
    location = location if location.startswith("http") else registry.url + location
    sep = "&" if "?" in location else "?"
    assert httpx.put(f"{location}{sep}digest={sha256_digest(config)}", content=config).status_code == 201
    put = httpx.put(f"{base}/manifests/3.8.2", content=manifest, headers={"Content-Type": mt.OCI_MANIFEST})
    assert put.status_code == 201
    assert dest.existing(chart.name, chart.version, repo=chart.repo) == sha256_digest(manifest)
    assert dest.push(chart.name, chart.version, chart.tgz, repo=chart.repo) == ChartAction.CONFLICT
    target.close()


def test_oci_layout_holds_charts_as_artifacts(tmp_path: Path) -> None:
    layout = LayoutTarget(tmp_path / "layout")
    dest = OciChartDestination(layout)
    chart = prepare_chart(chart_files(), host=layout.host, imported_refs=IMAGES)
    assert dest.push(chart.name, chart.version, chart.tgz, repo=chart.repo) == ChartAction.NEW
    assert dest.push(chart.name, chart.version, chart.tgz, repo=chart.repo) == ChartAction.UNCHANGED
    index = json.loads((tmp_path / "layout" / "index.json").read_text())
    names = [m.get("annotations", {}).get("org.opencontainers.image.ref.name") for m in index["manifests"]]
    assert "addon/metrics-server:3.8.2" in names
    stored = (tmp_path / "layout" / "blobs" / "sha256" / chart.digest.split(":")[1]).read_bytes()
    assert stored == chart.tgz


class _BlobUnknownOnce(RegistryTarget):
    """The registry refuses the first manifest push as if a blob were unknown to it (HTTP 400), as
    distribution does when another writer pushes the same chart at the same moment."""

    refused = 0
    blobs_sent = 0

    def put_blob(self, repository: str, digest: str, size: int, stream: Any) -> None:
        self.blobs_sent += 1
        super().put_blob(repository, digest, size, stream)

    def put_manifest(self, repository: str, reference: str, manifest: ManifestRef) -> None:
        if not self.refused:
            self.refused += 1
            raise RegistryError("blob unknown to registry", status=400)
        super().put_manifest(repository, reference, manifest)


def test_chart_manifest_refused_for_an_unknown_blob_is_pushed_again_with_its_blobs(registry: RegistryServer) -> None:
    target = _BlobUnknownOnce(registry.client())
    dest = OciChartDestination(target, prefix="charts")
    chart = prepare_chart(chart_files(version="3.8.4"), host=registry.host, prefix="img", imported_refs=IMAGES)
    assert dest.push("metrics-server", "3.8.4", chart.tgz, repo="addon") == ChartAction.NEW
    assert target.refused == 1
    assert target.blobs_sent == 4  # config and chart, then both again before the second manifest push
    raw = skopeo_inspect_raw(f"{registry.host}/charts/addon/metrics-server:3.8.4", registry)
    assert raw["layers"][0]["digest"] == sha256_digest(chart.tgz)
