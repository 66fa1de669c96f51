"""Every package the vendor ships: known by name or by content, its kind part of its identity."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from core import events as ev
from core.api import Listed, TargetInputs, Workspace, target_config
from core.helpers.versions import version_key
from core.package.discover import discover
from core.package.naming import PackageName, package_identity, parse_bundle_member
from tui.cli import main


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("addon-offline-full-package-v0.12.0-amd64.tar.gz", PackageName("full", "v0.12.0", "amd64")),
        ("addon-offline-gpu-package-v0.25.0-amd64.tar.gz", PackageName("gpu", "v0.25.0", "amd64")),
        ("Addons-for-GPU-v0.25.0-amd64.tar.gz", PackageName("gpu", "v0.25.0", "amd64")),
        ("addons_for_gpu_v0.25.0-rc.1_x86_64.tgz", PackageName("gpu", "v0.25.0-rc.1", "amd64")),
        ("gpu.tar", PackageName("gpu", "unknown", "")),
    ],
)
def test_the_name_gives_kind_version_and_arch(name: str, expected: PackageName) -> None:
    assert package_identity(name) == expected


def test_the_vendors_chart_versions_parse_and_sort() -> None:
    bundles = {
        "kuberhealthy": ["100", "90"],
        "hwameistor-operator": ["v0.14.10", "v0.14.4"],
        "nvidia-vgpu": ["2.1.0+1", "2.0.0+2", "2.0.0-rc.1+5"],  # build metadata orders nothing (semver)
        "sonarqube": ["10.3.0+800", "10.2.0+738", "9.9.1+100"],
        "gpu-operator": ["v23.9.1", "v23.9.0", "v23.9.0-rc.1"],
    }
    for chart, versions in bundles.items():
        for version in versions:
            parsed = parse_bundle_member(f"addon-offline/data/addon/{chart}_{version}.bundle.tar")
            assert parsed is not None and (parsed.chart, parsed.version) == (chart, version)
        assert sorted(versions, key=version_key) == versions[::-1], chart


def test_a_package_is_known_by_its_content_and_anything_else_is_skipped_with_a_warning(
    sample_package: Callable[..., Path], tmp_path: Path
) -> None:
    full = sample_package("v0.12.0", "amd64")
    gpu = sample_package("v0.12.0", "amd64", name="Addons for GPU (v0.12.0).tar.gz", charts=["redis"])
    junk = tmp_path / "notes.tar.gz"
    junk.write_bytes(b"not an archive")
    (tmp_path / "readme.txt").write_text("hello")
    said: list[ev.Event] = []
    assert discover([tmp_path], said.append) == sorted([full, gpu], key=lambda p: p.name)
    warnings = sorted(e.message for e in said if isinstance(e, ev.Warning))
    assert len(warnings) == 2 and "notes.tar.gz: not an addon package" in warnings[0] and "readme.txt" in warnings[1]

    packages = {p.kind: p for p in Workspace(state_dir=tmp_path / "s").scan([tmp_path])}
    assert (packages["gpu"].version, packages["gpu"].arch, packages["gpu"].row) == ("v0.12.0", "amd64", "v0.12.0 gpu")
    assert packages["full"].row == "v0.12.0"


def test_the_kind_is_part_of_the_identity_in_the_selection_the_journal_and_list(
    sample_package: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    listed = [Listed("f-amd", "v0.25.0", "amd64"), Listed("f-arm", "v0.25.0", "arm64"),
              Listed("g-amd", "v0.25.0 gpu", "amd64", kind="gpu")]
    assert Workspace.default_selection(listed).paths == {"f-amd", "f-arm", "g-amd"}

    gpu = sample_package("v0.12.0", "amd64", name="addon-offline-gpu-package-v0.12.0-amd64.tar.gz", charts=["redis"])
    full = sample_package("v0.12.0", "amd64", charts=["cert-manager"])
    layout, state = tmp_path / "layout", tmp_path / "state"
    assert main(["import", str(gpu), str(full), "--registry", str(layout), "--yes", "--json", "--state-dir", str(state)]) == 0
    capsys.readouterr()
    imported = Workspace(state_dir=state).imported(target_config(TargetInputs(registry=str(layout))))
    assert set(imported) == {("v0.12.0 gpu", "amd64"), ("v0.12.0", "amd64")}
    assert main(["list", str(gpu), "--format", "json", "--state-dir", str(state)]) == 0
    (package,) = json.loads(capsys.readouterr().out)["packages"]
    assert (package["kind"], package["version"]) == ("gpu", "v0.12.0")
