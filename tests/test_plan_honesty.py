"""The plan says what it will not import (issue 19, item 5): a chart version the amd64 and the arm64
package disagree on, an image without RepoTags, and a tag whose index names a child the registry lost."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.demo.samples import SampleChart, chart_yaml_text, tar_bytes_of, write_sample_package
from core.package.tarwrite import Content, Entry
from tests.cli_driver import archfuse

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
