"""Charts through ``archfuse import`` and ``verify`` against the real registry (OCI charts)."""

from __future__ import annotations

import json
from pathlib import Path

from core.charts.repack import repack, unpack
from core.oci import mediatypes as mt
from tests.cli_driver import archfuse, registry_args
from tests.fixtures.registry import RegistryServer
from tests.test_import_registry import import_, pkg


def pull_chart(registry: RegistryServer, repository: str, tag: str) -> dict[str, bytes]:
    client = registry.client()
    manifest = client.get_manifest(repository, tag)
    assert manifest is not None
    doc = manifest.parsed()
    assert doc["config"]["mediaType"] == mt.HELM_CONFIG
    layer = doc["layers"][0]
    assert layer["mediaType"] == mt.HELM_CHART
    _top, files = unpack(client.get_blob(repository, layer["digest"]), what="chart")
    return files


def test_import_pushes_relocated_charts_and_reimport_is_unchanged(
    registry: RegistryServer, demo_packages: list[Path], tmp_path: Path
) -> None:
    state = tmp_path / "state"
    amd = pkg(demo_packages, "v0.11.0", "amd64")
    result = import_(registry, state, amd)
    charts = {(e["name"], e["version"]): e for e in result.of("chart_done")}
    assert charts[("metrics-server", "3.8.2")]["action"] == "new"
    assert charts[("metrics-server", "3.8.2")]["destination"].endswith("addon/metrics-server:3.8.2")
    files = pull_chart(registry, "addon/metrics-server", "3.8.2")
    values = files["values.yaml"].decode()
    assert f"registry: {registry.host}" in values
    assert "docker.m.daocloud.io" not in values
    assert "# the original registry; archfuse points it at yours on import" in values  # comments survive
    community = pull_chart(registry, "community/redis", "17.11.3")["values.yaml"].decode()
    assert f"image: {registry.host}/bitnami/redis:7.0.11" in community

    again = import_(registry, state, amd)
    assert {e["action"] for e in again.of("chart_done")} == {"unchanged"}
    verify = archfuse("verify", amd, *registry_args(registry), "--json", state_dir=state)
    assert verify.code == 0
    report = verify.events[0]
    assert report["ok"] and {c["status"] for c in report["charts"]} == {"ok"}


def import_then_edit_chart(registry: RegistryServer, state: Path, package: Path) -> None:
    """Import ``package``; then someone pushes other content under metrics-server 3.8.2 (a line added)."""
    from core.charts.oci import OciChartDestination
    from core.targets.registry import RegistryTarget

    import_(registry, state, package)
    files = pull_chart(registry, "addon/metrics-server", "3.8.2")
    files["values.yaml"] = files["values.yaml"] + b"# edited by hand\n"
    other = repack("metrics-server", files)
    OciChartDestination(RegistryTarget(registry.client(), registry.url)).push(
        "metrics-server", "3.8.2", other, repo="addon", force=True
    )


def test_conflicting_chart_is_kept_and_reported_until_forced(
    registry: RegistryServer, demo_packages: list[Path], tmp_path: Path
) -> None:
    state, amd = tmp_path / "state", pkg(demo_packages, "v0.11.0", "amd64")
    import_then_edit_chart(registry, state, amd)
    result = import_(registry, state, amd)
    conflict = [e for e in result.of("chart_done") if e["name"] == "metrics-server"]
    assert conflict[0]["action"] == "conflict" and "--force-charts" in conflict[0]["detail"]
    assert pull_chart(registry, "addon/metrics-server", "3.8.2")["values.yaml"].endswith(b"# edited by hand\n")
    [kept] = [e["message"] for e in result.of("warning") if "were kept" in e["message"]]  # said at the end
    assert kept.startswith("1 chart version(s) were kept") and "metrics-server-3.8.2" in kept and "--force-charts" in kept
    verify = archfuse("verify", amd, *registry_args(registry), "--json", state_dir=state)
    assert verify.code == 1
    assert [c["status"] for c in verify.events[0]["charts"] if c["name"] == "metrics-server"] == ["other-content"]
    text = archfuse("verify", amd, *registry_args(registry), state_dir=state)
    advice = text.out.splitlines()[-1]
    assert "--force-charts" in advice and "run the import again" not in advice, advice

    forced = import_(registry, state, amd, extra=("--force-charts",))
    assert [e["action"] for e in forced.of("chart_done") if e["name"] == "metrics-server"] == ["overwritten"]
    assert not pull_chart(registry, "addon/metrics-server", "3.8.2")["values.yaml"].endswith(b"# edited by hand\n")
    assert json.loads(json.dumps(forced.last("run_finished")))["status"] == "done"
