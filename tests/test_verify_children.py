"""Verify reads an index's children: an index whose platform manifest was deleted on the registry
is not whole (a dangling entry), even though the tag and every blob are there."""

from __future__ import annotations

from pathlib import Path

import httpx

from core.demo.samples import write_sample_package
from tests.cli_driver import archfuse, registry_args
from tests.fixtures.registry import RegistryServer


def test_verify_reports_an_index_child_deleted_on_the_registry(registry: RegistryServer, tmp_path: Path) -> None:
    packages = [write_sample_package(tmp_path / "pk", "v0.12.0", arch, charts=["metrics-server"])
                for arch in ("amd64", "arm64")]
    state = tmp_path / "state"
    for package in packages:
        assert archfuse("import", package, *registry_args(registry), "--yes", state_dir=state).code == 0
    scanned = archfuse("scan", *packages, "--json", state_dir=state)
    arm = next(i for p in scanned.events[0]["packages"] if p["arch"] == "arm64" for i in p["images"])
    checked = archfuse("verify", *packages, *registry_args(registry), "--json", state_dir=state)
    assert checked.code == 0, checked.err
    (image,) = [i for i in checked.events[0]["images"] if i["ref"] == arm["ref"] and i["platform"] == "linux/arm64"]
    repository = image["destination"].split("/", 1)[1].rsplit(":", 1)[0]
    gone = httpx.delete(f"{registry.url}/v2/{repository}/manifests/{arm['digest']}")
    assert gone.status_code == 202, gone.text  # the index still names it: a dangling entry
    checked = archfuse("verify", *packages, *registry_args(registry), "--json", state_dir=state)
    assert checked.code != 0
    wrong = [i for i in checked.events[0]["images"] if i["status"] != "ok"]
    assert [(i["ref"], i["platform"], i["status"]) for i in wrong] == [(arm["ref"], "linux/arm64", "missing-child")]
    assert arm["digest"] in wrong[0]["detail"] and repository in wrong[0]["detail"]
