"""The plan says what it will not import (issue 19, item 5): a chart version the amd64 and the arm64
package disagree on, an image without RepoTags, and a tag whose index names a child the registry lost."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from core.demo.samples import SampleChart, chart_yaml_text, tar_bytes_of, write_sample_package
from core.package.tarwrite import Content, Entry
from core.plan.images import build_plan
from core.run.engine import ImportRun
from core.targets.registry import RegistryTarget
from tests.cli_driver import archfuse, registry_args
from tests.fixtures.imports import make_package
from tests.fixtures.registry import RegistryServer, skopeo, skopeo_copy_all, skopeo_inspect_raw

CHARTS = ["metrics-server", "ingress-nginx"]


def _arm64_metrics_server_differs(chart: SampleChart) -> str:
    """The arm64 package's metrics-server chart says something else (its other charts are the same)."""
    extra = "kubeVersion: '>=1.25.0-0'\n" if chart.name == "metrics-server" else ""
    return chart_yaml_text(chart) + extra


def _plan(tmp_path: Path, *packages: Path, json_out: bool = True) -> tuple[int, str]:
    args = ["--json"] if json_out else []
    result = archfuse("plan", *packages, "--registry", tmp_path / "layout", *args, state_dir=tmp_path / "state")
    return result.code, result.out


def _check(doc: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in doc["checks"] if c["name"] == name)


def test_chart_version_with_other_content_per_arch_is_named_with_both_packages(tmp_path: Path) -> None:
    amd = write_sample_package(tmp_path / "pk", "v0.12.0", "amd64", charts=CHARTS)
    arm = write_sample_package(tmp_path / "pk", "v0.12.0", "arm64", charts=CHARTS, chart_yaml=_arm64_metrics_server_differs)

    code, out = _plan(tmp_path, amd, arm)
    assert code == 0, out
    doc = json.loads(out)
    charts = {c["name"]: c for c in doc["charts"]}
    split = charts["metrics-server"]
    assert split["differs_in"] == [str(arm)]
    assert any(amd.name in w and arm.name in w for w in split["warnings"]), split["warnings"]
    assert "differs_in" not in charts["ingress-nginx"]  # the same chart in both packages: nothing to say
    check = _check(doc, "charts")
    assert check["status"] == "warn" and amd.name in check["detail"] and arm.name in check["detail"]

    code, text = _plan(tmp_path, amd, arm, json_out=False)
    assert code == 0
    assert any("warning:" in line and arm.name in line and amd.name in line for line in text.splitlines()), text


def _untag_first_image(configs: list[str]) -> Callable[[list[Entry]], None]:
    """A mutation: the first images.tar names its image with an empty RepoTags (``docker save`` of an
    image ID); the image's config digest goes to ``configs``."""

    def mutate(entries: list[Entry]) -> None:
        for entry in entries:
            if entry.name == "manifest.json" and entry.content is not None and not configs:
                doc = json.loads(tar_bytes_of(entry.content))
                doc[0]["RepoTags"] = []
                configs.append(doc[0]["Config"])
                entry.content = Content.of(json.dumps(doc).encode())
            elif entry.children is not None:
                mutate(entry.children)

    return mutate


def test_image_without_repotags_is_named_in_scan_and_plan(tmp_path: Path) -> None:
    configs: list[str] = []
    path = write_sample_package(
        tmp_path / "pk", "v0.12.0", "amd64", charts=["metrics-server"], mutate=_untag_first_image(configs)
    )
    scan = archfuse("scan", path, "--json", state_dir=tmp_path / "state")
    assert scan.code == 0, scan.err
    package = json.loads(scan.out)["packages"][0]
    assert package["images"] == []  # nothing to import it under
    warning = next(w for w in package["warnings"] if "RepoTags" in w)
    assert configs[0] in warning and "skipped" in warning

    _code, out = _plan(tmp_path, path)
    warned = [c for c in json.loads(out)["checks"] if c["status"] == "warn" and configs[0] in c["detail"]]
    assert warned and path.name in warned[0]["name"]


# -- a tag whose index names a manifest the registry lost ------------------------------------------

REF = "metrics-server/metrics-server:v0.6.2"


def _delete_manifest(server: RegistryServer, repository: str, digest: str) -> None:
    """Delete a manifest by digest through the registry API (the fixture registry allows deletes)."""
    response = httpx.delete(f"{server.url}/v2/{repository}/manifests/{digest}")
    assert response.status_code == 202, response.text


def _child(server: RegistryServer, arch: str) -> str:
    raw = skopeo_inspect_raw(f"{server.host}/{REF}", server)
    return str(next(m["digest"] for m in raw["manifests"] if m["platform"]["architecture"] == arch))


def test_dangling_child_is_planned_as_repair_and_the_import_stores_it_again(
    registry: RegistryServer, tmp_path: Path
) -> None:
    packages = [
        write_sample_package(tmp_path / "pk", "v0.12.0", arch, charts=["metrics-server"]) for arch in ("amd64", "arm64")
    ]
    state = tmp_path / "state"
    assert archfuse("import", *packages, *registry_args(registry), "--yes", state_dir=state).code == 0
    lost = _child(registry, "arm64")
    index_before = skopeo_inspect_raw(f"{registry.host}/{REF}", registry)
    _delete_manifest(registry, REF.split(":")[0], lost)
    assert skopeo("copy", "--all", *registry.skopeo_args("src-"), f"docker://{registry.host}/{REF}",
                  f"oci:{tmp_path / 'broken'}", check=False).returncode != 0

    plan = archfuse("plan", *packages, *registry_args(registry), "--json", state_dir=state)
    assert plan.code == 0, plan.err
    doc = json.loads(plan.out)
    images = {(i["destination"].split("/", 1)[1], i["platform"]): i for i in doc["images"]}
    assert images[(REF, "linux/arm64")]["action"] == "repair"
    assert images[(REF, "linux/amd64")]["action"] == "unchanged"
    warned = [c for c in doc["checks"] if c["status"] == "warn" and "dangling" in c["detail"]]
    assert warned and lost in warned[0]["detail"], doc["checks"]

    done = archfuse("import", *packages, *registry_args(registry), "--yes", "--json", state_dir=state)
    assert done.code == 0, done.err + done.out
    assert skopeo_inspect_raw(f"{registry.host}/{REF}", registry) == index_before  # the index keeps its entries
    skopeo_copy_all(f"{registry.host}/{REF}", registry, tmp_path / "copy")


def test_dangling_entry_the_packages_cannot_repair_fails_the_plan_naming_it(registry: RegistryServer) -> None:
    """A tag the run rewrites keeps an entry whose manifest is gone, and no package carries it:
    the plan fails naming it (the run would have failed with "blob unknown" after its uploads)."""
    target = RegistryTarget(registry.client())
    first = [make_package(target, "v1", arch) for arch in ("amd64", "arm64")]
    assert ImportRun(build_plan(first, target), target).execute().status == "done"
    arm_digest = first[1].images[0].manifest.digest
    _delete_manifest(registry, "addon/app", arm_digest)

    upgrade = make_package(target, "v2", "amd64")  # another amd64 image for the same tag
    plan = build_plan([upgrade], target)
    assert [i.action for i in plan.images] == ["error"]
    assert arm_digest in plan.images[0].error and "linux/arm64" in plan.images[0].error
