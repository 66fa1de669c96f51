"""Arch coverage: warn before an import leaves tags serving fewer architectures than their repository.

Against the real registry: the demo packages' v0.11.0 and v0.12.0 for amd64 and arm64.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.checks.preflight import Preflight
from core.config import build_target_config
from core.plan.charts import ChartPlan
from core.plan.images import Plan
from core.session import CheckOptions, open_session
from tests.cli_driver import archfuse, registry_args
from tests.fixtures.registry import RegistryServer
from tests.test_import_registry import import_, pkg


def _coverage(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in doc["checks"] if c["name"] == "arch coverage"]


def test_importing_only_amd64_of_a_new_version_warns_per_repository(
    registry: RegistryServer, demo_packages: list[Path], tmp_path: Path
) -> None:
    state = tmp_path / "state"
    import_(registry, state, pkg(demo_packages, "v0.11.0", "amd64"), pkg(demo_packages, "v0.11.0", "arm64"))
    new_amd = pkg(demo_packages, "v0.12.0", "amd64")
    plan = archfuse("plan", new_amd, *registry_args(registry), "--json", state_dir=state)
    assert plan.code == 0, plan.err
    [warning] = _coverage(plan.events[-1])
    assert warning["status"] == "warn"
    detail = warning["detail"]
    new_tags = {
        i["destination"] for i in plan.events[-1]["images"] if i["action"] == "new" and i["platforms_after"] == ["linux/amd64"]
    }
    assert new_tags and detail.startswith(f"{len(new_tags)} tag(s) in ")
    assert "will not serve linux/arm64" in detail and "arm64 nodes cannot pull them" in detail
    assert "import the arm64 package of v0.12.0 too" in detail
    text = archfuse("plan", new_amd, *registry_args(registry), state_dir=state)
    assert f"[warn] arch coverage: {detail}" in text.err  # said as it ran; the summary counts it

    # the packages the engineer gave but did not select: the one that fills the gap is named
    config = build_target_config(registry.url, insecure=True, env={})
    session = open_session(config, state_dir=state)
    try:
        new_arm = pkg(demo_packages, "v0.12.0", "arm64")
        scanned = session.scan([new_amd, new_arm])
        preflight = session.preflight(
            [p for p in scanned if p.arch == "amd64"], checks=CheckOptions(available=tuple(scanned))
        )
    finally:
        session.close()
    [named] = [c for c in preflight.checks if c.name == "arch coverage"]
    assert f"add {new_arm} to this import to fill them" in named.detail


def test_a_run_mixing_versions_warns_and_both_arches_of_one_version_do_not(
    registry: RegistryServer, demo_packages: list[Path], tmp_path: Path
) -> None:
    state = tmp_path / "state"
    mixed = archfuse("plan", pkg(demo_packages, "v0.12.0", "amd64"), pkg(demo_packages, "v0.11.0", "arm64"),
                     *registry_args(registry), "--json", state_dir=state)
    assert mixed.code == 0, mixed.err
    warnings = {c["detail"].split(" will not serve ", 1)[1].split(",", 1)[0] for c in _coverage(mixed.events[-1])}
    assert "linux/arm64" in warnings  # v0.12.0's new tags lack what v0.11.0 brings to the same repositories
    both = archfuse("plan", pkg(demo_packages, "v0.12.0", "amd64"), pkg(demo_packages, "v0.12.0", "arm64"),
                    *registry_args(registry), "--json", state_dir=state)
    assert both.code == 0 and _coverage(both.events[-1]) == []


def test_plan_text_shows_every_warning_the_json_plan_carries() -> None:
    chart = ChartPlan("addon", "app", "1.0.0", "/p/pkg.tar.gz", destination="oci://r/addon/app:1.0.0", action="new",
                      warnings=["Image docker.io/x/app:1.0 (hint 'image') is not in the package; the chart will pull "
                                "r/x/app:1.0, which this import does not provide."])
    broken = ChartPlan("addon", "bad", "2.0.0", "/p/pkg.tar.gz", action="error", error="bad chart: Chart.yaml is missing.")
    preflight = Preflight(plan=Plan("oci:/l", [], [], {}), charts=[chart, broken])
    text = preflight.render_text()
    doc = preflight.to_json()
    for entry in doc["charts"]:
        for warning in entry["warnings"]:
            assert warning in text
        if entry.get("error"):
            assert entry["error"] in text
